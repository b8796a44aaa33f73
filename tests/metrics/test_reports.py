"""The monthly report: asked for by a supervisor for a region in scope, made by the background
task with its progress on the row, downloaded by the asker only; the XLSX and the PDF open and
hold the dashboard's figures."""

import io
import re
import shutil
import subprocess

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from openpyxl import load_workbook

from govhall.metrics.models import Report, ReportState
from govhall.metrics.reports import month_bounds
from govhall.metrics.selectors import figures_items, figures_tiles
from govhall.metrics.tasks import report_make_task
from tests.cases.factories import case_world
from tests.factories import force_login_verified
from tests.metrics.test_figures import _generated

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return case_world()


def _download(client, report, kind):
    response = client.get(f"/workbench/figures/reports/{report.pk}/{kind}/")
    return response, b"".join(response.streaming_content) if response.status_code == 200 else b""


def test_a_supervisor_asks_follows_and_downloads_the_report_with_the_dashboards_figures(world, client):
    _generated(world)
    month = timezone.localdate().strftime("%Y-%m")
    force_login_verified(client, world.supervisor)

    asked = client.post("/workbench/figures/reports/", {"region": "330100", "month": month})
    report = Report.objects.get()
    queued_page = client.get("/workbench/figures/reports/").content.decode()
    assert asked.status_code == 302
    assert report.state == ReportState.QUEUED
    assert DBTaskResult.objects.filter(args_kwargs__args=[report.pk]).exists()
    assert 'http-equiv="refresh"' in queued_page and "排队中" in queued_page

    report_make_task.call(report.pk)  # what the worker does with the queued task
    report.refresh_from_db()
    page = client.get("/workbench/figures/reports/").content.decode()
    assert (report.state, report.progress) == (ReportState.DONE, 100)
    assert 'http-equiv="refresh"' not in page

    start, end = month_bounds(timezone.localdate())
    tiles = figures_tiles(user=world.supervisor, start=start, end=end, region="330100")
    items = figures_items(user=world.supervisor, start=start, end=end, region="330100")
    xlsx_response, xlsx = _download(client, report, "xlsx")
    assert xlsx_response["Content-Disposition"].startswith("attachment")
    workbook = load_workbook(io.BytesIO(xlsx))
    summary = {row[0]: row[1] for row in workbook["概况"].iter_rows(min_row=4, values_only=True)}
    assert summary["收件"] == tiles.counts["received"] > 0
    assert summary["办结"] == tiles.counts["completed"]
    assert summary["满意度(%)"] == tiles.satisfaction
    regions = {row[0]: row[1] for row in workbook["分地区"].iter_rows(min_row=2, values_only=True)}
    assert regions == {"西湖区": tiles.counts["received"]}
    assert [row[0] for row in workbook["事项"].iter_rows(min_row=2, values_only=True)] == [row["name"] for row in items]

    pdf_response, pdf = _download(client, report, "pdf")
    assert pdf.startswith(b"%PDF-") and pdf_response["Content-Type"] == "application/pdf"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
        text = text.decode()
        assert "杭州市" in text and "西湖区" in text
        assert re.search(rf"收件\s+{tiles.counts['received']}\s", text)


def test_reports_are_limited_to_the_scope_and_to_the_asker(world, client):
    force_login_verified(client, world.other_city_supervisor)  # 宁波市
    refused = client.post("/workbench/figures/reports/", {"region": "330100", "month": "2026-01"})
    future = client.post("/workbench/figures/reports/", {"region": "330200", "month": "2099-01"})
    no_month = client.post("/workbench/figures/reports/", {"region": "330200", "month": ""})
    assert refused.status_code == 422 and "监察范围" in refused.content.decode()
    assert 'value="2026-01"' in refused.content.decode()  # what was chosen is kept
    assert future.status_code == 422 and no_month.status_code == 422
    assert not Report.objects.exists()

    force_login_verified(client, world.supervisor)
    client.post("/workbench/figures/reports/", {"region": "330106", "month": "2026-01"})
    report = Report.objects.get()
    report_make_task.call(report.pk)
    assert _download(client, report, "pdf")[0].status_code == 200
    force_login_verified(client, world.other_city_supervisor)
    assert _download(client, report, "pdf")[0].status_code == 404
    force_login_verified(client, world.reviewer)
    assert "只有监察人员" in client.get("/workbench/figures/reports/").content.decode()
