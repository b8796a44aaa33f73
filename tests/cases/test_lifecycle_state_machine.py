"""Random sequences of applicant and officer actions (hypothesis state machine) never break the
lifecycle's invariants:

- no decision without acceptance; no result without approval; a completed case has a decision;
- deadlines are never earlier than the day the clock started (the legal acceptance date);
- every action that succeeds writes exactly one timeline event, one that is refused writes none
  and changes nothing;
- open steps exist only while the case is being handled.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from govhall.cases import services
from govhall.cases.models import CLOSED_STATES, Case, CaseState, TaskState
from tests.cases.factories import CaseWorld, case_world, make_draft, pdf_upload, task_open
from tests.factories import unique

START = datetime(2026, 9, 21, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def lifecycle_machine(world: CaseWorld) -> type[RuleBasedStateMachine]:
    class Lifecycle(RuleBasedStateMachine):
        @initialize(company=st.booleans())
        def start(self, company: bool) -> None:
            self.traveller = time_machine.travel(START, tick=False)
            self.clock = self.traveller.start()
            person = world.agent if company else world.applicant
            self.user = person.user
            self.case = make_draft(world=world, person=person, company=world.company if company else None)
            self.procedure = None
            self.extension = None

        def teardown(self) -> None:
            self.traveller.stop()

        # -- helpers -----------------------------------------------------------------------

        def attempt(self, action) -> None:
            before_events = self.case.events.count()
            before = Case.objects.values().get(pk=self.case.pk)
            try:
                action()
            except (services.CaseActionRefused, services.CaseInvalid):
                self.case.refresh_from_db()
                assert self.case.events.count() == before_events
                after = Case.objects.values().get(pk=self.case.pk)
                assert {k: v for k, v in after.items() if k != "updated_at"} == {
                    k: v for k, v in before.items() if k != "updated_at"
                }
                return
            self.case.refresh_from_db()
            assert self.case.events.count() == before_events + 1

        def task(self, kind: str, department=None):
            return task_open(self.case, kind=kind, department=department)

        def act(self, kind: str, officer, service, department=None, **fields) -> None:
            task = self.task(kind, department)
            if task is None:
                # No such step open: any task of the case stands in, and the service must refuse.
                task = self.case.tasks.order_by("-id").first()
                if task is None:
                    return
            self.attempt(lambda: service(task=task, officer=officer, **fields))

        # -- applicant ---------------------------------------------------------------------

        @rule()
        def submit(self) -> None:
            if self.case.state != CaseState.DRAFT:
                return
            self.attempt(lambda: services.case_submit(case=self.case, user=self.user, submit_key=unique("hyp")))

        @rule()
        def withdraw(self) -> None:
            if self.case.state == CaseState.DRAFT:
                return
            self.attempt(lambda: services.case_withdraw(case=self.case, user=self.user, reason="不办了"))

        @rule()
        def answer_correction(self) -> None:
            if self.case.state == CaseState.CORRECTION:
                services.case_material_add(
                    case=self.case, user=self.user, material_name="食品经营许可申请书", file=pdf_upload(text="again")
                )
            self.attempt(lambda: services.case_correction_answer(case=self.case, user=self.user, note="已补正"))

        # -- officers ----------------------------------------------------------------------

        @rule()
        def prereview_pass(self) -> None:
            self.act("prereview", world.clerk, services.case_prereview_pass)

        @rule(kind=st.sampled_from(["prereview", "accept"]))
        def correction_notice(self, kind: str) -> None:
            self.act(
                kind,
                world.clerk,
                services.case_correction_notify,
                items=[{"subject": "食品经营许可申请书", "problem": "未签字"}],
            )

        @rule()
        def refuse(self) -> None:
            self.act("accept", world.clerk, services.case_refuse, reasons="不符合受理条件")

        @rule()
        def accept(self) -> None:
            self.act("accept", world.clerk, services.case_accept)

        @rule(lead=st.booleans(), agree=st.booleans())
        def review(self, lead: bool, agree: bool) -> None:
            officer = world.reviewer if lead else world.ecology_reviewer
            department = world.market if lead else world.ecology
            self.act("parallel", officer, services.case_review, department=department, agree=agree, opinion="意见")

        @rule(decision=st.sampled_from(["approve", "deny", ""]))
        def decide(self, decision: str) -> None:
            self.act("decide", world.decider, services.case_decide, decision=decision, reasons="理由")

        @rule()
        def decide_from_the_wrong_step(self) -> None:
            self.act("accept", world.clerk, services.case_decide, decision="approve")

        @rule()
        def issue(self) -> None:
            self.act("issue_result", world.clerk, services.case_result_issue, reference="R-1")

        @rule()
        def deliver(self) -> None:
            self.act("deliver", world.clerk, services.case_deliver, method="hall")

        @rule()
        def return_to_review(self) -> None:
            self.act("decide", world.decider, services.case_return, to_step="joint_review", reason="补充意见")

        @rule()
        def special_procedure(self) -> None:
            if self.procedure is None:

                def start() -> None:
                    self.procedure = services.case_special_procedure_start(
                        case=self.case, officer=world.reviewer, kind="inspection", reason="核查", expected_days=2
                    )

                self.attempt(start)
            else:
                procedure = self.procedure
                self.attempt(
                    lambda: services.case_special_procedure_end(
                        procedure=procedure, officer=world.reviewer, result="合格"
                    )
                )
                self.procedure = None

        @rule(approve=st.booleans())
        def extension(self, approve: bool) -> None:
            if self.extension is None:

                def request() -> None:
                    self.extension = services.case_extension_request(
                        case=self.case, officer=world.reviewer, reason="复杂"
                    )

                self.attempt(request)
            else:
                extension = self.extension
                self.attempt(
                    lambda: services.case_extension_answer(extension=extension, officer=world.decider, approve=approve)
                )

        @rule(days=st.integers(min_value=1, max_value=9))
        def days_pass(self, days: int) -> None:
            self.clock.shift(timedelta(days=days))

        # -- invariants --------------------------------------------------------------------

        @invariant()
        def no_decision_without_acceptance(self) -> None:
            if self.case.decision:
                assert self.case.accepted_at is not None
                assert self.case.decided_at is not None

        @invariant()
        def no_result_without_approval(self) -> None:
            if self.case.result_reference:
                assert self.case.decision == "approve"
            if self.case.state == CaseState.COMPLETED:
                assert self.case.decision

        @invariant()
        def deadlines_never_before_the_clock_started(self) -> None:
            if self.case.clock_start_on is not None:
                assert self.case.promised_due_on >= self.case.clock_start_on
                assert self.case.statutory_due_on >= self.case.clock_start_on
                assert self.case.statutory_due_on >= self.case.promised_due_on or (
                    self.case.statutory_limit_days < self.case.promised_limit_days
                )

        @invariant()
        def open_steps_only_while_handled(self) -> None:
            open_tasks = self.case.tasks.filter(state=TaskState.OPEN).count()
            if self.case.state in (*CLOSED_STATES, CaseState.DRAFT, CaseState.CORRECTION):
                assert open_tasks == 0
            elif self.case.state != CaseState.DECIDED or self.case.stage:
                assert open_tasks >= 1

    return Lifecycle


@pytest.mark.django_db
def test_random_action_sequences_keep_the_lifecycle_invariants():
    world = case_world()
    run_state_machine_as_test(
        lifecycle_machine(world),
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
