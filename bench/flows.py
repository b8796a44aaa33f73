"""A small HTTP/1.1 load client on asyncio streams, for the case submission: one request with
files (the case and its materials in one call) or a sequence of dependent requests (draft, form,
upload, submit); for rating a closed case through the link of its SMS invitation (the form,
then the rating sent with the form's CSRF token and cookie); and for submitting a bundle (一件事)
through its page with the applicant's session (the page, then its form sent with the CSRF
token). The single-request scenarios use
wrk, which costs the machine far less CPU per request.

Only loopback addresses are accepted. Every answer is checked (status and content); a flow
that fails a check stops there and counts as one error.
"""

import asyncio
import html
import json
import re
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.page_forms import form_fields

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class CheckFailed(Exception):
    """An answer that is not what the scenario expects."""


@dataclass
class Timings:
    """Latencies (seconds) per step and per whole flow, and the errors seen."""

    steps: dict[str, list[float]] = field(default_factory=dict)
    flows: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def add(self, step: str, seconds: float) -> None:
        self.steps.setdefault(step, []).append(seconds)


async def http_request(
    host: str, port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    """One request on its own connection (gunicorn's sync workers close after each answer)."""
    status, _headers, content = await http_exchange(host, port, method, path, headers, body)
    return status, content


async def http_exchange(
    host: str, port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, list[str]], bytes]:
    """``http_request`` with the answer's headers, by lower-case name, each with every value
    it came with (a page may set several cookies)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body)
        await writer.drain()
        raw_head = await reader.readuntil(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        response_headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                response_headers.setdefault(name.strip().lower(), []).append(value.strip())
        length = response_headers.get("content-length")
        if length:
            content = await reader.readexactly(int(length[-1]))
        elif (response_headers.get("transfer-encoding") or [""])[-1].lower() == "chunked":
            content = await _read_chunked(reader)
        else:
            content = await reader.read()
        return status, response_headers, content
    finally:
        writer.close()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]) -> tuple[str, bytes]:
    """A multipart/form-data body: ``fields`` as (name, value), ``files`` as (field, file name,
    PDF bytes); a name may repeat (the one-call filing pairs each material_name with a file)."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for file_field, file_name, content in files:
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
                "Content-Type: application/pdf\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


class SubmissionSteps:
    """One applicant's whole submission step by step through the API, as an app that saves while
    the applicant goes on makes it: draft, form, materials (each about 150 KB), submit with an
    Idempotency-Key, each answer checked."""

    def __init__(self, *, host: str, port: int, target: dict[str, Any], pdf: bytes, timings: Timings) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError("the benchmark only sends traffic to this machine (loopback)")
        self.host = host
        self.port = port
        self.target = target
        self.pdf = pdf
        self.timings = timings

    async def _call(
        self, step: str, method: str, path: str, token: str, *, json_body: Any = None, expect: int = 200, **extra: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}", **extra.get("headers", {})}
        body = b""
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        elif "multipart" in extra:
            content_type, body = extra["multipart"]
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        status, content = await http_request(self.host, self.port, method, path, headers, body)
        self.timings.add(step, time.perf_counter() - started)
        if status != expect:
            raise CheckFailed(f"{step}: {status} {content.decode('utf-8', 'replace')[:1500]}")
        try:
            return json.loads(content)
        except ValueError as error:
            raise CheckFailed(f"{step}: not JSON {content[:200]!r}") from error

    async def run(self, token: str) -> None:
        started = time.perf_counter()
        code = self.target["implementation_code"]
        draft = await self._call(
            "draft", "POST", "/api/v1/applications", token, json_body={"implementation_code": code}
        )
        reference = draft.get("reference", "")
        if not reference.startswith("draft-") or draft.get("implementation_code") != code:
            raise CheckFailed(f"draft: unexpected answer {str(draft)[:200]}")
        data = {**(draft.get("data") or {}), **self.target["data"]}
        saved = await self._call("form", "PUT", f"/api/v1/applications/{reference}", token, json_body={"data": data})
        if saved.get("saved") is not True:
            raise CheckFailed(f"form: not saved {str(saved)[:200]}")
        for name in self.target["materials"]:
            multipart = _multipart([("material_name", name)], [("file", "材料扫描件.pdf", self.pdf)])
            uploaded = await self._call(
                "upload", "POST", f"/api/v1/applications/{reference}/materials", token, expect=201, multipart=multipart
            )
            if uploaded.get("size") != len(self.pdf) or uploaded.get("material_name") != name:
                raise CheckFailed(f"upload: unexpected answer {str(uploaded)[:200]}")
        key = uuid.uuid4().hex
        case = await self._call(
            "submit",
            "POST",
            f"/api/v1/applications/{reference}/submit",
            token,
            headers={"Idempotency-Key": key},
        )
        if (case.get("state") or {}).get("code") != "submitted" or not case.get("number"):
            raise CheckFailed(f"submit: unexpected answer {str(case)[:200]}")
        self.timings.flows.append(time.perf_counter() - started)


class Submission(SubmissionSteps):
    """One applicant's whole submission in one call, as a department system or an app files it:
    ``POST /api/v1/cases/with-materials`` with the form, every material (each about 150 KB) and
    an Idempotency-Key; the answer is checked to be the submitted case with those materials."""

    async def run(self, token: str) -> None:
        started = time.perf_counter()
        materials = self.target["materials"]
        multipart = _multipart(
            [
                ("implementation_code", self.target["implementation_code"]),
                ("data", json.dumps(self.target["data"], ensure_ascii=False)),
                *(("material_name", name) for name in materials),
            ],
            [("file", "材料扫描件.pdf", self.pdf) for _name in materials],
        )
        case = await self._call(
            "file",
            "POST",
            "/api/v1/cases/with-materials",
            token,
            expect=201,
            multipart=multipart,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        given = sorted((m.get("material_name"), m.get("size")) for m in case.get("materials") or [])
        if (case.get("state") or {}).get("code") != "submitted" or not case.get("number"):
            raise CheckFailed(f"file: unexpected answer {str(case)[:200]}")
        if given != sorted((name, len(self.pdf)) for name in materials):
            raise CheckFailed(f"file: materials {given} are not those sent")
        self.timings.flows.append(time.perf_counter() - started)


class _PageFlow:
    """A flow through the pages of the server on ``host`` (loopback only), timed into ``timings``."""

    def __init__(self, *, host: str, port: int, timings: Timings) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError("the benchmark only sends traffic to this machine (loopback)")
        self.host = host
        self.port = port
        self.timings = timings

    async def _form_sent(self, path: str, fields: Any, cookie: str) -> tuple[int, dict[str, list[str]], bytes]:
        """``fields`` (pairs, or names with a value or a list of them) sent to ``path`` as a
        browser sends a form, with the ``cookie`` header."""
        body = urllib.parse.urlencode(fields, doseq=True).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        return await http_exchange(self.host, self.port, "POST", path, headers, body)


# A rating's level by its turn: most people are satisfied, one in 25 is not and says why (a bad
# review opens the department's follow-up, GB/T 39735), as on the platforms that publish them.
RATING_LEVELS = (5, 5, 5, 5, 4, 5, 5, 5, 5, 3, 5, 5, 5, 5, 4, 5, 5, 5, 5, 5, 4, 5, 5, 5, 2)
RATING_BAD_REASON = "overdue"
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_INDICATOR_FIELD = re.compile(r'name="(indicator_[a-z_]+)"')


def rating_answers(page: str, turn: int) -> list[tuple[str, str]]:
    """What an applicant answers on the rating form ``page`` at their ``turn``: the level of
    ``RATING_LEVELS``, each indicator the form offers at the same level, and for a bad review
    its reason and a comment."""
    level = RATING_LEVELS[turn % len(RATING_LEVELS)]
    answers = [("level", str(level)), *((name, str(level)) for name in dict.fromkeys(_INDICATOR_FIELD.findall(page)))]
    if level <= 2:
        answers += [("reasons", RATING_BAD_REASON), ("comment", "等了很久才办结，希望加快办理。")]
    return answers


class Rating(_PageFlow):
    """One applicant rating a closed case through the link of the SMS sent when it closed (no
    signing in: the link is the key): the form, then the rating with the form's CSRF token and
    cookie; the answer must send them to the thank-you page."""

    async def run(self, token: str, turn: int) -> None:
        started = time.perf_counter()
        path = f"/rate/{token}/"
        status, headers, content = await http_exchange(self.host, self.port, "GET", path, {})
        self.timings.add("form", time.perf_counter() - started)
        page = content.decode("utf-8", "replace")
        form = _CSRF_FIELD.search(page)
        cookie = next(
            (value.split(";", 1)[0] for value in headers.get("set-cookie", []) if value.startswith("csrftoken=")),
            "",
        )
        if status != 200 or form is None or not cookie:
            raise CheckFailed(f"form: {status} {page[:300]}")
        fields = [("csrfmiddlewaretoken", html.unescape(form.group(1))), *rating_answers(page, turn)]
        sent = time.perf_counter()
        status, headers, content = await self._form_sent(path, fields, cookie)
        self.timings.add("rate", time.perf_counter() - sent)
        location = (headers.get("location") or [""])[-1]
        if status != 302 or not location.endswith("/rate/done/"):
            raise CheckFailed(f"rate: {status} {location} {content.decode('utf-8', 'replace')[:300]}")
        self.timings.flows.append(time.perf_counter() - started)


async def pool_run(
    *, run: Callable[[int, str], Awaitable[None]], pool: list[str], connections: int, duration: float, timings: Timings
) -> tuple[float, int]:
    """``connections`` flows at once for ``duration`` seconds, each item of ``pool`` used once
    (``run(turn, item)``); returns the seconds taken and how many times a connection found the
    pool empty."""
    deadline = time.perf_counter() + duration
    items = iter(enumerate(pool))
    exhausted = 0

    async def worker() -> None:
        nonlocal exhausted
        while time.perf_counter() < deadline:
            turn, item = next(items, (-1, ""))
            if not item:
                exhausted += 1
                return
            try:
                await asyncio.wait_for(run(turn, item), timeout=30)
            except (TimeoutError, CheckFailed, OSError, asyncio.IncompleteReadError, ValueError) as error:
                timings.errors += 1
                if len(timings.error_samples) < 5:
                    timings.error_samples.append(str(error)[:300])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _index in range(connections)))
    return time.perf_counter() - started, exhausted


async def ratings_run(
    *, host: str, port: int, tokens: list[str], connections: int, duration: float
) -> tuple[Timings, float, int]:
    """``connections`` applicants rating for ``duration`` seconds, each invitation once; returns
    timings, the seconds taken and how many times a connection found the pool empty."""
    timings = Timings()
    rating = Rating(host=host, port=port, timings=timings)
    seconds, exhausted = await pool_run(
        run=lambda turn, token: rating.run(token, turn),
        pool=tokens,
        connections=connections,
        duration=duration,
        timings=timings,
    )
    return timings, seconds, exhausted


_BUNDLE_STATUS = re.compile(r"^/bundles/applications/(?!draft-)[^/]+/$")


class BundleSubmission(_PageFlow):
    """An applicant submitting a bundle (一件事) they filled in and gave the materials of: the
    edit page, signed in with their session, then its form sent with "submit" and the page's
    CSRF token, as the browser sends it; the answer must send them to the status page of the
    numbered application (its four cases filed)."""

    async def run(self, _turn: int, item: str) -> None:
        """``item``: the edit page's path and the session's Cookie header, tab-separated."""
        path, _tab, session = item.partition("\t")
        started = time.perf_counter()
        status, headers, content = await http_exchange(self.host, self.port, "GET", path, {"Cookie": session})
        self.timings.add("form", time.perf_counter() - started)
        page = content.decode("utf-8", "replace")
        fields = form_fields(page, form_id="bundle-form")
        csrf = next(
            (value.split(";", 1)[0] for value in headers.get("set-cookie", []) if value.startswith("csrftoken=")),
            "",
        )
        if status != 200 or "csrfmiddlewaretoken" not in fields or not csrf:
            raise CheckFailed(f"form: {status} {page[:300]}")
        sent = time.perf_counter()
        status, headers, content = await self._form_sent(path, {**fields, "action": "submit"}, f"{session}; {csrf}")
        self.timings.add("submit", time.perf_counter() - sent)
        location = (headers.get("location") or [""])[-1]
        if status != 302 or not _BUNDLE_STATUS.match(location):
            raise CheckFailed(f"submit: {status} {location} {content.decode('utf-8', 'replace')[:300]}")
        self.timings.flows.append(time.perf_counter() - started)


async def bundles_run(
    *, host: str, port: int, applications: list[str], connections: int, duration: float
) -> tuple[Timings, float, int]:
    """``connections`` applicants submitting bundles for ``duration`` seconds, each application
    once (``BundleSubmission.run``'s items); returns timings, the seconds taken and how many
    times a connection found the pool empty."""
    timings = Timings()
    submission = BundleSubmission(host=host, port=port, timings=timings)
    seconds, exhausted = await pool_run(
        run=submission.run, pool=applications, connections=connections, duration=duration, timings=timings
    )
    return timings, seconds, exhausted


async def submissions_run(
    *,
    host: str,
    port: int,
    target: dict[str, Any],
    tokens: list[str],
    pdf: bytes,
    connections: int,
    duration: float,
    steps: bool = False,
) -> tuple[Timings, float]:
    """Run ``connections`` applicants' submissions back to back for ``duration`` seconds (a flow
    under way then is finished, within a bounded grace), in one call each or, with ``steps``,
    step by step; returns timings and the seconds taken."""
    timings = Timings()
    flow = SubmissionSteps if steps else Submission
    submission = flow(host=host, port=port, target=target, pdf=pdf, timings=timings)
    deadline = time.perf_counter() + duration

    async def worker(index: int) -> None:
        own = tokens[index::connections] or tokens
        turn = 0
        while time.perf_counter() < deadline:
            token = own[turn % len(own)]
            turn += 1
            try:
                await asyncio.wait_for(submission.run(token), timeout=30)
            except (TimeoutError, CheckFailed, OSError, asyncio.IncompleteReadError, ValueError) as error:
                timings.errors += 1
                if len(timings.error_samples) < 5:
                    timings.error_samples.append(str(error)[:300])

    started = time.perf_counter()
    await asyncio.gather(*(worker(index) for index in range(connections)))
    return timings, time.perf_counter() - started
