"""The monthly operation report of a region (运行情况月报): asked for on the figures page, made
by a background task as an XLSX workbook and a PDF with the same figures, its progress kept on
the Report row for the person who asked."""

import datetime
import io
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts.guards import staff_region_prefixes
from govhall.accounts.models import Role
from govhall.audit.services import audit_record_add
from govhall.metrics import selectors
from govhall.metrics.models import Report, ReportState
from govhall.org.models import Region, RegionLevel
from govhall.org.selectors import region_code_prefix

# The columns of every table of the report: counter or rate name, heading.
COLUMNS = (
    ("received", "收件"),
    ("accepted", "受理"),
    ("refused", "不予受理"),
    ("corrections", "补正告知"),
    ("completed", "办结"),
    ("completed_late", "超期办结"),
    ("on_time_rate", "按时办结率(%)"),
    ("online_share", "网上办理占比(%)"),
    ("zero_visit_share", "零跑动占比(%)"),
    ("average_handling_days", "平均办理工作日"),
    ("ratings", "评价数"),
    ("satisfaction", "满意度(%)"),
)
ITEM_LIMIT = 30


class ReportRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = month.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following - datetime.timedelta(days=1)


def report_regions(*, user: Any) -> list[Region]:
    """The regions a supervisor may ask a report of: their own and those below."""
    prefixes = staff_region_prefixes(user=user, role=Role.SUPERVISOR)
    if not prefixes:
        return []
    scope = Q(pk__in=[])
    for prefix in prefixes:
        scope |= Q(code__startswith=prefix)
    return list(Region.objects.filter(scope).filter(level__lte=RegionLevel.COUNTY).order_by("code"))


def report_request(*, user: Any, region_code: str, month: datetime.date) -> Report:
    """Queue a report; the task is written in the same transaction as the row, so neither exists
    without the other."""
    from govhall.metrics.tasks import report_make_task

    region = next((region for region in report_regions(user=user) if region.code == region_code), None)
    if region is None:
        raise ReportRefused(_("只能生成本人监察范围内地区的月报。"))
    first, _last = month_bounds(month)
    if first > timezone.localdate():
        raise ReportRefused(_("不能生成尚未开始的月份的月报。"))
    with transaction.atomic():
        report = Report.objects.create(region=region, month=first, requested_by=user, requested_at=timezone.now())
        audit_record_add(
            actor=user,
            action="report_request",
            object_type="report",
            object_id=report.pk,
            summary=f"{region.name} {first:%Y-%m}",
        )
        report_make_task.enqueue(report.pk)
    return report


def reports_of(*, user: Any, limit: int = 20) -> list[Report]:
    """The reports ``user`` asked for, newest first: nobody else's are listed."""
    return list(Report.objects.filter(requested_by_id=user.pk).select_related("region")[:limit])


def report_to_download(*, user: Any, report_id: int) -> Report | None:
    """A finished report, to the person who asked for it only."""
    return Report.objects.filter(pk=report_id, requested_by_id=user.pk, state=ReportState.DONE).first()


@dataclass
class ReportFigures:
    region: Region
    start: datetime.date
    end: datetime.date
    tiles: dict[str, Any]
    previous: dict[str, Any]
    breakdown: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    items: list[dict[str, Any]]
    warnings: list[tuple[str, int, int, int]]  # rule label, yellow, red, cleared


def report_figures(*, region: Region, month: datetime.date) -> ReportFigures:
    """Every figure the report holds, read from the counter tables (and warnings raised in the
    month): the same numbers the dashboard shows for that region and month."""
    from govhall.supervision.models import Warning, WarningLevel, WarningRule

    start, end = month_bounds(month)
    previous_start, previous_end = month_bounds(start - datetime.timedelta(days=1))
    rows = selectors.region_rows(region=region.code, start=start, end=end)
    raised = Warning.objects.filter(
        region_code__startswith=region_code_prefix(region.code),
        raised_at__gte=_local_midnight(start),
        raised_at__lt=_local_midnight(end + datetime.timedelta(days=1)),
    )
    counts = {
        row["rule"]: row
        for row in raised.values("rule").annotate(
            yellow=Count("id", filter=Q(level=WarningLevel.YELLOW)),
            red=Count("id", filter=Q(level=WarningLevel.RED)),
            cleared=Count("id", filter=Q(cleared_at__isnull=False)),
        )
    }
    warnings = [
        (str(label), counts[rule]["yellow"], counts[rule]["red"], counts[rule]["cleared"])
        for rule, label in WarningRule.choices
        if rule in counts
    ]
    return ReportFigures(
        region=region,
        start=start,
        end=end,
        tiles=selectors.tiles_of(rows).as_dict(),
        previous=selectors.tiles_of(
            selectors.region_rows(region=region.code, start=previous_start, end=previous_end)
        ).as_dict(),
        breakdown=selectors.breakdown_of(rows, region=region.code),
        departments=selectors.breakdown_of(rows, region=region.code, by="department"),
        items=selectors.items_of(
            selectors.region_item_rows(region=region.code, start=start, end=end), limit=ITEM_LIMIT
        ),
        warnings=warnings,
    )


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _value(row: dict[str, Any], name: str) -> Any:
    value = row.get(name)
    return "" if value is None else value


def report_xlsx(figures: ReportFigures) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "概况"
    summary.append([f"{figures.region.full_name} 政务服务运行情况月报 {figures.start:%Y年%m月}"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([f"统计期间 {figures.start:%Y-%m-%d} 至 {figures.end:%Y-%m-%d}"])
    summary.append(["指标", "本月", "上月"])
    for name, heading in COLUMNS:
        summary.append([heading, _value(figures.tiles, name), _value(figures.previous, name)])
    summary.column_dimensions["A"].width = 22
    for title, rows in (
        ("分地区" if figures.breakdown and figures.breakdown[0]["is_region"] else "分部门", figures.breakdown),
        ("部门", figures.departments),
        ("事项", figures.items),
    ):
        sheet = workbook.create_sheet(title)
        sheet.append(["名称"] + [heading for _name, heading in COLUMNS])
        for row in rows:
            sheet.append([row["name"]] + [_value(row, name) for name, _heading in COLUMNS])
        sheet.column_dimensions["A"].width = 30
    sheet = workbook.create_sheet("预警")
    sheet.append(["规则", "黄牌", "红牌", "已解除"])
    for warning in figures.warnings:
        sheet.append(list(warning))
    sheet.column_dimensions["A"].width = 30
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def report_pdf(figures: ReportFigures) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from govhall.licences.render import pdf_font_name

    font = pdf_font_name()
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = font  # type: ignore[attr-defined]
    output = io.BytesIO()
    document = SimpleDocTemplate(
        output,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{figures.region.full_name} {figures.start:%Y-%m}",
    )
    table_style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ]
    )

    def table(rows: list[dict[str, Any]]) -> Table:
        data = [["名称"] + [heading for _name, heading in COLUMNS]]
        data += [[str(row["name"])[:20]] + [str(_value(row, name)) for name, _heading in COLUMNS] for row in rows]
        return Table(data, style=table_style, repeatRows=1)

    story: list[Any] = [
        Paragraph(f"{figures.region.full_name} 政务服务运行情况月报 {figures.start:%Y年%m月}", styles["Title"]),
        Paragraph(f"统计期间 {figures.start:%Y-%m-%d} 至 {figures.end:%Y-%m-%d}", styles["Normal"]),
        Spacer(1, 4 * mm),
        Table(
            [["指标", "本月", "上月"]]
            + [
                [heading, str(_value(figures.tiles, name)), str(_value(figures.previous, name))]
                for name, heading in COLUMNS
            ],
            style=table_style,
        ),
    ]
    for heading, rows in (
        ("分地区（部门）", figures.breakdown),
        ("分部门", figures.departments),
        ("分事项", figures.items),
    ):
        if rows:
            story += [Spacer(1, 4 * mm), Paragraph(heading, styles["Heading2"]), table(rows)]
    if figures.warnings:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("预警", styles["Heading2"]),
            Table(
                [["规则", "黄牌", "红牌", "已解除"]] + [[str(cell) for cell in row] for row in figures.warnings],
                style=table_style,
            ),
        ]
    document.build(story)
    return output.getvalue()


def _progress(report: Report, progress: int, step: str) -> None:
    Report.objects.filter(pk=report.pk).update(progress=progress, step=step)


def report_make(report_id: int) -> Report:
    """The task's work: figures, XLSX, PDF, each step written to the row as it is reached."""
    report = Report.objects.select_related("region").get(pk=report_id)
    if report.state == ReportState.DONE:
        return report
    Report.objects.filter(pk=report.pk).update(state=ReportState.RUNNING, progress=5, step="统计数据", error="")
    try:
        figures = report_figures(region=report.region, month=report.month)
        _progress(report, 40, "生成 XLSX")
        base = f"reports/{report.pk}-{report.region_id}-{report.month:%Y%m}"
        xlsx = default_storage.save(f"{base}.xlsx", ContentFile(report_xlsx(figures)))
        _progress(report, 70, "生成 PDF")
        pdf = default_storage.save(f"{base}.pdf", ContentFile(report_pdf(figures)))
    except Exception as error:  # the person who asked sees that it failed; the log has the rest
        Report.objects.filter(pk=report.pk).update(
            state=ReportState.FAILED, error=type(error).__name__[:255], finished_at=timezone.now()
        )
        raise
    Report.objects.filter(pk=report.pk).update(
        state=ReportState.DONE, progress=100, step="", xlsx_file=xlsx, pdf_file=pdf, finished_at=timezone.now()
    )
    report.refresh_from_db()
    return report
