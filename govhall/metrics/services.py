"""Counting: one upsert per action into the day's row of the department (PostgreSQL and SQLite
both take INSERT … ON CONFLICT … DO UPDATE SET n = n + excluded.n), and the rebuild from the
cases that the incremental counts must equal."""

import datetime
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from govhall.audit.services import at_transaction_end_summed, audit_chain_lock
from govhall.cases import calendar
from govhall.cases.models import Case, CaseEvent, CaseState, Channel, Decision, DeliveryMethod
from govhall.metrics.models import COUNTERS, ITEM_COUNTERS, DepartmentDay, DepartmentMonth, EntryMonth, ItemMonth

ONLINE_CHANNELS = (Channel.ONLINE, Channel.API)


def _codes(region_code: str) -> tuple[str, str, str]:
    code = (region_code or "")[:6]
    return code, code[:4] + "00", code[:2] + "0000"


def figures_add(
    *,
    day: datetime.date,
    department_id: int,
    region_code: str,
    counts: dict[str, int],
    implementation_id: int | None = None,
) -> None:
    """Add ``counts`` to the day's row of the department and, given the implementation, to the
    month's row of the item, each made when missing (one statement on PostgreSQL)."""
    counts = {name: value for name, value in counts.items() if value}
    if not counts:
        return
    unknown = set(counts) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters {sorted(unknown)}")
    # The counter rows are locked until the commit, and every action of a department that day
    # adds to the same one: written at the end of the transaction where it says so, the counts
    # one transaction adds to the same rows summed into one write.
    at_transaction_end_summed(_figures_write, (day, department_id, region_code, implementation_id), counts)


def _figures_write(sums: dict[Any, dict[str, int]]) -> None:
    """Add each key's counts (keys of ``figures_add``: day, department id, region code,
    implementation id or None) to its rows, every row once, in one order."""
    statements = _figures_statements(sums)
    if not statements:
        return  # counts that all came to nothing write no row
    # A lane of the audit chain before the counter rows' locks, always: an action that counts
    # first (a draft begun counts in a receiver before its audit record) would otherwise hold a
    # counter row while it waited for a lane, when every lane is held (ADR 29).
    audit_chain_lock()
    if min(day for day, *_rest in sums) < first_open_month(timezone.localdate()):
        figures_generation_bump()  # a count dated into a closed month: its regions' sums are made again
    _statements_run(statements)


def _figures_statements(sums: dict[Any, dict[str, int]]) -> list[tuple[str, list[Any]]]:
    """The upserts adding each key's counts to the day's and the month's rows of its department
    and, given the implementation, to the month's rows of the item and the entry.

    Transactions in different lanes of the audit chain write counters at once (ADR 29), so each
    takes its rows in one order, whatever order its counts came in, and no two wait for each
    other in a circle: the tables in the order of this list, each table's rows in the order of
    their key (``_statements_run`` runs them in that order); each row once, its counts summed."""
    days: dict[tuple[Any, ...], tuple[list[Any], dict[str, int]]] = {}
    months: dict[tuple[Any, ...], tuple[list[Any], dict[str, int]]] = {}
    items: dict[tuple[Any, ...], tuple[list[Any], dict[str, int]]] = {}
    entries: dict[tuple[Any, ...], tuple[list[Any], dict[str, int]]] = {}
    for (day, department_id, region_code, implementation_id), counts in sums.items():
        if not counts:
            continue
        codes = _codes(region_code)
        month = day.replace(day=1)
        _row_added(days, (day, department_id), [day, department_id, *codes], counts)
        _row_added(months, (month, department_id), [month, department_id, *codes], counts)
        item_counts = {name: value for name, value in counts.items() if name in ITEM_COUNTERS}
        if implementation_id is not None and item_counts:
            _row_added(
                items, (month, implementation_id), [month, implementation_id, department_id, *codes], item_counts
            )
            # The entry comes from the implementation in the statement: rows of implementations
            # of one entry are summed there.
            _row_added(
                entries, (month, implementation_id, codes[1]), [month, implementation_id, *codes[1:]], item_counts
            )
    return [
        _upsert(table, rows)
        for table, rows in ((_DAYS, days), (_MONTHS, months), (_ITEMS, items), (_ENTRIES, entries))
        if rows
    ]


def _row_added(
    rows: dict[tuple[Any, ...], tuple[list[Any], dict[str, int]]],
    key: tuple[Any, ...],
    values: list[Any],
    counts: dict[str, int],
) -> None:
    row = rows.get(key)
    if row is None:
        rows[key] = (values, dict(counts))
        return
    for name, value in counts.items():
        row[1][name] = row[1].get(name, 0) + value


@dataclass(frozen=True, eq=False)  # hashed by identity: a key of _upsert_sql's cache
class _CounterTable:
    """A counter table as ``_upsert`` writes it: the columns of a new row before its counters,
    what is selected into them from the VALUES list (``v``, whose rows hold ``values`` values
    before their counters) and the implementation (``i``, joined on the VALUES' second), the
    columns of its unique key, its counters, and whether rows coming to one key are summed in
    the statement (the implementations of one entry)."""

    table: str
    values: int
    columns: tuple[str, ...]
    selected: tuple[str, ...]
    conflict: tuple[str, ...]
    counters: tuple[str, ...]
    grouped: bool = False


_DAYS = _CounterTable(
    "metrics_departmentday",
    5,
    ("day", "department_id", "region_code", "city_code", "province_code"),
    ("v.column1", "v.column2", "v.column3", "v.column4", "v.column5"),
    ("day", "department_id"),
    COUNTERS,
)
_MONTHS = _CounterTable(
    "metrics_departmentmonth",
    5,
    ("month", "department_id", "region_code", "city_code", "province_code"),
    ("v.column1", "v.column2", "v.column3", "v.column4", "v.column5"),
    ("month", "department_id"),
    COUNTERS,
)
_ITEMS = _CounterTable(
    "metrics_itemmonth",
    6,
    ("month", "implementation_id", "entry_id", "department_id", "region_code", "city_code", "province_code"),
    ("v.column1", "i.id", "i.entry_id", "v.column3", "v.column4", "v.column5", "v.column6"),
    ("month", "implementation_id"),
    ITEM_COUNTERS,
)
_ENTRIES = _CounterTable(
    "metrics_entrymonth",
    4,
    ("month", "entry_id", "city_code", "province_code"),
    ("v.column1", "i.entry_id", "v.column3", "v.column4"),
    ("month", "entry_id", "city_code"),
    ITEM_COUNTERS,
    grouped=True,
)


def _upsert(
    table: _CounterTable, rows: dict[tuple[Any, ...], tuple[list[Any], dict[str, int]]]
) -> tuple[str, list[Any]]:
    """One upsert of ``rows`` (their key, their values, their counts) into ``table``, read from a
    VALUES list in the order of their keys: the values, then each counter some row adds (0 for
    a row that does not)."""
    present: set[str] = set()
    for _values, counts in rows.values():
        present.update(counts)
    added = tuple([name for name in table.counters if name in present])
    params: list[Any] = []
    for key in sorted(rows):
        values, counts = rows[key]
        params += values
        params += [counts.get(name, 0) for name in added]
    return _upsert_sql(table, added, len(rows)), params


@functools.lru_cache(maxsize=256)
def _upsert_sql(table: _CounterTable, added: tuple[str, ...], rows: int) -> str:
    """The text of ``_upsert``'s statement, kept for the shapes a process writes most (each
    table, set of counters added and number of rows; bounded, as a batch's many rows make a
    shape of their own). A counter no row adds is a literal 0 in a new row and
    left alone in an existing one: an action's statement then takes about 28 parameters, not
    80, and psycopg keeps its conversion to PostgreSQL's placeholders (it converts again, 0.13
    ms, any statement of more than 50). ``{gate}`` is where ``_statements_run`` puts the condition
    that orders the statements."""
    column = {name: f"v.column{table.values + number}" for number, name in enumerate(added, start=1)}
    if table.grouped:
        counted = ", ".join(f"sum({column[name]})" if name in column else "0" for name in table.counters)
        group = f" GROUP BY {', '.join(table.selected)}"
    else:
        counted = ", ".join(column.get(name, "0") for name in table.counters)
        group = ""
    joined = (
        " JOIN catalog_implementation i ON i.id = v.column2" if any(s.startswith("i.") for s in table.selected) else ""
    )
    row = "(" + ", ".join(["%s"] * (table.values + len(added))) + ")"
    by_column = dict(zip(table.columns, table.selected, strict=True))
    updates = ", ".join(f"{name} = {table.table}.{name} + excluded.{name}" for name in added)
    return (
        f"INSERT INTO {table.table} ({', '.join(table.columns)}, {', '.join(table.counters)}) "  # noqa: S608 - names from COUNTERS
        f"SELECT {', '.join(table.selected)}, {counted} FROM (VALUES {', '.join([row] * rows)}) v{joined} "
        f"WHERE {{gate}}{group} ORDER BY {', '.join(by_column[name] for name in table.conflict)} "
        f"ON CONFLICT ({', '.join(table.conflict)}) DO UPDATE SET {updates}"
    )


def first_open_month(today: datetime.date) -> datetime.date:
    """The first day of the earliest month that may still be counted into: last month, since an
    action begun on its last evening may commit on the first of this one. Months before it are
    closed (``RegionMonth``)."""
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def figures_generation_bump() -> None:
    """Closed months' department rows were written (in this transaction): every region's sums of
    closed months made before it no longer hold. The row lock taken here is held until commit, so
    a dashboard summing in the meantime tags its sums with the generation before."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO metrics_figuresgeneration (id, generation) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET generation = metrics_figuresgeneration.generation + 1"
        )


def _statements_run(statements: list[tuple[str, list[Any]]]) -> None:
    """Run the upserts, in their order. PostgreSQL takes them as one statement (``_ordered``):
    one round trip instead of four. SQLite runs them one by one."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            for sql, params in statements:
                cursor.execute(sql.replace("{gate}", "true"), params)
            return
        cursor.execute(
            _ordered(tuple(sql for sql, _params in statements)),
            [value for _sql, params in statements for value in params],
        )


@functools.lru_cache(maxsize=256)
def _ordered(statements: tuple[str, ...]) -> str:
    """One statement of ``statements``, all but the last as data-modifying WITH queries (each a
    different table, so none sees another's rows). Such queries run in an order of the
    executor's choosing, so each after the first waits for the one before it to have written
    all its rows (its ``{gate}`` counts them): the rows are locked in the statements' order
    (``_figures_statements``)."""
    parts = []
    for number, sql in enumerate(statements):
        gate = "true" if number == 0 else f"(SELECT count(*) FROM u{number - 1}) >= 0"  # noqa: S608 - a number
        sql = sql.replace("{gate}", gate)
        parts.append(sql if number == len(statements) - 1 else f"u{number} AS ({sql} RETURNING 1)")
    *withs, last = parts
    return f"WITH {', '.join(withs)} {last}" if withs else last


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


def completion_contributions(case: Any, *, between: Any = None, tz: Any = None) -> dict[str, int]:
    """What a case's completion (办结) adds: on time against the promised deadline, zero visits
    (applied online and received the result electronically), working days from acceptance."""
    completed_on = timezone.localdate(case.completed_at, tz)
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
        counts["handling_days"] = count_between(start=timezone.localdate(case.accepted_at, tz), end=completed_on)
    return counts


def figures_for_case_event(*, case: Any, event: Any) -> None:
    """The receiver's work for one timeline event (cases/signals.py)."""
    on = timezone.localdate(event.at)
    counts = case_contributions(case, event.action, event.at)
    if case.state == CaseState.COMPLETED and case.completed_at is not None and case.completed_at == event.at:
        for name, value in completion_contributions(case).items():
            counts[name] = counts.get(name, 0) + value
    if counts:
        figures_add(
            day=on,
            department_id=case.department_id,
            region_code=case.region_id,
            counts=counts,
            implementation_id=case.implementation_id,
        )


class FiguresTally:
    """The counters of many cases added up in memory, then written at once: the rebuild, and the
    benchmark generator (which tallies each chunk of generated cases as it writes them)."""

    def __init__(self, *, between: Any = None) -> None:
        self.between = between or calendar.working_days_between
        self.tz = timezone.get_current_timezone()  # looked up once: the tally runs per case
        self.days: dict[tuple[datetime.date, int], list[int]] = {}
        self.months: dict[tuple[datetime.date, int], list[int]] = {}
        self.regions: dict[int, str] = {}  # department → region code
        self.items: dict[int, tuple[int, str]] = {}  # implementation → department, region code

    def add(
        self,
        *,
        on: datetime.date,
        department_id: int,
        region_code: str,
        implementation_id: int | None,
        counts: dict[str, int],
    ) -> None:
        self.regions.setdefault(department_id, region_code)
        row = self.days.setdefault((on, department_id), [0] * len(COUNTERS))
        for name, value in counts.items():
            row[_COUNTER_INDEX[name]] += value
        if implementation_id is None:
            return
        self.items.setdefault(implementation_id, (department_id, region_code))
        item = self.months.setdefault((on.replace(day=1), implementation_id), [0] * len(ITEM_COUNTERS))
        for name, value in counts.items():
            index = _ITEM_COUNTER_INDEX.get(name)
            if index is not None:
                item[index] += value

    def case_add(self, case: Any, events: Iterable[tuple[str, datetime.datetime]]) -> None:
        """One case (not a draft) with its timeline's ``(action, at)``: what the receivers counted
        as it moved, and ``started`` on the day the application was begun."""
        department, region, implementation = case.department_id, case.region_id, case.implementation_id
        tz = self.tz
        self.add(
            on=timezone.localdate(case.created_at, tz),
            department_id=department,
            region_code=region,
            implementation_id=implementation,
            counts={"started": 1},
        )
        for action, at in events:
            counts = case_contributions(case, action, at)
            if counts:
                self.add(
                    on=timezone.localdate(at, tz),
                    department_id=department,
                    region_code=region,
                    implementation_id=implementation,
                    counts=counts,
                )
        if case.state == CaseState.COMPLETED and case.completed_at is not None:
            self.add(
                on=timezone.localdate(case.completed_at, tz),
                department_id=department,
                region_code=region,
                implementation_id=implementation,
                counts=completion_contributions(case, between=self.between, tz=tz),
            )

    def department_rows(self) -> list[tuple[Any, ...]]:
        """``(day, department_id, region_code, city_code, province_code, *COUNTERS)``"""
        return [
            (day, department_id, *_codes(self.regions.get(department_id, "")), *counts)
            for (day, department_id), counts in self.days.items()
        ]

    def department_month_rows(self) -> list[tuple[Any, ...]]:
        """``(month, department_id, region_code, city_code, province_code, *COUNTERS)``"""
        months: dict[tuple[datetime.date, int], list[int]] = {}
        for (day, department_id), counts in self.days.items():
            row = months.setdefault((day.replace(day=1), department_id), [0] * len(COUNTERS))
            for index, value in enumerate(counts):
                row[index] += value
        return [
            (month, department_id, *_codes(self.regions.get(department_id, "")), *counts)
            for (month, department_id), counts in months.items()
        ]

    def entry_month_rows(self, entries: dict[int, int] | None = None) -> list[tuple[Any, ...]]:
        """``(month, entry_id, city_code, province_code, *ITEM_COUNTERS)``"""
        entries = {} if entries is None else entries
        by_entry: dict[tuple[datetime.date, int, str, str], list[int]] = {}
        for row in self.item_rows(entries):
            month, _implementation, entry_id, _department, _region, city, province = row[:7]
            into = by_entry.setdefault((month, entry_id, city, province), [0] * len(ITEM_COUNTERS))
            for index, value in enumerate(row[7:]):
                into[index] += value
        return [(*key, *counts) for key, counts in by_entry.items()]

    def item_rows(self, entries: dict[int, int] | None = None) -> list[tuple[Any, ...]]:
        """``(month, implementation_id, entry_id, department_id, region_code, city_code,
        province_code, *ITEM_COUNTERS)``; ``entries`` (implementation → catalogue entry) is
        filled with what it lacks, so that a caller writing many tallies reads each once."""
        from govhall.catalog.models import Implementation

        entries = {} if entries is None else entries
        missing = [pk for pk in self.items if pk not in entries]
        for start in range(0, len(missing), 5000):  # bounded IN lists (SQLite's variable limit)
            part = missing[start : start + 5000]
            entries.update(Implementation.objects.filter(pk__in=part).values_list("id", "entry_id"))
        rows = []
        for (month, implementation_id), counts in self.months.items():
            department_id, region_code = self.items[implementation_id]
            rows.append(
                (month, implementation_id, entries[implementation_id], department_id, *_codes(region_code), *counts)
            )
        return rows


_COUNTER_INDEX = {name: index for index, name in enumerate(COUNTERS)}
_ITEM_COUNTER_INDEX = {name: index for index, name in enumerate(ITEM_COUNTERS)}
DEPARTMENT_DAY_COLUMNS = ("day", "department_id", "region_code", "city_code", "province_code", *COUNTERS)
DEPARTMENT_MONTH_COLUMNS = ("month", *DEPARTMENT_DAY_COLUMNS[1:])
ENTRY_MONTH_COLUMNS = ("month", "entry_id", "city_code", "province_code", *ITEM_COUNTERS)
ITEM_MONTH_COLUMNS = (
    "month",
    "implementation_id",
    "entry_id",
    "department_id",
    "region_code",
    "city_code",
    "province_code",
    *ITEM_COUNTERS,
)


def metrics_rebuild() -> int:
    """Recompute every row from the cases, their timeline and their evaluations (after a bulk
    load; and what the incremental counts must equal). Returns the number of rows written."""
    tally = FiguresTally()
    cases = Case.objects.exclude(state=CaseState.DRAFT).only(
        "id",
        "department_id",
        "region_id",
        "implementation_id",
        "channel",
        "state",
        "decision",
        "created_at",
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
        tally.case_add(case, by_case.get(case.pk, []))
    # Drafts count only as begun.
    drafts = Case.objects.filter(state=CaseState.DRAFT)
    for department_id, region_id, implementation_id, created_at in drafts.values_list(
        "department_id", "region_id", "implementation_id", "created_at"
    ):
        tally.add(
            on=timezone.localdate(created_at),
            department_id=department_id,
            region_code=region_id,
            implementation_id=implementation_id,
            counts={"started": 1},
        )
    from govhall.evaluations.models import BadReviewFollowUp, Evaluation

    firsts = Evaluation.objects.filter(follow_up_of__isnull=True)
    for evaluation in firsts.only("department_id", "region_id", "implementation_id", "level", "created_at"):
        tally.add(
            on=timezone.localdate(evaluation.created_at),
            department_id=evaluation.department_id,
            region_code=evaluation.region_id,
            implementation_id=evaluation.implementation_id,
            counts={"ratings": 1, "ratings_sum": evaluation.level, "ratings_bad": 1 if evaluation.is_bad else 0},
        )
    for followup in BadReviewFollowUp.objects.filter(rectified_at__isnull=False).select_related("evaluation"):
        assert followup.rectified_at is not None
        tally.add(
            on=timezone.localdate(followup.rectified_at),
            department_id=followup.department_id,
            region_code=followup.evaluation.region_id,
            implementation_id=None,
            counts={"rectified": 1},
        )
    department_rows, month_rows, item_rows = tally.department_rows(), tally.department_month_rows(), tally.item_rows()
    entry_rows = tally.entry_month_rows()
    with transaction.atomic():
        figures_generation_bump()
        DepartmentDay.objects.all().delete()
        DepartmentMonth.objects.all().delete()
        ItemMonth.objects.all().delete()
        EntryMonth.objects.all().delete()
        DepartmentDay.objects.bulk_create(
            (DepartmentDay(**dict(zip(DEPARTMENT_DAY_COLUMNS, row, strict=True))) for row in department_rows),
            batch_size=2000,
        )
        DepartmentMonth.objects.bulk_create(
            (DepartmentMonth(**dict(zip(DEPARTMENT_MONTH_COLUMNS, row, strict=True))) for row in month_rows),
            batch_size=2000,
        )
        ItemMonth.objects.bulk_create(
            (ItemMonth(**dict(zip(ITEM_MONTH_COLUMNS, row, strict=True))) for row in item_rows), batch_size=2000
        )
        EntryMonth.objects.bulk_create(
            (EntryMonth(**dict(zip(ENTRY_MONTH_COLUMNS, row, strict=True))) for row in entry_rows), batch_size=2000
        )
    return len(department_rows) + len(month_rows) + len(item_rows) + len(entry_rows)
