"""Who may do what on the workbench: every role × every action × every place, through HTTP.

Places are fixed regions so each role meets its own region, a region below it, a region above
it and another city: the province (330000), Hangzhou (330100), 西湖区 (330106) and Ningbo
(330200). A refusal answers 404 (as for something that does not exist) and creates nothing;
anonymous visitors are sent to the login page.
"""

from collections.abc import Callable
from typing import Any

import pytest

from govhall.accounts.models import Role, User
from govhall.accounts.services import staff_user_upsert
from govhall.catalog import services
from govhall.catalog.models import CatalogueChange, ChangeState
from tests.factories import (
    HANGZHOU,
    NINGBO,
    PROVINCE,
    XIHU,
    force_login_verified,
    make_department,
    make_entry,
    make_implementation,
    make_staff,
)
from tests.workbench.helpers import change_form_as_shown, implementation_url

pytestmark = pytest.mark.django_db

ADMINISTRATOR, REVIEWER = Role.CATALOGUE_ADMINISTRATOR, Role.CATALOGUE_REVIEWER
PLACES = {"province": PROVINCE, "hangzhou": HANGZHOU, "xihu": XIHU, "ningbo": NINGBO}
EVERYWHERE = set(PLACES)

ROLES: dict[str, tuple[Role, str] | None] = {
    "anonymous": None,
    "citizen": None,
    "province_administrator": (ADMINISTRATOR, PROVINCE),
    "hangzhou_administrator": (ADMINISTRATOR, HANGZHOU),
    "xihu_administrator": (ADMINISTRATOR, XIHU),
    "ningbo_administrator": (ADMINISTRATOR, NINGBO),
    "hangzhou_reviewer": (REVIEWER, HANGZHOU),
    "province_reviewer": (REVIEWER, PROVINCE),
}

# Where each role may draft changes to implementations, and where it may review them.
ADMINISTERS = {
    "province_administrator": EVERYWHERE,
    "hangzhou_administrator": {"hangzhou", "xihu"},
    "xihu_administrator": {"xihu"},
    "ningbo_administrator": {"ningbo"},
}
REVIEWS = {"hangzhou_reviewer": {"hangzhou", "xihu"}, "province_reviewer": EVERYWHERE}


def make_user(role_name: str) -> User | None:
    if role_name == "anonymous":
        return None
    if role_name == "citizen":
        return User.objects.create_user(username="citizen", password="a-long-test-password")
    role, region_code = ROLES[role_name]
    return make_staff(role=role, region_code=region_code, username=role_name)


def a_drafter() -> User:
    """A province administrator other than the user under test, who drafts what is reviewed."""
    existing = User.objects.filter(username="matrix-drafter").first()
    return existing or make_staff(role=ADMINISTRATOR, region_code=PROVINCE, username="matrix-drafter")


def submitted_change(implementation) -> CatalogueChange:
    return services.catalogue_change_draft(
        actor=a_drafter(),
        action="change",
        target="implementation",
        implementation=implementation,
        payload={**services.implementation_payload(implementation), "promised_time_limit_days": 2},
        reason="缩短时限",
        submit=True,
    )


def submitted_entry_change() -> CatalogueChange:
    entry = make_entry()
    return services.catalogue_change_draft(
        actor=a_drafter(),
        action="change",
        target="entry",
        entry=entry,
        payload={**services.entry_payload(entry), "description": "补充说明"},
        reason="补充说明",
        submit=True,
    )


def login(client, user: User | None) -> None:
    if user is not None:
        force_login_verified(client, user)


def assert_refused(response, role_name: str) -> None:
    if role_name == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == 404


# --- actions on an implementation -------------------------------------------------------------


def view_implementation(client, implementation, user) -> tuple[Any, Callable[[], bool]]:
    return client.get(implementation_url(implementation)), lambda: True


def propose_change(client, implementation, user) -> tuple[Any, Callable[[], bool]]:
    # The form as an administrator of the place sees it; the user under test sends it.
    force_login_verified(client, a_drafter())
    data = change_form_as_shown(client, implementation_url(implementation, "change/"))
    client.logout()
    login(client, user)
    data.update({"promised_time_limit_days": "2", "reason": "缩短时限", "intent": "submit"})
    response = client.post(implementation_url(implementation, "change/"), data)
    return response, lambda: CatalogueChange.objects.filter(implementation=implementation, action="change").exists()


def suspend(client, implementation, user) -> tuple[Any, Callable[[], bool]]:
    response = client.post(implementation_url(implementation, "suspend/"), {"reason": "场地改造"})
    return response, lambda: CatalogueChange.objects.filter(implementation=implementation, action="suspend").exists()


def approve(client, implementation, user) -> tuple[Any, Callable[[], bool]]:
    change = submitted_change(implementation)
    response = client.post(f"/workbench/changes/{change.pk}/review/", {"decision": "approve"})
    return response, lambda: CatalogueChange.objects.get(pk=change.pk).state == ChangeState.APPROVED


def view_change(client, implementation, user) -> tuple[Any, Callable[[], bool]]:
    change = submitted_change(implementation)
    return client.get(f"/workbench/changes/{change.pk}/"), lambda: True


IMPLEMENTATION_ACTIONS = {
    "view_implementation": (view_implementation, lambda role: ADMINISTERS.get(role, set()) | REVIEWS.get(role, set())),
    "propose_change": (propose_change, lambda role: ADMINISTERS.get(role, set())),
    "suspend": (suspend, lambda role: ADMINISTERS.get(role, set())),
    "approve_change": (approve, lambda role: REVIEWS.get(role, set())),
    "view_change": (view_change, lambda role: ADMINISTERS.get(role, set()) | REVIEWS.get(role, set())),
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("action", IMPLEMENTATION_ACTIONS)
@pytest.mark.parametrize("role_name", ROLES)
def test_implementation_actions_follow_the_region_scope(client, role_name, action, place):
    implementation = make_implementation(region_code=PLACES[place])
    user = make_user(role_name)
    login(client, user)
    perform, allowed_places = IMPLEMENTATION_ACTIONS[action]
    changes_before = CatalogueChange.objects.count()

    response, took_effect = perform(client, implementation, user)

    if place in allowed_places(role_name):
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302:
            assert not response["Location"].startswith("/accounts/login/")
        assert took_effect()
    else:
        assert_refused(response, role_name)
        # Nothing is created or changed beyond what the test itself set up.
        created_by_setup = 1 if action in ("approve_change", "view_change") else 0
        assert CatalogueChange.objects.count() == changes_before + created_by_setup
        if action == "approve_change":
            assert not took_effect()


# --- actions on catalogue entries (the province's) --------------------------------------------


def propose_entry_change(client, user) -> tuple[Any, Callable[[], bool]]:
    entry = make_entry()
    force_login_verified(client, a_drafter())
    data = change_form_as_shown(client, f"/workbench/entries/{entry.basic_code}/change/")
    client.logout()
    login(client, user)
    data.update({"description": "补充说明", "reason": "补充说明"})
    response = client.post(f"/workbench/entries/{entry.basic_code}/change/", data)
    return response, lambda: CatalogueChange.objects.filter(entry=entry, action="change").exists()


def approve_entry_change(client, user) -> tuple[Any, Callable[[], bool]]:
    change = submitted_entry_change()
    response = client.post(f"/workbench/changes/{change.pk}/review/", {"decision": "approve"})
    return response, lambda: CatalogueChange.objects.get(pk=change.pk).state == ChangeState.APPROVED


def view_entry_change(client, user) -> tuple[Any, Callable[[], bool]]:
    change = submitted_entry_change()
    return client.get(f"/workbench/changes/{change.pk}/"), lambda: True


ENTRY_ACTIONS = {
    "propose_entry_change": (propose_entry_change, {"province_administrator"}),
    "approve_entry_change": (approve_entry_change, {"province_reviewer"}),
    "view_entry_change": (view_entry_change, {"province_administrator", "province_reviewer"}),
}


@pytest.mark.parametrize("action", ENTRY_ACTIONS)
@pytest.mark.parametrize("role_name", ROLES)
def test_only_province_staff_touch_catalogue_entries(client, role_name, action):
    user = make_user(role_name)
    login(client, user)
    perform, allowed_roles = ENTRY_ACTIONS[action]

    response, took_effect = perform(client, user)

    if role_name in allowed_roles:
        assert response.status_code in (200, 302), response.status_code
        assert took_effect()
    else:
        assert_refused(response, role_name)
        assert action == "view_entry_change" or not took_effect()


@pytest.mark.parametrize("role_name", ROLES)
def test_entry_pages_answer_not_found_below_province_level(client, role_name):
    entry = make_entry()
    login(client, make_user(role_name))

    pages = ["/workbench/entries/", "/workbench/entries/new/", f"/workbench/entries/{entry.basic_code}/"]
    pages += [f"/workbench/entries/{entry.basic_code}/{action}/" for action in ("split", "merge", "suspend", "cancel")]
    for page in pages:
        response = client.get(page)
        if role_name == "province_administrator":
            assert response.status_code == 200, page
        else:
            assert_refused(response, role_name)


# --- four eyes -------------------------------------------------------------------------------


def test_reviewer_cannot_approve_a_change_they_drafted(client):
    department = make_department(region_code=HANGZHOU, kind="data")
    both = staff_user_upsert(
        username="admin-and-reviewer",
        display_name="既起草又审核",
        password=None,
        assignments=[(department, ADMINISTRATOR), (department, REVIEWER)],
    )
    implementation = make_implementation(region_code=XIHU)
    change = services.catalogue_change_draft(
        actor=both,
        action="suspend",
        target="implementation",
        implementation=implementation,
        reason="暂停",
        submit=True,
    )
    force_login_verified(client, both)

    assert f"/workbench/changes/{change.pk}/" not in client.get("/workbench/reviews/").content.decode()
    response = client.post(f"/workbench/changes/{change.pk}/review/", {"decision": "approve"})

    assert response.status_code == 404
    change.refresh_from_db()
    assert change.state == ChangeState.SUBMITTED
    # The drafter still sees the change page, without the review form.
    page = client.get(f"/workbench/changes/{change.pk}/").content.decode()
    assert 'id="review-form"' not in page


def test_new_implementation_in_a_region_outside_scope_is_refused_and_not_created(client):
    user = make_user("xihu_administrator")
    entry = make_entry()
    department = make_department(region_code=HANGZHOU, kind="market")
    force_login_verified(client, user)

    response = client.get(
        "/workbench/implementations/new/",
        {"basic_code": entry.basic_code, "region_code": HANGZHOU, "department_code": department.code},
    )

    assert response.status_code == 200
    assert "id_region_code_error" in response.content.decode()  # 杭州市 is not among the choices
    assert not CatalogueChange.objects.filter(action="add", drafted_by=user).exists()
