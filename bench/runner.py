"""The benchmark run: data, server, ceilings, scenarios, one table and a JSON file.

Everything runs on this machine: PostgreSQL on loopback, gunicorn bound to 127.0.0.1, wrk and
the asyncio client sending only to 127.0.0.1. Each scenario runs for a bounded time; the server
is stopped at the end, whatever happens.
"""

import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bench.peak_day import MIX, peak_day_rows, pools_split
from bench.waits import WaitSampler, summary_line

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "scenario.lua"
HOST = "127.0.0.1"
CEILING_INSERT_MARKER = "govhall-bench-ceiling"

# The portal's search results per page (govhall.portal.views.PAGE_SIZE), and how many pages of
# each query the uncached search scenarios ask for.
PORTAL_PAGE_SIZE = 20
UNCACHED_SEARCH_PAGES = 500

# What each answer of the page scenarios must hold (bench.actions_timed reads the same pages).
PAGE_CHECKS = {
    "workbench_todo_page": 'scope="row"><a href="/workbench/cases/',
    "workbench_case_page": 'id="timeline-heading"',
    "portal_my_cases": '<table class="case-list">',
    "portal_my_case": '<table class="timeline">',
}

# Scenario name -> (ceiling it is compared with, target ratio, target p95 in ms); None: no target.
TARGETS: dict[str, tuple[str, float | None, float | None]] = {
    "C_json": ("C_json", None, None),
    "C_pk": ("C_json", None, None),
    "C_ins": ("C_json", None, None),
    "home": ("C_pk", None, None),
    "search_specific": ("C_pk", 0.50, 80),
    "search_specific_again": ("C_pk", 0.50, 80),
    "search_broad": ("C_pk", None, None),
    "search_broad_uncached": ("C_pk", 0.10, None),
    "search_specific_uncached": ("C_pk", None, None),
    "search_two_characters_uncached": ("C_pk", None, None),
    "search_broad_again": ("C_pk", 0.50, None),
    "search_two_characters": ("C_pk", None, None),
    "search_two_characters_again": ("C_pk", None, None),
    "search_two_characters_unloaded": ("C_pk", None, 50),
    "guide": ("C_pk", 0.60, 50),
    "guide_again": ("C_pk", 0.60, 50),
    "api_list_uncached": ("C_pk", None, None),
    "api_list": ("C_pk", None, None),
    "api_detail": ("C_pk", None, None),
    "api_detail_again": ("C_pk", None, None),
    "api_detail_revalidated": ("C_pk", None, None),
    "todo_list_unloaded": ("C_pk", None, 50),
    "todo_list": ("C_pk", None, 50),
    "case_page": ("C_pk", None, None),
    "my_cases": ("C_pk", None, None),
    "my_case": ("C_pk", None, None),
    "workbench_todo_page": ("C_pk", None, None),
    "workbench_case_page": ("C_pk", None, None),
    "portal_my_cases": ("C_pk", None, None),
    "portal_my_case": ("C_pk", None, None),
    "licence_verify": ("C_pk", None, None),
    "licence_verify_api": ("C_pk", None, None),
    "dashboard_tiles_unloaded": ("C_pk", None, 100),
    "dashboard_drilldown_unloaded": ("C_pk", None, 500),
    "dashboard_items_unloaded": ("C_pk", None, 500),
    "dashboard_tiles": ("C_pk", None, 100),
    "dashboard_drilldown": ("C_pk", None, 500),
    "dashboard_items": ("C_pk", None, 500),
    "figures_upkeep": ("", None, 5),
    "accept": ("C_ins", 0.50, 100),
    "decide": ("C_ins", 0.50, 100),
    "submission": ("C_ins", 0.35, 150),
    "submission_steps": ("C_ins", None, None),
    "submission_steps.draft": ("C_ins", None, None),
    "submission_steps.form": ("C_ins", None, None),
    "submission_steps.upload": ("C_ins", None, None),
    "submission_steps.submit": ("C_ins", None, None),
    "rating": ("C_ins", None, None),
    "rating.form": ("C_ins", None, None),
    "rating.rate": ("C_ins", None, None),
    "bundle": ("C_ins", None, None),
    "bundle.form": ("C_ins", None, None),
    "bundle.submit": ("C_ins", None, None),
}
# The ceilings are measured again at the end of a run that has other scenarios, under these
# names: the machine's speed can move by a quarter within a run (docs/performance.md), and
# every ratio is then to the mean of the two measurements.
END_SUFFIX = "_end"
CEILINGS = ("C_json", "C_pk", "C_ins")
TARGETS.update({f"{name}{END_SUFFIX}": TARGETS[name] for name in CEILINGS})
SCENARIOS = (
    "ceilings",
    "home",
    "search",
    "guide",
    "api_list",
    "api_detail",
    "todo_list",
    "case_page",
    "my_cases",
    "workbench_pages",
    "portal_cases",
    "licence_verify",
    "dashboard",
    "accept",
    "decide",
    "submission",
    "rating",
    "bundle",
    "peak_day",
)
# Scenarios whose run is read by a WaitSampler (bench/waits.py): the writers', whose requests
# may wait on each other's locks. The peak day reads its own.
WAITS_SAMPLED = frozenset(("accept", "decide", "submission", "submission_steps", "rating", "bundle"))
T = TypeVar("T")


@dataclass
class Options:
    database_url: str = "postgres://postgres@127.0.0.1:5432/govhall_bench"
    scenarios: tuple[str, ...] = SCENARIOS
    duration: float = 20.0
    connections: int = 32
    threads: int = 2
    workers: int = 4
    port: int = 18700
    cases: int = 200_000
    implementations: int = 100_000
    applicants: int | None = None
    generate: bool = True
    warmup: float = 3.0
    results_dir: Path = RESULTS
    var_dir: Path = ROOT / "var" / "bench"
    label: str = ""


@dataclass
class Row:
    scenario: str
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    ratio: float | None = None
    ceiling: str = ""
    target_ratio: float | None = None
    target_p95_ms: float | None = None
    met: bool | None = None
    note: str = ""
    samples: list[str] = field(default_factory=list)
    # The CPU a request took under this load, in ms, by whose: "web" (the gunicorn workers),
    # "database" (every PostgreSQL process), "client" (wrk or the asyncio client) and "rest"
    # (what else the machine did meanwhile: the kernel's loopback, other programs); see CpuMeter.
    cpu_ms: dict[str, float] = field(default_factory=dict)
    # What PostgreSQL's busy sessions waited on while the scenario ran: the writers' scenarios
    # and the peak day's row (bench.waits.WaitSampler).
    waits: dict[str, Any] = field(default_factory=dict)


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}Z] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Environment


def wrk_ensure() -> str:
    """wrk from Debian: installed when missing (as root), as .ci/run does for chromium."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: sudo apt-get install wrk")
    log("installing wrk (Debian package)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S607
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)  # noqa: S607
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def database_ensure(url: str) -> None:
    """Create the benchmark database when it does not exist (PostgreSQL on loopback only)."""
    import psycopg

    parsed = urllib.parse.urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the benchmark database must be on this machine (loopback)")
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"creating database {name}")
            connection.execute(f'CREATE DATABASE "{name}"')


def server_env(options: Options) -> dict[str, str]:
    """Production settings: DEBUG off, manifest static files, persistent connections (one per
    sync worker, so the number of connections stays bounded), plus the ceiling views."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GOVHALL_TESTING", "DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_POOL")
    }
    env.update(
        DATABASE_URL=options.database_url,
        GOVHALL_VAR_DIR=str(options.var_dir),
        DEBUG="0",
        GOVHALL_BENCH="1",
        DATABASE_CONN_MAX_AGE="600",
        # Production shares the cache between web processes (Redis runs on loopback here).
        CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/7"),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="govhall.settings",
        PYTHONPATH=str(ROOT),
    )
    return env


def manage(env: dict[str, str], *arguments: str) -> None:
    subprocess.run(  # noqa: S603 - fixed program, arguments from this module
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, check=True
    )


def output_lines(command: list[str], env: dict[str, str]) -> Iterator[str]:
    """A program's output, line by line as it writes them (a generation from empty logs for half
    an hour: its progress is shown as it goes, not once it has ended)."""
    with subprocess.Popen(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE) as process:  # noqa: S603 - callers' fixed programs
        assert process.stdout is not None
        for line in process.stdout:
            yield line.rstrip("\n")
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)


def data_prepare(options: Options, env: dict[str, str]) -> dict[str, Any]:
    log("migrate, static files, demo catalogue")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "collectstatic", "--no-input", "-v", "0")
    subprocess.run(
        [sys.executable, "-m", "govhall.cli", "demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    ready = int(max(2_000, options.duration * 600))
    arguments = [
        "bench_data",
        f"--implementations={options.implementations}",
        f"--cases={options.cases}",
        f"--ready-accept={ready}",
        f"--ready-decide={ready}",
    ]
    if options.applicants is not None:
        arguments.append(f"--applicants={options.applicants}")
    log("generator: " + " ".join(arguments[1:]))
    report: dict[str, Any] = {}
    for line in output_lines([sys.executable, "manage.py", *arguments], env):
        if line.startswith("BENCH_DATA_REPORT "):
            report = json.loads(line.split(" ", 1)[1])
        else:
            print("    " + line, flush=True)
    if report:
        # In the log now: the results file is written only once the whole run has ended.
        log(
            f"generator: {report.get('seconds')} s in all, the cases {report.get('cases_seconds')} s, "
            f"peak RSS {report.get('peak_rss_mb')} MB"
        )
    return report


def prepare(options: Options, env: dict[str, str]) -> dict[str, Any]:
    signed_in = max(64, options.connections * 20)  # the applicants the preparation signs in
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        path = Path(handle.name)
    try:
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "bench.prepare",
                "--out",
                str(path),
                "--applicants",
                str(signed_in),
                "--invitations",
                str(max(3000, int(options.duration * 200))),
                # One bundle application ready to submit for each applicant (each may have one).
                "--bundles",
                str(signed_in if {"bundle", "peak_day"} & set(options.scenarios) else 0),
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )
        return json.loads(path.read_text(encoding="utf-8"))
    finally:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Server


class Server:
    """gunicorn with sync workers on 127.0.0.1, as `govhall serve` starts it (without the task
    worker, which no scenario needs)."""

    def __init__(self, options: Options, env: dict[str, str], log_path: Path) -> None:
        self.options = options
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._cache_empty()
        self.log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "govhall.wsgi:application",
                "--bind",
                f"{HOST}:{self.options.port}",
                "--workers",
                str(self.options.workers),
                "--worker-class",
                "sync",
                "--backlog",
                "2048",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped; see {self.log_path}")
            try:
                status, _body = http_get(self.options.port, "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit("gunicorn did not become healthy in 90 s")

    def _cache_empty(self) -> None:
        """Every run starts with an empty shared cache: the figures include the first renderings."""
        url = self.env.get("CACHE_URL", "")
        if url.startswith("redis://"):
            import redis

            redis.Redis.from_url(url).flushdb()

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(entry.name))
        return sorted(children)

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(round(int(line.split()[1]) / 1024, 1))
            except OSError:
                continue
        return sizes

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log_file.close()


def http_get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# ---------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Spec:
    name: str
    paths: list[str]
    expect_text: str
    method: str = "GET"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    once: bool = False
    connections: int | None = None
    threads: int | None = None
    # Each path asked with If-None-Match and the ETag the server answers it with just before
    # the run (``revalidating``): what a system that polls what it holds costs.
    revalidate: bool = False
    # Each session (each path's own Cookie header) opens one page just before the run
    # (``sessions_touched``): a staff session ends after 15 idle minutes, and the sessions are
    # signed in at the setup, which can come longer than that before the scenario.
    touch: bool = False


def revalidating(options: Options, spec: Spec) -> Spec:
    """The spec with each path followed by the If-None-Match header of the ETag the server
    answers it with now (a path answered without one is left out, and a spec left with no path
    answers only errors)."""
    lines = []
    for path in spec.paths:
        request = urllib.request.Request(f"http://{HOST}:{options.port}{path}", headers=spec.headers)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            etag = response.headers.get("ETag")
        if etag:
            lines.append(f"{path}\tIf-None-Match: {etag}")
    return replace(spec, paths=lines, revalidate=False)


def sessions_touched(options: Options, spec: Spec) -> None:
    """One request of a path of each distinct Cookie header in the spec's paths, so that each
    session's idle time starts again now; a session already ended is an error now, not a run
    of redirects counted as failed checks."""
    touched: set[str] = set()
    for line in spec.paths:
        path, _tab, own = line.partition("\t")
        headers = dict(spec.headers)
        for header in own.split("\t") if own else []:
            name, _colon, value = header.partition(": ")
            if name and not name.startswith(":"):
                headers[name] = value
        cookie = headers.get("Cookie", "")
        if not cookie or cookie in touched:
            continue
        touched.add(cookie)
        # An ended session is redirected to the sign-in page, which urllib follows: the page
        # must also hold what the scenario checks.
        status, body = http_get(options.port, path, headers)
        if status != spec.status or spec.expect_text.encode() not in body:
            raise RuntimeError(f"{spec.name}: a session's page answered {status} without {spec.expect_text!r}")


@dataclass
class WrkRun:
    """A wrk process under way (``wrk_start``), read by ``wrk_finish``."""

    spec: Spec
    process: "subprocess.Popen[str]"
    scenario_file: Path
    seconds: float


def wrk_run(options: Options, spec: Spec, *, duration: float | None = None) -> Row:
    return wrk_finish(wrk_start(options, spec, duration=duration))


def wrk_start(options: Options, spec: Spec, *, duration: float | None = None) -> WrkRun:
    """wrk started on ``spec`` for ``duration`` seconds (the run's by default), not waited for:
    several can load the server at once (the peak day)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
        handle.write(
            "\n".join(
                [
                    spec.method,
                    str(spec.status),
                    spec.expect_text,
                    "\t".join(f"{name}: {value}" for name, value in spec.headers.items()),
                    spec.body,
                    "once" if spec.once else "cycle",
                    *spec.paths,
                ]
            )
            + "\n"
        )
        scenario_file = Path(handle.name)
    threads = spec.threads or options.threads
    connections = spec.connections or options.connections
    seconds = duration or options.duration
    try:
        process = subprocess.Popen(  # noqa: S603
            [
                wrk_ensure(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "--timeout",
                "10s",
                "-s",
                str(LUA),
                f"http://{HOST}:{options.port}",
                "--",
                str(scenario_file),
                str(threads),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # The samples of failed answers are cut by bytes (scenario.lua), possibly inside a
            # Chinese character: decoding must not fail where the checks already have.
            encoding="utf-8",
            errors="replace",
        )
    except OSError:
        scenario_file.unlink(missing_ok=True)
        raise
    return WrkRun(spec, process, scenario_file, seconds)


def wrk_finish(run: WrkRun) -> Row:
    """The row of a wrk process started by ``wrk_start``, once it has ended (killed, and
    ``subprocess.TimeoutExpired`` raised, if it outlasts its run by a minute)."""
    spec = run.spec
    try:
        stdout, stderr = run.process.communicate(timeout=run.seconds + 60)
    except subprocess.TimeoutExpired:
        run.process.kill()
        run.process.communicate()
        raise
    finally:
        run.scenario_file.unlink(missing_ok=True)
    result = None
    for line in stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            result = json.loads(line.split(" ", 1)[1], strict=False)
    if result is None:
        return Row(spec.name, note=f"wrk failed: {stderr.strip()[:200]}", errors=1)
    seconds = max(result["duration_us"] / 1e6, 1e-6)
    socket_errors = result["connect_errors"] + result["read_errors"] + result["write_errors"] + result["timeouts"]
    row = Row(
        scenario=spec.name,
        requests=result["requests"],
        rps=round(result["requests"] / seconds, 1),
        p50_ms=round(result["p50_us"] / 1000, 1),
        p95_ms=round(result["p95_us"] / 1000, 1),
        p99_ms=round(result["p99_us"] / 1000, 1),
        errors=result["check_errors"] + socket_errors,
    )
    if result["exhausted"]:
        row.note = f"pool exhausted {result['exhausted']} times"
    if not result["requests"]:
        # wrk counts a request still unanswered when the run ends as neither done nor failed: a
        # scenario whose every request outlasts the run (my cases reading all 10 million cases,
        # 2026-12-06) showed 0 requests and no error.
        row.errors = max(row.errors, 1)
        row.note = (row.note + " no request was answered within the run").strip()
    if result["samples"]:
        row.samples = [sample.strip() for sample in result["samples"].split(" | ") if sample.strip()][:3]
    return row


def specs(options: Options, data: dict[str, Any]) -> dict[str, list[Spec]]:
    officer = {"Authorization": f"Bearer {data['officer_token']}"}
    supervisor = {"Authorization": f"Bearer {data['supervisor_token']}"}
    clerk = {"Authorization": f"Bearer {data['clerk_token']}", "Content-Type": "application/json"}
    quote = urllib.parse.quote
    search_paths = {
        kind: [f"/search/?q={quote(item['q'])}" for item in items if item["hits"]]
        for kind, items in data["queries"].items()
    }
    # Without any cache: each query's pages from the second on, in turn, every path distinct
    # (until the list runs out and starts again), so neither the kept pages nor the kept answers
    # can serve them; the first pages are left to the first pass below.
    uncached_paths = {
        kind: [
            f"/search/?q={quote(item['q'])}&page={page}"
            for page in range(2, UNCACHED_SEARCH_PAGES + 1)
            for item in items
            if page <= -(-item["hits"] // PORTAL_PAGE_SIZE)
        ]
        for kind, items in data["queries"].items()
    }
    counties = data["counties"]
    officer_cookies = data.get("officer_sessions") or []
    return {
        "ceilings": [
            Spec("C_json", ["/bench/ceiling/json"], '"ok": true'),
            Spec("C_pk", [f"/bench/ceiling/pk/{code}" for code in data["regions"]], '"name": "'),
            Spec("C_ins", ["/bench/ceiling/ins"], '"ok": true', method="POST", status=201),
        ],
        "home": [Spec("home", ["/"], 'id="home-heading"')],
        # "_uncached": pages no cache holds. Then each set of queries twice in a row: the first
        # pass is what a query costs when nothing has seen it lately (the first answers are
        # kept for the requests that follow, as in production), the second ("_again") the
        # steady state of popular queries.
        "search": [
            # One person searching, answered from the index (no cache holds these pages): every
            # other uncached page of the two-character queries; the loaded run takes the rest.
            Spec(
                "search_two_characters_unloaded",
                uncached_paths["two_characters"][1::2] or search_paths["two_characters"],
                "result-list",
                connections=1,
                threads=1,
            ),
            *(
                Spec(
                    f"search_{kind}_uncached",
                    uncached_paths[kind][0::2] if kind == "two_characters" else uncached_paths[kind],
                    "result-list",
                )
                for kind in ("specific", "broad", "two_characters")
                if uncached_paths[kind]
            ),
            Spec("search_specific", search_paths["specific"], "result-list"),
            Spec("search_specific_again", search_paths["specific"], "result-list"),
            Spec("search_broad", search_paths["broad"], "result-list"),
            Spec("search_broad_again", search_paths["broad"], "result-list"),
            Spec("search_two_characters", search_paths["two_characters"], "result-list"),
            Spec("search_two_characters_again", search_paths["two_characters"], "result-list"),
        ],
        # As for searches: the first pass renders each of the 2,000 guides once (the cache is
        # empty at the start of a run), the second reads them again, as popular guides are.
        "guide": [
            Spec("guide", [f"/services/{code}/" for code in data["guides"]], "section-materials"),
            Spec("guide_again", [f"/services/{code}/" for code in data["guides"]], "section-materials"),
        ],
        # The API writes compact JSON (orjson, ADR 19): no space after a colon or a comma. Its
        # answers are kept (ADR 22): first the pages beyond the kept ones, each built every time;
        # then each county's first three pages, kept after their first reading, as the pages
        # an app browses; the guides as for the portal, a first pass and a second.
        "api_list": [
            *(
                [Spec("api_list_uncached", data["api_list_uncached"], '"items":[{')]
                if data.get("api_list_uncached")
                else []
            ),
            Spec(
                "api_list",
                [f"/api/v1/implementations?region={code}&page={page}" for code in counties for page in (1, 2, 3)],
                '"items":[{',
            ),
        ],
        "api_detail": [
            Spec("api_detail", [f"/api/v1/implementations/{code}" for code in data["guides"]], '"materials":['),
            Spec("api_detail_again", [f"/api/v1/implementations/{code}" for code in data["guides"]], '"materials":['),
            # A system that mirrors the catalogue asking whether the guides it holds changed.
            Spec(
                "api_detail_revalidated",
                [f"/api/v1/implementations/{code}" for code in data["guides"]],
                "",
                status=304,
                revalidate=True,
            ),
        ],
        # One officer opening the list (the answer time an officer sees), then 32 at once.
        "todo_list": [
            Spec(
                "todo_list_unloaded",
                ["/api/v1/workbench/tasks?page_size=50"],
                '"items":[{',
                headers=officer,
                connections=1,
                threads=1,
            ),
            Spec("todo_list", ["/api/v1/workbench/tasks?page_size=50"], '"items":[{', headers=officer),
        ],
        "case_page": [
            Spec(
                "case_page",
                [f"/api/v1/workbench/cases/{number}" for number in data["case_numbers"]],
                '"events":[',
                headers=officer,
            )
        ],
        # Applicants following their cases ("my cases", then a case's page), each with their own
        # token: the list of the applicant's cases, newest first, and three of them.
        "my_cases": (
            [
                Spec(
                    "my_cases",
                    [
                        f"/api/v1/cases?page=1\tAuthorization: Bearer {data['applicant_tokens'][place]}"
                        for place in dict.fromkeys(place for place, _number in data["own_cases"])
                    ],
                    '"items":[{',
                ),
                Spec(
                    "my_case",
                    [
                        f"/api/v1/cases/{number}\tAuthorization: Bearer {data['applicant_tokens'][place]}"
                        for place, number in data["own_cases"]
                    ],
                    '"timeline":[{',
                ),
            ]
            if data.get("own_cases")
            else []
        ),
        # The same reads as the officer's and the applicant's pages the people use: the
        # workbench's to-do list and case pages (HTML, signed in with the second factor), the
        # officer signed in 32 times, each request with one of the sessions; and the portal's
        # "my cases" and a case's page, each applicant with their own session.
        "workbench_pages": (
            [
                Spec(
                    "workbench_todo_page",
                    [f"/workbench/cases/\tCookie: {cookie}" for cookie in officer_cookies],
                    PAGE_CHECKS["workbench_todo_page"],
                    touch=True,
                ),
                Spec(
                    "workbench_case_page",
                    [
                        f"/workbench/cases/{number}/\tCookie: {officer_cookies[place % len(officer_cookies)]}"
                        for place, number in enumerate(data["case_numbers"])
                    ],
                    PAGE_CHECKS["workbench_case_page"],
                    touch=True,
                ),
            ]
            if officer_cookies
            else []
        ),
        "portal_cases": (
            [
                Spec(
                    "portal_my_cases",
                    [
                        f"/cases/\tCookie: {data['applicant_sessions'][place]}"
                        for place in dict.fromkeys(place for place, _number in data["own_cases"])
                    ],
                    PAGE_CHECKS["portal_my_cases"],
                ),
                Spec(
                    "portal_my_case",
                    [
                        f"/cases/{number}/\tCookie: {data['applicant_sessions'][place]}"
                        for place, number in data["own_cases"]
                    ],
                    PAGE_CHECKS["portal_my_case"],
                ),
            ]
            if data.get("applicant_sessions") and data.get("own_cases")
            else []
        ),
        # Anyone verifying a licence: the page its QR code opens, and the API a bank's or an
        # employer's system asks with the identifier (no sign-in for either).
        "licence_verify": (
            [
                Spec(
                    "licence_verify",
                    [f"/verify/{identifier}/" for identifier in data["licences"]],
                    'class="verify-result verify-valid"',
                ),
                Spec(
                    "licence_verify_api",
                    [
                        "/api/v1/licences/verify\t:body: " + json.dumps({"identifier": identifier})
                        for identifier in data["licences"]
                    ],
                    '"code":"valid"',
                    method="POST",
                    headers={"Content-Type": "application/json"},
                ),
            ]
            if data.get("licences")
            else []
        ),
        # The supervisor dashboard through its API (the page makes the same reads).
        # First one supervisor at a time (the answer time issue 7 asks for), then 32 at once.
        "dashboard": [
            *(
                Spec(f"{name}_unloaded", data["figures"][key], expected, headers=supervisor, connections=1, threads=1)
                for name, key, expected in (
                    ("dashboard_tiles", "tiles", '"received":'),
                    ("dashboard_drilldown", "drilldown", '"key":'),
                    ("dashboard_items", "items", '"key":'),
                )
            ),
            Spec("dashboard_tiles", data["figures"]["tiles"], '"received":', headers=supervisor),
            Spec("dashboard_drilldown", data["figures"]["drilldown"], '"key":', headers=supervisor),
            Spec("dashboard_items", data["figures"]["items"], '"key":', headers=supervisor),
        ],
        "accept": [
            Spec(
                "accept",
                [f"/api/v1/workbench/tasks/{task}/actions" for task in data["ready"]["accept"]],
                '"code":"accepted"',
                method="POST",
                headers=clerk,
                body=json.dumps(
                    {"action": "accept", "fields": {"opinion": "符合受理条件，予以受理"}}, ensure_ascii=False
                ),
                once=True,
            )
        ],
        "decide": [
            Spec(
                "decide",
                [f"/api/v1/workbench/tasks/{task}/actions" for task in data["ready"]["decide"]],
                '"decision":{"code":"approve"',
                method="POST",
                headers=clerk,
                body=json.dumps({"action": "decide", "fields": {"decision": "approve"}}),
                once=True,
            )
        ],
    }


def submission_rows(options: Options, data: dict[str, Any], server: "Server | None" = None) -> list[Row]:
    """The submission in one call (the target's scenario), then step by step through the API as
    an app that saves while the applicant goes on does it (draft, form, each upload, submit),
    each for the run's duration; with the server, each waits for it to be idle again and says
    where its CPU went (a step-by-step row's per flow)."""
    from bench.flows import submissions_run

    target = data.get("submission")
    if not target:
        return [Row("submission", note="no implementation fits the submission scenario", errors=1)]
    pdf = Path(data["material_path"]).read_bytes()
    note = f"{len(target['materials'])} material(s) of {len(pdf) // 1024} KB; {target['implementation_code']}"
    rows = []
    meter = CpuMeter(server) if server is not None else None
    for name, steps in (("submission", False), ("submission_steps", True)):
        start = meter.start() if meter is not None else {}
        run = partial(
            submissions_run,
            host=HOST,
            port=options.port,
            target=target,
            tokens=data["applicant_tokens"],
            pdf=pdf,
            connections=options.connections,
            duration=options.duration,
            steps=steps,
        )
        # The coroutine is made inside the sampled call: one never run would be a warning.
        (timings, seconds), waits = waits_sampled(options, name, partial(_asyncio_run, run))
        row = _timing_row(name, timings.flows, seconds, timings.errors)
        row.waits = waits
        row.note = note if not steps else "a flow of 3 + one request per material"
        row.samples = timings.error_samples[:3]
        if meter is not None and server is not None:
            settle(options, server)
            row.cpu_ms = meter.per_request(start, row.requests)
        rows.append(row)
        if steps:
            for step in ("draft", "form", "upload", "submit"):
                rows.append(_timing_row(f"{name}.{step}", timings.steps.get(step, []), seconds, 0))
    return rows


def rating_rows(options: Options, data: dict[str, Any], server: "Server | None" = None) -> list[Row]:
    """Applicants rating closed cases through their SMS invitations' links (the form, then the
    rating), each invitation once, for the run's duration; with the server, it waits for it to be
    idle again and says where its CPU went (per rating, both requests)."""
    from bench.flows import ratings_run

    tokens = data.get("invitations") or []
    if not tokens:
        return [Row("rating", note="no rating invitations: no closed case of a benchmark applicant", errors=1)]
    meter = CpuMeter(server) if server is not None else None
    start = meter.start() if meter is not None else {}
    ran, waits = waits_sampled(
        options,
        "rating",
        lambda: asyncio.run(
            ratings_run(
                host=HOST, port=options.port, tokens=tokens, connections=options.connections, duration=options.duration
            )
        ),
    )
    rows = _pool_rows(
        options,
        server,
        meter,
        start,
        "rating",
        ran,
        note="the form, then the rating (1 in 25 a bad review)",
        steps=("form", "rate"),
    )
    rows[0].waits = waits
    return rows


def _pool_rows(
    options: Options,
    server: "Server | None",
    meter: "CpuMeter | None",
    start: dict[str, Any],
    name: str,
    ran: tuple[Any, float, int],
    *,
    note: str,
    steps: tuple[str, ...],
) -> list[Row]:
    """The rows of a pool's flows from what its run returned (``ran``: timings, seconds, how
    often the pool was found empty): the whole flow, with where its CPU went once the server is
    idle again (``meter`` read at ``start``), then each of its ``steps``."""
    timings, seconds, exhausted = ran
    row = _timing_row(name, timings.flows, seconds, timings.errors)
    row.note = note + (f"; pool exhausted {exhausted} times" if exhausted else "")
    row.samples = timings.error_samples[:3]
    if meter is not None and server is not None:
        settle(options, server)
        row.cpu_ms = meter.per_request(start, row.requests)
    return [row, *(_timing_row(f"{name}.{step}", timings.steps.get(step, []), seconds, 0) for step in steps)]


def bundle_rows(options: Options, data: dict[str, Any], server: "Server | None" = None) -> list[Row]:
    """Applicants submitting the bundle they filled in (the edit page, then its form sent with
    "submit": four cases filed), each application once, for the run's duration; with the server,
    it waits for it to be idle again and says where its CPU went (per bundle, both requests)."""
    from bench.flows import bundles_run

    applications = data.get("bundle_applications") or []
    if not applications:
        return [
            Row("bundle", note="no bundle applications ready: no bundle to apply for in the pools' region", errors=1)
        ]
    meter = CpuMeter(server) if server is not None else None
    start = meter.start() if meter is not None else {}
    ran, waits = waits_sampled(
        options,
        "bundle",
        lambda: asyncio.run(
            bundles_run(
                host=HOST,
                port=options.port,
                applications=applications,
                connections=options.connections,
                duration=options.duration,
            )
        ),
    )
    rows = _pool_rows(
        options,
        server,
        meter,
        start,
        "bundle",
        ran,
        note=f"the page, then the submission: {data.get('bundle_name', '')}, four cases",
        steps=("form", "submit"),
    )
    rows[0].waits = waits
    return rows


def _asyncio_run(make: Callable[[], Any]) -> Any:
    """``asyncio.run`` of the coroutine ``make()`` returns, made only now."""
    return asyncio.run(make())


def waits_sampled(options: Options, name: str, call: Callable[[], T]) -> tuple[T, dict[str, Any]]:
    """What ``call`` returns, and for a writer's scenario (``WAITS_SAMPLED``) what PostgreSQL's
    busy sessions waited on while it ran (``WaitSampler.summary``; nothing for the others)."""
    if name not in WAITS_SAMPLED:
        return call(), {}
    with WaitSampler(options.database_url) as sampler:
        result = call()
    return result, sampler.summary()


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _timing_row(name: str, values: list[float], seconds: float, errors: int) -> Row:
    return Row(
        scenario=name,
        requests=len(values),
        rps=round(len(values) / max(seconds, 1e-6), 1),
        p50_ms=round(_percentile(values, 0.50) * 1000, 1),
        p95_ms=round(_percentile(values, 0.95) * 1000, 1),
        p99_ms=round(_percentile(values, 0.99) * 1000, 1),
        errors=errors,
    )


def warm(options: Options, data: dict[str, Any], server: "Server") -> None:
    """Every worker answers a few light pages before anything is timed (jieba's dictionary is
    loaded by govhall/wsgi.py when a worker starts)."""
    paths = ["/", "/bench/ceiling/json", *(f"/services/{code}/" for code in data["guides"][:20])]
    wrk_run(options, Spec("warm", paths, ""), duration=options.warmup)
    settle(options, server)


def settle(options: Options, server: "Server", *, limit: float = 180) -> float:
    """Wait until the server is idle again: a sync worker still answers requests queued in the
    listen backlog after wrk has hung up, and they must not be counted against the next
    scenario. Idle means, three times in a row half a second apart, that the web workers used
    almost no CPU and no query of the benchmark database was running. Returns the seconds waited."""
    import psycopg

    started = time.monotonic()
    quiet = 0
    name = urllib.parse.urlparse(options.database_url).path.lstrip("/")
    with psycopg.connect(options.database_url, autocommit=True) as connection:
        before = _workers_cpu(server)
        while quiet < 3 and time.monotonic() - started < limit:
            time.sleep(0.5)
            after = _workers_cpu(server)
            active = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                "AND pid <> pg_backend_pid()",
                [name],
            ).fetchone()
            busy = after - before > 0.05 or bool(active and active[0])
            quiet = 0 if busy else quiet + 1
            before = after
    return round(time.monotonic() - started, 1)


def _workers_cpu(server: "Server") -> float:
    """CPU seconds used so far by the web workers."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in server.worker_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _process_cpu(pid: int) -> tuple[str, float, float]:
    """A process's name, the CPU seconds it has used (user and system) and those of its children
    that have ended and it has reaped, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat.rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return name, (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


class CpuMeter:
    """Where a scenario's CPU went, per request: the web workers', PostgreSQL's (its backends
    and its own processes: the WAL writer, the checkpointer), the load client's (wrk is a child
    of this process, the asyncio client runs in it) and the rest of the machine's, from /proc.
    With the cores full, a scenario's requests per second is the CPU a request takes; this says
    which part to make cheaper (an acceptance on the twenty-second session's machine: 8.1 ms in
    the worker, 3.2 ms in PostgreSQL, against 1.0 and 0.2 for the insert ceiling)."""

    def __init__(self, server: "Server") -> None:
        self.server = server

    def _reading(self) -> dict[str, float]:
        import resource

        workers = set(self.server.worker_pids())
        web = database = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                name, seconds, reaped = _process_cpu(int(entry.name))
            except (OSError, ValueError):
                continue  # ended meanwhile
            if int(entry.name) in workers:
                web += seconds
            elif name == "postgres":
                # With its ended children's: a backend that ends between two readings (a web
                # worker's connection reaching its CONN_MAX_AGE) takes its CPU out of the live
                # processes' sum, and the postmaster adds it to its own reaped children's.
                # Without this, the accept and decide rows of a full run showed 0.00 ms of
                # PostgreSQL (2026-12-06): the sum fell, and a negative share is shown as none.
                database += seconds + reaped
        children, own = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
        with Path("/proc/stat").open() as handle:
            ticks = [int(value) for value in handle.readline().split()[1:]]
        idle = ticks[3] + ticks[4]  # idle and waiting on I/O
        return {
            "web": web,
            "database": database,
            "client": children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime,
            "busy": (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK"),
        }

    def start(self) -> dict[str, float]:
        return self._reading()

    def per_request(self, start: dict[str, float], requests: int) -> dict[str, float]:
        """The CPU each request took since ``start``, in ms (nothing when no request was answered)."""
        if requests <= 0:
            return {}
        end = self._reading()
        spent = {name: max(end[name] - start[name], 0.0) for name in end}
        spent["rest"] = max(spent.pop("busy") - spent["web"] - spent["database"] - spent["client"], 0.0)
        return {name: round(seconds * 1000 / requests, 2) for name, seconds in spent.items()}


def ceilings_measured(rows: list[Row]) -> dict[str, dict[str, Any]]:
    """Each ceiling at the start of the run, at its end (None when not measured again) and the
    value the ratios use: the mean of the two, or the start alone."""
    start = {row.scenario: row.rps for row in rows if row.scenario in CEILINGS and row.rps}
    end = {
        row.scenario.removesuffix(END_SUFFIX): row.rps
        for row in rows
        if row.scenario.removesuffix(END_SUFFIX) in CEILINGS and row.scenario.endswith(END_SUFFIX) and row.rps
    }
    return {
        name: {
            "start": rps,
            "end": end.get(name),
            "used": round((rps + end[name]) / 2, 1) if name in end else rps,
        }
        for name, rps in start.items()
    }


def ratios(rows: list[Row]) -> None:
    ceilings = {name: measured["used"] for name, measured in ceilings_measured(rows).items()}
    for row in rows:
        ceiling, target_ratio, target_p95 = TARGETS.get(row.scenario, ("", None, None))
        row.ceiling = ceiling
        row.target_ratio = target_ratio
        row.target_p95_ms = target_p95
        if ceiling and ceilings.get(ceiling):
            row.ratio = round(row.rps / ceilings[ceiling], 3)
        checks = []
        if target_ratio is not None and row.ratio is not None:
            checks.append(row.ratio >= target_ratio)
        if target_p95 is not None:
            checks.append(row.p95_ms <= target_p95)
        if checks or row.errors:
            row.met = all(checks) and row.errors == 0


def ceilings_drift(rows: list[Row]) -> str:
    """One line: how far each ceiling moved from the start of the run to its end."""
    moved = [
        f"{name} {measured['start']:,.0f} → {measured['end']:,.0f} ({(measured['end'] / measured['start'] - 1):+.0%})"
        for name, measured in ceilings_measured(rows).items()
        if measured["start"] and measured["end"]
    ]
    if not moved:
        return ""
    return f"ceilings at the start and the end of the run: {', '.join(moved)}; ratios are to their means"


def table(rows: list[Row]) -> str:
    header = (
        f"{'scenario':<32}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}  {'ratio':<16}{'target':<18}"
        f"{'CPU ms/req web+db+client':>25}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        ratio = f"{row.ratio:.2f} × {row.ceiling}" if row.ratio is not None else ""
        target = []
        if row.target_ratio is not None:
            target.append(f"≥{row.target_ratio:.2f}")
        if row.target_p95_ms is not None:
            target.append(f"p95≤{row.target_p95_ms:.0f}")
        mark = {True: "met", False: "MISSED", None: ""}[row.met]
        cpu = row.cpu_ms
        spent = f"{cpu['web']:.2f}+{cpu['database']:.2f}+{cpu['client']:.2f}" if cpu else ""
        lines.append(
            f"{row.scenario:<32}{row.rps:>9.1f}{row.p50_ms:>9.1f}{row.p95_ms:>9.1f}{row.p99_ms:>9.1f}{row.errors:>8}  "
            f"{ratio:<16}{' '.join(target) + ' ' + mark:<18}{spent:>25}"
        )
    return "\n".join(lines)


def code_version() -> dict[str, Any]:
    """The commit the server runs and how many files of the checkout differ from it (None when
    this is not a git checkout): what a results file's figures were measured on."""
    unknown: dict[str, Any] = {"commit": None, "changed_files": None}
    git = shutil.which("git")
    if git is None:
        return unknown
    try:
        commit = subprocess.run(  # noqa: S603 - git, with fixed arguments
            [git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        changed = subprocess.run(  # noqa: S603
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return unknown
    return {"commit": commit, "changed_files": len(changed)}


def run(options: Options) -> dict[str, Any]:
    """The whole benchmark; returns what is written to the results file."""
    started = time.monotonic()
    wrk_ensure()
    database_ensure(options.database_url)
    env = server_env(options)
    generator = data_prepare(options, env) if options.generate else {}
    # The schema as the code the server will run needs it, the data as it is: the server's
    # health check refuses to serve with a migration pending, and a generation takes long
    # enough for the checkout to gain a migration meanwhile (it happened twice).
    log("migrate")
    manage(env, "migrate", "--no-input", "-v", "0")
    code = code_version()
    log("setup: officers, applicants' tokens, request lists")
    data = prepare(options, env)
    if "peak_day" in options.scenarios:
        data["peak_day"] = pools_split(data, options.scenarios)
    log(
        f"{data['implementations']:,} implementations, {data['cases']:,} cases; to-do officer in "
        f"{data['officer_department']['name']} ({data['officer_department']['open_tasks']:,} open tasks); "
        f"ready: {len(data['ready']['accept']):,} to accept, {len(data['ready']['decide']):,} to decide"
    )
    options.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    server = Server(options, env, options.results_dir / f"server-{stamp}.log")
    rows: list[Row] = []
    rss_before: list[float] = []
    rss_after: list[float] = []
    try:
        server.start()
        status, _body = http_get(options.port, "/bench/ceiling/json")
        if status != 200:
            raise SystemExit(
                "the ceiling views are not mounted: govhall/urls.py must add govhall.bench_views.urlpatterns "
                "when settings.GOVHALL_BENCH is on (docs/performance.md)"
            )
        rss_before = server.worker_rss_mb()
        meter = CpuMeter(server)
        warm(options, data, server)
        all_specs = specs(options, data)
        for group in options.scenarios:
            try:
                if group == "submission":
                    log("scenario submission (asyncio client)")
                    rows.extend(submission_rows(options, data, server))
                    continue
                if group == "rating":
                    log(f"scenario rating (asyncio client, {len(data.get('invitations') or []):,} invitations)")
                    rows.extend(rating_rows(options, data, server))
                    continue
                if group == "bundle":
                    log(
                        f"scenario bundle (asyncio client, {len(data.get('bundle_applications') or []):,} applications)"
                    )
                    rows.extend(bundle_rows(options, data, server))
                    continue
                if group == "peak_day":
                    log(f"scenario peak_day ({len(MIX)} streams at once: {', '.join(MIX)})")
                    rows.extend(peak_day_rows(options, data, meter=meter, server=server))
                    continue
                for spec in all_specs.get(group, []):
                    log(f"scenario {spec.name} ({len(spec.paths):,} distinct requests)")
                    if spec.revalidate:
                        spec = revalidating(options, spec)
                    if spec.touch:
                        sessions_touched(options, spec)
                    short = min(options.duration, 5) if spec.connections == 1 else None
                    start = meter.start()
                    row, waits = waits_sampled(options, spec.name, partial(wrk_run, options, spec, duration=short))
                    row.waits = waits
                    rows.append(row)
                    waited = settle(options, server)
                    rows[-1].cpu_ms = meter.per_request(start, rows[-1].requests)
                    if waited > 2:
                        rows[-1].note = (rows[-1].note + f" server busy {waited:.0f} s after the run").strip()
            except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as error:
                # One broken scenario must not lose the figures of the others.
                rows.append(Row(group, errors=1, note=f"{type(error).__name__}: {str(error)[:200]}"))
        if "ceilings" in options.scenarios and len(options.scenarios) > 1:
            for spec in all_specs["ceilings"]:
                log(f"scenario {spec.name}{END_SUFFIX} (the ceiling again, at the end)")
                start = meter.start()
                try:
                    again = wrk_run(options, spec)
                except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as error:
                    again = Row(spec.name, errors=1, note=f"{type(error).__name__}: {str(error)[:200]}")
                again.scenario = f"{spec.name}{END_SUFFIX}"
                rows.append(again)
                settle(options, server)
                again.cpu_ms = meter.per_request(start, again.requests)
        rss_after = server.worker_rss_mb()
        upkeep = data.get("figures_upkeep") or {}
        if "dashboard" in options.scenarios and upkeep:
            rows.append(
                Row(
                    "figures_upkeep",
                    requests=upkeep["samples"],
                    p50_ms=upkeep["p50_ms"],
                    p95_ms=upkeep["p95_ms"],
                    p99_ms=upkeep["p99_ms"],
                    note="in-process: the 4 upserts of one case action",
                )
            )
    finally:
        server.stop()
        _ceiling_rows_remove(options)
    ratios(rows)
    result = {
        "label": options.label,
        "started_at": stamp,
        "code": code,
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "settings": {
            "server": f"gunicorn sync, {options.workers} workers, DEBUG off, CONN_MAX_AGE 600",
            "client": f"wrk -t{options.threads} -c{options.connections} -d{options.duration:.0f}s; "
            f"asyncio client with {options.connections} applicants for the submission",
        },
        "data": {
            "implementations": data["implementations"],
            "cases": data["cases"],
            "todo_officer_open_tasks": data["officer_department"]["open_tasks"],
            "queries": data["queries"],
            "generator": generator,
        },
        "rows": [asdict(row) for row in rows],
        "ceilings": ceilings_measured(rows),
        "worker_rss_mb": {"after_warm": rss_before, "after_run": rss_after},
        "seconds": round(time.monotonic() - started, 1),
    }
    path = options.results_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print()
    print(table(rows))
    print()
    drift = ceilings_drift(rows)
    if drift:
        print(drift)
    for row in rows:
        if row.waits:
            print(summary_line(row.scenario, row.waits))
    print(
        f"web workers' RSS after the run (MB): {rss_after}; generator peak RSS: {generator.get('peak_rss_mb', '-')} MB"
    )
    changed = f", {code['changed_files']} files changed" if code["changed_files"] else ""
    print(f"code: {code['commit'] or 'not a git checkout'}{changed}")
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return result


def _ceiling_rows_remove(options: Options) -> None:
    import psycopg

    with psycopg.connect(options.database_url, autocommit=True) as connection:
        connection.execute("DELETE FROM django_session WHERE session_data = %s", [CEILING_INSERT_MARKER])
