"""One-time codes: 10-minute validity, single use, 10 tries, resend and daily limits (frozen time)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from govhall.accounts.models import OneTimeCode, OneTimeCodePurpose
from govhall.accounts.one_time_codes import (
    MAX_SENDS_PER_ADDRESS_PER_HOUR,
    CodeCheck,
    CodeSendRefused,
    one_time_code_check,
    one_time_code_send,
)
from govhall.audit.models import AuditRecord
from tests.accounts.helpers import latest_code

pytestmark = pytest.mark.django_db

PHONE = "13912340001"
LOGIN = OneTimeCodePurpose.LOGIN
START = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def send(phone: str = PHONE, address: str | None = "10.0.0.1") -> str:
    one_time_code_send(phone=phone, purpose=LOGIN, address=address)
    return latest_code()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_is_six_digits_stored_only_as_a_hash():
    code = send()

    stored = OneTimeCode.objects.get()
    assert len(code) == 6 and code.isdigit()
    assert code not in stored.code_hash
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


def test_code_is_accepted_before_ten_minutes_and_dead_after():
    with time_machine.travel(START, tick=False) as traveller:
        code = send()
        traveller.shift(timedelta(minutes=9, seconds=59))
        assert one_time_code_check(phone=PHONE, purpose=LOGIN, code=code) == CodeCheck.ACCEPTED

        traveller.shift(timedelta(seconds=60))
        code = send()
        traveller.shift(timedelta(minutes=10, seconds=1))
        assert one_time_code_check(phone=PHONE, purpose=LOGIN, code=code) == CodeCheck.NO_LIVE_CODE


def test_code_is_single_use():
    code = send()

    assert one_time_code_check(phone=PHONE, purpose=LOGIN, code=code) == CodeCheck.ACCEPTED
    assert one_time_code_check(phone=PHONE, purpose=LOGIN, code=code) == CodeCheck.NO_LIVE_CODE


def test_code_dies_after_ten_wrong_tries_even_if_the_eleventh_is_right():
    code = send()

    results = [one_time_code_check(phone=PHONE, purpose=LOGIN, code=wrong(code)) for _try in range(10)]

    assert results == [CodeCheck.WRONG] * 10
    assert one_time_code_check(phone=PHONE, purpose=LOGIN, code=code) == CodeCheck.NO_LIVE_CODE


def test_right_code_on_the_tenth_try_is_accepted():
    code = send()
    for _try in range(9):
        one_time_code_check(phone=PHONE, purpose=LOGIN, code=wrong(code))

    assert one_time_code_check(phone=PHONE, purpose=LOGIN, code=code) == CodeCheck.ACCEPTED


def test_code_for_another_purpose_is_not_accepted():
    code = send()

    assert one_time_code_check(phone=PHONE, purpose=OneTimeCodePurpose.REGISTRATION, code=code) == (
        CodeCheck.NO_LIVE_CODE
    )


def test_resend_is_refused_within_sixty_seconds_and_a_new_code_kills_the_old_one():
    with time_machine.travel(START, tick=False) as traveller:
        first = send()
        traveller.shift(timedelta(seconds=59))
        with pytest.raises(CodeSendRefused) as refused:
            send()
        assert "秒后" in refused.value.message

        traveller.shift(timedelta(seconds=2))
        second = send()

        earlier, latest = OneTimeCode.objects.order_by("created_at")
        assert earlier.expires_at <= latest.created_at  # the first code is dead
        assert one_time_code_check(phone=PHONE, purpose=LOGIN, code=second) == CodeCheck.ACCEPTED
        assert first.isdigit()


def test_at_most_ten_sends_per_phone_per_day_then_again_the_next_day():
    with time_machine.travel(START, tick=False) as traveller:
        for _send in range(10):
            send()
            traveller.shift(timedelta(seconds=61))
        with pytest.raises(CodeSendRefused) as refused:
            send()
        assert "今天" in refused.value.message

        traveller.move_to(START + timedelta(days=1))
        send()


def test_sends_from_one_address_are_capped_per_hour():
    with time_machine.travel(START, tick=False):
        for number in range(MAX_SENDS_PER_ADDRESS_PER_HOUR):
            send(phone=f"1391234{number:04d}", address="10.9.9.9")
        with pytest.raises(CodeSendRefused):
            send(phone="13800000000", address="10.9.9.9")
        send(phone="13800000000", address="10.9.9.10")


def test_each_send_is_audited_with_the_phone_masked():
    send()

    record = AuditRecord.objects.get(action="one_time_code_send")
    assert "139****0001" in record.summary
    assert PHONE not in f"{record.summary} {record.data}"
