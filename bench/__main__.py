"""``python -m bench``: run the benchmark against PostgreSQL on this machine and print one table.

Examples:
    python -m bench                                   # every scenario, 200,000 cases, 20 s each
    python -m bench --cases 10000000 --duration 30    # the large run
    python -m bench --scenarios ceilings,guide --no-generate
"""

import argparse
import sys
from pathlib import Path

from bench.runner import SCENARIOS, Options, run


def main(argv: list[str] | None = None) -> int:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=defaults.database_url, help="a PostgreSQL database on loopback")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated groups, in order (default all: {','.join(SCENARIOS)})",
    )
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=defaults.connections, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="wrk threads")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--cases", type=int, default=defaults.cases, help="generated cases in the database")
    parser.add_argument("--implementations", type=int, default=defaults.implementations)
    parser.add_argument("--applicants", type=int, default=None, help="generated applicants (default cases / 50)")
    parser.add_argument("--no-generate", dest="generate", action="store_false", help="use the data as it is")
    parser.add_argument("--warmup", type=float, default=defaults.warmup, help="seconds of warm-up traffic")
    parser.add_argument("--results-dir", type=Path, default=defaults.results_dir)
    parser.add_argument("--label", default="", help="a note kept in the results file")
    arguments = parser.parse_args(argv)
    scenarios = tuple(part.strip() for part in arguments.scenarios.split(",") if part.strip())
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    options = Options(
        database_url=arguments.database_url,
        scenarios=scenarios,
        duration=arguments.duration,
        connections=arguments.connections,
        threads=arguments.threads,
        workers=arguments.workers,
        port=arguments.port,
        cases=arguments.cases,
        implementations=arguments.implementations,
        applicants=arguments.applicants,
        generate=arguments.generate,
        warmup=arguments.warmup,
        results_dir=arguments.results_dir,
        label=arguments.label,
    )
    run(options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
