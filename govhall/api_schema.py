"""The public API's answers: the base of its response schemas, its JSON renderer, and
``answer``, which writes an endpoint's answer without validating it again.

Every endpoint builds its answer as plain dicts and lists (the ``_summary``, ``_task`` … helpers
of each router), so a response needs pydantic's own validation and nothing more. ``ninja.Schema``
wraps every nested value in a ``DjangoGetter`` first (for attribute and dotted-path access to
model instances, resolvers, managers and files, none of which an answer uses), which made the
validation fifteen times dearer: the to-do list's page of 50 tasks took 2.2 ms against 0.15 ms
(docs/performance.md). Request schemas (query parameters, bodies) stay ``ninja.Schema``.
"""

import datetime
import json
from typing import Any

import orjson
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel, ConfigDict


class ResponseSchema(BaseModel):
    """A response schema, filled from dicts (or from attributes, as ``ninja.Schema`` allows)."""

    model_config = ConfigDict(from_attributes=True)


_DJANGO_JSON = DjangoJSONEncoder()


class Utf8JsonRenderer(JSONRenderer):
    """JSON by orjson, the values it does not know as ninja's encoder writes them.

    Chinese text is UTF-8, not \\u escapes: half the bytes, and readable in any log or shell.
    orjson wrote a to-do list of 50 rows (35 KB) in 0.22 ms where ``json`` with ninja's encoder
    took 0.72 (docs/adr/0019). Dates and times go to ``_default`` too, so that they keep
    Django's format (milliseconds, ``Z`` for UTC). What orjson refuses (a key that is not a
    string, an integer beyond 64 bits) is written by ``json`` as before."""

    _encoder = NinjaJSONEncoder()
    _options = orjson.OPT_PASSTHROUGH_DATETIME

    @classmethod
    def _default(cls, value: Any) -> Any:
        # Dates and times first, as Django's encoder writes them, without the way through
        # ninja's encoder's other kinds: a to-do list of 50 rows (150 dates and times) was
        # written in 0.21 ms, in 0.12 so (2026-12-06). Other kinds, subclasses of dates and
        # times included, go to ninja's encoder.
        kind = type(value)
        if kind is datetime.date:
            return value.isoformat()
        if kind is datetime.datetime:
            return _DJANGO_JSON.default(value)
        return cls._encoder.default(value)

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        try:
            return orjson.dumps(data, default=self._default, option=self._options)
        except orjson.JSONEncodeError:
            return json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False).encode()


RENDERER = Utf8JsonRenderer()
CONTENT_TYPE = f"{RENDERER.media_type}; charset={RENDERER.charset}"


class AnswerDiffers(AssertionError):
    """An endpoint's answer that its response schema would have written otherwise."""


def answer(request: HttpRequest, schema: type[BaseModel], data: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """``data`` written as the endpoint's answer, as ninja writes it when the endpoint returns it
    but without its validation against ``schema`` and ``model_dump``'s copy (ADR 32).

    Ninja validates a returned dict against the response schema (through a wrapper model and a
    ``DjangoGetter``), dumps the model back into dicts and renders those: 0.5 of the 2.0 ms of CPU
    a to-do list of 50 tasks took in one process (2026-12-08). The answers given here are built
    from the platform's own rows, with the types their schema declares. Where
    ``settings.GOVHALL_CHECK_ANSWERS`` is on (``DEBUG``, the tests) every answer is still
    validated and dumped as ninja would, and ``AnswerDiffers`` is raised unless that writes the
    same JSON (its keys may come in another order); the endpoint still declares ``schema`` for
    the OpenAPI document."""
    content = RENDERER.render(request, data, response_status=status)
    if settings.GOVHALL_CHECK_ANSWERS:
        checked = RENDERER.render(request, schema.model_validate(data).model_dump(), response_status=status)
        if orjson.loads(checked) != orjson.loads(content):
            raise AnswerDiffers(
                f"{schema.__name__}: the answer differs from what its schema writes\n"
                f"given:   {content[:2000]!r}\nchecked: {checked[:2000]!r}"
            )
    return HttpResponse(content, status=status, content_type=CONTENT_TYPE)
