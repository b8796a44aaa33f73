"""Registration of a natural person through the pages, with the code read from the outbox."""

import pytest
from django.urls import reverse

from govhall.accounts import privacy
from govhall.accounts.models import AssuranceLevel, Person
from govhall.audit.models import AuditRecord
from govhall.notices.models import OutboxMessage
from tests.accounts.helpers import latest_code
from tests.factories import identity_number_for, make_person

pytestmark = pytest.mark.django_db

NUMBER = identity_number_for("330106", "19850615", 123)
PHONE = "13700001234"
PASSWORD = "west-lake-tea-2025"


def form(**overrides: str) -> dict[str, str]:
    values = {
        "identity_number": NUMBER,
        "name": "李四",
        "phone": PHONE,
        "code": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "action": "register",
    }
    return {**values, **overrides}


def send_code(client, **overrides: str):
    return client.post(reverse("accounts:register"), form(action="send_code", **overrides))


def test_person_registers_with_the_code_from_the_outbox_and_is_logged_in(client):
    sent = send_code(client)
    assert sent.status_code == 200
    assert "137****1234" in sent.content.decode()

    response = client.post(reverse("accounts:register"), form(code=latest_code()))

    assert response.status_code == 302
    person = Person.objects.get()
    assert person.name == "李四"
    assert (person.assurance_level, person.assurance_method) == (AssuranceLevel.L1, "self_declared")
    assert person.identity_number_masked == privacy.mask_identity_number(NUMBER)
    assert person.phone_index == privacy.blind_index(PHONE, purpose="phone")
    assert privacy.decrypt(person.identity_number_encrypted, purpose="identity_number") == NUMBER
    assert person.user.check_password(PASSWORD)
    assert int(client.session["_auth_user_id"]) == person.user.pk
    assert AuditRecord.objects.filter(action="person_register", actor=person.user).count() == 1


def test_sending_the_code_keeps_identity_number_name_and_phone_in_the_form(client):
    page = send_code(client).content.decode()

    assert f'value="{NUMBER}"' in page
    assert 'value="李四"' in page
    assert f'value="{PHONE}"' in page


@pytest.mark.parametrize(
    ("identity_number", "message"),
    [
        ("3301061985061512", "18 位"),
        ("33010619850615123A", "最后一位为数字或字母 X"),
        (identity_number_for("999999", "19850615", 1), "行政区划代码"),
        (identity_number_for("330106", "19850230", 1), "出生日期"),
        (NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1"), "校验位"),
    ],
)
def test_each_identity_number_problem_has_its_own_message_and_the_values_stay(client, identity_number, message):
    send_code(client)

    response = client.post(reverse("accounts:register"), form(identity_number=identity_number, code=latest_code()))

    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert 'value="李四"' in page
    assert f'value="{PHONE}"' in page
    assert PASSWORD not in page
    assert Person.objects.count() == 0


def test_wrong_phone_weak_password_and_missing_code_are_reported_on_their_fields(client):
    response = client.post(
        reverse("accounts:register"), form(phone="12345678901", password1="12345678", password2="12345678")
    )

    errors = response.context["form"].errors
    assert "1 开头" in errors["phone"][0]
    assert "code" in errors
    assert 'value="12345678901"' in response.content.decode()


def test_weak_password_is_refused_on_the_password_field(client):
    send_code(client)

    response = client.post(
        reverse("accounts:register"), form(password1="1234567890", password2="1234567890", code=latest_code())
    )

    assert "password1" in response.context["form"].errors
    assert Person.objects.count() == 0


def test_duplicate_identity_number_or_phone_is_refused_without_saying_whose(client):
    existing = make_person(name="王五", identity_number=NUMBER)
    send_code(client)

    response = client.post(reverse("accounts:register"), form(code=latest_code()))

    errors = response.context["form"].errors
    assert "已注册" in errors["identity_number"][0]
    assert "王五" not in response.content.decode()
    assert existing.phone_masked not in response.content.decode()

    phone_taken = client.post(
        reverse("accounts:register"),
        form(action="send_code", phone=privacy.decrypt(existing.phone_encrypted, purpose="phone")),
    )
    assert "已注册" in phone_taken.context["form"].errors["phone"][0]


def test_wrong_code_is_refused_on_the_code_field(client):
    send_code(client)
    code = latest_code()

    response = client.post(reverse("accounts:register"), form(code=f"{(int(code) + 1) % 1_000_000:06d}"))

    assert "验证码不正确" in response.context["form"].errors["code"][0]
    assert Person.objects.count() == 0


def test_no_identity_number_or_phone_in_clear_in_outbox_audit_or_pages(client):
    # Given canary values that appear nowhere else
    pages = [send_code(client).content.decode()]
    pages.append(client.post(reverse("accounts:register"), form(code=latest_code())).content.decode())
    pages.append(client.get(reverse("accounts:sessions")).content.decode())
    pages.append(client.get(reverse("notices:outbox")).content.decode())
    client.post(reverse("accounts:logout"))
    pages.append(
        client.post(reverse("accounts:login"), {"login_name": NUMBER, "password": "wrong-password!"}).content.decode()
    )
    pages.append(client.post(reverse("accounts:login_code"), {"phone": PHONE, "action": "send"}).content.decode())

    # Then neither appears in clear in the pages or the rows
    outbox_rows = [str(row) for row in OutboxMessage.objects.values_list()]
    audit_rows = [str(row) for row in AuditRecord.objects.values_list()]
    assert len(audit_rows) >= 4
    for canary in (NUMBER, PHONE):
        # A form gives back what the person typed into it (so they can correct it); nothing else may.
        assert all(canary not in page.replace(f'value="{canary}"', "") for page in pages)
        assert all(canary not in row for row in outbox_rows)
        assert all(canary not in row for row in audit_rows)
