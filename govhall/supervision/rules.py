"""The warning rules and the scan that applies them (the job ``supervision_warnings_scan``).

- time limit (Administrative Licensing Law art. 42, the promised limit): yellow when a running
  case has no more than the threshold of working days left (GOVHALL_WARNING_YELLOW_DAYS, default
  1, or GOVHALL_WARNING_YELLOW_SHARE of the promised limit, default 20 %, whichever is more),
  red once passed; a case paused by a special procedure (art. 45) keeps its level;
- a step over its own limit: yellow on its last day, red after;
- a refusal without reasons or legal remedy (art. 38);
- a correction notice later than 5 working days after receipt (art. 32);
- an urging not answered by its date.
The scan is idempotent: it raises what holds, keeps what still holds, clears what no longer does.
"""

from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.cases.models import Case, CaseState, CaseTask, CorrectionNotice, TaskState
from govhall.cases.selectors import case_time_statuses
from govhall.supervision.models import Urge, UrgeState, Warning, WarningLevel, WarningRule
from govhall.supervision.services import warning_clear, warning_raise

RUNNING = (CaseState.SUBMITTED, CaseState.CORRECTION, CaseState.ACCEPTED, CaseState.DECIDED)
CHUNK = 2000


def scan(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"raised_or_kept": 0, "cleared": 0}
    for result in (_time_limits(now, today), _steps(now, today), _urges(now, today), _refusals(now)):
        for key, value in result.items():
            counts[key] = counts.get(key, 0) + value
    return counts


def _open_ids(rule: str, subject_type: str) -> dict[int, Warning]:
    return {
        warning.subject_id: warning
        for warning in Warning.objects.filter(rule=rule, subject_type=subject_type, cleared_at__isnull=True)
    }


def _time_limits(now: datetime, today: date) -> dict[str, int]:
    open_warnings = _open_ids(WarningRule.TIME_LIMIT, "case")
    seen: set[int] = set()
    raised = 0
    cases = (
        Case.objects.filter(state__in=RUNNING, promised_due_on__isnull=False)
        .only(
            "id",
            "number",
            "state",
            "department_id",
            "region_id",
            "promised_due_on",
            "promised_limit_days",
            "paused_since",
            "statutory_due_on",
        )
        .order_by("id")
    )
    last = 0
    while True:
        chunk = list(cases.filter(id__gt=last)[:CHUNK])
        if not chunk:
            break
        last = chunk[-1].pk
        statuses = case_time_statuses(cases=chunk, today=today)
        for case in chunk:
            status = statuses[case.pk]
            if status.level in ("yellow", "red"):
                seen.add(case.pk)
                days_left = status.days_left or 0
                detail = (
                    _("已超过承诺期限 %(days)s 个工作日") % {"days": -days_left}
                    if status.level == "red"
                    else _("距承诺期限还剩 %(days)s 个工作日") % {"days": days_left}
                )
                warning = open_warnings.get(case.pk)
                if warning is None or (warning.level == WarningLevel.YELLOW and status.level == "red"):
                    warning_raise(
                        rule=WarningRule.TIME_LIMIT,
                        level=status.level,
                        department=case.department,
                        region=case.region_id,
                        case=case,
                        detail=detail,
                        now=now,
                    )
                raised += 1
    cleared = 0
    for subject_id in set(open_warnings) - seen:
        cleared += warning_clear(
            rule=WarningRule.TIME_LIMIT, subject_type="case", subject_id=subject_id, how="condition_ended", now=now
        )
    return {"raised_or_kept": raised, "cleared": cleared}


def _steps(now: datetime, today: date) -> dict[str, int]:
    open_warnings = _open_ids(WarningRule.STEP_OVERDUE, "task")
    seen: set[int] = set()
    tasks = (
        CaseTask.objects.filter(state=TaskState.OPEN, due_on__lte=today)
        .select_related("case", "department")
        .only("id", "name", "due_on", "department", "case__id", "case__region_id", "case__number", "case__paused_since")
    )
    for task in tasks.iterator(chunk_size=CHUNK):
        if task.case.paused_since is not None or task.due_on is None:
            continue
        level = WarningLevel.RED if task.due_on < today else WarningLevel.YELLOW
        seen.add(task.pk)
        warning = open_warnings.get(task.pk)
        if warning is None or (warning.level == WarningLevel.YELLOW and level == WarningLevel.RED):
            warning_raise(
                rule=WarningRule.STEP_OVERDUE,
                level=level,
                department=task.department,
                region=task.case.region_id,
                case=task.case,
                subject_type="task",
                subject_id=task.pk,
                detail=_("环节“%(step)s”期限 %(due)s") % {"step": task.name, "due": task.due_on.isoformat()},
                now=now,
            )
    cleared = 0
    for subject_id in set(open_warnings) - seen:
        cleared += warning_clear(
            rule=WarningRule.STEP_OVERDUE, subject_type="task", subject_id=subject_id, how="condition_ended", now=now
        )
    return {"raised_or_kept": len(seen), "cleared": cleared}


def _urges(now: datetime, today: date) -> dict[str, int]:
    raised = 0
    for urge in Urge.objects.filter(state=UrgeState.OPEN, answer_due_on__lt=today).select_related("department"):
        warning_raise(
            rule=WarningRule.URGE_ANSWER_OVERDUE,
            level=WarningLevel.RED,
            department=urge.department,
            region=urge.department.region_id,
            subject_type="urge",
            subject_id=urge.pk,
            detail=_("督办回复期限 %(due)s") % {"due": urge.answer_due_on.isoformat()},
            now=now,
        )
        raised += 1
    return {"raised_or_kept": raised}


def _refusals(now: datetime) -> dict[str, int]:
    """Refusals recorded without reasons or remedy (services never do; data from other channels may)."""
    raised = 0
    for case in (
        Case.objects.filter(state=CaseState.REFUSED)
        .filter(Q(refusal_reasons="") | Q(legal_remedy=""))
        .exclude(warnings__rule=WarningRule.REFUSAL_WITHOUT_REASONS)
        .select_related("department")
    ):
        refusal_warning(case=case, now=now)
        raised += 1
    return {"raised_or_kept": raised}


def refusal_warning(*, case: Any, now: datetime) -> None:
    warning_raise(
        rule=WarningRule.REFUSAL_WITHOUT_REASONS,
        level=WarningLevel.RED,
        department=case.department,
        region=case.region_id,
        case=case,
        detail=_("不予受理决定未载明理由或救济途径"),
        now=now,
    )


def late_correction_warning(*, notice: CorrectionNotice, now: datetime) -> None:
    case = notice.case
    warning_raise(
        rule=WarningRule.LATE_CORRECTION_NOTICE,
        level=WarningLevel.RED,
        department=case.department,
        region=case.region_id,
        case=case,
        subject_type="correction_notice",
        subject_id=notice.pk,
        detail=_("补正告知晚于收件后5个工作日（期限 %(due)s）") % {"due": case.correction_due_on},
        now=now,
    )
