"""Rule-based automatic approval (秒批) and intake at a window, here or in another region (收受分离)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from govhall.audit.models import AuditRecord
from govhall.cases import services
from govhall.cases.models import AutoDecision, CaseState, TaskState
from govhall.cases.process import process_definition_check
from govhall.catalog.models import AreaOfHandling
from tests.cases.factories import application_data, case_world, pdf_upload, staff_in, task_open
from tests.factories import HAISHU, make_department, make_implementation, make_person

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")

SCENARIO_FORM = {
    "version": 1,
    "schema": {
        "type": "object",
        "properties": {"scenario": {"type": "string", "title": "备案情形", "enum": ["retired_elsewhere", "other"]}},
        "required": ["scenario"],
    },
    "layout": [{"section": "申请内容", "fields": ["scenario"]}],
    "fields": {"scenario": {"widget": "choice"}},
}

AUTO_PROCESS = {
    "version": 1,
    "steps": [
        {"key": "accept", "kind": "accept", "name": "受理", "role": "window_clerk", "days": 1},
        {
            "key": "auto",
            "kind": "auto_decide",
            "name": "自动审批",
            "rules_version": 3,
            "rules": [
                {
                    "id": "retired_elsewhere_l2",
                    "description": "异地安置退休且已实名核验",
                    "all": [
                        {"fact": "form.scenario", "op": "eq", "value": "retired_elsewhere"},
                        {"fact": "applicant.assurance_level", "op": "gte", "value": 2},
                    ],
                }
            ],
        },
        {"key": "decide", "kind": "decide", "name": "人工决定", "role": "decider", "days": 1},
        {"key": "deliver", "kind": "deliver", "name": "送达", "role": "window_clerk", "days": 1},
    ],
}


@pytest.fixture
def world():
    return case_world()


def auto_case(world, scenario: str):
    implementation = make_implementation(
        kind="market", application_form=SCENARIO_FORM, process_definition=AUTO_PROCESS, materials=[]
    )
    user = world.applicant.user
    case = services.case_draft_start(user=user, implementation=implementation)
    services.case_draft_save(case=case, user=user, data={"scenario": scenario})
    case = services.case_submit(case=case, user=user, submit_key=f"auto-{scenario}")
    return services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)


def test_a_case_meeting_a_rule_is_approved_at_once_with_its_facts_recorded(world):
    case = auto_case(world, "retired_elsewhere")

    assert case.state == CaseState.DECIDED
    assert case.decision == "approve"
    assert task_open(case, kind="decide") is None
    assert task_open(case, kind="deliver") is not None
    decision = AutoDecision.objects.get(case=case)
    assert (decision.approved, decision.matched_rule, decision.rules_version) == (True, "retired_elsewhere_l2", 3)
    assert decision.facts == {"form.scenario": "retired_elsewhere", "applicant.assurance_level": 2}
    event = case.events.get(action="auto_approve")
    assert event.actor is None
    assert AuditRecord.objects.filter(action="case_auto_approve", object_id=case.number, actor=None).exists()


def test_a_case_no_rule_approves_goes_to_an_officer_and_is_never_denied(world):
    case = auto_case(world, "other")

    assert case.state == CaseState.ACCEPTED
    assert case.decision == ""
    assert task_open(case, kind="decide") is not None
    decision = AutoDecision.objects.get(case=case)
    assert decision.approved is False
    assert case.events.filter(action="auto_handover").count() == 1
    case = services.case_decide(task=task_open(case, kind="decide"), officer=world.decider, decision="approve")
    assert case.decision == "approve"


def test_rules_that_could_deny_or_leave_no_officer_are_refused_when_saved():
    denying = {
        **AUTO_PROCESS,
        "steps": [
            {**step, "rules": [{**step["rules"][0], "outcome": "deny"}]} if step["kind"] == "auto_decide" else step
            for step in AUTO_PROCESS["steps"]
        ],
    }
    no_officer = {**AUTO_PROCESS, "steps": [step for step in AUTO_PROCESS["steps"] if step["kind"] != "decide"]}
    unknown_fact = {
        **AUTO_PROCESS,
        "steps": [
            {**step, "rules": [{"id": "x", "all": [{"fact": "applicant.salary", "op": "gt", "value": 1}]}]}
            if step["kind"] == "auto_decide"
            else step
            for step in AUTO_PROCESS["steps"]
        ],
    }
    assert process_definition_check(definition=AUTO_PROCESS) == []
    assert any("不能不予" in message for _path, message in process_definition_check(definition=denying))
    assert any("人工决定" in message for _path, message in process_definition_check(definition=no_officer))
    assert any("applicant.salary" in message for _path, message in process_definition_check(definition=unknown_fact))


def test_a_window_intake_skips_the_online_prereview(world):
    person = world.other_applicant
    case = services.case_draft_start(
        user=person.user, implementation=world.implementation, channel="window", received_by=world.clerk
    )
    services.case_draft_save(case=case, user=world.clerk, data=application_data(case))
    services.case_material_add(
        case=case, user=world.clerk, material_name="食品经营许可申请书", file=pdf_upload(text="scanned")
    )
    case = services.case_submit(case=case, user=world.clerk, submit_key="window-1")

    assert case.state == CaseState.SUBMITTED
    assert case.channel == "window"
    assert case.applicant == person.user
    assert [task.kind for task in case.tasks.filter(state=TaskState.OPEN)] == ["accept"]
    # The applicant follows it online afterwards; the clerk cannot act as the applicant later.
    from govhall.cases.guards import applicant_may_see_case

    assert applicant_may_see_case(user=person.user, case=case)
    with pytest.raises(services.CaseActionRefused):
        services.case_withdraw(case=case, user=world.clerk, reason="x")


def test_a_hall_in_another_city_receives_checks_and_forwards_to_the_competent_department(world):
    # Given a 西湖区 (Hangzhou) item open province-wide, received at a 海曙区 (Ningbo) window
    implementation = make_implementation(kind="market", area_of_handling=AreaOfHandling.PROVINCE)
    haishu = make_department(region_code=HAISHU, kind="market")
    haishu_clerk = staff_in(haishu, "window_clerk")
    person = make_person(name="钱七", level=2)
    with time_machine.travel(datetime(2026, 9, 30, 10, tzinfo=SHANGHAI), tick=False):
        case = services.case_draft_start(
            user=person.user,
            implementation=implementation,
            channel="window",
            received_by=haishu_clerk,
            receiving_department=haishu,
        )
        services.case_draft_save(case=case, user=haishu_clerk, data=application_data(case))
        services.case_material_add(case=case, user=haishu_clerk, material_name="食品经营许可申请书", file=pdf_upload())
        case = services.case_submit(case=case, user=haishu_clerk, submit_key="elsewhere-1")
    receive = task_open(case, kind="receive")
    # Then the receiving office has its own limit of 1 working day (Oct 1–7 are holidays)
    assert receive.department == haishu
    assert receive.due_on == date(2026, 10, 8)
    assert case.receiving_department == haishu
    # The competent department's clerk cannot act on the receiving office's step.
    with pytest.raises(services.CaseActionRefused):
        services.case_forward(task=receive, officer=world.clerk)
    with time_machine.travel(datetime(2026, 10, 8, 9, tzinfo=SHANGHAI), tick=False):
        case = services.case_forward(task=receive, officer=haishu_clerk, opinion="身份与材料形式审查通过")
        accept = task_open(case, kind="accept")
        assert accept.department == world.market
        case = services.case_accept(task=accept, officer=world.clerk)
    # The competent department's limit starts at its own acceptance.
    assert case.clock_start_on == date(2026, 10, 8)
    assert [event.action for event in case.events.all()] == ["submit", "forward", "accept"]


def test_an_item_handled_locally_only_cannot_be_received_in_another_region(world):
    implementation = make_implementation(kind="market", area_of_handling=AreaOfHandling.LOCAL)
    haishu = make_department(region_code=HAISHU, kind="market")
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_draft_start(
            user=world.other_applicant.user,
            implementation=implementation,
            channel="window",
            received_by=staff_in(haishu, "window_clerk"),
            receiving_department=haishu,
        )
    assert refused.value.code == "not_cross_region"


def test_only_a_window_clerk_of_the_receiving_department_can_take_an_application(world):
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_draft_start(
            user=world.other_applicant.user,
            implementation=world.implementation,
            channel="window",
            received_by=world.reviewer,
        )
    assert refused.value.code == "not_allowed"


INSTANT_PROCESS = {
    "version": 1,
    "steps": [
        {**AUTO_PROCESS["steps"][1], "key": "instant"},
        {"key": "accept", "kind": "accept", "name": "受理", "role": "window_clerk", "days": 1},
        {"key": "deliver", "kind": "deliver", "name": "送达", "role": "window_clerk", "days": 1},
    ],
}


@pytest.mark.parametrize(("scenario", "approved"), [("retired_elsewhere", True), ("other", False)])
def test_an_automatic_step_first_accepts_and_approves_in_seconds_or_leaves_it_to_the_window(world, scenario, approved):
    # Without a decide step, the acceptance decides for a case the rules do not approve.
    assert process_definition_check(definition=INSTANT_PROCESS) == []
    implementation = make_implementation(
        kind="market", application_form=SCENARIO_FORM, process_definition=INSTANT_PROCESS, materials=[]
    )
    user = world.applicant.user
    case = services.case_draft_start(user=user, implementation=implementation)
    services.case_draft_save(case=case, user=user, data={"scenario": scenario})
    case = services.case_submit(case=case, user=user, submit_key=f"instant-{scenario}")

    if approved:
        assert (case.state, case.decision) == (CaseState.DECIDED, "approve")
        assert case.accepted_at is not None
        assert case.promised_due_on is not None
        assert task_open(case, kind="accept") is None
        assert task_open(case, kind="deliver") is not None
    else:
        assert case.state == CaseState.SUBMITTED
        case = services.case_accept(
            task=task_open(case, kind="accept"), officer=world.clerk, decision="approve", decision_reasons=""
        )
        assert case.decision == "approve"
    assert [event.action for event in case.events.order_by("id")][:2] == [
        "submit",
        "auto_approve" if approved else "auto_handover",
    ]
