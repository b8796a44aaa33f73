"""The applicant's rating pages, included at the site root."""

from django.urls import path

from govhall.evaluations import views

app_name = "evaluations"
urlpatterns = [
    path("evaluations/cases/<str:number>/", views.case_rate, name="rate"),
    path("evaluations/cases/<str:number>/again/", views.case_rate, {"again": True}, name="rate_again"),
    path("rate/done/", views.invited_done, name="invited_done"),
    path("rate/<str:token>/", views.invited_rate, name="invited"),
    path("satisfaction/", views.published, name="published"),
]
