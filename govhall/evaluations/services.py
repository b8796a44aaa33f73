"""Rating a closed case, and the department's follow-up of a bad review (GB/T 39735)."""

import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from govhall.accounts.guards import staff_assignments
from govhall.accounts.models import Role
from govhall.audit.services import audit_record_add
from govhall.cases import calendar
from govhall.cases.guards import applicant_may_see_case
from govhall.cases.models import CaseState
from govhall.evaluations.models import (
    BadReviewFollowUp,
    Channel,
    Evaluation,
    FollowUpState,
    Invitation,
    Level,
    Reason,
)
from govhall.evaluations.signals import evaluation_recorded, evaluation_rectified
from govhall.notices.services import inbox_message_add, message_send, person_notify
from govhall.queries import unique_or_none_compiled

CALLBACK_DAYS = 1  # working days to call the applicant back
RECTIFY_DAYS = 15  # working days to rectify
RATEABLE_STATES = (CaseState.COMPLETED, CaseState.REFUSED)
# The indicators rated beside the overall level (GB/T 39735): online service, and hall service
# (the window screen, and the online rating of a case received at a window).
ONLINE_INDICATORS = ("efficiency", "guide", "convenience", "usability")
HALL_INDICATORS = ("efficiency", "attitude", "waiting", "environment")
INDICATORS = tuple(dict.fromkeys(ONLINE_INDICATORS + HALL_INDICATORS))
FOLLOW_UP_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER, Role.DEPARTMENT_ADMINISTRATOR)
INVITATION_SALT = "govhall.evaluations.invitation"
# Links without a timestamp (a salt of their own: the two kinds never verify as each other).
INVITATION_LINK_SALT = INVITATION_SALT + ".link"
SMS_INVITATION_DAYS = 30  # calendar days an SMS rating link stays valid
WINDOW_INVITATION_MINUTES = 30  # the screen handed over at the window


class EvaluationRefused(Exception):
    """``errors``: field → message (zh-hans), so a form shows each where it belongs."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def indicators_for(*, case: Any, channel: str) -> tuple[str, ...]:
    """Hall service's indicators at the window or for a case received at one; online's else."""
    if channel == Channel.WINDOW or getattr(case, "channel", "") == "window":
        return HALL_INDICATORS
    return ONLINE_INDICATORS


def evaluation_check(
    *,
    level: Any,
    reasons: list[str],
    comment: str,
    indicators: dict[str, Any],
    allowed: tuple[str, ...] = INDICATORS,
) -> dict[str, str]:
    """A level of five; a bad review (不满意, 非常不满意) names at least one reason, and “其他”
    needs words (GB/T 39735)."""
    errors: dict[str, str] = {}
    try:
        level = int(level)
    except (TypeError, ValueError):
        level = 0
    if level not in Level.values:
        errors["level"] = _("请选择评价等级。")
        return errors
    unknown = [reason for reason in reasons if reason not in Reason.values]
    if unknown:
        errors["reasons"] = _("差评原因不在列表中。")
    if level <= Level.DISSATISFIED and not reasons:
        errors["reasons"] = _("差评须选择至少一项原因。")
    if Reason.OTHER in reasons and len(comment.strip()) < 4:
        errors["comment"] = _("选择“其他”原因时，请写明具体问题（至少4个字）。")
    for name, value in indicators.items():
        if name not in allowed or str(value) not in {"1", "2", "3", "4", "5"}:
            errors["indicators"] = _("分项评价须为1至5级。")
    return errors


def evaluation_may_rate(*, user: Any, case: Any) -> bool:
    return (
        case.state in RATEABLE_STATES
        and applicant_may_see_case(user=user, case=case)
        and not Evaluation.objects.filter(case=case, follow_up_of__isnull=True).exists()
    )


def evaluation_submit(
    *,
    case: Any,
    user: Any,
    level: Any,
    reasons: list[str],
    comment: str,
    indicators: dict[str, Any] | None = None,
    channel: str = Channel.ONLINE,
) -> Evaluation:
    """One rating per case by its applicant, once the case is closed; a bad one opens the
    department's follow-up and tells its administrators."""
    if not applicant_may_see_case(user=user, case=case):
        raise EvaluationRefused({"level": _("只有申请人可以评价该办件。")})
    if case.state not in RATEABLE_STATES:
        raise EvaluationRefused({"level": _("办件办结后才能评价。")})
    indicators = {key: int(value) for key, value in (indicators or {}).items() if str(value).strip()}
    errors = evaluation_check(
        level=level,
        reasons=reasons,
        comment=comment,
        indicators=indicators,
        allowed=indicators_for(case=case, channel=channel),
    )
    if errors:
        raise EvaluationRefused(errors)
    now = timezone.now()
    try:
        with transaction.atomic():
            evaluation = Evaluation.objects.create(
                case=case,
                evaluator=user,
                level=int(level),
                indicators=indicators,
                reasons=list(dict.fromkeys(reasons)),
                comment=comment.strip()[:2000],
                channel=channel,
                # By id: the case's department and implementation rows are not read for this.
                department_id=case.department_id,
                region_id=case.region_id,
                implementation_id=case.implementation_id,
                hall_id=case.hall_id,
                created_at=now,
            )
            if evaluation.is_bad:
                _follow_up_open(evaluation=evaluation, now=now)
            audit_record_add(
                actor=user,
                action="evaluation_submit",
                object_type="case",
                object_id=case.number,
                summary=f"{case.item_name} {evaluation.get_level_display()}",
                data={"level": evaluation.level, "bad": evaluation.is_bad},
            )
            evaluation_recorded.send(sender=Evaluation, evaluation=evaluation)
    except IntegrityError as error:
        raise EvaluationRefused({"level": _("该办件已经评价过。")}) from error
    return evaluation


def _follow_up_open(*, evaluation: Evaluation, now: Any) -> BadReviewFollowUp:
    today = timezone.localdate(now)
    followup = BadReviewFollowUp.objects.create(
        evaluation=evaluation,
        department_id=evaluation.department_id,
        callback_due_on=calendar.working_day_add(start=today, days=CALLBACK_DAYS),
        rectify_due_on=calendar.working_day_add(start=today, days=RECTIFY_DAYS),
    )
    from govhall.accounts.models import StaffAssignment

    for assignment in StaffAssignment.objects.filter(
        department_id=evaluation.department_id, role=Role.DEPARTMENT_ADMINISTRATOR, user__is_active=True
    ).select_related("user"):
        person_notify(
            user=assignment.user,
            subject=_("收到差评"),
            body=_("办件%(number)s收到差评，请于%(date)s前回访申请人。")
            % {"number": evaluation.case.number, "date": followup.callback_due_on.isoformat()},
            link="/workbench/evaluations/",
            purpose="bad_review",
        )
    return followup


def followup_may_record(*, user: Any, followup: BadReviewFollowUp) -> bool:
    return any(
        assignment.department_id == followup.department_id and assignment.role in FOLLOW_UP_ROLES
        for assignment in staff_assignments(user=user)
    )


def _note_required(note: str) -> str:
    if len(note.strip()) < 4:
        raise EvaluationRefused({"note": _("请写明情况（至少4个字）。")})
    return note.strip()


def followup_callback_record(*, followup: BadReviewFollowUp, officer: Any, note: str) -> BadReviewFollowUp:
    """回访: the department called the applicant back (due within 1 working day)."""
    if not followup_may_record(user=officer, followup=followup):
        raise EvaluationRefused({"note": _("只有被评价部门的工作人员可以记录回访和整改。")})
    note = _note_required(note)
    if followup.state != FollowUpState.OPEN:
        raise EvaluationRefused({"note": _("已经记录过回访。")})
    with transaction.atomic():
        followup.state = FollowUpState.CALLED_BACK
        followup.called_back_at = timezone.now()
        followup.called_back_by = officer
        followup.callback_note = note
        followup.save()
        _warning_clear("evaluation_callback_overdue", followup)
        audit_record_add(
            actor=officer,
            action="evaluation_callback",
            object_type="evaluation",
            object_id=followup.evaluation_id,
            summary=followup.evaluation.case.number or "",
        )
    return followup


def followup_rectification_record(*, followup: BadReviewFollowUp, officer: Any, note: str) -> BadReviewFollowUp:
    """整改: what the department changed (due within 15 working days); the applicant is told and
    may rate once more."""
    if not followup_may_record(user=officer, followup=followup):
        raise EvaluationRefused({"note": _("只有被评价部门的工作人员可以记录回访和整改。")})
    note = _note_required(note)
    if followup.state != FollowUpState.CALLED_BACK:
        raise EvaluationRefused({"note": _("请先记录回访，再记录整改。")})
    with transaction.atomic():
        followup.state = FollowUpState.RECTIFIED
        followup.rectified_at = timezone.now()
        followup.rectified_by = officer
        followup.rectification_note = note
        followup.save()
        _warning_clear("evaluation_rectify_overdue", followup)
        evaluation = followup.evaluation
        audit_record_add(
            actor=officer,
            action="evaluation_rectify",
            object_type="evaluation",
            object_id=evaluation.pk,
            summary=evaluation.case.number or "",
        )
        if evaluation.evaluator is not None:
            person_notify(
                user=evaluation.evaluator,
                subject=_("差评已整改"),
                body=_("您对办件%(number)s的评价已由部门整改，欢迎再次评价。") % {"number": evaluation.case.number},
                link=f"/cases/{evaluation.case.number}/",
                purpose="bad_review_rectified",
            )
        evaluation_rectified.send(sender=Evaluation, evaluation=evaluation)
    return followup


def evaluation_follow_up_submit(
    *, evaluation: Evaluation, user: Any, level: Any, reasons: list[str], comment: str
) -> Evaluation:
    """追评: once, by the same applicant, after the rectification."""
    followup = getattr(evaluation, "followup", None)
    if evaluation.evaluator_id != getattr(user, "pk", None):
        raise EvaluationRefused({"level": _("只有原评价人可以追加评价。")})
    if followup is None or followup.state != FollowUpState.RECTIFIED:
        raise EvaluationRefused({"level": _("部门整改后才能追加评价。")})
    if Evaluation.objects.filter(follow_up_of=evaluation).exists():
        raise EvaluationRefused({"level": _("已经追加评价过。")})
    errors = evaluation_check(level=level, reasons=reasons, comment=comment, indicators={})
    if errors:
        raise EvaluationRefused(errors)
    case = evaluation.case
    with transaction.atomic():
        again = Evaluation.objects.create(
            case=case,
            evaluator=user,
            level=int(level),
            reasons=list(dict.fromkeys(reasons)),
            comment=comment.strip()[:2000],
            channel=Channel.ONLINE,
            department_id=evaluation.department_id,
            region_id=evaluation.region_id,
            implementation_id=evaluation.implementation_id,
            hall_id=evaluation.hall_id,
            follow_up_of=evaluation,
            created_at=timezone.now(),
        )
        evaluation_recorded.send(sender=Evaluation, evaluation=again)
    return again


def _warning_clear(rule: str, followup: BadReviewFollowUp) -> None:
    from govhall.supervision.services import warning_clear

    warning_clear(rule=rule, subject_type="evaluation_followup", subject_id=followup.pk, how="recorded")


def followups_check(*, today: Any = None) -> int:
    """Overdue call-backs and rectifications become red warnings for the department (the job
    ``evaluations_followups_check``)."""
    from govhall.supervision.models import WarningLevel
    from govhall.supervision.services import warning_raise

    today = today or timezone.localdate()
    raised = 0
    open_followups = BadReviewFollowUp.objects.exclude(state=FollowUpState.RECTIFIED).select_related(
        "evaluation__case", "department"
    )
    for followup in open_followups:
        rule = ""
        if followup.state == FollowUpState.OPEN and followup.callback_due_on < today:
            rule, due = "evaluation_callback_overdue", followup.callback_due_on
        elif followup.rectify_due_on < today:
            rule, due = "evaluation_rectify_overdue", followup.rectify_due_on
        if not rule:
            continue
        warning_raise(
            rule=rule,
            level=WarningLevel.RED,
            department=followup.department,
            region=followup.evaluation.region_id,
            case=followup.evaluation.case,
            subject_type="evaluation_followup",
            subject_id=followup.pk,
            detail=_("差评%(what)s期限 %(due)s")
            % {"what": _("回访") if rule == "evaluation_callback_overdue" else _("整改"), "due": due.isoformat()},
        )
        raised += 1
    return raised


# ---------------------------------------------------------------------------------------------
# Rating without signing in: the SMS link and the window screen


def invitation_token(invitation: Invitation) -> str:
    """The link's token: the row's id signed with the site's key (the row decides validity).
    No timestamp in it, so the reminder carries the very link of the first message."""
    return signing.Signer(salt=INVITATION_LINK_SALT).sign_object(invitation.pk)


def invitation_url(invitation: Invitation) -> str:
    return settings.GOVHALL_PUBLIC_URL + reverse("evaluations:invited", args=[invitation_token(invitation)])


class InvitationInvalid(Exception):
    """The link does not work (any more); ``message`` says why, in the user's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def invitation_from_token(token: str, *, now: datetime.datetime | None = None) -> Invitation:
    try:
        pk = signing.Signer(salt=INVITATION_LINK_SALT).unsign_object(token)
    except signing.BadSignature:
        try:  # a link sent before the tokens lost their timestamp
            pk = signing.loads(token, salt=INVITATION_SALT)
        except signing.BadSignature as error:
            raise InvitationInvalid(_("评价链接无效，请核对短信中的链接。")) from error
    # Compiled once per process (ADR 11): compiling the case's and its applicant's columns and
    # ordering by them for first() took a third of a rating's request.
    invitation = (
        unique_or_none_compiled("invitation_by_id", _invitation_by_id, int(pk)) if isinstance(pk, int) else None
    )
    if invitation is None:
        raise InvitationInvalid(_("评价链接无效，请核对短信中的链接。"))
    if Evaluation.objects.filter(case=invitation.case, follow_up_of__isnull=True).exists():
        raise InvitationInvalid(_("该办件已经评价过，感谢您的参与。"))
    if invitation.expires_at <= (now or timezone.now()):
        raise InvitationInvalid(_("评价链接已过期。您可以登录后在“我的办件”中评价。"))
    return invitation


def _invitation_by_id(pk: int) -> QuerySet[Invitation]:
    return Invitation.objects.select_related("case", "case__applicant").filter(pk=pk)


def _sms_to_applicant(*, case: Any, body: str, purpose: str) -> None:
    person = getattr(case.applicant, "person", None)
    if person is not None and person.phone_encrypted:
        from govhall.accounts import privacy

        phone = privacy.decrypt(person.phone_encrypted, purpose="phone")
        message_send(channel="sms", to=phone, body=f"【政务服务】{body}", purpose=purpose)


def invitation_on_close(*, case: Any) -> Invitation | None:
    """When a case closes (办结 or 不予受理): one SMS invitation with a link that needs no signing
    in, and a message in the applicant's message centre pointing at the case page."""
    if case.applicant_id is None or Invitation.objects.filter(case=case, channel=Channel.SMS).exists():
        return None
    with translation.override(settings.LANGUAGE_CODE):  # the applicant's words, not the officer's
        return _invitation_on_close(case=case)


def _invitation_on_close(*, case: Any) -> Invitation:
    now = timezone.now()
    invitation = Invitation.objects.create(
        case=case,
        channel=Channel.SMS,
        created_at=now,
        expires_at=now + datetime.timedelta(days=SMS_INVITATION_DAYS),
    )
    inbox_message_add(
        user=case.applicant,
        subject=_("请评价本次服务"),
        body=_("您的办件%(number)s（%(item)s）已办结，欢迎对本次服务进行评价。")
        % {"number": case.number, "item": case.item_name},
        link=f"/cases/{case.number}/",
    )
    _sms_to_applicant(
        case=case,
        body=_("您的办件%(number)s已办结，请对本次服务评价：%(url)s")
        % {"number": case.number, "url": invitation_url(invitation)},
        purpose="evaluation_invite",
    )
    return invitation


def invitation_for_window(*, case: Any, clerk: Any) -> Invitation:
    """The rating screen a clerk hands the applicant at the window (窗口评价器), valid for a
    short while; only staff who may handle the case open it, and the audit trail says who."""
    from govhall.cases.guards import staff_may_handle_case

    if not staff_may_handle_case(user=clerk, case=case):
        raise EvaluationRefused({"level": _("只有办理该办件的部门工作人员可以发起窗口评价。")})
    if case.state not in RATEABLE_STATES:
        raise EvaluationRefused({"level": _("办件办结后才能评价。")})
    if Evaluation.objects.filter(case=case, follow_up_of__isnull=True).exists():
        raise EvaluationRefused({"level": _("该办件已经评价过。")})
    now = timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            case=case,
            channel=Channel.WINDOW,
            created_at=now,
            created_by=clerk,
            expires_at=now + datetime.timedelta(minutes=WINDOW_INVITATION_MINUTES),
        )
        audit_record_add(
            actor=clerk,
            action="evaluation_window_open",
            object_type="case",
            object_id=case.number,
            summary=case.item_name,
        )
    return invitation


def invitation_rate(
    *,
    invitation: Invitation,
    level: Any,
    reasons: list[str],
    comment: str,
    indicators: dict[str, Any] | None = None,
) -> Evaluation:
    """The applicant rates through the link or the window screen: the same rules and the same
    single rating as online, recorded under the applicant and the invitation's channel.
    ``invitation`` is what ``invitation_from_token`` found valid for this request's link: it is
    locked here, and a rating that another request made meanwhile refuses this one (the
    invitation used, or the case's one rating there)."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.used_at is not None:
            raise InvitationInvalid(_("该办件已经评价过，感谢您的参与。"))
        evaluation = evaluation_submit(
            case=invitation.case,
            user=invitation.case.applicant,
            level=level,
            reasons=reasons,
            comment=comment,
            indicators=indicators,
            channel=locked.channel,
        )
        locked.used_at = evaluation.created_at
        locked.save(update_fields=["used_at"])
    return evaluation


def reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Remind once an applicant who has not rated within GOVHALL_EVALUATION_REMIND_AFTER_DAYS of
    the invitation (the job ``evaluations_reminders_send``); the link is the same."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.GOVHALL_EVALUATION_REMIND_AFTER_DAYS)
    due = (
        Invitation.objects.filter(
            channel=Channel.SMS,
            reminded_at__isnull=True,
            used_at__isnull=True,
            created_at__lte=cutoff,
            expires_at__gt=now,
        )
        .filter(~Exists(Evaluation.objects.filter(case_id=OuterRef("case_id"))))
        .select_related("case", "case__applicant")
    )
    sent = 0
    for invitation in due.iterator(chunk_size=500):
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            claimed = Invitation.objects.filter(pk=invitation.pk, reminded_at__isnull=True).update(reminded_at=now)
            if not claimed:
                continue  # another run took it
            case = invitation.case
            inbox_message_add(
                user=case.applicant,
                subject=_("评价提醒"),
                body=_("您的办件%(number)s尚未评价，欢迎对本次服务进行评价。") % {"number": case.number},
                link=f"/cases/{case.number}/",
            )
            _sms_to_applicant(
                case=case,
                body=_("您的办件%(number)s尚未评价，欢迎评价：%(url)s")
                % {"number": case.number, "url": invitation_url(invitation)},
                purpose="evaluation_reminder",
            )
        sent += 1
    return sent
