"""The applicant's life-event bundle pages (一件事), included at the site root:
path("", include("govhall.portal.urls_bundles"))."""

from django.urls import path

from govhall.portal import views_bundles

app_name = "bundles"
urlpatterns = [
    path("bundles/", views_bundles.bundle_list, name="list"),
    # Before bundles/<code>/, so that no bundle code can shadow an application's address.
    path("bundles/applications/<str:reference>/", views_bundles.bundle_status, name="status"),
    path("bundles/applications/<str:reference>/edit/", views_bundles.bundle_edit, name="edit"),
    path("bundles/<slug:code>/", views_bundles.bundle_detail, name="detail"),
]
