"""Validators for public GET answers: a strong ``ETag`` (a digest of the answer's bytes), so a
caller that holds an answer asks again with ``If-None-Match`` and gets ``304 Not Modified``
with no body while it is unchanged (RFC 9110 §13.1.2, §15.4.5).

The tag depends on the bytes alone, so the same answer has the same tag in every worker,
whether it was built or kept (``catalog.kept_answers``). ``Cache-Control: public, no-cache``
lets a shared cache store the answer but never serve it without asking first.
"""

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control

Run = Callable[..., HttpResponse]


def etag_of(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()[:32]}"'


def answer_validated(request: HttpRequest, response: HttpResponse, etag: str | None = None) -> HttpResponse:
    """A 200 answer with its validators, or 304 when the caller already holds these bytes;
    any other answer as it is. ``etag``: the tag when it is known already."""
    if response.status_code != 200 or response.streaming:
        return response
    etag = etag or etag_of(response.content)
    response["ETag"] = etag
    patch_cache_control(response, public=True, no_cache=True)
    return get_conditional_response(request, etag=etag, response=response) or response


def revalidated(run: Run) -> Run:
    """Wraps an endpoint's whole run (``ninja.decorators.decorate_view``) so that its 200
    answers carry their validators (an answer that is the same for every caller)."""

    @functools.wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return answer_validated(request, run(request, *args, **kwargs))

    return wrapped
