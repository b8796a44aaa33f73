"""The one login page: citizens by password (identity number or phone) or phone + code, lockout,
address throttle; staff go on to their second factor, and nobody without the password learns who is staff."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from govhall.accounts.models import LoginFailure, Role, StaffAssignment, UserSession
from govhall.accounts.totp import staff_totp_device_create
from govhall.audit.models import AuditRecord
from tests.accounts.helpers import latest_code
from tests.factories import HANGZHOU, identity_number_for, make_department, make_person, make_staff

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
START = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NUMBER = identity_number_for("330106", "19700101", 501)
PHONE = "13600005011"


@pytest.fixture
def person():
    return make_person(identity_number=NUMBER, phone=PHONE)


def login(client, login_name: str, password: str, address: str = "10.1.1.1"):
    return client.post(reverse("accounts:login"), {"login_name": login_name, "password": password}, REMOTE_ADDR=address)


def logged_in_user_id(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def test_login_page_offers_password_and_code_login(client):
    page = client.get(reverse("accounts:login")).content.decode()

    assert "密码登录" in page
    assert "短信验证码登录" in page


@pytest.mark.parametrize("login_name", [NUMBER, NUMBER.lower(), PHONE])
def test_person_logs_in_with_identity_number_or_phone_and_password(client, person, login_name):
    response = login(client, login_name, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/"
    assert logged_in_user_id(client) == person.user.pk
    assert UserSession.objects.filter(user=person.user, address="10.1.1.1").count() == 1
    record = AuditRecord.objects.get(action="login")
    assert (record.address, record.outcome) == ("10.1.1.1", "success")


def test_person_goes_on_to_next_after_login_but_never_off_the_site(client, person):
    kept = client.post(reverse("accounts:login"), {"login_name": PHONE, "password": PASSWORD, "next": "/cases/"})
    client.post(reverse("accounts:logout"))
    dropped = client.post(
        reverse("accounts:login"), {"login_name": PHONE, "password": PASSWORD, "next": "https://elsewhere.invalid/"}
    )

    assert kept["Location"] == "/cases/"
    assert dropped["Location"] == "/accounts/"


def test_login_page_keeps_next_for_the_form(client):
    page = client.get(reverse("accounts:login"), {"next": "/o/authorize/?client_id=abc"}).content.decode()

    assert '<input type="hidden" name="next" value="/o/authorize/?client_id=abc">' in page


def test_login_gives_a_new_session_id(client, person):
    client.get(reverse("accounts:login"))
    client.session.save()
    before = client.session.session_key

    login(client, PHONE, PASSWORD)

    assert client.session.session_key != before


def test_wrong_password_and_unknown_account_get_the_same_message(client, person):
    wrong = login(client, PHONE, "not-the-password").content.decode()
    unknown = login(client, "13600009999", "not-the-password").content.decode()

    assert "身份证号/手机号/用户名或密码不正确" in wrong
    assert "身份证号/手机号/用户名或密码不正确" in unknown
    assert logged_in_user_id(client) is None
    assert AuditRecord.objects.filter(action="login_failed", outcome="failure").count() == 2


def test_five_bad_passwords_within_sixty_seconds_lock_for_ten_minutes(client, person):
    with time_machine.travel(START, tick=False) as traveller:
        for _attempt in range(5):
            login(client, PHONE, "not-the-password")
            traveller.shift(timedelta(seconds=10))

        # Locked: even the right password is refused, with the time the lock ends
        refused = login(client, PHONE, PASSWORD).content.decode()
        assert "锁定" in refused
        assert "09:10" in refused
        assert logged_in_user_id(client) is None

        # The wrong password is answered the same way while locked (no oracle)
        assert login(client, PHONE, "not-the-password").content.decode().count("锁定") == refused.count("锁定")

        traveller.move_to(START + timedelta(seconds=40) + timedelta(minutes=10, seconds=1))
        assert login(client, PHONE, PASSWORD).status_code == 302
        assert logged_in_user_id(client) == person.user.pk


def test_five_bad_passwords_spread_over_more_than_sixty_seconds_do_not_lock(client, person):
    with time_machine.travel(START, tick=False) as traveller:
        for _attempt in range(5):
            login(client, PHONE, "not-the-password")
            traveller.shift(timedelta(seconds=16))

        assert login(client, PHONE, PASSWORD).status_code == 302
    person.user.refresh_from_db()
    assert person.user.locked_until is None


def test_an_address_with_twenty_failures_in_ten_minutes_is_refused_then_released(client, person):
    with time_machine.travel(START, tick=False) as traveller:
        for attempt in range(20):
            login(client, f"1360000{attempt:04d}", "not-the-password", address="10.7.7.7")

        refused = login(client, PHONE, PASSWORD, address="10.7.7.7").content.decode()
        assert "网络登录失败次数过多" in refused
        assert logged_in_user_id(client) is None

        # Another address is not affected
        assert login(client, PHONE, PASSWORD, address="10.7.7.8").status_code == 302
        client.post(reverse("accounts:logout"))

        traveller.shift(timedelta(minutes=10, seconds=1))
        assert login(client, PHONE, PASSWORD, address="10.7.7.7").status_code == 302


def test_failures_are_recorded_with_the_address(client, person):
    login(client, PHONE, "not-the-password", address="10.2.2.2")

    failure = LoginFailure.objects.get()
    assert (failure.user_id, failure.address) == (person.user.pk, "10.2.2.2")


def make_staff_person(sequence: int, phone: str):
    """A person who also holds a staff role (a reviewer registered as a citizen too)."""
    staff_person = make_person(identity_number=identity_number_for("330106", "19700101", sequence), phone=phone)
    StaffAssignment.objects.create(
        user=staff_person.user, department=make_department(region_code=HANGZHOU), role=Role.REVIEWER
    )
    return staff_person


def test_staff_with_a_right_password_go_on_to_the_second_factor_not_logged_in(client):
    make_staff_person(777, "13600007770")

    response = login(client, "13600007770", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login_verify")
    assert logged_in_user_id(client) is None
    assert not UserSession.objects.exists()


def refusal(response) -> tuple[int, tuple[str, ...]]:
    """What someone without the password learns: the status and the messages shown."""
    return response.status_code, tuple(response.context["password_form"].non_field_errors())


def test_a_wrong_password_answers_the_same_for_staff_and_citizens(client, person):
    # Given a staff member with a TOTP device, one without, and a citizen
    make_staff_person(778, "13600007780")
    without_device = make_staff_person(779, "13600007790").user
    with_device = make_staff(role=Role.REVIEWER, region_code=HANGZHOU, username="hz-reviewer-778")
    staff_totp_device_create(user=with_device)

    # When each is tried with a wrong password (by phone and by username)
    answers = {
        "citizen": refusal(login(client, PHONE, "not-the-password")),
        "staff by phone": refusal(login(client, "13600007780", "not-the-password")),
        "staff without a device": refusal(login(client, "13600007790", "not-the-password")),
        "staff by username": refusal(login(client, "hz-reviewer-778", "not-the-password")),
        "nobody": refusal(login(client, "no-such-user", "not-the-password")),
    }

    # Then every answer is the same, and nothing was started
    assert set(answers.values()) == {(400, ("身份证号/手机号/用户名或密码不正确。",))}
    assert "govhall_pending_staff_user" not in client.session
    assert LoginFailure.objects.filter(user=without_device).count() == 1


def send_login_code(client, phone: str = PHONE):
    return client.post(reverse("accounts:login_code"), {"phone": phone, "action": "send"})


def test_person_logs_in_with_phone_and_code_from_the_outbox(client, person):
    sent = send_login_code(client)
    assert "136****5011" in sent.content.decode()

    response = client.post(reverse("accounts:login_code"), {"phone": PHONE, "code": latest_code(), "action": "login"})

    assert response.status_code == 302
    assert logged_in_user_id(client) == person.user.pk
    assert AuditRecord.objects.get(action="login").data["method"] == "one_time_code"


def test_wrong_code_is_refused_on_the_code_field(client, person):
    send_login_code(client)
    code = latest_code()

    response = client.post(
        reverse("accounts:login_code"),
        {"phone": PHONE, "code": f"{(int(code) + 1) % 1_000_000:06d}", "action": "login"},
    )

    assert "验证码不正确" in response.context["code_form"].errors["code"][0]
    assert logged_in_user_id(client) is None


def test_code_login_for_an_unregistered_phone_answers_alike_but_sends_nothing(client):
    from govhall.notices.models import OutboxMessage

    response = send_login_code(client, phone="13600008888")

    assert response.status_code == 200
    assert "如该手机号已注册" in response.content.decode()
    assert OutboxMessage.objects.count() == 0


def test_staff_are_sent_no_sms_login_code_and_cannot_log_in_by_code(client):
    from govhall.notices.models import OutboxMessage

    staff_person = make_staff_person(780, "13600007800")

    sent = send_login_code(client, phone="13600007800")
    response = client.post(
        reverse("accounts:login_code"), {"phone": "13600007800", "code": "123456", "action": "login"}
    )

    assert "如该手机号已注册" in sent.content.decode()  # answered like any phone
    assert OutboxMessage.objects.count() == 0
    assert response.status_code == 400
    assert logged_in_user_id(client) is None
    assert not UserSession.objects.filter(user=staff_person.user).exists()


def test_person_logs_in_with_a_code_and_lands_on_their_account_page(client, person):
    send_login_code(client)

    response = client.post(reverse("accounts:login_code"), {"phone": PHONE, "code": latest_code(), "action": "login"})

    assert response["Location"] == "/accounts/"


def test_locked_account_cannot_log_in_with_a_code_either(client, person):
    with time_machine.travel(START, tick=False):
        for _attempt in range(5):
            login(client, PHONE, "not-the-password")
        send_login_code(client)

        response = client.post(
            reverse("accounts:login_code"), {"phone": PHONE, "code": latest_code(), "action": "login"}
        )

    assert "锁定" in response.content.decode()
    assert logged_in_user_id(client) is None


def test_audit_records_of_logins_carry_no_identity_number_or_phone(client, person):
    login(client, NUMBER, "not-the-password")
    login(client, PHONE, PASSWORD)

    rows = " ".join(str(row) for row in AuditRecord.objects.values_list())
    assert NUMBER not in rows
    assert PHONE not in rows
