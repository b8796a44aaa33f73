"""The officers' case pages, under /workbench/cases/ (namespace "workbench", names "case_*")."""

from django.urls import path

from govhall.workbench import views_cases

case = "<str:number>/"

urlpatterns = [
    path("", views_cases.case_list, name="case_list"),
    path("batch/", views_cases.case_batch, name="case_batch"),
    path("find/", views_cases.case_find, name="case_find"),
    path(case, views_cases.case_detail, name="case_detail"),
    path(f"{case}materials/<int:material_id>/", views_cases.case_material_download, name="case_material"),
    path(f"{case}tasks/<int:task_id>/<str:action>/", views_cases.case_task_action, name="case_task_action"),
    path(f"{case}reveal/", views_cases.case_reveal, name="case_reveal"),
    path(f"{case}special/", views_cases.case_special_start, name="case_special_start"),
    path(f"{case}special/<int:procedure_id>/end/", views_cases.case_special_end, name="case_special_end"),
    path(f"{case}extension/", views_cases.case_extension_request, name="case_extension_request"),
    path(
        f"{case}extension/<int:extension_id>/answer/", views_cases.case_extension_answer, name="case_extension_answer"
    ),
]
