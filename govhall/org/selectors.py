"""Reads of regions, departments and halls."""

from typing import Any, cast

from django.db import connection
from django.db.models import PROTECT, RESTRICT, Field, ForeignObjectRel, Model, QuerySet
from django.db.models.deletion import get_candidate_relations_to_delete

from govhall.org.models import Department, Hall, Region, RegionLevel
from govhall.queries import values_list_compiled


def region_list(*, level: RegionLevel | None = None, parent_code: str | None = None) -> QuerySet[Region]:
    regions = Region.objects.all()
    if level is not None:
        regions = regions.filter(level=level)
    if parent_code is not None:
        regions = regions.filter(parent_id=parent_code)
    return regions.order_by("code")


def region_counties_by_city() -> list[tuple[str, list[tuple[str, str]]]]:
    """County-level regions as (code, name), grouped under their city's name, in code order:
    what an address's region select offers, and how a chosen one is named. Every form with an
    address reads it, a case's page as well: read as values, by a statement compiled once per
    process, in 0.14 ms of CPU; the ninety-odd regions and their cities built as models took 1.2."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, name, city in values_list_compiled(
        "region_counties_by_city", _counties_with_city, int(RegionLevel.COUNTY)
    ):
        groups.setdefault(city or "", []).append((code, name))
    return list(groups.items())


def _counties_with_city(level: int) -> QuerySet[Region, Any]:
    return region_list(level=RegionLevel(level)).values_list("code", "name", "parent__name")


def region_get(*, code: str) -> Region | None:
    return Region.objects.filter(code=code).first()


def region_with_ancestors(*, region: Region) -> list[Region]:
    """The region and every region above it, top first (for breadcrumbs and cascades)."""
    chain = [region]
    while chain[-1].parent_id:
        parent = Region.objects.get(code=chain[-1].parent_id)
        chain.append(parent)
    return list(reversed(chain))


def region_code_prefix(code: str) -> str:
    """The prefix every code in a region starts with (GB/T 2260: 330000 → 33, 330100 → 3301,
    330106 → 330106), for filtering rows that copy a county's code."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_scope_codes(*, region_code: str) -> list[str]:
    """The code of a region and of every region above it, the region first (one recursive
    query; one per level took four round trips of every filtered list and search)."""
    table = Region._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE chain(code, parent_id, depth) AS ("  # noqa: S608 - the model's table name
            f"SELECT code, parent_id, 0 FROM {table} WHERE code = %s "
            f"UNION ALL SELECT region.code, region.parent_id, chain.depth + 1 FROM {table} region "
            "JOIN chain ON region.code = chain.parent_id WHERE chain.depth < 8) "
            "SELECT code FROM chain ORDER BY depth",
            [region_code],
        )
        return [code for (code,) in cursor.fetchall()]


def department_list(*, region_code: str | None = None, with_implementations: bool = False) -> QuerySet[Department]:
    departments = Department.objects.select_related("region")
    if region_code is not None:
        departments = departments.filter(region_id=region_code)
    if with_implementations:
        departments = departments.filter(implementations__state="active").distinct()
    return departments.order_by("region_id", "code")


def department_get(*, code: str) -> Department | None:
    return Department.objects.select_related("region").filter(code=code).first()


def department_referrers_counted(
    *, department_ids: list[int], bound: int
) -> list[tuple[type[Model], Field[Any, Any], int]]:
    """The rows that refer to these departments through a protecting foreign key (which keep
    them from being deleted): (model, foreign key, rows) for each such relation that has any,
    the rows counted through the key's index up to ``bound``, never read one by one (a busy
    department has millions of steps and timeline events)."""
    counted: list[tuple[type[Model], Field[Any, Any], int]] = []
    for candidate in get_candidate_relations_to_delete(cast(Any, Department._meta)):
        relation = cast(ForeignObjectRel, candidate)
        if relation.on_delete not in (PROTECT, RESTRICT):
            continue
        model, field = cast(type[Model], relation.related_model), relation.field
        rows = model._base_manager.filter(**{f"{field.name}__in": department_ids}).order_by()[:bound].count()
        if rows:
            counted.append((model, field, rows))
    return counted


def hall_list(*, region_code: str | None = None) -> QuerySet[Hall]:
    halls = Hall.objects.select_related("region").prefetch_related("windows__departments")
    if region_code is not None:
        halls = halls.filter(region_id=region_code)
    return halls.order_by("region_id", "name")
