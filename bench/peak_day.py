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
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.waits import WaitSampler

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
