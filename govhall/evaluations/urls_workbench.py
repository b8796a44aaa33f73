"""Bad-review follow-up pages for department staff, under /workbench/evaluations/."""

from django.urls import path

from govhall.evaluations import views

app_name = "workbench_evaluations"
urlpatterns = [
    path("", views.followup_list, name="list"),
    path("<int:followup_id>/", views.followup_detail, name="detail"),
    path("window/<str:number>/", views.window_open, name="window_open"),
]
