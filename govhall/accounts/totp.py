"""The login of everyone on one page, and the staff second factor: TOTP (RFC 6238, django-otp).

One login page (/accounts/login/) takes an identity number, a phone or a staff username with the
password. A citizen is logged in at once. A staff account (one holding any staff role) is not: the
issue demands two factors for staff, so the password step only records the account as *pending*
in the session (it grants nothing: ``request.user`` stays anonymous) and the second step follows
on /accounts/login/verify/:

- a staff member with a confirmed device types the code their authenticator app shows;
- one without a device types the activation code a security administrator issued them (72
  hours, single use, stored hashed), is shown a new secret as text, otpauth:// URI and QR code,
  and confirms it with a first code from the app. A password alone never binds a second factor.

Only then does ``django.contrib.auth.login`` run, and django-otp marks the session verified.
Workbench and admin pages demand that mark (``SecondFactorRequiredMiddleware``), so a session
made any other way opens neither.

Every step shares the citizen login's hardening (govhall/accounts/authentication.py): the address
throttle, and the account lock after 5 wrong secrets in 60 s, whether passwords, TOTP codes or
activation codes. A wrong TOTP code is also throttled by django-otp (each failure doubles the
wait), and a code is accepted once: the device keeps the time step of the last accepted code and
refuses it and every earlier one. Staff status is decided after the password, so it is revealed to
nobody without the password.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import segno
from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from govhall.accounts import authentication
from govhall.accounts.authentication import (
    LoginRefused,
    account_lock_refuse,
    client_address,
    login_failure_record,
    user_holds_staff_role,
)
from govhall.accounts.guards import staff_may_grant_roles_to
from govhall.accounts.models import LoginFailure, TotpActivationCode, User
from govhall.audit.services import audit_record_add

SESSION_PENDING_USER = "govhall_pending_staff_user"
SESSION_PENDING_SINCE = "govhall_pending_staff_since"
SESSION_PENDING_ACTIVATION = "govhall_pending_staff_activation"
SESSION_PENDING_DEVICE = "govhall_pending_staff_device"
# Time allowed between the password and the code; afterwards the password is asked again.
PENDING_LIMIT = timedelta(minutes=5)
DEVICE_NAME = "TOTP"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

ACTIVATION_CODE_VALIDITY = timedelta(hours=72)
# 16 characters from 32 (no 0/O, 1/I): 80 bits, so guessing is hopeless even before the lock;
# shown in groups of four.
ACTIVATION_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
ACTIVATION_CODE_LENGTH = 16


class PendingStep(StrEnum):
    TOTP = "totp"  # a confirmed device: the code the app shows
    ACTIVATION = "activation"  # no device: the activation code from the security administrator
    ENROLMENT = "enrolment"  # activation code accepted: scan the new secret, confirm with a code


@dataclass(frozen=True)
class PendingLogin:
    """A staff account whose password was right, waiting for its second step. ``device`` is the
    confirmed device (TOTP step), the new unconfirmed one (enrolment step), or None."""

    user: User
    device: TOTPDevice | None
    step: PendingStep = PendingStep.TOTP
    activation_code_id: int | None = None


@dataclass(frozen=True)
class PasswordAccepted:
    """The password step's answer: ``pending`` is None for a citizen (log in now) and the staff
    member's second step otherwise."""

    user: User
    pending: PendingLogin | None


@dataclass(frozen=True)
class ActivationCodeIssued:
    code: str  # in clear, shown once to the security administrator and kept nowhere
    expires_at: datetime


class ActivationCodeRefused(Exception):
    """An activation code was not issued; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------
# Devices


def _secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()


def _otpauth_uri(*, device: TOTPDevice, user: User) -> str:
    """The otpauth:// URI an authenticator app reads (typed in or shown as a QR code)."""
    issuer = settings.OTP_TOTP_ISSUER
    label = quote(f"{issuer}:{user.username}")
    return (
        f"otpauth://totp/{label}?secret={_secret_base32(device)}"
        f"&issuer={quote(issuer)}&algorithm=SHA1&digits={device.digits}&period={device.step}"
    )


def _device_replace(*, user: User, key_hex: str, actor: Any, reason: str) -> TOTPDevice:
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, key=key_hex, confirmed=True)
        audit_record_add(
            actor=actor,
            action="totp_device_create",
            object_type="user",
            object_id=user.pk,
            summary=reason,  # never the secret
        )
    return device


def staff_totp_device_create(*, user: User, actor: Any = None) -> tuple[TOTPDevice, str, str]:
    """Give ``user`` a new TOTP device, replacing any earlier one (a lost phone is handled the
    same way). Returns the device, its secret in base32 and its otpauth:// URI: show them once to
    the staff member and keep them nowhere else."""
    device = _device_replace(user=user, key_hex=random_hex(20), actor=actor, reason="new TOTP device")
    return device, _secret_base32(device), _otpauth_uri(device=device, user=user)


def _demo_key_hex(*, username: str) -> str:
    # Derived from this checkout's SECRET_KEY: stable across `make run`, different in every
    # checkout, and nothing secret in the repository.
    digest = hmac.new(settings.SECRET_KEY.encode(), f"govhall-demo-totp:{username}".encode(), hashlib.sha256)
    return digest.digest()[:20].hex()


def staff_totp_device_ensure_demo(*, user: User) -> TOTPDevice:
    """The demo staff member's device, with a secret derived from the checkout's SECRET_KEY and
    the username; created once, left alone afterwards (so its last used code stays spent)."""
    key_hex = _demo_key_hex(username=user.username)
    device = TOTPDevice.objects.filter(user=user, key=key_hex, confirmed=True).first()
    if device is not None:
        return device
    return _device_replace(user=user, key_hex=key_hex, actor=None, reason="demo TOTP device")


def staff_totp_secret_and_code(*, user: User) -> tuple[str, str]:
    """The base32 secret of ``user``'s device and the code it shows now, for the demo to print.
    Raises ``TOTPDevice.DoesNotExist`` when the user has no confirmed device."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return _secret_base32(device), totp_code_now(device=device)


def totp_code_now(*, device: TOTPDevice) -> str:
    """The code the authenticator app shows at this moment (demo output and tests)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = timezone.now().timestamp()
    return f"{totp.token():0{device.digits}d}"


@dataclass(frozen=True)
class EnrolmentSecret:
    """What the enrolment page shows: the secret (grouped for typing), its URI and a QR code."""

    secret: str
    uri: str
    qr_svg: str


def staff_totp_enrolment_secret(*, pending: PendingLogin) -> EnrolmentSecret:
    """The new device's secret for the enrolment page; the QR code is an inline SVG drawn on the
    server (no script, no third party ever sees the secret)."""
    assert pending.step == PendingStep.ENROLMENT and pending.device is not None
    secret = _secret_base32(pending.device)
    uri = _otpauth_uri(device=pending.device, user=pending.user)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, title=_("动态口令设置二维码"))
    grouped = " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))
    return EnrolmentSecret(secret=grouped, uri=uri, qr_svg=qr_svg)


# ---------------------------------------------------------------------------------------------
# Activation codes


def _activation_code_hash(*, user_id: int, code: str) -> str:
    # Keyed with SECRET_KEY like the one-time codes (govhall/accounts/one_time_codes.py): what
    # protects a stored code is a key that is not in the database.
    message = f"totp-activation:{user_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _activation_code_normalise(value: str) -> str:
    """Upper case without spaces and hyphens, so "abcd-efgh …" as typed matches."""
    return "".join(character for character in value.upper() if character not in " -\t")


def totp_activation_code_issue(*, user: User, actor: User, address: str | None = None) -> ActivationCodeIssued:
    """Issue a one-time activation code with which ``user`` enrols a TOTP app at the login.

    Only a security administrator may, and never for themselves (``staff_may_grant_roles_to``);
    only for an active staff account. Valid 72 hours, single use; a new code ends any earlier
    unused one. Only its hash is stored and the audit record never carries it: the caller shows
    the returned code once. Raises ``ActivationCodeRefused``.
    """
    if not staff_may_grant_roles_to(user=actor, target=user):
        raise ActivationCodeRefused(_("只有安全管理员可以签发激活码，且不能给自己签发。"))
    if not user.is_active or not user_holds_staff_role(user=user):
        raise ActivationCodeRefused(
            _("%(username)s 不是在用的工作人员账号，无需激活码。") % {"username": user.username}
        )
    code = "".join(secrets.choice(ACTIVATION_CODE_ALPHABET) for _position in range(ACTIVATION_CODE_LENGTH))
    now = timezone.now()
    with transaction.atomic():
        TotpActivationCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        record = TotpActivationCode.objects.create(
            user=user,
            code_hash=_activation_code_hash(user_id=user.pk, code=code),
            issued_by=actor,
            created_at=now,
            expires_at=now + ACTIVATION_CODE_VALIDITY,
        )
        audit_record_add(
            actor=actor,
            action="totp_activation_code_issue",
            object_type="user",
            object_id=user.pk,
            summary=f"activation code for {user.username}",  # never the code
            data={"activation_code_id": record.pk, "expires_at": record.expires_at.isoformat()},
            address=address,
        )
    grouped = "-".join(code[index : index + 4] for index in range(0, len(code), 4))
    return ActivationCodeIssued(code=grouped, expires_at=record.expires_at)


def _activation_code_live(*, user: User, code: str) -> TotpActivationCode | None:
    """The unused, unexpired activation code of ``user`` matching ``code``, if any."""
    expected = _activation_code_hash(user_id=user.pk, code=_activation_code_normalise(code))
    live = TotpActivationCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=timezone.now())
    for record in live:
        if hmac.compare_digest(expected, record.code_hash):
            return record
    return None


# ---------------------------------------------------------------------------------------------
# The password step, for everyone


def _audit(*, action: str, user: User | None, summary: str, address: str | None, outcome: str = "success") -> None:
    audit_record_add(
        actor=user,
        action=action,
        object_type="user",
        object_id=user.pk if user is not None else "",
        summary=summary,
        outcome=outcome,
        address=address,
    )


def _wrong_login_message() -> str:
    # One message for an unknown account and a wrong password, citizen or staff alike.
    return _("身份证号/手机号/用户名或密码不正确。")


def _account_by_login_name(login_name: str) -> User | None:
    """The account for an identity number or a phone (a person's), else for a username."""
    value = login_name.strip()
    if not value:
        return None
    person = authentication._person_by_login(value)
    if person is not None:
        return person.user
    return User.objects.filter(username=value).first()


def account_authenticate_by_password(*, login_name: str, password: str, address: str | None) -> PasswordAccepted:
    """The first step of every login, or ``LoginRefused``.

    Order matters: the address throttle first (no account work for a throttled address), then the
    lock (refused without looking at the password, so a locked account is no oracle), then the
    password (a wrong one counts toward the lock), and only then whether the account is staff and
    has a device, so none of that is revealed to someone without the password.
    """
    authentication._refuse_throttled_address(address=address)
    user = _account_by_login_name(login_name)
    if user is None or not user.is_active:
        LoginFailure.objects.create(user=None, address=address, at=timezone.now())
        _audit(action="login_failed", user=None, summary="unknown account", address=address, outcome="failure")
        raise LoginRefused(_wrong_login_message())
    account_lock_refuse(user=user, address=address)
    if not user.check_password(password):
        raise login_failure_record(user=user, address=address, summary="wrong password", message=_wrong_login_message())
    if not user_holds_staff_role(user=user):
        return PasswordAccepted(user=user, pending=None)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return PasswordAccepted(user=user, pending=PendingLogin(user=user, device=None, step=PendingStep.ACTIVATION))
    return PasswordAccepted(user=user, pending=PendingLogin(user=user, device=device, step=PendingStep.TOTP))


# ---------------------------------------------------------------------------------------------
# The staff member's second step


def staff_login_pending_start(*, request: HttpRequest, pending: PendingLogin) -> None:
    """Remember the account whose password was right, for the second step only. A new session
    id is issued so a session id planted before the password cannot ride on it."""
    request.session.cycle_key()
    staff_login_pending_clear(request=request)
    request.session[SESSION_PENDING_USER] = pending.user.pk
    request.session[SESSION_PENDING_SINCE] = timezone.now().timestamp()


def staff_login_pending_get(*, request: HttpRequest) -> PendingLogin | None:
    """The pending account of this session and its step, if its last step is recent enough."""
    user_id = request.session.get(SESSION_PENDING_USER)
    since = request.session.get(SESSION_PENDING_SINCE)
    if user_id is None or since is None:
        return None
    if timezone.now().timestamp() - float(since) > PENDING_LIMIT.total_seconds():
        staff_login_pending_clear(request=request)
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        return PendingLogin(user=user, device=confirmed, step=PendingStep.TOTP)
    activation_code_id = request.session.get(SESSION_PENDING_ACTIVATION)
    device_id = request.session.get(SESSION_PENDING_DEVICE)
    if activation_code_id is not None and device_id is not None:
        device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
        if device is not None:
            return PendingLogin(
                user=user, device=device, step=PendingStep.ENROLMENT, activation_code_id=int(activation_code_id)
            )
    return PendingLogin(user=user, device=None, step=PendingStep.ACTIVATION)


def staff_login_pending_clear(*, request: HttpRequest) -> None:
    for key in (SESSION_PENDING_USER, SESSION_PENDING_SINCE, SESSION_PENDING_ACTIVATION, SESSION_PENDING_DEVICE):
        request.session.pop(key, None)


def _refuse_throttled_device(*, device: TOTPDevice, user: User, address: str | None) -> None:
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        _audit(action="login_refused", user=user, summary="staff: TOTP throttled", address=address, outcome="refused")
        raise LoginRefused(_("动态口令错误次数过多，请稍候再试。"), field="code")


def _verify_code(*, device: TOTPDevice, user: User, code: str, address: str | None, summary: str) -> None:
    """Check a TOTP code or raise ``LoginRefused``; a wrong code counts toward the account lock
    like a wrong password. verify_token refuses a code older than the last accepted one and
    records failures for django-otp's throttle."""
    _refuse_throttled_device(device=device, user=user, address=address)
    if not device.verify_token(code.strip()):
        raise login_failure_record(
            user=user,
            address=address,
            summary=summary,
            message=_("动态口令不正确或已使用，请输入验证器上显示的新口令。"),
            field="code",
        )


def _session_verified_start(*, request: HttpRequest, user: User, device: TOTPDevice, summary: str) -> None:
    staff_login_pending_clear(request=request)
    login(request, user, backend=MODEL_BACKEND)  # cycles the session key; the session is recorded
    otp_login(request, device)
    _audit(action="login", user=user, summary=summary, address=client_address(request))


def staff_login_complete(*, request: HttpRequest, pending: PendingLogin, code: str) -> User:
    """The second step for a staff member with a device: check ``code``; on success log the
    account in (new session id) with the session marked verified, else ``LoginRefused``."""
    assert pending.step == PendingStep.TOTP and pending.device is not None
    address = client_address(request)
    user, device = pending.user, pending.device
    user.refresh_from_db(fields=["locked_until"])
    account_lock_refuse(user=user, address=address)
    _verify_code(device=device, user=user, code=code, address=address, summary="staff: wrong TOTP code")
    _session_verified_start(request=request, user=user, device=device, summary="staff login by password + TOTP")
    return user


def staff_enrolment_start(*, request: HttpRequest, pending: PendingLogin, activation_code: str) -> PendingLogin:
    """The second step for a staff member without a device: check the activation code and, when
    it is live, make a new unconfirmed device whose secret the next page shows. A wrong, expired
    or used code counts toward the account lock (``LoginRefused`` on field "activation_code").

    The code is spent only when the device is confirmed, so a closed browser does not waste it;
    the confirmation spends it atomically, so it binds one device at most. The 5 minutes of the
    pending step start again here: scanning a code and reading the first one takes a moment.
    """
    assert pending.step == PendingStep.ACTIVATION
    address = client_address(request)
    user = pending.user
    user.refresh_from_db(fields=["locked_until"])
    account_lock_refuse(user=user, address=address)
    record = _activation_code_live(user=user, code=activation_code)
    if record is None:
        raise login_failure_record(
            user=user,
            address=address,
            summary="staff: wrong activation code",
            message=_("激活码不正确、已过期或已使用。请核对安全管理员给您的激活码，或请其重新签发。"),
            field="activation_code",
        )
    with transaction.atomic():
        # An enrolment begun earlier and never confirmed leaves its device behind; it goes now.
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, key=random_hex(20), confirmed=False)
        _audit(action="totp_activation_code_accept", user=user, summary="activation code accepted", address=address)
    request.session[SESSION_PENDING_ACTIVATION] = record.pk
    request.session[SESSION_PENDING_DEVICE] = device.pk
    request.session[SESSION_PENDING_SINCE] = timezone.now().timestamp()
    return PendingLogin(user=user, device=device, step=PendingStep.ENROLMENT, activation_code_id=record.pk)


def staff_enrolment_complete(*, request: HttpRequest, pending: PendingLogin, code: str) -> User:
    """The last step of enrolment: a right ``code`` from the app confirms the new device (any
    earlier device goes), spends the activation code, and logs the account in with the session
    verified. A wrong code counts toward the lock; an activation code spent or expired in the
    meantime ends the enrolment (``LoginRefused``)."""
    assert pending.step == PendingStep.ENROLMENT and pending.device is not None
    assert pending.activation_code_id is not None
    address = client_address(request)
    user, device = pending.user, pending.device
    user.refresh_from_db(fields=["locked_until"])
    account_lock_refuse(user=user, address=address)
    _verify_code(device=device, user=user, code=code, address=address, summary="staff: wrong TOTP code at enrolment")
    now = timezone.now()
    with transaction.atomic():
        # One UPDATE guarded by used_at IS NULL: of two sessions confirming with the same
        # activation code, only one sees a row updated.
        spent = TotpActivationCode.objects.filter(
            pk=pending.activation_code_id, user=user, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if spent:
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            audit_record_add(
                actor=user,
                action="totp_device_create",
                object_type="user",
                object_id=user.pk,
                summary="enrolled with an activation code",  # never the secret
                data={"activation_code_id": pending.activation_code_id},
                address=address,
            )
    if not spent:
        TOTPDevice.objects.filter(pk=device.pk, confirmed=False).delete()
        staff_login_pending_clear(request=request)
        _audit(
            action="login_refused",
            user=user,
            summary="staff: activation code spent",
            address=address,
            outcome="refused",
        )
        raise LoginRefused(_("激活码已过期或已被使用，请重新登录；如仍需设置，请向安全管理员申请新的激活码。"))
    _session_verified_start(
        request=request, user=user, device=device, summary="staff login by password + activation code + new TOTP"
    )
    return user


# ---------------------------------------------------------------------------------------------
# The guard of staff pages


def user_is_verified(*, user: Any) -> bool:
    """True when this request's session passed the second factor (set by django-otp's
    OTPMiddleware on ``request.user``)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


SECOND_FACTOR_NAMESPACES = frozenset({"workbench", "admin"})
# The old login addresses (now redirects to the one login) and logout open without a verified session.
SECOND_FACTOR_EXEMPT_URL_NAMES = frozenset({"login", "logout"})


class SecondFactorRequiredMiddleware:
    """Workbench and admin pages open only to a session verified with the second factor.

    A logged-in but unverified session (a citizen's, or one made by another login path) is sent
    to the login page; anonymous visitors are left to the pages' own login redirects. Role checks
    stay where they are (the guards and the admin's RoleGuardedAdmin): this adds the is_verified
    condition and nothing else.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        match = request.resolver_match
        if match is None or not SECOND_FACTOR_NAMESPACES.intersection(match.namespaces):
            return None
        if match.url_name in SECOND_FACTOR_EXEMPT_URL_NAMES:
            return None
        if not request.user.is_authenticated or user_is_verified(user=request.user):
            return None
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path(), "accounts:login")


def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """The admin has no login page of its own: it would grant a password-only session. Its
    login redirects to the one login page, keeping where to go next."""
    query = request.META.get("QUERY_STRING", "")
    from django.urls import reverse

    return redirect(reverse("accounts:login") + (f"?{query}" if query else ""))
