"""The figures page of the workbench: tiles, a chart and a table for one's scope and a period,
drilling down province → city → county → department."""

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

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
    items = selectors.figures_items(user=request.user, start=start, end=end, region=region_code, limit=20)
    from govhall.supervision.selectors import warning_counts

    return _page(
        request,
        "metrics/dashboard.html",
        {
            "allowed": allowed,
            "tiles": tiles,
            "breakdown": breakdown,
            "items": items,
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


@login_required
@require_http_methods(["GET", "POST"])
def reports(request: HttpRequest) -> HttpResponse:
    """Ask for a monthly report of a region in one's scope and follow the ones asked for (the
    page reloads itself while one is being made)."""
    from govhall.metrics import reports as monthly
    from govhall.metrics.models import ReportState

    regions = monthly.report_regions(user=request.user)
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    values = {"region": regions[0].code if regions else "", "month": last_month.strftime("%Y-%m")}
    error, status = "", 200
    if request.method == "POST":
        values = {"region": request.POST.get("region", ""), "month": request.POST.get("month", "")}
        month = parse_date(f"{values['month']}-01") if len(values["month"]) == 7 else None
        if month is None:
            error = _("请选择月份。")
        else:
            try:
                monthly.report_request(user=request.user, region_code=values["region"], month=month)
            except monthly.ReportRefused as refused:
                error = refused.message
            else:
                messages.success(request, _("月报已开始生成，完成后可在下方下载。"))
                return redirect("metrics:reports")
        status = 422
    mine = monthly.reports_of(user=request.user)
    response = _page(
        request,
        "metrics/reports.html",
        {
            "regions": regions,
            "values": values,
            "error": error,
            "reports": mine,
            "working": any(report.state in (ReportState.QUEUED, ReportState.RUNNING) for report in mine),
        },
    )
    response.status_code = status
    return response


@login_required
@require_GET
def report_file(request: HttpRequest, report_id: int, kind: str) -> FileResponse:
    """The report's XLSX or PDF, to the person who asked for it only."""
    from govhall.metrics.reports import report_to_download

    report = report_to_download(user=request.user, report_id=report_id)
    if report is None or kind not in ("xlsx", "pdf"):
        raise Http404
    path = report.xlsx_file if kind == "xlsx" else report.pdf_file
    content_type = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if kind == "xlsx" else "application/pdf"
    )
    response = FileResponse(
        default_storage.open(path, "rb"),
        as_attachment=True,
        filename=f"运行月报-{report.region_id}-{report.month:%Y%m}.{kind}",
        content_type=content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response
