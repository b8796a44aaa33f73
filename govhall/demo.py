"""Demo data: Zhejiang's regions, departments and halls, demo staff, and the service catalogue.

Everything is written through the apps' services (catalogue items are drafted by the demo
administrators and approved by the demo reviewers), so the demo obeys the same rules as real
data. Loading twice changes nothing.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from govhall.accounts.models import Company, Person, Role, User
from govhall.accounts.registration import person_create
from govhall.accounts.registry import demo_registry_company_add, demo_registry_person_add
from govhall.accounts.selectors import person_get_by_identity_number
from govhall.accounts.services import (
    agency_grant,
    company_register,
    person_assurance_raise_by_registry,
    staff_user_upsert,
)
from govhall.accounts.totp import staff_totp_device_ensure_demo, staff_totp_secret_and_code
from govhall.cases.application_form import form_definition_standard
from govhall.cases.process import process_definition_standard
from govhall.catalog import search
from govhall.catalog.models import CaseType, CatalogueEntry, ChangeAction, ChangeTarget, Implementation, ResultType
from govhall.catalog.services import (
    catalogue_change_approve,
    catalogue_change_draft,
    implementation_code_for,
    theme_upsert,
)
from govhall.org.identifiers import identity_number_check_character, uscc_check_character
from govhall.org.models import Department, Hall, Region
from govhall.org.services import department_upsert, hall_upsert, regions_load

DATA_DIR = Path(__file__).resolve().parent / "catalog" / "demo_data"
CATALOGUE_JSON = DATA_DIR / "catalogue.json"
SYNONYMS_JSON = DATA_DIR / "synonyms.json"
# Application forms and process definitions written for particular items; every other item gets
# the standard ones, stored as data all the same.
FORMS_JSON = DATA_DIR / "forms.json"
PROCESSES_JSON = DATA_DIR / "processes.json"

DEMO_PASSWORD = "GovHall-demo-2026"  # noqa: S105 - demo accounts only; printed by `make run` and in the README

PROVINCE = "330000"
CITIES = {"330100": "杭州市", "330200": "宁波市"}
COUNTIES = {
    "330106": ("330100", "西湖区"),
    "330110": ("330100", "余杭区"),
    "330203": ("330200", "海曙区"),
    "330212": ("330200", "鄞州区"),
}
AREA_CODES = {
    PROVINCE: "0571",
    "330100": "0571",
    "330200": "0574",
    "330106": "0571",
    "330110": "0571",
    "330203": "0574",
    "330212": "0574",
}

# The office that keeps each region's catalogue (政务服务管理办公室); catalogue staff sit there.
SERVICE_OFFICE_KIND = "service_office"
SERVICE_OFFICE_NAMES = {
    "province": "浙江省政务服务管理办公室",
    "city": "{city}政务服务管理办公室",
    "county": "{city}{county}政务服务管理办公室",
}

# The items people use most, to give the home page's "most used" list a realistic start.
POPULAR_ITEMS = (
    "居民身份证换领",
    "社会保障卡申领",
    "住房公积金提取",
    "个体工商户设立登记",
    "出生医学证明办理",
    "食品经营许可",
    "结婚登记",
    "失业保险金申领",
)


# Every department kind of the demo except ecology, whose review is another person's (并联审批).
XIHU_REVIEW_KINDS = (
    "public_security",
    "market",
    "health",
    "hrss",
    "medical_security",
    "natural_resources",
    "housing",
    "civil_affairs",
    "tax",
    "transport",
    "education",
    "culture",
    "housing_fund",
    "disabled",
    "service_office",
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    region: str
    roles: tuple[Role, ...]
    note: str
    is_superuser: bool = False
    # Kinds of department of ``region`` the roles are held in ("*": every department there);
    # empty: the region's service office (catalogue staff and the separated administrators).
    department_kinds: tuple[str, ...] = ()


DEMO_ACCOUNTS = (
    DemoAccount(
        "province-admin",
        "省级事项管理员",
        PROVINCE,
        (Role.CATALOGUE_ADMINISTRATOR,),
        "drafts catalogue entries and any implementation in the province",
    ),
    DemoAccount(
        "province-reviewer",
        "省级事项审核员",
        PROVINCE,
        (Role.CATALOGUE_REVIEWER,),
        "reviews entry changes and any implementation change",
    ),
    DemoAccount(
        "hangzhou-admin",
        "杭州市事项管理员",
        "330100",
        (Role.CATALOGUE_ADMINISTRATOR,),
        "drafts Hangzhou's and its districts' implementations",
    ),
    DemoAccount(
        "hangzhou-reviewer", "杭州市事项审核员", "330100", (Role.CATALOGUE_REVIEWER,), "reviews Hangzhou's changes"
    ),
    DemoAccount(
        "ningbo-admin",
        "宁波市事项管理员",
        "330200",
        (Role.CATALOGUE_ADMINISTRATOR,),
        "drafts Ningbo's and its districts' implementations",
    ),
    DemoAccount(
        "ningbo-reviewer", "宁波市事项审核员", "330200", (Role.CATALOGUE_REVIEWER,), "reviews Ningbo's changes"
    ),
    DemoAccount(
        "xihu-admin",
        "西湖区事项管理员",
        "330106",
        (Role.CATALOGUE_ADMINISTRATOR,),
        "drafts 西湖区 implementations only",
    ),
    DemoAccount(
        "sysadmin",
        "系统管理员",
        PROVINCE,
        (Role.SYSTEM_ADMINISTRATOR,),
        "Django admin: departments, halls, themes, synonyms (not roles, not the audit trail)",
    ),
    DemoAccount(
        "security-admin",
        "安全管理员",
        PROVINCE,
        (Role.SECURITY_ADMINISTRATOR,),
        "Django admin: staff and role grants only",
    ),
    DemoAccount("auditor", "安全审计员", PROVINCE, (Role.AUDITOR,), "Django admin: reads the audit trail only"),
    DemoAccount(
        "xihu-clerk",
        "西湖区综合窗口",
        "330106",
        (Role.WINDOW_CLERK,),
        "prereview, acceptance, result and delivery for every 西湖区 department (综合窗口)",
        department_kinds=("*",),
    ),
    DemoAccount(
        "haishu-clerk",
        "海曙区综合窗口",
        "330203",
        (Role.WINDOW_CLERK,),
        "window intake for every 海曙区 department, incl. other cities' items open province-wide (跨域通办)",
        department_kinds=("*",),
    ),
    DemoAccount(
        "xihu-reviewer",
        "西湖区审查人员",
        "330106",
        (Role.REVIEWER,),
        "reviews cases of every 西湖区 department but ecology",
        department_kinds=XIHU_REVIEW_KINDS,
    ),
    DemoAccount(
        "xihu-ecology-reviewer",
        "生态环境西湖分局审查人员",
        "330106",
        (Role.REVIEWER,),
        "the parallel (并联) review branch of 食品经营许可 for catering",
        department_kinds=("ecology",),
    ),
    DemoAccount(
        "xihu-decider",
        "西湖区决定人员",
        "330106",
        (Role.DECIDER,),
        "decides cases and approves extensions for every 西湖区 department",
        department_kinds=("*",),
    ),
    DemoAccount(
        "xihu-market-admin",
        "西湖区市场监管部门管理员",
        "330106",
        (Role.DEPARTMENT_ADMINISTRATOR,),
        "reassigns 西湖区市场监督管理局 tasks",
        department_kinds=("market",),
    ),
    DemoAccount(
        "hangzhou-supervisor",
        "杭州市电子监察",
        "330100",
        (Role.SUPERVISOR,),
        "sees every case of 杭州市 and its districts (read only)",
    ),
)


@dataclass(frozen=True)
class DemoPerson:
    """A fictional person (identity numbers are well formed but belong to nobody)."""

    name: str
    identity_number: str
    phone: str
    registered: bool
    level: int
    note: str


def _demo_identity_number(region_code: str, birth: str, sequence: int) -> str:
    first = f"{region_code}{birth}{sequence:03d}"
    return first + identity_number_check_character(first)


DEMO_PEOPLE = (
    DemoPerson(
        "张三",
        _demo_identity_number("330106", "19900307", 123),
        "13800000001",
        True,
        1,
        "L1 citizen: raise to L2 on the account page",
    ),
    DemoPerson(
        "王五",
        _demo_identity_number("330106", "19780512", 235),
        "13800000002",
        True,
        2,
        "L2, legal representative of 杭州西湖龙井茶业有限公司",
    ),
    DemoPerson(
        "李四",
        _demo_identity_number("330110", "19951120", 347),
        "13800000003",
        True,
        2,
        "L2, agent of 杭州西湖龙井茶业有限公司 for all services",
    ),
    DemoPerson(
        "赵六",
        _demo_identity_number("330203", "19880808", 458),
        "13800000004",
        False,
        1,
        "only in the population registry: register as this person at /accounts/register/",
    ),
)
DEMO_COMPANY_CREDIT_CODE_PREFIX = "91330106MA2H00001"
DEMO_COMPANY_NAME = "杭州西湖龙井茶业有限公司"


@dataclass
class DemoReport:
    regions_created: int = 0
    departments: int = 0
    halls: int = 0
    entries_created: int = 0
    implementations_created: int = 0
    synonyms: int = 0
    notes: list[str] = field(default_factory=list)


def demo_load() -> DemoReport:
    """Load (or complete) the demo data set; idempotent."""
    report = DemoReport(regions_created=regions_load())
    data = json.loads(CATALOGUE_JSON.read_text(encoding="utf-8"))
    with transaction.atomic():
        for theme in data["themes"]:
            theme_upsert(
                code=theme["code"],
                name=theme["name"],
                name_en=theme.get("name_en", ""),
                audience=theme["audience"],
                description=theme.get("description", ""),
                order=theme.get("order", 0),
            )
        kinds = [
            *data["department_kinds"],
            {"key": SERVICE_OFFICE_KIND, "names": SERVICE_OFFICE_NAMES, "short_name": "政务办", "code": "ZWB"},
        ]
        departments = _departments_load(kinds)
        report.departments = len(departments)
        report.halls = _halls_load(data["halls"], departments)
        staff = _staff_load(departments)
        report.synonyms = _synonyms_load()
        _people_load()
    report.entries_created = _entries_load(data["items"], staff)
    report.implementations_created = _implementations_load(data["items"], departments, staff)
    if report.implementations_created:
        _popularity_seed()
    from govhall.demo_bundles import demo_bundles_load
    from govhall.licences.demo import licence_demo_load

    demo_bundles_load()
    credit_code = DEMO_COMPANY_CREDIT_CODE_PREFIX + uscc_check_character(DEMO_COMPANY_CREDIT_CODE_PREFIX)
    licence_demo_load(company_credit_code=credit_code, region_code="330106")
    from govhall.supervision.demo import supervision_demo_load

    supervision_demo_load()
    return report


def _region_level(code: str) -> str:
    if code == PROVINCE:
        return "province"
    return "city" if code in CITIES else "county"


def _regions_at(level: str) -> list[str]:
    return {"province": [PROVINCE], "city": list(CITIES), "county": list(COUNTIES)}[level]


def _department_name(template: str, region_code: str) -> str:
    if region_code in COUNTIES:
        city_code, county = COUNTIES[region_code]
        return template.format(city=CITIES[city_code], county=county)
    return template.format(city=CITIES.get(region_code, ""), county="")


def _credit_code(region_code: str, serial: int) -> str:
    """A well-formed credit code for a government organ (11 = 机关) in the region (demo only)."""
    first = f"11{region_code}{serial:09d}"
    return first + uscc_check_character(first)


def _departments_load(kinds: list[dict[str, Any]]) -> dict[tuple[str, str], Department]:
    departments = {}
    for kind_number, kind in enumerate(kinds, start=1):
        for level, template in kind["names"].items():
            for region_code in _regions_at(level):
                region = Region.objects.get(code=region_code)
                department = department_upsert(
                    code=f"{region_code}{kind['code']}",
                    name=_department_name(template, region_code),
                    short_name=kind.get("short_name", ""),
                    kind=kind["key"],
                    region=region,
                    credit_code=_credit_code(region_code, kind_number * 1000 + 1),
                    phone=f"{AREA_CODES[region_code]}-{87000000 + kind_number * 1111 + int(region_code[2:6]) % 97}",
                )
                departments[(region_code, kind["key"])] = department
    return departments


def _halls_load(halls: list[dict[str, Any]], departments: dict[tuple[str, str], Department]) -> int:
    for hall in halls:
        region_code = hall["region"]
        windows = [
            {
                "number": window["number"],
                "name": window["name"],
                "departments": [
                    departments[(region_code, kind)]
                    for kind in window["department_kinds"]
                    if (region_code, kind) in departments
                ],
            }
            for window in hall["windows"]
        ]
        hall_upsert(
            name=hall["name"],
            region=Region.objects.get(code=region_code),
            address=hall["address"],
            opening_hours=hall["opening_hours"],
            phone=hall.get("phone", ""),
            windows=windows,
        )
    return len(halls)


def _staff_load(departments: dict[tuple[str, str], Department]) -> dict[str, User]:
    staff = {}
    for account in DEMO_ACCOUNTS:
        if not account.department_kinds:
            places = [departments[(account.region, SERVICE_OFFICE_KIND)]]
        else:
            places = [
                department
                for (region_code, kind), department in sorted(departments.items())
                if region_code == account.region
                and ("*" in account.department_kinds or kind in account.department_kinds)
            ]
        staff[account.username] = staff_user_upsert(
            username=account.username,
            display_name=account.display_name,
            password=DEMO_PASSWORD,
            assignments=[(place, role) for place in places for role in account.roles],
            is_superuser=account.is_superuser,
        )
        staff_totp_device_ensure_demo(user=staff[account.username])
    return staff


def _people_load() -> None:
    """Demo people in the population registry, the registered ones with accounts, and a company
    with its legal representative and an agent."""
    for listed in DEMO_PEOPLE:
        demo_registry_person_add(name=listed.name, identity_number=listed.identity_number)
    credit_code = DEMO_COMPANY_CREDIT_CODE_PREFIX + uscc_check_character(DEMO_COMPANY_CREDIT_CODE_PREFIX)
    representative, agent = DEMO_PEOPLE[1], DEMO_PEOPLE[2]
    demo_registry_company_add(
        credit_code=credit_code,
        name=DEMO_COMPANY_NAME,
        kind="limited_company",
        legal_representative_identity_number=representative.identity_number,
    )
    people: dict[str, Person] = {}
    for demo_person in DEMO_PEOPLE:
        if not demo_person.registered:
            continue
        person = person_get_by_identity_number(identity_number=demo_person.identity_number)
        if person is None:
            user = person_create(
                identity_number=demo_person.identity_number,
                name=demo_person.name,
                phone=demo_person.phone,
                password=DEMO_PASSWORD,
            )
            person = user.person
            if demo_person.level >= 2:
                person_assurance_raise_by_registry(person=person, name=demo_person.name)
        people[demo_person.name] = person
    company = Company.objects.filter(credit_code=credit_code).first()
    if company is None:
        company = company_register(representative=people[representative.name], credit_code=credit_code)
        agency_grant(
            company=company,
            granted_by=people[representative.name],
            agent_identity_number=agent.identity_number,
            agent_name=agent.name,
            valid_until=timezone.localdate() + timedelta(days=365),
            all_services=True,
        )


def _synonyms_load() -> int:
    if not SYNONYMS_JSON.exists():
        return 0
    pairs = json.loads(SYNONYMS_JSON.read_text(encoding="utf-8"))
    for pair in pairs:
        search.search_synonym_upsert(term=pair["term"], expansion=pair["expansion"])
    return len(pairs)


def _publish(*, drafter: User, reviewer: User, **change: Any) -> Any:
    drafted = catalogue_change_draft(actor=drafter, reason="演示数据：首次发布", submit=True, **change)
    return catalogue_change_approve(reviewer=reviewer, change=drafted, note="同意发布")


def _entries_load(items: list[dict[str, Any]], staff: dict[str, User]) -> int:
    existing = set(CatalogueEntry.objects.values_list("basic_code", flat=True))
    created = 0
    for item in items:
        if item["basic_code"] in existing:
            continue
        payload = {
            key: item[key]
            for key in ("basic_code", "name", "kind", "legal_basis", "for_persons", "for_companies", "themes")
        }
        payload["description"] = item.get("description", "")
        with transaction.atomic():
            _publish(
                drafter=staff["province-admin"],
                reviewer=staff["province-reviewer"],
                action=ChangeAction.ADD,
                target=ChangeTarget.ENTRY,
                payload=payload,
            )
        created += 1
    return created


def _reviewers_for(region_code: str, staff: dict[str, User]) -> tuple[User, User]:
    """The administrator and reviewer of the city a region belongs to (the province's for its own)."""
    if region_code == PROVINCE:
        return staff["province-admin"], staff["province-reviewer"]
    city = region_code if region_code in CITIES else COUNTIES[region_code][0]
    name = {"330100": "hangzhou", "330200": "ningbo"}[city]
    return staff[f"{name}-admin"], staff[f"{name}-reviewer"]


def _implementations_load(
    items: list[dict[str, Any]], departments: dict[tuple[str, str], Department], staff: dict[str, User]
) -> int:
    existing = set(Implementation.objects.values_list("implementation_code", flat=True))
    forms = json.loads(FORMS_JSON.read_text(encoding="utf-8"))
    processes = json.loads(PROCESSES_JSON.read_text(encoding="utf-8"))
    halls = {hall.region_id: hall for hall in Hall.objects.prefetch_related("windows__departments")}
    created = 0
    for item in items:
        for level in item["levels"]:
            for region_code in _regions_at(level):
                department = departments[(region_code, item["department_kind"])]
                code = implementation_code_for(basic_code=item["basic_code"], department=department)
                if code in existing:
                    continue
                payload = _implementation_payload(item, code, department, halls.get(region_code))
                payload.update(_definitions(item, payload, forms=forms, processes=processes))
                drafter, reviewer = _reviewers_for(region_code, staff)
                with transaction.atomic():
                    _publish(
                        drafter=drafter,
                        reviewer=reviewer,
                        action=ChangeAction.ADD,
                        target=ChangeTarget.IMPLEMENTATION,
                        payload=payload,
                    )
                created += 1
    return created


def _implementation_payload(item: dict[str, Any], code: str, department: Department, hall: Hall | None) -> dict:
    payload = dict(item["implementation"])
    payload.update(
        implementation_code=code,
        basic_code=item["basic_code"],
        name=item["name"],
        kind=item["kind"],
        legal_basis=item["legal_basis"],
        region_code=department.region_id,
        department_code=department.code,
        consultation_phone=department.phone,
        supervision_phone="12345",
        online_available=bool(set(payload.get("online_depth", "")) & set("2345")),
        materials=[{"blank_form": "", "example_file": "", **material} for material in payload["materials"]],
    )
    if hall is not None and payload.get("handled_in_hall", True):
        payload.update(
            hall=hall.name,
            address=hall.address,
            office_hours=hall.opening_hours,
            windows=[
                window.number
                for window in hall.windows.all()
                if any(d.pk == department.pk for d in window.departments.all())
            ],
        )
    return payload


def _definitions(
    item: dict[str, Any], payload: dict[str, Any], *, forms: dict[str, Any], processes: dict[str, Any]
) -> dict[str, Any]:
    """The item's own form and process where the demo has written them, else the standard ones."""
    form = forms.get(item["basic_code"]) or form_definition_standard(
        for_persons=item["for_persons"],
        for_companies=item["for_companies"],
        express_delivery=bool(payload.get("express_delivery")),
        material_names=[material["name"] for material in payload["materials"]],
    )
    definition = processes.get(item["basic_code"]) or process_definition_standard(
        immediate=payload.get("case_type") == CaseType.IMMEDIATE,
        online=payload["online_available"],
        promised_days=payload["promised_time_limit_days"],
        issues_result=payload.get("result_type") in (ResultType.LICENCE, ResultType.DOCUMENT),
        step_names=[step["name"] for step in payload.get("process_steps") or []],
    )
    return {"application_form": form, "process_definition": definition}


def _popularity_seed() -> None:
    for rank, name in enumerate(POPULAR_ITEMS):
        Implementation.objects.filter(entry__name=name).update(view_count=F("view_count") + 1000 - rank * 100)
    search.search_popularity_move()


def _totp_secret(username: str) -> str:
    user = User.objects.filter(username=username).first()
    if user is None:
        return "(run the demo load first)"
    return staff_totp_secret_and_code(user=user)[0]


def demo_totp_code(username: str) -> str:
    """The current TOTP code of a demo staff member, for people trying the demo without an app."""
    return staff_totp_secret_and_code(user=User.objects.get(username=username))[1]


def demo_accounts_text() -> str:
    """The demo accounts and how to get in, for `make run` and the README."""
    lines = [
        f"Demo staff accounts, at /accounts/login/ with the username (password for all: {DEMO_PASSWORD},",
        "then the 6-digit TOTP code:",
        "add the secret below to an authenticator app, or print the current code with",
        "`.venv/bin/python -m govhall.cli totp USERNAME`):",
    ]
    for account in DEMO_ACCOUNTS:
        secret = _totp_secret(account.username)
        lines.append(f"  {account.username:<18} TOTP {secret:<34} {account.display_name:<10} {account.note}")
    lines.append(f"Demo citizens, at /accounts/login/ with identity number or phone (password {DEMO_PASSWORD}),")
    lines.append("or phone + one-time code (read the code in the outbox at /dev/outbox/):")
    for person in DEMO_PEOPLE:
        lines.append(f"  {person.name}  {person.identity_number}  {person.phone}  {person.note}")
    return "\n".join(lines)
