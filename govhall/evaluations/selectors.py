"""Reads of evaluations: the case page's panel, a department's bad reviews, and the published
satisfaction figures (aggregates only: no name, comment or case number leaves this module)."""

import datetime
from collections import Counter
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy

from govhall.accounts.guards import staff_assignments
from govhall.evaluations.models import BAD_LEVELS, BadReviewFollowUp, Evaluation, FollowUpState, Reason
from govhall.evaluations.services import FOLLOW_UP_ROLES, evaluation_may_rate
from govhall.org.selectors import region_code_prefix


def evaluation_panel(*, case: Any, user: Any) -> dict[str, Any]:
    first = Evaluation.objects.filter(case=case, follow_up_of__isnull=True).select_related("followup").first()
    followup = getattr(first, "followup", None) if first is not None else None
    again = Evaluation.objects.filter(follow_up_of=first).first() if first is not None else None
    return {
        "may_rate": evaluation_may_rate(user=user, case=case),
        "evaluation": first,
        "followup": followup,
        "again": again,
        "may_rate_again": bool(
            first is not None
            and followup is not None
            and followup.state == FollowUpState.RECTIFIED
            and again is None
            and first.evaluator_id == getattr(user, "pk", None)
        ),
    }


def followups_for_staff(*, user: Any) -> QuerySet[BadReviewFollowUp]:
    departments = {a.department_id for a in staff_assignments(user=user) if a.role in FOLLOW_UP_ROLES}
    return (
        BadReviewFollowUp.objects.filter(department_id__in=departments)
        .select_related("evaluation__case", "department")
        .order_by("state", "callback_due_on", "id")
    )


PUBLISHED_BY = ("department", "item", "hall")
PUBLISHED_CACHE_SECONDS = 600
_GROUPS = {
    "department": ("department_id", "department__name"),
    "item": ("implementation__entry_id", "implementation__entry__name"),
    "hall": ("hall_id", ""),
}


def _published_row(row: dict[str, Any]) -> dict[str, Any]:
    ratings = row["ratings"] or 0
    bad = row["bad"] or 0
    return {
        "ratings": ratings,
        "average": round(row["score"] / ratings, 2) if ratings else None,
        "satisfaction": round(100 * (ratings - bad) / ratings, 1) if ratings else None,
        "bad": bad,
        "rectified": row["rectified"] or 0,
        "rectification_rate": round(100 * (row["rectified"] or 0) / bad, 1) if bad else None,
        "again": row["again"] or 0,
        "again_satisfied": row["again_satisfied"] or 0,
    }


def satisfaction_published(
    *, region: str, start: datetime.date, end: datetime.date, by: str = "department"
) -> dict[str, Any]:
    """好差评 results for the public (GB/T 39735 公开): first ratings of cases in ``region`` and
    below rated from ``start`` to ``end``, in total and per department, item or hall, with bad
    reviews, their rectification and the follow-up ratings in aggregate. Cached ten minutes."""
    by = by if by in PUBLISHED_BY else "department"
    key = f"satisfaction-published:{region}:{start}:{end}:{by}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    prefix = region_code_prefix(region)
    day_after = end + datetime.timedelta(days=1)
    rows = Evaluation.objects.filter(
        follow_up_of__isnull=True,
        region_id__startswith=prefix,
        created_at__gte=timezone.make_aware(datetime.datetime.combine(start, datetime.time.min)),
        created_at__lt=timezone.make_aware(datetime.datetime.combine(day_after, datetime.time.min)),
    )
    measures = {
        "ratings": Count("id"),
        "score": Sum("level"),
        "bad": Count("id", filter=Q(level__in=BAD_LEVELS)),
        "rectified": Count("id", filter=Q(followup__state=FollowUpState.RECTIFIED)),
        "again": Count("follow_up"),
        "again_satisfied": Count("follow_up", filter=Q(follow_up__level__gte=3)),
    }
    total = _published_row(rows.aggregate(**measures))
    key_field, label_field = _GROUPS[by]
    fields = [key_field] + ([label_field] if label_field else [])
    grouped = list(rows.values(*fields).annotate(**measures).order_by("-ratings", key_field)[:100])
    names: dict[Any, str] = {}
    if by == "hall":
        from govhall.org.models import Hall

        names = dict(Hall.objects.filter(pk__in=[row["hall_id"] for row in grouped]).values_list("id", "name"))
    breakdown = []
    for row in grouped:
        if by == "hall":
            name = names.get(row["hall_id"], "") if row["hall_id"] else str(_lazy("网上办理"))
        else:
            name = row[label_field]
        breakdown.append({"name": name, **_published_row(row)})
    reasons: Counter[str] = Counter()
    for listed in rows.filter(level__in=BAD_LEVELS).values_list("reasons", flat=True).iterator(chunk_size=2000):
        reasons.update(reason for reason in listed or [] if reason in Reason.values)
    result = {
        "total": total,
        "rows": breakdown,
        "reasons": [(str(Reason(reason).label), count) for reason, count in reasons.most_common()],
    }
    cache.set(key, result, PUBLISHED_CACHE_SECONDS)
    return result
