from django.urls import include, path

from govhall.workbench import views

app_name = "workbench"
urlpatterns = [
    path("", views.index, name="index"),
    path("catalogue/transfer/", include("govhall.workbench.transfer_urls")),
]
