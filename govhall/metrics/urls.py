"""Figures pages, under /workbench/figures/."""

from django.urls import path

from govhall.metrics import views

app_name = "metrics"
urlpatterns = [path("", views.dashboard, name="dashboard")]
