"""Public API: the published service catalogue (implementations, guides, versions, themes), read-only.

Everything here is public: the selectors exclude cancelled implementations and those of cancelled
entries, so such codes answer "not found" exactly like codes that never existed.
"""

import functools
from datetime import datetime
from typing import Any, Literal

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view
from pydantic import field_validator

from govhall.api_errors import ERROR_RESPONSES, not_found
from govhall.api_schema import ResponseSchema, answer
from govhall.catalog.kept_answers import kept_answer
from govhall.catalog.models import (
    AreaOfHandling,
    Audience,
    CaseType,
    ChangeAction,
    ChangeTarget,
    DayUnit,
    Implementation,
    ImplementationVersion,
    ItemKind,
    ItemState,
    MaterialForm,
    MaterialRequirement,
    MaterialSource,
    OnlineDepth,
    ResultType,
    SourceOfPower,
    Theme,
)
from govhall.catalog.search import SUMMARY_DEFERRED
from govhall.catalog.selectors import (
    BADGE_AT_MOST_ONE_VISIT,
    BADGE_FULLY_ONLINE,
    BADGE_ZERO_VISIT,
    Guide,
    ImplementationPages,
    badges_for,
    implementation_guide,
    implementation_public_queryset,
    implementation_search,
    implementation_version_list,
    theme_list,
)
from govhall.conditional import revalidated
from govhall.labels import choice_answer as _choice
from govhall.paths import Addresses

router = Router(tags=["catalogue"])

BADGE_LABELS = {
    BADGE_FULLY_ONLINE: gettext_lazy("全程网办"),
    BADGE_ZERO_VISIT: gettext_lazy("零跑动"),
    BADGE_AT_MOST_ONE_VISIT: gettext_lazy("最多跑一次"),
}
BadgeCode = Literal["fully_online", "at_most_one_visit", "zero_visit", "1", "2", "3", "4", "5", "6", "7"]
AudienceCode = Literal["person", "company"]
PAGE_SIZE_MAX = 100


# ---------------------------------------------------------------------------------------------
# Input schemas


class ImplementationListQuery(Schema):
    q: str | None = Field(
        None, max_length=100, description="全文检索，如“开公司” (full-text search, synonyms included)"
    )
    region: str | None = Field(
        None,
        pattern=r"^[0-9]{6}([0-9]{3}){0,2}$",
        description="区划代码：本区划及其上级区划实施的事项 (region code: items of this region and those above it)",
    )
    department: str | None = Field(None, max_length=32, description="实施部门编码 (department code)")
    theme: str | None = Field(None, max_length=32, description="主题编码 (theme code)")
    audience: AudienceCode | None = Field(None, description="服务对象 (audience): person 个人, company 法人")
    badge: BadgeCode | None = Field(
        None,
        description=(
            "fully_online 全程网办, at_most_one_visit 最多跑一次, zero_visit 零跑动, "
            "或网上办理深度 1–7 (or one online depth level 1–7)"
        ),
    )
    kind: ItemKind | None = Field(None, description="事项类型 (item kind)")
    page: int = Field(1, ge=1, description="页码，从 1 起 (page number, from 1)")
    page_size: int = Field(20, ge=1, le=PAGE_SIZE_MAX, description="每页条数，最多 100 (items per page, at most 100)")

    @field_validator("q", "region", "department", "theme", "audience", "badge", "kind", mode="before")
    @classmethod
    def _empty_means_no_filter(cls, value: Any) -> Any:
        # An HTML form sends "region=" for "all regions": that is no filter, not a bad code.
        return None if value == "" else value


class GuideQuery(Schema):
    version: int | None = Field(None, ge=1, description="已发布的版本号；缺省为当前版本 (a published version number)")


class ThemeListQuery(Schema):
    audience: AudienceCode | None = Field(None, description="服务对象 (audience): person 个人, company 法人")


# ---------------------------------------------------------------------------------------------
# Output schemas


class CodeLabelOut(ResponseSchema):
    code: str = Field(..., description="机器代码 (machine code)")
    label: str = Field(..., description="名称，随请求语言 (label in the request's language)")


class DepthLevelOut(ResponseSchema):
    level: int = Field(..., description="网上办理深度 1–7 (online depth level)")
    label: str


class TimeLimitOut(ResponseSchema):
    days: int
    unit: CodeLabelOut = Field(..., description="working 工作日 / calendar 自然日")


class PlaceOut(ResponseSchema):
    code: str
    name: str


class ThemeRefOut(ResponseSchema):
    code: str
    name: str


class SearchMatchOut(ResponseSchema):
    name_highlighted: str = Field(
        ..., description="转义后的名称，命中处以 <mark> 标出 (escaped name, matches in <mark>)"
    )
    snippet_highlighted: str = Field(
        ..., description="转义后的摘要，命中处以 <mark> 标出 (escaped snippet, matches in <mark>)"
    )
    score: float


class ImplementationSummaryOut(ResponseSchema):
    implementation_code: str = Field(..., description="实施编码 (implementation code)")
    name: str = Field(..., description="事项名称 (item name)")
    basic_code: str = Field(..., description="基本编码 (basic code of the catalogue entry)")
    kind: CodeLabelOut
    region: PlaceOut = Field(..., description="实施区划 (implementing region)")
    department: PlaceOut = Field(..., description="实施部门 (implementing department)")
    badges: list[CodeLabelOut] = Field(..., description="fully_online / zero_visit / at_most_one_visit")
    statutory_time_limit: TimeLimitOut = Field(..., description="法定办结时限 (statutory time limit)")
    promised_time_limit: TimeLimitOut = Field(..., description="承诺办结时限 (promised time limit)")
    site_visits: int = Field(..., description="到办事现场次数 (site visits required)")
    online_depth: list[DepthLevelOut] = Field(..., description="网上办理深度 (online depth levels)")
    state: CodeLabelOut = Field(..., description="active 在用 / suspended 暂停办理")
    version: int
    guide_url: str = Field(..., description="门户办事指南页面 (guide page on the portal)")
    api_url: str = Field(..., description="本接口中的详情地址 (detail in this API)")
    match: SearchMatchOut | None = Field(None, description="检索时的命中信息 (search match, only with q)")


class SearchInfoOut(ResponseSchema):
    tokens: list[str] = Field(..., description="分词结果 (the words the query was segmented into)")
    suggested_themes: list[ThemeRefOut]


class ImplementationPageOut(ResponseSchema):
    total: int = Field(..., description="符合条件的总数 (number of matching items)")
    page: int
    page_size: int
    items: list[ImplementationSummaryOut]
    search: SearchInfoOut | None = Field(None, description="仅在使用 q 时提供 (only with q)")


class MaterialOut(ResponseSchema):
    order: int
    name: str
    requirement: CodeLabelOut = Field(..., description="required 必要 / conditional 容缺或情形必要")
    condition: str = Field(..., description="情形 (when the material is needed)")
    form: CodeLabelOut = Field(..., description="材料形式 (original, copy, electronic …)")
    copies: int
    source: CodeLabelOut = Field(..., description="来源渠道 (who produces it)")
    notes: str = Field(..., description="填报须知 (notes)")
    licence_type_code: str = Field(..., description="可替代的电子证照类型 (licence type that can stand in)")
    blank_form_url: str | None = Field(..., description="空白表格 (blank form)")
    example_file_url: str | None = Field(..., description="示例样表 (filled example)")


class ProcessStepOut(ResponseSchema):
    order: int
    name: str
    description: str
    duration_days: int = Field(..., description="环节时限（工作日） (working days)")


class FeeOut(ResponseSchema):
    charges_fee: bool
    standard: str = Field(..., description="收费标准 (fee standard)")
    basis: str = Field(..., description="收费依据 (legal basis of the fee)")


class HallOut(ResponseSchema):
    name: str
    address: str
    opening_hours: str
    phone: str


class ContactOut(ResponseSchema):
    consultation_phone: str
    supervision_phone: str


class OnlineOut(ResponseSchema):
    available: bool = Field(..., description="是否网办 (can be applied for online)")
    depth: list[DepthLevelOut]
    assurance_level: int = Field(
        ..., ge=1, le=4, description="实名认证等级要求 L1–L4 (the identity assurance level the service needs)"
    )
    payment: bool = Field(..., description="支持网上支付 (online payment)")
    express_delivery: bool = Field(..., description="支持物流快递 (result sent by express)")
    appointment: bool = Field(..., description="支持预约办理 (appointments)")


class ResultOut(ResponseSchema):
    type: CodeLabelOut = Field(..., description="licence 证照 / document 批文 / other 其他")
    name: str
    licence_type_code: str


class GuideOut(ResponseSchema):
    implementation_code: str
    basic_code: str
    name: str
    kind: CodeLabelOut
    version: int = Field(..., description="本指南的版本号 (version of this guide)")
    current_version: int = Field(..., description="当前发布的版本号 (currently published version)")
    is_current: bool
    published_at: datetime
    state: CodeLabelOut
    description: str = Field(..., description="事项说明 (what the item is)")
    legal_basis: str = Field(..., description="设定依据 (legal basis)")
    region: PlaceOut
    department: PlaceOut
    entrusted_agency: str
    source_of_power: CodeLabelOut
    for_persons: bool
    for_companies: bool
    themes: list[ThemeRefOut]
    acceptance_conditions: str = Field(..., description="受理条件 (acceptance conditions)")
    materials: list[MaterialOut]
    process_steps: list[ProcessStepOut]
    statutory_time_limit: TimeLimitOut
    promised_time_limit: TimeLimitOut
    special_procedures: str = Field(..., description="特别程序 (special procedures, outside the time limit)")
    case_type: CodeLabelOut = Field(..., description="immediate 即办件 / committed 承诺件")
    site_visits: int
    badges: list[CodeLabelOut]
    fee: FeeOut
    address: str
    office_hours: str
    handled_in_hall: bool
    hall: HallOut | None
    windows: list[str] = Field(..., description="办理窗口 (windows, number and name)")
    area_of_handling: CodeLabelOut = Field(..., description="通办范围 (where it can be handled)")
    contact: ContactOut
    online: OnlineOut
    result: ResultOut
    guide_url: str
    api_url: str
    versions_url: str


class VersionOut(ResponseSchema):
    number: int
    published_at: datetime
    is_current: bool
    action: CodeLabelOut | None = Field(..., description="变更类型 (change action: add, change, suspend …)")
    target: CodeLabelOut | None = Field(..., description="entry 基本目录 / implementation 实施清单")
    reason: str = Field(..., description="变更理由 (reason for the change)")
    api_url: str


class VersionListOut(ResponseSchema):
    implementation_code: str
    current_version: int
    items: list[VersionOut]


class ThemeOut(ResponseSchema):
    code: str
    name: str
    name_en: str
    audience: CodeLabelOut
    description: str


class ThemeListOut(ResponseSchema):
    total: int
    items: list[ThemeOut]


# ---------------------------------------------------------------------------------------------
# Building the answers


def _depth_levels(online_depth: str, language: str | None = None) -> list[dict[str, Any]]:
    labels = _depth_labels(online_depth, language or translation.get_language())
    return [{"level": level, "label": text} for level, text in labels]


@functools.lru_cache(maxsize=1024)
def _depth_labels(online_depth: str, language: str | None) -> tuple[tuple[int, str], ...]:
    """The known levels of ``online_depth`` with their labels in ``language``."""
    levels = []
    for digit in online_depth:
        try:
            levels.append((int(digit), str(OnlineDepth(int(digit)).label)))
        except ValueError:
            continue
    return tuple(levels)


def _badges(*, site_visits: int, online_depth: str, language: str | None = None) -> list[dict[str, str]]:
    language = language or translation.get_language()
    return [
        {"code": badge, "label": _badge_label(badge, language)}
        for badge in badges_for(site_visits=site_visits, online_depth=online_depth)
    ]


@functools.lru_cache(maxsize=64)
def _badge_label(badge: str, language: str | None) -> str:
    """A badge's label in ``language`` (keyed by the badge's code: a lazy text's hash is its
    translation, made again on every call)."""
    return str(BADGE_LABELS.get(badge, badge))


def _time_limit(days: int, unit: str, language: str | None = None) -> dict[str, Any]:
    return {"days": days, "unit": _choice(DayUnit, unit, language)}


class _Addresses:
    """An implementation's API and guide addresses: reversed once per answer, not per item."""

    def __init__(self) -> None:
        self.api = Addresses("api-v1:implementation_detail", "implementation_code")
        self.guide = Addresses("portal:guide", "implementation_code")


def _file_url(name: str) -> str | None:
    return default_storage.url(name) if name else None


def _summary(
    implementation: Implementation, addresses: _Addresses, language: str | None, match: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A listed implementation; ``language`` is the active one, read once per list."""
    entry = implementation.entry
    return {
        "implementation_code": implementation.implementation_code,
        "name": entry.name,
        "basic_code": entry.basic_code,
        "kind": _choice(ItemKind, entry.kind, language),
        "region": {"code": implementation.region.code, "name": implementation.region.full_name},
        "department": {"code": implementation.department.code, "name": implementation.department.name},
        "badges": _badges(
            site_visits=implementation.site_visits, online_depth=implementation.online_depth, language=language
        ),
        "statutory_time_limit": _time_limit(
            implementation.statutory_time_limit_days, implementation.statutory_time_limit_unit, language
        ),
        "promised_time_limit": _time_limit(
            implementation.promised_time_limit_days, implementation.promised_time_limit_unit, language
        ),
        "site_visits": implementation.site_visits,
        "online_depth": _depth_levels(implementation.online_depth, language),
        "state": _choice(ItemState, implementation.state, language),
        "version": implementation.version,
        "guide_url": addresses.guide(implementation.implementation_code),
        "api_url": addresses.api(implementation.implementation_code),
        "match": match,
    }


def _material(order: int, material: dict[str, Any]) -> dict[str, Any]:
    return {
        "order": order,
        "name": material["name"],
        "requirement": _choice(MaterialRequirement, material["requirement"]),
        "condition": material.get("condition", ""),
        "form": _choice(MaterialForm, material["form"]),
        "copies": material.get("copies", 1),
        "source": _choice(MaterialSource, material["source"]),
        "notes": material.get("notes", ""),
        "licence_type_code": material.get("licence_type_code", ""),
        "blank_form_url": _file_url(material.get("blank_form", "")),
        "example_file_url": _file_url(material.get("example_file", "")),
    }


def _guide(guide: Guide, *, current_version: int) -> dict[str, Any]:
    """Every element of the guide as published in ``guide.version`` (the version's snapshot)."""
    data = guide.data
    code = guide.implementation_code
    addresses = _Addresses()
    return {
        "implementation_code": code,
        "basic_code": data["basic_code"],
        "name": data["name"],
        "kind": _choice(ItemKind, data["kind"]),
        "version": guide.version,
        "current_version": current_version,
        "is_current": guide.is_current,
        # Kept in the snapshot as ISO text: read as a time, so that it is written in the API's
        # format as every other time (milliseconds, Z for UTC).
        "published_at": datetime.fromisoformat(data["published_at"]),
        "state": _choice(ItemState, data["state"]),
        "description": data.get("description", ""),
        "legal_basis": data["legal_basis"],
        "region": {"code": data["region_code"], "name": data["region_name"]},
        "department": {"code": data["department_code"], "name": data["department_name"]},
        "entrusted_agency": data["entrusted_agency"],
        "source_of_power": _choice(SourceOfPower, data["source_of_power"]),
        "for_persons": data.get("for_persons", False),
        "for_companies": data.get("for_companies", False),
        "themes": data.get("themes", []),
        "acceptance_conditions": data["acceptance_conditions"],
        "materials": [_material(order, item) for order, item in enumerate(data.get("materials", []), start=1)],
        "process_steps": [
            {"order": order, **step} for order, step in enumerate(data.get("process_steps", []), start=1)
        ],
        "statutory_time_limit": _time_limit(data["statutory_time_limit_days"], data["statutory_time_limit_unit"]),
        "promised_time_limit": _time_limit(data["promised_time_limit_days"], data["promised_time_limit_unit"]),
        "special_procedures": data["special_procedures"],
        "case_type": _choice(CaseType, data["case_type"]),
        "site_visits": data["site_visits"],
        "badges": _badges(site_visits=data["site_visits"], online_depth=data["online_depth"]),
        "fee": {"charges_fee": data["charges_fee"], "standard": data["fee_standard"], "basis": data["fee_basis"]},
        "address": data["address"],
        "office_hours": data["office_hours"],
        "handled_in_hall": data["handled_in_hall"],
        "hall": data.get("hall_detail"),
        "windows": data.get("window_names", []),
        "area_of_handling": _choice(AreaOfHandling, data["area_of_handling"]),
        "contact": {
            "consultation_phone": data["consultation_phone"],
            "supervision_phone": data["supervision_phone"],
        },
        "online": {
            "available": data["online_available"],
            "depth": _depth_levels(data["online_depth"]),
            # Versions published before services stated a level asked for L2.
            "assurance_level": data.get("assurance_level", 2),
            "payment": data["online_payment"],
            "express_delivery": data["express_delivery"],
            "appointment": data["appointment"],
        },
        "result": {
            "type": _choice(ResultType, data["result_type"]),
            "name": data["result_name"],
            "licence_type_code": data["licence_type_code"],
        },
        "guide_url": addresses.guide(code),
        "api_url": addresses.api(code),
        "versions_url": reverse("api-v1:implementation_versions", kwargs={"implementation_code": code}),
    }


def _version(
    version: ImplementationVersion, *, code: str, current_version: int, addresses: _Addresses
) -> dict[str, Any]:
    change = version.change
    return {
        "number": version.number,
        "published_at": version.published_at,
        "is_current": version.number == current_version,
        "action": _choice(ChangeAction, change.action) if change else None,
        "target": _choice(ChangeTarget, change.target) if change else None,
        "reason": change.reason if change else "",
        "api_url": f"{addresses.api(code)}?version={version.number}",
    }


def _theme(theme: Theme) -> dict[str, Any]:
    return {
        "code": theme.code,
        "name": theme.name,
        "name_en": theme.name_en,
        "audience": _choice(Audience, theme.audience),
        "description": theme.description,
    }


def _public_implementation(implementation_code: str) -> Implementation:
    # The public queryset, not implementation_get_public: the guide is read from the version's
    # snapshot, so the rows that selector prefetches for the portal would be four wasted queries.
    implementation = implementation_public_queryset().filter(implementation_code=implementation_code).first()
    if implementation is None:
        raise not_found(
            gettext_lazy("没有实施编码为“%(code)s”的事项，或该事项已取消。"),
            f"No implementation with code {implementation_code!r}, or it has been cancelled.",
            params={"code": implementation_code},
        )
    return implementation


def _search_page(filters: ImplementationListQuery, query: str) -> dict[str, Any]:
    result = implementation_search(
        query=query,
        region_code=filters.region,
        department_code=filters.department,
        audience=filters.audience,
        badge=filters.badge,
        theme_code=filters.theme,
        kind=filters.kind.value if filters.kind else None,
        page=filters.page,
        page_size=filters.page_size,
    )
    addresses, language = _Addresses(), translation.get_language()
    items = [
        _summary(
            hit.implementation,
            addresses,
            language,
            match={
                "name_highlighted": hit.name_highlighted,
                "snippet_highlighted": hit.snippet_highlighted,
                "score": hit.score,
            },
        )
        for hit in result.hits
    ]
    return {
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
        "items": items,
        "search": {
            "tokens": list(result.tokens),
            "suggested_themes": [{"code": theme.code, "name": theme.name} for theme in result.suggested_themes],
        },
    }


def _browse_page(filters: ImplementationListQuery) -> dict[str, Any]:
    # The summaries leave out the guide's long texts and forms.
    implementations = ImplementationPages.public(
        deferred=SUMMARY_DEFERRED,
        region_code=filters.region,
        department_code=filters.department,
        theme_code=filters.theme,
        audience=filters.audience,
        badge=filters.badge,
        kind=filters.kind.value if filters.kind else None,
    )
    start = (filters.page - 1) * filters.page_size
    page = implementations[start : start + filters.page_size]
    addresses, language = _Addresses(), translation.get_language()
    return {
        "total": implementations.count(),
        "page": filters.page,
        "page_size": filters.page_size,
        "items": [_summary(implementation, addresses, language) for implementation in page],
        "search": None,
    }


# ---------------------------------------------------------------------------------------------
# Endpoints


@router.get(
    "/implementations",
    response={200: ImplementationPageOut, **ERROR_RESPONSES},
    url_name="implementation_list",
    summary="实施清单列表与检索 (list and search implementations)",
)
@decorate_view(kept_answer("implementation_list", parameters=ImplementationListQuery.model_fields))
def implementation_list_endpoint(request: HttpRequest, filters: Query[ImplementationListQuery]) -> HttpResponse:
    """已发布的实施清单，可全文检索和筛选，分页返回；已取消的不列出，暂停办理的照常列出并注明状态。

    Published implementations, searchable and filterable, one page at a time. Cancelled ones are
    not listed; suspended ones are listed with their state.
    """
    query = (filters.q or "").strip()
    page = _search_page(filters, query) if query else _browse_page(filters)
    return answer(request, ImplementationPageOut, page)


@router.get(
    "/implementations/{implementation_code}",
    response={200: GuideOut, **ERROR_RESPONSES},
    url_name="implementation_detail",
    summary="办事指南 (the guide of one implementation)",
)
@decorate_view(kept_answer("implementation_detail", parameters=GuideQuery.model_fields))
def implementation_detail_endpoint(
    request: HttpRequest, implementation_code: str, params: Query[GuideQuery]
) -> HttpResponse:
    """一个实施清单的完整办事指南；用 version 读取较早发布的版本。

    The whole guide of one implementation; ``version`` reads an earlier published version.
    """
    implementation = _public_implementation(implementation_code)
    guide = implementation_guide(implementation=implementation, version=params.version)
    if guide is None:
        raise not_found(
            gettext_lazy("事项“%(code)s”没有已发布的第%(version)s版。"),
            f"Implementation {implementation_code!r} has no published version {params.version}.",
            params={"code": implementation_code, "version": params.version},
        )
    return answer(request, GuideOut, _guide(guide, current_version=implementation.version))


@router.get(
    "/implementations/{implementation_code}/versions",
    response={200: VersionListOut, **ERROR_RESPONSES},
    url_name="implementation_versions",
    summary="办事指南的历史版本 (published versions of a guide)",
)
@decorate_view(kept_answer("implementation_versions", parameters=()))
def implementation_versions_endpoint(request: HttpRequest, implementation_code: str) -> HttpResponse:
    """已发布的各个版本，最新的在前，含变更类型和理由。

    Every published version, newest first, with the change action and its reason.
    """
    implementation = _public_implementation(implementation_code)
    versions = implementation_version_list(implementation=implementation)
    addresses = _Addresses()
    listed = {
        "implementation_code": implementation.implementation_code,
        "current_version": implementation.version,
        "items": [
            _version(
                version,
                code=implementation.implementation_code,
                current_version=implementation.version,
                addresses=addresses,
            )
            for version in versions
        ],
    }
    return answer(request, VersionListOut, listed)


@router.get(
    "/themes",
    response={200: ThemeListOut, **ERROR_RESPONSES},
    url_name="theme_list",
    summary="主题列表 (list themes)",
    tags=["themes"],
)
@decorate_view(revalidated)
def theme_list_endpoint(request: HttpRequest, filters: Query[ThemeListQuery]) -> HttpResponse:
    """按人生事件或企业经营归类的主题，可按服务对象筛选。

    Themes (life events, business topics), optionally for one audience.
    """
    themes = list(theme_list(audience=filters.audience))
    return answer(request, ThemeListOut, {"total": len(themes), "items": [_theme(theme) for theme in themes]})
