"""Public licence pages, included at the site root."""

from django.urls import path

from govhall.licences import views_public

app_name = "licences_public"
urlpatterns = [
    path("verify/", views_public.verify, name="verify"),
    path("verify/<str:identifier>/", views_public.verify_identifier, name="verify_identifier"),
    path("licences/shared/<str:token>/", views_public.shared, name="shared"),
    path("licences/shared/<str:token>/download/", views_public.shared_download, name="shared_download"),
]
