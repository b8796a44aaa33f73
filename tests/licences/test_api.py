"""The licence API: verification for anyone, look-up for registered department systems."""

import base64

import pytest
from oauth2_provider.models import Application

from govhall.audit.models import AuditRecord
from govhall.licences.management.commands.licence_client_add import licence_client_create
from tests.factories import make_person
from tests.licences.factories import make_licence

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _token(client, client_id: str, secret: str, scope: str = "licences") -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials", "scope": scope}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_anyone_verifies_an_identifier_or_a_file(client):
    licence = make_licence()
    by_identifier = client.post(
        f"{API}/licences/verify", {"identifier": licence.identifier}, content_type="application/json"
    )
    by_file = client.post(f"{API}/licences/verify-file", {"document": _pdf(licence.versions.get().document.read())})
    unknown = client.post(f"{API}/licences/verify", {"identifier": "1.2.3"}, content_type="application/json")

    assert by_identifier.json()["code"] == "valid"
    assert by_identifier.json()["licence"]["number"] == licence.number
    assert by_file.json()["code"] == "valid"
    assert unknown.json() == {
        "ok": False,
        "code": "malformed",
        "message": unknown.json()["message"],
        "message_en": unknown.json()["message_en"],
        "licence": None,
    }


def _pdf(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("licence.pdf", data, content_type="application/pdf")


def test_a_department_system_looks_licences_up_and_each_look_up_is_audited(client):
    person = make_person()
    licence = make_licence(person=person)
    system, secret = licence_client_create(name="市场监管业务系统", department=licence.issuer)
    token = _token(client, system.application.client_id, secret)
    identity_number = person.identity_number_masked  # the clear number is not kept; use the registry's
    from govhall.accounts import privacy

    clear = privacy.decrypt(person.identity_number_encrypted, purpose="identity_number")

    found = client.get(
        f"{API}/licences/lookup",
        {"holder": clear, "type": licence.licence_type.code},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    none = client.get(
        f"{API}/licences/lookup",
        {"holder": "914403001922038216", "type": licence.licence_type.code},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert found.status_code == 200
    assert [item["number"] for item in found.json()["items"]] == [licence.number]
    assert found.json()["items"][0]["holder_identifier"] == identity_number
    assert none.json()["items"] == []
    records = AuditRecord.objects.filter(action="licence_lookup")
    assert records.count() == 2
    assert clear not in str(records.first().data)


def test_look_up_needs_a_registered_department_systems_token(client):
    licence = make_licence()
    anonymous = client.get(f"{API}/licences/lookup", {"holder": "x", "type": licence.licence_type.code})
    # A client-credentials application that is not a registered look-up client.
    other = Application.objects.create(
        name="其他系统",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret="s3cret-enough-for-a-test",
    )
    token = _token(client, other.client_id, "s3cret-enough-for-a-test")
    stranger = client.get(
        f"{API}/licences/lookup",
        {"holder": "x", "type": licence.licence_type.code},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert anonymous.status_code == 401
    assert stranger.status_code == 401
