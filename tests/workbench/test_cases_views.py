"""The officers' case pages, through HTTP: a case's whole online lifecycle driven from the
workbench, refusals shown with their messages, special procedures and extensions moving the due
dates, the to-do list with its filters and batch actions, and the jump to a case by number."""

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.page_forms import form_fields
from govhall.cases import services
from govhall.cases.models import (
    Case,
    CaseState,
    CaseTask,
    CorrectionNotice,
    Extension,
    ExtensionState,
    SpecialProcedure,
    TaskState,
)
from tests.cases.factories import case_world, make_case, pdf_upload, task_open
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


@pytest.fixture
def world():
    return case_world()


def officer_client(user: Any) -> Client:
    client = Client()
    force_login_verified(client, user)
    return client


def case_url(case: Case, page: str = "") -> str:
    return f"/workbench/cases/{case.number}/{page}"


def task_action_url(task: CaseTask, action: str) -> str:
    return case_url(task.case, f"tasks/{task.pk}/{action}/")


def form_as_shown(client: Client, case: Case, form_id: str) -> dict[str, Any]:
    """The action form ``form_id`` of the case page, with the values the page shows."""
    response = client.get(case_url(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="{form_id}"' in html, f"the page offers no form {form_id}"
    return form_fields(html, form_id=form_id)


def act(client: Client, task: CaseTask, action: str, **values: Any) -> Any:
    """Fill the page's form for ``action`` on ``task`` (field names without the form prefix)
    and send it, as an officer in a browser would."""
    prefix = f"task{task.pk}-{action}"
    data = form_as_shown(client, task.case, prefix)
    data.update({f"{prefix}-{name}": value for name, value in values.items()})
    return client.post(task_action_url(task, action), data)


def success_messages(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def refreshed(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# --- the lifecycle --------------------------------------------------------------------------------


def test_a_case_goes_from_prereview_to_completion_through_the_workbench(world):
    case = make_case(world=world, until="submitted")
    clerk = officer_client(world.clerk)

    # The clerk finds the case on the to-do list and opens it: form and materials side by side.
    listing = clerk.get("/workbench/cases/")
    assert listing.status_code == 200
    assert case.number in listing.content.decode()
    page = clerk.get(case_url(case)).content.decode()
    assert "申请表" in page and "申请材料" in page
    assert "食品经营许可申请书" in page
    assert "网上预审" in page

    prereview = task_open(case, kind="prereview")
    response = act(clerk, prereview, "claim")
    assert response.status_code == 302 and response["Location"] == case_url(case)
    assert CaseTask.objects.get(pk=prereview.pk).assignee == world.clerk
    response = act(clerk, prereview, "pass", opinion="材料齐全")
    assert response.status_code == 302
    assert "预审通过，已转入受理。" in success_messages(response)

    # One correction notice listing two items: a material and a form field.
    accept = task_open(case, kind="accept")
    prefix = f"task{accept.pk}-correct"
    data = form_as_shown(clerk, case, prefix)
    data.update(
        {
            f"{prefix}-items-0-subject": "食品经营许可申请书",
            f"{prefix}-items-0-problem": "缺少法定代表人签字",
            f"{prefix}-items-1-other": "经营场所平面图",
            f"{prefix}-items-1-problem": "请标注操作间面积",
            f"{prefix}-note": "请一次补齐",
        }
    )
    response = clerk.post(task_action_url(accept, "correct"), data)
    assert response.status_code == 302
    case = refreshed(case)
    assert case.state == CaseState.CORRECTION
    notice = CorrectionNotice.objects.get(case=case)
    assert notice.items == [
        {"subject": "食品经营许可申请书", "problem": "缺少法定代表人签字"},
        {"subject": "经营场所平面图", "problem": "请标注操作间面积"},
    ]
    page = clerk.get(case_url(case)).content.decode()
    assert "缺少法定代表人签字" in page and "等待申请人补正" in page

    # The applicant corrects through the services; the acceptance step opens again.
    applicant = world.applicant.user
    services.case_material_add(case=case, user=applicant, material_name="食品经营许可申请书", file=pdf_upload())
    services.case_correction_answer(case=case, user=applicant, note="已补签字")

    accept = task_open(case, kind="accept")
    with CaptureQueriesContext(connection) as queries:
        response = act(clerk, accept, "accept", opinion="予以受理")
    assert response.status_code == 302
    case = refreshed(case)
    assert case.state == CaseState.ACCEPTED
    assert case.promised_due_on is not None
    # Both deadlines and the next step's due date from one read of the calendar.
    assert sum('"cases_calendarday"' in query["sql"] for query in queries.captured_queries) == 1

    # Two departments give their opinions in parallel; the decision opens after both.
    market_branch = task_open(case, kind="parallel", department=world.market)
    ecology_branch = task_open(case, kind="parallel", department=world.ecology)
    response = act(officer_client(world.reviewer), market_branch, "opinion", agree="agree", opinion="符合食品安全条件")
    assert response.status_code == 302
    assert task_open(case, kind="decide") is None
    response = act(
        officer_client(world.ecology_reviewer), ecology_branch, "opinion", agree="agree", opinion="油烟排放达标"
    )
    assert response.status_code == 302

    decide = task_open(case, kind="decide")
    response = act(officer_client(world.decider), decide, "decide", decision="approve", reasons="")
    assert response.status_code == 302
    assert refreshed(case).state == CaseState.DECIDED

    issue = task_open(case, kind="issue_result")
    assert act(clerk, issue, "issue", reference="JY33010600001").status_code == 302
    deliver = task_open(case, kind="deliver")
    response = act(clerk, deliver, "deliver", method="electronic", note="")
    assert response.status_code == 302
    assert "已送达，办件已办结。" in success_messages(response)

    case = refreshed(case)
    assert case.state == CaseState.COMPLETED
    assert case.result_reference == "JY33010600001"
    assert case.delivery_method == "electronic"
    page = clerk.get(case_url(case)).content.decode()
    assert "没有正在办理的环节。" in page
    for label in ("申报", "预审通过", "补正告知", "申请人补正", "受理", "审查意见", "决定", "制证", "送达"):
        assert f"<td>{label}" in page, label
    assert "符合食品安全条件" in page and "油烟排放达标" in page


# --- refusals -------------------------------------------------------------------------------------


def test_refusing_without_reasons_shows_the_message_and_keeps_what_was_typed(world):
    case = make_case(world=world, until="submitted")
    clerk = officer_client(world.clerk)
    prereview = task_open(case, kind="prereview")

    response = act(clerk, prereview, "refuse", reasons="  ", legal_remedy="可申请行政复议（自拟）")

    assert response.status_code == 400
    page = response.content.decode()
    assert "不予受理须说明理由。" in page
    assert "可申请行政复议（自拟）" in page
    assert refreshed(case).state == CaseState.SUBMITTED
    assert CaseTask.objects.get(pk=prereview.pk).state == TaskState.OPEN


def test_the_refusal_form_is_prefilled_with_the_default_legal_remedy(world):
    case = make_case(world=world, until="submitted")
    prereview = task_open(case, kind="prereview")
    data = form_as_shown(officer_client(world.clerk), case, f"task{prereview.pk}-refuse")
    assert data[f"task{prereview.pk}-refuse-legal_remedy"] == str(services.LEGAL_REMEDY_DEFAULT)


def test_a_denial_without_reasons_is_refused_and_the_chosen_decision_stays_selected(world):
    case = make_case(world=world, until="reviewed")
    decide = task_open(case, kind="decide")

    response = act(officer_client(world.decider), decide, "decide", decision="deny", reasons="")

    assert response.status_code == 400
    page = response.content.decode()
    assert "不予许可须说明理由。" in page
    assert form_fields(page, form_id=f"task{decide.pk}-decide")[f"task{decide.pk}-decide-decision"] == "deny"
    assert refreshed(case).state == CaseState.ACCEPTED


def test_a_correction_notice_without_items_is_refused(world):
    case = make_case(world=world, until="prereviewed")
    accept = task_open(case, kind="accept")

    response = act(officer_client(world.clerk), accept, "correct", note="请补正")

    assert response.status_code == 400
    assert "补正告知须列明需要补正的全部内容。" in response.content.decode()
    assert not CorrectionNotice.objects.filter(case=case).exists()


def test_an_officer_acting_on_a_step_of_another_role_is_redirected_with_the_refusal(world):
    case = make_case(world=world, until="reviewed")
    decide = task_open(case, kind="decide")

    clerk = officer_client(world.clerk)
    response = clerk.post(task_action_url(decide, "decide"), {f"task{decide.pk}-decide-decision": "approve"})

    assert response.status_code == 302 and response["Location"] == case_url(case)
    assert "您不能办理此环节，或已由他人签收。" in success_messages(response)
    assert CaseTask.objects.get(pk=decide.pk).state == TaskState.OPEN
    assert refreshed(case).decision == ""


def test_an_action_the_step_does_not_offer_is_refused_with_the_services_message(world):
    case = make_case(world=world, until="submitted")
    prereview = task_open(case, kind="prereview")

    response = officer_client(world.clerk).post(task_action_url(prereview, "accept"), {})

    assert response.status_code == 302
    assert "“网上预审”环节不能执行此操作。" in success_messages(response)
    assert refreshed(case).state == CaseState.SUBMITTED


def test_a_task_claimed_by_a_colleague_offers_no_actions_to_another_clerk(world):
    from tests.cases.factories import staff_in

    case = make_case(world=world, until="submitted")
    prereview = task_open(case, kind="prereview")
    services.case_task_claim(task=prereview, officer=world.clerk)
    colleague = staff_in(world.market, "window_clerk")

    page = officer_client(colleague).get(case_url(case)).content.decode()
    assert f'id="task{prereview.pk}-pass"' not in page
    assert "您不能办理此环节。" in page
    response = officer_client(colleague).post(task_action_url(prereview, "pass"), {})
    assert response.status_code == 302
    assert refreshed(case).state == CaseState.SUBMITTED


def test_a_task_of_another_case_answers_not_found(world):
    case = make_case(world=world, until="submitted")
    other = make_case(world=world, until="submitted", person=world.other_applicant)
    task = task_open(other, kind="prereview")

    response = officer_client(world.clerk).post(case_url(case, f"tasks/{task.pk}/claim/"), {})

    assert response.status_code == 404
    assert CaseTask.objects.get(pk=task.pk).assignee is None


# --- transfer and return -------------------------------------------------------------------------


def test_a_claimed_task_is_transferred_to_a_colleague_of_the_same_role(world):
    from tests.cases.factories import staff_in

    colleague = staff_in(world.market, "window_clerk")
    case = make_case(world=world, until="submitted")
    prereview = task_open(case, kind="prereview")
    services.case_task_claim(task=prereview, officer=world.clerk)

    response = act(officer_client(world.clerk), prereview, "transfer", to_officer=str(colleague.pk), note="请假")

    assert response.status_code == 302
    assert CaseTask.objects.get(pk=prereview.pk).assignee == colleague


def test_the_transfer_form_lists_only_colleagues_of_the_same_department_and_role(world):
    from tests.cases.factories import staff_in

    colleague = staff_in(world.market, "window_clerk", username="same-role-colleague")
    staff_in(world.market, "reviewer", username="other-role-colleague")
    staff_in(world.ecology, "window_clerk", username="other-department-clerk")
    case = make_case(world=world, until="submitted")

    page = officer_client(world.clerk).get(case_url(case)).content.decode()

    assert f'<option value="{colleague.pk}">same-role-colleague</option>' in page
    assert "other-role-colleague" not in page
    assert "other-department-clerk" not in page


def test_a_decider_returns_the_case_to_the_joint_review(world):
    case = make_case(world=world, until="reviewed")
    decide = task_open(case, kind="decide")

    response = act(officer_client(world.decider), decide, "return", to_step="joint_review", reason="油烟意见不明确")

    assert response.status_code == 302
    assert sorted(task.department_id for task in CaseTask.objects.filter(case=case, state=TaskState.OPEN)) == sorted(
        [world.market.pk, world.ecology.pk]
    )


# --- immediate cases --------------------------------------------------------------------------


def test_an_immediate_case_is_decided_at_acceptance_from_the_page(world):
    case = make_case(world=world, until="prereviewed", implementation=world.immediate_implementation)
    accept = task_open(case, kind="accept")
    clerk = officer_client(world.clerk)

    refused = act(clerk, accept, "accept", opinion="", decision="", reasons="")
    assert refused.status_code == 400
    assert "请选择准予或不予。" in refused.content.decode()

    response = act(clerk, accept, "accept", opinion="当场办结", decision="approve", reasons="")
    assert response.status_code == 302
    case = refreshed(case)
    assert case.decision == "approve"
    assert case.state == CaseState.DECIDED


# --- special procedures and extensions ------------------------------------------------------------


def test_a_special_procedure_stops_the_clock_and_moves_both_due_dates(world):
    # Monday 1 June 2026: accepted; the promised 3 and statutory 10 working days run from here.
    with time_machine.travel(at("2026-06-01"), tick=False):
        case = make_case(world=world, until="accepted")
    assert (case.promised_due_on, case.statutory_due_on) == (date(2026, 6, 4), date(2026, 6, 15))

    with time_machine.travel(at("2026-06-02"), tick=False):
        reviewer = officer_client(world.reviewer)
        data = form_as_shown(reviewer, case, "special-start")
        data.update(
            {
                "special-start-kind": "inspection",
                "special-start-reason": "需现场核查操作间",
                "special-start-expected_days": "3",
            }
        )
        response = reviewer.post(case_url(case, "special/"), data)
        assert response.status_code == 302
        page = reviewer.get(case_url(case)).content.decode()
        assert "特别程序进行中，期间不计入办理时限" in page
        assert "暂停计时" in page

    procedure = SpecialProcedure.objects.get(case=case)
    with time_machine.travel(at("2026-06-05"), tick=False):
        # A new login: staff sessions end after 15 idle minutes.
        reviewer = officer_client(world.reviewer)
        key = f"special{procedure.pk}-end"
        data = form_as_shown(reviewer, case, key)
        data[f"{key}-result"] = "现场核查符合要求"
        response = reviewer.post(case_url(case, f"special/{procedure.pk}/end/"), data)
        assert response.status_code == 302

    # 3, 4 and 5 June were paused: both due dates move by those 3 working days.
    case = refreshed(case)
    assert SpecialProcedure.objects.get(pk=procedure.pk).days_paused == 3
    assert (case.promised_due_on, case.statutory_due_on) == (date(2026, 6, 9), date(2026, 6, 18))
    assert case.paused_since is None


def test_the_case_page_reads_procedures_extensions_and_notices_only_when_its_timeline_has_them(world):
    """Each is written with its event in one transaction, so a timeline without the event means
    none: most case pages make three statements fewer."""
    case = make_case(world=world, until="accepted")
    reviewer = officer_client(world.reviewer)
    tables = ('"cases_specialprocedure"', '"cases_extension"', '"cases_correctionnotice"')

    with CaptureQueriesContext(connection) as queries:
        assert reviewer.get(case_url(case)).status_code == 200
    assert not [query for query in queries.captured_queries if any(table in query["sql"] for table in tables)]

    services.case_special_procedure_start(
        case=case, officer=world.reviewer, kind="hearing", reason="申请人要求听证", expected_days=5
    )
    services.case_extension_request(case=refreshed(case), officer=world.reviewer, reason="需征求规划部门意见")
    with CaptureQueriesContext(connection) as queries:
        page = reviewer.get(case_url(case)).content.decode()
    assert "申请人要求听证" in page and "需征求规划部门意见" in page
    read = [table for table in tables if any(table in query["sql"] for query in queries.captured_queries)]
    assert read == ['"cases_specialprocedure"', '"cases_extension"']


def test_deciding_while_a_special_procedure_runs_is_refused(world):
    case = make_case(world=world, until="reviewed")
    services.case_special_procedure_start(
        case=case, officer=world.reviewer, kind="hearing", reason="申请人要求听证", expected_days=5
    )
    decide = task_open(case, kind="decide")

    response = act(officer_client(world.decider), decide, "decide", decision="approve")

    assert response.status_code == 400
    assert "特别程序尚未结束" in response.content.decode()
    assert refreshed(case).decision == ""


def test_an_extension_requested_by_a_reviewer_is_approved_by_the_decider(world):
    with time_machine.travel(at("2026-06-01"), tick=False):
        case = make_case(world=world, until="accepted")
        reviewer = officer_client(world.reviewer)
        data = form_as_shown(reviewer, case, "extension-request")
        data["extension-request-reason"] = "需征求规划部门意见"
        response = reviewer.post(case_url(case, "extension/"), data)
        assert response.status_code == 302

        extension = Extension.objects.get(case=case)
        # Joint handling by several departments: 15 working days (art. 42).
        assert extension.days == 15
        key = f"extension{extension.pk}-answer"
        # The reviewer may not approve it.
        refused = reviewer.post(case_url(case, f"extension/{extension.pk}/answer/"), {f"{key}-approve": "approve"})
        assert refused.status_code == 302
        assert "延期须由承办部门的决定人员批准。" in success_messages(refused)
        assert Extension.objects.get(pk=extension.pk).state == ExtensionState.REQUESTED

        decider = officer_client(world.decider)
        data = form_as_shown(decider, case, key)
        data.update({f"{key}-approve": "approve", f"{key}-note": "同意"})
        response = decider.post(case_url(case, f"extension/{extension.pk}/answer/"), data)
        assert response.status_code == 302

    assert Extension.objects.get(pk=extension.pk).state == ExtensionState.APPROVED
    case = refreshed(case)
    assert case.extension_days == 15
    # 4 June + 15 working days; 15 June + 15 working days (19 June, 端午节, is not one).
    assert case.promised_due_on == date(2026, 6, 26)
    assert case.statutory_due_on == date(2026, 7, 7)


# --- materials --------------------------------------------------------------------------------


def test_an_officer_downloads_a_material_as_an_attachment(world):
    case = make_case(world=world, until="submitted")
    material = case.materials.first()

    response = officer_client(world.clerk).get(case_url(case, f"materials/{material.pk}/"))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.7")


def test_a_material_of_another_case_answers_not_found(world):
    case = make_case(world=world, until="submitted")
    other = make_case(world=world, until="submitted", person=world.other_applicant)
    material = other.materials.first()

    response = officer_client(world.clerk).get(case_url(case, f"materials/{material.pk}/"))

    assert response.status_code == 404


# --- the to-do list -------------------------------------------------------------------------------


def test_the_list_shows_each_column_and_the_time_level(world):
    with time_machine.travel(at("2026-06-01"), tick=False):
        case = make_case(world=world, until="accepted")
    with time_machine.travel(at("2026-06-04"), tick=False):
        page = officer_client(world.reviewer).get("/workbench/cases/").content.decode()

    assert case.number in page
    assert case.item_name in page
    assert "王五" in page
    assert "食品安全条件审查" in page
    assert world.market.name in page
    assert "2026-06-01" in page  # received
    assert "2026-06-04" in page  # promised due date
    assert "黄牌预警：剩 0 个工作日" in page
    assert "未签收" in page


def test_a_row_links_its_case_names_who_holds_it_and_escapes_every_text(world):
    """The rows are written by Python (``views_cases._task_rows_html``), not by the template: a
    row's checkbox is labelled with its case and step, the number links to the case, the
    applicant's name is text whatever it holds, and a claimed step names its officer."""
    with time_machine.travel(at("2026-06-01"), tick=False):
        case = make_case(world=world, until="prereviewed")
    Case.objects.filter(pk=case.pk).update(applicant_name='王<script>"五"</script>')
    task = task_open(case, kind="accept")
    services.case_task_claim(task=task, officer=world.clerk)

    with time_machine.travel(at("2026-06-02"), tick=False):
        page = officer_client(world.clerk).get("/workbench/cases/").content.decode()

    row = re.search(rf'<tr>\s*<td><input type="checkbox" name="task" value="{task.pk}".*?</tr>', page, re.S)
    assert row is not None
    assert f'id="task-{task.pk}" aria-label="选择 {case.number} {task.name}"' in row.group(0)
    assert f'<th scope="row"><a href="/workbench/cases/{case.number}/">{case.number}</a></th>' in row.group(0)
    assert "<td>王&lt;script&gt;&quot;五&quot;&lt;/script&gt;</td>" in row.group(0)
    assert f"<td>{world.clerk}</td>" in row.group(0)
    assert "<script>" not in page


@pytest.mark.parametrize(
    ("days_left", "level", "paused", "chinese", "english"),
    [
        (
            3,
            "green",
            False,
            '<span class="badge badge-fully_online">正常：剩 3 个工作日</span>',
            '<span class="badge badge-fully_online">Normal: 3 working days left</span>',
        ),
        (
            0,
            "yellow",
            False,
            '<span class="badge badge-at_most_one_visit">黄牌预警：剩 0 个工作日</span>',
            '<span class="badge badge-at_most_one_visit">Yellow warning: 0 working days left</span>',
        ),
        (
            -2,
            "red",
            False,
            '<span class="status-suspended">红牌超期：超期 2 个工作日</span>',
            '<span class="status-suspended">Red card: 2 working days overdue</span>',
        ),
        (
            5,
            "green",
            True,
            '<span class="badge">暂停计时（剩 5 个工作日）</span>',
            '<span class="badge">Paused (5 working days left)</span>',
        ),
        (None, "", False, "—", "—"),
    ],
)
def test_the_time_status_in_words_and_colour_in_both_languages(days_left, level, paused, chinese, english):
    from django.utils import translation

    from govhall.cases.selectors import TimeStatus
    from govhall.workbench.views_cases import _time_view

    status = TimeStatus(due_on=None, statutory_due_on=None, days_left=days_left, level=level, paused=paused)
    with translation.override("zh-hans"):
        assert str(_time_view(status)["shown"]) == chinese
    with translation.override("en"):
        assert str(_time_view(status)["shown"]) == english


def test_the_list_filters_by_step_kind_level_and_mine_only(world):
    with time_machine.travel(at("2026-06-01"), tick=False):
        submitted = make_case(world=world, until="submitted")
        accepted = make_case(world=world, until="prereviewed", person=world.other_applicant)
    clerk = officer_client(world.clerk)
    services.case_task_claim(task=task_open(accepted, kind="accept"), officer=world.clerk)

    with time_machine.travel(at("2026-06-02"), tick=False):
        only_prereview = clerk.get("/workbench/cases/", {"kind": "prereview"}).content.decode()
        mine = clerk.get("/workbench/cases/", {"mine": "on"}).content.decode()
        red = clerk.get("/workbench/cases/", {"level": "red"}).content.decode()

    assert submitted.number in only_prereview and accepted.number not in only_prereview
    assert accepted.number in mine and submitted.number not in mine
    # Neither case has a promised due date before acceptance, so neither is red.
    assert submitted.number not in red and accepted.number not in red


def test_the_list_is_read_a_page_at_a_time_oldest_first_keeping_the_filters(world, monkeypatch):
    from govhall.workbench import views_cases

    monkeypatch.setattr(views_cases, "TODO_PAGE_SIZE", 2)
    cases = []
    for hour in (9, 10, 11):
        with time_machine.travel(at("2026-06-01", hour), tick=False):
            cases.append(make_case(world=world, until="submitted"))
    clerk = officer_client(world.clerk)

    first = clerk.get("/workbench/cases/", {"kind": "prereview"}).content.decode()
    second = clerk.get("/workbench/cases/", {"kind": "prereview", "page": "2"}).content.decode()
    beyond = clerk.get("/workbench/cases/", {"kind": "prereview", "page": "9"}).content.decode()

    assert [case.number in first for case in cases] == [True, True, False]
    assert [case.number in second for case in cases] == [False, False, True]
    assert [case.number in beyond for case in cases] == [False, False, True]  # the last page
    assert "共 3 个待办环节" in first and "第 1 / 2 页" in first
    assert 'href="?kind=prereview&amp;page=2" rel="next"' in first  # the next page keeps the filter
    assert 'name="query" value="kind=prereview&amp;page=2"' in second  # batch actions come back here


def test_the_list_filters_by_department_and_says_when_it_shows_only_the_oldest(world, monkeypatch):
    from govhall.accounts.models import Role, StaffAssignment
    from govhall.cases import selectors

    StaffAssignment.objects.create(user=world.clerk, department=world.ecology, role=Role.WINDOW_CLERK)
    cases = [make_case(world=world, until="submitted") for _ in range(3)]
    clerk = officer_client(world.clerk)

    market = clerk.get("/workbench/cases/", {"department": world.market.pk}).content.decode()
    ecology = clerk.get("/workbench/cases/", {"department": world.ecology.pk}).content.decode()
    monkeypatch.setattr(selectors, "TODO_LIST_MAX", 2)
    selectors._officer_task_ids_statement.cache_clear()  # its statements hold the limit
    try:
        oldest = clerk.get("/workbench/cases/").content.decode()
    finally:
        selectors._officer_task_ids_statement.cache_clear()

    assert all(case.number in market for case in cases) and "共 3 个待办环节" in market
    assert not any(case.number in ecology for case in cases) and "没有待办的环节。" in ecology
    assert [case.number in oldest for case in cases] == [True, True, False]
    assert "最早的 2 个待办环节（其余的请用筛选条件查看）" in oldest


def test_the_list_filters_by_time_level_from_each_cases_dates(world):
    with time_machine.travel(at("2026-06-01"), tick=False):
        due_soon = make_case(world=world, until="accepted")
    with time_machine.travel(at("2026-06-04"), tick=False):
        fresh = make_case(world=world, until="accepted", person=world.other_applicant)

    with time_machine.travel(at("2026-06-04"), tick=False):
        yellow = officer_client(world.reviewer).get("/workbench/cases/", {"level": "yellow"}).content.decode()
    with time_machine.travel(at("2026-06-08"), tick=False):  # a new session: the first has been idle
        reviewer = officer_client(world.reviewer)
        red = reviewer.get("/workbench/cases/", {"level": "red"}).content.decode()
        later_yellow = reviewer.get("/workbench/cases/", {"level": "yellow"}).content.decode()

    assert due_soon.number in yellow and fresh.number not in yellow
    assert due_soon.number in red and fresh.number not in red
    assert fresh.number in later_yellow and due_soon.number not in later_yellow
    assert "共 1 个待办环节" in red


def test_the_list_shows_an_overdue_case_as_red(world):
    with time_machine.travel(at("2026-06-01"), tick=False):
        case = make_case(world=world, until="accepted")
    with time_machine.travel(at("2026-06-08"), tick=False):
        page = officer_client(world.reviewer).get("/workbench/cases/", {"level": "red"}).content.decode()
    assert case.number in page
    assert "红牌超期：超期 2 个工作日" in page


def test_the_list_is_empty_for_an_officer_of_another_county(world):
    case = make_case(world=world, until="submitted")
    page = officer_client(world.other_county_clerk).get("/workbench/cases/").content.decode()
    assert case.number not in page
    assert "没有待办的环节。" in page


def test_the_list_query_count_does_not_grow_with_rows(world, django_assert_max_num_queries):
    with time_machine.travel(at("2026-06-01"), tick=False):
        for index in range(3):
            make_case(world=world, until="accepted", person=world.applicant if index % 2 else world.other_applicant)
    client = officer_client(world.reviewer)
    client.get("/workbench/cases/")  # the session and the first request's one-off reads

    with time_machine.travel(at("2026-06-02"), tick=False):
        with django_assert_max_num_queries(40) as three:
            response = client.get("/workbench/cases/")
    assert response.content.decode().count('name="task"') == 3

    with time_machine.travel(at("2026-06-01"), tick=False):
        for index in range(7):
            make_case(world=world, until="accepted", person=world.applicant if index % 2 else world.other_applicant)
    with time_machine.travel(at("2026-06-02"), tick=False):
        with django_assert_max_num_queries(len(three.captured_queries)):
            response = client.get("/workbench/cases/")
    assert response.content.decode().count('name="task"') == 10


def test_batch_claim_reports_successes_and_each_refusal(world):
    from tests.cases.factories import staff_in

    first = make_case(world=world, until="submitted")
    second = make_case(world=world, until="submitted", person=world.other_applicant)
    colleague = staff_in(world.market, "window_clerk")
    taken = task_open(second, kind="prereview")
    services.case_task_claim(task=taken, officer=colleague)
    free = task_open(first, kind="prereview")

    response = officer_client(world.clerk).post(
        "/workbench/cases/batch/", {"action": "claim", "task": [str(free.pk), str(taken.pk)], "query": "kind=prereview"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/workbench/cases/?kind=prereview"
    lines = success_messages(response)
    assert "批量签收：1 件办理成功。" in lines
    assert "批量签收：1 件未能办理：" in lines
    assert f"{second.number}：您不能办理此环节，或已由他人签收。" in lines
    assert CaseTask.objects.get(pk=free.pk).assignee == world.clerk
    assert CaseTask.objects.get(pk=taken.pk).assignee == colleague


def test_batch_delivery_completes_delivery_tasks_and_refuses_other_steps(world):
    first = make_case(world=world, until="issued")
    second = make_case(world=world, until="issued", person=world.other_applicant)
    submitted = make_case(world=world, until="submitted")
    tasks = [task_open(first, kind="deliver"), task_open(second, kind="deliver"), task_open(submitted)]

    response = officer_client(world.clerk).post(
        "/workbench/cases/batch/", {"action": "deliver", "method": "hall", "task": [str(task.pk) for task in tasks]}
    )

    lines = success_messages(response)
    assert "批量送达：2 件办理成功。" in lines
    assert f"{submitted.number}：“网上预审”环节不能执行此操作。" in lines
    assert [refreshed(case).state for case in (first, second, submitted)] == [
        CaseState.COMPLETED,
        CaseState.COMPLETED,
        CaseState.SUBMITTED,
    ]
    assert refreshed(first).delivery_method == "hall"


def test_batch_without_a_selection_changes_nothing(world):
    case = make_case(world=world, until="submitted")
    response = officer_client(world.clerk).post("/workbench/cases/batch/", {"action": "claim"})
    assert "请先勾选要办理的环节。" in success_messages(response)
    assert task_open(case, kind="prereview").assignee is None


# --- finding a case -------------------------------------------------------------------------------


def test_finding_a_visible_case_by_number_opens_it(world):
    case = make_case(world=world, until="submitted")
    response = officer_client(world.supervisor).get("/workbench/cases/find/", {"number": case.number})
    assert response.status_code == 302
    assert response["Location"] == case_url(case)


def test_finding_a_case_the_officer_may_not_see_answers_not_found(world):
    case = make_case(world=world, until="submitted")
    response = officer_client(world.other_city_supervisor).get("/workbench/cases/find/", {"number": case.number})
    assert response.status_code == 404
    assert "没有找到" in response.content.decode()


# --- navigation ------------------------------------------------------------------------------------


def test_the_navigation_shows_the_officers_open_task_count(world):
    make_case(world=world, until="submitted")
    make_case(world=world, until="submitted", person=world.other_applicant)
    page = officer_client(world.clerk).get("/workbench/cases/").content.decode()
    assert "2 件待办" in page


def test_the_handling_officer_sees_the_full_identity_number_with_a_reason_recorded(world):
    from govhall.accounts import privacy
    from govhall.audit.models import AuditRecord

    case = make_case(world=world, until="prereviewed")
    full = privacy.decrypt(world.applicant.identity_number_encrypted, purpose="identity_number")
    client = officer_client(world.clerk)
    page = client.get(f"/workbench/cases/{case.number}/").content.decode()
    assert full not in page
    assert world.applicant.identity_number_masked in page

    refused = client.post(f"/workbench/cases/{case.number}/reveal/", {"reveal-reason": ""})
    assert refused.status_code == 400
    assert full not in refused.content.decode()

    shown = client.post(f"/workbench/cases/{case.number}/reveal/", {"reveal-reason": "窗口核对身份证原件"})
    assert shown.status_code == 200
    assert full in shown.content.decode()
    assert shown["Cache-Control"] == "private, no-store"
    record = AuditRecord.objects.get(action="personal_data_reveal", object_id=case.number)
    assert record.actor == world.clerk
    assert record.data["reason"] == "窗口核对身份证原件"
    assert full not in str(record.data)

    # A supervisor reads the case but may not unmask the applicant.
    supervisor = officer_client(world.supervisor).post(
        f"/workbench/cases/{case.number}/reveal/", {"reveal-reason": "检查"}
    )
    assert supervisor.status_code == 400
    assert full not in supervisor.content.decode()


def test_the_department_verifies_a_commitment_and_a_false_one_revokes_the_approval(world):
    from tests.cases.test_commitments import approved, submitted
    from tests.cases.test_commitments import implementation as commitment_item

    implementation = commitment_item.__wrapped__(world)
    case = approved(world, submitted(world, implementation, lease=True))
    verify = task_open(case, kind="verify")
    client = officer_client(world.reviewer)
    page = client.get(f"/workbench/cases/{case.number}/").content.decode()
    assert "承诺核查" in page
    response = client.post(
        f"/workbench/cases/{case.number}/tasks/{verify.pk}/verify/",
        {f"task{verify.pk}-verify-truthful": "no", f"task{verify.pk}-verify-note": "现场核查发现承诺不实"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    case.refresh_from_db()
    assert case.decision == "revoked"
