"""Login rules shared by the one login page: the lock (5 wrong passwords or TOTP codes within 60
seconds lock the account for 10 minutes), address throttling (20 failed logins in 10 minutes),
the citizens' phone + one-time code login, and the bookkeeping of sessions (record, end one, end
all). The password step for everyone, and the staff's second factor, are in totp.py; staff never
log in by an SMS code.
"""

import re
from datetime import timedelta
from typing import Any

from django.contrib.auth import login, logout
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts import privacy
from govhall.accounts.models import LoginFailure, OneTimeCodePurpose, Person, StaffAssignment, User, UserSession
from govhall.accounts.one_time_codes import (
    CodeCheck,
    CodeSent,
    code_check_message,
    one_time_code_check,
    one_time_code_send,
)
from govhall.audit.services import audit_record_add
from govhall.org.identifiers import identity_number_normalise

LOCK_AFTER_FAILURES = 5
LOCK_FAILURE_WINDOW = timedelta(seconds=60)
LOCK_DURATION = timedelta(minutes=10)
ADDRESS_MAX_FAILURES = 20
ADDRESS_FAILURE_WINDOW = timedelta(minutes=10)

PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$")
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# Session keys kept in the session itself, read by the expiry middleware.
SESSION_LOGIN_AT = "govhall_login_at"
SESSION_STAFF = "govhall_staff"
SESSION_LAST_SEEN_SAVED = "govhall_last_seen_saved"


class LoginRefused(Exception):
    """A login that did not succeed; ``message`` is safe to show (it never says which part was wrong)."""

    def __init__(self, message: str, *, field: str = "__all__") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def client_address(request: HttpRequest) -> str | None:
    """The peer address. X-Forwarded-For is not trusted here: anyone can write it, and the
    throttles would be worthless; a deployment behind a proxy sets REMOTE_ADDR at the proxy."""
    return request.META.get("REMOTE_ADDR") or None


def user_holds_staff_role(*, user: Any) -> bool:
    return bool(user.is_staff or user.is_superuser or StaffAssignment.objects.filter(user=user).exists())


def _audit(
    *, action: str, user: User | None, summary: str, address: str | None, outcome: str = "success", **data: Any
) -> None:
    audit_record_add(
        actor=user,
        action=action,
        object_type="user",
        object_id=user.pk if user is not None else "",
        summary=summary,
        data=data,
        outcome=outcome,
        address=address,
    )


def _refuse_throttled_address(*, address: str | None) -> None:
    if not address:
        return
    since = timezone.now() - ADDRESS_FAILURE_WINDOW
    if LoginFailure.objects.filter(address=address, at__gte=since).count() >= ADDRESS_MAX_FAILURES:
        _audit(action="login_refused", user=None, summary="address throttled", address=address, outcome="refused")
        raise LoginRefused(_("您所在网络登录失败次数过多，请 10 分钟后再试。"))


def _locked_message(user: User) -> str:
    assert user.locked_until is not None
    until = timezone.localtime(user.locked_until)
    return _("账号因多次密码或动态口令错误已被锁定，请于 %(until)s 之后再登录。") % {"until": until.strftime("%H:%M")}


def _refuse_locked(*, user: User, address: str | None) -> None:
    if user.locked_until is not None and user.locked_until > timezone.now():
        # The failure counts toward the address throttle only: it must not extend the lock.
        LoginFailure.objects.create(user=None, address=address, at=timezone.now())
        _audit(action="login_refused", user=user, summary="account locked", address=address, outcome="refused")
        raise LoginRefused(_locked_message(user))


def _person_by_login(login_name: str) -> Person | None:
    value = login_name.strip()
    if PHONE_PATTERN.match(value):
        index = privacy.blind_index(value, purpose="phone")
        return Person.objects.select_related("user").filter(phone_index=index).first()
    index = privacy.blind_index(identity_number_normalise(value), purpose="identity_number")
    return Person.objects.select_related("user").filter(identity_number_index=index).first()


def _wrong_password(*, user: User, address: str | None) -> LoginRefused:
    """Record a bad password; the fifth within 60 seconds locks the account for 10 minutes."""
    return login_failure_record(
        user=user, address=address, summary="wrong password", message=_("身份证号/手机号或密码不正确。")
    )


def login_failure_record(
    *, user: User, address: str | None, summary: str, message: str, field: str = "__all__"
) -> LoginRefused:
    """Record a wrong secret (a password or a staff TOTP code) against the account: the fifth
    within 60 seconds, whichever factor it was, locks the account for 10 minutes."""
    now = timezone.now()
    with transaction.atomic():
        locked_user = User.objects.select_for_update().get(pk=user.pk)
        LoginFailure.objects.create(user=locked_user, address=address, at=now)
        recent = LoginFailure.objects.filter(user=locked_user, at__gt=now - LOCK_FAILURE_WINDOW).count()
        _audit(action="login_failed", user=locked_user, summary=summary, address=address, outcome="failure")
        if recent >= LOCK_AFTER_FAILURES:
            locked_user.locked_until = now + LOCK_DURATION
            locked_user.save(update_fields=["locked_until"])
            _audit(action="account_locked", user=locked_user, summary="5 failures in 60 s", address=address)
            return LoginRefused(_locked_message(locked_user), field=field)
    return LoginRefused(message, field=field)


def account_lock_refuse(*, user: User, address: str | None) -> None:
    """Refuse (``LoginRefused``) while the account is locked; every login step asks this first."""
    _refuse_locked(user=user, address=address)


def citizen_login_code_send(*, phone: str, address: str | None) -> CodeSent:
    """Send a login code to ``phone``. A phone with no citizen account goes through the same limits
    and answer but receives nothing, so the page does not reveal who is registered."""
    phone = phone.strip()
    person = (
        Person.objects.select_related("user").filter(phone_index=privacy.blind_index(phone, purpose="phone")).first()
    )
    deliver = person is not None and person.user.is_active and not user_holds_staff_role(user=person.user)
    return one_time_code_send(phone=phone, purpose=OneTimeCodePurpose.LOGIN, address=address, deliver=deliver)


def citizen_authenticate_by_code(*, phone: str, code: str, address: str | None) -> User:
    """The account whose phone received ``code``, or ``LoginRefused`` (field "code")."""
    _refuse_throttled_address(address=address)
    phone = phone.strip()
    check = one_time_code_check(phone=phone, purpose=OneTimeCodePurpose.LOGIN, code=code)
    person = (
        Person.objects.select_related("user").filter(phone_index=privacy.blind_index(phone, purpose="phone")).first()
    )
    if check != CodeCheck.ACCEPTED or person is None or not person.user.is_active:
        LoginFailure.objects.create(user=None, address=address, at=timezone.now())
        _audit(action="login_failed", user=None, summary=f"one-time code {check}", address=address, outcome="failure")
        message = code_check_message(check if check != CodeCheck.ACCEPTED else CodeCheck.NO_LIVE_CODE)
        raise LoginRefused(message, field="code")
    user = person.user
    _refuse_locked(user=user, address=address)
    if user_holds_staff_role(user=user):
        _audit(
            action="login_refused",
            user=user,
            summary="staff must use password and TOTP",
            address=address,
            outcome="refused",
        )
        raise LoginRefused(_("工作人员账号请使用用户名、密码和动态口令登录。"))
    return user


# ---------------------------------------------------------------------------------------------
# Sessions


def session_start(*, request: HttpRequest, user: User, method: str) -> UserSession:
    """Log ``user`` in on this request (a new session id: django's login cycles the key), and
    record the session so it can be listed, ended, and expired by the middleware."""
    login(request, user, backend=MODEL_BACKEND)  # session_register_on_login records the session
    _audit(action="login", user=user, summary=f"login by {method}", address=client_address(request), method=method)
    return UserSession.objects.get(session_key=request.session.session_key)


def session_register_on_login(*, sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Receiver of django's ``user_logged_in``: this is session bookkeeping for every login path
    (workbench, admin, OIDC pages), not a domain effect, so it lives on django's own signal."""
    if request is not None and hasattr(request, "session"):
        session_register(request=request, user=user)


def session_register(*, request: HttpRequest, user: Any) -> UserSession:
    """Stamp the login time into the session and keep a ``UserSession`` row for it."""
    now = timezone.now()
    request.session[SESSION_LOGIN_AT] = now.timestamp()
    request.session[SESSION_STAFF] = user_holds_staff_role(user=user)
    request.session[SESSION_LAST_SEEN_SAVED] = now.timestamp()
    if request.session.session_key is None:
        request.session.save()
    record, _created = UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "created_at": now,
            "last_seen_at": now,
            "address": client_address(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:255],
        },
    )
    return record


def session_end(*, request: HttpRequest, user_session: UserSession) -> None:
    """End one of the user's sessions (the current one logs this request out)."""
    with transaction.atomic():
        Session.objects.filter(session_key=user_session.session_key).delete()
        UserSession.objects.filter(pk=user_session.pk).delete()
        _audit(action="session_end", user=user_session.user, summary="session ended", address=client_address(request))
    if user_session.session_key == request.session.session_key:
        logout(request)


def sessions_end_all(*, user: Any) -> int:
    """End every session of ``user`` (logout, password change, disabling): their Session rows
    go, so every browser signed in as this user is signed out at its next request."""
    with transaction.atomic():
        keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
        Session.objects.filter(session_key__in=keys).delete()
        UserSession.objects.filter(user=user).delete()
    return len(keys)


def user_logout(*, request: HttpRequest) -> None:
    """Log out here and everywhere: the issue asks that logout ends every session of the account."""
    user = request.user
    if user.is_authenticated:
        ended = sessions_end_all(user=user)
        _audit(action="logout", user=user, summary=f"{ended} sessions ended", address=client_address(request))
    logout(request)


def user_password_change(*, request: HttpRequest, user: User, new_password: str) -> None:
    """Set a new password and end every session of the account, this one included."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        ended = sessions_end_all(user=user)
        _audit(action="password_change", user=user, summary=f"{ended} sessions ended", address=client_address(request))
    logout(request)


def user_disable(*, user: User, actor: Any, address: str | None = None) -> None:
    """Disable an account and end all its sessions at once."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        ended = sessions_end_all(user=user)
        audit_record_add(
            actor=actor,
            action="user_disable",
            object_type="user",
            object_id=user.pk,
            summary=f"{ended} sessions ended",
            address=address,
        )


# ---------------------------------------------------------------------------------------------
# Reads and the guard of the sessions page (kept beside the writes they mirror)


def user_sessions_current(*, user: Any) -> list[UserSession]:
    """The user's sessions that can still be used: their Session row exists and has not run out,
    and they are younger than the 12-hour absolute limit. Newest first."""
    now = timezone.now()
    live_keys = Session.objects.filter(expire_date__gt=now).values("session_key")
    return list(
        UserSession.objects.filter(
            user=user, session_key__in=live_keys, created_at__gt=now - timedelta(hours=12)
        ).order_by("-last_seen_at", "-id")
    )


def user_session_get_for_owner(*, session_id: int, user: Any) -> UserSession | None:
    """The session ``session_id`` if it belongs to ``user``; None (shown as not found) otherwise."""
    if not user.is_authenticated:
        return None
    return UserSession.objects.filter(pk=session_id, user=user).select_related("user").first()
