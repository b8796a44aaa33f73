"""Rating a closed case, and the department's follow-up of a bad review (GB/T 39735)."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
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
    Level,
    Reason,
)
from govhall.evaluations.signals import evaluation_recorded, evaluation_rectified
from govhall.notices.services import person_notify

CALLBACK_DAYS = 1  # working days to call the applicant back
RECTIFY_DAYS = 15  # working days to rectify
RATEABLE_STATES = (CaseState.COMPLETED, CaseState.REFUSED)
INDICATORS = ("efficiency", "guide", "convenience", "usability")
FOLLOW_UP_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER, Role.DEPARTMENT_ADMINISTRATOR)


class EvaluationRefused(Exception):
    """``errors``: field → message (zh-hans), so a form shows each where it belongs."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def evaluation_check(*, level: Any, reasons: list[str], comment: str, indicators: dict[str, Any]) -> dict[str, str]:
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
        if name not in INDICATORS or str(value) not in {"1", "2", "3", "4", "5"}:
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
    errors = evaluation_check(level=level, reasons=reasons, comment=comment, indicators=indicators)
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
                department=case.department,
                region_id=case.region_id,
                implementation=case.implementation,
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
        department=evaluation.department,
        callback_due_on=calendar.working_day_add(start=today, days=CALLBACK_DAYS),
        rectify_due_on=calendar.working_day_add(start=today, days=RECTIFY_DAYS),
    )
    from govhall.accounts.models import StaffAssignment

    for assignment in StaffAssignment.objects.filter(
        department=evaluation.department, role=Role.DEPARTMENT_ADMINISTRATOR, user__is_active=True
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
            department=evaluation.department,
            region_id=evaluation.region_id,
            implementation=evaluation.implementation,
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
