"""The applicant's case pages, included at the site root: path("", include("govhall.portal.urls_cases"))."""

from django.urls import path

from govhall.portal import views_cases

app_name = "cases_portal"
urlpatterns = [
    path("apply/<str:implementation_code>/", views_cases.apply, name="apply"),
    path("cases/", views_cases.case_list, name="list"),
    path("cases/<str:reference>/", views_cases.case_detail, name="detail"),
    path("cases/<str:reference>/edit/", views_cases.case_edit, name="edit"),
    path("cases/<str:reference>/withdraw/", views_cases.case_withdraw, name="withdraw"),
    path("cases/<str:reference>/deferred/", views_cases.case_deferred_material, name="deferred"),
    path("cases/<str:reference>/materials/<int:material_id>/", views_cases.material_download, name="material"),
    path("messages/", views_cases.message_list, name="messages"),
    path("messages/<int:message_id>/read/", views_cases.message_read, name="message_read"),
]
