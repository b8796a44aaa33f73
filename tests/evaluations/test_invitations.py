"""Rating without signing in: the SMS link sent when a case closes, the one reminder, the screen
a window clerk hands over; and the published satisfaction page, which names nobody."""

import datetime
import re

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from govhall.audit.models import AuditRecord
from govhall.cases import services as case_services
from govhall.evaluations import services
from govhall.evaluations.models import BadReviewFollowUp, Evaluation, Invitation
from govhall.notices.models import InboxMessage, OutboxMessage
from tests.cases.factories import case_world, make_case, task_open
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return case_world()


def _link(purpose: str) -> str:
    body = OutboxMessage.objects.filter(purpose=purpose).latest("id").body
    match = re.search(r"https?://[^/\s]+(/rate/[^\s]+/)", body)
    assert match, body
    return match.group(1)


def test_a_closed_case_sends_one_link_that_rates_without_signing_in(world, client):
    case = make_case(world=world, until="completed")
    link = _link("evaluation_invite")

    page = client.get(link)
    kept = client.post(link, {"level": "1", "comment": "等了很久"})
    rated = client.post(link, {"level": "2", "reasons": ["overdue"], "comment": "等了很久"})
    again = client.get(link)

    assert Invitation.objects.filter(case=case, channel="sms").count() == 1
    assert InboxMessage.objects.filter(user=world.applicant.user, subject="请评价本次服务").exists()
    assert page.status_code == 200 and case.number in page.content.decode()
    assert page["Cache-Control"] == "no-store"
    assert kept.status_code == 422 and "等了很久" in kept.content.decode()  # nothing typed is lost
    assert rated.status_code == 302
    evaluation = Evaluation.objects.get(case=case)
    assert (evaluation.channel, evaluation.evaluator, evaluation.level) == ("sms", world.applicant.user, 2)
    assert BadReviewFollowUp.objects.filter(evaluation=evaluation).exists()  # the same rules as online
    assert again.status_code == 410 and "已经评价过" in again.content.decode()


def test_two_ratings_through_one_link_at_once_keep_the_first(world):
    """Both requests found the link valid before either rated: the second finds the invitation
    used once it holds its lock, and nothing of it is kept."""
    case = make_case(world=world, until="completed")
    token = services.invitation_token(Invitation.objects.get(case=case, channel="sms"))
    first, second = services.invitation_from_token(token), services.invitation_from_token(token)

    services.invitation_rate(invitation=first, level=5, reasons=[], comment="")
    with pytest.raises(services.InvitationInvalid, match="已经评价过"):
        services.invitation_rate(invitation=second, level=1, reasons=["overdue"], comment="很慢")

    assert list(Evaluation.objects.filter(case=case).values_list("level", flat=True)) == [5]
    assert not BadReviewFollowUp.objects.exists()


def test_a_refusal_invites_too_and_a_forged_or_expired_link_is_refused(world, client):
    case = make_case(world=world, until="submitted")
    case_services.case_refuse(task=task_open(case), officer=world.clerk, reasons="不属于本部门职权范围")
    link = _link("evaluation_invite")

    forged = client.get(link[:-3] + "xx/")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=31)):
        expired = client.get(link)

    assert forged.status_code == 410 and "评价链接无效" in forged.content.decode()
    assert expired.status_code == 410 and "已过期" in expired.content.decode()
    assert not Evaluation.objects.exists()


def test_a_link_sent_with_the_earlier_timestamped_token_still_opens_the_rating(world, client):
    case = make_case(world=world, until="completed")
    invitation = Invitation.objects.get(case=case, channel="sms")
    earlier = signing.dumps(invitation.pk, salt=services.INVITATION_SALT)

    assert services.invitation_from_token(earlier) == invitation
    assert client.get(f"/rate/{earlier}/").status_code == 200
    assert services.invitation_token(invitation) == services.invitation_token(invitation)  # no clock in it


def test_an_applicant_who_has_not_rated_is_reminded_once(world):
    rated = make_case(world=world, until="completed")
    unrated = make_case(world=world, until="completed")
    services.evaluation_submit(case=rated, user=world.applicant.user, level=5, reasons=[], comment="")

    assert services.reminders_send() == 0  # too early
    later = timezone.now() + datetime.timedelta(days=3, minutes=1)
    assert services.reminders_send(now=later) == 1
    assert services.reminders_send(now=later + datetime.timedelta(days=5)) == 0  # once only

    reminder = OutboxMessage.objects.get(purpose="evaluation_reminder")
    assert unrated.number in reminder.body and rated.number not in reminder.body
    invited = OutboxMessage.objects.filter(purpose="evaluation_invite", body__contains=unrated.number).get().body
    assert _link("evaluation_reminder") in invited  # the same link as the invitation
    assert Invitation.objects.get(case=unrated, channel="sms").reminded_at == later


def test_the_window_screen_is_opened_by_the_department_and_rated_by_the_applicant(world, client):
    case = make_case(world=world, until="completed")
    force_login_verified(client, world.other_city_supervisor)
    assert client.post(f"/workbench/evaluations/window/{case.number}/").status_code == 404

    force_login_verified(client, world.clerk)
    detail = client.get(f"/workbench/cases/{case.number}/").content.decode()
    opened = client.post(f"/workbench/evaluations/window/{case.number}/")
    screen = client.get(opened["Location"])
    done = client.post(opened["Location"], {"level": "5", "indicator_attitude": "5", "indicator_waiting": "4"})

    assert "窗口评价" in detail
    assert opened.status_code == 302 and opened["Location"].startswith("/rate/")
    assert "rate-kiosk" in screen.content.decode()
    assert "服务态度" in screen.content.decode() and "系统好用程度" not in screen.content.decode()  # hall's indicators
    assert done.status_code == 302 and done["Location"] == "/rate/done/?window=1"
    evaluation = Evaluation.objects.get(case=case)
    assert (evaluation.channel, evaluation.evaluator) == ("window", world.applicant.user)
    assert evaluation.indicators == {"attitude": 5, "waiting": 4}
    assert AuditRecord.objects.filter(action="evaluation_window_open", object_id=case.number).exists()
    assert "窗口评价" not in client.get(f"/workbench/cases/{case.number}/").content.decode()

    running = make_case(world=world, until="accepted")
    refused = client.post(f"/workbench/evaluations/window/{running.number}/")
    assert refused.status_code == 302 and refused["Location"] == f"/workbench/cases/{running.number}/"
    assert not Invitation.objects.filter(case=running).exists()


def test_the_published_page_shows_aggregates_and_no_personal_data(world, client):
    good = make_case(world=world, until="completed")
    bad = make_case(world=world, until="completed")
    services.evaluation_submit(case=good, user=world.applicant.user, level=5, reasons=[], comment="非常好")
    evaluation = services.evaluation_submit(
        case=bad, user=world.applicant.user, level=1, reasons=["overdue"], comment="张三窗口态度差"
    )
    followup = evaluation.followup
    services.followup_callback_record(followup=followup, officer=world.clerk, note="已电话回访申请人")
    services.followup_rectification_record(followup=followup, officer=world.clerk, note="已调整窗口排班")

    page = client.get("/satisfaction/", {"region": "330100", "by": "department"})
    items = client.get("/satisfaction/", {"region": "330106", "by": "item"}).content.decode()
    elsewhere = client.get("/satisfaction/", {"region": "330200"}).content.decode()

    text = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'id="ratings">2<', text) and re.search(r'id="satisfaction">50.0%<', text)
    assert re.search(r'id="bad">1<', text) and re.search(r'id="rectified">1<', text)
    assert world.implementation.department.name in text and "办理超时：1" in text
    assert world.implementation.entry.name in items
    for personal in ("张三", "非常好", good.number, bad.number, world.applicant.name):
        assert personal not in text
    assert 'id="ratings">0<' in elsewhere
