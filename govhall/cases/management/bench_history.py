# ruff: noqa: S608 - every statement is built from this module's constants; values go as parameters
"""Historical cases for the benchmark, written by PostgreSQL itself (INSERT … SELECT).

``bench_data`` describes the catalogue, the applicants and the calendar in a few small tables
(``bench_g_*``); then every chunk of cases is drawn in SQL: each case's random choices come
from ``hashint8extended`` of its id and the seed (the same seed, ids and load give the same data),
its steps follow its item's process definition, one visit per step (plus a correction visit
where a notice was sent), timed from the submission with a running sum, and the case ends
where its story ends: a step still open now, a withdrawal, a refusal, an unanswered
correction, or completion. The tasks, timeline events, notices and materials are the rows that
story implies, the same rows the live services write for it; their figures (ADR 0007) are
summed as ``FiguresTally`` sums them in Python and set aside in the same transaction, then added
to the counter tables once the load ends (``figures_fold``).

Nothing leaves the database but a few hundred bytes per chunk, so the load runs at the speed
of PostgreSQL, on ``bench_data.LOAD_SESSIONS`` connections at once (one per core here).
"""

import functools
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from govhall.metrics.models import COUNTERS, ITEM_COUNTERS

# Tables describing what cases are drawn from; created by ``static_tables_load``.
STATIC_TABLES = (
    "bench_g_template",
    "bench_g_path",
    "bench_g_part",
    "bench_g_material",
    "bench_g_place",
    "bench_g_slot",
    "bench_g_applicant",
    "bench_g_day",
    "bench_g_workday",
    "bench_g_dept",
    "bench_g_file",
)
SCRATCH_TABLES = ("g_case", "g_kept", "g_caserow", "g_event", "g_seq", "g_final")
# Figures of written chunks not yet added to the counter tables (see figures_fold): per day and
# department, per month and implementation. The single stage of earlier versions is moved over.
FIGURES_DAYS, FIGURES_MONTHS, LEGACY_STAGE = "bench_g_figures_day", "bench_g_figures_month", "bench_g_figures"
SLOTS = 1 << 20  # places are drawn by weight through this many slots
CORRECTABLE = ("prereview", "accept")
# The chances of what happens to a case: withdrawn at one step, one correction notice at intake,
# refused at each intake step, a decision denying, each step overrunning its limit.
WITHDRAW_SHARE, CORRECTION_SHARE, REFUSAL_SHARE, DENY_SHARE, LATE_SHARE = 0.01, 0.05, 0.02, 0.06, 0.03
# The timeline's actions the figures count (``_figures_stage``).
COUNTED_ACTIONS = "('submit', 'accept', 'refuse', 'correction_notify', 'withdraw', 'decide')"
# The years around a load's "now" whose dates it converts between UTC and the platform's zone.
ZONE_YEARS_BACK, ZONE_YEARS_AHEAD = 4, 2


def _create(cursor: Any, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """A table of this module's with ``rows`` (every column, in order)."""
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE UNLOGGED TABLE {table} ({columns})")
    if rows:
        marks = ", ".join(["%s"] * len(rows[0]))
        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    cursor.execute(f"ANALYZE {table}")


def _path(steps: Sequence[dict[str, Any]], *, immediate: bool, deny: bool) -> list[dict[str, Any]]:
    """The steps a case of the process goes through, in order: an immediate case is decided at
    acceptance (no review or decision), a denied one gets no result issued."""
    return [
        step
        for step in steps
        if not (immediate and step["kind"] in ("review", "parallel", "decide"))
        and not (deny and step["kind"] == "issue_result")
    ]


def static_tables_load(
    *,
    places: Sequence[Any],
    weights: Sequence[float],
    applicants: Sequence[tuple[int, int, str]],
    departments_by_kind: dict[tuple[str, str], int],
    files: Sequence[tuple[str, str, int]],
    working_days: Sequence[Any],
    first_day: Any,
    last_day: Any,
) -> None:
    """Describe the catalogue (its processes and materials), the applicants, the departments and
    the calendar for the SQL that draws cases. ``places`` are ``bench_data.Place``."""
    templates: dict[int, int] = {}  # id(template) → number
    template_rows, path_rows, part_rows, material_rows = [], [], [], []
    place_rows = []
    for number, place in enumerate(places):
        template = place.template
        key = id(template)
        if key not in templates:
            t = templates[key] = len(templates)
            source = template.implementation
            steps = list(template.process.get("steps") or [])
            immediate = source.case_type == "immediate"
            may_deny = not immediate and any(step["kind"] == "decide" for step in steps)
            approved = _path(steps, immediate=immediate, deny=False)
            correctable = [position for position, step in enumerate(approved) if step["kind"] in CORRECTABLE]
            template_rows.append(
                (
                    t,
                    source.case_type,
                    template.definition_id,
                    template.data_json,
                    source.statutory_time_limit_days,
                    source.statutory_time_limit_unit,
                    source.promised_time_limit_days,
                    source.promised_time_limit_unit,
                    immediate,
                    may_deny,
                    template.required_materials[0] if template.required_materials else "申请表",
                    len(approved),
                    correctable[0] if correctable else None,
                    correctable[1] if len(correctable) > 1 else None,
                )
            )
            for deny in (False, True) if may_deny else (False,):
                for position, step in enumerate(_path(steps, immediate=immediate, deny=deny)):
                    path_rows.append(
                        (t, deny, position, step["key"], step["kind"], step["name"], int(step.get("days", 0) or 0))
                    )
            for step in steps:
                parallel = step["kind"] == "parallel"
                parts = [b for b in step.get("branches", []) if not b.get("when")] if parallel else [step]
                for order, part in enumerate(parts):
                    part_rows.append(
                        (
                            t,
                            step["key"],
                            order,
                            part["key"] if parallel else "",
                            (part.get("name") or step["name"])[:64],
                            part.get("role") or step.get("role") or "",
                            bool(part.get("lead")) if parallel else True,
                            part.get("department_kind") or "",
                        )
                    )
            for order, name in enumerate(template.required_materials):
                material_rows.append((t, order, name))
        place_rows.append(
            (number, place.implementation_id, place.region_id, place.department_id, templates[key], place.item_name)
        )
    # Weighted draw: each place owns a share of the slots proportional to its weight (at least one).
    total = sum(weights)
    slot_rows, slot = [], 0
    for number, weight in enumerate(weights):
        share = max(1, round(weight / total * SLOTS))
        slot_rows.append((number, slot, slot + share))
        slot += share
    day_rows, ordinal, workday_rows = [], 0, []
    working = set(working_days)
    day = first_day
    while day <= last_day:
        if day in working:
            ordinal += 1
            workday_rows.append((ordinal, day))
        day_rows.append((day, ordinal, day in working))
        day += timedelta(days=1)
    with connection.cursor() as cursor:
        _create(
            cursor,
            "bench_g_template",
            "t int PRIMARY KEY, case_type text, definition_id bigint, data_json jsonb, stat_days int, "
            "stat_unit text, prom_days int, prom_unit text, immediate bool, may_deny bool, first_material text, "
            "path_length int, first_pos int, second_pos int",
            template_rows,
        )
        _create(
            cursor,
            "bench_g_path",
            "t int, deny bool, pos int, step_key text, kind text, name text, days int, PRIMARY KEY (t, deny, pos)",
            path_rows,
        )
        _create(
            cursor,
            "bench_g_part",
            "t int, step_key text, part int, branch_key text, name text, role text, lead bool, "
            "department_kind text, PRIMARY KEY (t, step_key, part)",
            part_rows,
        )
        _create(cursor, "bench_g_material", "t int, no int, name text, PRIMARY KEY (t, no)", material_rows)
        _create(
            cursor,
            "bench_g_place",
            "p int PRIMARY KEY, implementation_id bigint, region_id text, department_id bigint, t int, item_name text",
            place_rows,
        )
        cursor.execute("DROP TABLE IF EXISTS bench_g_slot")
        cursor.execute("CREATE UNLOGGED TABLE bench_g_slot (s int PRIMARY KEY, p int)")
        cursor.execute("CREATE TEMP TABLE bench_g_slot_range (p int, first int, after int)")
        cursor.executemany("INSERT INTO bench_g_slot_range VALUES (%s, %s, %s)", slot_rows)
        cursor.execute(
            "INSERT INTO bench_g_slot SELECT s, p FROM bench_g_slot_range, generate_series(first, after - 1) s"
        )
        cursor.execute("DROP TABLE bench_g_slot_range")
        cursor.execute("ANALYZE bench_g_slot")
        _create(
            cursor,
            "bench_g_applicant",
            "a int PRIMARY KEY, user_id bigint, person_id bigint, name text",
            [(number, *row) for number, row in enumerate(applicants)],
        )
        _create(cursor, "bench_g_day", "day date PRIMARY KEY, ord int, working bool", day_rows)
        _create(cursor, "bench_g_workday", "ord int PRIMARY KEY, day date", workday_rows)
        _create(
            cursor,
            "bench_g_dept",
            "region_id text, kind text, department_id bigint, PRIMARY KEY (region_id, kind)",
            [(region, kind, pk) for (region, kind), pk in departments_by_kind.items()],
        )
        _create(
            cursor,
            "bench_g_file",
            "f int PRIMARY KEY, path text, sha256 text, size int",
            [(number, *row) for number, row in enumerate(files)],
        )
        cursor.execute("SELECT max(s) + 1 FROM bench_g_slot")
        slots = cursor.fetchone()[0]
        cursor.execute("DROP TABLE IF EXISTS bench_g_meta")
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_g_meta AS SELECT %s::int AS slots, %s::int AS applicants",
            [slots, len(applicants)],
        )
        cursor.execute("ANALYZE bench_g_meta")


def static_tables_drop() -> None:
    with connection.cursor() as cursor:
        for table in (*STATIC_TABLES, "bench_g_meta"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


# What a statement of the load is called in ``StatementTimes``: the table it writes or creates.
_STATEMENT_TARGET = re.compile(
    r"\b(INSERT INTO|CREATE TEMP TABLE|CREATE INDEX ON|UPDATE|ANALYZE|DROP TABLE IF EXISTS)\s+(\w+)"
)


class StatementTimes:
    """Seconds spent in the statements of a case load, summed over its sessions and named by the
    table each writes (``bench_data --statement-times``): where a generation's time goes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            found = _STATEMENT_TARGET.search(sql)
            name = f"{found.group(1)} {found.group(2)}" if found else " ".join(sql.split()[:4])
            with self._lock:
                self.seconds[name] += time.monotonic() - started
                self.counts[name] += 1

    def report(self) -> list[dict[str, Any]]:
        """The statements by time spent, longest first, each with its share of the whole."""
        whole = sum(self.seconds.values()) or 1.0
        return [
            {
                "statement": name,
                "seconds": round(seconds, 1),
                "share": round(seconds / whole, 3),
                "count": self.counts[name],
            }
            for name, seconds in sorted(self.seconds.items(), key=lambda item: -item[1])
        ]


def session_prepare(timer: StatementTimes | None = None) -> None:
    """For a session that only loads (before it touches a temporary table); ``timer`` then times
    each of its statements."""
    if timer is not None:
        connection.execute_wrappers.append(timer)
    with connection.cursor() as cursor:
        cursor.execute("SET temp_buffers = '256MB'")
        cursor.execute("SET work_mem = '256MB'")
        # Compiling each statement (its estimated cost is high) takes longer than running it.
        cursor.execute("SET jit = off")


def on_own_connection(work: Callable[[], None]) -> None:
    """``work()`` in a thread of a pool, on a connection closed after it."""
    try:
        work()
    finally:
        connection.close()


@functools.lru_cache(maxsize=4)
def _zone_offsets(name: str, around: date) -> frozenset[timedelta | None]:
    zone = ZoneInfo(name)
    first = datetime.combine(around - timedelta(days=ZONE_YEARS_BACK * 366), datetime.min.time(), tzinfo=UTC)
    return frozenset(
        (first + timedelta(hours=12 * n)).astimezone(zone).utcoffset()
        for n in range(2 * 366 * (ZONE_YEARS_BACK + ZONE_YEARS_AHEAD))
    )


def zone_for_sql(name: str, now: datetime) -> str | timedelta:
    """What the draw's ``AT TIME ZONE`` takes: the zone's offset when it kept one offset over
    every day a load can touch (three years of history, deadlines after them), else its name.
    By a name PostgreSQL looks the zone up for every value converted, a twentieth of a load's
    time; by an offset it adds it. The dates are the same either way."""
    offsets = _zone_offsets(name, now.date())
    if len(offsets) == 1 and (offset := next(iter(offsets))) is not None:
        return offset
    return name


def _r(key: str, seed: int, k: int) -> str:
    """SQL for a number in [0, 1) drawn from ``key`` (an integer expression) and the seed."""
    return f"((hashint8extended({key}, {seed * 1000 + k}) & 281474976710655)::float8 / 281474976710656.0)"


def chunk_generate(
    *,
    first: int,
    count: int,
    seed: int,
    now: datetime,
    officer_id: int,
    officer_names: Sequence[str],
    legal_remedy: str,
    load_first: int | None = None,
    load_count: int | None = None,
    write: Any = None,
) -> None:
    """Draw and write cases ``first`` … ``first + count - 1`` with everything they imply, and
    set their figures aside (``figures_fold``). The load's cases (``load_count`` from
    ``load_first``; the chunk alone by default) are submitted in the order of their ids, as a
    live platform numbers them, over the last three years. The draw and the reservation of the
    case numbers (an upsert per region and day that returns its block) run in the caller's
    transaction, or each on its own when it has none; the rows are written inside ``write`` (a
    context manager: the caller's chunk transaction), so the numbers' rows are never held locked
    while a chunk is written and two sessions load side by side."""
    write = write or nullcontext
    tz = zone_for_sql(settings.TIME_ZONE, now)
    last = first + count - 1
    s = int(seed)
    params: dict[str, Any] = {
        "first": first,
        "last": last,
        "now": now,
        "tz": tz,
        "officer": officer_id,
        "names": list(officer_names),
        "remedy": legal_remedy,
        "load_first": first if load_first is None else load_first,
        "load_count": count if load_count is None else load_count,
    }

    def r(k: int, key: str = "g.id") -> str:
        return _r(key, s, k)

    def v(k: int) -> str:  # per visit
        return _r("(c.id * 32 + p.pos * 2 + x.corr::int)", s, 100 + k)

    with connection.cursor() as cursor:
        for table in SCRATCH_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        # 1. The case: item (by weight), applicant (frequent ones more often), submission time
        # (in id order, recent days busier; on a working day, or 12 % on a rest day; 8:30–20:00
        # peaking at 10:00), and the fates drawn up front.
        cursor.execute(
            f"""
            CREATE TEMP TABLE g_case AS
            WITH b AS (
                SELECT g.id, sl.p, ap.user_id, ap.person_id, ap.name AS applicant_name,
                       ((%(now)s::timestamptz - (0.05 + 1094.95 * power(
                           1 - (g.id - %(load_first)s + 0.5) / %(load_count)s::float8, 1.4)) * interval '1 day')
                         AT TIME ZONE %(tz)s)::date AS day0,
                       {r(4)} AS r_rest, {r(5)} AS r_minute, {r(6)} AS r_deny, {r(7)} AS r_withdraw,
                       {r(8)} AS r_withdraw_at, {r(9)} AS r_correct, {r(10)} AS r_refuse,
                       {r(11)} AS r_created, {r(12)} AS r_deliver
                FROM generate_series(%(first)s::bigint, %(last)s::bigint) g(id)
                JOIN bench_g_meta m ON true
                JOIN bench_g_slot sl ON sl.s = floor({r(1)} * m.slots)::int
                JOIN bench_g_applicant ap ON ap.a = floor(m.applicants * power({r(2)}, 1.3))::int
            ), d AS (
                SELECT b.*, CASE WHEN dd.working OR b.r_rest < 0.12 THEN b.day0 ELSE wd.day END AS day,
                       CASE WHEN b.r_minute < 90.0 / 690 THEN 510 + sqrt(b.r_minute * 690 * 90)
                            ELSE 1200 - sqrt((1 - b.r_minute) * 690 * 600) END AS minute
                FROM b JOIN bench_g_day dd ON dd.day = b.day0 LEFT JOIN bench_g_workday wd ON wd.ord = dd.ord
            )
            SELECT d.id, pl.implementation_id, pl.region_id, pl.department_id, pl.t, pl.item_name,
                   d.user_id, d.person_id, d.applicant_name, d.r_deliver,
                   sub.submitted, (sub.submitted AT TIME ZONE %(tz)s)::date AS received,
                   wc.day AS correction_due_on,
                   sub.submitted - (3 + floor(d.r_created * 118)) * interval '1 minute' AS created_at,
                   tp.may_deny AND d.r_deny >= {1 - DENY_SHARE} AS deny,
                   CASE WHEN d.r_withdraw < {WITHDRAW_SHARE}
                        THEN floor(d.r_withdraw_at * tp.path_length)::int END AS w_pos,
                   CASE WHEN d.r_correct < {CORRECTION_SHARE} THEN tp.first_pos
                        WHEN d.r_correct < {CORRECTION_SHARE * (2 - CORRECTION_SHARE)} THEN tp.second_pos
                   END AS c_pos,
                   CASE WHEN d.r_refuse < {REFUSAL_SHARE} THEN tp.first_pos
                        WHEN d.r_refuse < {REFUSAL_SHARE * (2 - REFUSAL_SHARE)} THEN tp.second_pos
                   END AS f_pos
            FROM d
            JOIN bench_g_place pl ON pl.p = d.p
            JOIN bench_g_template tp ON tp.t = pl.t
            CROSS JOIN LATERAL (
                SELECT CASE WHEN c.local < %(now)s::timestamptz THEN c.local
                            ELSE %(now)s::timestamptz - (0.05 + 0.2 * d.r_rest) * interval '1 day' END AS submitted
                FROM (SELECT ((d.day + d.minute * interval '1 minute') AT TIME ZONE %(tz)s) AS local) c
            ) sub
            -- 一次性告知 is due within 5 working days of receipt (art. 32); a later notice is late
            LEFT JOIN bench_g_day rd ON rd.day = (sub.submitted AT TIME ZONE %(tz)s)::date
            LEFT JOIN bench_g_workday wc ON wc.ord = rd.ord + 5
            """,
            params,
        )
        # 2. The visits of each case: one per step of its path, and a correction visit before
        # the step where a notice is sent; each lasts its step's limit at most (3 % are late),
        # and the next starts 1–240 minutes later (2–288 hours after a notice: the answer).
        # 3. Where each story ends: the first visit that is a step open now, a withdrawal, an
        # unanswered notice or a refusal (``term`` on it); the visits after it never happened.
        # One statement, each window reading the rows in the order the one before it sorted them.
        cursor.execute(
            f"""
            CREATE TEMP TABLE g_kept AS
            SELECT z.case_id, z.t, z.pos, z.seq, z.corr, z.kind, z.step_key, z.days, z.gap, z.r_officer,
                   z.opened, z.closes, CASE WHEN z.seq = z.end_seq THEN z.ends END AS term,
                   z.region_id, z.department_id, z.deny, z.user_id, z.masked,
                   coalesce((z.closes AT TIME ZONE %(tz)s)::date > z.correction_due_on, false) AS notice_late
            FROM (
                SELECT u.*, min(u.seq) FILTER (WHERE u.ends IS NOT NULL) OVER (PARTITION BY u.case_id) AS end_seq
                FROM (
                    SELECT v.*, CASE
                        WHEN v.closes > %(now)s THEN 'open'
                        WHEN NOT v.corr AND v.pos = v.w_pos THEN 'withdrawn'
                        WHEN v.corr AND v.closes + v.gap * interval '1 hour' > %(now)s THEN 'correction'
                        WHEN NOT v.corr AND v.pos = v.f_pos THEN 'refused' END AS ends
                    FROM (
                        SELECT y.*,
                               y.submitted + (sum(y.dur + y.gap) OVER w - y.dur - y.gap) * interval '1 hour'
                                   AS opened,
                               y.submitted + (sum(y.dur + y.gap) OVER w - y.gap) * interval '1 hour' AS closes
                        FROM (
                            SELECT c.id AS case_id, c.t, c.submitted, c.w_pos, c.f_pos, p.pos,
                                   p.pos * 2 + 1 - x.corr::int AS seq, x.corr, p.kind, p.step_key, p.days,
                                   CASE WHEN {v(1)} < {LATE_SHARE}
                                        THEN greatest(1, p.days) * 33.6 * (1.1 + 1.4 * {v(2)})
                                        ELSE greatest(0.3, greatest(1, p.days) * 33.6 * (0.02 + 0.83 * {v(2)}))
                                   END AS dur,
                                   CASE WHEN x.corr THEN 2 + 286 * {v(3)} ELSE (1 + 239 * {v(3)}) / 60 END AS gap,
                                   {v(4)} AS r_officer,
                                   c.region_id, c.department_id, c.deny, c.user_id,
                                   left(c.applicant_name, 1) || '**' AS masked, c.correction_due_on
                            FROM g_case c
                            JOIN bench_g_path p ON p.t = c.t AND p.deny = c.deny
                            JOIN (VALUES (false), (true)) x(corr) ON NOT x.corr OR p.pos = c.c_pos
                        ) y
                        -- a case's visits have distinct seq: no peers for the frame to look for
                        WINDOW w AS (PARTITION BY y.case_id ORDER BY y.seq ROWS UNBOUNDED PRECEDING)
                    ) v
                ) u
            ) z
            WHERE z.end_seq IS NULL OR z.seq <= z.end_seq
            """,
            params,
        )
        # 4. The case rows.
        cursor.execute(
            """
            CREATE TEMP TABLE g_caserow AS
            WITH a AS (
                SELECT k.case_id,
                       max(k.closes) FILTER (WHERE k.kind = 'accept' AND NOT k.corr AND k.term IS NULL) AS accepted_at,
                       max(k.closes) FILTER (WHERE k.kind = 'decide' AND NOT k.corr AND k.term IS NULL) AS decided_at,
                       max(k.closes) FILTER (WHERE k.kind = 'issue_result' AND NOT k.corr AND k.term IS NULL)
                           AS issued_at,
                       bool_or(k.kind = 'deliver' AND NOT k.corr AND k.term IS NULL) AS delivered,
                       bool_or(k.corr AND k.notice_late) AS deemed,
                       max(k.closes + k.gap * interval '1 hour') FILTER (WHERE k.term IS NULL) AS moment,
                       max(k.closes) FILTER (WHERE k.term IS DISTINCT FROM 'open') AS last_closed,
                       max(k.term) AS term, max(k.kind) FILTER (WHERE k.term IS NOT NULL) AS end_kind,
                       max(k.step_key) FILTER (WHERE k.term IS NOT NULL) AS end_step,
                       max(k.closes) FILTER (WHERE k.term IS NOT NULL) AS end_closes
                FROM g_kept k
                GROUP BY k.case_id
            )
            SELECT c.*, a.accepted_at, coalesce(a.deemed, false) AS deemed, a.issued_at, a.delivered,
                   a.term, a.end_kind, a.end_step, a.end_closes,
                   CASE WHEN a.term IS NULL THEN least(coalesce(a.moment, c.submitted), %(now)s::timestamptz) END
                       AS completed_auto,
                   CASE WHEN tp.immediate THEN a.accepted_at ELSE a.decided_at END AS decided_at,
                   greatest(c.submitted, a.last_closed) AS updated_at,
                   (a.accepted_at AT TIME ZONE %(tz)s)::date AS clock_start_on,
                   tp.case_type, tp.definition_id, tp.data_json, tp.stat_days, tp.stat_unit, tp.prom_days, tp.prom_unit,
                   tp.immediate
            FROM g_case c
            LEFT JOIN a ON a.case_id = c.id  -- a process without steps: no visits, completed at once
            JOIN bench_g_template tp ON tp.t = c.t
            """,
            params,
        )
        # 5. Case numbers: each (region, day) reserves its block in one upsert (in a fixed order,
        # so that two loading sessions never wait on each other in a cycle).
        cursor.execute(
            "CREATE TEMP TABLE g_seq AS SELECT region_id, received AS day, count(*)::int AS n, 0 AS base "
            "FROM g_case GROUP BY 1, 2"
        )
        cursor.execute(
            """
            WITH up AS (
                INSERT INTO cases_casenumbersequence (region_code, day, last)
                SELECT region_id, day, n FROM g_seq ORDER BY region_id, day
                ON CONFLICT (region_code, day) DO UPDATE SET last = cases_casenumbersequence.last + excluded.last
                RETURNING region_code, day, last
            )
            UPDATE g_seq s SET base = up.last - s.n FROM up WHERE up.region_code = s.region_id AND up.day = s.day
            """
        )
    with write(), connection.cursor() as cursor:
        _chunk_write(cursor, params, s)


def _chunk_write(cursor: Any, params: dict[str, Any], s: int) -> None:
    """The rows of the drawn chunk, its figures; then the scratch tables go."""
    # The written rows' figures are read back from what the insert returns.
    cursor.execute(
        "CREATE TEMP TABLE g_final (id bigint, department_id bigint, region_id text, implementation_id bigint, "
        "created_at timestamptz, state text, decision text, accepted_at timestamptz, completed_at timestamptz, "
        "promised_due_on date, delivery_method text)"
    )
    cursor.execute(
        f"""
        WITH written AS (
        INSERT INTO cases_case (
            id, number, implementation_version, item_name, case_type, definition_id, applicant_name, channel,
            data, prefilled, prefill_hash, submit_key, state, stage, decision, decision_reasons, refusal_reasons,
            legal_remedy, delivery_method, result_reference, created_at, updated_at, submitted_at, received_on,
            correction_due_on, deemed_accepted, accepted_at, clock_start_on, statutory_limit_days,
            statutory_limit_unit, promised_limit_days, promised_limit_unit, statutory_due_on, promised_due_on,
            paused_since, extension_days, decided_at, completed_at, withdrawn_at, applicant_id, company_id,
            department_id, implementation_id, person_id, region_id)
        SELECT r.id,
               left(r.region_id, 6) || to_char(r.received, 'YYYYMMDD')
                   || lpad((s.base + row_number() OVER (PARTITION BY r.region_id, r.received ORDER BY r.id))::text,
                           6, '0'),
               1, r.item_name, r.case_type, r.definition_id, r.applicant_name, 'online', r.data_json,
               '{{"values": {{}}, "sources": {{}}, "locked": []}}', '', '',
               CASE r.term WHEN 'open' THEN CASE r.end_kind WHEN 'review' THEN 'accepted' WHEN 'parallel'
                                THEN 'accepted' WHEN 'decide' THEN 'accepted' WHEN 'issue_result' THEN 'decided'
                                WHEN 'deliver' THEN 'decided' ELSE 'submitted' END
                           WHEN 'correction' THEN 'correction' WHEN 'withdrawn' THEN 'withdrawn'
                           WHEN 'refused' THEN 'refused' ELSE 'completed' END,
               CASE r.term WHEN 'open' THEN r.end_step WHEN 'correction' THEN 'correction' ELSE '' END,
               CASE WHEN r.decided_at IS NULL THEN '' WHEN r.deny THEN 'deny' ELSE 'approve' END,
               CASE WHEN r.deny AND r.decided_at IS NOT NULL THEN '不符合法定条件，不予许可' ELSE '' END,
               CASE WHEN r.term = 'refused' THEN '申请事项不属于本机关职权范围' ELSE '' END,
               CASE WHEN r.term = 'refused' OR (r.deny AND r.decided_at IS NOT NULL) THEN %(remedy)s ELSE '' END,
               CASE WHEN r.delivered
                    THEN (ARRAY['electronic', 'electronic', 'hall', 'express'])[1 + floor(r.r_deliver * 4)::int]
                    ELSE '' END,
               CASE WHEN r.issued_at IS NULL THEN ''
                    ELSE r.region_id || to_char(r.issued_at AT TIME ZONE %(tz)s, 'YYYYMMDD')
                         || lpad((r.id %% 100000)::text, 5, '0') END,
               r.created_at, r.updated_at, r.submitted, r.received, r.correction_due_on, r.deemed, r.accepted_at,
               r.clock_start_on, r.stat_days, r.stat_unit, r.prom_days, r.prom_unit,
               {_limit_due("r.clock_start_on", "r.stat_days", "r.stat_unit", "s")},
               {_limit_due("r.clock_start_on", "r.prom_days", "r.prom_unit", "p")}, NULL, 0,
               r.decided_at,
               CASE WHEN r.term = 'refused' THEN r.end_closes ELSE r.completed_auto END,
               CASE WHEN r.term = 'withdrawn' THEN r.end_closes END,
               r.user_id, NULL, r.department_id, r.implementation_id, r.person_id, r.region_id
        FROM g_caserow r
        JOIN g_seq s ON s.region_id = r.region_id AND s.day = r.received
        {_limit_due_joins("r.clock_start_on", "r.stat_days", "s")}
        {_limit_due_joins("r.clock_start_on", "r.prom_days", "p")}
        RETURNING id, department_id, region_id, implementation_id, created_at, state, decision, accepted_at,
                  completed_at, promised_due_on, delivery_method
        )
        INSERT INTO g_final SELECT * FROM written
        """,
        params,
    )
    # 6. Tasks: one per part of each step visited (a parallel step has one per branch, each
    # at its kind of department in the region), open where the story stops at a step.
    cursor.execute(
        f"""
        INSERT INTO cases_casetask (
            step_key, branch_key, kind, name, role, lead, state, opened_at, due_on, closed_at, outcome,
            opinion, assignee_id, case_id, closed_by_id, department_id)
        SELECT k.step_key, pt.branch_key, k.kind, pt.name, pt.role, pt.lead,
               CASE WHEN k.term = 'open' THEN 'open' WHEN k.term = 'withdrawn' THEN 'cancelled' ELSE 'done' END,
               k.opened, CASE WHEN k.days = 0 THEN od.day ELSE wd.day END,
               CASE WHEN k.term = 'open' THEN NULL ELSE k.closes END,
               CASE WHEN k.term IN ('open', 'withdrawn') THEN '' WHEN k.corr THEN 'correct'
                    WHEN k.term = 'refused' THEN 'refuse'
                    WHEN k.kind = 'decide' THEN CASE WHEN k.deny THEN 'deny' ELSE 'approve' END
                    ELSE {_sql_map("k.kind", OUTCOMES, "done")} END,
               CASE WHEN k.term IN ('open', 'withdrawn') THEN '' WHEN k.corr THEN '请补正材料'
                    WHEN k.term = 'refused' THEN '不符合受理条件'
                    WHEN k.kind = 'decide' AND k.deny THEN '不符合法定条件，不予许可'
                    ELSE {_sql_map("k.kind", OPINIONS, "")} END,
               CASE WHEN k.term IN ('open', 'withdrawn') THEN NULL ELSE %(officer)s::bigint END,
               k.case_id,
               CASE WHEN k.term IN ('open', 'withdrawn') THEN NULL ELSE %(officer)s::bigint END,
               coalesce(dk.department_id, k.department_id)
        FROM g_kept k
        JOIN bench_g_part pt ON pt.t = k.t AND pt.step_key = k.step_key AND (NOT k.corr OR pt.part = 0)
        LEFT JOIN bench_g_dept dk ON dk.region_id = k.region_id AND dk.kind = pt.department_kind
        LEFT JOIN bench_g_day od ON od.day = (k.opened AT TIME ZONE %(tz)s)::date
        LEFT JOIN bench_g_workday wd ON wd.ord = od.ord + k.days
        WHERE k.term IS DISTINCT FROM 'correction' OR k.corr
        """,
        params,
    )
    # 7. The timeline; the events the figures count are kept for them.
    cursor.execute("CREATE TEMP TABLE g_event (at timestamptz, action text, case_id bigint)")
    cursor.execute(
        f"""
        WITH written AS (
        INSERT INTO cases_caseevent (at, action, step_key, step_name, actor_name, acting_for, opinion, data,
                                     public, actor_id, case_id, department_id)
        SELECT at, action, step_key, step_name, actor_name, '', opinion, data, true, actor_id, case_id,
               department_id
        FROM (
        SELECT c.submitted AS at, 'submit' AS action, '' AS step_key, '' AS step_name,
               left(c.applicant_name, 1) || '**' AS actor_name, '' AS opinion, '{{}}'::jsonb AS data,
               c.user_id AS actor_id, c.id AS case_id, NULL::bigint AS department_id
        FROM g_case c
        UNION ALL
        SELECT k.closes,
               CASE WHEN k.corr THEN 'correction_notify' WHEN k.term = 'withdrawn' THEN 'withdraw'
                    WHEN k.term = 'refused' THEN 'refuse' ELSE {_sql_map("k.kind", EVENTS)} END,
               CASE WHEN k.term = 'withdrawn' THEN '' ELSE k.step_key END,
               CASE WHEN k.term = 'withdrawn' THEN '' ELSE pt.name END,
               CASE WHEN k.term = 'withdrawn' THEN k.masked
                    ELSE (%(names)s::text[])[1 + floor(k.r_officer * cardinality(%(names)s::text[]))::int] END,
               CASE WHEN k.corr THEN '请补正材料' WHEN k.term = 'withdrawn' THEN '不再办理'
                    WHEN k.term = 'refused' THEN '不符合受理条件'
                    WHEN k.kind = 'decide' AND k.deny THEN '不符合法定条件，不予许可'
                    ELSE {_sql_map("k.kind", OPINIONS, "")} END,
               CASE WHEN k.corr THEN jsonb_build_object('late', k.notice_late)
                    WHEN k.kind = 'decide' AND k.term IS NULL
                    THEN jsonb_build_object('decision', CASE WHEN k.deny THEN 'deny' ELSE 'approve' END)
                    ELSE '{{}}'::jsonb END,
               CASE WHEN k.term = 'withdrawn' THEN k.user_id ELSE %(officer)s::bigint END,
               k.case_id,
               CASE WHEN k.term = 'withdrawn' THEN NULL ELSE coalesce(dk.department_id, k.department_id) END
        FROM g_kept k
        JOIN bench_g_part pt ON pt.t = k.t AND pt.step_key = k.step_key
             AND (pt.part = 0 OR (NOT k.corr AND k.term IS NULL))
        LEFT JOIN bench_g_dept dk ON dk.region_id = k.region_id AND dk.kind = pt.department_kind
        WHERE k.term IS DISTINCT FROM 'open' AND (k.corr OR k.term IS DISTINCT FROM 'correction')
        UNION ALL
        SELECT k.closes + k.gap * interval '1 hour', 'correction_answer', '', '', k.masked,
               '已补正', '{{}}'::jsonb, k.user_id, k.case_id, NULL
        FROM g_kept k WHERE k.corr AND k.term IS NULL
        ) e
        RETURNING at, action, case_id
        )
        INSERT INTO g_event SELECT at, action, case_id FROM written WHERE action IN {COUNTED_ACTIONS}
        """,
        params,
    )
    # 8. The notices (一次性告知) and the materials.
    cursor.execute(
        """
        INSERT INTO cases_correctionnotice (step_key, items, note, issued_at, late, answered_at, answer_note,
                                            case_id, issued_by_id)
        SELECT k.step_key,
               jsonb_build_array(jsonb_build_object('subject', tp.first_material,
                                                    'problem', '材料不清晰，请重新上传清晰的扫描件')),
               '请一次性补正以下内容', k.closes, k.notice_late,
               CASE WHEN k.term IS NULL THEN k.closes + k.gap * interval '1 hour' END,
               CASE WHEN k.term IS NULL THEN '已补正' ELSE '' END, k.case_id, %(officer)s::bigint
        FROM g_kept k
        JOIN bench_g_template tp ON tp.t = k.t
        WHERE k.corr AND k.term IS DISTINCT FROM 'open'
        """,
        params,
    )
    cursor.execute(
        f"""
        INSERT INTO cases_casematerial (material_name, file, sha256, size, content_type, extension, original_name,
                                        trust, uploaded_at, superseded_at, checked_at, case_id, checked_by_id,
                                        reused_from_id, uploaded_by_id)
        SELECT m.name, f.path, f.sha256, f.size, 'application/pdf', '.pdf', left(m.name, 40) || '.pdf', 'C',
               c.submitted - (2 + floor({_r("(c.id * 8 + m.no)", s, 200)} * 89)) * interval '1 minute',
               NULL, NULL, c.id, NULL, NULL, c.user_id
        FROM g_case c
        JOIN bench_g_material m ON m.t = c.t
        JOIN bench_g_file f ON f.f = floor({_r("(c.id * 8 + m.no)", s, 201)}
                                          * (SELECT count(*) FROM bench_g_file))::int
        """,
        params,
    )
    _figures_stage(cursor, params)
    for table in SCRATCH_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


OUTCOMES = {
    "prereview": "pass",
    "accept": "accept",
    "review": "agree",
    "parallel": "agree",
    "issue_result": "issue",
    "deliver": "deliver",
}
OPINIONS = {
    "prereview": "材料齐全，预审通过",
    "accept": "符合受理条件，予以受理",
    "review": "经审查，符合法定条件",
    "parallel": "经审查，同意",
    "decide": "准予许可",
}
EVENTS = {
    "prereview": "prereview_pass",
    "accept": "accept",
    "review": "review",
    "parallel": "review",
    "decide": "decide",
    "issue_result": "result_issue",
    "deliver": "deliver",
}


def _limit_due(start: str, days: str, unit: str, alias: str) -> str:
    """SQL for ``calendar.limit_due``: ``days`` = 0 gives the start; working days count from the
    next working day; calendar days end on the first working day from the last one (Civil Code
    art. 203). Needs ``_limit_due_joins`` with the same alias."""
    return (
        f"CASE WHEN {start} IS NULL THEN NULL WHEN {days} = 0 THEN {start} "
        f"WHEN {unit} = 'calendar' THEN CASE WHEN {alias}c.working THEN {alias}c.day ELSE {alias}n.day END "
        f"ELSE {alias}w.day END"
    )


def _limit_due_joins(start: str, days: str, alias: str) -> str:
    return (
        f"LEFT JOIN bench_g_day {alias}d ON {alias}d.day = {start} "
        f"LEFT JOIN bench_g_workday {alias}w ON {alias}w.ord = {alias}d.ord + {days} "
        f"LEFT JOIN bench_g_day {alias}c ON {alias}c.day = {start} + {days} "
        f"LEFT JOIN bench_g_workday {alias}n ON {alias}n.ord = {alias}c.ord + 1"
    )


def _sql_map(expression: str, mapping: dict[str, str], default: str | None = None) -> str:
    """A CASE expression for a fixed mapping of literals (keys and values are this module's);
    without ``default`` what is not mapped stays itself."""
    whens = " ".join(f"WHEN '{key}' THEN '{value}'" for key, value in mapping.items())
    otherwise = expression if default is None else f"'{default}'"
    return f"(CASE {expression} {whens} ELSE {otherwise} END)"


def _figures_stage(cursor: Any, params: dict[str, Any]) -> None:
    """Set aside the chunk's figures: what ``FiguresTally.case_add`` counts for each case (begun,
    each counted action of its timeline, its completion), summed in SQL per day and department
    and per month and implementation; ``figures_fold`` adds them to the counter tables."""
    zero = {name: "0" for name in COUNTERS}

    def select(day: str, values: dict[str, str], source: str) -> str:
        columns = ", ".join(values.get(name, zero[name]) + f" AS {name}" for name in COUNTERS)
        return f"SELECT {day} AS day, r.department_id, r.region_id, r.implementation_id, {columns} {source}"

    started = select("(r.created_at AT TIME ZONE %(tz)s)::date", {"started": "1"}, "FROM g_final r")
    actions = select(
        "(e.at AT TIME ZONE %(tz)s)::date",
        {
            "received": "(e.action = 'submit')::int",
            "received_online": "(e.action = 'submit')::int",
            "accepted": "(e.action = 'accept')::int",
            "refused": "(e.action = 'refuse')::int",
            "corrections": "(e.action = 'correction_notify')::int",
            "withdrawn": "(e.action = 'withdraw')::int",
            "approved": "(e.action = 'decide' AND r.decision = 'approve')::int",
            "denied": "(e.action = 'decide' AND r.decision = 'deny')::int",
        },
        "FROM g_event e JOIN g_final r ON r.id = e.case_id",
    )
    completions = select(
        "r.completed_on",
        {
            "completed": "1",
            "completed_late": "(r.promised_due_on IS NOT NULL AND r.completed_on > r.promised_due_on)::int",
            "completed_on_time": "(r.promised_due_on IS NULL OR r.completed_on <= r.promised_due_on)::int",
            "zero_visit": "(r.delivery_method IN ('', 'electronic', 'express'))::int",
            "handling_days": "CASE WHEN r.accepted_at IS NULL THEN 0 ELSE greatest(0, de.ord - ds.ord) END",
        },
        "FROM (SELECT *, (completed_at AT TIME ZONE %(tz)s)::date AS completed_on FROM g_final "
        "WHERE state = 'completed') r "
        "JOIN bench_g_day de ON de.day = r.completed_on "
        "LEFT JOIN bench_g_day ds ON ds.day = (r.accepted_at AT TIME ZONE %(tz)s)::date",
    )
    # Both grains from the same rows: cases are drawn in time order, so a chunk's rows fall on a few
    # weeks and each sum folds many of them.
    day_sums = ", ".join(f"sum({name})::int" for name in COUNTERS)
    month_sums = ", ".join(f"sum({name})::int" for name in ITEM_COUNTERS)
    cursor.execute(
        f"""
        WITH x AS MATERIALIZED ({started} UNION ALL {actions} UNION ALL {completions}),
        d AS (
            INSERT INTO {FIGURES_DAYS} SELECT day, department_id, min(region_id), {day_sums}
            FROM x GROUP BY day, department_id
        )
        INSERT INTO {FIGURES_MONTHS}
        SELECT date_trunc('month', day)::date, implementation_id, min(department_id), min(region_id), {month_sums}
        FROM x GROUP BY 1, implementation_id
        """,
        params,
    )


def figures_stage_ensure() -> None:
    with connection.cursor() as cursor:
        for table, key, names in (
            (FIGURES_DAYS, "day date NOT NULL", COUNTERS),
            (FIGURES_MONTHS, "month date NOT NULL, implementation_id bigint NOT NULL", ITEM_COUNTERS),
        ):
            columns = ", ".join(f"{name} int NOT NULL" for name in names)
            cursor.execute(
                f"CREATE UNLOGGED TABLE IF NOT EXISTS {table} ({key}, department_id bigint NOT NULL, "
                f"region_id text NOT NULL, {columns})"
            )


def _figures_stage_rows() -> int:
    """Rows set aside and not yet folded (an older load's single stage is moved to the two)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL", [FIGURES_DAYS, LEGACY_STAGE])
        present, legacy = cursor.fetchone()
        if legacy:
            figures_stage_ensure()
            counters, item_counters = ", ".join(COUNTERS), ", ".join(ITEM_COUNTERS)
            cursor.execute(
                f"INSERT INTO {FIGURES_DAYS} SELECT day, department_id, region_id, {counters} FROM {LEGACY_STAGE}"
            )
            cursor.execute(
                f"INSERT INTO {FIGURES_MONTHS} SELECT date_trunc('month', day)::date, implementation_id, "
                f"department_id, region_id, {item_counters} FROM {LEGACY_STAGE}"
            )
            cursor.execute(f"DROP TABLE {LEGACY_STAGE}")
        elif not present:
            return 0
        cursor.execute(f"SELECT (SELECT count(*) FROM {FIGURES_DAYS}) + (SELECT count(*) FROM {FIGURES_MONTHS})")
        return int(cursor.fetchone()[0])


def figures_fold(*, sessions: int = 1) -> int:
    """Add what the chunks set aside to the counter tables (also what an interrupted load left).
    Each stage is folded on its own: the day stage summed once per department and day and upserted
    into the department day and month tables, the month stage summed once per implementation and
    month and upserted into the implementation and entry month tables, each stage emptied in the
    transaction that adds it, so that an interruption never adds a stage twice. The two run on
    ``sessions`` connections at once when outside a transaction. Returns the staged rows folded."""
    rows = _figures_stage_rows()
    if not rows:
        return 0
    days, months = f"{FIGURES_DAYS}_sums", f"{FIGURES_MONTHS}_sums"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {days}, {months}")
    stages = ((FIGURES_DAYS, days), (FIGURES_MONTHS, months))
    folds = [functools.partial(_stage_fold, stage, sums) for stage, sums in stages]
    if sessions > 1 and not connection.in_atomic_block:
        with ThreadPoolExecutor(max_workers=sessions) as pool:
            for future in [pool.submit(on_own_connection, fold) for fold in folds]:
                future.result()
    else:
        for fold in folds:
            fold()
    return rows


def _stage_fold(stage: str, sums: str) -> None:
    """Sum one stage by its key, add the sums to its two counter tables in key order, and empty
    the stage in the same transaction."""
    codes = "left(min(g.region_id), 6), left(min(g.region_id), 4) || '00', left(min(g.region_id), 2) || '0000'"
    row_codes = codes.replace("min(g.region_id)", "g.region_id")  # the sums have one row per key
    counters, item_counters = ", ".join(COUNTERS), ", ".join(ITEM_COUNTERS)
    # (table, its key, the select of the sums, the counters added, the columns written)
    upserts: tuple[tuple[str, str, str, tuple[str, ...], str], ...]
    if stage == FIGURES_DAYS:
        summing = (
            f"CREATE UNLOGGED TABLE {sums} AS SELECT day, department_id, min(region_id) AS region_id, "
            + ", ".join(f"sum({name}) AS {name}" for name in COUNTERS)
            + f" FROM {stage} GROUP BY 1, 2"
        )
        department_sums = ", ".join(f"sum({name})" for name in COUNTERS)
        upserts = (
            (
                "metrics_departmentday",
                "day, department_id",
                f"SELECT day, department_id, {row_codes}, {counters} FROM {sums} g ORDER BY 1, 2",
                COUNTERS,
                f"day, department_id, region_code, city_code, province_code, {counters}",
            ),
            (
                "metrics_departmentmonth",
                "month, department_id",
                f"SELECT date_trunc('month', day)::date, department_id, {codes}, {department_sums} FROM {sums} g "
                "GROUP BY 1, 2 ORDER BY 1, 2",
                COUNTERS,
                f"month, department_id, region_code, city_code, province_code, {counters}",
            ),
        )
    else:
        summing = (
            f"CREATE UNLOGGED TABLE {sums} AS SELECT month, implementation_id, min(department_id) AS department_id, "
            "min(region_id) AS region_id, "
            + ", ".join(f"sum({name}) AS {name}" for name in ITEM_COUNTERS)
            + f" FROM {stage} GROUP BY 1, 2"
        )
        item_month_sums = ", ".join(f"sum({name})" for name in ITEM_COUNTERS)
        upserts = (
            (
                "metrics_itemmonth",
                "month, implementation_id",
                f"SELECT g.month, g.implementation_id, i.entry_id, g.department_id, {row_codes}, {item_counters} "
                f"FROM {sums} g JOIN catalog_implementation i ON i.id = g.implementation_id ORDER BY 1, 2",
                ITEM_COUNTERS,
                f"month, implementation_id, entry_id, department_id, region_code, city_code, province_code, "
                f"{item_counters}",
            ),
            (
                "metrics_entrymonth",
                "month, entry_id, city_code",
                f"SELECT g.month, i.entry_id, left(g.region_id, 4) || '00', left(min(g.region_id), 2) || '0000', "
                f"{item_month_sums} FROM {sums} g JOIN catalog_implementation i ON i.id = g.implementation_id "
                "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                ITEM_COUNTERS,
                f"month, entry_id, city_code, province_code, {item_counters}",
            ),
        )
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '1GB'")
        cursor.execute("SET jit = off")
        cursor.execute(summing)
    with transaction.atomic(), connection.cursor() as cursor:
        # The sums point at departments, items and implementations that exist (they were read
        # from them): no foreign-key trigger per written row, which the deferred constraints
        # would otherwise run at commit (about a minute at 10 million cases).
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table, key, select_sql, names, columns in upserts:
            updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in names)
            cursor.execute(f"INSERT INTO {table} ({columns}) {select_sql} ON CONFLICT ({key}) DO UPDATE SET {updates}")
        cursor.execute(f"TRUNCATE {stage}")
        cursor.execute(f"DROP TABLE {sums}")
        cursor.execute("SET LOCAL session_replication_role = origin")  # for a caller's transaction
