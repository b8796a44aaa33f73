"""The page frame's header and footer (``base.html``), rendered once per process for visitors.

For a visitor who is not signed in, the header depends only on the language, elder mode and
which navigation entry is the current page, apart from two values that change with every
request: the CSRF token of its two small forms and the address they return to. The frame is
rendered once per process for each combination with placeholders in those two places, and each
request fills them in (the token masked for this request, the address escaped as the template
would). Templates do not change while a process runs (they are reloaded only under DEBUG, where
nothing is kept).

A signed-in user's header differs from a visitor's by whether they are a citizen (the links to
their cases, licences and messages) and by their number of unread messages, which is read on
every page. It is kept the same way for each citizen flag and count, up to
``SIGNED_IN_HEADERS_KEPT`` variants in a process (some 3.5 KB each); a header beyond them is
rendered each time (for "my cases", about 2 of 15 ms of CPU a page in one process). The header
shows no name or other personal data.

The footer depends only on the language.
"""

import threading
from typing import Any

from django import template
from django.conf import settings
from django.middleware.csrf import get_token
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

HEADER_TEMPLATE = "_site_header.html"
FOOTER_TEMPLATE = "_site_footer.html"

# Placeholders: plain letters and digits, so escaping leaves them as they are, and nothing the
# frame shows can contain them.
CSRF_PLACEHOLDER = "GovhallFrameCsrfPlaceholder7d1c"
NEXT_PLACEHOLDER = "GovhallFrameNextPlaceholder3a9e"

# The pages the navigation marks as current (_site_header.html; a test keeps the two in step);
# any other page's header is the same.
CURRENT_PAGES = frozenset({"home", "search", "themes", "theme", "departments", "department", "regions", "region"})
# Signed-in headers kept in a process, each language, mode, page, citizen flag and unread count
# one: a bound on memory (under a megabyte), since unread counts have none.
SIGNED_IN_HEADERS_KEPT = 200

_frames: dict[tuple[Any, ...], str] = {}
_signed_in_kept = 0
_frames_lock = threading.Lock()


def _render(context: template.Context, name: str, **values: Any) -> str:
    """Render ``name`` in the page's context (as ``{% include %}`` does), with ``values`` on top."""
    assert context.template is not None  # a tag renders inside a template
    frame = context.template.engine.get_template(name)
    with context.push(**values):
        return frame.render(context)


def _kept(key: tuple[Any, ...], make: Any, *, signed_in: bool = False) -> str:
    """The text kept under ``key``, made and kept the first time; a signed-in header only while
    fewer than ``SIGNED_IN_HEADERS_KEPT`` of them are kept."""
    global _signed_in_kept
    if settings.DEBUG:  # templates may change under the development server
        return make()
    text = _frames.get(key)
    if text is None:
        text = make()
        with _frames_lock:
            if not signed_in:
                _frames[key] = text
            elif _signed_in_kept < SIGNED_IN_HEADERS_KEPT:
                _frames[key] = text
                _signed_in_kept += 1
    return text


@register.simple_tag(takes_context=True)
def site_header(context: template.Context) -> SafeString:
    request = context.get("request")
    if request is None:
        return mark_safe(_render(context, HEADER_TEMPLATE, next_path=""))
    next_path = request.get_full_path()
    match = getattr(request, "resolver_match", None)
    current = getattr(match, "url_name", None)
    key: tuple[Any, ...] = (
        "header",
        get_language(),
        bool(context.get("elder_mode")),
        current if current in CURRENT_PAGES else None,
    )
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    values: dict[str, Any] = {}
    if signed_in:
        from govhall.portal.templatetags.cases_tags import citizen_header

        citizen = citizen_header(context)
        values["citizen_known"] = citizen
        key += (citizen["citizen"], citizen["unread"], "signed in")
    text = _kept(
        key,
        lambda: _render(context, HEADER_TEMPLATE, next_path=NEXT_PLACEHOLDER, csrf_token=CSRF_PLACEHOLDER, **values),
        signed_in=signed_in,
    )
    # A page kept whole for visitors (page_cache) has the placeholder as its token, filled in
    # as each copy is served; any other page gets this request's token here.
    token = context.get("csrf_token") or get_token(request)
    filled = text.replace(CSRF_PLACEHOLDER, str(token)).replace(NEXT_PLACEHOLDER, escape(next_path))
    return mark_safe(filled)


@register.simple_tag(takes_context=True)
def site_footer(context: template.Context) -> SafeString:
    text = _kept(("footer", get_language()), lambda: _render(context, FOOTER_TEMPLATE))
    return mark_safe(text)
