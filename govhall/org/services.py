"""Loading regions and maintaining departments and halls."""

import csv
from pathlib import Path

from django.db import transaction

from govhall.org.models import Department, Hall, Region, RegionLevel, Window

REGIONS_CSV = Path(__file__).resolve().parent / "data" / "regions.csv"


def regions_source_version(path: Path = REGIONS_CSV) -> str:
    """The data package the bundled region codes came from, as recorded in the CSV's first line."""
    with path.open(encoding="utf-8") as handle:
        first = handle.readline().strip()
    return first.removeprefix("# source:").strip()


def regions_load(*, path: Path = REGIONS_CSV) -> int:
    """Load GB/T 2260 regions from the bundled CSV; idempotent (existing codes are updated).

    Returns the number of regions created.
    """
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    names = {row["code"]: row["name"] for row in rows}
    existing = set(Region.objects.filter(code__in=names).values_list("code", flat=True))
    created = 0
    with transaction.atomic():
        for row in sorted(rows, key=lambda row: (int(row["level"]), row["code"])):
            parent = row["parent_code"] or None
            full_name = _region_full_name(code=row["code"], parent_code=parent, names=names, rows=rows)
            Region.objects.update_or_create(
                code=row["code"],
                defaults={
                    "name": row["name"],
                    "level": RegionLevel(int(row["level"])),
                    "parent_id": parent,
                    "full_name": full_name,
                },
            )
            created += row["code"] not in existing
    return created


def _region_full_name(*, code: str, parent_code: str | None, names: dict[str, str], rows: list) -> str:
    parts = [names[code]]
    parents = {row["code"]: row["parent_code"] for row in rows}
    while parent_code:
        parts.append(names[parent_code])
        parent_code = parents.get(parent_code) or None
    # The province is left out of city and lower names: "杭州市西湖区", as guides write them.
    if len(parts) > 1:
        parts = parts[:-1]
    return "".join(reversed(parts))


def department_upsert(
    *,
    code: str,
    name: str,
    region: Region,
    short_name: str = "",
    kind: str = "",
    credit_code: str = "",
    phone: str = "",
    address: str = "",
) -> Department:
    department, _created = Department.objects.update_or_create(
        code=code,
        defaults={
            "name": name,
            "region": region,
            "short_name": short_name,
            "kind": kind,
            "credit_code": credit_code,
            "phone": phone,
            "address": address,
        },
    )
    return department


def hall_upsert(
    *,
    name: str,
    region: Region,
    address: str,
    opening_hours: str,
    phone: str = "",
    windows: list[dict] | None = None,
) -> Hall:
    """Create or update a hall and its windows; ``windows`` items: number, name, departments."""
    with transaction.atomic():
        hall, _created = Hall.objects.update_or_create(
            name=name,
            defaults={"region": region, "address": address, "opening_hours": opening_hours, "phone": phone},
        )
        for item in windows or []:
            window, _created = Window.objects.update_or_create(
                hall=hall, number=item["number"], defaults={"name": item["name"]}
            )
            window.departments.set(item.get("departments", []))
    return hall
