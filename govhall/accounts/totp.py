"""Staff two-factor login: password, then a TOTP code (RFC 6238, django-otp).

Everyone who logs in at the workbench holds a staff role, and the issue demands two factors for
staff: the password step only records the account as *pending* in the session (it grants nothing:
``request.user`` stays anonymous); ``django.contrib.auth.login`` runs after the code step, and the
session is marked verified by django-otp. Workbench and admin pages demand that mark
(``SecondFactorRequiredMiddleware``), so a session made any other way opens neither.

The password step shares the citizen login's lockout (5 bad passwords in 60 s lock the account for
10 minutes) and address throttle (govhall/accounts/authentication.py). A wrong code is throttled by
django-otp (each failure doubles the wait), and a code is accepted once: the device keeps the time
step of the last accepted code and refuses it and every earlier one.
"""

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

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

from govhall.accounts import authentication
from govhall.accounts.authentication import (
    LoginRefused,
    account_lock_refuse,
    client_address,
    login_failure_record,
)
from govhall.accounts.models import LoginFailure, User
from govhall.audit.services import audit_record_add

SESSION_PENDING_USER = "govhall_pending_staff_user"
SESSION_PENDING_SINCE = "govhall_pending_staff_since"
# Time allowed between the password and the code; afterwards the password is asked again.
PENDING_LIMIT = timedelta(minutes=5)
DEVICE_NAME = "TOTP"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@dataclass(frozen=True)
class PendingLogin:
    user: User
    device: TOTPDevice


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
    from django_otp.util import random_hex

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


# ---------------------------------------------------------------------------------------------
# The two steps of the staff login


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


def staff_authenticate_by_password(*, username: str, password: str, address: str | None) -> PendingLogin:
    """The first step: the account for ``username`` and its password, or ``LoginRefused``.

    The order follows the citizen login: address throttle, then the lock (without looking at the
    password), then the password (a wrong one counts toward the lock), and only then whether a
    TOTP device is set up, so that is revealed to nobody without the password.
    """
    authentication._refuse_throttled_address(address=address)
    user = User.objects.filter(username=username.strip()).first()
    if user is None or not user.is_active:
        LoginFailure.objects.create(user=None, address=address, at=timezone.now())
        _audit(action="login_failed", user=None, summary="staff: unknown account", address=address, outcome="failure")
        raise LoginRefused(_("用户名或密码不正确。"))
    authentication._refuse_locked(user=user, address=address)
    if not user.check_password(password):
        refused = authentication._wrong_password(user=user, address=address)
        user.refresh_from_db(fields=["locked_until"])
        if user.locked_until is not None and user.locked_until > timezone.now():
            raise refused  # the lock message, with the time it ends
        raise LoginRefused(_("用户名或密码不正确。"))
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        _audit(action="login_refused", user=user, summary="staff: no TOTP device", address=address, outcome="refused")
        raise LoginRefused(_("您的账号尚未设置动态口令（TOTP），请联系安全管理员设置后再登录。"))
    return PendingLogin(user=user, device=device)


def staff_login_pending_start(*, request: HttpRequest, pending: PendingLogin) -> None:
    """Remember the account whose password was right, for the code step only. A new session id
    is issued so a session id planted before the password cannot ride on it."""
    request.session.cycle_key()
    request.session[SESSION_PENDING_USER] = pending.user.pk
    request.session[SESSION_PENDING_SINCE] = timezone.now().timestamp()


def staff_login_pending_get(*, request: HttpRequest) -> PendingLogin | None:
    """The pending account of this session, if its password step is recent enough."""
    user_id = request.session.get(SESSION_PENDING_USER)
    since = request.session.get(SESSION_PENDING_SINCE)
    if user_id is None or since is None:
        return None
    if timezone.now().timestamp() - float(since) > PENDING_LIMIT.total_seconds():
        staff_login_pending_clear(request=request)
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    device = TOTPDevice.objects.filter(user_id=user_id, confirmed=True).first()
    if user is None or device is None:
        return None
    return PendingLogin(user=user, device=device)


def staff_login_pending_clear(*, request: HttpRequest) -> None:
    request.session.pop(SESSION_PENDING_USER, None)
    request.session.pop(SESSION_PENDING_SINCE, None)


def staff_login_complete(*, request: HttpRequest, pending: PendingLogin, code: str) -> User:
    """The second step: check ``code`` against the pending account's device; on success log
    the account in (new session id) with the session marked verified, else ``LoginRefused``."""
    address = client_address(request)
    user, device = pending.user, pending.device
    user.refresh_from_db(fields=["locked_until"])
    account_lock_refuse(user=user, address=address)
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        _audit(action="login_refused", user=user, summary="staff: TOTP throttled", address=address, outcome="refused")
        raise LoginRefused(_("动态口令错误次数过多，请稍候再试。"), field="code")
    # verify_token refuses a code older than the last accepted one, and records failures for
    # the throttle; it locks the device row itself.
    if not device.verify_token(code.strip()):
        # A wrong code counts toward the account's 5-failure lock like a wrong password.
        raise login_failure_record(
            user=user,
            address=address,
            summary="staff: wrong TOTP code",
            message=_("动态口令不正确或已使用，请输入验证器上显示的新口令。"),
            field="code",
        )
    staff_login_pending_clear(request=request)
    login(request, user, backend=MODEL_BACKEND)  # cycles the session key; the session is recorded
    otp_login(request, device)
    _audit(action="login", user=user, summary="staff login by password + TOTP", address=address)
    return user


# ---------------------------------------------------------------------------------------------
# The guard of staff pages


def user_is_verified(*, user: Any) -> bool:
    """True when this request's session passed the second factor (set by django-otp's
    OTPMiddleware on ``request.user``)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


SECOND_FACTOR_NAMESPACES = frozenset({"workbench", "admin"})
# The two login steps and logout must open without a verified session.
SECOND_FACTOR_EXEMPT_URL_NAMES = frozenset({"login", "login_code", "logout"})


class SecondFactorRequiredMiddleware:
    """Workbench and admin pages open only to a session verified with the second factor.

    A logged-in but unverified session (one made by another login path) is sent to the workbench
    login; anonymous visitors are left to the pages' own login redirects. Role checks stay where
    they are (the guards and the admin's RoleGuardedAdmin): this adds the is_verified condition
    and nothing else.
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

        return redirect_to_login(request.get_full_path(), "workbench:login")


def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """The admin has no login page of its own: it would grant a password-only session. Its
    login redirects to the workbench's two-step login, keeping where to go next."""
    query = request.META.get("QUERY_STRING", "")
    from django.urls import reverse

    return redirect(reverse("workbench:login") + (f"?{query}" if query else ""))
