"""One-time codes sent by SMS, for registration and login.

The figures trusted government logins use: 6 digits from ``secrets``, valid 10 minutes, single
use, at most 10 tries per code (then the code is dead), a new code kills earlier unused ones for
the same phone and purpose, no resend within 60 seconds, at most 10 sends per phone per day and
a cap per requesting address.

Only a hash of the code is stored: HMAC-SHA256 keyed with ``settings.SECRET_KEY`` over purpose,
phone index and code. A slow password hash (PBKDF2, argon2) would not help here: a 6-digit code has
only 10^6 values, so anyone holding the hash and whatever salt sits beside it in the database
tries them all in seconds however slow the hash. What protects a stored code is a key that is not
in the database, which HMAC gives at the cost of one fast hash; online guessing is stopped by the
10-try limit instead.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts import privacy
from govhall.accounts.models import OneTimeCode, OneTimeCodePurpose
from govhall.audit.services import audit_record_add
from govhall.notices.services import message_send

CODE_DIGITS = 6
CODE_VALIDITY = timedelta(minutes=10)
MAX_TRIES_PER_CODE = 10
RESEND_INTERVAL = timedelta(seconds=60)
MAX_SENDS_PER_PHONE_PER_DAY = 10
MAX_SENDS_PER_ADDRESS_PER_HOUR = 30


class CodeSendRefused(Exception):
    """A code was not sent; ``message`` tells the person why and when to try again."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CodeCheck(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    NO_LIVE_CODE = "no_live_code"  # none sent, expired, used, superseded or out of tries


@dataclass(frozen=True)
class CodeSent:
    phone_masked: str
    expires_at: datetime


def phone_index_of(phone: str) -> str:
    return privacy.blind_index(phone.strip(), purpose="phone")


def _code_hash(*, phone_index: str, purpose: str, code: str) -> str:
    message = f"{purpose}:{phone_index}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _code_body(*, code: str, purpose: str) -> str:
    purpose_label = OneTimeCodePurpose(purpose).label
    minutes = int(CODE_VALIDITY.total_seconds() // 60)
    return _("【一网通办】您的%(purpose)s验证码是 %(code)s，%(minutes)s 分钟内有效。请勿告诉他人。") % {
        "purpose": purpose_label,
        "code": code,
        "minutes": minutes,
    }


def _refuse_if_over_limits(*, phone_index: str, purpose: str, address: str | None) -> None:
    now = timezone.now()
    latest = (
        OneTimeCode.objects.select_for_update()
        .filter(phone_index=phone_index, purpose=purpose)
        .order_by("-created_at")
        .first()
    )
    if latest is not None and now - latest.created_at < RESEND_INTERVAL:
        wait = int((RESEND_INTERVAL - (now - latest.created_at)).total_seconds()) + 1
        raise CodeSendRefused(_("验证码已发送，请 %(seconds)s 秒后再重新获取。") % {"seconds": wait})
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if OneTimeCode.objects.filter(phone_index=phone_index, created_at__gte=day_start).count() >= (
        MAX_SENDS_PER_PHONE_PER_DAY
    ):
        raise CodeSendRefused(_("该手机号今天获取验证码的次数已达上限，请明天再试。"))
    if address and OneTimeCode.objects.filter(address=address, created_at__gte=now - timedelta(hours=1)).count() >= (
        MAX_SENDS_PER_ADDRESS_PER_HOUR
    ):
        raise CodeSendRefused(_("您所在网络获取验证码过于频繁，请一小时后再试。"))


def one_time_code_send(*, phone: str, purpose: str, address: str | None, deliver: bool = True) -> CodeSent:
    """Create a code for ``phone`` and ``purpose``, kill earlier unused ones and send it by SMS.

    ``deliver=False`` goes through every limit and record but sends nothing: login by code uses it
    for phones with no account, so the answer and the limits do not reveal which phones are
    registered. Raises ``CodeSendRefused`` when a limit is reached.
    """
    phone = phone.strip()
    index = phone_index_of(phone)
    now = timezone.now()
    code = "".join(secrets.choice("0123456789") for _digit in range(CODE_DIGITS))
    with transaction.atomic():
        _refuse_if_over_limits(phone_index=index, purpose=purpose, address=address)
        OneTimeCode.objects.filter(phone_index=index, purpose=purpose, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        record = OneTimeCode.objects.create(
            phone_index=index,
            purpose=purpose,
            code_hash=_code_hash(phone_index=index, purpose=purpose, code=code),
            created_at=now,
            expires_at=now + CODE_VALIDITY,
            address=address,
        )
        if deliver:
            message_send(channel="sms", to=phone, body=_code_body(code=code, purpose=purpose), purpose=purpose)
        audit_record_add(
            actor=None,
            action="one_time_code_send",
            object_type="one_time_code",
            object_id=record.pk,
            summary=f"{purpose} {privacy.mask_phone(phone)}",
            data={"delivered": deliver},
            address=address,
        )
    return CodeSent(phone_masked=privacy.mask_phone(phone), expires_at=record.expires_at)


def one_time_code_check(*, phone: str, purpose: str, code: str) -> CodeCheck:
    """Check ``code`` against the live code for ``phone`` and ``purpose``, using it up when right.

    Every check counts as a try; the tenth wrong try leaves the code dead. The row is locked so
    two simultaneous checks cannot both use the same code or both spend the last try.
    """
    index = phone_index_of(phone)
    now = timezone.now()
    with transaction.atomic():
        live = (
            OneTimeCode.objects.select_for_update()
            .filter(
                phone_index=index,
                purpose=purpose,
                used_at__isnull=True,
                expires_at__gt=now,
                attempts__lt=MAX_TRIES_PER_CODE,
            )
            .order_by("-created_at")
            .first()
        )
        if live is None:
            return CodeCheck.NO_LIVE_CODE
        expected = _code_hash(phone_index=index, purpose=purpose, code=code.strip())
        if hmac.compare_digest(expected, live.code_hash):
            OneTimeCode.objects.filter(pk=live.pk).update(attempts=F("attempts") + 1, used_at=now)
            return CodeCheck.ACCEPTED
        OneTimeCode.objects.filter(pk=live.pk).update(attempts=F("attempts") + 1)
        return CodeCheck.WRONG


def code_check_message(check: CodeCheck) -> str:
    """What to tell the person about a refused code (for the code field)."""
    if check == CodeCheck.WRONG:
        return _("验证码不正确，请核对短信中的 6 位数字。")
    return _("验证码已失效或不存在（有效期 10 分钟，只能使用一次，最多尝试 10 次），请重新获取。")
