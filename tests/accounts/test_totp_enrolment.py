"""Staff TOTP enrolment with an activation code, through HTTP: the security administrator issues
the code from the admin, the staff member types it after their password, scans the new secret and
confirms it with a first code; a password alone never binds a second factor."""

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from govhall.accounts.models import LoginFailure, Role, TotpActivationCode, User
from govhall.accounts.services import staff_user_upsert
from govhall.accounts.totp import ActivationCodeRefused, totp_activation_code_issue, totp_code_now
from govhall.audit.models import AuditRecord
from tests.factories import HANGZHOU, PROVINCE, force_login_verified, make_department

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
START = datetime(2025, 3, 4, 2, 0, 0, tzinfo=UTC)
LOGIN = "/accounts/login/"
VERIFY = "/accounts/login/verify/"
USERS = "/admin/accounts/user/"
ACTION = "issue_totp_activation_codes"
CODE_ON_PAGE = re.compile(r'<code class="activation-code">([A-Z0-9-]+)</code>')


def staff_member(username: str, role: Role, *, region_code: str = HANGZHOU) -> User:
    return staff_user_upsert(
        username=username,
        display_name=username,
        password=PASSWORD,
        assignments=[(make_department(region_code=region_code, kind="data"), role)],
    )


@pytest.fixture
def security_admin_client() -> Client:
    client = Client()
    force_login_verified(client, staff_member("security-admin", Role.SECURITY_ADMINISTRATOR, region_code=PROVINCE))
    return client


@pytest.fixture
def newcomer() -> User:
    return staff_member("new-reviewer", Role.REVIEWER)


def issue_through_admin(client: Client, *users: User):
    return client.post(USERS, {"action": ACTION, "_selected_action": [str(user.pk) for user in users]})


def issued_code(client: Client, user: User) -> str:
    response = issue_through_admin(client, user)
    assert response.status_code == 200
    [code] = CODE_ON_PAGE.findall(response.content.decode())
    return code


def password_step(client: Client, username: str = "new-reviewer", password: str = PASSWORD):
    return client.post(LOGIN, {"login_name": username, "password": password})


def activation_step(client: Client, code: str):
    return client.post(VERIFY, {"activation_code": code})


def new_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=False)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- issuing ---------------------------------------------------------------------------------


def test_security_administrator_issues_a_code_shown_once_stored_hashed_and_audited(security_admin_client, newcomer):
    response = issue_through_admin(security_admin_client, newcomer)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [code] = CODE_ON_PAGE.findall(response.content.decode())
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}", code)
    stored = TotpActivationCode.objects.get(user=newcomer)
    assert stored.issued_by.username == "security-admin"
    assert stored.expires_at - stored.created_at == timedelta(hours=72)
    assert code.replace("-", "") not in stored.code_hash
    record = AuditRecord.objects.get(action="totp_activation_code_issue")
    assert (record.actor.username, record.object_id) == ("security-admin", str(newcomer.pk))
    assert code.replace("-", "") not in str(record.summary) + str(record.data)
    assert code not in str(record.summary) + str(record.data)


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMINISTRATOR, Role.AUDITOR, Role.CATALOGUE_ADMINISTRATOR])
def test_nobody_but_the_security_administrator_can_issue_codes(newcomer, role):
    other = staff_member(f"other-{role}", role, region_code=PROVINCE)
    client = Client()
    force_login_verified(client, other)

    response = issue_through_admin(client, newcomer)

    assert response.status_code == 403
    assert not TotpActivationCode.objects.exists()
    with pytest.raises(ActivationCodeRefused):
        totp_activation_code_issue(user=newcomer, actor=other)
    assert not TotpActivationCode.objects.exists()


def test_the_security_administrator_cannot_issue_a_code_to_themselves(security_admin_client):
    themselves = User.objects.get(username="security-admin")

    response = issue_through_admin(security_admin_client, themselves)

    assert response.status_code == 302  # back to the list, with the refusal as a message
    assert not TotpActivationCode.objects.exists()
    listing = security_admin_client.get(response["Location"]).content.decode()
    assert "不能给自己签发" in listing


def test_no_code_is_issued_for_an_account_without_a_staff_role(security_admin_client):
    citizen = User.objects.create_user(username="plain-citizen", password=PASSWORD)

    response = issue_through_admin(security_admin_client, citizen)

    assert response.status_code == 302
    assert not TotpActivationCode.objects.exists()


def test_a_new_code_ends_the_earlier_unused_one(security_admin_client, newcomer):
    first = issued_code(security_admin_client, newcomer)
    second = issued_code(security_admin_client, newcomer)
    client = Client()
    password_step(client)

    refused = activation_step(client, first)
    accepted = activation_step(client, second)

    assert refused.status_code == 400
    assert accepted["Location"] == VERIFY


# --- enrolling -------------------------------------------------------------------------------


def test_staff_member_enrols_with_the_activation_code_and_later_logins_ask_for_the_totp_code(
    security_admin_client, newcomer
):
    with time_machine.travel(START, tick=False) as traveller:
        code = issued_code(security_admin_client, newcomer)
        client = Client()

        # Given the right password, the second step asks for the activation code
        assert password_step(client)["Location"] == VERIFY
        assert 'name="activation_code"' in client.get(VERIFY).content.decode()

        # When the code is typed (in lower case, without hyphens, as people do)
        assert activation_step(client, code.replace("-", "").lower())["Location"] == VERIFY

        # Then the page shows the new secret, its otpauth URI and a QR code drawn on the server
        page = client.get(VERIFY)
        assert "no-store" in page["Cache-Control"]
        html = page.content.decode()
        device = new_device(newcomer)
        secret = page.context["secret"].replace(" ", "")
        assert secret == base64.b32encode(device.bin_key).decode()
        assert f"secret={secret}&amp;" in html
        assert "otpauth://totp/govhall%3Anew-reviewer?secret=" in html
        assert re.search(r'<svg [^>]*class="segno"', html)
        assert "_auth_user_id" not in client.session  # nothing is granted yet

        # And a right code from the app confirms the device and verifies the session
        confirmed = client.post(VERIFY, {"code": totp_code_now(device=device)})
        assert confirmed["Location"] == "/workbench/"
        assert client.get("/workbench/").status_code == 200
        device.refresh_from_db()
        assert device.confirmed
        assert TotpActivationCode.objects.get(user=newcomer).used_at == START
        actions = list(AuditRecord.objects.filter(actor=newcomer).values_list("action", "summary"))
        assert ("totp_activation_code_accept", "activation code accepted") in actions
        assert ("totp_device_create", "enrolled with an activation code") in actions
        assert ("login", "staff login by password + activation code + new TOTP") in actions

        # A later login asks for the code from the app, not for an activation code
        traveller.shift(timedelta(seconds=31))
        later = Client()
        assert password_step(later)["Location"] == VERIFY
        second_step = later.get(VERIFY).content.decode()
        assert 'name="code"' in second_step
        assert 'name="activation_code"' not in second_step
        assert "otpauth://" not in second_step
        assert later.post(VERIFY, {"code": totp_code_now(device=device)})["Location"] == "/workbench/"


def test_a_password_alone_never_binds_a_second_factor(newcomer):
    client = Client()
    password_step(client)

    # Neither a TOTP code nor an empty activation code gets past the activation step
    assert client.post(VERIFY, {"code": "123456"}).status_code == 400
    assert activation_step(client, "").status_code == 400

    assert not TOTPDevice.objects.filter(user=newcomer).exists()
    assert "_auth_user_id" not in client.session


def test_the_verify_page_without_a_password_step_sends_to_the_login(client):
    response = client.get(f"{VERIFY}?next=/workbench/changes/")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Fworkbench%2Fchanges%2F"


def test_wrong_activation_codes_are_refused_and_count_toward_the_account_lock(security_admin_client, newcomer):
    with time_machine.travel(START, tick=False) as traveller:
        code = issued_code(security_admin_client, newcomer)
        client = Client()
        password_step(client)

        for _attempt in range(4):
            refused = activation_step(client, "AAAA-BBBB-CCCC-DDDD")
            assert refused.status_code == 400
            assert "激活码不正确、已过期或已使用" in refused.context["form"].errors["activation_code"][0]
            traveller.shift(timedelta(seconds=5))
        # The fifth wrong activation code within a minute locks the account
        assert LoginFailure.objects.filter(user=newcomer).count() == 4
        locked = activation_step(client, "AAAA-BBBB-CCCC-DDDD")
        assert "已被锁定" in locked.content.decode()

        # Even the right code is refused while the lock lasts
        assert "已被锁定" in activation_step(client, code).content.decode()
        assert not TOTPDevice.objects.filter(user=newcomer).exists()
    newcomer.refresh_from_db()
    assert newcomer.locked_until == START + timedelta(seconds=20) + timedelta(minutes=10)
    assert AuditRecord.objects.filter(action="login_failed", summary="staff: wrong activation code").count() == 5


def test_an_expired_activation_code_is_refused(security_admin_client, newcomer):
    with time_machine.travel(START, tick=False) as traveller:
        code = issued_code(security_admin_client, newcomer)
        traveller.shift(timedelta(hours=72, seconds=1))
        client = Client()
        password_step(client)

        response = activation_step(client, code)

    assert response.status_code == 400
    assert "激活码不正确、已过期或已使用" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()


def test_an_activation_code_still_works_just_before_72_hours(security_admin_client, newcomer):
    with time_machine.travel(START, tick=False) as traveller:
        code = issued_code(security_admin_client, newcomer)
        traveller.shift(timedelta(hours=71, minutes=59))
        client = Client()
        password_step(client)

        assert activation_step(client, code)["Location"] == VERIFY


def test_a_used_activation_code_is_refused_the_second_time(security_admin_client, newcomer):
    with time_machine.travel(START, tick=False) as traveller:
        code = issued_code(security_admin_client, newcomer)
        first = Client()
        password_step(first)
        activation_step(first, code)
        assert first.post(VERIFY, {"code": totp_code_now(device=new_device(newcomer))}).status_code == 302
        # The phone is lost: the security administrator removes the device
        TOTPDevice.objects.filter(user=newcomer).delete()
        traveller.shift(timedelta(minutes=1))

        again = Client()
        password_step(again)
        response = activation_step(again, code)

    assert response.status_code == 400
    assert "激活码不正确、已过期或已使用" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()


def test_one_activation_code_binds_one_device_even_when_two_sessions_use_it(security_admin_client, newcomer):
    with time_machine.travel(START, tick=False) as traveller:
        code = issued_code(security_admin_client, newcomer)
        first, second = Client(), Client()
        password_step(first)
        activation_step(first, code)
        first_device = new_device(newcomer)
        password_step(second)
        activation_step(second, code)  # replaces the first, still unconfirmed, device
        second_device = new_device(newcomer)

        assert second.post(VERIFY, {"code": totp_code_now(device=second_device)})["Location"] == "/workbench/"
        traveller.shift(timedelta(seconds=31))
        late = first.get(VERIFY)

    assert not TOTPDevice.objects.filter(pk=first_device.pk).exists()
    assert list(TOTPDevice.objects.filter(user=newcomer)) == [second_device]
    # The other session is now where any later login is: asked for a code from the bound device
    assert 'name="code"' in late.content.decode()
    assert "otpauth://" not in late.content.decode()
    assert "_auth_user_id" not in first.session


def test_a_wrong_code_at_confirmation_is_refused_and_the_device_stays_unconfirmed(security_admin_client, newcomer):
    with time_machine.travel(START, tick=False):
        code = issued_code(security_admin_client, newcomer)
        client = Client()
        password_step(client)
        activation_step(client, code)
        device = new_device(newcomer)

        response = client.post(VERIFY, {"code": wrong(totp_code_now(device=device))})

    assert response.status_code == 400
    assert "动态口令不正确" in response.context["form"].errors["code"][0]
    device.refresh_from_db()
    assert not device.confirmed
    assert TotpActivationCode.objects.get(user=newcomer).used_at is None
    assert LoginFailure.objects.filter(user=newcomer).count() == 1
    assert client.get("/workbench/").status_code == 302


def test_an_activation_code_that_runs_out_before_confirmation_ends_the_enrolment(security_admin_client, newcomer):
    with time_machine.travel(START, tick=False) as traveller:
        code = issued_code(security_admin_client, newcomer)
        traveller.shift(timedelta(hours=71, minutes=58))
        client = Client()
        password_step(client)
        activation_step(client, code)
        device = new_device(newcomer)
        traveller.shift(timedelta(minutes=2, seconds=1))

        response = client.post(VERIFY, {"code": totp_code_now(device=device)})

    assert response.status_code == 400
    assert "激活码已过期或已被使用" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()
    assert "_auth_user_id" not in client.session


def test_the_enrolment_step_runs_out_five_minutes_after_the_activation_code(security_admin_client, newcomer):
    with time_machine.travel(START, tick=False) as traveller:
        code = issued_code(security_admin_client, newcomer)
        client = Client()
        password_step(client)
        traveller.shift(timedelta(minutes=4))
        activation_step(client, code)
        traveller.shift(timedelta(minutes=4))  # 8 minutes after the password, 4 after the code
        assert client.get(VERIFY).status_code == 200
        traveller.shift(timedelta(minutes=1, seconds=1))

        response = client.get(VERIFY)

    assert response["Location"] == LOGIN
