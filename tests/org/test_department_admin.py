"""Deleting a department in the admin: refused while rows refer to it, with those rows counted
(not read one by one: at a province's scale a busy department has millions of steps and timeline
events), and Django's own confirmation for a department nothing refers to."""

import pytest
from django.db.models import deletion
from django.test import Client

from govhall.accounts.models import Role
from govhall.accounts.services import staff_user_upsert
from govhall.cases.models import CaseEvent, CaseTask
from govhall.org import admin as org_admin
from govhall.org.models import Department
from tests.cases.factories import case_world, make_case
from tests.factories import PROVINCE, force_login_verified, make_department

pytestmark = pytest.mark.django_db


def _system_administrator() -> Client:
    client = Client()
    department = make_department(region_code=PROVINCE, kind="data")
    user = staff_user_upsert(
        username="system-administrator",
        display_name="系统管理员",
        password=None,
        assignments=[(department, Role.SYSTEM_ADMINISTRATOR)],
    )
    force_login_verified(client, user)
    return client


def test_a_department_cases_refer_to_is_not_deleted_and_its_rows_are_counted_not_read(monkeypatch):
    world = case_world()
    make_case(world=world, until="accepted")
    make_case(world=world, until="accepted")
    department = world.market
    steps = CaseTask.objects.filter(department=department).count()
    assert steps >= 2 and CaseEvent.objects.filter(department=department).count() >= 2
    monkeypatch.setattr(org_admin, "REFERENCES_COUNTED", 2)

    def collector_refused(*args, **kwargs):
        raise AssertionError("the collector reads every protected row")

    client = _system_administrator()
    monkeypatch.setattr(deletion.Collector, "collect", collector_refused)

    page = client.get(f"/admin/org/department/{department.pk}/delete/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "办理环节 (办理部门): ≥ 2" in text
    assert "办理记录 (部门): ≥ 2" in text

    answer = client.post(f"/admin/org/department/{department.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 200 and "办理记录 (部门): ≥ 2" in answer.content.decode()
    assert Department.objects.filter(pk=department.pk).exists()
    # The list's "delete selected" action answers the same way.
    action = client.post(
        "/admin/org/department/", {"action": "delete_selected", "_selected_action": [str(department.pk)]}
    )
    assert "办理记录 (部门): ≥ 2" in action.content.decode()
    assert Department.objects.filter(pk=department.pk).exists()
    # Under the bound, the count itself.
    monkeypatch.setattr(org_admin, "REFERENCES_COUNTED", 1000)
    assert f"办理环节 (办理部门): {steps}" in org_admin.department_references([department])


def test_a_department_nothing_refers_to_is_deleted_after_django_s_confirmation():
    department = make_department(region_code=PROVINCE, kind="market", name="待撤销的部门")
    client = _system_administrator()

    page = client.get(f"/admin/org/department/{department.pk}/delete/")
    assert page.status_code == 200
    assert "待撤销的部门" in page.content.decode()
    assert org_admin.department_references([department]) == []

    answer = client.post(f"/admin/org/department/{department.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    assert not Department.objects.filter(pk=department.pk).exists()
