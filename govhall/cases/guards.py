"""Who may see and act on a case or one of its steps.

Built on govhall/accounts/guards.py: applicants see their own cases and those of a company they
may act for; staff see the cases their department handles or has a step in, supervisors those of
their region and below. Every channel (portal, workbench, API) asks these; a refused look-up is
answered as "not found" by the selectors.
"""

from typing import Any

from govhall.accounts.guards import person_may_act_for_company, staff_assignments, staff_may_act_in_region
from govhall.accounts.models import Role
from govhall.cases.models import Case, CaseTask, TaskState
from govhall.cases.process import HANDLING_ROLES


def applicant_may_see_case(*, user: Any, case: Case) -> bool:
    """The account that filed the case, or (for a company's case) anyone who may currently act
    for the company in this service."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if case.applicant_id == user.pk:
        return True
    if case.company_id is None:
        return False
    person = getattr(user, "person", None)
    if person is None:
        return False
    return person_may_act_for_company(
        person=person, company=case.company, basic_code=case.implementation.entry.basic_code
    )


def staff_department_ids(*, user: Any, roles: tuple[str, ...] = HANDLING_ROLES) -> set[int]:
    """Departments in which ``user`` holds one of ``roles``."""
    return {assignment.department_id for assignment in staff_assignments(user=user) if assignment.role in roles}


def staff_may_see_case(*, user: Any, case: Case) -> bool:
    """A handling role in the case's department or in a department with a step of the case, or
    a supervisor over the case's region."""
    departments = staff_department_ids(user=user)
    if case.department_id in departments:
        return True
    if departments and CaseTask.objects.filter(case=case, department_id__in=departments).exists():
        return True
    return staff_may_act_in_region(user=user, role=Role.SUPERVISOR, region=case.region)


def staff_holds_role_in(*, user: Any, role: str, department_id: int) -> bool:
    return any(
        assignment.role == role and assignment.department_id == department_id
        for assignment in staff_assignments(user=user)
    )


def staff_may_act_on_task(*, user: Any, task: CaseTask) -> bool:
    """The task is open, the user holds its role in its department, and nobody else has
    claimed it."""
    if task.state != TaskState.OPEN:
        return False
    if not staff_holds_role_in(user=user, role=task.role, department_id=task.department_id):
        return False
    return task.assignee_id is None or task.assignee_id == user.pk


def staff_may_reassign_task(*, user: Any, task: CaseTask) -> bool:
    """The officer holding the task, or the department's administrator, may hand it on."""
    if task.state != TaskState.OPEN:
        return False
    if task.assignee_id == user.pk and staff_holds_role_in(user=user, role=task.role, department_id=task.department_id):
        return True
    return staff_holds_role_in(user=user, role=Role.DEPARTMENT_ADMINISTRATOR, department_id=task.department_id)


def staff_may_handle_case(*, user: Any, case: Case) -> bool:
    """May start special procedures or ask for an extension: a handling role in the case's
    department or in the department of one of its open steps."""
    departments = staff_department_ids(user=user)
    if case.department_id in departments:
        return True
    return CaseTask.objects.filter(case=case, state=TaskState.OPEN, department_id__in=departments).exists()
