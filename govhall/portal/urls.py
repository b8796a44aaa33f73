from django.urls import path

from govhall.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("themes/", views.themes, name="themes"),
    path("themes/<slug:code>/", views.theme, name="theme"),
    path("departments/", views.departments, name="departments"),
    path("departments/<str:code>/", views.department, name="department"),
    path("regions/", views.regions, name="regions"),
    path("regions/<str:code>/", views.region, name="region"),
    path("audiences/<str:audience>/", views.audience, name="audience"),
    path("services/<str:implementation_code>/", views.guide, name="guide"),
    path("services/<str:implementation_code>/print/", views.guide_print, name="guide_print"),
    path("services/<str:implementation_code>/versions/", views.guide_history, name="guide_history"),
    path("services/<str:implementation_code>/versions/<int:number>/", views.guide_version, name="guide_version"),
    path("elder-mode/", views.elder_mode, name="elder_mode"),
]
