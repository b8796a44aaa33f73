"""Warning rules with frozen time on working days, the scan's idempotence and clearing, and
who sees which warnings (DOMAIN.md "Supervision"; Administrative Licensing Law art. 32, 42, 45)."""

import datetime

import pytest
import time_machine

from govhall.accounts.models import Role
from govhall.cases import services
from govhall.cases.models import CalendarDay, Case
from govhall.supervision import rules, selectors
from govhall.supervision.models import Warning, WarningLevel, WarningRule
from tests.cases.factories import case_world, make_case, staff_in, task_open
from tests.factories import make_department

pytestmark = pytest.mark.django_db
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(day: str, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def _open(case: Case, rule: str = WarningRule.TIME_LIMIT) -> Warning | None:
    return Warning.objects.filter(case=case, rule=rule, cleared_at__isnull=True).first()


@pytest.fixture
def world():
    return case_world()


def test_time_limit_yellow_then_red_counting_working_days(world):
    # Accepted on Monday 2026-09-28; the promised limit (3 working days in the factory) skips
    # the National Day holidays from 1 October.
    with time_machine.travel(at("2026-09-28"), tick=False):
        case = make_case(world=world, until="accepted")
    case.refresh_from_db()
    due = case.promised_due_on
    assert due is not None and due >= datetime.date(2026, 10, 8)  # 1–7 October are not working days

    with time_machine.travel(at("2026-09-28", 11), tick=False):
        rules.scan()
    assert _open(case) is None  # green

    day_before = due - datetime.timedelta(days=1)
    while not CalendarDay.objects.get(date=day_before).working:
        day_before -= datetime.timedelta(days=1)
    with time_machine.travel(at(day_before.isoformat()), tick=False):
        rules.scan()
        rules.scan()  # idempotent
    assert _open(case).level == WarningLevel.YELLOW
    assert Warning.objects.filter(case=case, rule=WarningRule.TIME_LIMIT).count() == 1

    with time_machine.travel(at((due + datetime.timedelta(days=1)).isoformat()), tick=False):
        rules.scan()
    warning = _open(case)
    assert warning.level == WarningLevel.RED and warning.level_changed_at is not None
    assert Warning.objects.filter(case=case, rule=WarningRule.TIME_LIMIT).count() == 1


def test_a_closed_case_clears_its_warnings_at_once(world):
    with time_machine.travel(at("2026-03-02"), tick=False):
        case = make_case(world=world, until="reviewed")
    with time_machine.travel(at("2026-04-01"), tick=False):
        rules.scan()
        assert _open(case).level == WarningLevel.RED
        assert _open(case, WarningRule.STEP_OVERDUE) is not None
        case = services.case_decide(
            task=task_open(case, kind="decide"), officer=world.decider, decision="deny", reasons="不符合条件"
        )
        services.case_deliver(task=task_open(case, kind="deliver"), officer=world.clerk, method="electronic")
    assert _open(case) is None and _open(case, WarningRule.STEP_OVERDUE) is None
    assert Warning.objects.filter(case=case, cleared_how="case_closed").exists()


def test_a_step_over_its_own_limit(world):
    with time_machine.travel(at("2026-03-02"), tick=False):
        case = make_case(world=world, until="submitted")
    task = task_open(case)
    with time_machine.travel(at(task.due_on.isoformat()), tick=False):
        rules.scan()
    assert Warning.objects.get(subject_type="task", subject_id=task.pk, cleared_at__isnull=True).level == "yellow"
    with time_machine.travel(at((task.due_on + datetime.timedelta(days=3)).isoformat()), tick=False):
        rules.scan()
    assert Warning.objects.get(subject_type="task", subject_id=task.pk, cleared_at__isnull=True).level == "red"


def test_a_refusal_recorded_without_reasons_is_a_red_warning(world):
    case = make_case(world=world, until="submitted")
    Case.objects.filter(pk=case.pk).update(state="refused", refusal_reasons="", legal_remedy="")
    rules.scan()
    assert _open(case, WarningRule.REFUSAL_WITHOUT_REASONS).level == WarningLevel.RED


def test_a_late_correction_notice_is_a_red_warning(world):
    with time_machine.travel(at("2026-03-02"), tick=False):
        case = make_case(world=world, until="submitted")
    with time_machine.travel(at("2026-03-20"), tick=False):  # more than 5 working days later (art. 32)
        services.case_correction_notify(
            task=task_open(case), officer=world.clerk, items=[{"subject": "食品经营许可申请书", "problem": "未签字"}]
        )
    assert _open(case, WarningRule.LATE_CORRECTION_NOTICE).level == WarningLevel.RED


def test_supervisors_see_their_region_and_below_department_staff_their_department(world):
    with time_machine.travel(at("2026-03-02"), tick=False):
        case = make_case(world=world, until="accepted")
    with time_machine.travel(at("2026-04-01"), tick=False):
        rules.scan()
    county_supervisor_elsewhere = staff_in(make_department(region_code="330110", kind="supervision"), Role.SUPERVISOR)
    other_department = staff_in(make_department(region_code="330106", kind="health"), Role.REVIEWER)

    def sees(user) -> bool:
        return selectors.warnings_open(user=user).filter(case=case).exists()

    assert sees(world.supervisor)  # 杭州市 covers 西湖区
    assert sees(world.reviewer)  # the case's own department
    assert not sees(world.other_city_supervisor)  # 宁波市
    assert not sees(county_supervisor_elsewhere)  # 余杭区 is not 西湖区
    assert not sees(other_department)
    assert not sees(world.applicant.user)
