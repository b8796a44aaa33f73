"""Who may see and act on a case on the workbench: every role × the case page, the material
download and the actions, through HTTP.

The case belongs to the market department of 西湖区 (with the ecology department as a parallel
branch). A look-up by someone who may not see the case answers 404, never 403. An action that
someone who may see the case is not allowed to take redirects back to the case with the
services' refusal and changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from govhall.accounts.models import Role
from govhall.cases.models import Case, CaseTask
from tests.cases.factories import CaseWorld, case_world, make_case, task_open
from tests.factories import XIHU, force_login_verified, make_staff

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "clerk",
    "reviewer",
    "ecology_reviewer",
    "decider",
    "department_admin",
    "supervisor",
    "other_city_supervisor",
    "other_county_clerk",
    "catalogue_administrator",
    "citizen",
)

# Who sees the case: its department's handling roles and the city's supervisor; the ecology
# department once its branch of the joint review has opened.
SEES_BEFORE_JOINT_REVIEW = {"clerk", "reviewer", "decider", "department_admin", "supervisor"}
SEES_FROM_JOINT_REVIEW = SEES_BEFORE_JOINT_REVIEW | {"ecology_reviewer"}


def user_for(world: CaseWorld, role_name: str) -> Any:
    if role_name == "anonymous":
        return None
    if role_name == "catalogue_administrator":
        return make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=XIHU)
    if role_name == "citizen":
        # The applicant themself: their own case is still no business of the workbench.
        return world.applicant.user
    return getattr(world, role_name)


def client_for(world: CaseWorld, role_name: str) -> Client:
    client = Client()
    user = user_for(world, role_name)
    if user is not None:
        force_login_verified(client, user)
    return client


def assert_not_found(response: Any, role_name: str) -> None:
    if role_name == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == 404


# --- look-ups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LookUp:
    stage: str
    seen_by: set[str]
    path: Callable[[Case], str]


LOOK_UPS = {
    "case_page_before_joint_review": LookUp("submitted", SEES_BEFORE_JOINT_REVIEW, lambda case: ""),
    "case_page_in_joint_review": LookUp("accepted", SEES_FROM_JOINT_REVIEW, lambda case: ""),
    "material_download": LookUp(
        "submitted", SEES_BEFORE_JOINT_REVIEW, lambda case: f"materials/{case.materials.first().pk}/"
    ),
    "find_by_number": LookUp("submitted", SEES_BEFORE_JOINT_REVIEW, lambda case: "find"),
}


@pytest.mark.parametrize("look_up", LOOK_UPS)
@pytest.mark.parametrize("role_name", ROLES)
def test_look_ups_answer_not_found_outside_the_readers_scope(role_name, look_up):
    world = case_world()
    spec = LOOK_UPS[look_up]
    case = make_case(world=world, until=spec.stage)
    client = client_for(world, role_name)

    path = spec.path(case)
    if path == "find":
        response = client.get("/workbench/cases/find/", {"number": case.number})
    else:
        response = client.get(f"/workbench/cases/{case.number}/{path}")

    if role_name in spec.seen_by:
        expected = 302 if path == "find" else 200
        assert response.status_code == expected, response.status_code
        if path == "find":
            assert response["Location"] == f"/workbench/cases/{case.number}/"
    else:
        assert_not_found(response, role_name)
        if role_name != "anonymous" and path in ("", "find"):
            assert case.item_name not in response.content.decode()


# --- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    stage: str
    kind: str
    allowed: str
    seen_by: set[str]
    data: dict[str, str]


ACTIONS = {
    "claim": Action("submitted", "prereview", "clerk", SEES_BEFORE_JOINT_REVIEW, {}),
    "accept": Action("prereviewed", "accept", "clerk", SEES_BEFORE_JOINT_REVIEW, {"opinion": "予以受理"}),
    "opinion": Action(
        "accepted", "parallel", "reviewer", SEES_FROM_JOINT_REVIEW, {"agree": "agree", "opinion": "同意"}
    ),
    "decide": Action("reviewed", "decide", "decider", SEES_FROM_JOINT_REVIEW, {"decision": "approve"}),
}


def task_snapshot(task: CaseTask) -> tuple[Any, ...]:
    task = CaseTask.objects.get(pk=task.pk)
    return (task.state, task.assignee_id, task.closed_at, task.outcome, task.case.state, task.case.stage)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role_name", ROLES)
def test_actions_follow_department_role_and_region(role_name, action):
    world = case_world()
    spec = ACTIONS[action]
    case = make_case(world=world, until=spec.stage)
    # The market department's step (its branch, in the joint review).
    task = task_open(case, kind=spec.kind, department=world.market)
    before = task_snapshot(task)
    client = client_for(world, role_name)
    prefix = f"task{task.pk}-{action}"

    response = client.post(
        f"/workbench/cases/{case.number}/tasks/{task.pk}/{action}/",
        {f"{prefix}-{name}": value for name, value in spec.data.items()},
    )

    if role_name == spec.allowed:
        assert response.status_code == 302, response.status_code
        assert response["Location"] == f"/workbench/cases/{case.number}/"
        assert task_snapshot(task) != before
        return
    assert task_snapshot(task) == before
    if role_name in spec.seen_by:
        assert response.status_code == 302, response.status_code
        assert response["Location"] == f"/workbench/cases/{case.number}/"
        refusals = [str(message) for message in get_messages(response.wsgi_request) if message.level_tag == "error"]
        assert refusals == ["您不能办理此环节，或已由他人签收。"]
    else:
        assert_not_found(response, role_name)
