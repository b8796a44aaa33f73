"""Sessions: staff idle expiry at 15 minutes, 12-hour absolute expiry, logout ends every session,
people see and end their own sessions."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from govhall.accounts.authentication import user_disable
from govhall.accounts.models import Role, UserSession
from govhall.accounts.totp import staff_totp_device_create, totp_code_now
from tests.factories import HANGZHOU, make_person, make_staff

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
START = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def citizen_login(client, person, address: str = "10.3.3.3", agent: str = "TestBrowser/1.0") -> None:
    response = client.post(
        reverse("accounts:login"),
        {"login_name": phone_of(person), "password": PASSWORD},
        REMOTE_ADDR=address,
        HTTP_USER_AGENT=agent,
    )
    assert response.status_code == 302


def phone_of(person) -> str:
    from govhall.accounts import privacy

    return privacy.decrypt(person.phone_encrypted, purpose="phone")


def is_logged_in(client) -> bool:
    return client.get(reverse("accounts:sessions")).status_code == 200


def test_citizen_session_survives_fifteen_idle_minutes(client):
    person = make_person()
    with time_machine.travel(START, tick=False) as traveller:
        citizen_login(client, person)
        traveller.shift(timedelta(minutes=16))

        assert is_logged_in(client)


def test_staff_session_ends_after_fifteen_idle_minutes_but_not_before():
    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)
    device, _secret, _uri = staff_totp_device_create(user=staff)
    client = Client()
    with time_machine.travel(START, tick=False) as traveller:
        assert (
            client.post(reverse("accounts:login"), {"login_name": staff.username, "password": PASSWORD}).status_code
            == 302
        )
        assert client.post(reverse("accounts:login_verify"), {"code": totp_code_now(device=device)}).status_code == 302
        traveller.shift(timedelta(minutes=14, seconds=59))
        assert client.get(reverse("workbench:index")).status_code == 200

        traveller.shift(timedelta(minutes=14, seconds=59))
        assert client.get(reverse("workbench:index")).status_code == 200

        traveller.shift(timedelta(minutes=15, seconds=1))
        assert client.get(reverse("workbench:index")).status_code == 302
    assert UserSession.objects.filter(user=staff).count() == 0


def test_every_session_ends_twelve_hours_after_login_however_active():
    person = make_person()
    client = Client()
    with time_machine.travel(START, tick=False) as traveller:
        citizen_login(client, person)
        for _hour in range(11):
            traveller.shift(timedelta(hours=1))
            assert is_logged_in(client)
        traveller.shift(timedelta(minutes=59))
        assert is_logged_in(client)

        traveller.shift(timedelta(minutes=1, seconds=1))
        assert not is_logged_in(client)


def test_logout_ends_every_session_of_the_user():
    person = make_person()
    first, second = Client(), Client()
    citizen_login(first, person)
    citizen_login(second, person)

    first.post(reverse("accounts:logout"))

    assert not is_logged_in(first)
    assert not is_logged_in(second)
    assert UserSession.objects.filter(user=person.user).count() == 0


def test_logout_needs_post(client):
    person = make_person()
    citizen_login(client, person)

    assert client.get(reverse("accounts:logout")).status_code == 405
    assert is_logged_in(client)


def test_sessions_page_lists_own_sessions_and_marks_the_current_one():
    person = make_person()
    other = make_person()
    mine, elsewhere, stranger = Client(), Client(), Client()
    citizen_login(mine, person, address="10.4.4.4", agent="FirstBrowser/1.0")
    citizen_login(elsewhere, person, address="10.5.5.5", agent="SecondBrowser/2.0")
    citizen_login(stranger, other, address="10.6.6.6", agent="StrangerBrowser/3.0")

    page = mine.get(reverse("accounts:sessions")).content.decode()

    assert "10.4.4.4" in page and "FirstBrowser/1.0" in page
    assert "10.5.5.5" in page and "SecondBrowser/2.0" in page
    assert "10.6.6.6" not in page
    assert page.count('aria-current="true"') == 1
    assert "本设备" in page


def test_person_ends_another_of_their_sessions_from_the_sessions_page():
    person = make_person()
    mine, elsewhere = Client(), Client()
    citizen_login(mine, person, agent="FirstBrowser/1.0")
    citizen_login(elsewhere, person, agent="SecondBrowser/2.0")
    other_session = UserSession.objects.get(user=person.user, user_agent="SecondBrowser/2.0")

    response = mine.post(reverse("accounts:session_end", args=[other_session.pk]))

    assert response.status_code == 302
    assert not is_logged_in(elsewhere)
    assert is_logged_in(mine)
    assert not Session.objects.filter(session_key=other_session.session_key).exists()


def test_a_session_of_someone_else_is_not_found():
    person, other = make_person(), make_person()
    mine, theirs = Client(), Client()
    citizen_login(mine, person)
    citizen_login(theirs, other)
    their_session = UserSession.objects.get(user=other.user)

    assert mine.post(reverse("accounts:session_end", args=[their_session.pk])).status_code == 404
    assert is_logged_in(theirs)


def test_sessions_page_sends_anonymous_visitors_to_the_citizen_login(client):
    response = client.get(reverse("accounts:sessions"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_password_change_ends_every_session():
    person = make_person()
    first, second = Client(), Client()
    citizen_login(first, person)
    citizen_login(second, person)

    response = first.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "a-new-longer-password", "new_password2": "a-new-longer-password"},
    )

    assert response.status_code == 302
    assert not is_logged_in(first)
    assert not is_logged_in(second)
    person.user.refresh_from_db()
    assert person.user.check_password("a-new-longer-password")


def test_disabling_an_account_ends_its_sessions():
    person = make_person()
    client = Client()
    citizen_login(client, person)

    user_disable(user=person.user, actor=None)

    assert not is_logged_in(client)
    assert not Session.objects.exists()


def test_last_seen_is_updated_at_most_once_a_minute():
    person = make_person()
    client = Client()
    with time_machine.travel(START, tick=False) as traveller:
        citizen_login(client, person)
        traveller.shift(timedelta(seconds=30))
        is_logged_in(client)
        assert UserSession.objects.get().last_seen_at == START

        traveller.shift(timedelta(seconds=31))
        is_logged_in(client)
        assert UserSession.objects.get().last_seen_at == START + timedelta(seconds=61)


def session_writes(client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return sum('UPDATE "django_session"' in query["sql"] for query in queries.captured_queries)


def staff_login(client, staff, device) -> None:
    response = client.post(reverse("accounts:login"), {"login_name": staff.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.post(reverse("accounts:login_verify"), {"code": totp_code_now(device=device)}).status_code == 302


def test_every_session_is_written_back_once_a_minute_not_on_every_page():
    """The last activity is written into the session at most once a minute, with the last-seen
    time: a staff member's pages no more often than a citizen's."""
    person = make_person()
    citizen = Client()
    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)
    device, _secret, _uri = staff_totp_device_create(user=staff)
    officer = Client()
    with time_machine.travel(START, tick=False) as traveller:
        citizen_login(citizen, person)
        staff_login(officer, staff, device)
        traveller.shift(timedelta(seconds=20))
        assert session_writes(citizen, reverse("accounts:sessions")) == 0
        assert session_writes(officer, reverse("workbench:index")) == 0
        traveller.shift(timedelta(seconds=20))
        assert session_writes(citizen, reverse("accounts:sessions")) == 0
        assert session_writes(officer, reverse("workbench:index")) == 0
        traveller.shift(timedelta(seconds=21))
        assert session_writes(citizen, reverse("accounts:sessions")) == 1
        assert session_writes(officer, reverse("workbench:index")) == 1
        assert UserSession.objects.get(user=person.user).last_seen_at == START + timedelta(seconds=61)
        assert UserSession.objects.get(user=staff).last_seen_at == START + timedelta(seconds=61)


def test_staff_idle_time_counts_from_the_last_request_not_the_last_written_one():
    """A request the session was not written back for still starts the 15 idle minutes again:
    the shared cache holds its time."""
    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)
    device, _secret, _uri = staff_totp_device_create(user=staff)
    client = Client()
    with time_machine.travel(START, tick=False) as traveller:
        staff_login(client, staff, device)
        traveller.shift(timedelta(seconds=50))  # within the minute: the session keeps the login time
        assert session_writes(client, reverse("workbench:index")) == 0

        traveller.shift(timedelta(minutes=14, seconds=59))  # 15:49 after the session's time
        assert client.get(reverse("workbench:index")).status_code == 200

        traveller.shift(timedelta(minutes=15, seconds=1))
        assert client.get(reverse("workbench:index")).status_code == 302
    assert UserSession.objects.filter(user=staff).count() == 0


def test_without_the_cache_a_staff_session_ends_up_to_a_minute_early():
    from django.core.cache import cache

    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)
    device, _secret, _uri = staff_totp_device_create(user=staff)
    client = Client()
    with time_machine.travel(START, tick=False) as traveller:
        staff_login(client, staff, device)
        traveller.shift(timedelta(seconds=50))
        assert client.get(reverse("workbench:index")).status_code == 200
        cache.clear()  # Redis restarted, say: the request at 0:50 is known to no one

        traveller.shift(timedelta(minutes=14, seconds=20))  # 15:10 after the login, 14:20 idle
        assert client.get(reverse("workbench:index")).status_code == 302


def test_an_unreachable_cache_ends_a_staff_session_early_but_never_fails_a_page(monkeypatch):
    from redis import ConnectionError as RedisConnectionError

    class Unreachable:
        """Django's Redis cache while Redis is down: every call raises redis-py's error."""

        def get(self, *args, **kwargs):
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        set = get

    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)
    device, _secret, _uri = staff_totp_device_create(user=staff)
    client = Client()
    with time_machine.travel(START, tick=False) as traveller:
        staff_login(client, staff, device)
        monkeypatch.setattr("govhall.accounts.middleware.cache", Unreachable())
        traveller.shift(timedelta(seconds=50))
        assert client.get(reverse("workbench:index")).status_code == 200

        traveller.shift(timedelta(minutes=14, seconds=20))  # 14:20 idle, 15:10 since the session's time
        assert client.get(reverse("workbench:index")).status_code == 302
