"""The holder's wallet, included at the site root."""

from django.urls import path

from govhall.licences import views_portal

app_name = "licences_portal"
urlpatterns = [
    path("licences/", views_portal.wallet, name="wallet"),
    path("licences/<str:number>/", views_portal.licence_detail, name="detail"),
    path("licences/<str:number>/download/", views_portal.licence_download, name="download"),
    path("licences/<str:number>/share/", views_portal.share_create, name="share"),
    path("licences/<str:number>/share/<int:share_id>/withdraw/", views_portal.share_withdraw, name="share_withdraw"),
]
