"""The `govhall` command: demo data, serving with the task worker, and the worker alone.

govhall demo      load the demo data (idempotent) and print the demo accounts
govhall serve     serve on HOST:PORT (default 127.0.0.1:8000) with gunicorn and the task worker
govhall worker    run the task worker alone
govhall scheduler enqueue the periodic jobs when due (govhall/scheduling.py), alone
govhall job NAME  run one periodic job now, in the foreground (--list lists them)
govhall accounts  print the demo accounts
"""

import argparse
import os
import signal
import subprocess
import sys
import time


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhall.settings")
    import django

    django.setup()


def demo() -> int:
    _django_setup()
    from govhall.demo import demo_accounts_text, demo_load

    started = time.monotonic()
    report = demo_load()
    print(
        f"Demo data ready in {time.monotonic() - started:.1f}s: {report.regions_created} regions, "
        f"{report.departments} departments, {report.halls} halls, {report.synonyms} synonyms, "
        f"{report.entries_created} new catalogue entries, {report.implementations_created} new implementations."
    )
    print(demo_accounts_text())
    return 0


def accounts() -> int:
    _django_setup()
    from govhall.demo import demo_accounts_text

    print(demo_accounts_text())
    return 0


def totp(username: str) -> int:
    _django_setup()
    from govhall.demo import demo_totp_code

    print(demo_totp_code(username))
    return 0


def _banner(host: str, port: str) -> str:
    base = f"http://{host}:{port}"
    return "\n".join(
        [
            "",
            f"govhall is serving at {base}/",
            f"  portal (一网通办)       {base}/",
            f"  a search               {base}/search/?q=开公司",
            f"  citizen login          {base}/accounts/login/   (register: {base}/accounts/register/)",
            f"  SMS outbox (demo)      {base}/dev/outbox/   one-time codes arrive here",
            f"  staff workbench        {base}/workbench/",
            f"  Django admin           {base}/admin/",
            f"  API and its docs       {base}/api/v1/docs",
            f"  health                 {base}/healthz",
            "Stop with Ctrl-C.",
        ]
    )


def serve(workers: int) -> int:
    """Run gunicorn and the task worker together until either stops or Ctrl-C."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    web = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "gunicorn",
            "govhall.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
        ]
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "db_worker"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "govhall.settings"},
    )
    scheduler_process = subprocess.Popen([sys.executable, "-m", "govhall.cli", "scheduler"])
    accounts()
    print(_banner(host, port), flush=True)

    def stop(*_args: object) -> None:
        for process in (web, worker, scheduler_process):
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while web.poll() is None and worker.poll() is None and scheduler_process.poll() is None:
            time.sleep(0.5)
    finally:
        stop()
        for process in (web, worker, scheduler_process):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0 if web.returncode in (0, -signal.SIGTERM) else 1


def scheduler() -> int:
    """Enqueue the periodic jobs when due until SIGTERM or Ctrl-C."""
    _django_setup()
    from govhall.scheduling import scheduler_loop

    stopping: list[bool] = []

    def stop(*_args: object) -> None:
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler_loop(should_stop=lambda: bool(stopping))
    return 0


def job(name: str | None) -> int:
    _django_setup()
    from govhall.scheduling import JOBS, job_run_now

    if not name:
        for known in JOBS:
            print(f"{known.name:32} every {known.every}  {known.description}")
        return 0
    try:
        result = job_run_now(name)
    except KeyError:
        print(f"no job named {name!r}; `govhall job --list` lists them", file=sys.stderr)
        return 2
    print(f"{name}: {result}")
    return 0


def worker() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhall.settings")
    os.execv(sys.executable, [sys.executable, "-m", "django", "db_worker"])  # noqa: S606


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govhall", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="load the demo data and print the demo accounts")
    serve_parser = commands.add_parser("serve", help="serve the platform with its task worker")
    serve_parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    commands.add_parser("worker", help="run the task worker")
    commands.add_parser("scheduler", help="enqueue the periodic jobs when due")
    job_parser = commands.add_parser("job", help="run one periodic job now (--list lists them)")
    job_parser.add_argument("name", nargs="?")
    job_parser.add_argument("--list", action="store_true")
    commands.add_parser("accounts", help="print the demo accounts")
    totp_parser = commands.add_parser("totp", help="print a demo staff member's current TOTP code")
    totp_parser.add_argument("username")
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        return demo()
    if arguments.command == "serve":
        return serve(arguments.workers)
    if arguments.command == "worker":
        return worker()
    if arguments.command == "scheduler":
        return scheduler()
    if arguments.command == "job":
        return job(None if arguments.list else arguments.name)
    if arguments.command == "totp":
        return totp(arguments.username)
    return accounts()


if __name__ == "__main__":
    sys.exit(main())
