"""Raising, upgrading and clearing warnings; urging departments and their answers."""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts.guards import staff_assignments, staff_may_act_in_region
from govhall.accounts.models import Role
from govhall.audit.services import audit_record_add
from govhall.cases import calendar
from govhall.notices.services import person_notify
from govhall.supervision.models import Urge, UrgeState, Warning, WarningLevel

URGE_ANSWER_DAYS = 3
ANSWERING_ROLES = (Role.REVIEWER, Role.DECIDER, Role.WINDOW_CLERK, Role.DEPARTMENT_ADMINISTRATOR)


class SupervisionRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def warning_raise(
    *,
    rule: str,
    level: str,
    department: Any,
    region: Any,
    case: Any = None,
    subject_type: str = "",
    subject_id: int | None = None,
    detail: str = "",
    now: datetime | None = None,
) -> Warning:
    """Open a warning, or keep the open one of the same rule and subject (a yellow becomes red;
    a red stays red). For a case, the subject is the case."""
    now = now or timezone.now()
    if case is not None and not subject_type:
        subject_type, subject_id = "case", case.pk
    region_code = region if isinstance(region, str) else region.pk
    subject_id = subject_id or 0
    existing = Warning.objects.filter(
        rule=rule, subject_type=subject_type, subject_id=subject_id, cleared_at__isnull=True
    ).first()
    if existing is not None:
        if existing.level == WarningLevel.YELLOW and level == WarningLevel.RED:
            existing.level = WarningLevel.RED
            existing.level_changed_at = now
            existing.detail = detail[:255]
            existing.save(update_fields=["level", "level_changed_at", "detail"])
        return existing
    try:
        with transaction.atomic():
            return Warning.objects.create(
                rule=rule,
                level=level,
                case=case,
                subject_type=subject_type,
                subject_id=subject_id,
                department=department,
                region_code=region_code,
                detail=detail[:255],
                raised_at=now,
            )
    except IntegrityError:  # raised by a concurrent scan a moment ago
        return Warning.objects.get(rule=rule, subject_type=subject_type, subject_id=subject_id, cleared_at__isnull=True)


def warning_clear(
    *, rule: str, subject_type: str, subject_id: int, how: str, by: Any = None, now: datetime | None = None
) -> int:
    """Clear the open warning of the rule and subject (the condition ended, or a supervisor)."""
    return Warning.objects.filter(
        rule=rule, subject_type=subject_type, subject_id=subject_id, cleared_at__isnull=True
    ).update(cleared_at=now or timezone.now(), cleared_how=how[:64], cleared_by=by)


def warning_clear_by_supervisor(*, warning: Warning, supervisor: Any, note: str) -> Warning:
    """A supervisor closes a warning that needs no more watching (a breach recorded and dealt
    with); the note says why."""
    if not staff_may_act_in_region(user=supervisor, role=Role.SUPERVISOR, region=warning.department.region):
        raise SupervisionRefused("not_allowed", _("您不能处理该地区的预警。"))
    if len(note.strip()) < 2:
        raise SupervisionRefused("note_required", _("请填写解除说明。"))
    now = timezone.now()
    Warning.objects.filter(pk=warning.pk, cleared_at__isnull=True).update(
        cleared_at=now, cleared_how="manual", cleared_by=supervisor, note=note.strip()
    )
    audit_record_add(
        actor=supervisor,
        action="warning_clear",
        object_type="warning",
        object_id=warning.pk,
        summary=warning.get_rule_display(),
        data={"note": note.strip()[:200]},
    )
    warning.refresh_from_db()
    return warning


def urge_create(
    *, supervisor: Any, department: Any, cases: list[Any], message: str, answer_days: int = URGE_ANSWER_DAYS
) -> Urge:
    """督办: ask ``department`` about ``cases``; it answers within ``answer_days`` working days."""
    if not staff_may_act_in_region(user=supervisor, role=Role.SUPERVISOR, region=department.region):
        raise SupervisionRefused("not_allowed", _("您不能督办该地区的部门。"))
    if not cases:
        raise SupervisionRefused("cases_required", _("请选择要督办的办件。"))
    if len(message.strip()) < 4:
        raise SupervisionRefused("message_required", _("请填写督办意见（至少4个字）。"))
    for case in cases:
        if case.department_id != department.pk and not case.tasks.filter(department=department).exists():
            raise SupervisionRefused(
                "case_not_of_department",
                _("办件%(number)s不由“%(department)s”办理。") % {"number": case.number, "department": department.name},
            )
    now = timezone.now()
    with transaction.atomic():
        urge = Urge.objects.create(
            supervisor=supervisor,
            department=department,
            message=message.strip(),
            created_at=now,
            answer_due_on=calendar.working_day_add(start=timezone.localdate(now), days=max(1, answer_days)),
        )
        urge.cases.set(cases)
        audit_record_add(
            actor=supervisor,
            action="urge_create",
            object_type="urge",
            object_id=urge.pk,
            summary=department.name,
            data={"cases": [case.number for case in cases], "answer_due_on": urge.answer_due_on.isoformat()},
        )
        for assignment_user in _department_staff(department):
            person_notify(
                user=assignment_user,
                subject=_("收到督办"),
                body=_("监察人员就%(count)s件办件督办，请于%(date)s前回复。")
                % {"count": len(cases), "date": urge.answer_due_on.isoformat()},
                link="/workbench/supervision/urges/",
                purpose="urge",
            )
    return urge


def _department_staff(department: Any) -> list[Any]:
    from govhall.accounts.models import StaffAssignment

    return [
        assignment.user
        for assignment in StaffAssignment.objects.filter(
            department=department, role=Role.DEPARTMENT_ADMINISTRATOR, user__is_active=True
        ).select_related("user")
    ]


def urge_may_answer(*, user: Any, urge: Urge) -> bool:
    return any(
        assignment.department_id == urge.department_id and assignment.role in ANSWERING_ROLES
        for assignment in staff_assignments(user=user)
    )


def urge_answer(*, urge: Urge, officer: Any, answer: str) -> Urge:
    if not urge_may_answer(user=officer, urge=urge):
        raise SupervisionRefused("not_allowed", _("只有被督办部门的工作人员可以回复。"))
    if urge.state != UrgeState.OPEN:
        raise SupervisionRefused("answered", _("该督办已回复。"))
    if len(answer.strip()) < 4:
        raise SupervisionRefused("answer_required", _("请填写回复内容（至少4个字）。"))
    now = timezone.now()
    with transaction.atomic():
        urge.state = UrgeState.ANSWERED
        urge.answer = answer.strip()
        urge.answered_at = now
        urge.answered_by = officer
        urge.answered_late = timezone.localdate(now) > urge.answer_due_on
        urge.save()
        warning_clear(rule="urge_answer_overdue", subject_type="urge", subject_id=urge.pk, how="answered", now=now)
        audit_record_add(
            actor=officer,
            action="urge_answer",
            object_type="urge",
            object_id=urge.pk,
            summary=urge.department.name,
            data={"late": urge.answered_late},
        )
        person_notify(
            user=urge.supervisor,
            subject=_("督办已回复"),
            body=_("“%(department)s”已回复您的督办。") % {"department": urge.department.name},
            link="/workbench/supervision/urges/",
            purpose="urge_answer",
        )
    return urge
