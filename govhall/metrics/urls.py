"""Figures pages, under /workbench/figures/."""

from django.urls import path

from govhall.metrics import views

app_name = "metrics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:report_id>/<str:kind>/", views.report_file, name="report_file"),
]
