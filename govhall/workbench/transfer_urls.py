"""Import and export of implementation lists, under /workbench/catalogue/transfer/ (namespace "workbench")."""

from django.urls import path

from govhall.workbench import transfer_views

urlpatterns = [
    path("import/", transfer_views.transfer_import, name="transfer_import"),
    path("export/", transfer_views.transfer_export, name="transfer_export"),
]
