"""What PostgreSQL's busy sessions wait on while a scenario runs: sampled from
``pg_stat_activity`` by the peak day and by every writer's scenario (``runner.WAITS_SAMPLED``),
printed under the table and kept as ``waits`` in the results file."""

import re
import threading
import urllib.parse
from collections import Counter
from typing import Any

SAMPLE_SECONDS = 0.1
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_SPACE = re.compile(r"\s+")


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


def summary_line(name: str, waits: dict[str, Any]) -> str:
    """A scenario's waits in a few lines for the printed table's foot."""
    if not waits:
        return ""
    events = ", ".join(f"{event} {sessions:.2f}" for event, sessions in waits["waiting_on"].items()) or "none"
    line = (
        f"{name}: {waits['active_sessions']:.2f} PostgreSQL sessions active on average "
        f"({waits['readings']} readings); waiting, on average: {events}"
    )
    for lock in waits["locks"][:3]:
        line += (
            f"\n    {lock['sessions']:.2f} waiting in «{lock['waiting']}» on a session that ran «{lock['holder_ran']}»"
        )
    if waits.get("error"):
        line += f"\n    the sampler stopped: {waits['error']}"
    return line
