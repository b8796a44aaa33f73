"""Licence types and licences made through the real services."""

from typing import Any

from govhall.licences.models import HolderKind, LicenceType
from govhall.licences.services import licence_issue
from govhall.org.models import Department
from tests.factories import make_department, make_person, unique

FOOD_FIELDS = [
    {"name": "business_name", "label": "经营者名称", "source": "holder.name", "required": True},
    {"name": "address", "label": "经营场所", "source": "form.business_address", "required": False},
    {"name": "scope", "label": "经营项目", "source": "form.business_scope", "required": False},
]


def make_licence_type(
    *, code: str | None = None, holder_kind: str = HolderKind.PERSON, **overrides: Any
) -> LicenceType:
    values: dict[str, Any] = {
        "code": code or unique("11100000")[:24].upper().replace("-", ""),
        "name": "食品经营许可证",
        "holder_kind": holder_kind,
        "validity_months": 60,
        "fields": FOOD_FIELDS,
        "layout": {"title": "食品经营许可证"},
        **overrides,
    }
    return LicenceType.objects.create(**values)


def issuing_department(region_code: str = "330106", kind: str = "market") -> Any:
    department = Department.objects.filter(code=f"{region_code}{kind.upper()}").first()
    department = department or make_department(region_code=region_code, kind=kind)
    if not department.credit_code:
        department.credit_code = "11330106002494880Y"
        department.save(update_fields=["credit_code"])
    return department


def make_licence(*, licence_type: LicenceType | None = None, person: Any = None, department: Any = None) -> Any:
    licence_type = licence_type or make_licence_type()
    person = person or make_person()
    return licence_issue(
        licence_type=licence_type,
        issuer=department or issuing_department(),
        fields={"business_name": person.name, "address": "杭州市西湖区文三路 1 号", "scope": "热食类食品制售"},
        holder_person=person,
    )
