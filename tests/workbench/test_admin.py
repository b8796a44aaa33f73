"""The Django admin: reference data is edited there, the catalogue and the audit record are read-only.

Access is by role (the three separated administrators); tests/accounts/test_separation_of_duties.py
holds the full permission matrix.
"""

import pytest
from django.contrib import admin

from govhall.accounts.models import Role, StaffAssignment, User
from govhall.audit.models import AuditRecord
from govhall.catalog.models import CatalogueChange, SearchSynonym
from tests.factories import HANGZHOU, PROVINCE, force_login_verified, make_department, make_implementation, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    force_login_verified(client, User.objects.create_superuser(username="root", password="a-long-test-password"))
    return client


def _administrator_client(role):
    from django.test import Client

    user = make_staff(role=role, region_code=PROVINCE)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    force_login_verified(client, user)
    return client


@pytest.fixture
def system_administrator_client():
    return _administrator_client(Role.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def security_administrator_client():
    return _administrator_client(Role.SECURITY_ADMINISTRATOR)


@pytest.fixture
def auditor_client():
    return _administrator_client(Role.AUDITOR)


def admin_url(model, page="", *args):
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    return base + "/".join(str(arg) for arg in args) + ("/" if args else "") + page


def test_every_registered_list_and_object_page_opens_to_one_of_the_three_administrators(
    system_administrator_client, security_administrator_client, auditor_client
):
    make_implementation()
    clients = (system_administrator_client, security_administrator_client, auditor_client)
    for model in admin.site._registry:
        opening = [client for client in clients if client.get(admin_url(model)).status_code == 200]
        assert opening, model
        first = model._default_manager.first()
        if first is not None:
            assert opening[0].get(admin_url(model, "change/", first.pk)).status_code == 200, model


@pytest.mark.parametrize(
    "model_name",
    ["catalogueentry", "implementation", "cataloguechange", "implementationversion", "auditrecord", "region"],
)
def test_catalogue_audit_and_regions_cannot_be_added_even_by_a_superuser(superuser_client, model_name):
    model = next(model for model in admin.site._registry if model._meta.model_name == model_name)

    assert superuser_client.get(admin_url(model, "add/")).status_code == 403


def test_catalogue_records_cannot_be_changed_or_deleted_in_the_admin(superuser_client):
    implementation = make_implementation()
    change = CatalogueChange.objects.get(implementation=implementation)
    record = AuditRecord.objects.first()

    delete = superuser_client.post(admin_url(CatalogueChange, "delete/", change.pk), {"post": "yes"})
    edit = superuser_client.post(admin_url(AuditRecord, "change/", record.pk), {"summary": "改写"})

    assert delete.status_code == 403
    assert edit.status_code == 403
    assert CatalogueChange.objects.filter(pk=change.pk).exists()
    record.refresh_from_db()
    assert record.summary != "改写"


def test_catalogue_lists_say_changes_go_through_the_workbench(system_administrator_client):
    page = system_administrator_client.get(admin_url(CatalogueChange)).content.decode()

    assert "须在工作台提出" in page


def test_audit_records_filter_by_action(auditor_client):
    make_implementation()

    page = auditor_client.get(admin_url(AuditRecord), {"action": "catalogue_change_approve"}).content.decode()

    assert "catalogue_change_approve" in page
    assert "catalogue_change_draft</td>" not in page


def test_synonyms_are_edited_and_searched_in_the_admin(system_administrator_client):
    system_administrator_client.post(admin_url(SearchSynonym, "add/"), {"term": "开公司", "expansion": "企业设立登记"})

    assert SearchSynonym.objects.filter(term="开公司").exists()
    assert "企业设立登记" in system_administrator_client.get(admin_url(SearchSynonym), {"q": "开公司"}).content.decode()


def test_a_synonym_added_in_the_admin_is_stored_folded_like_the_queries_it_must_match(system_administrator_client):
    system_administrator_client.post(
        admin_url(SearchSynonym, "add/"), {"term": "ＥＴＣ办理", "expansion": "电子不停车收费"}
    )

    assert SearchSynonym.objects.filter(term="etc办理").exists()


def test_roles_set_on_the_user_page_are_saved_through_the_service_with_an_audit_record(
    security_administrator_client,
):
    staff = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU, username="hz")
    department = make_department(region_code=HANGZHOU, kind="data")
    assignment = StaffAssignment.objects.get(user=staff)
    page = security_administrator_client.get(admin_url(User, "change/", staff.pk))
    assert page.status_code == 200

    response = security_administrator_client.post(
        admin_url(User, "change/", staff.pk),
        {
            "username": "hz",
            "display_name": "杭州事项管理员",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
            "assignments-TOTAL_FORMS": "2",
            "assignments-INITIAL_FORMS": "1",
            "assignments-MIN_NUM_FORMS": "0",
            "assignments-MAX_NUM_FORMS": "1000",
            "assignments-0-id": str(assignment.pk),
            "assignments-0-user": str(staff.pk),
            "assignments-0-department": str(department.pk),
            "assignments-0-role": Role.CATALOGUE_ADMINISTRATOR,
            "assignments-1-user": str(staff.pk),
            "assignments-1-department": str(department.pk),
            "assignments-1-role": Role.CATALOGUE_REVIEWER,
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    roles = set(StaffAssignment.objects.filter(user=staff).values_list("role", flat=True))
    assert roles == {Role.CATALOGUE_ADMINISTRATOR, Role.CATALOGUE_REVIEWER}
    assert AuditRecord.objects.filter(action="staff_roles_set", object_id=str(staff.pk)).exists()
