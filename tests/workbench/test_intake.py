"""One-window intake (一窗受理) and accept anywhere (跨域通办, 收受分离) through HTTP: a window
clerk checks in or registers the applicant, chooses the item, fills the form with scanned
materials and submits; a hall in another city receives an application for a province-wide item,
forwards it within its own limit, and the competent department completes it; who may see and do
what on such a case; refusals (local-only item, wrong name, not a clerk)."""

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from bench.page_forms import form_fields
from govhall.accounts import privacy
from govhall.accounts.models import AssuranceLevel, AssuranceMethod, Person, Role, StaffAssignment
from govhall.audit.models import AuditRecord
from govhall.cases.models import Case, CaseState, CaseTask, TaskState
from govhall.catalog.models import AreaOfHandling, Implementation
from govhall.org.models import Hall, Region
from govhall.org.services import hall_upsert
from tests.cases.factories import CaseWorld, case_world, make_case, pdf_upload, staff_in, task_open
from tests.factories import (
    HAISHU,
    XIHU,
    force_login_verified,
    identity_number_for,
    make_department,
    make_entry,
    make_implementation,
    make_person,
    make_staff,
    material_example,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
INTAKE = "/workbench/intake/"
ITEMS = "/workbench/intake/items/"
START = "/workbench/intake/start/"
ENROLMENT_FORM = "灵活就业人员参保登记表"


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def officer_client(user: Any) -> Client:
    client = Client()
    force_login_verified(client, user)
    return client


def check_in(client: Client, **values: str) -> Any:
    return client.post(INTAKE, {"identity_number": "", "name": "", "phone": "", "credit_code": "", **values})


def identity_number_of(person: Person) -> str:
    return privacy.decrypt(person.identity_number_encrypted, purpose="identity_number")


def start(client: Client, implementation: Implementation) -> Any:
    return client.post(START, {"implementation": implementation.implementation_code})


def draft_of(response: Any) -> Case:
    found = re.fullmatch(r"/workbench/intake/draft-(\d+)/", response["Location"])
    assert found, response["Location"]
    return Case.objects.get(pk=int(found[1]))


def fill_and_submit(client: Client, case: Case, values: dict[str, str], uploads: dict[str, Any]) -> Any:
    """Send the form page as shown, with ``values`` typed and ``uploads`` scanned, and submit."""
    page = client.get(f"/workbench/intake/draft-{case.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    data: dict[str, Any] = form_fields(html, form_id="case-form")
    data.update(values)
    for material_name, upload in uploads.items():
        found = re.search(rf'<label for="(material-\d+)">扫描上传“{material_name}”</label>', html)
        assert found, f"no upload input for {material_name}"
        data[found[1]] = upload
    data["action"] = "submit"
    return client.post(f"/workbench/intake/draft-{case.pk}/", data)


def page_actions(html: str) -> set[str]:
    """The task actions the case page offers (forms named task<id>-<action>)."""
    return set(re.findall(r'<form method="post" action="[^"]*" id="task\d+-(\w+)"', html))


def act(client: Client, task: CaseTask, action: str, **values: Any) -> Any:
    prefix = f"task{task.pk}-{action}"
    url = f"/workbench/cases/{task.case.number}/"
    page = client.get(url)
    assert page.status_code == 200
    data: dict[str, Any] = form_fields(page.content.decode(), form_id=prefix)
    data.update({f"{prefix}-{name}": value for name, value in values.items()})
    return client.post(f"{url}tasks/{task.pk}/{action}/", data)


@pytest.fixture
def world() -> CaseWorld:
    return case_world()


@pytest.fixture
def xihu_hall(world: CaseWorld) -> Hall:
    return hall_upsert(
        name="杭州市西湖区政务服务中心",
        region=Region.objects.get(code=XIHU),
        address="杭州市西湖区文三路 100 号",
        opening_hours="工作日 9:00-17:00",
        windows=[{"number": "A01", "name": "综合受理窗口", "departments": [world.market]}],
    )


# ---------------------------------------------------------------------------------------------
# One window: register, fill, submit, follow online


def test_a_clerk_registers_a_new_person_and_submits_a_window_case_the_person_then_follows_online(world, xihu_hall):
    clerk = officer_client(world.clerk)
    identity_number = identity_number_for("330106", "19850315", 771)

    # Given a person never registered, checked in with their identity card at the window
    response = check_in(clerk, identity_number=identity_number, name="孙八", phone="13912345678")

    assert response.status_code == 302
    assert response["Location"] == ITEMS
    person = Person.objects.get(name="孙八")
    assert (person.assurance_level, person.assurance_method) == (AssuranceLevel.L4, AssuranceMethod.WINDOW)
    assert person.phone_masked == "139****5678"
    assert not person.user.has_usable_password()
    record = AuditRecord.objects.get(action="assurance_raise", object_id=str(person.pk))
    assert record.actor == world.clerk
    assert record.data == {"method": "window", "registered_at_window": True}

    # When the clerk finds the item, opens it, fills the form and scans the application
    items = clerk.get(ITEMS, {"q": "食品经营许可"})
    assert items.status_code == 200
    assert world.implementation.implementation_code in items.content.decode()
    draft = draft_of(start(clerk, world.implementation))
    assert (draft.applicant, draft.received_by, draft.hall) == (person.user, world.clerk, xihu_hall)
    response = fill_and_submit(
        clerk,
        draft,
        {"f-applicant_kind": "person", "f-application_statement": "申请在西湖区开办食品店", "f-delivery": "hall"},
        {"食品经营许可申请书": pdf_upload(text="scanned at the window")},
    )

    # Then the case is a window case at acceptance (no online prereview), on the clerk's case page
    case = Case.objects.get(pk=draft.pk)
    assert response.status_code == 302
    assert response["Location"] == f"/workbench/cases/{case.number}/"
    assert (case.state, case.channel, case.receiving_department) == (CaseState.SUBMITTED, "window", None)
    assert [task.kind for task in case.tasks.filter(state=TaskState.OPEN)] == ["accept"]
    assert list(case.materials.values_list("material_name", flat=True)) == ["食品经营许可申请书"]
    case_page = clerk.get(response["Location"]).content.decode()
    assert "accept" in page_actions(case_page)
    assert f"/workbench/intake/{case.number}/receipt/" in case_page

    # And the receipt names the case, the applicant masked, what was received and where to follow it
    receipt = clerk.get(f"/workbench/intake/{case.number}/receipt/").content.decode()
    assert case.number in receipt
    assert "孙*" in receipt and "孙八" not in receipt
    assert person.identity_number_masked in receipt and identity_number not in receipt
    assert "食品经营许可申请书" in receipt
    assert world.market.name in receipt
    assert "3 个工作日" in receipt
    assert f"http://testserver/cases/{case.number}/" in receipt

    # And the applicant, logging in later, finds it among their cases, marked as received at the hall
    citizen = Client()
    citizen.force_login(person.user)
    assert case.number in citizen.get("/cases/").content.decode()
    detail = citizen.get(f"/cases/{case.number}/").content.decode()
    assert "窗口受理 · 杭州市西湖区政务服务中心" in detail


def test_an_existing_person_is_found_by_identity_number_and_raised_to_l4_without_a_second_account(world):
    clerk = officer_client(world.clerk)
    people = Person.objects.count()

    response = check_in(clerk, identity_number=identity_number_of(world.applicant), name="王五")

    assert response.status_code == 302
    assert Person.objects.count() == people
    world.applicant.refresh_from_db()
    assert (world.applicant.assurance_level, world.applicant.assurance_method) == (4, "window")
    assert AuditRecord.objects.get(action="assurance_raise", actor=world.clerk).data["registered_at_window"] is False


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": "王六"}, "name", "姓名与该身份证号已登记的姓名不一致"),
        ({"identity_number": "11010519491231002Y"}, "identity_number", "身份证号前 17 位应为数字"),
        ({"identity_number": "110105194912310021"}, "identity_number", "校验位（最后一位）不正确"),
    ],
)
def test_a_wrong_name_or_identity_number_is_refused_on_its_field_and_nothing_changes(world, values, field, message):
    clerk = officer_client(world.clerk)
    typed = {"identity_number": identity_number_of(world.applicant), "name": "王五", "phone": "", **values}

    response = check_in(clerk, **typed)

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(rf'id="id_{field}_error"[^>]*>\s*<li>[^<]*{re.escape(message)}', html), html
    # What was typed is shown again.
    assert f'value="{typed[field]}"' in html
    world.applicant.refresh_from_db()
    assert world.applicant.assurance_level == 2
    assert not AuditRecord.objects.filter(action="assurance_raise", actor=world.clerk).exists()


def test_a_person_applies_for_a_company_only_when_they_may_act_for_it(world):
    clerk = officer_client(world.clerk)
    credit_code = world.company.credit_code

    refused = check_in(
        clerk, identity_number=identity_number_of(world.other_applicant), name="赵六", credit_code=credit_code
    )
    assert refused.status_code == 400
    assert "不能代表其办理" in refused.content.decode()

    accepted = check_in(clerk, identity_number=identity_number_of(world.agent), name="李四", credit_code=credit_code)
    assert accepted.status_code == 302
    draft = draft_of(start(clerk, world.implementation))
    assert (draft.company, draft.applicant, draft.applicant_name) == (
        world.company,
        world.agent.user,
        world.company.name,
    )


# ---------------------------------------------------------------------------------------------
# Accept anywhere: a Ningbo hall receives for a Hangzhou department


class Offices:
    """A 西湖区 (Hangzhou) human-resources department with a province-wide item and its officers,
    and a 海曙区 (Ningbo) window clerk of the civil-affairs and human-resources departments."""

    def __init__(self) -> None:
        self.xihu = make_department(region_code=XIHU, kind="hrss")
        self.xihu_clerk = staff_in(self.xihu, Role.WINDOW_CLERK)
        self.xihu_reviewer = staff_in(self.xihu, Role.REVIEWER)
        self.xihu_decider = staff_in(self.xihu, Role.DECIDER)
        self.haishu = make_department(region_code=HAISHU, kind="hrss")
        self.haishu_clerk = staff_in(make_department(region_code=HAISHU, kind="civil_affairs"), Role.WINDOW_CLERK)
        StaffAssignment.objects.create(user=self.haishu_clerk, department=self.haishu, role=Role.WINDOW_CLERK)
        self.haishu_hall = hall_upsert(
            name="宁波市海曙区行政服务中心",
            region=Region.objects.get(code=HAISHU),
            address="宁波市海曙区",
            opening_hours="工作日 9:00-17:00",
            windows=[{"number": "A02", "name": "综合受理窗口（个人事项）", "departments": [self.haishu]}],
        )
        entry = make_entry(name="灵活就业人员参保登记", for_companies=False)
        item = {"materials": [material_example(ENROLMENT_FORM)], "result_type": "other", "express_delivery": False}
        self.province_wide = make_implementation(
            entry=entry, kind="hrss", area_of_handling=AreaOfHandling.PROVINCE, **item
        )
        self.local_only = make_implementation(
            entry=make_entry(name="灵活就业补贴申领", for_companies=False),
            kind="hrss",
            area_of_handling=AreaOfHandling.LOCAL,
            **item,
        )
        self.applicant = make_person(name="钱七", level=2)


@pytest.fixture
def offices(world: CaseWorld) -> Offices:
    return Offices()


def receive_at_haishu(offices: Offices) -> Case:
    """The Ningbo clerk checks in the Hangzhou applicant and submits the province-wide item."""
    clerk = officer_client(offices.haishu_clerk)
    assert check_in(clerk, identity_number=identity_number_of(offices.applicant), name="钱七").status_code == 302
    draft = draft_of(start(clerk, offices.province_wide))
    response = fill_and_submit(
        clerk,
        draft,
        {"f-application_statement": "灵活就业人员参加职工基本养老保险", "f-delivery": "electronic"},
        {ENROLMENT_FORM: pdf_upload(text="enrolment form")},
    )
    assert response.status_code == 302, response.content.decode()
    return Case.objects.get(pk=draft.pk)


def test_a_ningbo_hall_receives_a_hangzhou_item_forwards_it_in_its_own_limit_and_hangzhou_completes_it(offices):
    # Clients log in afresh whenever the clock jumps: a staff session ends after 15 idle minutes.
    with time_machine.travel(at("2026-09-30"), tick=False):
        # Given the item is found at the Ningbo window as received here for another region
        ningbo = officer_client(offices.haishu_clerk)
        assert check_in(ningbo, identity_number=identity_number_of(offices.applicant), name="钱七").status_code == 302
        items = ningbo.get(ITEMS, {"q": "灵活就业"}).content.decode()
        row = items[items.index(f'id="item-{offices.province_wide.implementation_code}"') :]
        assert "异地受理" in row[: row.index("</tr>")]
        case = receive_at_haishu(offices)

        # Then the receiving office (海曙区, the clerk's department of the item's kind) has the
        # first step, with its own limit of 1 working day (Oct 1–7 are public holidays)
        receive = task_open(case, kind="receive")
        assert (case.receiving_department, case.hall, case.department) == (
            offices.haishu,
            offices.haishu_hall,
            offices.xihu,
        )
        assert (receive.department, receive.due_on) == (offices.haishu, date(2026, 10, 8))
        ningbo_page = ningbo.get(f"/workbench/cases/{case.number}/").content.decode()
        assert "转办期限 2026-10-08" in ningbo_page
        assert "forward" in page_actions(ningbo_page)

        # And the competent department's clerk sees the case but cannot forward it
        hangzhou = officer_client(offices.xihu_clerk)
        hangzhou_page = hangzhou.get(f"/workbench/cases/{case.number}/").content.decode()
        assert "转办期限 2026-10-08" in hangzhou_page
        assert "forward" not in page_actions(hangzhou_page)
        refused = hangzhou.post(f"/workbench/cases/{case.number}/tasks/{receive.pk}/forward/", {})
        assert refused.status_code == 302
        assert task_open(case, kind="receive") == receive

    # When Ningbo forwards after the holidays and Hangzhou accepts, reviews, decides and delivers
    with time_machine.travel(at("2026-10-08", 9), tick=False):
        ningbo = officer_client(offices.haishu_clerk)
        hangzhou = officer_client(offices.xihu_clerk)
        assert act(ningbo, receive, "forward", opinion="身份与材料形式审查无误").status_code == 302
        accept = task_open(case, kind="accept")
        assert accept.department == offices.xihu
        assert act(hangzhou, accept, "accept").status_code == 302
        reviewer = officer_client(offices.xihu_reviewer)
        review = task_open(case, kind="review")
        assert act(reviewer, review, "opinion", agree="agree", opinion="符合参保条件").status_code == 302
        decider = officer_client(offices.xihu_decider)
        assert act(decider, task_open(case, kind="decide"), "decide", decision="approve").status_code == 302
        assert act(hangzhou, task_open(case, kind="deliver"), "deliver", method="electronic").status_code == 302

    # Then the case is complete in Hangzhou, its clock started at Hangzhou's own acceptance
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.COMPLETED
    assert case.clock_start_on == date(2026, 10, 8)
    assert list(case.events.values_list("action", flat=True)) == [
        "submit",
        "forward",
        "accept",
        "review",
        "decide",
        "deliver",
    ]
    # And Ningbo still reads it, acting on nothing
    final = officer_client(offices.haishu_clerk).get(f"/workbench/cases/{case.number}/")
    assert final.status_code == 200
    assert page_actions(final.content.decode()) == set()
    assert "已于 2026-10-08 09:00 转办承办部门" in final.content.decode()


def test_an_item_handled_locally_only_is_refused_at_another_regions_window_with_the_reason(offices):
    ningbo = officer_client(offices.haishu_clerk)
    check_in(ningbo, identity_number=identity_number_of(offices.applicant), name="钱七")
    reason = "该事项的通办范围为“本地办理”，本窗口不能异地收件。"

    listed = ningbo.get(ITEMS, {"q": "灵活就业补贴"}).content.decode()
    row = listed[listed.index(f'id="item-{offices.local_only.implementation_code}"') :]
    row = row[: row.index("</tr>")]
    assert reason in row
    assert "为申请人办理" not in row

    response = start(ningbo, offices.local_only)

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not Case.objects.filter(implementation=offices.local_only).exists()


# --- who may see and do what on a case received elsewhere -----------------------------------

# stage → role → (case page status, actions offered, material download status)
MATRIX: dict[str, dict[str, tuple[int, set[str], int]]] = {
    "received": {
        "haishu_clerk": (200, {"forward", "correct", "refuse", "claim"}, 200),
        "xihu_clerk": (200, set(), 200),
        "xihu_reviewer": (200, set(), 200),
        "hangzhou_supervisor": (200, set(), 200),
        "ningbo_supervisor": (404, set(), 404),
        "yuhang_clerk": (404, set(), 404),
        "haishu_other_clerk": (404, set(), 404),
    },
    "forwarded": {
        "haishu_clerk": (200, set(), 200),
        "xihu_clerk": (200, {"accept", "correct", "refuse", "claim"}, 200),
        "xihu_reviewer": (200, set(), 200),
        "hangzhou_supervisor": (200, set(), 200),
        "ningbo_supervisor": (404, set(), 404),
        "yuhang_clerk": (404, set(), 404),
        "haishu_other_clerk": (404, set(), 404),
    },
}


def matrix_user(world: CaseWorld, offices: Offices, role: str) -> Any:
    return {
        "haishu_clerk": offices.haishu_clerk,
        "xihu_clerk": offices.xihu_clerk,
        "xihu_reviewer": offices.xihu_reviewer,
        "hangzhou_supervisor": world.supervisor,
        "ningbo_supervisor": world.other_city_supervisor,
        "yuhang_clerk": world.other_county_clerk,
        "haishu_other_clerk": staff_in(make_department(region_code=HAISHU, kind="market"), Role.WINDOW_CLERK),
    }[role]


@pytest.mark.parametrize(("stage", "role"), [(stage, role) for stage, roles in MATRIX.items() for role in roles])
def test_permission_matrix_of_the_receiving_and_the_competent_office(world, offices, stage, role):
    case = receive_at_haishu(offices)
    if stage == "forwarded":
        act(officer_client(offices.haishu_clerk), task_open(case, kind="receive"), "forward")
        assert task_open(case, kind="accept") is not None
    page_status, actions, download_status = MATRIX[stage][role]
    client = officer_client(matrix_user(world, offices, role))
    material = case.materials.get()

    page = client.get(f"/workbench/cases/{case.number}/")
    download = client.get(f"/workbench/cases/{case.number}/materials/{material.pk}/")

    assert page.status_code == page_status
    assert download.status_code == download_status
    if page_status == 200:
        assert page_actions(page.content.decode()) - {"transfer"} == actions
        assert "receiving-office" in page.content.decode()


# ---------------------------------------------------------------------------------------------
# Only window clerks


@pytest.mark.parametrize("role", ["reviewer", "decider", "supervisor", "catalogue_administrator", "citizen"])
def test_anyone_but_a_window_clerk_gets_not_found_on_every_intake_page(world, role):
    clerk = officer_client(world.clerk)
    check_in(clerk, identity_number=identity_number_of(world.other_applicant), name="赵六")
    draft = draft_of(start(clerk, world.implementation))
    user = {
        "catalogue_administrator": make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=XIHU),
        "citizen": world.applicant.user,
    }.get(role) or getattr(world, role)
    client = officer_client(user)

    responses = [
        client.get(INTAKE),
        check_in(client, identity_number=identity_number_of(world.applicant), name="王五"),
        client.get(ITEMS, {"q": "食品"}),
        start(client, world.implementation),
        client.get(f"/workbench/intake/draft-{draft.pk}/"),
        client.post("/workbench/intake/reset/"),
    ]

    assert [response.status_code for response in responses] == [404] * len(responses)
    world.applicant.refresh_from_db()
    assert world.applicant.assurance_level == 2


def test_another_clerk_cannot_open_a_draft_they_did_not_receive(world):
    clerk = officer_client(world.clerk)
    check_in(clerk, identity_number=identity_number_of(world.other_applicant), name="赵六")
    draft = draft_of(start(clerk, world.implementation))
    colleague = officer_client(staff_in(world.market, Role.WINDOW_CLERK))

    assert colleague.get(f"/workbench/intake/draft-{draft.pk}/").status_code == 404
    assert colleague.post(f"/workbench/intake/draft-{draft.pk}/", {"action": "submit"}).status_code == 404
    assert Case.objects.get(pk=draft.pk).state == CaseState.DRAFT


def test_the_receipt_is_not_found_for_an_online_case_or_a_case_the_clerk_may_not_see(world):
    online = make_case(world=world, until="submitted")
    assert officer_client(world.clerk).get(f"/workbench/intake/{online.number}/receipt/").status_code == 404
    assert (
        officer_client(world.other_county_clerk).get(f"/workbench/intake/{online.number}/receipt/").status_code == 404
    )
