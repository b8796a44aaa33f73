"""Cases made through the real services, for tests of every channel.

``case_world()`` builds one committed implementation in 西湖区 with a parallel review (market
department leading, ecology department as the second branch), an immediate implementation, the
officers who handle them, a supervisor, applicants and a company with an agent.
``make_case(world=..., until=...)`` drives a case through the services to the stage asked for.
"""

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from govhall.accounts.models import Company, Person, Role, StaffAssignment, User
from govhall.cases import services
from govhall.cases.models import Case, CaseTask, TaskState
from govhall.catalog.models import Implementation
from govhall.org.models import Department
from tests.factories import HANGZHOU, NINGBO, XIHU, YUHANG, make_department, make_implementation, make_person, unique

PARALLEL_PROCESS = {
    "version": 1,
    "steps": [
        {"key": "prereview", "kind": "prereview", "name": "网上预审", "role": "window_clerk", "days": 1},
        {"key": "accept", "kind": "accept", "name": "受理", "role": "window_clerk", "days": 1},
        {
            "key": "joint_review",
            "kind": "parallel",
            "name": "并联审查",
            "days": 2,
            "branches": [
                {"key": "food_safety", "name": "食品安全条件审查", "role": "reviewer", "lead": True},
                {"key": "fume", "name": "油烟排放审查", "role": "reviewer", "department_kind": "ecology"},
            ],
        },
        {"key": "decide", "kind": "decide", "name": "审批决定", "role": "decider", "days": 1},
        {"key": "issue", "kind": "issue_result", "name": "制证", "role": "window_clerk", "days": 1},
        {"key": "deliver", "kind": "deliver", "name": "送达", "role": "window_clerk", "days": 1},
    ],
}

STAGES = ("draft", "submitted", "prereviewed", "accepted", "reviewed", "decided", "issued", "completed")


@dataclass
class CaseWorld:
    implementation: Implementation
    immediate_implementation: Implementation
    market: Department
    ecology: Department
    clerk: User
    reviewer: User
    ecology_reviewer: User
    decider: User
    department_admin: User
    supervisor: User
    other_city_supervisor: User
    other_county_clerk: User
    applicant: Person
    other_applicant: Person
    low_level_applicant: Person
    company: Company
    agent: Person


def staff_in(department: Department, role: Role, *, username: str | None = None) -> User:
    user = User.objects.create_user(username=username or unique("officer"), password="a-long-test-password")
    user.display_name = user.username
    user.save(update_fields=["display_name"])
    StaffAssignment.objects.create(user=user, department=department, role=role)
    return user


def case_world() -> CaseWorld:
    market = make_department(region_code=XIHU, kind="market")
    ecology = make_department(region_code=XIHU, kind="ecology")
    implementation = make_implementation(region_code=XIHU, kind="market", process_definition=PARALLEL_PROCESS)
    immediate = make_implementation(
        region_code=XIHU,
        kind="market",
        case_type="immediate",
        promised_time_limit_days=1,
        statutory_time_limit_days=1,
        materials=[],
    )
    applicant = make_person(name="王五", level=2)
    agent = make_person(name="李四", level=2)
    company = _company_with_agent(representative=applicant, agent=agent)
    return CaseWorld(
        implementation=implementation,
        immediate_implementation=immediate,
        market=market,
        ecology=ecology,
        clerk=staff_in(market, Role.WINDOW_CLERK),
        reviewer=staff_in(market, Role.REVIEWER),
        ecology_reviewer=staff_in(ecology, Role.REVIEWER),
        decider=staff_in(market, Role.DECIDER),
        department_admin=staff_in(market, Role.DEPARTMENT_ADMINISTRATOR),
        supervisor=staff_in(make_department(region_code=HANGZHOU, kind="supervision"), Role.SUPERVISOR),
        other_city_supervisor=staff_in(make_department(region_code=NINGBO, kind="supervision"), Role.SUPERVISOR),
        other_county_clerk=staff_in(make_department(region_code=YUHANG, kind="market"), Role.WINDOW_CLERK),
        applicant=applicant,
        other_applicant=make_person(name="赵六", level=2),
        low_level_applicant=make_person(name="张三", level=1),
        company=company,
        agent=agent,
    )


def _company_with_agent(*, representative: Person, agent: Person) -> Company:
    from govhall.accounts import privacy
    from govhall.accounts.registry import demo_registry_company_add
    from govhall.accounts.services import agency_grant, company_register
    from govhall.org.identifiers import uscc_check_character

    number = unique("")[-5:]
    first = f"91330106MA2{number}X"[:17]
    credit_code = first + uscc_check_character(first)

    identity_number = privacy.decrypt(representative.identity_number_encrypted, purpose="identity_number")
    demo_registry_company_add(
        credit_code=credit_code,
        name=f"杭州测试{number}有限公司",
        kind="limited_company",
        legal_representative_identity_number=identity_number,
    )
    company = company_register(representative=representative, credit_code=credit_code)
    agency_grant(
        company=company,
        granted_by=representative,
        agent_identity_number=privacy.decrypt(agent.identity_number_encrypted, purpose="identity_number"),
        agent_name=agent.name,
        all_services=True,
        valid_until=date(2099, 12, 31),
    )
    return company


def pdf_bytes(text: str = "govhall") -> bytes:
    """A small well-formed PDF (header, one object, xref, trailer, %%EOF)."""
    body = f"1 0 obj\n<< /Type /Catalog /Note ({text}) >>\nendobj\n".encode()
    header = b"%PDF-1.7\n"
    xref_at = len(header) + len(body)
    xref = f"xref\n0 2\n0000000000 65535 f \n{len(header):010d} 00000 n \n".encode()
    trailer = f"trailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return header + body + xref + trailer


def pdf_upload(name: str = "申请书.pdf", text: str = "govhall") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(text), content_type="application/pdf")


def png_upload(name: str = "scan.png") -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def application_data(case: Case) -> dict[str, Any]:
    """Valid answers for every field of the case's form that the platform did not fill."""
    definition = case.form_definition
    properties = (definition.get("schema") or {}).get("properties") or {}
    hints = definition.get("fields") or {}
    locked = set(case.prefilled.get("locked") or [])
    data = dict(case.data)
    for name, schema in properties.items():
        if name in locked or (name in data and data[name] not in ("", None, [])):
            continue
        value = _sample_value(schema, (hints.get(name) or {}).get("widget", ""))
        if value is not None:
            data[name] = value
    return data


def _sample_value(schema: dict[str, Any], widget: str) -> Any:
    if widget == "file":
        return None
    if widget == "address" or schema.get("type") == "object":
        return {"region": XIHU, "detail": "文三路100号"}
    if schema.get("type") == "array":
        items = schema.get("items") or {}
        if "enum" in items:
            return [items["enum"][0]]
        row = {col: _sample_value(col_schema, "") for col, col_schema in (items.get("properties") or {}).items()}
        return [row]
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") in ("number", "integer"):
        return max(1, schema.get("minimum", 1))
    if schema.get("format") == "date":
        return "2026-01-05"
    if schema.get("type") == "boolean":
        return True
    text = "测试内容：经营场所位于文三路一百号，设施齐全"
    return text[: schema.get("maxLength", 50)].ljust(schema.get("minLength", 0), "。")


def make_draft(
    *,
    world: CaseWorld,
    person: Person | None = None,
    implementation: Implementation | None = None,
    company: Company | None = None,
    materials: bool = True,
) -> Case:
    person = person or world.applicant
    case = services.case_draft_start(
        user=person.user, implementation=implementation or world.implementation, company=company
    )
    services.case_draft_save(case=case, user=person.user, data=application_data(case))
    if materials:
        for material in services.case_materials_required(case=case):
            services.case_material_add(
                case=case, user=person.user, material_name=material["name"], file=pdf_upload(text=material["name"])
            )
    return Case.objects.get(pk=case.pk)


def task_open(case: Case, *, kind: str | None = None, department: Department | None = None) -> CaseTask:
    tasks = CaseTask.objects.filter(case=case, state=TaskState.OPEN)
    if kind:
        tasks = tasks.filter(kind=kind)
    if department is not None:
        tasks = tasks.filter(department=department)
    return tasks.order_by("id").first()  # type: ignore[return-value]


def make_case(
    *,
    world: CaseWorld,
    until: str = "submitted",
    person: Person | None = None,
    company: Company | None = None,
    implementation: Implementation | None = None,
) -> Case:
    """A case driven through the services to ``until`` (one of STAGES)."""
    assert until in STAGES, until
    person = person or world.applicant
    case = make_draft(world=world, person=person, company=company, implementation=implementation)
    if until == "draft":
        return case
    case = services.case_submit(case=case, user=person.user, submit_key=unique("key"))
    if until == "submitted":
        return case
    if task_open(case, kind="prereview"):
        case = services.case_prereview_pass(task=task_open(case, kind="prereview"), officer=world.clerk)
    if until == "prereviewed":
        return case
    immediate = case.case_type == "immediate"
    case = services.case_accept(
        task=task_open(case, kind="accept"),
        officer=world.clerk,
        decision="approve" if immediate else "",
    )
    if until == "accepted" or (immediate and until == "reviewed"):
        return case
    if not immediate:
        case = services.case_review(
            task=task_open(case, kind="parallel", department=world.market),
            officer=world.reviewer,
            agree=True,
            opinion="符合食品安全条件",
        )
        case = services.case_review(
            task=task_open(case, kind="parallel", department=world.ecology),
            officer=world.ecology_reviewer,
            agree=True,
            opinion="油烟排放设施符合要求",
        )
        if until == "reviewed":
            return case
        case = services.case_decide(task=task_open(case, kind="decide"), officer=world.decider, decision="approve")
    if until == "decided":
        return case
    if task_open(case, kind="issue_result"):
        case = services.case_result_issue(
            task=task_open(case, kind="issue_result"), officer=world.clerk, reference="SP3301060001"
        )
    if until == "issued":
        return case
    return services.case_deliver(task=task_open(case, kind="deliver"), officer=world.clerk, method="electronic")
