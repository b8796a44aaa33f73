"""The window clerk's intake pages, under /workbench/intake/ (namespace "workbench", names
"intake_*"); included from govhall/workbench/urls.py with
``path("intake/", include("govhall.workbench.urls_intake"))``."""

from django.urls import path

from govhall.workbench import views_intake

urlpatterns = [
    path("", views_intake.intake_applicant, name="intake_applicant"),
    path("reset/", views_intake.intake_reset, name="intake_reset"),
    path("items/", views_intake.intake_items, name="intake_items"),
    path("start/", views_intake.intake_start, name="intake_start"),
    path("<str:number>/receipt/", views_intake.intake_receipt, name="intake_receipt"),
    path("<str:reference>/", views_intake.intake_form, name="intake_form"),
]
