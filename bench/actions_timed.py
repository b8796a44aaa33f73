"""Accept or decide actions, whole submissions, the to-do list, guides' first readings or the
supervisor's tiles, timed in one process through Django's test client, each statement timed:
what one request costs before any load, to compare a change before and after on the same data.
Accept and decide consume waiting tasks of the benchmark's pools (``make bench`` tops them up);
a submission files a case in the pools' region, as the load's submission scenario does (in one
call; ``submission_steps`` step by step); a bundle's submission (``bundle_submission``) files
the demo's 新生儿出生 through its page for applicants of the pools' region, four cases each; the
to-do list is the one the load reads (the benchmark's officer, 50 tasks a page); a guide is
read once each, after the shared cache (the benchmark's ``CACHE_URL``) is emptied, as the
load's first readings are (its body read from the database once rendered; ``guide_rendered``
deletes the kept bodies first, so each is rendered again), and so are the uncached search
pages (``search_broad`` …); the tiles are the load's 14 paths in turn (``--count`` rounds); a
licence verification is the QR code's page and the API's answer for the pool's licences in turn;
a rating is the form and the rating through an unused invitation's link (each used once); the
pages (``workbench_todo_page`` …) are the page scenarios' requests, each with a signed-in session.
Besides wall time, the process's own CPU time a request is reported: it leaves out the
database's and is less moved by a busy machine.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/govhall_bench GOVHALL_VAR_DIR=var/bench \\
    DEBUG=0 GOVHALL_BENCH=1 CACHE_URL=redis://127.0.0.1:6379/7 \\
    python -m bench.actions_timed accept|decide|submission|bundle_submission|todo_list|guide|guide_rendered \\
        |tiles|search_broad|licence_verify|rating|workbench_todo_page|workbench_case_page|portal_my_cases \\
        |portal_my_case \\
        --count 80 [--statements] [--calls] [--profile | --profile-all]
"""

import argparse
import gc
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.prepare import MATERIAL_BYTES, _django, _keys_checked, _submission_target, _tokens
from bench.runner import PAGE_CHECKS

READY_REGION = "330106"
WARM_UP = 5


# Locks held from the statement that takes them to the end of the transaction, which every other
# transaction taking them waits for, by the statements that take them: a lane of the audit chain
# (the one lock of the whole platform before ADR 29), the figures' counter rows (a department's
# day and month, an item's and an entry's month: every writer of that department or item that
# day waits for them), and a case number's row (one per region and day, one for every bundle of a
# day) while it was taken inside the filing's transaction (before ADR 28).
HELD_LOCKS = {
    "audit chain lane": ("pg_advisory_xact_lock", "audit_chain_lane"),
    "counter rows": ("metrics_departmentday",),
    "case number row": ("cases_casenumbersequence",),
}


class Timer:
    """Each request's time, its statements and their time, by step."""

    def __init__(self) -> None:
        self.statements: list[tuple[float, str]] = []
        self.times: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.kept: dict[str, list[list[tuple[float, str]]]] = {}
        # Locks every other writer of the same row waits for, held until the transaction ends:
        # ms each was held in the current request (by transaction), when the current
        # transaction took each, and each request's sum by step and lock.
        self.locked: dict[str, list[float]] = {}
        self.taken: dict[str, float] = {}
        self.held: dict[str, dict[str, list[float]]] = {}
        self.profiler: Any = None  # pyinstrument's, with --profile: only the timed requests
        self.collecting: float | None = None  # when the garbage collector's current pass began
        self.collected: list[float] = []  # ms of the collector's passes in the current request
        self.collections: dict[str, list[float]] = {}  # ms of collector passes, by request
        # With --calls: the Python functions and the C functions each timed request called, by
        # step (sys.setprofile's "call" and "c_call" events). A count of work that the
        # machine's speed does not move, to compare a change on a machine whose speed does.
        self.counting = False
        self.calls: dict[str, list[tuple[int, int]]] = {}

    def _counted(self, call: Callable[[], Any]) -> tuple[Any, tuple[int, int]]:
        counts = {"call": 0, "c_call": 0}

        def count(_frame: Any, event: str, _arg: Any) -> None:
            if event in counts:
                counts[event] += 1

        sys.setprofile(count)
        try:
            answer = call()
        finally:
            sys.setprofile(None)
        return answer, (counts["call"], counts["c_call"])

    def collector(self, phase: str, _info: dict[str, int]) -> None:
        """``gc.callbacks``: the time of each pass of the collector while a request is timed."""
        if phase == "start":
            self.collecting = time.perf_counter()
        elif self.collecting is not None:
            self.collected.append((time.perf_counter() - self.collecting) * 1000)
            self.collecting = None

    def wrapper(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append(((time.perf_counter() - started) * 1000, sql))
            for lock, marks in HELD_LOCKS.items():
                if any(mark in sql for mark in marks):
                    self._lock_taken(lock, time.perf_counter())

    def _lock_taken(self, lock: str, at: float) -> None:
        """A lock held until the transaction ends (``HELD_LOCKS``): its commit is the end of the
        part of the request that every other writer of it waits for. A request may commit more
        than once: each transaction's time from its first taking of the lock to its commit is
        added."""
        from django.db import transaction

        if lock in self.taken:
            return  # taken again in the same transaction (the counters after the records)
        self.taken[lock] = at

        def released() -> None:
            taken = self.taken.pop(lock, None)
            if taken is not None:
                self.locked.setdefault(lock, []).append((time.perf_counter() - taken) * 1000)

        transaction.on_commit(released)

    def timed(self, step: str, call: Callable[[], Any]) -> Any:
        from django.db import connection

        self.statements.clear()
        self.locked.clear()
        self.collected.clear()
        self.taken.clear()
        gc.callbacks.append(self.collector)
        started, cpu = time.perf_counter(), time.process_time()
        if self.profiler is not None:
            self.profiler.start()
        try:
            with connection.execute_wrapper(self.wrapper):
                if self.counting:
                    answer, counted = self._counted(call)
                    self.calls.setdefault(step, []).append(counted)
                else:
                    answer = call()
        finally:
            if self.profiler is not None:
                self.profiler.stop()
            gc.callbacks.remove(self.collector)
        self.collections.setdefault(step, []).append(sum(self.collected))
        self.times.setdefault(step, []).append((time.perf_counter() - started) * 1000)
        self.cpu.setdefault(step, []).append((time.process_time() - cpu) * 1000)
        self.kept.setdefault(step, []).append(list(self.statements))
        for lock, held in self.locked.items():
            self.held.setdefault(step, {}).setdefault(lock, []).append(sum(held))
        self.locked.clear()
        self.taken.clear()
        return answer

    def last_also_as(self, step: str, other: str) -> None:
        """Count the last request timed as ``step`` under ``other`` as well (a part of the steps)."""
        self.times.setdefault(other, []).append(self.times[step][-1])
        self.cpu.setdefault(other, []).append(self.cpu[step][-1])
        self.kept.setdefault(other, []).append(self.kept[step][-1])
        self.collections.setdefault(other, []).append(self.collections[step][-1])
        if step in self.calls:
            self.calls.setdefault(other, []).append(self.calls[step][-1])

    def report(self, *, statements: bool) -> None:
        for step, times in self.times.items():
            kept = self.kept[step]
            counts = [len(request) for request in kept]
            database = [sum(ms for ms, _sql in request) for request in kept]
            print(
                f"{step}: {len(times)} requests, p50 {statistics.median(times):.1f} ms, "
                + (f"p95 {statistics.quantiles(times, n=20)[-1]:.1f} ms, " if len(times) > 1 else "")
                + f"mean {statistics.mean(times):.1f} ms; statements p50 {statistics.median(counts):.0f}; "
                f"database p50 {statistics.median(database):.1f} ms; "
                f"this process's CPU mean {statistics.mean(self.cpu[step]):.2f} ms"
                + "".join(
                    f"; {lock} held p50 {statistics.median(held):.1f} ms"
                    for lock, held in self.held.get(step, {}).items()
                )
                + f"; garbage collector mean {statistics.mean(self.collections[step]):.2f} ms"
                f" in {sum(1 for ms in self.collections[step] if ms) / len(times):.0%} of requests"
                + (
                    f"; Python calls p50 {statistics.median(python for python, _c in self.calls[step]):,.0f}, "
                    f"C calls p50 {statistics.median(c for _python, c in self.calls[step]):,.0f} "
                    "(times slowed by the counting)"
                    if self.calls.get(step)
                    else ""
                )
            )
            if statements:
                for ms, sql in kept[len(kept) // 2]:
                    print(f"    {ms:6.2f}  {sql[:160]}")


def _untimed(_step: str, call: Callable[[], Any]) -> Any:
    return call()


def _page(client: Any, path: str, expected: bytes, what: str) -> Any:
    """A page of the portal read as the load reads it: 200 and a piece of expected content."""
    answer = client.get(path)
    if answer.status_code != 200 or expected not in answer.content:
        raise SystemExit(f"{what}: {answer.status_code}")
    return answer


def _checked(answer: Any, expect: int, what: str) -> dict[str, Any]:
    if answer.status_code != expect:
        raise SystemExit(f"{what}: {answer.status_code} {answer.content[:300]!r}")
    return answer.json()


def actions(kind: str, count: int, timer: Timer) -> int:
    from django.test import Client

    from govhall.accounts.models import User
    from govhall.cases.management.commands.bench_data import ready_tasks

    token = _tokens([User.objects.get(username="bench-clerk")])[0]
    # Sorted here: ordered by id, PostgreSQL walked the steps' primary key at 11 million cases.
    ids = sorted(ready_tasks(region_code=READY_REGION, kind=kind).order_by().values_list("id", flat=True))
    ids = ids[: count + WARM_UP]
    if len(ids) <= WARM_UP:
        print(f"no {kind} tasks waiting in {READY_REGION}: run make bench first", file=sys.stderr)
        return 1
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    body: dict[str, Any] = {"action": "accept"}
    if kind == "decide":
        body = {"action": "decide", "fields": {"decision": "approve"}}

    def act(task_id: int) -> Any:
        return _checked(
            client.post(
                f"/api/v1/workbench/tasks/{task_id}/actions", data=json.dumps(body), content_type="application/json"
            ),
            200,
            f"task {task_id}",
        )

    for task_id in ids[:WARM_UP]:
        act(task_id)
    for task_id in ids[WARM_UP:]:
        timer.timed(kind, partial(act, task_id))
    return 0


def todo_lists(count: int, timer: Timer) -> int:
    """The load's ``todo_list`` request, ``count`` times, as the benchmark's officer."""
    from django.test import Client

    from govhall.accounts.models import User

    officer = User.objects.filter(username="bench-officer").first()
    if officer is None:
        print("no benchmark officer: run make bench first", file=sys.stderr)
        return 1
    client = Client(HTTP_AUTHORIZATION=f"Bearer {_tokens([officer])[0]}", HTTP_HOST="127.0.0.1")

    def read() -> Any:
        answer = _checked(client.get("/api/v1/workbench/tasks?page_size=50"), 200, "to-do list")
        if not answer["items"]:
            raise SystemExit("to-do list: no tasks")
        return answer

    for _ in range(WARM_UP):
        read()
    for _ in range(count):
        timer.timed("todo_list", read)
    return 0


def _session_clients() -> Callable[[str], Any]:
    """A test client signed in with a session's ``Cookie`` header, for each header asked. One
    handler for all: a new one loads the middleware again on its first request (WhiteNoise's
    scan of the static files: about 30 ms a request when each applicant's page came from a
    client of its own)."""
    from django.test import Client

    handler = Client().handler

    def client_of(cookie: str) -> Any:
        client = Client(HTTP_HOST="127.0.0.1")
        client.handler = handler
        name, _equals, key = cookie.partition("=")
        client.cookies[name] = key
        return client

    return client_of


def pages(kind: str, count: int, timer: Timer) -> int:
    """The load's page scenarios, ``count`` requests, each with a session signed in as the
    preparation signs them in: the workbench's to-do list and case pages as the benchmark's
    officer (the county's cases, newest first), "my cases" and a case's page as the generated
    applicants (each their own session, one case each)."""

    from bench.prepare import _sessions, own_cases
    from govhall.accounts.models import StaffAssignment, User
    from govhall.cases.management.commands.bench_data import APPLICANT_PREFIX
    from govhall.cases.models import Case, CaseState

    client_of = _session_clients()
    requests: list[tuple[Any, str]] = []
    if kind.startswith("workbench_"):
        officer = User.objects.filter(username="bench-officer").first()
        if officer is None:
            print("no benchmark officer: run make bench first", file=sys.stderr)
            return 1
        client = client_of(_sessions([officer], staff=True)[0])
        if kind == "workbench_todo_page":
            requests = [(client, "/workbench/cases/")] * (count + WARM_UP)
        else:
            region = StaffAssignment.objects.filter(user=officer).values_list("department__region_id", flat=True)[0]
            numbers = (
                Case.objects.filter(region_id=region)
                .exclude(state=CaseState.DRAFT)
                .order_by("-submitted_at")
                .values_list("number", flat=True)[: count + WARM_UP]
            )
            requests = [(client, f"/workbench/cases/{number}/") for number in numbers]
    else:
        people = list(User.objects.filter(username__startswith=APPLICANT_PREFIX).order_by("id")[: count + WARM_UP])
        clients = [client_of(cookie) for cookie in _sessions(people)]
        if kind == "portal_my_cases":
            requests = [(client, "/cases/") for client in clients]
        else:
            requests = [(clients[place], f"/cases/{number}/") for place, number in own_cases(people, per_person=1)]
    if len(requests) <= WARM_UP:
        print(f"{kind}: not enough to read: run make bench first", file=sys.stderr)
        return 1
    for client, path in requests[:WARM_UP]:
        _page(client, path, PAGE_CHECKS[kind].encode(), kind)
    for client, path in requests[WARM_UP:]:
        timer.timed(kind, partial(_page, client, path, PAGE_CHECKS[kind].encode(), kind))
    return 0


def guides(count: int, timer: Timer, *, rendered: bool = False) -> int:
    """First readings of ``count`` published guides (the load's guide scenario before its cache
    holds them): the shared cache is emptied first, and each guide is read once; its body comes
    from the database (``GuideBody``) once it has been rendered, and with ``rendered``
    (``guide_rendered``) the bodies kept are deleted first, so that each reading renders it."""
    from django.core.cache import cache
    from django.test import Client

    from govhall.catalog.models import GuideBody, Implementation, ItemState

    codes = list(
        Implementation.objects.filter(state=ItemState.ACTIVE, entry__state=ItemState.ACTIVE)
        .order_by("id")
        .values_list("implementation_code", flat=True)[: count + WARM_UP]
    )
    if len(codes) <= WARM_UP:
        print("not enough published guides: run make bench first", file=sys.stderr)
        return 1
    cache.clear()
    if rendered:
        GuideBody.objects.filter(implementation__implementation_code__in=codes).delete()
    client = Client(HTTP_HOST="127.0.0.1")

    def read(code: str) -> Any:
        return _page(client, f"/services/{code}/", b"section-materials", f"guide {code}")

    for code in codes[:WARM_UP]:
        read(code)
    for code in codes[WARM_UP:]:
        timer.timed("guide_rendered" if rendered else "guide", partial(read, code))
    return 0


def tiles(count: int, timer: Timer) -> int:
    """The load's dashboard tiles (the province supervisor's 14 paths), ``count`` rounds."""
    import random

    from django.test import Client

    from bench.prepare import _figures_paths, _province_supervisor

    client = Client(HTTP_AUTHORIZATION=f"Bearer {_tokens([_province_supervisor()])[0]}", HTTP_HOST="127.0.0.1")
    paths = _figures_paths(random.Random(7))["tiles"]  # noqa: S311 - a fixed sample of paths

    def read(path: str) -> Any:
        answer = _checked(client.get(path), 200, path)
        if "received" not in answer:
            raise SystemExit(f"{path}: no figures")
        return answer

    def kind(path: str) -> str:
        """The path's region level and period: each is timed apart as well as all together."""
        query = dict(part.split("=", 1) for part in path.split("?", 1)[1].split("&"))
        region = query["region"]
        level = "province" if region.endswith("0000") else "city" if region.endswith("00") else "county"
        return f"tiles: {level}, {'year to date' if query['start'].endswith('-01-01') else 'last month'}"

    for path in paths:
        read(path)
    for _ in range(count):
        for path in paths:
            timer.timed("tiles", partial(read, path))
            timer.last_also_as("tiles", kind(path))
    return 0


def searches(kind: str, count: int, timer: Timer) -> int:
    """Uncached search pages, as the load's ``search_<kind>_uncached`` asks for them: each query's
    pages from the second on, in turn, each read once after the shared cache is emptied."""
    from django.core.cache import cache
    from django.test import Client

    from bench.prepare import SEARCH_BROAD, SEARCH_SPECIFIC, SEARCH_TWO_CHARACTERS
    from bench.runner import PORTAL_PAGE_SIZE, UNCACHED_SEARCH_PAGES
    from govhall.catalog.search import implementation_search

    words = {"specific": SEARCH_SPECIFIC, "broad": SEARCH_BROAD, "two_characters": SEARCH_TWO_CHARACTERS}[kind]
    hits = {word: implementation_search(query=word, page_size=1).total for word in words}
    paths = [
        f"/search/?q={word}&page={page}"
        for page in range(2, UNCACHED_SEARCH_PAGES + 1)
        for word in words
        if page <= -(-hits[word] // PORTAL_PAGE_SIZE)
    ][: count + WARM_UP]
    cache.clear()
    client = Client(HTTP_HOST="127.0.0.1")

    def read(path: str) -> Any:
        return _page(client, path, b"result-list", f"search {path}")

    for path in paths[:WARM_UP]:
        read(path)
    step = f"search {kind}"
    for path in paths[WARM_UP:]:
        timer.timed(step, partial(read, path))
        # Each query's pages apart as well.
        timer.last_also_as(step, f"{step}: {path.split('=')[1].split('&')[0]}")
    return 0


def licence_verifications(count: int, timer: Timer) -> int:
    """The verification scenarios' requests for the pool's licences in turn: the QR code's page
    (``licence_verify``) and the API (``licence_verify_api``), ``count`` of each."""
    from django.test import Client

    from bench.prepare import licences_ensure

    identifiers = licences_ensure(region_code=READY_REGION, count=500, people=[])
    if not identifiers:
        print(f"no licences in {READY_REGION}: run make bench first", file=sys.stderr)
        return 1
    client = Client(HTTP_HOST="127.0.0.1")

    def page(identifier: str) -> Any:
        return _page(client, f"/verify/{identifier}/", b'class="verify-result verify-valid"', f"verify {identifier}")

    def api(identifier: str) -> Any:
        answer = client.post(
            "/api/v1/licences/verify", data=json.dumps({"identifier": identifier}), content_type="application/json"
        )
        if _checked(answer, 200, f"verify {identifier}")["code"] != "valid":
            raise SystemExit(f"verify {identifier}: {answer.content[:200]!r}")
        return answer

    for identifier in identifiers[:WARM_UP]:
        page(identifier)
        api(identifier)
    for number in range(count):
        identifier = identifiers[(WARM_UP + number) % len(identifiers)]
        timer.timed("licence_verify", partial(page, identifier))
        timer.timed("licence_verify_api", partial(api, identifier))
    return 0


def ratings(count: int, timer: Timer) -> int:
    """The rating scenario's flow for ``count`` unused invitations of the pools' region (sent
    where missing): the form, then the rating (``bench.flows.RATING_LEVELS`` in turn). The test
    client does not check CSRF tokens: the form's token is sent all the same."""
    from django.test import Client

    from bench.flows import rating_answers
    from bench.prepare import invitations_ensure

    tokens = invitations_ensure(region_code=READY_REGION, count=count + WARM_UP)
    if len(tokens) <= WARM_UP:
        print(f"no closed cases of benchmark applicants in {READY_REGION}: run make bench first", file=sys.stderr)
        return 1
    client = Client(HTTP_HOST="127.0.0.1")

    def rate(number: int, token: str) -> None:
        record = timer.timed if number >= WARM_UP else _untimed
        form = record("rating.form", partial(client.get, f"/rate/{token}/"))
        page = form.content.decode()
        if form.status_code != 200 or "csrfmiddlewaretoken" not in page:
            raise SystemExit(f"rating form: {form.status_code} {page[:200]}")
        fields: dict[str, list[str]] = {}
        for name, value in rating_answers(page, number):
            fields.setdefault(name, []).append(value)
        answer = record("rating.rate", partial(client.post, f"/rate/{token}/", fields))
        if answer.status_code != 302 or not answer["Location"].endswith("/rate/done/"):
            raise SystemExit(f"rating: {answer.status_code} {answer.content[:200]!r}")

    for number, token in enumerate(tokens):
        rate(number, token)
    return 0


def bundle_submissions(count: int, timer: Timer) -> int:
    """The bundle scenario's submission (``bench.prepare.BUNDLE_CODE``) for ``count`` applicants
    of the pools' region, each signed in with a session: the application is started, filled and
    given its materials through the services (``bundle_applications_ready``, untimed), then its
    edit page read (``bundle_page``) and the page's form sent with "submit" (``bundle_submit``),
    as the browser does: the four cases filed in one transaction. The statements say how long
    a lane of the audit chain was held (the one lock of the whole platform before ADR 29)."""
    from bench.page_forms import form_fields
    from bench.prepare import _sessions, bundle_applications_ready
    from govhall.accounts.models import User
    from govhall.cases.management.commands.bench_data import APPLICANT_PREFIX, sample_pdf_bytes

    people = list(User.objects.filter(username__startswith=APPLICANT_PREFIX).order_by("id")[: count + WARM_UP])
    references = bundle_applications_ready(
        people=people, region_code=READY_REGION, pdf=sample_pdf_bytes(size=MATERIAL_BYTES, variant=98)
    )
    if len(references) <= WARM_UP:
        print(f"no bundle to apply for in {READY_REGION}, or no applicants: run make bench first", file=sys.stderr)
        return 1
    client_of = _session_clients()
    for number, (reference, cookie) in enumerate(zip(references, _sessions(people), strict=True)):
        client = client_of(cookie)
        edit = f"/bundles/applications/{reference}/edit/"
        record = timer.timed if number >= WARM_UP else _untimed
        page = record("bundle_page", partial(client.get, edit))
        if page.status_code != 200:
            raise SystemExit(f"bundle edit page: {page.status_code}")
        fields = {**form_fields(page.content.decode(), form_id="bundle-form"), "action": "submit"}
        answer = record("bundle_submit", partial(client.post, edit, fields))
        if answer.status_code != 302 or "/edit/" in answer["Location"]:
            raise SystemExit(f"bundle submit: {answer.status_code} {answer.content[:300]!r}")
    return 0


def submissions(count: int, timer: Timer, *, steps: bool = False) -> int:
    """The load's submission for ``count`` applicants: in one call (``bench.flows.Submission``)
    or, with ``steps``, step by step (``bench.flows.SubmissionSteps``)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from govhall.accounts.models import User
    from govhall.cases.management.commands.bench_data import APPLICANT_PREFIX, sample_pdf_bytes

    people = list(User.objects.filter(username__startswith=APPLICANT_PREFIX).order_by("id")[: count + WARM_UP])
    if len(people) <= WARM_UP:
        print("no generated applicants: run make bench first", file=sys.stderr)
        return 1
    target = _submission_target(person=people[0].person, region_code=READY_REGION)
    if target is None:
        print(f"no implementation in {READY_REGION} fits the submission", file=sys.stderr)
        return 1
    pdf = sample_pdf_bytes(size=MATERIAL_BYTES, variant=99)
    tokens = _tokens(people)

    # One client for all: a new one loads the middleware again on its first request.
    client = Client(HTTP_HOST="127.0.0.1")

    def file(number: int, token: str) -> None:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        record = timer.timed if number >= WARM_UP else _untimed
        uploads = [
            SimpleUploadedFile("材料扫描件.pdf", pdf, content_type="application/pdf") for _ in target["materials"]
        ]
        fields = {
            "implementation_code": target["implementation_code"],
            "data": json.dumps(target["data"], ensure_ascii=False),
            "material_name": list(target["materials"]),
            "file": uploads,
        }
        case = _checked(
            record(
                "file",
                partial(client.post, "/api/v1/cases/with-materials", fields, HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex),
            ),
            201,
            "file",
        )
        if case["state"]["code"] != "submitted" or len(case["materials"]) != len(uploads):
            raise SystemExit(f"file: unexpected answer {str(case)[:200]}")

    def submit(number: int, token: str) -> None:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        record = timer.timed if number >= WARM_UP else _untimed
        draft = _checked(
            record(
                "draft",
                lambda: client.post(
                    "/api/v1/applications",
                    data=json.dumps({"implementation_code": target["implementation_code"]}),
                    content_type="application/json",
                ),
            ),
            200,
            "draft",
        )
        reference = draft["reference"]
        data = {**(draft.get("data") or {}), **target["data"]}
        _checked(
            record(
                "form",
                lambda: client.put(
                    f"/api/v1/applications/{reference}",
                    data=json.dumps({"data": data}),
                    content_type="application/json",
                ),
            ),
            200,
            "form",
        )
        for name in target["materials"]:
            upload = SimpleUploadedFile("材料扫描件.pdf", pdf, content_type="application/pdf")
            _checked(
                record(
                    "upload",
                    partial(
                        client.post,
                        f"/api/v1/applications/{reference}/materials",
                        data={"material_name": name, "file": upload},
                    ),
                ),
                201,
                "upload",
            )
        case = _checked(
            record(
                "submit",
                lambda: client.post(f"/api/v1/applications/{reference}/submit", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex),
            ),
            200,
            "submit",
        )
        if case["state"]["code"] != "submitted":
            raise SystemExit(f"submit: unexpected answer {str(case)[:200]}")

    for number, token in enumerate(tokens):
        (submit if steps else file)(number, token)
    print(f"{len(target['materials'])} material(s) of {len(pdf) // 1024} KB; {target['implementation_code']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.actions_timed", description=__doc__)
    parser.add_argument(
        "kind",
        choices=(
            "accept",
            "decide",
            "submission",
            "submission_steps",
            "bundle_submission",
            "todo_list",
            "guide",
            "guide_rendered",
            "tiles",
            "search_specific",
            "search_broad",
            "search_two_characters",
            "licence_verify",
            "rating",
            *PAGE_CHECKS,
        ),
    )
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--statements", action="store_true", help="list the middle request's statements")
    parser.add_argument(
        "--profile", action="store_true", help="print where the timed requests spent their time (needs pyinstrument)"
    )
    parser.add_argument(
        "--profile-all", action="store_true", help="as --profile, every frame shown, the libraries' too"
    )
    parser.add_argument(
        "--calls",
        action="store_true",
        help="count the Python and C functions each request calls (a figure the machine's speed does not move)",
    )
    arguments = parser.parse_args(argv)
    if arguments.calls and (arguments.profile or arguments.profile_all):
        parser.error("--calls and --profile each take the interpreter's profile hook: give one")
    _django()
    _keys_checked("bench.actions_timed")
    # Started as a web worker starts: the segmenter's dictionary loaded and what is loaded by
    # then frozen out of the collector's full passes (govhall/wsgi.py). Without it the garbage
    # collector walked the startup objects during the timed requests, which the server never does.
    # Its requests (the test client's, warm-up included) count as a worker's do, so what they keep
    # is frozen at the same requests (``govhall.workers.HeapSettled``, connected in govhall/wsgi.py).
    import govhall.wsgi  # noqa: F401

    timer = Timer()
    timer.counting = arguments.calls
    if arguments.profile or arguments.profile_all:
        from pyinstrument import Profiler

        timer.profiler = Profiler(interval=0.0002)
    if arguments.kind.startswith("submission"):
        failed = submissions(arguments.count, timer, steps=arguments.kind == "submission_steps")
    elif arguments.kind == "bundle_submission":
        failed = bundle_submissions(arguments.count, timer)
    elif arguments.kind == "todo_list":
        failed = todo_lists(arguments.count, timer)
    elif arguments.kind.startswith("guide"):
        failed = guides(arguments.count, timer, rendered=arguments.kind == "guide_rendered")
    elif arguments.kind == "tiles":
        failed = tiles(arguments.count, timer)
    elif arguments.kind == "licence_verify":
        failed = licence_verifications(arguments.count, timer)
    elif arguments.kind == "rating":
        failed = ratings(arguments.count, timer)
    elif arguments.kind in PAGE_CHECKS:
        failed = pages(arguments.kind, arguments.count, timer)
    elif arguments.kind.startswith("search_"):
        failed = searches(arguments.kind.removeprefix("search_"), arguments.count, timer)
    else:
        failed = actions(arguments.kind, arguments.count, timer)
    if not failed:
        timer.report(statements=arguments.statements)
        if timer.profiler is not None:
            print(timer.profiler.output_text(unicode=True, show_all=arguments.profile_all, short_mode=False))
    return failed


if __name__ == "__main__":
    sys.exit(main())
