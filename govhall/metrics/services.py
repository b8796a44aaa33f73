"""Counting: one upsert per action into the day's row of the department (PostgreSQL and SQLite
both take INSERT … ON CONFLICT … DO UPDATE SET n = n + excluded.n), and the rebuild from the
cases that the incremental counts must equal."""

import datetime
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from govhall.cases import calendar
from govhall.cases.models import Case, CaseEvent, CaseState, Channel, Decision, DeliveryMethod
from govhall.metrics.models import COUNTERS, DepartmentDay

ONLINE_CHANNELS = (Channel.ONLINE, Channel.API)


def _codes(region_code: str) -> tuple[str, str, str]:
    code = (region_code or "")[:6]
    return code, code[:4] + "00", code[:2] + "0000"


def figures_add(*, day: datetime.date, department_id: int, region_code: str, counts: dict[str, int]) -> None:
    """Add ``counts`` to the day's row of the department (made when missing), in one statement."""
    counts = {name: value for name, value in counts.items() if value}
    if not counts:
        return
    unknown = set(counts) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters {sorted(unknown)}")
    region, city, province = _codes(region_code)
    columns = ", ".join(COUNTERS)
    placeholders = ", ".join(["%s"] * len(COUNTERS))
    # A new row takes every counter (0 for the others); an existing one adds only these.
    updates = ", ".join(f"{name} = metrics_departmentday.{name} + excluded.{name}" for name in counts)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO metrics_departmentday (day, department_id, region_code, city_code, province_code, {columns}) "  # noqa: S608 - names from COUNTERS
            f"VALUES (%s, %s, %s, %s, %s, {placeholders}) "
            f"ON CONFLICT (day, department_id) DO UPDATE SET {updates}",
            [day, department_id, region, city, province, *[counts.get(name, 0) for name in COUNTERS]],
        )


def case_contributions(case: Any, event_action: str, at: datetime.datetime) -> dict[str, int]:
    """What one action of a case, at ``at``, adds to the figures of its department that day."""
    counts: dict[str, int] = {}
    if event_action == "submit":
        counts["received"] = 1
        if case.channel in ONLINE_CHANNELS:
            counts["received_online"] = 1
    elif event_action == "accept" or (event_action == "auto_approve" and case.accepted_at == at):
        counts["accepted"] = 1  # an automatic approval at submission accepts in the same action
    elif event_action == "refuse":
        counts["refused"] = 1
    elif event_action == "correction_notify":
        counts["corrections"] = 1
    elif event_action == "withdraw":
        counts["withdrawn"] = 1
    if event_action in ("decide", "auto_approve"):
        if case.decision == Decision.APPROVE:
            counts["approved"] = 1
        elif case.decision == Decision.DENY:
            counts["denied"] = 1
    return counts


def completion_contributions(case: Any, *, between: Any = None) -> dict[str, int]:
    """What a case's completion (办结) adds: on time against the promised deadline, zero visits
    (applied online and received the result electronically), working days from acceptance."""
    completed_on = timezone.localdate(case.completed_at)
    counts = {"completed": 1}
    if case.promised_due_on is not None and completed_on > case.promised_due_on:
        counts["completed_late"] = 1
    else:
        counts["completed_on_time"] = 1
    if case.channel in ONLINE_CHANNELS and case.delivery_method in (
        "",
        DeliveryMethod.ELECTRONIC,
        DeliveryMethod.EXPRESS,
    ):
        counts["zero_visit"] = 1
    if case.accepted_at is not None:
        count_between = between or calendar.working_days_between
        counts["handling_days"] = count_between(start=timezone.localdate(case.accepted_at), end=completed_on)
    return counts


def figures_for_case_event(*, case: Any, event: Any) -> None:
    """The receiver's work for one timeline event (cases/signals.py)."""
    on = timezone.localdate(event.at)
    counts = case_contributions(case, event.action, event.at)
    if case.state == CaseState.COMPLETED and case.completed_at is not None and case.completed_at == event.at:
        for name, value in completion_contributions(case).items():
            counts[name] = counts.get(name, 0) + value
    if counts:
        figures_add(day=on, department_id=case.department_id, region_code=case.region_id, counts=counts)


def metrics_rebuild() -> int:
    """Recompute every row from the cases, their timeline and their evaluations (after a bulk
    load; and what the incremental counts must equal). Returns the number of rows written."""
    rows: dict[tuple[datetime.date, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    regions: dict[int, str] = {}
    cases = Case.objects.exclude(state=CaseState.DRAFT).only(
        "id",
        "department_id",
        "region_id",
        "channel",
        "state",
        "decision",
        "accepted_at",
        "decided_at",
        "completed_at",
        "promised_due_on",
        "delivery_method",
    )
    events = CaseEvent.objects.filter(
        action__in=("submit", "accept", "auto_approve", "refuse", "correction_notify", "withdraw", "decide")
    ).values_list("case_id", "action", "at")
    by_case: dict[int, list[tuple[str, datetime.datetime]]] = defaultdict(list)
    for case_id, action, at in events.iterator(chunk_size=5000):
        by_case[case_id].append((action, at))
    for case in cases.iterator(chunk_size=2000):
        regions[case.department_id] = case.region_id
        for action, at in by_case.get(case.pk, []):
            on = timezone.localdate(at)
            for name, value in case_contributions(case, action, at).items():
                rows[(on, case.department_id)][name] += value
        if case.state == CaseState.COMPLETED and case.completed_at is not None:
            on = timezone.localdate(case.completed_at)
            for name, value in completion_contributions(case).items():
                rows[(on, case.department_id)][name] += value
    from govhall.evaluations.models import BadReviewFollowUp, Evaluation

    firsts = Evaluation.objects.filter(follow_up_of__isnull=True)
    for evaluation in firsts.only("department_id", "region_id", "level", "created_at"):
        on = timezone.localdate(evaluation.created_at)
        regions.setdefault(evaluation.department_id, evaluation.region_id)
        counts = rows[(on, evaluation.department_id)]
        counts["ratings"] += 1
        counts["ratings_sum"] += evaluation.level
        counts["ratings_bad"] += 1 if evaluation.is_bad else 0
    for followup in BadReviewFollowUp.objects.filter(rectified_at__isnull=False).select_related("evaluation"):
        on = timezone.localdate(followup.rectified_at)
        regions.setdefault(followup.department_id, followup.evaluation.region_id)
        rows[(on, followup.department_id)]["rectified"] += 1
    for case in Case.objects.only("department_id", "region_id", "created_at"):
        on = timezone.localdate(case.created_at)
        regions.setdefault(case.department_id, case.region_id)
        rows[(on, case.department_id)]["started"] += 1
    with transaction.atomic():
        DepartmentDay.objects.all().delete()
        objects = []
        for (day, department_id), counts in rows.items():
            region, city, province = _codes(regions.get(department_id, ""))
            objects.append(
                DepartmentDay(
                    day=day,
                    department_id=department_id,
                    region_code=region,
                    city_code=city,
                    province_code=province,
                    **{name: counts.get(name, 0) for name in COUNTERS},
                )
            )
        DepartmentDay.objects.bulk_create(objects, batch_size=2000)
    return len(objects)
