"""The working-day calendar: statutory time limits counted in working days or in calendar days.

Administrative Licensing Law arts. 32, 42, 44: the limits are working days, so weekends and
public holidays are excluded and 调休 make-up working days are included. The table
(``CalendarDay``) is seeded from the chinese-calendar package for the years it knows; later years
are entered by a system administrator once the State Council publishes them. A day the table
does not hold counts Monday to Friday as working.

Administrators edit the table while the platform runs, so nothing here is kept beyond one call,
or beyond one block of ``calendar_read_once()`` (one case action and its answer, which compute
several dates from the same days). Each query loads the days it needs in one SELECT (a second
one only when an unusually long run of non-working days outlasts the first window).
"""

import contextlib
import contextvars
import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import chinese_calendar
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import ExtractIsoWeekDay
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts.guards import staff_may_administer_system
from govhall.audit.services import audit_record_add
from govhall.cases.models import CalendarDay, CalendarSource, DayKind
from govhall.catalog.models import DayUnit
from govhall.queries import values_list_compiled

ONE_DAY = datetime.timedelta(days=1)

# Room for the longest run of holidays (Spring Festival with its weekends is nine days) on top of
# the weekends in the first window a query loads; later windows are a year long.
HOLIDAY_MARGIN_DAYS = 21
FOLLOW_UP_WINDOW_DAYS = 366

NAME_MAX_LENGTH = CalendarDay._meta.get_field("name").max_length or 32

WORKING_KINDS = frozenset({DayKind.WORKDAY, DayKind.MAKEUP})
NAMED_KINDS = frozenset({DayKind.HOLIDAY, DayKind.MAKEUP})


# ---------------------------------------------------------------------------------------------
# Seeding from chinese-calendar


def calendar_package_years() -> range:
    """The years chinese-calendar knows (2004–2026 for version 1.11)."""
    known = chinese_calendar.constants.holidays.keys()
    return range(min(known).year, max(known).year + 1)


def _holiday_name(value: str) -> str:
    # The package names holidays by the English value of its ``Holiday`` enum; the enum carries
    # the Chinese name shown to staff and applicants.
    return str(chinese_calendar.constants.Holiday(value).chinese)[:NAME_MAX_LENGTH]


def _package_day(day: datetime.date) -> tuple[bool, str, str]:
    """(working, kind, name) of ``day`` according to chinese-calendar."""
    holidays = chinese_calendar.constants.holidays
    workdays = chinese_calendar.constants.workdays
    if day in workdays:
        return True, DayKind.MAKEUP, _holiday_name(workdays[day])
    if day in holidays:
        return False, DayKind.HOLIDAY, _holiday_name(holidays[day])
    if day.weekday() >= 5:
        return False, DayKind.WEEKEND, ""
    return True, DayKind.WORKDAY, ""


def _year_days(year: int) -> Iterator[datetime.date]:
    day = datetime.date(year, 1, 1)
    while day.year == year:
        yield day
        day += ONE_DAY


def calendar_seed(*, years: Iterable[int] | None = None) -> int:
    """Write every day of ``years`` (default: every year chinese-calendar knows) into the
    calendar; years the package does not know are skipped. Returns the number of rows created.

    Runs after every migrate, so it is idempotent and bulk: one SELECT, one bulk insert, and a
    bulk update only of package rows the package now describes differently (after an upgrade of
    chinese-calendar). A row an administrator entered is never overwritten.
    """
    known = calendar_package_years()
    wanted = sorted({year for year in (known if years is None else years) if year in known})
    if not wanted:
        return 0
    first, last = datetime.date(wanted[0], 1, 1), datetime.date(wanted[-1], 12, 31)
    existing = {
        row[0]: row[1:]
        for row in CalendarDay.objects.filter(date__range=(first, last)).values_list(
            "date", "working", "kind", "name", "source"
        )
    }
    now = timezone.now()
    to_create: list[CalendarDay] = []
    to_update: list[CalendarDay] = []
    for year in wanted:
        for day in _year_days(year):
            working, kind, name = _package_day(day)
            current = existing.get(day)
            if current is None:
                to_create.append(CalendarDay(date=day, working=working, kind=kind, name=name))
            elif current[3] == CalendarSource.PACKAGE and current[:3] != (working, kind, name):
                to_update.append(CalendarDay(date=day, working=working, kind=kind, name=name, updated_at=now))
    with transaction.atomic():
        # ignore_conflicts: a second process seeding at the same moment (two deployments
        # migrating together) or an administrator saving a day meanwhile wins over this insert.
        CalendarDay.objects.bulk_create(to_create, batch_size=1000, ignore_conflicts=True)
        if to_update:
            CalendarDay.objects.bulk_update(to_update, ["working", "kind", "name", "updated_at"], batch_size=1000)
    return len(to_create)


# ---------------------------------------------------------------------------------------------
# Queries


# Within ``calendar_read_once()``: the days read so far and the ranges they cover. A block's
# first read reaches a year before the first day asked and two after it: an action asks for
# days on both sides of the first (an acceptance asks first for a deadline of 60 calendar days,
# then for a step's due date and the days used so far), and the three years are about 90 rows,
# the days that do not work as their weekday does. Later reads reach a year after their first day.
KEPT_WINDOW_DAYS = FOLLOW_UP_WINDOW_DAYS
KEPT_FIRST_BEFORE_DAYS = 366
KEPT_FIRST_AFTER_DAYS = 2 * 366


@dataclass
class _KeptDays:
    known: dict[datetime.date, bool]
    ranges: list[tuple[datetime.date, datetime.date]]


_kept_days: contextvars.ContextVar[_KeptDays | None] = contextvars.ContextVar("calendar_kept_days", default=None)


@contextlib.contextmanager
def calendar_read_once() -> Iterator[None]:
    """Inside the block, the table is read once for the three years around the first day asked
    for (``KEPT_FIRST_BEFORE_DAYS``, ``KEPT_FIRST_AFTER_DAYS``), and every later query of the
    block whose days fall in what was read is answered from it: a case action computes up to
    five dates (the statutory and promised deadlines, the next step's due date, deferred
    materials, the answer's days left) from the same few weeks. Keep the block to one request:
    an administrator's edit is seen by the next block. A block inside another shares the outer
    one's days."""
    if _kept_days.get() is not None:
        yield
        return
    token = _kept_days.set(_KeptDays(known={}, ranges=[]))
    try:
        yield
    finally:
        _kept_days.reset(token)


def _working_by_date(*, first: datetime.date, last: datetime.date) -> dict[datetime.date, bool]:
    """The table's answer for every day it holds from ``first`` to ``last``, in one SELECT (none
    inside ``calendar_read_once()`` when the days were read already)."""
    kept = _kept_days.get()
    if kept is None:
        return _days_read(first=first, last=last)
    if not _covered(kept.ranges, first=first, last=last):
        if kept.ranges:
            start, end = first, max(last, first + datetime.timedelta(days=KEPT_WINDOW_DAYS - 1))
        else:
            start = first - datetime.timedelta(days=KEPT_FIRST_BEFORE_DAYS)
            end = max(last, first + datetime.timedelta(days=KEPT_FIRST_AFTER_DAYS))
        kept.known.update(_days_read(first=start, last=end))
        kept.ranges.append((start, end))
    # The callers look days up in the answer; days outside [first, last] would not be asked for.
    return kept.known


def _covered(ranges: list[tuple[datetime.date, datetime.date]], *, first: datetime.date, last: datetime.date) -> bool:
    """Whether the ranges read so far hold every day from ``first`` to ``last``."""
    reached = first - ONE_DAY
    for start, end in sorted(ranges):
        if start > reached + ONE_DAY:
            break  # the day after ``reached`` was not read
        reached = max(reached, end)
    return reached >= last


def _days_read(*, first: datetime.date, last: datetime.date) -> dict[datetime.date, bool]:
    """The days from ``first`` to ``last`` that the table holds and that do not work as their
    weekday does (holidays on weekdays, 调休 weekends): every other day, held or not, is counted
    by its weekday (``_is_working``), so the answers are the same as from every row. A year holds
    about 30 such days against 365 rows. The statement is compiled once per process."""
    return {
        day: working
        for day, working in values_list_compiled("calendar_days_unlike_weekday", _days_unlike_weekday, first, last)
    }


def _days_unlike_weekday(
    first: datetime.date, last: datetime.date
) -> QuerySet[CalendarDay, tuple[datetime.date, bool]]:
    return (
        CalendarDay.objects.filter(date__range=(first, last))
        .annotate(weekday=ExtractIsoWeekDay("date"))
        .filter(Q(working=True, weekday__gte=6) | Q(working=False, weekday__lte=5))
        .values_list("date", "working")
    )


def _is_working(day: datetime.date, known: dict[datetime.date, bool]) -> bool:
    working = known.get(day)
    if working is None:
        # A year not yet entered: Monday to Friday, until an administrator enters it.
        return day.weekday() < 5
    return working


def _working_days_from(first: datetime.date, *, window_days: int) -> Iterator[datetime.date]:
    """Working days from ``first`` on, in order; the table is read one window at a time."""
    while True:
        last = first + datetime.timedelta(days=window_days - 1)
        known = _working_by_date(first=first, last=last)
        day = first
        while day <= last:
            if _is_working(day, known):
                yield day
            day += ONE_DAY
        first = last + ONE_DAY
        window_days = FOLLOW_UP_WINDOW_DAYS


def is_working_day(*, day: datetime.date) -> bool:
    """True when public offices work on ``day`` (a 调休 Saturday included)."""
    return _is_working(day, _working_by_date(first=day, last=day))


def working_day_add(*, start: datetime.date, days: int) -> datetime.date:
    """The last day of a limit of ``days`` working days that begins on ``start``.

    Administrative Licensing Law art. 42 practice: the day of acceptance (``start``) does not
    count; the first day counted is the next working day. ``days`` = 0 gives ``start``.
    """
    if days < 0:
        raise ValueError("a time limit cannot be negative")
    if days == 0:
        return start
    counted = 0
    for day in _working_days_from(start + ONE_DAY, window_days=days * 2 + HOLIDAY_MARGIN_DAYS):
        counted += 1
        if counted == days:
            return day
    raise AssertionError("unreachable: the working days never run out")


def working_days_between(*, start: datetime.date, end: datetime.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``):
    the inverse of ``working_day_add``, e.g. the days a case has used so far."""
    if end <= start:
        return 0
    first = start + ONE_DAY
    known = _working_by_date(first=first, last=end)
    return sum(1 for offset in range((end - start).days) if _is_working(first + offset * ONE_DAY, known))


def working_days_counter(*, first: datetime.date, last: datetime.date) -> Callable[..., int]:
    """``working_days_between`` for any ``start`` and ``end`` from ``first`` to ``last``, with the
    table read once: for list pages that count days for many cases."""
    known = _working_by_date(first=first, last=last)

    def between(*, start: datetime.date, end: datetime.date) -> int:
        if end <= start:
            return 0
        if start < first or end > last:
            return working_days_between(start=start, end=end)
        day_after = start + ONE_DAY
        return sum(1 for offset in range((end - start).days) if _is_working(day_after + offset * ONE_DAY, known))

    return between


def calendar_day_add(*, start: datetime.date, days: int) -> datetime.date:
    """The last day of a limit of ``days`` calendar (natural) days that begins on ``start``.

    Civil Code art. 203: the day the period begins does not count, and when the last day falls
    on a statutory rest day (法定休假日: a public holiday, or a weekend not worked as 调休) the
    period ends on the first working day after it. ``days`` = 0 gives ``start``.
    """
    if days < 0:
        raise ValueError("a time limit cannot be negative")
    if days == 0:
        return start
    last = start + datetime.timedelta(days=days)
    return next(_working_days_from(last, window_days=HOLIDAY_MARGIN_DAYS))


def limit_due(*, start: datetime.date, days: int, unit: str) -> datetime.date:
    """The last day of a time limit stated as ``days`` in ``unit`` (``DayUnit``: working or
    calendar days), counted from ``start`` (acceptance, decision, receipt)."""
    if unit == DayUnit.WORKING:
        return working_day_add(start=start, days=days)
    if unit == DayUnit.CALENDAR:
        return calendar_day_add(start=start, days=days)
    raise ValueError(f"unknown time limit unit {unit!r}")


def year_is_known(*, year: int) -> bool:
    """True when the calendar holds the public holidays of ``year`` (from the package or entered
    by an administrator); otherwise its limits are provisional, counted Monday to Friday."""
    return CalendarDay.objects.filter(
        date__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31)), kind=DayKind.HOLIDAY
    ).exists()


@dataclass(frozen=True)
class CalendarDayEntry:
    """One day as the calendar counts it; ``provisional`` when the table does not hold it."""

    date: datetime.date
    working: bool
    kind: str
    name: str
    source: str
    provisional: bool

    @property
    def kind_label(self) -> str:
        return str(DayKind(self.kind).label)

    @property
    def source_label(self) -> str:
        return str(CalendarSource(self.source).label) if self.source else ""


def calendar_days_list(*, year: int) -> list[CalendarDayEntry]:
    """Every day of ``year`` in order, as counted: the table's rows, and Monday-to-Friday
    defaults (marked provisional) for days it does not hold. One query."""
    rows = {
        row.date: row
        for row in CalendarDay.objects.filter(date__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31)))
    }
    entries = []
    for day in _year_days(year):
        row = rows.get(day)
        if row is None:
            working = day.weekday() < 5
            kind = DayKind.WORKDAY if working else DayKind.WEEKEND
            entries.append(CalendarDayEntry(day, working, kind, "", "", provisional=True))
        else:
            entries.append(CalendarDayEntry(day, row.working, row.kind, row.name, row.source, provisional=False))
    return entries


# ---------------------------------------------------------------------------------------------
# Administration


def calendar_day_check(*, working: bool, kind: str, name: str) -> None:
    """Raise ValidationError when a day's fields contradict each other: a holiday or weekend is
    not worked, a workday or 调休 day is, and a holiday or 调休 day names its holiday."""
    if kind not in DayKind.values:
        raise ValidationError({"kind": [_("未知的日期类别。")]})
    if working != (kind in WORKING_KINDS):
        raise ValidationError({"working": [_("“工作日”与“调休上班”须为工作日，“周末”与“法定节假日”须为休息日。")]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [_("节日名称过长。")]})
    if kind in NAMED_KINDS and not name.strip():
        raise ValidationError({"name": [_("法定节假日和调休上班日须写明所属节日，如“春节”。")]})


def _day_fields(day: CalendarDay | None) -> dict[str, Any] | None:
    if day is None:
        return None
    return {"working": day.working, "kind": day.kind, "name": day.name, "source": day.source}


def calendar_day_set(*, actor: Any, day: datetime.date, working: bool, kind: str, name: str) -> CalendarDay:
    """Enter or correct one day of the calendar (e.g. a year's holidays once the State Council
    publishes them). Only a system administrator may; the row becomes the administrator's, so
    ``calendar_seed`` never overwrites it, and an audit record keeps the old and new values."""
    if not staff_may_administer_system(user=actor):
        raise PermissionDenied(_("只有系统管理员可以修改工作日历。"))
    name = name.strip()
    calendar_day_check(working=working, kind=kind, name=name)
    with transaction.atomic():
        row = CalendarDay.objects.select_for_update().filter(date=day).first()
        before = _day_fields(row)
        adding = row is None
        if row is None:
            row = CalendarDay(date=day)
        row.working = working
        row.kind = kind
        row.name = name
        row.source = CalendarSource.ADMINISTRATOR
        row.updated_by = actor
        row.save(force_insert=adding)
        audit_record_add(
            actor=actor,
            action="calendar_day_set",
            object_type="calendar_day",
            object_id=str(day),
            summary=f"{day.isoformat()} {DayKind(kind).label} {name}".strip(),
            data={"date": day.isoformat(), "before": before, "after": _day_fields(row)},
        )
    return row
