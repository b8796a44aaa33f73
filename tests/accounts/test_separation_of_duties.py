"""The three separated administrators (三员分立) in the admin, through HTTP.

Access comes from roles through the guards, not from Django's superuser flag: the system
administrator runs the system's data, the security administrator grants roles, the auditor reads
the audit trail, and nobody adds, changes or deletes an audit record.
"""

import pytest
from django.contrib import admin
from django.test import Client

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.models import Role, StaffAssignment, User
from govhall.accounts.services import StaffRolesRefused, staff_user_upsert
from govhall.audit.models import AuditRecord
from govhall.audit.services import audit_record_add
from govhall.org.models import Department
from tests.factories import HANGZHOU, PROVINCE, force_login_verified, make_department

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
OK, SAVED, REFUSED = 200, 302, 403


def _staff(username, *roles):
    department = make_department(region_code=PROVINCE, kind="data")
    return staff_user_upsert(
        username=username,
        display_name=username,
        password=None,
        assignments=[(department, role) for role in roles],
    )


def _user_for(kind):
    if kind == "plain user":
        return User.objects.create_user(username="plain", password="a-long-test-password")
    if kind == "superuser without roles":
        return User.objects.create_superuser(username="root", password="a-long-test-password")
    role = {
        "system administrator": Role.SYSTEM_ADMINISTRATOR,
        "security administrator": Role.SECURITY_ADMINISTRATOR,
        "auditor": Role.AUDITOR,
        "catalogue administrator": Role.CATALOGUE_ADMINISTRATOR,
    }[kind]
    return _staff(kind.replace(" ", "-"), role)


def _client(user):
    client = Client()
    force_login_verified(client, user)
    return client


def _grant_form(target, department, role):
    return {
        "username": target.username,
        "display_name": target.display_name,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "assignments-TOTAL_FORMS": "1",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
        "assignments-0-user": str(target.pk),
        "assignments-0-department": str(department.pk),
        "assignments-0-role": role,
    }


@pytest.fixture
def world():
    department = make_department(region_code=HANGZHOU, kind="market", name="杭州市市场监督管理局")
    target = _staff("target-clerk")
    record = audit_record_add(actor=None, action="test", object_type="thing", object_id=1, summary="原始摘要")
    return {"department": department, "target": target, "record": record}


def _view_department(client, world):
    return client.get("/admin/org/department/")


def _change_department(client, world):
    department = world["department"]
    return client.post(
        f"/admin/org/department/{department.pk}/change/",
        {"code": department.code, "name": "改名后的部门", "kind": department.kind, "region": department.region_id},
    )


def _view_staff_assignments(client, world):
    return client.get("/admin/accounts/staffassignment/")


def _grant_role(client, world):
    target = world["target"]
    return client.post(
        f"/admin/accounts/user/{target.pk}/change/", _grant_form(target, world["department"], Role.WINDOW_CLERK)
    )


def _view_audit_records(client, world):
    return client.get("/admin/audit/auditrecord/")


def _change_audit_record(client, world):
    return client.post(f"/admin/audit/auditrecord/{world['record'].pk}/change/", {"summary": "改写"})


def _delete_audit_record(client, world):
    return client.post(f"/admin/audit/auditrecord/{world['record'].pk}/delete/", {"post": "yes"})


ACTIONS = {
    "view department": _view_department,
    "change department": _change_department,
    "view staff assignments": _view_staff_assignments,
    "grant a role": _grant_role,
    "view audit records": _view_audit_records,
    "change an audit record": _change_audit_record,
    "delete an audit record": _delete_audit_record,
}
NOBODY = dict.fromkeys(ACTIONS, REFUSED)
EXPECTED = {
    "system administrator": {**NOBODY, "view department": OK, "change department": SAVED},
    "security administrator": {**NOBODY, "view department": OK, "view staff assignments": OK, "grant a role": SAVED},
    "auditor": {**NOBODY, "view audit records": OK},
    "catalogue administrator": NOBODY,
    "superuser without roles": NOBODY,
    "plain user": dict.fromkeys(ACTIONS, LOGIN),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("kind", EXPECTED)
def test_permission_matrix(world, kind, action):
    response = ACTIONS[action](_client(_user_for(kind)), world)

    expected = EXPECTED[kind][action]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
    else:
        assert response.status_code == expected, response.content.decode()[-1500:]
        if expected == SAVED:
            assert not response["Location"].startswith(LOGIN)
    # Whatever happened, the audit record is as it was written.
    assert AuditRecord.objects.get(pk=world["record"].pk).summary == "原始摘要"
    department_renamed = Department.objects.get(pk=world["department"].pk).name == "改名后的部门"
    assert department_renamed == (action == "change department" and expected == SAVED)
    clerk_granted = StaffAssignment.objects.filter(user=world["target"], role=Role.WINDOW_CLERK).exists()
    assert clerk_granted == (action == "grant a role" and expected == SAVED)


def test_every_model_and_inline_on_the_admin_site_is_guarded_by_role():
    unguarded = [
        f"{model.__name__}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, RoleGuardedAdmin)
        or not all(issubclass(inline, RoleGuardedAdmin) for inline in model_admin.inlines)
    ]

    assert unguarded == []


def test_a_grant_and_a_withdrawal_are_audited_with_what_changed(world):
    security = _user_for("security administrator")
    client = _client(security)
    target, department = world["target"], world["department"]

    client.post(f"/admin/accounts/user/{target.pk}/change/", _grant_form(target, department, Role.REVIEWER))
    assignment = StaffAssignment.objects.get(user=target, role=Role.REVIEWER)
    withdraw = {
        **_grant_form(target, department, Role.REVIEWER),
        "assignments-INITIAL_FORMS": "1",
        "assignments-0-id": str(assignment.pk),
        "assignments-0-DELETE": "on",
    }
    client.post(f"/admin/accounts/user/{target.pk}/change/", withdraw)

    records = list(AuditRecord.objects.filter(action="staff_roles_set", object_id=str(target.pk), actor=security))
    assert [record.data for record in sorted(records, key=lambda record: record.pk)] == [
        {"granted": [[department.pk, Role.REVIEWER]], "withdrawn": []},
        {"granted": [], "withdrawn": [[department.pk, Role.REVIEWER]]},
    ]
    assert not StaffAssignment.objects.filter(user=target).exists()


@pytest.mark.parametrize("role", [Role.SECURITY_ADMINISTRATOR, Role.AUDITOR, Role.WINDOW_CLERK])
def test_a_security_administrator_cannot_grant_any_role_to_themselves(world, role):
    security = _user_for("security administrator")

    response = _client(security).post(
        f"/admin/accounts/user/{security.pk}/change/", _grant_form(security, world["department"], role)
    )

    assert response.status_code == REFUSED
    assert set(StaffAssignment.objects.filter(user=security).values_list("role", flat=True)) == {
        Role.SECURITY_ADMINISTRATOR
    }


def test_the_service_refuses_a_self_grant_and_a_grant_by_anyone_but_a_security_administrator(world):
    security = _user_for("security administrator")
    system = _user_for("system administrator")
    department = world["department"]

    with pytest.raises(StaffRolesRefused):
        staff_user_upsert(
            username=security.username,
            display_name="自己",
            password=None,
            assignments=[(department, Role.SECURITY_ADMINISTRATOR), (department, Role.WINDOW_CLERK)],
            actor=security,
        )
    with pytest.raises(StaffRolesRefused):
        staff_user_upsert(
            username="target-clerk",
            display_name="x",
            password=None,
            assignments=[(department, Role.AUDITOR)],
            actor=system,
        )


def test_no_one_holds_two_of_the_three_separated_roles(world):
    security = _user_for("security administrator")
    target = _staff("target-system", Role.SYSTEM_ADMINISTRATOR)
    department = make_department(region_code=PROVINCE, kind="data")
    form = {
        **_grant_form(target, world["department"], Role.AUDITOR),
        "assignments-TOTAL_FORMS": "2",
        "assignments-INITIAL_FORMS": "1",
        "assignments-0-id": str(StaffAssignment.objects.get(user=target).pk),
        "assignments-0-department": str(department.pk),
        "assignments-0-role": Role.SYSTEM_ADMINISTRATOR,
        "assignments-1-user": str(target.pk),
        "assignments-1-department": str(world["department"].pk),
        "assignments-1-role": Role.AUDITOR,
    }

    response = _client(security).post(f"/admin/accounts/user/{target.pk}/change/", form)

    assert response.status_code == OK
    assert "不能由同一人兼任" in response.content.decode()
    assert not StaffAssignment.objects.filter(user=target, role=Role.AUDITOR).exists()


def test_a_security_administrator_creates_a_staff_account_and_it_is_audited():
    security = _user_for("security administrator")

    response = _client(security).post(
        "/admin/accounts/user/add/",
        {
            "username": "new-clerk",
            "display_name": "新窗口人员",
            "usable_password": "true",
            "password1": "a-long-test-password-1",
            "password2": "a-long-test-password-1",
            "assignments-TOTAL_FORMS": "1",
            "assignments-INITIAL_FORMS": "0",
            "assignments-MIN_NUM_FORMS": "0",
            "assignments-MAX_NUM_FORMS": "1000",
            "assignments-0-department": str(make_department(region_code=HANGZHOU, kind="market").pk),
            "assignments-0-role": Role.WINDOW_CLERK,
        },
    )

    assert response.status_code == SAVED, response.content.decode()[-1500:]
    created = User.objects.get(username="new-clerk")
    assert created.is_staff
    assert created.check_password("a-long-test-password-1")
    assert list(StaffAssignment.objects.filter(user=created).values_list("role", flat=True)) == [Role.WINDOW_CLERK]
    assert AuditRecord.objects.filter(action="staff_roles_set", object_id=str(created.pk), actor=security).exists()


def test_the_system_administrator_cannot_create_accounts_or_read_users():
    client = _client(_user_for("system administrator"))

    assert client.get("/admin/accounts/user/").status_code == REFUSED
    assert client.get("/admin/accounts/user/add/").status_code == REFUSED


def test_the_auditor_sees_only_the_audit_trail_on_the_admin_index():
    page = _client(_user_for("auditor")).get("/admin/").content.decode()

    assert "/admin/audit/auditrecord/" in page
    assert "/admin/org/department/" not in page
    assert "/admin/accounts/user/" not in page
