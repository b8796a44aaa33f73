"""Staff licence pages, included under /workbench/licences/."""

from django.urls import path

from govhall.licences import views_workbench

app_name = "workbench_licences"
urlpatterns = [
    path("", views_workbench.licence_list, name="list"),
    path("<str:number>/", views_workbench.licence_manage, name="manage"),
    path("<str:number>/<str:action>/", views_workbench.licence_act, name="act"),
]
