"""The benchmark's ceiling views: what this machine and server settings can do at most.

- ``C_json``: a view that touches no database (the framework ceiling);
- ``C_pk``: one primary-key SELECT through the ORM;
- ``C_ins``: one single-row INSERT transaction through the ORM (the write ceiling).

They go through the whole middleware stack like every other page. They are mounted only when
``settings.GOVHALL_BENCH`` (environment ``GOVHALL_BENCH=1``) is on: ``urlpatterns`` here is
empty otherwise, so a production server never exposes them. The benchmark harness (bench/)
starts its server with the flag.
"""

import os
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from govhall.org.models import Region

# Rows the insert ceiling writes carry this marker, so the harness removes them afterwards.
INSERT_MARKER = "govhall-bench-ceiling"


def bench_enabled() -> bool:
    """The ceiling views are mounted only with ``GOVHALL_BENCH`` on (setting or environment)."""
    configured = getattr(settings, "GOVHALL_BENCH", None)
    if configured is not None:
        return bool(configured)
    return os.environ.get("GOVHALL_BENCH", "").strip().lower() in {"1", "true", "yes", "on"}


@require_GET
def ceiling_json(request: HttpRequest) -> HttpResponse:
    """C_json: no database at all."""
    return JsonResponse({"ceiling": "json", "ok": True})


@require_GET
def ceiling_pk(request: HttpRequest, code: str) -> HttpResponse:
    """C_pk: one primary-key SELECT through the ORM (a region by its code)."""
    region = Region.objects.filter(pk=code).only("code", "name").first()
    if region is None:
        return JsonResponse({"ceiling": "pk", "ok": False}, status=404)
    return JsonResponse(
        {"ceiling": "pk", "code": region.code, "name": region.name}, json_dumps_params={"ensure_ascii": False}
    )


@csrf_exempt
@require_POST
def ceiling_insert(request: HttpRequest) -> HttpResponse:
    """C_ins: one single-row INSERT in its own transaction through the ORM. A session row is
    used because the table exists everywhere and nothing reads a row no cookie names."""
    with transaction.atomic():
        row = Session.objects.create(
            session_key=secrets.token_hex(20),
            session_data=INSERT_MARKER,
            expire_date=timezone.now() - timedelta(seconds=1),
        )
    return JsonResponse({"ceiling": "ins", "ok": True, "key": row.session_key[:8]}, status=201)


def bench_urlpatterns() -> list[URLPattern]:
    """The ceiling routes, or none when the benchmark flag is off."""
    if not bench_enabled():
        return []
    return [
        path("bench/ceiling/json", ceiling_json, name="bench_ceiling_json"),
        path("bench/ceiling/pk/<str:code>", ceiling_pk, name="bench_ceiling_pk"),
        path("bench/ceiling/ins", ceiling_insert, name="bench_ceiling_ins"),
    ]


urlpatterns = bench_urlpatterns()
