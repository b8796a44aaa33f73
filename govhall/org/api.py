"""Public API: regions (GB/T 2260) and departments, read-only."""

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view

from govhall.api_errors import ERROR_RESPONSES, not_found
from govhall.api_schema import ResponseSchema, answer
from govhall.conditional import revalidated
from govhall.org.models import Department, Region, RegionLevel
from govhall.org.selectors import department_list, region_get, region_list, region_with_ancestors

router = Router(tags=["regions"])

REGION_CODE_PATTERN = r"^[0-9]{6}([0-9]{3}){0,2}$"


class RegionLevelOut(ResponseSchema):
    code: int = Field(..., description="层级：1 省级，2 市级，3 县级，4 乡镇级 (level: 1 province … 4 town)")
    label: str


class RegionRefOut(ResponseSchema):
    code: str = Field(..., description="区划代码 GB/T 2260 (region code)")
    name: str
    full_name: str
    level: RegionLevelOut


class RegionOut(RegionRefOut):
    parent_code: str | None = Field(..., description="上级区划代码 (code of the region above)")


class RegionDetailOut(RegionOut):
    children_count: int = Field(..., description="下级区划数 (number of regions directly below)")
    ancestors: list[RegionRefOut] = Field(..., description="上级区划，自省级起 (the regions above, province first)")


class RegionListOut(ResponseSchema):
    total: int
    items: list[RegionOut]


class RegionListQuery(Schema):
    parent: str | None = Field(
        None, pattern=REGION_CODE_PATTERN, description="只列出该区划的直接下级 (only regions directly below this code)"
    )
    level: int | None = Field(None, ge=1, le=4, description="层级 1–4 (level 1 to 4)")


class DepartmentOut(ResponseSchema):
    code: str = Field(..., description="部门编码 (department code)")
    name: str
    short_name: str
    region: RegionRefOut
    phone: str
    address: str


class DepartmentListOut(ResponseSchema):
    total: int
    items: list[DepartmentOut]


class DepartmentListQuery(Schema):
    region: str | None = Field(
        None, pattern=REGION_CODE_PATTERN, description="所属区划代码 (departments of this region only)"
    )


def region_ref(region: Region) -> dict:
    return {
        "code": region.code,
        "name": region.name,
        "full_name": region.full_name,
        "level": {"code": region.level, "label": str(RegionLevel(region.level).label)},
    }


def _region_out(region: Region) -> dict:
    return {**region_ref(region), "parent_code": region.parent_id}


def _department_out(department: Department) -> dict:
    return {
        "code": department.code,
        "name": department.name,
        "short_name": department.short_name,
        "region": region_ref(department.region),
        "phone": department.phone,
        "address": department.address,
    }


@router.get(
    "/regions",
    response={200: RegionListOut, **ERROR_RESPONSES},
    url_name="region_list",
    summary="行政区划列表 (list regions)",
)
@decorate_view(revalidated)
def region_list_endpoint(request: HttpRequest, filters: Query[RegionListQuery]) -> HttpResponse:
    """按上级区划或层级筛选行政区划。 Regions, filtered by the region above them or by level."""
    level = RegionLevel(filters.level) if filters.level is not None else None
    regions = list(region_list(level=level, parent_code=filters.parent))
    return answer(request, RegionListOut, {"total": len(regions), "items": [_region_out(region) for region in regions]})


@router.get(
    "/regions/{code}",
    response={200: RegionDetailOut, **ERROR_RESPONSES},
    url_name="region_detail",
    summary="行政区划详情 (one region)",
)
@decorate_view(revalidated)
def region_detail_endpoint(request: HttpRequest, code: str) -> HttpResponse:
    """一个行政区划，含其上级区划和下级区划数。 One region with the regions above it and its number of children."""
    region = region_get(code=code)
    if region is None:
        raise not_found(
            gettext_lazy("没有代码为“%(code)s”的行政区划。"), f"No region with code {code!r}.", params={"code": code}
        )
    ancestors = region_with_ancestors(region=region)[:-1]
    detail = {
        **_region_out(region),
        "children_count": region_list(parent_code=region.code).count(),
        "ancestors": [region_ref(ancestor) for ancestor in ancestors],
    }
    return answer(request, RegionDetailOut, detail)


@router.get(
    "/departments",
    response={200: DepartmentListOut, **ERROR_RESPONSES},
    url_name="department_list",
    summary="部门列表 (list departments)",
    tags=["departments"],
)
@decorate_view(revalidated)
def department_list_endpoint(request: HttpRequest, filters: Query[DepartmentListQuery]) -> HttpResponse:
    """政务服务部门，可按所属区划筛选。 Government departments, optionally of one region."""
    departments = list(department_list(region_code=filters.region))
    listed = {"total": len(departments), "items": [_department_out(department) for department in departments]}
    return answer(request, DepartmentListOut, listed)
