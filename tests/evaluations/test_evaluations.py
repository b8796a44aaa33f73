"""好差评: rating a closed case, bad reviews' reasons, the department's call back (1 working day)
and rectification (15 working days), the one follow-up rating, overdue follow-ups warned, and
who may do what."""

import datetime

import pytest
import time_machine

from govhall.evaluations import services
from govhall.evaluations.models import BadReviewFollowUp, Evaluation, FollowUpState
from govhall.evaluations.signals import evaluation_recorded
from govhall.supervision.models import Warning
from tests.cases.factories import case_world, make_case
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=10, tzinfo=SHANGHAI)


@pytest.fixture
def world():
    return case_world()


def test_the_applicant_rates_a_completed_case_once_through_the_case_page(world, client):
    case = make_case(world=world, until="completed")
    client.force_login(world.applicant.user)

    detail = client.get(f"/cases/{case.number}/").content.decode()
    good = client.post(f"/evaluations/cases/{case.number}/", {"level": "5", "indicator_efficiency": "5"})
    twice = client.post(f"/evaluations/cases/{case.number}/", {"level": "1"})

    assert "评价本次服务" in detail
    assert good.status_code == 302
    assert twice.status_code == 302  # back to the case page: nothing more to rate
    evaluation = Evaluation.objects.get(case=case)
    assert (evaluation.level, evaluation.indicators, evaluation.channel) == (5, {"efficiency": 5}, "online")
    assert not BadReviewFollowUp.objects.exists()


def test_a_bad_review_must_name_a_reason_and_keeps_what_was_typed(world, client):
    case = make_case(world=world, until="completed")
    client.force_login(world.applicant.user)

    refused = client.post(f"/evaluations/cases/{case.number}/", {"level": "1", "comment": "窗口人员态度冷淡"})
    other = client.post(f"/evaluations/cases/{case.number}/", {"level": "2", "reasons": ["other"], "comment": ""})

    assert refused.status_code == 422
    assert "差评须选择至少一项原因。" in refused.content.decode()
    assert "窗口人员态度冷淡" in refused.content.decode()  # nothing typed is lost
    assert "请写明具体问题" in other.content.decode()
    assert not Evaluation.objects.exists()


def test_a_running_case_cannot_be_rated_and_nobody_else_rates_it(world, client):
    running = make_case(world=world, until="accepted")
    done = make_case(world=world, until="completed")
    with pytest.raises(services.EvaluationRefused):
        services.evaluation_submit(case=running, user=world.applicant.user, level=5, reasons=[], comment="")
    with pytest.raises(services.EvaluationRefused):
        services.evaluation_submit(case=done, user=world.other_applicant.user, level=1, reasons=["overdue"], comment="")
    client.force_login(world.other_applicant.user)
    assert client.get(f"/evaluations/cases/{done.number}/").status_code == 404


def test_bad_review_follow_up_deadlines_in_working_days_and_the_second_rating(world, client):
    case = make_case(world=world, until="completed")
    received: list = []
    evaluation_recorded.connect(
        lambda sender, evaluation, **kw: received.append(evaluation), weak=False, dispatch_uid="t"
    )
    # Friday 2026-09-25: the call back is due Monday 28th, the rectification 15 working days
    # later across the National Day holidays.
    with time_machine.travel(at("2026-09-25"), tick=False):
        bad = services.evaluation_submit(
            case=case, user=world.applicant.user, level=1, reasons=["overdue", "many_visits"], comment="跑了三次"
        )
    followup = bad.followup
    assert followup.callback_due_on == datetime.date(2026, 9, 28)
    assert followup.rectify_due_on > datetime.date(2026, 10, 16)
    assert received and received[-1].is_bad and received[-1].department_id == case.department_id

    with time_machine.travel(at("2026-09-30"), tick=False):
        assert services.followups_check() == 1
    warning = Warning.objects.get(rule="evaluation_callback_overdue", subject_id=followup.pk)
    assert warning.cleared_at is None and warning.level == "red"

    force_login_verified(client, world.other_county_clerk)
    assert client.get(f"/workbench/evaluations/{followup.pk}/").status_code == 404
    force_login_verified(client, world.department_admin)
    assert case.number in client.get("/workbench/evaluations/").content.decode()
    with pytest.raises(services.EvaluationRefused):
        services.followup_rectification_record(followup=followup, officer=world.department_admin, note="先整改")
    client.post(f"/workbench/evaluations/{followup.pk}/", {"step": "callback", "note": "已电话回访，致歉并说明情况"})
    followup.refresh_from_db()
    warning.refresh_from_db()
    assert followup.state == FollowUpState.CALLED_BACK and warning.cleared_at is not None

    client.force_login(world.applicant.user)
    assert client.post(f"/evaluations/cases/{case.number}/again/", {"level": "4"}).status_code == 302
    assert not Evaluation.objects.filter(follow_up_of=bad).exists()  # not before the rectification

    services.followup_rectification_record(followup=followup, officer=world.reviewer, note="已压缩审查环节时限")
    client.post(f"/evaluations/cases/{case.number}/again/", {"level": "4"})
    again = Evaluation.objects.get(follow_up_of=bad)
    assert again.level == 4
    with pytest.raises(services.EvaluationRefused):
        services.evaluation_follow_up_submit(evaluation=bad, user=world.applicant.user, level=5, reasons=[], comment="")
    evaluation_recorded.disconnect(dispatch_uid="t")
