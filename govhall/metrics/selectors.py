"""Reading the figures: a scope (supervisors their region and below, department staff their
departments), a period, and a breakdown by child region or by department."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum

from govhall.accounts.guards import staff_assignments, staff_region_prefixes
from govhall.accounts.models import Role
from govhall.metrics.models import COUNTERS, DepartmentDay

DEPARTMENT_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER, Role.DEPARTMENT_ADMINISTRATOR)


@dataclass
class Tiles:
    counts: dict[str, int]

    def _share(self, part: str, whole: str) -> float | None:
        return round(100 * self.counts[part] / self.counts[whole], 1) if self.counts[whole] else None

    @property
    def on_time_rate(self) -> float | None:
        return self._share("completed_on_time", "completed")

    @property
    def online_share(self) -> float | None:
        return self._share("received_online", "received")

    @property
    def zero_visit_share(self) -> float | None:
        return self._share("zero_visit", "completed")

    @property
    def completion_of_started(self) -> float | None:
        return self._share("received", "started")

    @property
    def average_handling_days(self) -> float | None:
        return round(self.counts["handling_days"] / self.counts["completed"], 1) if self.counts["completed"] else None

    @property
    def satisfaction(self) -> float | None:
        """Share of ratings that are not bad (levels 3–5)."""
        if not self.counts["ratings"]:
            return None
        return round(100 * (self.counts["ratings"] - self.counts["ratings_bad"]) / self.counts["ratings"], 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "on_time_rate": self.on_time_rate,
            "online_share": self.online_share,
            "zero_visit_share": self.zero_visit_share,
            "completion_of_started": self.completion_of_started,
            "average_handling_days": self.average_handling_days,
            "satisfaction": self.satisfaction,
        }


def figures_scope(*, user: Any) -> Q | None:
    """None: the user sees no figures."""
    prefixes = staff_region_prefixes(user=user, role=Role.SUPERVISOR)
    departments = {a.department_id for a in staff_assignments(user=user) if a.role in DEPARTMENT_ROLES}
    if not prefixes and not departments:
        return None
    scope = Q(pk__in=[])
    for prefix in prefixes:
        scope |= Q(region_code__startswith=prefix)
    if departments:
        scope |= Q(department_id__in=departments)
    return scope


def _rows(*, user: Any, start: datetime.date, end: datetime.date, region: str | None) -> QuerySet[DepartmentDay]:
    scope = figures_scope(user=user)
    if scope is None:
        return DepartmentDay.objects.none()
    rows = DepartmentDay.objects.filter(scope, day__gte=start, day__lte=end)
    if region:
        if region.endswith("0000"):
            rows = rows.filter(province_code=region)
        elif region.endswith("00"):
            rows = rows.filter(city_code=region)
        else:
            rows = rows.filter(region_code=region)
    return rows


def figures_tiles(*, user: Any, start: datetime.date, end: datetime.date, region: str | None = None) -> Tiles:
    totals = _rows(user=user, start=start, end=end, region=region).aggregate(**{name: Sum(name) for name in COUNTERS})
    return Tiles({name: int(totals[name] or 0) for name in COUNTERS})


def figures_breakdown(
    *, user: Any, start: datetime.date, end: datetime.date, region: str | None = None, by: str = "region"
) -> list[dict[str, Any]]:
    """Rows per child region (province → cities, city → counties, county → departments) or per
    department, each with the same counters and rates as the tiles."""
    rows = _rows(user=user, start=start, end=end, region=region)
    if by == "department" or (region and not region.endswith("00")):
        key, label = "department_id", "department__name"
    elif region and region.endswith("0000"):
        key, label = "city_code", ""
    elif region:
        key, label = "region_code", ""
    else:
        key, label = "city_code", ""
    fields = [key] + ([label] if label else [])
    grouped = rows.values(*fields).annotate(**{name: Sum(name) for name in COUNTERS}).order_by(key)
    result = []
    names = {}
    if not label:
        from govhall.org.models import Region

        codes = [row[key] for row in grouped]
        names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    for row in grouped:
        tiles = Tiles({name: int(row[name] or 0) for name in COUNTERS})
        result.append(
            {
                "key": row[key],
                "name": row[label] if label else names.get(row[key], row[key]),
                "is_region": not label,
                **tiles.as_dict(),
            }
        )
    return result
