"""Figures for staff systems and dashboards: tiles and a breakdown, scoped like the page."""

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from govhall.api_errors import ErrorOut
from govhall.cases.api import STAFF_AUTH
from govhall.metrics import selectors

router = Router(tags=["figures"])


def _period(start: datetime.date | None, end: datetime.date | None) -> tuple[datetime.date, datetime.date]:
    today = timezone.localdate()
    return start or today.replace(day=1), end or today


@router.get(
    "/figures/tiles",
    response={200: dict[str, Any], 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    auth=STAFF_AUTH,
    summary="统计指标 (figures for a period and region)",
)
def figures_tiles_endpoint(
    request: HttpRequest,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """收件、受理、办结、按时办结率、网办率、零跑动率、平均办理工作日、满意度等；监察人员看本地区及以下，部门人员看本部门。

    Received, accepted, completed, on-time rate, online share, zero-visit share, average handling
    working days, satisfaction …; supervisors see their region and below, department staff their
    departments.
    """
    first, last = _period(start, end)
    return selectors.figures_tiles(
        user=request.auth,  # type: ignore[attr-defined]
        start=first,
        end=last,
        region=region,
    ).as_dict()


@router.get(
    "/figures/breakdown",
    response={200: list[dict[str, Any]], 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    auth=STAFF_AUTH,
    summary="分地区、分部门或分事项统计 (figures by region, department or item)",
)
def figures_breakdown_endpoint(
    request: HttpRequest,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    region: str | None = None,
    by: str = "region",
) -> list[dict[str, Any]]:
    """下一级地区（by=department 为部门，by=item 为事项：按自然月统计，取收件最多的50项）的同一组指标。

    The same figures for each region one level down (by=department: each department; by=item:
    each item, counted by calendar month, the 50 with the most applications).
    """
    first, last = _period(start, end)
    if by == "item":
        return selectors.figures_items(
            user=request.auth,  # type: ignore[attr-defined]
            start=first,
            end=last,
            region=region,
        )
    return selectors.figures_breakdown(
        user=request.auth,  # type: ignore[attr-defined]
        start=first,
        end=last,
        region=region,
        by=by,
    )
