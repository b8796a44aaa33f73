#!/usr/bin/env python3
"""Sequential latency of the main public pages against a running govhall (loopback only).

    make run                                   # in one shell (or `govhall serve`)
    python3 scripts/portal_latency.py          # in another; --base and --requests change it

Prints p50 and p95 per page over N sequential requests, after one warm-up request each, and
checks each answer is a 200 with a piece of the expected content. The load harness of the
benchmark issue replaces this with concurrent load and ceilings.
"""

import argparse
import statistics
import time
import urllib.parse
import urllib.request

SEARCHES = ("开公司", "社保卡", "办身份证", "食品经营许可", "公积金")
PAGES = {
    "home": (["/"], "一网通办"),
    "search": (
        ["/search/?q=" + urllib.parse.quote(query) for query in SEARCHES],
        "<mark>",
    ),
    "guide": (["/services/000145001000-330106SCJG/"], "申请材料"),
    "api list": (["/api/v1/implementations?page_size=20"], '"total"'),
    "api search": (["/api/v1/implementations?q=" + urllib.parse.quote("出生证")], "出生医学证明"),
}


def fetch(url: str, expected: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback URL from the command line
        body = response.read().decode("utf-8")
        status = response.status
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200 or expected not in body:
        raise SystemExit(f"unexpected answer from {url}: {status}, no {expected!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=100)
    arguments = parser.parse_args()
    if urllib.parse.urlparse(arguments.base).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("loopback addresses only")
    print(f"{'page':<11} {'p50 ms':>8} {'p95 ms':>8}   ({arguments.requests} sequential requests each)")
    for name, (paths, expected) in PAGES.items():
        for path in paths:
            fetch(arguments.base + path, expected)
        times = sorted(
            fetch(arguments.base + paths[number % len(paths)], expected) for number in range(arguments.requests)
        )
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(f"{name:<11} {statistics.median(times):8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
