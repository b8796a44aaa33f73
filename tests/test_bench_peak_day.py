"""The peak day's parts (bench/peak_day.py), small enough for `make test`: its share of the pools,
its streams taken from their own scenarios, the readers and writers run at once against a live
server, and what PostgreSQL's sessions wait on while they, or a writer's scenario, run
(bench/waits.py)."""

import shutil
import threading
import time
import urllib.parse

import psycopg
import pytest
from django.db import connection

from bench import peak_day, runner, waits
from bench.flows import submissions_run
from bench.prepare import _submission_target, _tokens
from govhall.cases.management.commands import bench_data
from govhall.cases.models import Case, CaseState
from tests.factories import XIHU, make_implementation, make_person

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the peak day reads PostgreSQL's pg_stat_activity"
)
wrk_needed = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")


def _database_url() -> str:
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def _prepared(**changes: object) -> dict:
    """What ``bench.prepare`` hands the runner, small: every key the scenarios' requests read."""
    data: dict = {
        "officer_token": "officer",
        "supervisor_token": "supervisor",
        "clerk_token": "clerk",
        "queries": {kind: [{"q": "登记", "hits": 45}] for kind in ("specific", "broad", "two_characters")},
        "counties": [XIHU],
        "regions": [XIHU],
        "guides": ["G1", "G2"],
        "case_numbers": ["N1", "N2"],
        "applicant_tokens": ["a0", "a1"],
        "applicant_sessions": ["sessionid=s0", "sessionid=s1"],
        "officer_sessions": ["sessionid=o0"],
        "own_cases": [(0, "N1"), (1, "N2")],
        "licences": [],
        "figures": {"tiles": ["/t"], "drilldown": ["/d"], "items": ["/i"]},
        "ready": {"accept": list(range(1, 10)), "decide": list(range(11, 20))},
        "bundle_applications": [f"/bundles/applications/B{n}/edit/\tsessionid=s{n}" for n in range(6)],
        "submission": {"implementation_code": "X"},
        "material_path": "",
    }
    data.update(changes)
    return data


def test_the_peak_day_takes_its_own_third_of_each_pool_when_the_pools_scenario_runs_too() -> None:
    data = _prepared()
    applications = list(data["bundle_applications"])

    taken = peak_day.pools_split(data, ("accept", "bundle", "peak_day"))

    assert (
        taken
        == {
            "accept": [7, 8, 9],
            "decide": list(range(11, 20)),  # the decide scenario does not run: all of it
            "bundle_applications": applications[4:],
        }
    )
    assert data["ready"]["accept"] == [1, 2, 3, 4, 5, 6]
    assert data["ready"]["decide"] == []
    assert data["bundle_applications"] == applications[:4]


def test_a_statements_shape_leaves_out_its_values() -> None:
    shape = waits.statement_shape(
        'UPDATE "metrics_departmentday"\n   SET "received" = ("received" + 1) WHERE "day" = \'2026-12-07\' AND id = 42',
        width=200,
    )

    assert shape == 'UPDATE "metrics_departmentday" SET "received" = ("received" + N) WHERE "day" = \'…\' AND id = N'
    assert waits.statement_shape(None) == ""
    assert len(waits.statement_shape("SELECT " + "a, " * 100, width=40)) == 40


def test_each_stream_takes_its_own_scenarios_requests_and_checks(monkeypatch, tmp_path) -> None:
    """The streams are the scenarios' own specs (their checks unchanged), with the peak day's
    connections and its share of the pools; the asyncio flows are the submission and bundle."""
    material = tmp_path / "material.pdf"
    material.write_bytes(b"%PDF-1.4")
    data = _prepared(material_path=str(material))
    data[peak_day.NAME] = peak_day.pools_split(data, runner.SCENARIOS)
    seen: dict = {}
    touched: list[str] = []
    monkeypatch.setattr(runner, "sessions_touched", lambda _options, spec: touched.append(spec.name))

    def mixed(_options, specs, flows, **_meters):
        seen.update(specs={spec.name: spec for spec in specs}, flows=list(flows))
        return []

    monkeypatch.setattr(peak_day, "mixed_run", mixed)

    peak_day.peak_day_rows(runner.Options(), data)

    streams, wanted = seen["specs"], runner.specs(runner.Options(), _prepared())
    by_name = {spec.name: spec for group in wanted.values() for spec in group}
    assert set(streams) == {f"peak_day.{name}" for name in peak_day.MIX} - {"peak_day.submission", "peak_day.bundle"}
    assert seen["flows"] == ["peak_day.submission", "peak_day.bundle"]
    assert sum(peak_day.MIX.values()) == runner.Options().connections
    for name, spec in streams.items():
        own = by_name[name.removeprefix("peak_day.")]
        assert (spec.expect_text, spec.status, spec.method, spec.once) == (
            own.expect_text,
            own.status,
            own.method,
            own.once,
        )
        assert spec.connections == peak_day.MIX[name.removeprefix("peak_day.")] and spec.threads == 1
    assert streams["peak_day.accept"].paths == [f"/api/v1/workbench/tasks/{task}/actions" for task in (7, 8, 9)]
    assert streams["peak_day.decide"].paths == [f"/api/v1/workbench/tasks/{task}/actions" for task in (17, 18, 19)]
    assert touched == ["workbench_todo_page", "workbench_case_page"]  # staff sessions woken first

    missing = _prepared(officer_sessions=[])
    missing[peak_day.NAME] = peak_day.pools_split(missing, runner.SCENARIOS)
    assert peak_day.peak_day_rows(runner.Options(), missing)[0].errors == 1


@postgresql_only
@pytest.mark.django_db  # the test database set up; the locks are taken on connections of their own
def test_the_sampler_names_the_statement_waiting_and_the_one_its_lock_holder_ran() -> None:
    url = _database_url()
    with psycopg.connect(url, autocommit=True) as holder, psycopg.connect(url, autocommit=True) as waiter:
        holder.execute("SELECT pg_advisory_lock(424242)")
        waiting = threading.Thread(target=lambda: waiter.execute("SELECT pg_advisory_lock(424242)"))
        with waits.WaitSampler(url, interval=0.05) as sampler:
            waiting.start()
            time.sleep(0.6)
            holder.execute("SELECT pg_advisory_unlock(424242)")
            waiting.join(timeout=10)
        summary = sampler.summary()

    assert summary["readings"] >= 5 and "error" not in summary
    assert summary["waiting_on"]["Lock:advisory"] > 0
    assert summary["locks"][0]["waiting"] == "SELECT pg_advisory_lock(N)"
    assert summary["locks"][0]["holder_ran"] == "SELECT pg_advisory_lock(N)"
    assert "Lock:advisory" in waits.summary_line("accept", summary)


@postgresql_only
@wrk_needed
@pytest.mark.django_db(transaction=True)
def test_readers_and_writers_run_at_once_each_with_its_row_and_the_waits(live_server) -> None:
    make_implementation(region_code=XIHU, kind="market")
    person = make_person(name="钱七", level=2)
    target = _submission_target(person=person)
    assert target is not None
    address = urllib.parse.urlparse(live_server.url)
    options = runner.Options(port=address.port, duration=1, database_url=_database_url())
    host = "127.0.0.1" if address.hostname == "localhost" else address.hostname
    pdf = bench_data.sample_pdf_bytes(size=20 * 1024, variant=1)
    tokens = _tokens([person.user])

    async def filings():
        timings, seconds = await submissions_run(
            host=host,
            port=address.port,
            target=target,
            tokens=tokens,
            pdf=pdf,
            connections=1,
            duration=1,
        )
        return timings, seconds, 0

    rows = peak_day.mixed_run(
        options,
        [runner.Spec("peak_day.health", ["/healthz"], '"database"', connections=1, threads=1)],
        {"peak_day.submission": filings},
    )

    total, health, submission = rows
    assert [row.scenario for row in rows] == ["peak_day", "peak_day.health", "peak_day.submission"]
    assert health.requests > 0 and submission.requests > 0
    assert health.errors == submission.errors == total.errors == 0
    assert total.requests == health.requests + submission.requests
    assert total.p95_ms == max(health.p95_ms, submission.p95_ms)
    assert total.waits["readings"] > 0 and "error" not in total.waits
    assert Case.objects.filter(applicant=person.user, state=CaseState.SUBMITTED).count() == submission.requests


@postgresql_only
@pytest.mark.django_db
def test_only_the_writers_scenarios_are_sampled() -> None:
    options = runner.Options(database_url="postgres://nobody@127.0.0.1:1/nothing")
    # A reader's scenario never connects: the address above would refuse it.
    assert runner.waits_sampled(options, "guide", lambda: 7) == (7, {})

    answer, sampled = runner.waits_sampled(
        runner.Options(database_url=_database_url()), "accept", lambda: time.sleep(0.3) or 8
    )

    assert answer == 8
    assert sampled["readings"] >= 1 and "error" not in sampled
    assert runner.WAITS_SAMPLED >= {"accept", "decide", "submission", "rating", "bundle"}
