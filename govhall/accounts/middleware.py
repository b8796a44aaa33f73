"""Session expiry: staff sessions end after 15 idle minutes, every session 12 hours after login.

The login time lives in the session itself, so the check costs no extra query. The session is
written back at most once a minute (an UPDATE and a commit), with the ``UserSession`` row's
last_seen: the time it holds is the last activity to the minute. A staff member's every request
also goes to the shared cache (one write, no read), which settles the one minute in which the
session's time alone cannot say whether 15 idle minutes have passed. Without that entry (the
cache lost or culled, or a worker's own cache without CACHE_URL) the session ends up to a minute
early, never late.
"""

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from redis import RedisError

from govhall.accounts.authentication import (
    SESSION_LAST_SEEN_SAVED,
    SESSION_LOGIN_AT,
    SESSION_STAFF,
)
from govhall.accounts.models import UserSession

logger = logging.getLogger(__name__)

STAFF_IDLE_LIMIT = timedelta(minutes=15)
ABSOLUTE_LIMIT = timedelta(hours=12)
LAST_SEEN_UPDATE_INTERVAL = timedelta(minutes=1)
# Long enough to outlive the minute in which the cache is read; no longer, so ended sessions'
# entries go by themselves.
STAFF_ACTIVITY_KEPT = STAFF_IDLE_LIMIT + 2 * LAST_SEEN_UPDATE_INTERVAL


def staff_activity_key(session_key: str) -> str:
    """The cache key of a staff session's last activity: a digest, so the cache never holds a
    session key someone could sign in with."""
    return "staff-activity:" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def _staff_activity_read(session_key: str) -> float:
    """The time the cache holds for the session, 0 without one. An unreachable cache (Redis
    down) holds none: the session may end up to a minute early, and the page still answers."""
    try:
        return float(cache.get(staff_activity_key(session_key)) or 0)
    except RedisError as error:
        logger.warning("staff activity not read from the cache: %s", error)
        return 0.0


def _staff_activity_keep(session_key: str, now: float) -> None:
    """Floored to the second: the idle time read back is never shorter than it was."""
    try:
        cache.set(staff_activity_key(session_key), int(now), STAFF_ACTIVITY_KEPT.total_seconds())
    except RedisError as error:
        logger.warning("staff activity not kept in the cache: %s", error)


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
        # The last request that wrote the session back: at most a minute before the last activity.
        last_seen_saved = float(request.session.get(SESSION_LAST_SEEN_SAVED, login_at))
        idle_limit, interval = STAFF_IDLE_LIMIT.total_seconds(), LAST_SEEN_UPDATE_INTERVAL.total_seconds()
        idle_too_long = False
        if staff and now - last_seen_saved > idle_limit:
            # More than the limit since the session's time: ended, unless this is the minute in
            # which a later request, not written back, may have come (the cache says).
            last_activity = last_seen_saved
            if now - last_seen_saved <= idle_limit + interval:
                last_activity = max(last_activity, _staff_activity_read(request.session.session_key or ""))
            idle_too_long = now - last_activity > idle_limit
        if now - login_at > ABSOLUTE_LIMIT.total_seconds() or idle_too_long:
            key = request.session.session_key
            logout(request)
            UserSession.objects.filter(session_key=key).delete()
            messages.info(request, _("登录已超时，请重新登录。"))
            return
        if staff:
            _staff_activity_keep(request.session.session_key or "", now)
        if now - last_seen_saved >= interval:
            request.session[SESSION_LAST_SEEN_SAVED] = now
            UserSession.objects.filter(session_key=request.session.session_key).update(last_seen_at=timezone.now())
