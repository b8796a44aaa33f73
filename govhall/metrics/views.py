"""The figures page of the workbench: tiles, a chart and a table for one's scope and a period,
drilling down province → city → county → department."""

import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from govhall.metrics import selectors
from govhall.org.models import Region
from govhall.workbench.views import _page

PERIODS = ("month", "last_month", "year", "custom")


def period_of(request: HttpRequest) -> tuple[str, datetime.date, datetime.date]:
    today = timezone.localdate()
    period = str(request.GET.get("period")) if request.GET.get("period") in PERIODS else "month"
    if period == "last_month":
        end = today.replace(day=1) - datetime.timedelta(days=1)
        return period, end.replace(day=1), end
    if period == "year":
        return period, today.replace(month=1, day=1), today
    if period == "custom":
        start = parse_date(request.GET.get("from") or "") or today.replace(day=1)
        end = parse_date(request.GET.get("to") or "") or today
        if end < start:
            start, end = end, start
        return period, start, end
    return period, today.replace(day=1), today


def _chart(rows: list[dict[str, Any]], field: str) -> dict[str, Any]:
    """A horizontal bar chart drawn on the server (SVG; the same figures are in the table)."""
    top = max((row[field] for row in rows), default=0) or 1
    bars = [
        {"y": 24 * index, "width": round(360 * row[field] / top), "label": row["name"], "value": row[field]}
        for index, row in enumerate(rows[:20])
    ]
    return {"bars": bars, "height": 24 * len(bars) + 4}


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    period, start, end = period_of(request)
    region_code = (request.GET.get("region") or "").strip()[:12] or None
    region = Region.objects.filter(code=region_code).first() if region_code else None
    allowed = selectors.figures_scope(user=request.user) is not None
    tiles = selectors.figures_tiles(user=request.user, start=start, end=end, region=region_code)
    breakdown = selectors.figures_breakdown(user=request.user, start=start, end=end, region=region_code)
    from govhall.supervision.selectors import warning_counts

    return _page(
        request,
        "metrics/dashboard.html",
        {
            "allowed": allowed,
            "tiles": tiles,
            "breakdown": breakdown,
            "chart": _chart(breakdown, "received"),
            "period": period,
            "start": start,
            "end": end,
            "region": region,
            "parent": region.parent if region is not None else None,
            "warnings": warning_counts(user=request.user, region=region_code),
            "periods": [
                ("month", _("本月")),
                ("last_month", _("上月")),
                ("year", _("本年")),
                ("custom", _("自定义")),
            ],
        },
    )
