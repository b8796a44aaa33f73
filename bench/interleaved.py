"""Two checkouts' code compared on one request, interleaved: a process of each serves the request
in bursts, taking turns, and each burst's CPU is read, so that a change of the machine's speed
falls on both alike. On machines whose speed moves by a third within minutes, alternated runs
cannot tell a change of a tenth; interleaved bursts can (docs/performance.md, the fortieth
session's section).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/govhall_bench GOVHALL_VAR_DIR=var/bench \\
    DEBUG=0 GOVHALL_BENCH=1 CACHE_URL=redis://127.0.0.1:6379/7 \\
    python -m bench.interleaved todo_list --against /tmp/old_tree [--rounds 20] [--burst 200]
    python -m bench.interleaved accept --against /tmp/old_tree --burst 100
    python -m bench.interleaved get --url /api/v1/workbench/cases/<number> --against /tmp/old_tree

The other checkout is a worktree of the commit to compare (``git worktree add /tmp/old_tree
<commit>``), with this checkout's ``var`` linked into it (``ln -s $PWD/var /tmp/old_tree/var``):
the benchmark's data was sealed with those keys. Each side runs this file with its own checkout
first on the import path, so the other side need not have it. ``todo_list`` and ``get`` read as
the benchmark's officer; ``page`` reads ``--url`` without signing in; ``accept`` and ``decide``
act on the waiting tasks of the benchmark's pools, each side on its own half (every other one).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

KINDS = ("todo_list", "get", "page", "accept", "decide")
TODO_LIST = "/api/v1/workbench/tasks?page_size=50"
WARM_UP = 20


def request_of(kind: str, *, url: str = "", side: int = 0) -> Callable[[], None]:
    """One request of ``kind``, made and checked (200) through Django's test client."""
    import json

    from django.test import Client

    from bench.actions_timed import READY_REGION
    from bench.prepare import _tokens
    from govhall.accounts.models import User

    if kind == "page":
        client = Client(HTTP_HOST="127.0.0.1")
        return lambda: _checked(client.get(url), url)
    if kind in ("todo_list", "get"):
        officer = User.objects.get(username="bench-officer")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {_tokens([officer])[0]}", HTTP_HOST="127.0.0.1")
        path = TODO_LIST if kind == "todo_list" else url
        return lambda: _checked(client.get(path), path)
    from govhall.cases.management.commands.bench_data import ready_tasks

    clerk = User.objects.get(username="bench-clerk")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {_tokens([clerk])[0]}", HTTP_HOST="127.0.0.1")
    ids = iter(
        sorted(ready_tasks(region_code=READY_REGION, kind=kind).order_by().values_list("id", flat=True))[side::2]
    )
    body = json.dumps(
        {"action": "accept"} if kind == "accept" else {"action": "decide", "fields": {"decision": "approve"}}
    )

    def act() -> None:
        task_id = next(ids, None)
        if task_id is None:
            raise SystemExit(f"no {kind} tasks left waiting in {READY_REGION}: top the pools up (docs/performance.md)")
        path = f"/api/v1/workbench/tasks/{task_id}/actions"
        _checked(client.post(path, data=body, content_type="application/json"), path)

    return act


def _checked(response: Any, path: str) -> None:
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {response.content[:300]!r}")


def serve(request: Callable[[], None], bursts: Iterable[str], out: IO[str]) -> None:
    """Makes the request a few times, says ``ready``, then for each burst size read makes it
    that many times and writes the CPU seconds they took."""
    for _ in range(WARM_UP):
        request()
    print("ready", file=out, flush=True)
    for line in bursts:
        count = int(line)
        started = time.process_time()
        for _ in range(count):
            request()
        print(time.process_time() - started, file=out, flush=True)


def compared(names: list[str], seconds: dict[str, list[float]], burst: int) -> list[str]:
    """The lines that report the two sides' CPU a request and the ratio of each round's pair."""
    lines = []
    per_request = {name: [value / burst * 1000 for value in seconds[name]] for name in names}
    for name in names:
        values = per_request[name]
        lines.append(
            f"{name}: CPU a request median {statistics.median(values):.3f} ms, "
            f"mean {statistics.mean(values):.3f}, least {min(values):.3f} ({len(values)} bursts of {burst})"
        )
    ratios = sorted(a / b for a, b in zip(per_request[names[0]], per_request[names[1]], strict=True))
    lines.append(
        f"{names[0]} ÷ {names[1]}, each round: median {statistics.median(ratios):.3f} "
        f"(from {ratios[0]:.3f} to {ratios[-1]:.3f}; a quarter of the rounds at most "
        f"{ratios[len(ratios) // 4]:.3f}, a quarter at least {ratios[-1 - len(ratios) // 4]:.3f})"
    )
    return lines


def _side(checkout: Path, arguments: argparse.Namespace, side: int) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", arguments.kind, "--side", str(side)]
    if arguments.url:
        command += ["--url", arguments.url]
    process = subprocess.Popen(  # noqa: S603 - this file again, with the arguments given to it
        command, cwd=checkout, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise SystemExit(f"{checkout}: the side did not start (its error is above)")
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interleaved", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--against", type=Path, help="the other checkout (a worktree of the commit to compare)")
    parser.add_argument("--url", default="", help="the address read by get and page")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--burst", type=int, default=200, help="requests a side makes in its turn")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--side", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.kind in ("get", "page") and not arguments.url:
        parser.error(f"{arguments.kind} reads --url")
    if arguments.serve:
        # This file's directory is not the checkout's: the side's own code comes from PYTHONPATH.
        sys.path[:] = [path for path in sys.path if Path(path or ".").resolve() != Path(__file__).resolve().parent]
        from bench.prepare import _django

        _django()
        serve(request_of(arguments.kind, url=arguments.url, side=arguments.side), sys.stdin, sys.stdout)
        return 0
    if arguments.against is None or not (arguments.against / "govhall").is_dir():
        parser.error("--against names the other checkout (a directory with govhall/ in it)")
    checkouts = [Path(__file__).resolve().parent.parent, arguments.against.resolve()]
    processes = [_side(checkout, arguments, side) for side, checkout in enumerate(checkouts)]
    names = [str(checkout) for checkout in checkouts]
    seconds: dict[str, list[float]] = {name: [] for name in names}
    try:
        for round_number in range(arguments.rounds):
            # Each side goes first in every other round.
            order = [0, 1] if round_number % 2 == 0 else [1, 0]
            for side in order:
                process = processes[side]
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write(f"{arguments.burst}\n")
                process.stdin.flush()
                answer = process.stdout.readline()
                if not answer:
                    raise SystemExit(f"{names[side]}: the side stopped (its error is above)")
                seconds[names[side]].append(float(answer))
    finally:
        for process in processes:
            assert process.stdin is not None
            process.stdin.close()
            process.wait()
    print("\n".join(compared(names, seconds, arguments.burst)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
