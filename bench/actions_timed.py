"""Accept or decide actions timed in one process, through the API with Django's test client,
each statement timed: what one action costs before any load, to compare a change before and
after on the same data. Consumes waiting tasks of the benchmark's pools (``make bench`` tops
them up).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/govhall_bench GOVHALL_VAR_DIR=var/bench \\
    DEBUG=0 GOVHALL_BENCH=1 python -m bench.actions_timed accept --count 80 [--statements]
"""

import argparse
import json
import statistics
import sys
import time
from typing import Any

from bench.prepare import _django, _tokens

READY_REGION = "330106"
WARM_UP = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.actions_timed", description=__doc__)
    parser.add_argument("kind", choices=("accept", "decide"))
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--statements", action="store_true", help="list the middle action's statements")
    arguments = parser.parse_args(argv)
    _django()
    from django.db import connection
    from django.test import Client

    from govhall.accounts.models import User
    from govhall.cases.management.commands.bench_data import ready_tasks

    token = _tokens([User.objects.get(username="bench-clerk")])[0]
    ids = list(
        ready_tasks(region_code=READY_REGION, kind=arguments.kind)
        .order_by("id")
        .values_list("id", flat=True)[: arguments.count + WARM_UP]
    )
    if len(ids) <= WARM_UP:
        print(f"no {arguments.kind} tasks waiting in {READY_REGION}: run make bench first", file=sys.stderr)
        return 1
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    body: dict[str, Any] = {"action": "accept"}
    if arguments.kind == "decide":
        body = {"action": "decide", "fields": {"decision": "approve"}}
    statements: list[tuple[float, str]] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(((time.perf_counter() - started) * 1000, sql))

    def act(task_id: int) -> None:
        answer = client.post(
            f"/api/v1/workbench/tasks/{task_id}/actions", data=json.dumps(body), content_type="application/json"
        )
        if answer.status_code != 200:
            raise SystemExit(f"task {task_id}: {answer.status_code} {answer.content[:300]!r}")

    for task_id in ids[:WARM_UP]:
        act(task_id)
    times: list[float] = []
    by_action: list[list[tuple[float, str]]] = []
    for task_id in ids[WARM_UP:]:
        statements.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(timed):
            act(task_id)
        times.append((time.perf_counter() - started) * 1000)
        by_action.append(list(statements))
    counts = [len(action) for action in by_action]
    database = [sum(ms for ms, _sql in action) for action in by_action]
    print(
        f"{arguments.kind}: {len(times)} actions, p50 {statistics.median(times):.1f} ms, "
        f"mean {statistics.mean(times):.1f} ms; statements p50 {statistics.median(counts):.0f}; "
        f"database p50 {statistics.median(database):.1f} ms"
    )
    if arguments.statements:
        for ms, sql in by_action[len(by_action) // 2]:
            print(f"{ms:6.2f}  {sql[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
