"""Canary identity numbers and phones, planted and run through every identity flow, must not
appear in clear in any log line, response (beyond a form echoing what the person typed) or
stored row other than their encrypted columns."""

import logging
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from govhall.accounts.models import Agency, LoginFailure, Person
from govhall.accounts.registry import demo_registry_company_add, demo_registry_person_add
from govhall.org.identifiers import uscc_check_character
from tests.accounts.helpers import latest_code
from tests.factories import identity_number_for

pytestmark = pytest.mark.django_db

CANARY_NUMBER = identity_number_for("330106", "19870707", 777)
CANARY_PHONE = "13677770777"
AGENT_NUMBER = identity_number_for("330110", "19920202", 778)
AGENT_PHONE = "13677770778"
PASSWORD = "canary-tea-garden-7"
CREDIT_CODE = "91330106MA2H07777" + uscc_check_character("91330106MA2H07777")


def register(client, *, number: str, phone: str, name: str) -> list[str]:
    values = {"identity_number": number, "name": name, "phone": phone, "password1": PASSWORD, "password2": PASSWORD}
    pages = [client.post(reverse("accounts:register"), {**values, "code": "", "action": "send_code"})]
    pages.append(
        client.post(reverse("accounts:register"), {**values, "code": latest_code(), "action": "register"}, follow=True)
    )
    return [page.content.decode() for page in pages]


def every_stored_text() -> str:
    """Every column of every row of the project's tables, as text (encrypted columns included:
    they must not contain the clear value either)."""
    chunks = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if not model.__module__.startswith("govhall."):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_canary_numbers_never_appear_in_clear(client, caplog):
    caplog.set_level(logging.DEBUG)
    demo_registry_person_add(name="钱七", identity_number=CANARY_NUMBER)
    demo_registry_person_add(name="孙八", identity_number=AGENT_NUMBER)
    demo_registry_company_add(
        credit_code=CREDIT_CODE,
        name="杭州金丝雀茶业有限公司",
        kind="limited_company",
        legal_representative_identity_number=CANARY_NUMBER,
    )
    pages = []

    # Register both people; the representative raises to L2, registers the company, authorises.
    pages += register(client, number=AGENT_NUMBER, phone=AGENT_PHONE, name="孙八")
    client.post(reverse("accounts:account"), {"name": "孙八"})
    client.post(reverse("accounts:logout"))
    pages += register(client, number=CANARY_NUMBER, phone=CANARY_PHONE, name="钱七")
    pages.append(client.post(reverse("accounts:account"), {"name": "钱七"}, follow=True).content.decode())
    pages.append(
        client.post(reverse("accounts:company_register"), {"credit_code": CREDIT_CODE}, follow=True).content.decode()
    )
    pages.append(
        client.post(
            reverse("accounts:company", args=[CREDIT_CODE]),
            {
                "agent_name": "孙八",
                "agent_identity_number": AGENT_NUMBER,
                "valid_until": (date.today() + timedelta(days=10)).isoformat(),
                "all_services": "on",
            },
            follow=True,
        ).content.decode()
    )
    pages.append(client.get(reverse("accounts:sessions")).content.decode())
    pages.append(client.get(reverse("notices:outbox")).content.decode())
    client.post(reverse("accounts:logout"))
    # Wrong and right logins, by identity number, by phone, by code.
    pages.append(
        client.post(reverse("accounts:login"), {"login_name": CANARY_NUMBER, "password": "wrong-one!"}).content.decode()
    )
    pages.append(
        client.post(
            reverse("accounts:login"), {"login_name": CANARY_PHONE, "password": PASSWORD}, follow=True
        ).content.decode()
    )
    client.post(reverse("accounts:logout"))
    pages.append(
        client.post(reverse("accounts:login_code"), {"phone": CANARY_PHONE, "action": "send"}).content.decode()
    )
    pages.append(client.get("/api/v1/implementations").content.decode())

    stored = every_stored_text()
    for canary in (CANARY_NUMBER, CANARY_PHONE, AGENT_NUMBER, AGENT_PHONE):
        assert canary not in caplog.text, canary
        assert canary not in stored, canary
        for page in pages:
            # A form gives back what the person typed into it, so they can correct it; nothing else may.
            assert canary not in page.replace(f'value="{canary}"', ""), canary
    # The flows really ran: both registered, the representative reached L2 and authorised the agent.
    assert sorted(Person.objects.values_list("name", "assurance_level")) == [("孙八", 2), ("钱七", 2)]
    assert Agency.objects.filter(company__credit_code=CREDIT_CODE, agent__name="孙八").count() == 1
    assert LoginFailure.objects.count() == 1
