"""Who sees which warnings and urgings: supervisors their region and below, department staff
their own departments, nobody else."""

from typing import Any

from django.db.models import Q, QuerySet

from govhall.accounts.guards import staff_assignments, staff_region_prefixes
from govhall.accounts.models import Role
from govhall.supervision.models import Urge, Warning, WarningLevel

DEPARTMENT_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER, Role.DEPARTMENT_ADMINISTRATOR)


def _scope(user: Any, *, region_field: str, department_field: str) -> Q | None:
    prefixes = staff_region_prefixes(user=user, role=Role.SUPERVISOR)
    departments = {a.department_id for a in staff_assignments(user=user) if a.role in DEPARTMENT_ROLES}
    scope = Q(pk__in=[])
    for prefix in prefixes:
        scope |= Q(**{f"{region_field}__startswith": prefix})
    if departments:
        scope |= Q(**{f"{department_field}__in": departments})
    return scope if prefixes or departments else None


def warnings_open(
    *, user: Any, level: str | None = None, department: Any = None, region: str | None = None, rule: str | None = None
) -> QuerySet[Warning]:
    scope = _scope(user, region_field="region_code", department_field="department_id")
    if scope is None:
        return Warning.objects.none()
    warnings = Warning.objects.filter(scope, cleared_at__isnull=True).select_related("case", "department")
    if level:
        warnings = warnings.filter(level=level)
    if rule:
        warnings = warnings.filter(rule=rule)
    if department is not None:
        warnings = warnings.filter(department=department)
    if region:
        warnings = warnings.filter(region_code__startswith=region.rstrip("0") or region)
    return warnings.order_by("-level", "raised_at", "id")


def warnings_cleared(*, user: Any) -> QuerySet[Warning]:
    scope = _scope(user, region_field="region_code", department_field="department_id")
    if scope is None:
        return Warning.objects.none()
    return Warning.objects.filter(scope, cleared_at__isnull=False).select_related("case", "department")


def warning_counts(*, user: Any, region: str | None = None, department: Any = None) -> dict[str, int]:
    warnings = warnings_open(user=user, department=department, region=region)
    return {
        "yellow": warnings.filter(level=WarningLevel.YELLOW).count(),
        "red": warnings.filter(level=WarningLevel.RED).count(),
    }


def urges_visible(*, user: Any) -> QuerySet[Urge]:
    departments = {a.department_id for a in staff_assignments(user=user) if a.role in DEPARTMENT_ROLES}
    prefixes = staff_region_prefixes(user=user, role=Role.SUPERVISOR)
    scope = Q(supervisor=user) | Q(department_id__in=departments)
    for prefix in prefixes:
        scope |= Q(department__region__code__startswith=prefix)
    return Urge.objects.filter(scope).select_related("department", "supervisor").prefetch_related("cases")
