"""The case lifecycle through its services: the rules of DOMAIN.md "Cases" and the
Administrative Licensing Law's time limits, with time frozen on real 2026 dates."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from govhall.audit.models import AuditRecord
from govhall.cases import services
from govhall.cases.models import Case, CaseDefinition, CaseEvent, CaseState, CaseTask, TaskState
from govhall.cases.selectors import case_time_status
from govhall.notices.models import InboxMessage, OutboxMessage
from tests.cases.factories import case_world, make_case, make_draft, pdf_upload, task_open

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


@pytest.fixture
def world():
    return case_world()


def test_submit_gives_a_number_of_region_date_and_sequence_and_opens_prereview(world):
    with time_machine.travel(at("2026-09-28"), tick=False):
        case = make_case(world=world, until="submitted")
    assert case.number.startswith("33010620260928")
    assert len(case.number) == 20
    assert case.state == CaseState.SUBMITTED
    assert case.implementation_version == world.implementation.version
    assert [task.kind for task in case.tasks.filter(state=TaskState.OPEN)] == ["prereview"]
    second = make_case(world=world, until="draft", person=world.other_applicant)
    with time_machine.travel(at("2026-09-28", 11), tick=False):
        second = services.case_submit(case=second, user=world.other_applicant.user, submit_key="k2")
    assert int(second.number[-6:]) == int(case.number[-6:]) + 1


def test_submitting_twice_or_with_a_used_key_makes_one_case(world):
    draft = make_draft(world=world)
    first = services.case_submit(case=draft, user=world.applicant.user, submit_key="same-key")
    again = services.case_submit(case=draft, user=world.applicant.user, submit_key="same-key")
    assert again.pk == first.pk
    assert again.number == first.number
    # A second draft submitted with the key already used returns the first case, not a new one.
    other_draft = make_draft(world=world, implementation=world.immediate_implementation)
    retried = services.case_submit(case=other_draft, user=world.applicant.user, submit_key="same-key")
    assert retried.pk == first.pk
    assert Case.objects.filter(applicant=world.applicant.user).exclude(state=CaseState.DRAFT).count() == 1
    assert CaseEvent.objects.filter(case=first, action="submit").count() == 1


def test_case_file_with_the_same_key_returns_the_same_case(world):
    data_case = make_draft(world=world, implementation=world.immediate_implementation)
    data = dict(data_case.data)
    data_case.delete()
    first = services.case_file(
        user=world.applicant.user, implementation=world.immediate_implementation, data=data, submit_key="api-1"
    )
    second = services.case_file(
        user=world.applicant.user, implementation=world.immediate_implementation, data=data, submit_key="api-1"
    )
    assert first.pk == second.pk
    assert first.state == CaseState.SUBMITTED


def test_submit_refuses_missing_materials_and_keeps_the_answers(world):
    draft = make_draft(world=world, materials=False)
    answers = dict(draft.data)
    with pytest.raises(services.CaseInvalid) as refused:
        services.case_submit(case=draft, user=world.applicant.user, submit_key="k")
    assert "material:食品经营许可申请书" in refused.value.errors
    draft.refresh_from_db()
    assert draft.state == CaseState.DRAFT
    assert draft.number is None
    assert draft.data == answers


def test_a_person_below_the_items_assurance_level_cannot_apply(world):
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_draft_start(user=world.low_level_applicant.user, implementation=world.implementation)
    assert refused.value.code == "assurance_too_low"


def test_an_agent_applies_for_the_company_and_the_representative_sees_it(world):
    case = make_case(world=world, until="submitted", person=world.agent, company=world.company)
    assert case.company_id == world.company.pk
    assert case.applicant_name == world.company.name
    from govhall.cases.guards import applicant_may_see_case

    assert applicant_may_see_case(user=world.applicant.user, case=case)
    assert not applicant_may_see_case(user=world.other_applicant.user, case=case)
    record = AuditRecord.objects.filter(action="case_submit", object_id=case.number).get()
    assert record.acting_for == f"company:{world.company.credit_code}"


def test_acceptance_starts_the_limits_on_the_next_working_day_across_national_day(world):
    # Given a case received on Monday 2026-09-28 and accepted on Tuesday 29th
    with time_machine.travel(at("2026-09-28"), tick=False):
        case = make_case(world=world, until="prereviewed")
    assert case.correction_due_on == date(2026, 10, 10)  # 29, 30, Oct 8, 9 and the 调休 Saturday 10th
    with time_machine.travel(at("2026-09-29"), tick=False):
        case = services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)
    # Then the promised 3 working days skip the National Day holiday (Oct 1–7)
    assert case.clock_start_on == date(2026, 9, 29)
    assert case.promised_due_on == date(2026, 10, 9)
    assert case.statutory_due_on == date(2026, 10, 19)
    with time_machine.travel(at("2026-10-08"), tick=False):
        status = case_time_status(case=case)
    assert (status.days_left, status.level) == (1, "yellow")
    with time_machine.travel(at("2026-10-12"), tick=False):
        status = case_time_status(case=case)
    assert (status.days_left, status.level) == (-2, "red")


def test_acceptance_after_five_working_days_counts_from_receipt(world):
    with time_machine.travel(at("2026-09-28"), tick=False):
        case = make_case(world=world, until="prereviewed")
    with time_machine.travel(at("2026-10-12"), tick=False):
        case = services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)
    assert case.deemed_accepted is True
    assert case.clock_start_on == date(2026, 9, 28)
    assert case.promised_due_on == date(2026, 10, 8)


def test_correction_notice_lists_everything_once_and_the_answer_reopens_acceptance(world):
    with time_machine.travel(at("2026-09-28"), tick=False):
        case = make_case(world=world, until="prereviewed")
        case = services.case_correction_notify(
            task=task_open(case, kind="accept"),
            officer=world.clerk,
            items=[
                {"subject": "食品经营许可申请书", "problem": "未签字"},
                {"subject": "经营场所", "problem": "地址与租赁合同不一致"},
            ],
            note="请一次性补正",
        )
    assert case.state == CaseState.CORRECTION
    notice = case.corrections.get()
    assert len(notice.items) == 2
    assert notice.late is False
    assert InboxMessage.objects.filter(user=world.applicant.user, subject="请补正申请材料").exists()
    assert OutboxMessage.objects.filter(purpose="case_correction").count() == 1
    # The applicant cannot be asked twice while a notice is pending: no open intake task remains.
    assert not CaseTask.objects.filter(case=case, state=TaskState.OPEN).exists()
    with time_machine.travel(at("2026-09-30"), tick=False):
        services.case_material_add(
            case=case, user=world.applicant.user, material_name="食品经营许可申请书", file=pdf_upload(text="signed")
        )
        case = services.case_correction_answer(case=case, user=world.applicant.user, note="已签字")
    assert case.state == CaseState.SUBMITTED
    assert case.received_on == date(2026, 9, 30)
    assert task_open(case, kind="accept") is not None
    assert case.materials.filter(material_name="食品经营许可申请书", superseded_at__isnull=True).count() == 1
    assert case.materials.filter(material_name="食品经营许可申请书").count() == 2


def test_a_late_correction_notice_makes_the_application_accepted_from_receipt(world):
    with time_machine.travel(at("2026-09-28"), tick=False):
        case = make_case(world=world, until="prereviewed")
    with time_machine.travel(at("2026-10-13"), tick=False):
        case = services.case_correction_notify(
            task=task_open(case, kind="accept"),
            officer=world.clerk,
            items=[{"subject": "申请书", "problem": "缺页"}],
        )
    assert case.corrections.get().late is True
    assert case.deemed_accepted is True
    with time_machine.travel(at("2026-10-14"), tick=False):
        services.case_correction_answer(case=case, user=world.applicant.user)
        case = services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)
    assert case.clock_start_on == date(2026, 9, 28)


def test_a_correction_notice_must_name_what_is_wrong(world):
    case = make_case(world=world, until="prereviewed")
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_correction_notify(task=task_open(case, kind="accept"), officer=world.clerk, items=[])
    assert refused.value.code == "correction_items_required"
    with pytest.raises(services.CaseActionRefused):
        services.case_correction_notify(
            task=task_open(case, kind="accept"), officer=world.clerk, items=[{"subject": "申请书", "problem": ""}]
        )


def test_refusal_needs_reasons_and_records_the_legal_remedy(world):
    case = make_case(world=world, until="prereviewed")
    with pytest.raises(services.CaseActionRefused):
        services.case_refuse(task=task_open(case, kind="accept"), officer=world.clerk, reasons=" ")
    case = services.case_refuse(
        task=task_open(case, kind="accept"), officer=world.clerk, reasons="不属于本机关职权范围"
    )
    assert case.state == CaseState.REFUSED
    assert "行政复议" in case.legal_remedy
    assert not case.tasks.filter(state=TaskState.OPEN).exists()


def test_parallel_review_waits_for_every_department_before_decision(world):
    case = make_case(world=world, until="accepted")
    branches = case.tasks.filter(step_key="joint_review", state=TaskState.OPEN)
    assert {task.department_id for task in branches} == {world.market.pk, world.ecology.pk}
    assert branches.get(department=world.market).lead is True
    case = services.case_review(
        task=task_open(case, department=world.ecology), officer=world.ecology_reviewer, agree=True, opinion="同意"
    )
    assert task_open(case, kind="decide") is None
    assert case.stage == "joint_review"
    case = services.case_review(
        task=task_open(case, department=world.market), officer=world.reviewer, agree=True, opinion="同意"
    )
    assert task_open(case, kind="decide") is not None
    assert case.stage == "decide"


def test_a_reviewer_of_one_department_cannot_give_the_other_departments_opinion(world):
    case = make_case(world=world, until="accepted")
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_review(
            task=task_open(case, department=world.ecology), officer=world.reviewer, agree=True, opinion="同意"
        )
    assert refused.value.code == "not_allowed"


def test_whole_lifecycle_completes_with_one_event_per_action(world):
    case = make_case(world=world, until="completed")
    assert case.state == CaseState.COMPLETED
    assert case.decision == "approve"
    assert case.result_reference == "SP3301060001"
    actions = list(case.events.values_list("action", flat=True))
    assert actions == [
        "submit",
        "prereview_pass",
        "accept",
        "review",
        "review",
        "decide",
        "result_issue",
        "deliver",
    ]
    assert AuditRecord.objects.filter(object_id=case.number, action__startswith="case_").count() >= len(actions)
    subjects = set(InboxMessage.objects.filter(user=world.applicant.user).values_list("subject", flat=True))
    assert {"申请已受理", "办件已作出准予决定", "办理结果已制作", "办件已办结"} <= subjects


def test_deny_needs_reasons_and_skips_the_result(world):
    case = make_case(world=world, until="reviewed")
    with pytest.raises(services.CaseActionRefused):
        services.case_decide(task=task_open(case, kind="decide"), officer=world.decider, decision="deny")
    case = services.case_decide(
        task=task_open(case, kind="decide"), officer=world.decider, decision="deny", reasons="经营场所不符合要求"
    )
    assert task_open(case, kind="issue_result") is None
    assert task_open(case, kind="deliver") is not None
    case = services.case_deliver(task=task_open(case, kind="deliver"), officer=world.clerk, method="electronic")
    assert case.state == CaseState.COMPLETED
    assert case.result_reference == ""


def test_an_immediate_case_is_decided_at_acceptance(world):
    case = make_case(world=world, until="submitted", implementation=world.immediate_implementation)
    if task_open(case, kind="prereview"):
        case = services.case_prereview_pass(task=task_open(case, kind="prereview"), officer=world.clerk)
    with pytest.raises(services.CaseActionRefused):
        services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)
    case = services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk, decision="approve")
    assert case.state == CaseState.DECIDED
    assert not case.tasks.filter(kind__in=["review", "decide"]).exists()


def test_an_action_the_step_does_not_offer_is_refused(world):
    case = make_case(world=world, until="prereviewed")
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_decide(task=task_open(case, kind="accept"), officer=world.clerk, decision="approve")
    assert refused.value.code in ("action_not_allowed", "not_allowed")
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_task_act(
            task=task_open(case, kind="accept"), officer=world.clerk, action="issue", fields={"reference": "R-1"}
        )
    assert refused.value.code == "action_not_allowed"


def test_a_closed_task_cannot_be_acted_on_twice(world):
    case = make_case(world=world, until="prereviewed")
    task = task_open(case, kind="accept")
    services.case_accept(task=task, officer=world.clerk)
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_accept(task=task, officer=world.clerk)
    assert refused.value.code == "task_closed"


def test_a_claimed_task_belongs_to_its_officer_until_transferred(world):
    from tests.cases.factories import staff_in

    colleague = staff_in(world.market, "window_clerk")
    case = make_case(world=world, until="prereviewed")
    task = task_open(case, kind="accept")
    services.case_task_claim(task=task, officer=world.clerk)
    with pytest.raises(services.CaseActionRefused):
        services.case_accept(task=task, officer=colleague)
    services.case_task_transfer(task=task, officer=world.department_admin, to_officer=colleague, note="请假")
    case = services.case_accept(task=task, officer=colleague)
    assert case.state == CaseState.ACCEPTED


def test_withdraw_is_possible_until_the_decision(world):
    case = make_case(world=world, until="accepted")
    case = services.case_withdraw(case=case, user=world.applicant.user, reason="不再经营")
    assert case.state == CaseState.WITHDRAWN
    assert not case.tasks.filter(state=TaskState.OPEN).exists()
    decided = make_case(world=world, until="decided")
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_withdraw(case=decided, user=world.applicant.user, reason="x")
    assert refused.value.code == "not_withdrawable"
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_withdraw(case=make_case(world=world), user=world.other_applicant.user, reason="x")
    assert refused.value.code == "not_found"


def test_return_to_review_undoes_nothing_before_and_reopens_both_branches(world):
    case = make_case(world=world, until="reviewed")
    case = services.case_return(
        task=task_open(case, kind="decide"), officer=world.decider, to_step="joint_review", reason="请补充现场核查意见"
    )
    assert case.stage == "joint_review"
    assert case.tasks.filter(step_key="joint_review", state=TaskState.OPEN).count() == 2
    assert not case.tasks.filter(kind="decide", state=TaskState.OPEN).exists()
    with pytest.raises(services.CaseActionRefused):
        services.case_return(
            task=task_open(case, department=world.market), officer=world.reviewer, to_step="accept", reason="x"
        )


def test_a_special_procedure_stops_the_clock_and_moves_both_deadlines(world):
    with time_machine.travel(at("2026-09-28"), tick=False):
        case = make_case(world=world, until="prereviewed")
    with time_machine.travel(at("2026-09-29"), tick=False):
        case = services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)
        procedure = services.case_special_procedure_start(
            case=case, officer=world.reviewer, kind="inspection", reason="现场核查", expected_days=3
        )
    with time_machine.travel(at("2026-10-09"), tick=False):
        case.refresh_from_db()
        frozen = case_time_status(case=case)
        with pytest.raises(services.CaseActionRefused):
            services.case_special_procedure_start(
                case=case, officer=world.reviewer, kind="hearing", reason="听证", expected_days=5
            )
        services.case_special_procedure_end(procedure=procedure, officer=world.reviewer, result="核查合格")
    case.refresh_from_db()
    # Paused from Sep 29 to Oct 9: Sep 30, Oct 8, Oct 9 are 3 working days.
    assert frozen.paused is True
    assert frozen.days_left == 3  # as it stood on the day the clock stopped
    assert case.promised_due_on == date(2026, 10, 13)  # Oct 10 is a 调休 working Saturday
    assert case.statutory_due_on == date(2026, 10, 22)
    assert case.paused_since is None
    procedure.refresh_from_db()
    assert procedure.days_paused == 3


def test_no_decision_while_a_special_procedure_runs(world):
    case = make_case(world=world, until="reviewed")
    services.case_special_procedure_start(
        case=case, officer=world.decider, kind="expert_review", reason="专家评审", expected_days=5
    )
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_decide(task=task_open(case, kind="decide"), officer=world.decider, decision="approve")
    assert refused.value.code == "special_procedure_running"


def test_an_extension_is_approved_once_by_another_decider_and_moves_the_deadline(world):

    with time_machine.travel(at("2026-09-28"), tick=False):
        case = make_case(world=world, until="accepted")
        due = case.statutory_due_on
        extension = services.case_extension_request(case=case, officer=world.reviewer, reason="情况复杂")
        # Joint handling by two departments: 15 working days (art. 42).
        assert extension.days == 15
        with pytest.raises(services.CaseActionRefused):
            services.case_extension_answer(extension=extension, officer=world.reviewer, approve=True)
        services.case_extension_answer(extension=extension, officer=world.decider, approve=True, note="同意")
        with pytest.raises(services.CaseActionRefused) as refused:
            services.case_extension_request(case=case, officer=world.reviewer, reason="再次")
    assert refused.value.code == "extension_exists"
    case.refresh_from_db()
    assert case.extension_days == 15
    assert case.statutory_due_on > due
    self_requested = services.case_extension_request(
        case=make_case(world=world, until="accepted"), officer=world.decider, reason="x"
    )
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_extension_answer(extension=self_requested, officer=world.decider, approve=True)
    assert refused.value.code == "own_request"


def test_a_locked_prefilled_value_cannot_be_changed_by_the_applicant(world):
    draft = make_draft(world=world)
    locked = draft.prefilled.get("locked") or []
    assert locked, "the standard form locks at least the identity number"
    name = locked[0]
    services.case_draft_save(case=draft, user=world.applicant.user, data={**draft.data, name: "篡改"})
    draft.refresh_from_db()
    assert draft.data[name] == draft.prefilled["values"][name]
    # Tampering below the service (the stored row) is caught at submission by the hash.
    Case.objects.filter(pk=draft.pk).update(data={**draft.data, name: "篡改"})
    draft.refresh_from_db()
    with pytest.raises(services.CaseInvalid) as refused:
        services.case_submit(case=draft, user=world.applicant.user, submit_key="t")
    assert name in refused.value.errors


def test_reusing_a_material_from_an_earlier_case_shares_the_file(world):
    earlier = make_case(world=world, until="submitted")
    source = earlier.materials.get(material_name="食品经营许可申请书")
    draft = make_draft(world=world, materials=False)
    from govhall.cases.selectors import material_reuse_candidates

    candidates = material_reuse_candidates(case=draft, user=world.applicant.user)
    assert [item.pk for item in candidates["食品经营许可申请书"]] == [source.pk]
    reused = services.case_material_reuse(
        case=draft, user=world.applicant.user, material_name="食品经营许可申请书", source=source
    )
    assert reused.sha256 == source.sha256
    assert reused.file.name == source.file.name
    with pytest.raises(services.CaseActionRefused):
        services.case_material_reuse(
            case=make_draft(world=world, person=world.other_applicant, materials=False),
            user=world.other_applicant.user,
            material_name="食品经营许可申请书",
            source=source,
        )


def test_an_action_writes_only_the_columns_it_changed(world):
    case = make_case(world=world, until="prereviewed")
    task = task_open(case, kind="accept")

    with CaptureQueriesContext(connection) as queries:
        services.case_accept(task=task, officer=world.clerk)

    updates = [query["sql"] for query in queries.captured_queries if query["sql"].startswith('UPDATE "cases_case"')]
    assert len(updates) == 1
    assert '"state"' in updates[0] and '"promised_due_on"' in updates[0] and '"updated_at"' in updates[0]
    assert '"data"' not in updates[0] and '"applicant_name"' not in updates[0]
    accepted = Case.objects.get(pk=case.pk)
    assert accepted.state == CaseState.ACCEPTED and accepted.accepted_at is not None
    assert accepted.data == case.data


def test_a_dict_of_a_locked_case_changed_in_place_is_saved_and_so_is_a_second_change(world):
    case = make_case(world=world, until="submitted")
    with transaction.atomic():
        locked = services._case_locked(case.pk)
        locked.data["note"] = "窗口补录"  # a dict changed in place, not assigned
        services._case_save(locked)
        locked.stage = "prereview-again"
        services._case_save(locked)  # compared with what the first save wrote

    saved = Case.objects.get(pk=case.pk)
    assert saved.data["note"] == "窗口补录"
    assert saved.stage == "prereview-again"
    assert saved.updated_at > case.updated_at


def test_a_definition_used_again_is_not_read_again_and_is_what_a_read_gives(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    content = {
        "form": {"fields_in_order": [{"name": "b"}, {"name": "a"}], "v": 1},  # jsonb orders keys by length
        "materials": [{"name": "申请书", "requirement": "required"}],
        "process": {"steps": [{"key": "accept", "kind": "accept"}]},
    }
    with django_capture_on_commit_callbacks(execute=True):
        made = services.case_definition_get(**content)
    read = CaseDefinition.objects.get(pk=made.pk)

    with django_assert_num_queries(0):
        again = services.case_definition_get(**content)

    assert (again.pk, again.sha256, again.created_at) == (read.pk, read.sha256, read.created_at)
    assert (again.form, again.materials, again.process) == (read.form, read.materials, read.process)
    assert list(again.form) == list(read.form)  # in the order a read gives (PostgreSQL's jsonb: "v" first)
    assert again._state.adding is False
    other = services.case_definition_get(**{**content, "process": {"steps": []}})
    assert other.pk != made.pk
