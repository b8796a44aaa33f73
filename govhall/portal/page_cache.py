"""Whole public pages kept in the shared cache for visitors who are not signed in.

Most of the portal's traffic is people reading guides and searching without signing in, and
for them a guide or a page of search results is the same for everyone who asks in the same
language and mode: it is built from published catalogue data only. Such a page is kept under
the page's address, the language and elder mode, with the catalogue's version read before it
was rendered (``catalog.search.catalogue_version``: every publication, reindex or synonym change
moves it, so no page from before the change is served after it is committed; the version and the
page are read in one round trip), for ``VISITOR_PAGE_SECONDS`` at most (so that
what is shown beside the catalogue, a region's name, follows a change within minutes).

The only part of such a page that differs between visitors is the CSRF token of its forms
(elder mode and language switches): the page is kept with a placeholder in its place, filled
with a token masked for each request as it is served (``frame_tags``).

A page is not kept nor served from the cache for a signed-in user, for a visitor who has a
session (which may hold messages to show, or a half-finished sign-in) or messages waiting in
their cookie: they get the page rendered for them.

Only addresses a visitor reaches by the portal's own links and forms are kept: the parameters
the page knows, a query no longer than the search reads, the first ``VISITOR_PAGE_MAX_PAGE``
pages of results. Anything else (a made-up parameter, page 400) is rendered and not kept, so
that requests with endless distinct addresses cannot fill the shared cache with pages.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

from govhall.catalog.kept_answers import address_digest, address_kept
from govhall.catalog.search import catalogue_kept, catalogue_version
from govhall.portal.templatetags.frame_tags import CSRF_PLACEHOLDER

VISITOR_PAGE_SECONDS = 300
VISITOR_PAGE_MAX_PAGE = 10
VISITOR_PAGE_MAX_VALUE = 100  # characters of one parameter (a query is cut to 100)


@dataclass(frozen=True)
class KeptPage:
    content: str
    content_type: str
    extra: dict[str, Any]

    def response(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(_filled(self.content, request), content_type=self.content_type)


def _filled(content: str, request: HttpRequest) -> str:
    return content.replace(CSRF_PLACEHOLDER, get_token(request))


@dataclass
class PageSlot:
    """Where a request's page is kept, and the catalogue's version when it was looked up: the
    page rendered after a miss is kept with that version, so a page rendered while a
    publication commits is not served after it."""

    key: str
    version: int | None = None


def visitor_page_key(request: HttpRequest, name: str, *, parameters: frozenset[str] = frozenset()) -> PageSlot | None:
    """Where this request's page is kept, or None when the page is rendered for this person
    alone (signed in, a session, messages waiting, or not a GET) or its address is not one the
    portal's links make (``parameters``: the query parameters the page knows)."""
    if request.method not in ("GET", "HEAD") or not address_kept(
        request, parameters, max_page=VISITOR_PAGE_MAX_PAGE, max_value=VISITOR_PAGE_MAX_VALUE
    ):
        return None
    if settings.SESSION_COOKIE_NAME in request.COOKIES or CookieStorage.cookie_name in request.COOKIES:
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:  # another way in than the session cookie
        return None
    elder = int(bool(getattr(request, "elder_mode", False)))
    return PageSlot(f"visitor-page:{name}:{get_language()}:{elder}:{address_digest(request)}")


def visitor_page_get(slot: PageSlot | None) -> KeptPage | None:
    """The kept page, if it was kept under the catalogue's current version. The version and the
    page are read in one round trip to the cache (a kept page carries its version)."""
    if slot is None:
        return None
    slot.version, kept = catalogue_kept(slot.key)
    if kept is None:
        return None
    return KeptPage(content=kept["content"], content_type=kept["content_type"], extra=kept["extra"])


def visitor_page_context(slot: PageSlot | None) -> dict[str, Any]:
    """What the page's template needs so that it can be kept: its CSRF tokens as placeholders."""
    return {"csrf_token": CSRF_PLACEHOLDER} if slot is not None else {}


def visitor_page_keep(
    request: HttpRequest, slot: PageSlot | None, response: HttpResponse, *, extra: dict[str, Any] | None = None
) -> HttpResponse:
    """Keep the page just rendered with ``visitor_page_context`` (when it may be kept), with the
    catalogue's version ``visitor_page_get`` read before it was rendered, and fill in this
    request's token."""
    if slot is None:
        return response
    content = response.content.decode(response.charset)
    if response.status_code == 200 and not response.cookies:
        version = slot.version if slot.version is not None else catalogue_version()
        kept = {"version": version, "content": content, "content_type": response["Content-Type"], "extra": extra or {}}
        cache.set(slot.key, kept, timeout=VISITOR_PAGE_SECONDS)
    response.content = _filled(content, request).encode(response.charset)
    return response
