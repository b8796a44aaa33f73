"""The public catalogue API's answers, kept in the shared cache.

A page of the catalogue's list, or a guide, is the same for every caller who asks for it in the
same language: it is built from published catalogue data only (no caller, no personal data).
So, as the portal keeps its pages for visitors (``portal.page_cache``), the API keeps each such
answer's bytes under its address and language, with the catalogue's version read before it was
built (``catalog.search.catalogue_version``: every publication, reindex or synonym change moves
it, so no answer from before a change is served once the change is committed; the version and
the answer are read in one round trip), for ``KEPT_SECONDS`` at most (so that what an answer
shows beside the catalogue, a region's or a department's name, follows a change within minutes).
Kept or built, every 200 answer carries its ``ETag`` (``govhall.conditional``), kept with it.

Only addresses whose parameters the endpoint knows are kept, each given once, no longer than
``KEPT_MAX_VALUE`` characters, and no page beyond ``KEPT_MAX_PAGE``: anything else is answered
as before and not kept, so that endless distinct addresses cannot fill the shared cache.
"""

import functools
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language

from govhall.catalog.search import catalogue_kept
from govhall.conditional import Run, answer_validated, etag_of

KEPT_SECONDS = 300
KEPT_MAX_PAGE = 10
KEPT_MAX_VALUE = 100  # characters of one parameter, as the portal's kept pages


def address_kept(
    request: HttpRequest, parameters: frozenset[str], *, max_page: int | None = None, max_value: int = KEPT_MAX_VALUE
) -> bool:
    """Whether the request's address is one whose answer may be kept: every parameter known
    and given once, none longer than ``max_value``, no page beyond ``max_page`` (the portal's
    kept pages ask the same of theirs)."""
    for name, values in request.GET.lists():
        if name not in parameters or len(values) != 1 or len(values[0]) > max_value:
            return False
    page = request.GET.get("page")
    return page is None or (page.isdigit() and 1 <= int(page) <= (max_page or KEPT_MAX_PAGE))


def address_digest(request: HttpRequest) -> str:
    """A short digest of the request's path and query: where its answer is kept."""
    return hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]


def kept_answer(name: str, *, parameters: Iterable[str]) -> Callable[[Run], Run]:
    """Wraps an endpoint's whole run (``ninja.decorators.decorate_view``): the kept answer when
    there is one for this address, language and catalogue version; otherwise the endpoint's own
    answer, kept when it is a 200 for an address that may be kept. ``parameters``: the query
    parameters the endpoint knows."""
    known = frozenset(parameters)

    def decorate(run: Run) -> Run:
        @functools.wraps(run)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "GET":
                return run(request, *args, **kwargs)
            key, version = None, None
            if address_kept(request, known):
                key = f"api-answer:{name}:{get_language()}:{address_digest(request)}"
                version, kept = catalogue_kept(key)
                if kept is not None:
                    response = HttpResponse(kept["content"], content_type=kept["content_type"])
                    return answer_validated(request, response, kept["etag"])
            response = run(request, *args, **kwargs)
            if response.status_code != 200 or response.streaming:
                return response
            etag = etag_of(response.content)
            if key is not None and not response.cookies:
                kept = {
                    "version": version,
                    "content": response.content,
                    "content_type": response["Content-Type"],
                    "etag": etag,
                }
                cache.set(key, kept, timeout=KEPT_SECONDS)
            return answer_validated(request, response, etag)

        return wrapped

    return decorate
