"""Staff two-factor login on the one login page: password, then a TOTP code, through HTTP."""

import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from govhall.accounts.models import Role
from govhall.accounts.totp import (
    staff_totp_device_create,
    staff_totp_device_ensure_demo,
    staff_totp_secret_and_code,
    totp_code_now,
)
from govhall.audit.models import AuditRecord
from tests.factories import HANGZHOU, PROVINCE, force_login_verified, make_staff

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
START = datetime(2025, 3, 4, 2, 0, 0, tzinfo=UTC)
LOGIN = "/accounts/login/"
CODE = "/accounts/login/verify/"


@pytest.fixture
def staff_with_device():
    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)
    device, _secret, _uri = staff_totp_device_create(user=staff)
    return staff, device


def password_step(client: Client, username: str, password: str = PASSWORD):
    return client.post(LOGIN, {"login_name": username, "password": password})


def test_right_password_then_right_code_logs_in_and_is_audited(client, staff_with_device):
    staff, device = staff_with_device
    with time_machine.travel(START, tick=False):
        response = password_step(client, staff.username)
        assert response.status_code == 302
        assert response["Location"] == CODE

        response = client.post(CODE, {"code": totp_code_now(device=device)})

        assert response.status_code == 302
        assert response["Location"] == "/workbench/"
        assert client.get("/workbench/").status_code == 200
    login = AuditRecord.objects.filter(action="login", actor=staff).get()
    assert login.summary == "staff login by password + TOTP"
    assert login.address == "127.0.0.1"


def test_the_code_step_keeps_where_the_staff_member_was_going(client, staff_with_device):
    staff, device = staff_with_device
    with time_machine.travel(START, tick=False):
        response = client.post(
            LOGIN, {"login_name": staff.username, "password": PASSWORD, "next": "/workbench/changes/"}
        )
        assert response["Location"] == f"{CODE}?next=%2Fworkbench%2Fchanges%2F"
        page = client.get(response["Location"]).content.decode()
        assert '<input type="hidden" name="next" value="/workbench/changes/">' in page
        response = client.post(CODE, {"code": totp_code_now(device=device), "next": "/workbench/changes/"})

    assert response["Location"] == "/workbench/changes/"


def test_wrong_code_is_refused_with_a_message_on_the_code_field(client, staff_with_device):
    staff, device = staff_with_device
    with time_machine.travel(START, tick=False):
        password_step(client, staff.username)
        right = totp_code_now(device=device)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"

        response = client.post(CODE, {"code": wrong})

        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(r'id="id_code_error"[^>]*>.*动态口令不正确', html, re.S)
        assert client.get("/workbench/").status_code == 302
    assert AuditRecord.objects.filter(action="login_failed", actor=staff, outcome="failure").count() == 1


def test_a_right_code_straight_after_a_wrong_one_waits_for_the_throttle(client, staff_with_device):
    staff, device = staff_with_device
    with time_machine.travel(START, tick=False) as traveller:
        password_step(client, staff.username)
        right = totp_code_now(device=device)
        client.post(CODE, {"code": f"{(int(right) + 1) % 1_000_000:06d}"})

        refused = client.post(CODE, {"code": right})
        assert refused.status_code == 400
        assert "错误次数过多" in refused.content.decode()

        traveller.shift(timedelta(seconds=2))
        assert client.post(CODE, {"code": right}).status_code == 302


def test_a_code_already_used_is_refused_within_its_window(staff_with_device):
    staff, device = staff_with_device
    with time_machine.travel(START, tick=False):
        code = totp_code_now(device=device)
        first = Client()
        password_step(first, staff.username)
        assert first.post(CODE, {"code": code}).status_code == 302

        second = Client()
        password_step(second, staff.username)
        response = second.post(CODE, {"code": code})

        assert response.status_code == 400
        assert second.get("/workbench/").status_code == 302


def test_staff_without_a_device_is_asked_for_an_activation_code_and_is_not_logged_in(client):
    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)

    response = password_step(client, staff.username)

    assert response["Location"] == CODE
    page = client.get(CODE).content.decode()
    assert 'name="activation_code"' in page
    assert 'name="code"' not in page
    assert "_auth_user_id" not in client.session
    assert client.get("/workbench/").status_code == 302


def test_password_step_alone_grants_nothing(client, staff_with_device):
    staff, _device = staff_with_device
    password_step(client, staff.username)

    assert client.get("/workbench/").status_code == 302
    assert client.get("/accounts/").status_code == 302
    assert client.get("/admin/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_password_only_session_opens_no_workbench_or_admin_page(client):
    administrator = make_staff(role=Role.SYSTEM_ADMINISTRATOR, region_code=PROVINCE)
    client.force_login(administrator)  # a session no second factor went into

    for url in ("/workbench/", "/workbench/implementations/", "/admin/", "/admin/org/department/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{LOGIN}?next="), url


def test_the_same_account_opens_the_admin_once_verified(client):
    administrator = make_staff(role=Role.SYSTEM_ADMINISTRATOR, region_code=PROVINCE)
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    force_login_verified(client, administrator)

    assert client.get("/admin/org/department/").status_code == 200


def test_the_admin_login_page_sends_to_the_one_login_page_keeping_next(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/admin/"


def test_the_old_workbench_login_address_sends_to_the_one_login_page_keeping_next(client):
    response = client.get("/workbench/login/?next=/workbench/changes/")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/workbench/changes/"
    assert client.get("/workbench/login/")["Location"] == LOGIN


def test_staff_logging_in_from_the_admin_login_land_on_the_admin(client):
    administrator = make_staff(role=Role.SYSTEM_ADMINISTRATOR, region_code=PROVINCE)
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    device, _secret, _uri = staff_totp_device_create(user=administrator)
    with time_machine.travel(START, tick=False):
        login_page = client.get("/admin/org/department/", follow=True)
        landed = urlparse(login_page.redirect_chain[-1][0])
        assert (landed.path, parse_qs(landed.query)["next"]) == (LOGIN, ["/admin/org/department/"])
        assert 'name="login_name"' in login_page.content.decode()
        client.post(
            LOGIN, {"login_name": administrator.username, "password": PASSWORD, "next": "/admin/org/department/"}
        )

        response = client.post(CODE, {"code": totp_code_now(device=device), "next": "/admin/org/department/"})

        assert response["Location"] == "/admin/org/department/"
        assert client.get("/admin/org/department/").status_code == 200


def test_five_wrong_passwords_in_a_minute_lock_the_staff_account(client, staff_with_device):
    staff, _device = staff_with_device
    with time_machine.travel(START, tick=False) as traveller:
        for _attempt in range(4):
            response = password_step(client, staff.username, "wrong-password")
            assert "身份证号/手机号/用户名或密码不正确" in response.content.decode()
        response = password_step(client, staff.username, "wrong-password")
        assert "已被锁定" in response.content.decode()

        # Even the right password is refused while the lock lasts.
        assert password_step(client, staff.username).status_code == 400
        traveller.shift(timedelta(minutes=10, seconds=1))
        assert password_step(client, staff.username).status_code == 302


def test_the_pending_password_step_runs_out_after_five_minutes(client, staff_with_device):
    staff, device = staff_with_device
    with time_machine.travel(START, tick=False) as traveller:
        password_step(client, staff.username)
        traveller.shift(timedelta(minutes=5, seconds=1))

        response = client.post(CODE, {"code": totp_code_now(device=device)})

    assert response["Location"] == LOGIN


def test_a_new_device_replaces_the_old_one_and_its_uri_names_the_account():
    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU, username="hz-reviewer")
    first, _secret, _uri = staff_totp_device_create(user=staff)

    second, secret, uri = staff_totp_device_create(user=staff)

    assert list(TOTPDevice.objects.filter(user=staff)) == [second]
    assert first.pk != second.pk
    assert uri.startswith("otpauth://totp/govhall%3Ahz-reviewer?secret=")
    assert f"secret={secret}&" in uri
    assert secret not in str(AuditRecord.objects.filter(action="totp_device_create").values())


def test_demo_devices_are_stable_per_checkout_and_differ_per_person():
    one = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)
    other = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)

    device = staff_totp_device_ensure_demo(user=one)
    again = staff_totp_device_ensure_demo(user=one)
    staff_totp_device_ensure_demo(user=other)

    assert again.pk == device.pk
    secret, code = staff_totp_secret_and_code(user=one)
    assert secret != staff_totp_secret_and_code(user=other)[0]
    assert code == totp_code_now(device=device)


def test_the_command_prints_a_secret_that_logs_in(client):
    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU, username="cmd-reviewer")
    out = io.StringIO()

    call_command("staff_totp_device_create", username="cmd-reviewer", stdout=out)

    secret = re.search(r"secret \(base32\): (\w+)", out.getvalue()).group(1)
    assert secret == staff_totp_secret_and_code(user=staff)[0]
    password_step(client, staff.username)
    code = totp_code_now(device=TOTPDevice.objects.get(user=staff))
    assert client.post(reverse("accounts:login_verify"), {"code": code}).status_code == 302


def test_wrong_codes_count_toward_the_account_lock_with_wrong_passwords(client, staff_with_device):
    # Given three wrong passwords, then the right one, within a minute
    staff, device = staff_with_device
    with time_machine.travel(START, tick=False) as traveller:
        for _attempt in range(3):
            password_step(client, staff.username, "wrong-password")
        assert password_step(client, staff.username).status_code == 302
        right = totp_code_now(device=device)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        # When two wrong codes follow (django-otp's back-off waits between tries)
        client.post(CODE, {"code": wrong})
        traveller.shift(timedelta(seconds=3))
        response = client.post(CODE, {"code": wrong})
        # Then the fifth failure locks the account, and even the right code is refused
        assert "已被锁定" in response.content.decode()
        traveller.shift(timedelta(seconds=5))
        assert "已被锁定" in client.post(CODE, {"code": totp_code_now(device=device)}).content.decode()
        assert client.get("/workbench/").status_code == 302
    staff.refresh_from_db()
    assert staff.locked_until is not None
    assert AuditRecord.objects.filter(action="account_locked", actor=staff).count() == 1
