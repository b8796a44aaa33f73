"""Supervision pages, included under /workbench/supervision/."""

from django.urls import path

from govhall.supervision import views

app_name = "supervision"
urlpatterns = [
    path("warnings/", views.warning_list, name="warnings"),
    path("warnings/<int:warning_id>/clear/", views.warning_clear, name="warning_clear"),
    path("urges/", views.urge_list, name="urges"),
    path("urges/new/", views.urge_create, name="urge_create"),
    path("urges/<int:urge_id>/answer/", views.urge_answer, name="urge_answer"),
]
