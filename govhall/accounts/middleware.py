"""Session expiry: staff sessions end after 15 idle minutes, every session 12 hours after login.

The login time and a staff session's last activity live in the session itself, so the check
costs no extra query; the ``UserSession`` row's last_seen is refreshed at most once a minute, and
with it a citizen's session, which nothing else changes on most pages.
"""

from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts.authentication import (
    SESSION_LAST_ACTIVITY,
    SESSION_LAST_SEEN_SAVED,
    SESSION_LOGIN_AT,
    SESSION_STAFF,
)
from govhall.accounts.models import UserSession

STAFF_IDLE_LIMIT = timedelta(minutes=15)
ABSOLUTE_LIMIT = timedelta(hours=12)
LAST_SEEN_UPDATE_INTERVAL = timedelta(minutes=1)


class SessionExpiryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            if SESSION_LOGIN_AT in request.session:
                self._expire_or_touch(request)
            else:
                # Every login stamps its session (session_register_on_login); one without the
                # stamp predates it and cannot be held to the limits, so it is ended.
                logout(request)
        return self.get_response(request)

    def _expire_or_touch(self, request: HttpRequest) -> None:
        now = timezone.now().timestamp()
        login_at = float(request.session[SESSION_LOGIN_AT])
        staff = bool(request.session.get(SESSION_STAFF))
        last_activity = float(request.session.get(SESSION_LAST_ACTIVITY, login_at))
        idle_too_long = staff and now - last_activity > STAFF_IDLE_LIMIT.total_seconds()
        if now - login_at > ABSOLUTE_LIMIT.total_seconds() or idle_too_long:
            key = request.session.session_key
            logout(request)
            UserSession.objects.filter(session_key=key).delete()
            messages.info(request, _("登录已超时，请重新登录。"))
            return
        if staff:
            # Only the staff idle limit reads it. A citizen's session is left unchanged, so it is
            # not written back on every page (an UPDATE and a commit), only once a minute below.
            request.session[SESSION_LAST_ACTIVITY] = now
        last_seen_saved = float(request.session.get(SESSION_LAST_SEEN_SAVED, login_at))
        if now - last_seen_saved >= LAST_SEEN_UPDATE_INTERVAL.total_seconds():
            request.session[SESSION_LAST_SEEN_SAVED] = now
            UserSession.objects.filter(session_key=request.session.session_key).update(last_seen_at=timezone.now())
