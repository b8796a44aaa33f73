"""Urging a department, its answer, overdue answers, and the pages' permissions."""

import datetime

import pytest
import time_machine

from govhall.supervision import rules, services
from govhall.supervision.models import Urge, UrgeState, Warning, WarningRule
from tests.cases.factories import case_world, make_case
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=10, tzinfo=SHANGHAI)


@pytest.fixture
def world():
    return case_world()


def test_a_supervisor_urges_from_the_warnings_page_and_the_department_answers(world, client):
    with time_machine.travel(at("2026-03-02"), tick=False):
        case = make_case(world=world, until="accepted")
    with time_machine.travel(at("2026-04-01"), tick=False):
        rules.scan()
        warning = Warning.objects.get(case=case, rule=WarningRule.TIME_LIMIT)
        force_login_verified(client, world.supervisor)
        page = client.get("/workbench/supervision/warnings/").content.decode()
        assert case.number in page
        client.post("/workbench/supervision/urges/new/", {"warning": [warning.pk], "message": "请尽快办结并说明原因"})
        urge = Urge.objects.get()
        assert list(urge.cases.all()) == [case] and urge.department == world.market

        force_login_verified(client, world.other_city_supervisor)
        assert case.number not in client.get("/workbench/supervision/warnings/").content.decode()
        assert client.post(f"/workbench/supervision/urges/{urge.pk}/answer/", {"answer": "已办结"}).status_code == 404

        force_login_verified(client, world.reviewer)
        client.post(f"/workbench/supervision/urges/{urge.pk}/answer/", {"answer": "已安排专人加快审查"})
    urge.refresh_from_db()
    assert urge.state == UrgeState.ANSWERED and not urge.answered_late


def test_an_urge_not_answered_in_time_is_a_red_warning_until_answered(world):
    with time_machine.travel(at("2026-03-02"), tick=False):
        case = make_case(world=world, until="accepted")
        urge = services.urge_create(
            supervisor=world.supervisor, department=world.market, cases=[case], message="请说明超期原因"
        )
    with time_machine.travel(at("2026-03-10"), tick=False):
        rules.scan()
        assert Warning.objects.get(rule=WarningRule.URGE_ANSWER_OVERDUE, subject_id=urge.pk).cleared_at is None
        services.urge_answer(urge=urge, officer=world.reviewer, answer="材料需现场核查，已安排")
    urge.refresh_from_db()
    assert urge.answered_late
    assert Warning.objects.get(rule=WarningRule.URGE_ANSWER_OVERDUE, subject_id=urge.pk).cleared_at is not None


def test_only_a_supervisor_over_the_region_may_urge(world):
    case = make_case(world=world, until="accepted")
    with pytest.raises(services.SupervisionRefused):
        services.urge_create(
            supervisor=world.other_city_supervisor, department=world.market, cases=[case], message="请说明"
        )
    with pytest.raises(services.SupervisionRefused):
        services.urge_create(supervisor=world.reviewer, department=world.market, cases=[case], message="请说明原因")
