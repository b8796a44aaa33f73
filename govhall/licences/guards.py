"""Who may see or change a licence."""

from typing import Any

from govhall.accounts.guards import person_may_act_for_company, staff_assignments
from govhall.accounts.models import Role
from govhall.licences.models import Licence

MANAGING_ROLES = (Role.REVIEWER, Role.DECIDER, Role.DEPARTMENT_ADMINISTRATOR)


def licence_may_hold(*, user: Any, licence: Licence) -> bool:
    """The holder, or anyone who may currently act for the holding company."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    person = getattr(user, "person", None)
    if person is None:
        return False
    if licence.company_id is not None:
        return person_may_act_for_company(person=person, company=licence.company)
    return licence.person_id == person.pk


def licence_may_manage(*, user: Any, licence: Licence) -> bool:
    """Staff of the issuing department with a reviewing, deciding or administering role."""
    return any(
        assignment.department_id == licence.issuer_id and assignment.role in MANAGING_ROLES
        for assignment in staff_assignments(user=user)
    )
