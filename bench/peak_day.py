"""The peak day: readers and writers at once, as a county's platform sees them on a deadline's
eve, where every other scenario loads one path alone.

Nine streams share the run's 32 connections (``MIX``): people reading guides and searching,
applicants following their cases on the portal, officers opening their to-do list and cases in
the workbench, and every writer the platform has (acceptances, decisions, filings with their
materials, bundles of four cases) in the same county, so that they take the same departments'
figures rows and the same audit chain. Each stream keeps its own scenario's checks, so a write
lost to a deadlock or a lock timeout is an error here. While they run, ``WaitSampler`` reads ten
times a second what PostgreSQL's busy sessions wait on, and for a lock, which statement the
session holding it last ran: whether the writers queue behind each other, and behind what.
"""

import asyncio
import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.flows import Timings
    from bench.runner import CpuMeter, Options, Row, Server, Spec

NAME = "peak_day"
# Stream -> connections (32 in all): the scenario whose requests and checks it takes, readers
# first. The guides and searches are the popular ones (the "_again" passes); the writers are
# those of the action, submission and bundle scenarios.
MIX: dict[str, int] = {
    "guide_again": 6,
    "search_specific_again": 2,
    "portal_my_cases": 4,
    "workbench_todo_page": 4,
    "workbench_case_page": 2,
    "accept": 3,
    "decide": 3,
    "submission": 4,
    "bundle": 4,
}
# Pools each item of which is used once: the peak day takes the last third of each when the
# scenario that consumes the pool runs too, all of it otherwise.
POOLS = {"accept": "accept", "decide": "decide", "bundle_applications": "bundle"}
SAMPLE_SECONDS = 0.1
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_SPACE = re.compile(r"\s+")


def pools_split(data: dict[str, Any], scenarios: tuple[str, ...]) -> dict[str, list[Any]]:
    """The peak day's share of the pools whose items are used once (tasks to accept and to
    decide, bundle applications ready to submit), taken off ``data``'s lists so that no item
    is used twice in a run."""
    taken: dict[str, list[Any]] = {}
    for key, scenario in POOLS.items():
        pool = data["ready"][key] if key in ("accept", "decide") else data.get(key) or []
        keep = len(pool) * 2 // 3 if scenario in scenarios else 0
        taken[key] = pool[keep:]
        del pool[keep:]
    return taken


def statement_shape(query: str | None, *, width: int = 90) -> str:
    """A statement without its values (literals and numbers), on one line, cut to ``width``:
    the same statement on other rows reads the same."""
    if not query:
        return ""
    shape = _SPACE.sub(" ", _NUMBER.sub("N", _LITERAL.sub("'…'", query))).strip()
    return shape if len(shape) <= width else shape[: width - 1] + "…"


class WaitSampler:
    """What PostgreSQL's busy sessions of one database wait on, read every ``interval`` seconds
    from ``pg_stat_activity`` on a connection of its own while the block runs: on average how
    many were active, how many waited on each event, and for a lock, the statement of the
    waiting session beside the last statement of the session holding it (``pg_blocking_pids``;
    a session idle in its transaction shows the statement it ran last)."""

    QUERY = """
        SELECT a.wait_event_type, a.wait_event, a.query,
               CASE WHEN a.wait_event_type = 'Lock' THEN
                   (SELECT b.query FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(a.pid))[1])
               END
        FROM pg_stat_activity a
        WHERE a.datname = %s AND a.state = 'active' AND a.pid <> pg_backend_pid()
          AND a.backend_type = 'client backend'
    """

    def __init__(self, database_url: str, *, interval: float = SAMPLE_SECONDS) -> None:
        self.database_url = database_url
        self.database = urllib.parse.urlparse(database_url).path.lstrip("/")
        self.interval = interval
        self.ticks = 0
        self.active = 0
        self.events: Counter[str] = Counter()
        self.blocked: Counter[tuple[str, str]] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error = ""

    def __enter__(self) -> "WaitSampler":
        import psycopg

        # Connected here, so that a database that cannot be reached fails the scenario at once.
        self._connection = psycopg.connect(self.database_url, autocommit=True)
        self._thread = threading.Thread(target=self._run, name="wait-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._connection.close()

    def _run(self) -> None:
        import psycopg

        try:
            while not self._stop.wait(self.interval):
                rows = self._connection.execute(self.QUERY, [self.database]).fetchall()
                self.ticks += 1
                self.active += len(rows)
                for event_type, event, query, holder in rows:
                    if not event_type:
                        continue  # on the CPU
                    self.events[f"{event_type}:{event}"] += 1
                    if event_type == "Lock":
                        self.blocked[(statement_shape(query), statement_shape(holder))] += 1
        except psycopg.Error as error:
            self._error = f"{type(error).__name__}: {str(error)[:200]}"

    def summary(self, *, top: int = 5) -> dict[str, Any]:
        """The readings as the results file keeps them: sessions on average per reading."""
        ticks = max(self.ticks, 1)
        return {
            "readings": self.ticks,
            "active_sessions": round(self.active / ticks, 2),
            "waiting_on": {event: round(count / ticks, 3) for event, count in self.events.most_common(top * 2)},
            "locks": [
                {"waiting": waiting, "holder_ran": holder, "sessions": round(count / ticks, 3)}
                for (waiting, holder), count in self.blocked.most_common(top)
            ],
            **({"error": self._error} if self._error else {}),
        }


def summary_line(waits: dict[str, Any]) -> str:
    """The waits in one line for the printed table's foot."""
    if not waits:
        return ""
    events = ", ".join(f"{event} {sessions:.2f}" for event, sessions in waits["waiting_on"].items()) or "none"
    line = (
        f"{NAME}: {waits['active_sessions']:.2f} PostgreSQL sessions active on average "
        f"({waits['readings']} readings); waiting, on average: {events}"
    )
    for lock in waits["locks"][:3]:
        line += (
            f"\n    {lock['sessions']:.2f} waiting in «{lock['waiting']}» on a session that ran «{lock['holder_ran']}»"
        )
    if waits.get("error"):
        line += f"\n    the sampler stopped: {waits['error']}"
    return line


FlowRun = Callable[[], Awaitable[tuple["Timings", float, int]]]


def mixed_run(
    options: "Options",
    specs: list["Spec"],
    flows: dict[str, FlowRun],
    *,
    meter: "CpuMeter | None" = None,
    server: "Server | None" = None,
) -> list["Row"]:
    """Every wrk ``spec`` and every asyncio flow at once for the run's duration: a summary row
    named ``NAME`` (every stream's answers; its percentiles are the slowest stream's, its CPU
    per answer of any kind; the waits), then a row for each stream."""
    from bench.runner import Row, WrkRun, _timing_row, settle, wrk_finish, wrk_start

    start = meter.start() if meter is not None else {}
    rows: list[Row] = []

    async def together() -> list[tuple["Timings", float, int]]:
        return list(await asyncio.gather(*(run() for run in flows.values())))

    with WaitSampler(options.database_url) as sampler:
        started: list[WrkRun] = []
        try:
            for spec in specs:
                started.append(wrk_start(options, spec))
            ran = asyncio.run(together()) if flows else []
        finally:
            # Every wrk started is waited for (it ends with its run), whatever failed.
            wrk_rows = [wrk_finish(run) for run in started]
    rows.extend(wrk_rows)
    for name, (timings, seconds, exhausted) in zip(flows, ran, strict=True):
        row = _timing_row(name, timings.flows, seconds, timings.errors)
        row.samples = timings.error_samples[:3]
        if exhausted:
            row.note = f"pool exhausted {exhausted} times"
        rows.append(row)
    total = Row(
        NAME,
        requests=sum(row.requests for row in rows),
        rps=round(sum(row.rps for row in rows), 1),
        p50_ms=max((row.p50_ms for row in rows), default=0.0),
        p95_ms=max((row.p95_ms for row in rows), default=0.0),
        p99_ms=max((row.p99_ms for row in rows), default=0.0),
        errors=sum(row.errors for row in rows),
        note=f"{len(rows)} streams at once; p50/p95/p99: the slowest stream's",
        samples=[f"{row.scenario}: {sample}" for row in rows for sample in row.samples][:3],
        waits=sampler.summary(),
    )
    if meter is not None and server is not None:
        settle(options, server)
        total.cpu_ms = meter.per_request(start, total.requests)
    return [total, *rows]


def peak_day_rows(
    options: "Options",
    data: dict[str, Any],
    *,
    meter: "CpuMeter | None" = None,
    server: "Server | None" = None,
) -> list["Row"]:
    """The peak day on the prepared data: ``MIX``'s streams, each with its own scenario's
    requests and checks, the pools' items from ``data[NAME]`` (``pools_split``)."""
    from bench.flows import bundles_run, submissions_run
    from bench.runner import HOST, Row, sessions_touched, specs

    pools = data.get(NAME) or {}
    own = {**data, "ready": {kind: pools.get(kind) or [] for kind in ("accept", "decide")}}
    by_name = {spec.name: spec for group in specs(options, own).values() for spec in group}
    streams = []
    for name, connections in MIX.items():
        if name in ("submission", "bundle"):
            continue
        spec = by_name.get(name)
        if spec is None or not spec.paths:
            return [Row(NAME, errors=1, note=f"no requests for the stream {name}: the preparation made none")]
        if spec.touch:
            sessions_touched(options, spec)
        streams.append(replace(spec, name=f"{NAME}.{name}", connections=connections, threads=1))
    target, applications = data.get("submission"), pools.get("bundle_applications") or []
    if not target or not applications:
        return [Row(NAME, errors=1, note="no submission target or no bundle application ready for the peak day")]
    pdf = Path(data["material_path"]).read_bytes()

    async def submissions() -> tuple["Timings", float, int]:
        timings, seconds = await submissions_run(
            host=HOST,
            port=options.port,
            target=target,
            tokens=data["applicant_tokens"],
            pdf=pdf,
            connections=MIX["submission"],
            duration=options.duration,
        )
        return timings, seconds, 0

    async def bundles() -> tuple["Timings", float, int]:
        return await bundles_run(
            host=HOST,
            port=options.port,
            applications=applications,
            connections=MIX["bundle"],
            duration=options.duration,
        )

    return mixed_run(
        options,
        streams,
        {f"{NAME}.submission": submissions, f"{NAME}.bundle": bundles},
        meter=meter,
        server=server,
    )
