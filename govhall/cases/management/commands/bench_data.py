"""``manage.py bench_data``: generate benchmark data at scale on PostgreSQL (COPY through psycopg).

On top of the demo data set (``govhall demo``), it adds:

- departments for every city and county of the province (the demo's department kinds);
- catalogue entries in variants of the demo items (子项: 新办, 变更, 延续 …) and their
  implementations in every region the item is carried out at, with materials, process steps,
  the published version's snapshot and the search document (tokens cut by the same jieba
  segmentation the search uses), up to ``--implementations``;
- applicants (users with an L2 person, identity number and phone encrypted as the platform does);
- cases up to ``--cases``, drawn and written by PostgreSQL (``bench_history``: INSERT … SELECT
  on two connections), spread over items by popularity and over three years with more recent
  cases, each with the tasks, timeline events, materials and correction notices its story
  implies (a case still open has exactly its current step's task open, an overdue one appears
  where a step took longer than its limit), and their figures; materials point at a few shared
  stored PDFs;
- pools of cases waiting at a given step in one region (``--ready-accept``, ``--ready-decide``),
  for the action benchmarks, topped up on each call.

What was generated is recorded in a marker table (``govhall_bench_marker``), so a second call
with the same sizes does nothing and a larger size adds only the difference. Historical cases
get no audit records: the audit chain is written by the live services only.

The peak RSS of the process is printed at the end (``BENCH_DATA_REPORT {json}``).
"""

import hashlib
import json
import random
import resource
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from govhall.accounts import privacy
from govhall.accounts.models import AssuranceLevel, AssuranceMethod, User
from govhall.cases import application_form
from govhall.cases.management import bench_history
from govhall.cases.models import CaseState, CaseTask, TaskState
from govhall.cases.services import LEGAL_REMEDY_DEFAULT, case_definition_get, material_list_for, process_definition_for
from govhall.catalog.models import CaseType, CatalogueEntry, Implementation, ImplementationVersion, SearchDocument
from govhall.catalog.search import (
    POSTING_WORD,
    group_keys_current,
    group_postings_insert_sql,
    popularity_level,
    postings_insert_sql,
    search_words_recount,
    text_tokens,
)
from govhall.demo import CATALOGUE_JSON, POPULAR_ITEMS, PROVINCE, SERVICE_OFFICE_KIND, SERVICE_OFFICE_NAMES
from govhall.metrics.models import COUNTERS, ITEM_COUNTERS
from govhall.metrics.services import (
    DEPARTMENT_DAY_COLUMNS,
    DEPARTMENT_MONTH_COLUMNS,
    ENTRY_MONTH_COLUMNS,
    ITEM_MONTH_COLUMNS,
    FiguresTally,
)
from govhall.org.identifiers import identity_number_check_character, uscc_check_character
from govhall.org.models import Department, Region, RegionLevel

T = TypeVar("T")
MARKER_TABLE = "govhall_bench_marker"
LOCAL = ZoneInfo(settings.TIME_ZONE)
CHUNK_CASES = 20_000
# Historical cases are drawn in chunks of this many, one transaction each.
HISTORY_CHUNK = 200_000
# Connections that load historical cases at once: PostgreSQL does the work, one core each.
LOAD_SESSIONS = 2
# Implementations are written in chunks of this many, by this many writer threads at once (two
# backends' COPY beside Python's rows: 100,000 took 36 s instead of 47 s with one writer of
# 5,000, and at most as much memory: 2,500 a chunk).
IMPLEMENTATION_CHUNK = 2_500
IMPLEMENTATION_WRITERS = 2
HISTORY_YEARS = 3
HISTORY_OFFICER = "bench-archive"
APPLICANT_PREFIX = "bench-applicant-"
# Sub-items (子项) a catalogue splits an item into; the first is the item itself.
VARIANTS = (
    "",
    "（新办）",
    "（变更）",
    "（延续）",
    "（补办）",
    "（注销）",
    "（遗失补领）",
    "（告知承诺制）",
    "（容缺受理）",
    "（跨省通办）",
    "（自贸试验区）",
    "（住所变更）",
    "（名称变更）",
    "（法定代表人变更）",
    "（负责人变更）",
    "（增设项目）",
    "（减少项目）",
    "（首次申请）",
    "（到期换证）",
    "（信息更正）",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力斌宇浩凯婷雪琳晨欣怡子涵梓轩"
OFFICER_NAMES = ("陈晓", "王敏", "李娜", "张伟", "刘洋", "周杰", "吴静", "徐磊")
SAMPLE_FILES = 6
SAMPLE_FILE_BYTES = 150 * 1024


def seeded_random(seed: int) -> random.Random:
    """A reproducible generator for test data (never for secrets)."""
    return random.Random(seed)  # noqa: S311 - benchmark data, not secrets


def sample_pdf_bytes(*, size: int, variant: int) -> bytes:
    """A well-formed one-page PDF of about ``size`` bytes (a padded content stream), different
    per ``variant``: what an applicant's scanned material looks like to the upload checks."""
    body = f"BT /F1 12 Tf 72 720 Td (govhall bench material {variant}) Tj ET\n".encode()
    rng = seeded_random(variant)
    padding_length = max(0, size - 600 - len(body))
    padding = b"%" + bytes(rng.choice(b"0123456789abcdef") for _ in range(min(padding_length, 4096)))
    padding = (padding * (padding_length // max(1, len(padding)) + 1))[:padding_length]
    stream = body + padding
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# Keys


def bench_keys_check() -> None:
    """Refuse to go on when this process's keys cannot open what the generator sealed.

    The applicants' identity numbers and phones are sealed with the data keys, and drafts'
    prefills with ``SECRET_KEY``, of the ``GOVHALL_VAR_DIR`` that generated them (``var/bench``
    of the checkout that ran ``make bench``). A server started with another directory's keys
    answered 500 to every action and filing, and left drafts that the next run's filings
    resumed and refused: one generated applicant's identity number is opened here first."""
    from cryptography.exceptions import InvalidTag

    from govhall.accounts.models import Person

    sealed = (
        Person.objects.filter(user__username__startswith=APPLICANT_PREFIX)
        .order_by("pk")
        .values_list("identity_number_encrypted", flat=True)[:1]
    )
    for token in sealed:
        try:
            privacy.decrypt(token, purpose="identity_number")
        except (privacy.KeyRingError, InvalidTag, ValueError) as error:
            raise CommandError(
                f"the benchmark data in this database was sealed with other keys than those of "
                f"{settings.VAR_DIR} ({type(error).__name__}): run from the checkout that generated "
                f"it, or link that checkout's var directory (docs/performance.md)"
            ) from error


# ---------------------------------------------------------------------------------------------
# Marker


def _marker_ensure() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (key text PRIMARY KEY, value bigint NOT NULL, "
            "updated_at timestamptz NOT NULL DEFAULT now())"
        )


def marker_get(key: str) -> int:
    """What the generator recorded under ``key`` (0 when nothing yet)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_regclass('{MARKER_TABLE}') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(f"SELECT value FROM {MARKER_TABLE} WHERE key = %s", [key])  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _marker_add(key: str, value: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (key, value) VALUES (%s, %s) "  # noqa: S608
            f"ON CONFLICT (key) DO UPDATE SET value = {MARKER_TABLE}.value + EXCLUDED.value, updated_at = now()",
            [key, value],
        )


def _marker_set(key: str, value: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (key, value) VALUES (%s, %s) "  # noqa: S608
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            [key, value],
        )


# Tables a case load writes to (the counter tables when its figures are folded in), and how many
# cases a load must add before their secondary indexes are dropped for it and built again after
# (building once is much faster than maintaining them row by row; the unique ones stay, the
# figures' upserts need them).
LOADED_TABLES = (
    "cases_case",
    "cases_casetask",
    "cases_caseevent",
    "cases_casematerial",
    "cases_correctionnotice",
    "metrics_departmentday",
    "metrics_departmentmonth",
    "metrics_itemmonth",
    "metrics_entrymonth",
)
INDEX_REBUILD_THRESHOLD = 500_000
# The catalogue tables an implementations load writes, and how many implementations it must add
# before their secondary indexes are dropped for it and built after: maintaining the search
# documents' GIN index row by row took 5.4 s of 20,000 implementations' 13 s of COPY.
CATALOGUE_LOADED_TABLES = (
    "catalog_implementation",
    "catalog_implementationversion",
    "catalog_searchdocument",
    "catalog_material",
    "catalog_processstep",
)
IMPLEMENTATIONS_REBUILD_THRESHOLD = 10_000
# The marker "figures" holds this once the counter tables hold every generated case.
FIGURES_VERSION = 1
INDEX_TABLE = "govhall_bench_dropped_index"
PARTIAL_KEPT_SHARE = 0.05


def _secondary_indexes_drop(log: Any, tables: Sequence[str] = LOADED_TABLES) -> None:
    """Drop the non-unique secondary indexes of the loaded tables, remembering their definitions
    in a table first, so that an interrupted load still gets them back (``_indexes_restore``).
    A partial index that holds few of its table's rows (under ``PARTIAL_KEPT_SHARE``, by the
    planner's counts) stays: it is written only for the rows its condition admits, and building
    it again would read the whole table for them (about 60 s of the 10 million cases' builds)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {INDEX_TABLE} (name text PRIMARY KEY, definition text NOT NULL)")
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace AND NOT i.indisunique "
            "AND NOT (i.indpred IS NOT NULL AND greatest(c.reltuples, 0) < %s * greatest(t.reltuples, 1000))",
            [list(tables), PARTIAL_KEPT_SHARE],
        )
        indexes = cursor.fetchall()
        cursor.executemany(
            f"INSERT INTO {INDEX_TABLE} (name, definition) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",  # noqa: S608
            indexes,
        )
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    log(f"indexes: dropped {len(indexes)} secondary indexes for the load")


def _on_sessions(items: list[T], work: Callable[[Any, T], None], *, sessions: int) -> None:
    """Run ``work(cursor, item)`` for every item, in order, on ``sessions`` connections at once
    (each with a maintenance memory of 1 GB); ``items`` is emptied."""
    lock = threading.Lock()

    def session() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '1GB'")
                while True:
                    with lock:
                        if not items:
                            return
                        item = items.pop(0)
                    work(cursor, item)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=sessions) as pool:
        for future in [pool.submit(session) for _ in range(sessions)]:
            future.result()


def _indexes_restore(log: Any, sessions: int = LOAD_SESSIONS, tables: Sequence[str] | None = None) -> None:
    """Build again the indexes a load dropped (also those of an interrupted earlier load), of
    ``tables`` or of every table, on ``sessions`` connections at once, largest tables first. The
    tables' statistics are left to whoever reads them next (the vacuum, ``_tables_vacuum``,
    analyses every generated table)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_regclass('{INDEX_TABLE}') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return
        # Ordered by their table's size on disk, which needs no statistics: analysing the tables
        # here took 39 s of a 10 million case generation, before the vacuum analysed them again.
        cursor.execute(
            "SELECT d.name, d.definition, t.relname, pg_relation_size(t.oid) AS size "  # noqa: S608 - fixed names
            f"FROM {INDEX_TABLE} d LEFT JOIN pg_class t "
            "ON t.oid = to_regclass(split_part(split_part(d.definition, ' ON ', 2), ' ', 1)) "
            "WHERE %s::text[] IS NULL OR t.relname = ANY(%s::text[]) ORDER BY size DESC NULLS LAST, d.name",
            [list(tables) if tables is not None else None] * 2,
        )
        indexes = cursor.fetchall()
    if not indexes:
        return
    started = time.monotonic()
    workers = _build_workers(indexes, sessions)

    def build(cursor: Any, index: tuple[str, str, str | None, int | None]) -> None:
        name, definition, _table, _size = index
        cursor.execute(f"SET max_parallel_maintenance_workers = {workers[name]}")
        cursor.execute("SELECT to_regclass(%s) IS NULL", [name])
        if cursor.fetchone()[0]:
            cursor.execute(definition)
        cursor.execute(f"DELETE FROM {INDEX_TABLE} WHERE name = %s", [name])  # noqa: S608

    _on_sessions(list(indexes), build, sessions=min(sessions, len(indexes)))
    log(f"indexes: built {len(indexes)} secondary indexes in {time.monotonic() - started:.0f} s")


def _build_workers(indexes: Sequence[tuple[str, str, str | None, int | None]], sessions: int) -> dict[str, int]:
    """The parallel workers each index's build gets, ``indexes`` being (name, definition, table,
    table's size) largest table first, built on ``sessions`` connections. The sessions share the
    cores: no parallel workers of their own, unless there are fewer indexes than sessions, or the
    largest table outweighs all the other tables together (the search postings beside the
    catalogue's tables): its first index then gets the spare core as a parallel worker, instead of
    being built alone after the others. The postings' one index took 61 s on one core and 31 s
    with one parallel worker (100,000 implementations, 14 million postings)."""
    spare = max(0, sessions - len(indexes))
    workers = {name: spare for name, *_ in indexes}
    if indexes and not spare and sessions > 1:
        sizes = {table: size or 0 for _name, _definition, table, size in indexes}
        largest = indexes[0][2]
        if sizes[largest] > sum(size for table, size in sizes.items() if table != largest):
            workers[indexes[0][0]] = 1
    return workers


def _tables_vacuum(log: Any, *, tables: Sequence[str], sessions: int = LOAD_SESSIONS, analyze: bool = True) -> float:
    """VACUUM (ANALYZE) the tables a generation wrote, largest first, on ``sessions`` connections
    at once: what autovacuum does to a production database after such writes (and what this
    machine's PostgreSQL, which runs without autovacuum, would never do), so that their pages
    are marked all-visible and an index-only scan (the to-do list's) reads no table rows.
    Without ``analyze``, VACUUM alone: after a few rows added to vacuumed tables, it reads only
    the pages not marked all-visible. Inside a transaction (the tests), where VACUUM cannot run,
    ANALYZE only (or nothing). Returns seconds."""
    started = time.monotonic()
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            for table in tables if analyze else ():
                cursor.execute(f"ANALYZE {table}")
        return time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace ORDER BY relpages DESC",
            [list(tables)],
        )
        pending = [name for (name,) in cursor.fetchall()]
    vacuum = "VACUUM (ANALYZE)" if analyze else "VACUUM"
    _on_sessions(pending, lambda cursor, table: cursor.execute(f"{vacuum} {table}"), sessions=sessions)
    seconds = time.monotonic() - started
    log(f"vacuum: {len(tables)} tables vacuumed{' and analysed' if analyze else ''} in {seconds:.0f} s")
    return seconds


def _bulk_load_settings() -> None:
    """For the current transaction: no wait for the WAL flush at commit, and no foreign-key
    triggers (the generator writes whole, consistent cases: every row it points at exists or is
    in the same COPY batch). Generated data only; the live services never do this."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL session_replication_role = replica")


def _ids_reserve(table: str, count: int) -> int:
    """Reserve ``count`` consecutive ids of ``table``'s identity sequence; returns the first."""
    if count <= 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = int(cursor.fetchone()[0])
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    quoted = ", ".join(f'"{column}"' for column in columns)
    written = 0
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(  # type: ignore[attr-defined]
            f"COPY {table} ({quoted}) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


# ---------------------------------------------------------------------------------------------
# Working days


class WorkingDays:
    """Working-day arithmetic over a fixed window, from the calendar table (Mon–Fri elsewhere)."""

    def __init__(self, first: date, last: date) -> None:
        from govhall.cases.models import CalendarDay

        known = dict(CalendarDay.objects.filter(date__range=(first, last)).values_list("date", "working"))
        days = []
        day = first
        while day <= last:
            if known.get(day, day.weekday() < 5):
                days.append(day)
            day += timedelta(days=1)
        self.days = days

    def add(self, start: date, count: int) -> date:
        """``calendar.working_day_add``: 0 days gives ``start``, counting begins the next day."""
        if count == 0:
            return start
        index = bisect_right(self.days, start) - 1 + count
        index = min(max(index, 0), len(self.days) - 1)
        return self.days[index]

    def limit_due(self, start: date, days: int, unit: str) -> date:
        """``calendar.limit_due``: calendar days end on the first working day from the last one."""
        if unit != "calendar" or days == 0:
            return self.add(start, days)
        last = start + timedelta(days=days)
        return last if self.is_working(last) else self.days[bisect_right(self.days, last)]

    def is_working(self, day: date) -> bool:
        index = bisect_left(self.days, day)
        return index < len(self.days) and self.days[index] == day


# ---------------------------------------------------------------------------------------------
# Catalogue


@dataclass
class Template:
    """A demo implementation used as the model of generated ones at its level."""

    implementation: Implementation
    entry: CatalogueEntry
    level: int
    department_kind: str
    snapshot: dict[str, Any]
    document: SearchDocument
    materials: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    popular: float
    # What a case of this item carries, serialised once.
    form_json: str = ""
    definition_id: int = 0  # the shared CaseDefinition every generated case of it points at
    process: dict[str, Any] = field(default_factory=dict)
    data_json: str = ""
    required_materials: list[str] = field(default_factory=list)
    # Its implementations' application form and process definition, serialised once.
    definitions_json: tuple[str, str] | None = None


def _filler_data(definition: dict[str, Any], applicant: str) -> dict[str, Any]:
    """Plausible form values: the first choice of a choice, a short text for a text."""
    data: dict[str, Any] = {}
    properties = (definition.get("schema") or {}).get("properties") or {}
    fields = definition.get("fields") or {}
    for name, prop in properties.items():
        if (fields.get(name) or {}).get("prefill"):
            continue  # filled from the applicant's record
        if "enum" in prop:
            data[name] = prop["enum"][0]
        elif prop.get("type") == "string" and "pattern" in prop:
            if "phone" in name or "mobile" in name:
                data[name] = "13912345678"
            elif "post" in name or "zip" in name:
                data[name] = "310000"
        elif prop.get("type") == "string" and "format" not in prop:
            data[name] = applicant if "name" in name else "按办事指南要求申请"
        elif prop.get("type") == "boolean":
            data[name] = True
    return data


def _templates() -> dict[tuple[str, int], Template]:
    """One implementation published through the catalogue's services (the demo's, or a test's)
    of each item at each level (province, city, county): the models of generated ones, which
    are written without a catalogue change."""
    popularity = {name: 40.0 - rank * 4 for rank, name in enumerate(POPULAR_ITEMS)}
    templates: dict[tuple[str, int], Template] = {}
    implementations = (
        Implementation.objects.filter(versions__change__isnull=False)
        .distinct()
        .select_related("entry", "region", "department")
        .prefetch_related("materials", "process_steps", "entry__themes")
        .order_by("implementation_code")
    )
    for implementation in implementations:
        key = (implementation.entry.basic_code, implementation.region.level)
        if key in templates:
            continue
        version = ImplementationVersion.objects.filter(
            implementation=implementation, number=implementation.version
        ).first()
        document = SearchDocument.objects.filter(implementation=implementation).first()
        if version is None or document is None:
            continue
        materials: list[dict[str, Any]] = [
            {
                "order": material.order,
                "name": material.name,
                "requirement": material.requirement,
                "condition": material.condition,
                "form": material.form,
                "copies": material.copies,
                "source": material.source,
                "notes": material.notes,
                "licence_type_code": material.licence_type_code,
            }
            for material in implementation.materials.all()
        ]
        steps = [
            {"order": step.order, "name": step.name, "description": step.description, "days": step.duration_days}
            for step in implementation.process_steps.all()
        ]
        template = Template(
            implementation=implementation,
            entry=implementation.entry,
            level=implementation.region.level,
            department_kind=implementation.department.kind,
            snapshot=version.snapshot,
            document=document,
            materials=materials,
            steps=steps,
            popular=popularity.get(implementation.entry.name, 1.0),
        )
        entry = implementation.entry
        definition = application_form.form_definition_effective(
            definition=implementation.application_form,
            for_persons=entry.for_persons,
            for_companies=entry.for_companies,
            express_delivery=implementation.express_delivery,
            material_names=[str(material["name"]) for material in materials],
        )
        process = process_definition_for(implementation=implementation)
        template.form_json = json.dumps(definition, ensure_ascii=False)
        template.process = process
        template.definition_id = case_definition_get(
            form=definition, materials=material_list_for(implementation), process=process
        ).pk
        template.required_materials = [str(m["name"]) for m in materials if m["requirement"] == "required"][:3]
        templates[key] = template
    return templates


def _departments_ensure() -> dict[tuple[str, str], Department]:
    """A department of every demo kind in every city and county of the province."""
    catalogue = json.loads(CATALOGUE_JSON.read_text(encoding="utf-8"))
    kinds = [
        *catalogue["department_kinds"],
        {"key": SERVICE_OFFICE_KIND, "names": SERVICE_OFFICE_NAMES, "short_name": "政务办", "code": "ZWB"},
    ]
    regions = list(Region.objects.filter(code__startswith=PROVINCE[:2], level__lte=RegionLevel.COUNTY))
    names = {region.code: region.name for region in regions}
    existing = {(d.region_id, d.kind): d for d in Department.objects.all()}
    taken_codes = set(Department.objects.values_list("code", flat=True))
    new = []
    for kind_number, kind in enumerate(kinds, start=1):
        for region in regions:
            if (region.code, kind["key"]) in existing:
                continue
            level = {RegionLevel.PROVINCE: "province", RegionLevel.CITY: "city", RegionLevel.COUNTY: "county"}[
                RegionLevel(region.level)
            ]
            template = kind["names"].get(level)
            if not template:
                continue
            city = names.get(region.parent_id or "", "") if level == "county" else region.name
            code = f"{region.code}{kind['code']}"
            if code in taken_codes:
                continue
            first = f"11{region.code}{kind_number * 1000 + 1:09d}"
            new.append(
                Department(
                    code=code,
                    name=template.format(city=city, county=region.name)[:128],
                    short_name=kind.get("short_name", ""),
                    kind=kind["key"],
                    region_id=region.code,
                    credit_code=first + uscc_check_character(first),
                    phone=f"0571-{87000000 + kind_number * 1111 + int(region.code[2:6]) % 97}",
                )
            )
    Department.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    return {(d.region_id, d.kind): d for d in Department.objects.all()}


def _variant_entries(templates: dict[tuple[str, int], Template], variants: int) -> dict[tuple[str, int], int]:
    """Catalogue entries for (basic code, variant); variant 0 is the demo entry itself."""
    base = {template.entry.basic_code: template.entry for template in templates.values()}
    wanted = {(code, variant) for code in base for variant in range(variants)}
    codes = {f"{code}{variant:03d}" if variant else code: (code, variant) for code, variant in wanted}
    existing = dict(CatalogueEntry.objects.filter(basic_code__in=list(codes)).values_list("basic_code", "id"))
    missing = [code for code in codes if code not in existing]
    if missing:
        now = timezone.now()
        first = _ids_reserve("catalog_catalogueentry", len(missing))
        rows: list[tuple[Any, ...]] = []
        theme_rows: list[tuple[int, int]] = []
        for offset, code in enumerate(sorted(missing)):
            basic, variant = codes[code]
            entry = base[basic]
            entry_id = first + offset
            existing[code] = entry_id
            rows.append(
                (
                    entry_id,
                    code,
                    (entry.name + VARIANTS[variant % len(VARIANTS)])[:120]
                    if variant < len(VARIANTS)
                    else f"{entry.name}（情形{variant}）",
                    entry.kind,
                    entry.legal_basis,
                    entry.description,
                    entry.for_persons,
                    entry.for_companies,
                    "active",
                    1,
                    now,
                )
            )
            theme_rows.extend((entry_id, theme.pk) for theme in entry.themes.all())
        _copy(
            "catalog_catalogueentry",
            (
                "id",
                "basic_code",
                "name",
                "kind",
                "legal_basis",
                "description",
                "for_persons",
                "for_companies",
                "state",
                "version",
                "published_at",
            ),
            rows,
        )
        _copy("catalog_catalogueentry_themes", ("catalogueentry_id", "theme_id"), theme_rows)
    return {codes[code]: entry_id for code, entry_id in existing.items()}


def _definitions_json(template: Template) -> tuple[str, str]:
    """The template's application form and process definition as JSON, made once per template
    (two thirds of the implementations' JSON, the same for each of its implementations)."""
    if template.definitions_json is None:
        source = template.implementation
        template.definitions_json = (
            json.dumps(source.application_form, ensure_ascii=False),
            json.dumps(source.process_definition, ensure_ascii=False),
        )
    return template.definitions_json


def _implementations_write(
    impl_rows: list[tuple[Any, ...]],
    version_rows: list[tuple[Any, ...]],
    document_rows: list[tuple[Any, ...]],
    material_rows: list[tuple[Any, ...]],
    step_rows: list[tuple[Any, ...]],
) -> None:
    """One chunk of implementations with their versions, search documents, materials and steps,
    in one transaction. Outside a caller's transaction (not in the tests), without foreign-key
    triggers (``_bulk_load_settings``: every row points at an entry, department and region read
    from the database, or at an implementation of the same chunk; checking them at commit took
    5 of the 100,000 implementations' 59 s)."""
    bulk = not connection.in_atomic_block
    with transaction.atomic():
        if bulk:
            _bulk_load_settings()
        _copy(
            "catalog_implementation",
            (
                "id",
                "implementation_code",
                "entrusted_agency",
                "source_of_power",
                "acceptance_conditions",
                "statutory_time_limit_days",
                "statutory_time_limit_unit",
                "promised_time_limit_days",
                "promised_time_limit_unit",
                "site_visits",
                "address",
                "office_hours",
                "charges_fee",
                "fee_standard",
                "fee_basis",
                "case_type",
                "special_procedures",
                "consultation_phone",
                "supervision_phone",
                "online_available",
                "online_depth",
                "online_payment",
                "express_delivery",
                "appointment",
                "handled_in_hall",
                "area_of_handling",
                "result_type",
                "result_name",
                "licence_type_code",
                "state",
                "version",
                "published_at",
                "view_count",
                "department_id",
                "entry_id",
                "hall_id",
                "region_id",
                "assurance_level",
                "application_form",
                "process_definition",
            ),
            impl_rows,
        )
        _copy(
            "catalog_implementationversion",
            ("id", "number", "snapshot", "published_at", "change_id", "implementation_id"),
            version_rows,
        )
        _copy(
            "catalog_searchdocument",
            (
                "implementation_id",
                "name_tokens",
                "result_theme_tokens",
                "department_material_tokens",
                "condition_basis_tokens",
                "snippet_text",
                "refreshed_at",
                "popularity",
                "sort_name",
            ),
            document_rows,
        )
        _copy(
            "catalog_material",
            (
                "id",
                "order",
                "name",
                "requirement",
                "condition",
                "form",
                "copies",
                "source",
                "blank_form",
                "example_file",
                "notes",
                "licence_type_code",
                "implementation_id",
            ),
            material_rows,
        )
        _copy(
            "catalog_processstep",
            ("id", "order", "name", "description", "duration_days", "implementation_id"),
            step_rows,
        )


def implementations_generate(*, target: int, rng: random.Random, log: Any, restore: bool = True) -> int:
    """Top up the published implementations to ``target``; returns how many were added. A large
    load builds the indexes it dropped again at its end, or, without ``restore``, leaves them to
    the postings' load (``postings_generate``), which builds them beside its own."""
    current = Implementation.objects.count()
    if current >= target:
        return 0
    templates = _templates()
    departments = _departments_ensure()
    regions = list(Region.objects.filter(code__startswith=PROVINCE[:2], level__lte=RegionLevel.COUNTY))
    per_variant = sum(
        1
        for region in regions
        for template in templates.values()
        if template.level == region.level and (region.code, template.department_kind) in departments
    )
    variants = max(1, -(-target // max(1, per_variant)) + 1)
    entries = _variant_entries(templates, variants)
    taken = set(Implementation.objects.values_list("implementation_code", flat=True))
    candidates = []
    for region in regions:
        for template in templates.values():
            department = departments.get((region.code, template.department_kind))
            if template.level != region.level or department is None:
                continue
            for variant in range(variants):
                basic = f"{template.entry.basic_code}{variant:03d}" if variant else template.entry.basic_code
                code = f"{basic}-{department.code}"
                if code not in taken:
                    candidates.append((variant, rng.random(), region, template, department, basic, code))
    candidates.sort(key=lambda candidate: (candidate[0], candidate[1]))
    chosen = candidates[: target - current]
    if not chosen:
        return 0
    names = {}
    for _variant, _r, _region, _template, _department, basic, _code in chosen:
        if basic not in names:
            names[basic] = CatalogueEntry.objects.filter(basic_code=basic).values_list("name", flat=True).first() or ""
    region_names = {region.code: region.full_name for region in regions}
    now = timezone.now()
    rebuild = len(chosen) >= IMPLEMENTATIONS_REBUILD_THRESHOLD
    if rebuild:
        _secondary_indexes_drop(log, tables=CATALOGUE_LOADED_TABLES)
    name_tokens: dict[str, str] = {}
    department_tokens: dict[int, str] = {}
    # Each chunk is written by one of IMPLEMENTATION_WRITERS threads, on a connection of its own,
    # while the next is built, so that PostgreSQL's COPY and Python's rows share the two cores
    # (not in the tests, whose rows another connection would not see).
    writers = 0 if connection.in_atomic_block else IMPLEMENTATION_WRITERS
    writer = ThreadPoolExecutor(max_workers=writers) if writers else None
    pending: list[Future[None]] = []
    try:
        for chunk_start in range(0, len(chosen), IMPLEMENTATION_CHUNK):
            part = chosen[chunk_start : chunk_start + IMPLEMENTATION_CHUNK]
            # Every id is taken here, in the main thread: the rows are the same whichever writer
            # copies its chunk first.
            first_id = _ids_reserve("catalog_implementation", len(part))
            first_version = _ids_reserve("catalog_implementationversion", len(part))
            first_material = _ids_reserve("catalog_material", sum(len(c[3].materials) for c in part))
            first_step = _ids_reserve("catalog_processstep", sum(len(c[3].steps) for c in part))
            impl_rows, version_rows, document_rows = [], [], []
            material_rows: list[tuple[Any, ...]] = []
            step_rows: list[tuple[Any, ...]] = []
            for offset, (variant, _r, region, template, department, basic, code) in enumerate(part):
                source = template.implementation
                implementation_id = first_id + offset
                name = names[basic]
                snapshot = dict(template.snapshot)
                snapshot.update(
                    implementation_code=code,
                    basic_code=basic,
                    name=name,
                    region_code=region.code,
                    region_name=region_names[region.code],
                    department_code=department.code,
                    department_name=department.name,
                    consultation_phone=department.phone,
                    hall="",
                    hall_detail=None,
                    windows=[],
                    window_names=[],
                    address="",
                    published_at=now.isoformat(),
                )
                views = int(rng.paretovariate(1.2) * template.popular) if variant == 0 else int(rng.paretovariate(1.5))
                impl_rows.append(
                    (
                        implementation_id,
                        code,
                        source.entrusted_agency,
                        source.source_of_power,
                        source.acceptance_conditions,
                        source.statutory_time_limit_days,
                        source.statutory_time_limit_unit,
                        source.promised_time_limit_days,
                        source.promised_time_limit_unit,
                        source.site_visits,
                        "",
                        source.office_hours,
                        source.charges_fee,
                        source.fee_standard,
                        source.fee_basis,
                        source.case_type,
                        source.special_procedures,
                        department.phone,
                        source.supervision_phone,
                        source.online_available,
                        source.online_depth,
                        source.online_payment,
                        source.express_delivery,
                        source.appointment,
                        source.handled_in_hall,
                        source.area_of_handling,
                        source.result_type,
                        source.result_name,
                        source.licence_type_code,
                        "active",
                        1,
                        now,
                        views,
                        department.pk,
                        entries[(template.entry.basic_code, variant)],
                        None,
                        region.code,
                        source.assurance_level,
                        *_definitions_json(template),
                    )
                )
                version_rows.append(
                    (first_version + offset, 1, json.dumps(snapshot, ensure_ascii=False), now, None, implementation_id)
                )
                if name not in name_tokens:
                    name_tokens[name] = " ".join(text_tokens(name))
                if department.pk not in department_tokens:
                    department_tokens[department.pk] = " ".join(text_tokens(department.name))
                template_document = template.document
                document_rows.append(
                    (
                        implementation_id,
                        name_tokens[name],
                        template_document.result_theme_tokens,
                        f"{department_tokens[department.pk]} {_material_tokens(template)}".strip(),
                        template_document.condition_basis_tokens,
                        template_document.snippet_text,
                        now,
                        popularity_level(views),
                        name,
                    )
                )
                for material in template.materials:
                    material_rows.append(
                        (
                            first_material + len(material_rows),
                            material["order"],
                            material["name"],
                            material["requirement"],
                            material["condition"],
                            material["form"],
                            material["copies"],
                            material["source"],
                            "",
                            "",
                            material["notes"],
                            material["licence_type_code"],
                            implementation_id,
                        )
                    )
                for step in template.steps:
                    step_rows.append(
                        (
                            first_step + len(step_rows),
                            step["order"],
                            step["name"],
                            step["description"],
                            step["days"],
                            implementation_id,
                        )
                    )
            write = partial(_implementations_write, impl_rows, version_rows, document_rows, material_rows, step_rows)
            if writer is None:
                write()
                continue
            if len(pending) >= writers:
                pending.pop(0).result()
            pending.append(writer.submit(bench_history.on_own_connection, write))
    finally:
        if writer is not None:
            try:
                for future in pending:
                    future.result()
            finally:
                writer.shutdown()
    log(f"implementations: +{len(chosen)} (variants up to {variants}, {len(templates)} templates)")
    if rebuild and restore:
        _indexes_restore(log, tables=CATALOGUE_LOADED_TABLES)
    return len(chosen)


POSTINGS_TABLE = "catalog_searchposting"
# What a generation writes, vacuumed and analysed after it (``_tables_vacuum``): with the
# implementations (their region lists read a covering index alone) and the synonyms' group postings.
GENERATED_TABLES = (
    *LOADED_TABLES,
    *CATALOGUE_LOADED_TABLES,
    POSTINGS_TABLE,
    "catalog_searchgroupposting",
    "org_department",
)
# Documents to index at once before the postings' ranking index is dropped and built after.
POSTINGS_REBUILD_THRESHOLD = 10_000
POSTINGS_RANGES = 16


def postings_generate(*, log: Any, sessions: int = LOAD_SESSIONS) -> int:
    """Write the search postings (ADR 14) of every document that has none, in SQL as the search
    writes them (``postings_insert_sql``), in id ranges on ``sessions`` connections, one
    transaction a range, so an interrupted run leaves whole documents; returns how many
    documents were indexed."""
    without = (
        "NOT EXISTS (SELECT 1 FROM catalog_searchposting posting "
        "WHERE posting.implementation_id = document.implementation_id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), MIN(implementation_id), MAX(implementation_id) FROM catalog_searchdocument document "  # noqa: S608
            f"WHERE {without}"
        )
        count, low, high = cursor.fetchone()
    if not count:
        if marker_get("postings_pending"):  # an interrupted run wrote postings and no group postings
            _group_postings_write(log)
        return 0
    _marker_set("postings_pending", 1)
    started = time.monotonic()
    if count >= POSTINGS_REBUILD_THRESHOLD:
        _secondary_indexes_drop(log, tables=(POSTINGS_TABLE,))
    step = -(-(high - low + 1) // POSTINGS_RANGES)
    ranges = [(start, min(start + step - 1, high)) for start in range(low, high + 1, step)]
    insert = postings_insert_sql(f"document.implementation_id BETWEEN %s AND %s AND {without}")

    def write(cursor: Any, bounds: tuple[int, int]) -> None:
        with transaction.atomic():
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(insert, [POSTING_WORD.pattern, *bounds])

    if connection.in_atomic_block:  # the tests: other sessions would not see the documents
        with connection.cursor() as cursor:
            for bounds in ranges:
                write(cursor, bounds)
    else:
        _on_sessions(ranges, write, sessions=sessions)
    log(f"postings: {count} documents in {time.monotonic() - started:.0f} s")
    if count >= POSTINGS_REBUILD_THRESHOLD:
        # With the catalogue's, when its load left them (one pool fills both cores).
        _indexes_restore(log, sessions=sessions, tables=(POSTINGS_TABLE, *CATALOGUE_LOADED_TABLES))
        with connection.cursor() as cursor:  # the group postings' statement reads them next
            cursor.execute(f"ANALYZE {POSTINGS_TABLE}")
    _group_postings_write(log)
    return int(count)


def _group_postings_write(log: Any) -> None:
    """The synonyms' group postings (ADR 18) of every document, summed from the postings through
    their ranking index, each key's words in turn (a document's rows already there stay), then
    the numbers of documents of the words and the keys."""
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(group_postings_insert_sql("true"), [group_keys_current()])
    search_words_recount()
    _marker_set("postings_pending", 0)
    log(f"group postings: written, and the words counted, in {time.monotonic() - started:.0f} s")


def _material_tokens(template: Template) -> str:
    if not hasattr(template, "_material_tokens"):
        tokens = " ".join(token for material in template.materials for token in text_tokens(material["name"]))
        template._material_tokens = tokens  # type: ignore[attr-defined]
    return template._material_tokens  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# People


def _identity_number(counties: Sequence[str], number: int) -> str:
    """The ``number``-th generated identity number: county, birth date and sequence all follow
    from the number, so numbers never repeat, also across runs that add applicants."""
    county = counties[number % len(counties)]
    birth = date(1950, 1, 1) + timedelta(days=(number // len(counties)) % 20_000)
    serial = (number // (len(counties) * 20_000)) % 1000
    first = f"{county}{birth:%Y%m%d}{serial:03d}"
    return first + identity_number_check_character(first)


def applicants_generate(*, target: int, rng: random.Random, log: Any) -> int:
    """Top up the generated applicants (L2 persons) to ``target``."""
    current = marker_get("applicants")
    if current >= target:
        return 0
    counties = list(
        Region.objects.filter(code__startswith=PROVINCE[:2], level=RegionLevel.COUNTY).values_list("code", flat=True)
    )
    count = target - current
    first_user = _ids_reserve("accounts_user", count)
    now = timezone.now()
    users, people = [], []
    for offset in range(count):
        number = current + offset
        user_id = first_user + offset
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        identity = _identity_number(counties, number)
        phone = f"19{number:09d}"
        users.append(("!", None, False, f"{APPLICANT_PREFIX}{number:07d}", "", "", "", False, True, now, name, None))
        people.append(
            (
                name,
                privacy.encrypt(identity, purpose="identity_number"),
                privacy.blind_index(identity, purpose="identity_number"),
                privacy.mask_identity_number(identity),
                privacy.encrypt(phone, purpose="phone"),
                privacy.blind_index(phone, purpose="phone"),
                privacy.mask_phone(phone),
                "",
                AssuranceLevel.L2,
                AssuranceMethod.REGISTRY,
                now,
                now,
                user_id,
            )
        )
    with transaction.atomic():
        _copy(
            "accounts_user",
            (
                "id",
                "password",
                "last_login",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
                "display_name",
                "locked_until",
            ),
            ((first_user + offset, *row) for offset, row in enumerate(users)),
        )
        _copy(
            "accounts_person",
            (
                "name",
                "identity_number_encrypted",
                "identity_number_index",
                "identity_number_masked",
                "phone_encrypted",
                "phone_index",
                "phone_masked",
                "email",
                "assurance_level",
                "assurance_method",
                "assured_at",
                "registered_at",
                "user_id",
            ),
            people,
        )
        _marker_set("applicants", target)
    log(f"applicants: +{count}")
    return count


def history_officer() -> User:
    """The staff account historical (generated) steps are closed by."""
    user, _created = User.objects.get_or_create(
        username=HISTORY_OFFICER, defaults={"display_name": "历史数据", "password": "!", "is_active": False}
    )
    return user


# ---------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Place:
    """An implementation a case can be filed under, with what a case copies from it."""

    implementation_id: int
    region_id: str
    department_id: int
    template: Template
    item_name: str


@dataclass
class Rows:
    cases: list[tuple] = field(default_factory=list)
    tasks: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    materials: list[tuple] = field(default_factory=list)
    notices: list[tuple] = field(default_factory=list)


CASE_COLUMNS = (
    "id",
    "number",
    "implementation_version",
    "item_name",
    "case_type",
    "definition_id",
    "applicant_name",
    "channel",
    "data",
    "prefilled",
    "prefill_hash",
    "submit_key",
    "state",
    "stage",
    "decision",
    "decision_reasons",
    "refusal_reasons",
    "legal_remedy",
    "delivery_method",
    "result_reference",
    "created_at",
    "updated_at",
    "submitted_at",
    "received_on",
    "correction_due_on",
    "deemed_accepted",
    "accepted_at",
    "clock_start_on",
    "statutory_limit_days",
    "statutory_limit_unit",
    "promised_limit_days",
    "promised_limit_unit",
    "statutory_due_on",
    "promised_due_on",
    "paused_since",
    "extension_days",
    "decided_at",
    "completed_at",
    "withdrawn_at",
    "applicant_id",
    "company_id",
    "department_id",
    "implementation_id",
    "person_id",
    "region_id",
)
TASK_COLUMNS = (
    "step_key",
    "branch_key",
    "kind",
    "name",
    "role",
    "lead",
    "state",
    "opened_at",
    "due_on",
    "closed_at",
    "outcome",
    "opinion",
    "assignee_id",
    "case_id",
    "closed_by_id",
    "department_id",
)
EVENT_COLUMNS = (
    "at",
    "action",
    "step_key",
    "step_name",
    "actor_name",
    "acting_for",
    "opinion",
    "data",
    "public",
    "actor_id",
    "case_id",
    "department_id",
)
MATERIAL_COLUMNS = (
    "material_name",
    "file",
    "sha256",
    "size",
    "content_type",
    "extension",
    "original_name",
    "trust",
    "uploaded_at",
    "superseded_at",
    "checked_at",
    "case_id",
    "checked_by_id",
    "reused_from_id",
    "uploaded_by_id",
)
NOTICE_COLUMNS = (
    "step_key",
    "items",
    "note",
    "issued_at",
    "late",
    "answered_at",
    "answer_note",
    "case_id",
    "issued_by_id",
)

STATE_AT_KIND = {
    "prereview": CaseState.SUBMITTED,
    "accept": CaseState.SUBMITTED,
    "review": CaseState.ACCEPTED,
    "parallel": CaseState.ACCEPTED,
    "decide": CaseState.ACCEPTED,
    "issue_result": CaseState.DECIDED,
    "deliver": CaseState.DECIDED,
}


class CaseFactory:
    """Builds the rows of generated cases; every case is consistent with its state."""

    def __init__(
        self,
        *,
        rng: random.Random,
        places: list[Place],
        weights: list[float],
        applicants: list[tuple[int, int, str]],
        departments_by_kind: dict[tuple[str, str], int],
        files: list[tuple[str, str, int]],
        officer_id: int,
        now: datetime,
    ) -> None:
        self.rng = rng
        self.places = places
        self.cumulative: list[float] = []
        total = 0.0
        for weight in weights:
            total += weight
            self.cumulative.append(total)
        self.applicants = applicants
        self.departments_by_kind = departments_by_kind
        self.files = files
        self.officer_id = officer_id
        self.now = now
        self.today = now.astimezone(LOCAL).date()
        self.days = WorkingDays(
            self.today - timedelta(days=366 * (HISTORY_YEARS + 1)), self.today + timedelta(days=400)
        )
        self.sequences: dict[tuple[str, date], int] = {}
        self.touched: set[tuple[str, date]] = set()
        with connection.cursor() as cursor:
            cursor.execute("SELECT region_code, day, last FROM cases_casenumbersequence")
            for region_code, day, last in cursor.fetchall():
                self.sequences[(region_code, day)] = last

    def place(self) -> Place:
        point = self.rng.random() * self.cumulative[-1]
        return self.places[bisect_left(self.cumulative, point)]

    def _number(self, region_code: str, day: date) -> str:
        key = (region_code, day)
        value = self.sequences.get(key, 0) + 1
        self.sequences[key] = value
        self.touched.add(key)
        return f"{region_code[:6]}{day:%Y%m%d}{value:06d}"

    def sequences_taken(self) -> list[tuple[str, date, int]]:
        """The case-number sequences moved since the last call (to save with their chunk)."""
        rows = [(region, day, self.sequences[(region, day)]) for region, day in self.touched]
        self.touched.clear()
        return rows

    def sequences_save(self, rows: list[tuple[str, date, int]] | None = None) -> None:
        if rows is None:
            rows = self.sequences_taken()
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO cases_casenumbersequence (region_code, day, last) VALUES (%s, %s, %s) "
                "ON CONFLICT (region_code, day) DO UPDATE SET last = GREATEST(cases_casenumbersequence.last, "
                "EXCLUDED.last)",
                rows,
            )

    def _submitted_at(self, *, max_age_days: float, min_age_days: float = 0.05) -> datetime:
        # More recent cases are more frequent: the platform's use grows year on year.
        while True:
            age = min_age_days + (max_age_days - min_age_days) * (self.rng.random() ** 1.4)
            moment = (self.now - timedelta(days=age)).astimezone(LOCAL)
            day = moment.date()
            if self.days.is_working(day) or self.rng.random() < 0.12:
                minutes = int(self.rng.triangular(8.5 * 60, 20 * 60, 10 * 60))
                candidate = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=LOCAL)
                if candidate < self.now:
                    return candidate

    def build(self, *, case_id: int, rows: Rows, place: Place, stop_at: str, max_age_days: float = 4) -> None:
        """The rows of one case waiting at its step of kind ``stop_at``, with nothing unusual on
        the way: the pools the action benchmarks consume (the history is drawn by PostgreSQL,
        ``bench_history``)."""
        rng = self.rng
        template = place.template
        source = template.implementation
        applicant_id, person_id, applicant_name = self.applicants[int(len(self.applicants) * rng.random() ** 1.3)]
        submitted = self._submitted_at(max_age_days=max_age_days, min_age_days=0.3)
        received = submitted.date()
        case: dict[str, Any] = {
            "state": CaseState.SUBMITTED,
            "stage": "",
            "decision": "",
            "result_reference": "",
            "delivery_method": "",
            "accepted_at": None,
            "clock_start_on": None,
            "statutory_due_on": None,
            "promised_due_on": None,
            "decided_at": None,
            "completed_at": None,
        }
        steps = list(template.process.get("steps") or [])
        rows.events.append(
            (submitted, "submit", "", "", applicant_name[:1] + "**", "", "", "{}", True, applicant_id, case_id, None)
        )
        for material_name in template.required_materials:
            path, digest, size = self.files[rng.randrange(len(self.files))]
            uploaded = submitted - timedelta(minutes=rng.randint(2, 90))
            rows.materials.append(
                (
                    material_name,
                    path,
                    digest,
                    size,
                    "application/pdf",
                    ".pdf",
                    f"{material_name[:40]}.pdf",
                    "C",
                    uploaded,
                    None,
                    None,
                    case_id,
                    None,
                    None,
                    applicant_id,
                )
            )
        moment = submitted
        for step in steps:
            kind = step["kind"]
            if kind in ("review", "parallel", "decide") and case["decision"]:
                continue
            if kind == "issue_result" and case["decision"] != "approve":
                continue
            parts = [b for b in step.get("branches", []) if not b.get("when")] if kind == "parallel" else [step]
            departments = [self._department(place, part) for part in parts]
            opened = moment
            due = self.days.add(opened.astimezone(LOCAL).date(), int(step.get("days", 0) or 0))
            role = step.get("role") or ""
            if kind == stop_at:
                case["stage"] = step["key"]
                case["state"] = STATE_AT_KIND.get(kind, CaseState.SUBMITTED)
                for part, department in zip(parts, departments, strict=True):
                    rows.tasks.append(self._task(step, part, kind, role, department, opened, due, case_id))
                break
            closes = opened + timedelta(hours=rng.uniform(0.2, 3))
            outcome = bench_history.OUTCOMES.get(kind, "done")
            opinion = bench_history.OPINIONS.get(kind, "")
            data = "{}"
            if kind == "accept":
                accepted_day = closes.astimezone(LOCAL).date()
                case["accepted_at"] = closes
                case["clock_start_on"] = accepted_day
                case["statutory_due_on"] = self.days.limit_due(
                    accepted_day, source.statutory_time_limit_days, source.statutory_time_limit_unit
                )
                case["promised_due_on"] = self.days.limit_due(
                    accepted_day, source.promised_time_limit_days, source.promised_time_limit_unit
                )
                if source.case_type == CaseType.IMMEDIATE:
                    case.update(decision="approve", decided_at=closes)
            if kind == "decide":
                outcome = "approve"
                case.update(decision="approve", decided_at=closes)
                data = json.dumps({"decision": outcome})
            if kind == "issue_result":
                case["result_reference"] = f"{place.region_id}{closes:%Y%m%d}{case_id % 100000:05d}"
            if kind == "deliver":
                case["delivery_method"] = "electronic"
            officer_name = rng.choice(OFFICER_NAMES)
            for part, department in zip(parts, departments, strict=True):
                rows.tasks.append(
                    self._task(
                        step,
                        part,
                        kind,
                        role,
                        department,
                        opened,
                        due,
                        case_id,
                        closed_at=closes,
                        outcome=outcome,
                        opinion=opinion,
                    )
                )
                rows.events.append(
                    (
                        closes,
                        bench_history.EVENTS.get(kind, kind),
                        step["key"],
                        part.get("name") or step["name"],
                        officer_name,
                        "",
                        opinion,
                        data,
                        True,
                        self.officer_id,
                        case_id,
                        department,
                    )
                )
            moment = closes + timedelta(minutes=rng.uniform(1, 240))
        else:
            case.update(state=CaseState.COMPLETED, stage="", completed_at=moment)
        day = submitted.astimezone(LOCAL).date()
        rows.cases.append(
            (
                case_id,
                self._number(place.region_id, day),
                1,
                place.item_name,
                source.case_type,
                template.definition_id,
                applicant_name,
                "online",
                template.data_json,
                '{"values": {}, "sources": {}, "locked": []}',
                "",
                "",
                case["state"],
                case["stage"],
                case["decision"],
                "",
                "",
                "",
                case["delivery_method"],
                case["result_reference"],
                submitted - timedelta(minutes=rng.randint(3, 120)),
                max(moment, submitted),
                submitted,
                received,
                self.days.add(received, 5),
                False,
                case["accepted_at"],
                case["clock_start_on"],
                source.statutory_time_limit_days,
                source.statutory_time_limit_unit,
                source.promised_time_limit_days,
                source.promised_time_limit_unit,
                case["statutory_due_on"],
                case["promised_due_on"],
                None,
                0,
                case["decided_at"],
                case["completed_at"],
                None,
                applicant_id,
                None,
                place.department_id,
                place.implementation_id,
                person_id,
                place.region_id,
            )
        )

    def _department(self, place: Place, part: dict[str, Any]) -> int:
        kind = part.get("department_kind")
        if kind:
            return self.departments_by_kind.get((place.region_id, kind), place.department_id)
        return place.department_id

    def _task(
        self,
        step: dict[str, Any],
        part: dict[str, Any],
        kind: str,
        role: str,
        department: int,
        opened: datetime,
        due: date,
        case_id: int,
        *,
        closed_at: datetime | None = None,
        outcome: str = "",
        opinion: str = "",
    ) -> tuple:
        parallel = kind == "parallel"
        if closed_at is not None:
            state, closed, closed_by = TaskState.DONE, closed_at, self.officer_id
        else:
            state, closed, closed_by = TaskState.OPEN, None, None
        return (
            step["key"],
            part["key"] if parallel else "",
            kind,
            (part.get("name") or step["name"])[:64],
            part.get("role") or role,
            bool(part.get("lead")) if parallel else True,
            state,
            opened,
            due,
            closed,
            outcome,
            opinion,
            closed_by,
            case_id,
            closed_by,
            department,
        )


def _places(
    *, region_code: str | None = None, kinds: Sequence[str] = (), committed_only: bool = False
) -> tuple[list[Place], list[float]]:
    templates = {(t.entry.basic_code, t.level): t for t in _templates().values()}
    rows = Implementation.objects.filter(state="active", online_available=True)
    if region_code:
        rows = rows.filter(region_id=region_code)
    if committed_only:
        # One request body fits every case of a pool: an immediate case is decided at acceptance.
        rows = rows.filter(case_type=CaseType.COMMITTED)
    places, weights = [], []
    for implementation_id, region_id, department_id, basic_code, name, level, view_count in rows.values_list(
        "id", "region_id", "department_id", "entry__basic_code", "entry__name", "region__level", "view_count"
    ):
        # A generated variant's code is its item's code and three digits.
        template = templates.get((basic_code, level)) or templates.get((basic_code[:-3], level))
        if template is None:
            continue
        if kinds and not any(step["kind"] in kinds for step in template.process.get("steps", [])):
            continue
        places.append(Place(implementation_id, region_id, department_id, template, name))
        # Counties file most cases; popular items many more than the rest.
        weights.append(
            (3.0 if level == RegionLevel.COUNTY else 1.0) * template.popular * (1 + min(view_count, 50) / 10)
        )
    for template in templates.values():
        if not template.data_json:
            template.data_json = json.dumps(_filler_data(json.loads(template.form_json), "申请人"), ensure_ascii=False)
    return places, weights


def _applicant_rows() -> list[tuple[int, int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.id, p.id, p.name FROM accounts_user u JOIN accounts_person p ON p.user_id = u.id "
            "WHERE u.username LIKE %s ORDER BY u.id",
            [f"{APPLICANT_PREFIX}%"],
        )
        return [(int(user), int(person), name) for user, person, name in cursor.fetchall()]


def sample_files_ensure() -> list[tuple[str, str, int]]:
    """A few stored PDFs that generated materials point at (path, sha256, size)."""
    files = []
    for variant in range(SAMPLE_FILES):
        content = sample_pdf_bytes(size=SAMPLE_FILE_BYTES + variant * 7919, variant=variant)
        digest = hashlib.sha256(content).hexdigest()
        path = f"cases/{digest[:2]}/{digest}.pdf"
        if not default_storage.exists(path):
            from django.core.files.base import ContentFile

            default_storage.save(path, ContentFile(content))
        files.append((path, digest, len(content)))
    return files


def _departments_by_kind() -> dict[tuple[str, str], int]:
    return {(region, kind): pk for pk, region, kind in Department.objects.values_list("id", "region_id", "kind")}


def _write_rows(rows: Rows, tally: FiguresTally) -> None:
    _copy("cases_case", CASE_COLUMNS, rows.cases)
    _copy("cases_casetask", TASK_COLUMNS, rows.tasks)
    _copy("cases_caseevent", EVENT_COLUMNS, rows.events)
    _copy("cases_casematerial", MATERIAL_COLUMNS, rows.materials)
    _copy("cases_correctionnotice", NOTICE_COLUMNS, rows.notices)
    _figures_merge(tally)


_CASE_INDEX = {name: index for index, name in enumerate(CASE_COLUMNS)}
_EVENT_CASE, _EVENT_ACTION, _EVENT_AT = (EVENT_COLUMNS.index(name) for name in ("case_id", "action", "at"))


class _CaseRow:
    """A generated case row read by attribute, as the figures' contributions read a case."""

    __slots__ = ("row",)

    def __init__(self, row: tuple) -> None:
        self.row = row

    def __getattr__(self, name: str) -> Any:
        return self.row[_CASE_INDEX[name]]


def _figures_tally(rows: Rows, days: WorkingDays) -> FiguresTally:
    """The figures the generated cases add, computed as the live receivers compute them (the
    generator writes around the services, so it keeps the counters itself)."""

    def between(*, start: date, end: date) -> int:
        return max(0, bisect_right(days.days, end) - bisect_right(days.days, start))

    tally = FiguresTally(between=between)
    timeline: dict[int, list[tuple[str, datetime]]] = {}
    for event in rows.events:
        timeline.setdefault(event[_EVENT_CASE], []).append((event[_EVENT_ACTION], event[_EVENT_AT]))
    for row in rows.cases:
        tally.case_add(_CaseRow(row), timeline.get(row[0], []))
    return tally


_ENTRIES: dict[int, int] = {}  # implementation → catalogue entry, read once per process


def _figures_merge(tally: FiguresTally) -> None:
    """Add a tally to the counter tables: COPY into a scratch table, then one upsert that adds."""
    department_rows, item_rows = tally.department_rows(), tally.item_rows(_ENTRIES)
    month_rows, entry_rows = tally.department_month_rows(), tally.entry_month_rows(_ENTRIES)
    for table, columns, key, counters, rows in (
        ("metrics_departmentday", DEPARTMENT_DAY_COLUMNS, ("day", "department_id"), COUNTERS, department_rows),
        ("metrics_departmentmonth", DEPARTMENT_MONTH_COLUMNS, ("month", "department_id"), COUNTERS, month_rows),
        ("metrics_itemmonth", ITEM_MONTH_COLUMNS, ("month", "implementation_id"), ITEM_COUNTERS, item_rows),
        ("metrics_entrymonth", ENTRY_MONTH_COLUMNS, ("month", "entry_id", "city_code"), ITEM_COUNTERS, entry_rows),
    ):
        if not rows:
            continue
        scratch = f"{table}_load"
        names = ", ".join(columns)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {scratch} AS SELECT {names} FROM {table} WITH NO DATA")  # noqa: S608 - fixed names
            cursor.execute(f"TRUNCATE {scratch}")
        _copy(scratch, columns, rows)
        updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counters)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {scratch} "  # noqa: S608 - fixed names
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
            )


def _factory(rng: random.Random, places: list[Place], weights: list[float]) -> CaseFactory:
    applicants = _applicant_rows()
    if not applicants:
        raise CommandError("no generated applicants: run with --applicants > 0 first")
    return CaseFactory(
        rng=rng,
        places=places,
        weights=weights,
        applicants=applicants,
        departments_by_kind=_departments_by_kind(),
        files=sample_files_ensure(),
        officer_id=history_officer().pk,
        now=timezone.now(),
    )


def cases_generate(
    *,
    target: int,
    rng: random.Random,
    log: Any,
    sessions: int = LOAD_SESSIONS,
    timer: bench_history.StatementTimes | None = None,
) -> int:
    """Top up the generated historical cases to ``target``: PostgreSQL draws and writes them
    (``bench_history``), one transaction per chunk, on ``sessions`` connections at once (an
    interrupted run keeps what it committed and the marker says how far it got). ``timer``
    times each statement that draws or writes the chunks."""
    bench_history.figures_fold()  # what an interrupted load set aside
    done = marker_get("cases")
    if done >= target:
        return 0
    places, weights = _places()
    if not places:
        raise CommandError("no implementation to file cases under: load the demo data first")
    applicants = _applicant_rows()
    if not applicants:
        raise CommandError("no generated applicants: run with --applicants > 0 first")
    now = timezone.now()
    today = now.astimezone(LOCAL).date()
    first_day, last_day = today - timedelta(days=366 * (HISTORY_YEARS + 1)), today + timedelta(days=400)
    bench_history.figures_stage_ensure()
    # From here the figures of every written chunk are kept: in the counter tables, or set aside
    # until the next figures_fold (this call's end, or the next call's start after an interruption).
    _marker_set("figures", FIGURES_VERSION)
    bench_history.static_tables_load(
        places=places,
        weights=weights,
        applicants=applicants,
        departments_by_kind=_departments_by_kind(),
        files=sample_files_ensure(),
        working_days=WorkingDays(first_day, last_day).days,
        first_day=first_day,
        last_day=last_day,
    )
    first_id = _ids_reserve("cases_case", target - done)
    chunk_generate = partial(
        bench_history.chunk_generate,
        load_first=first_id,
        load_count=target - done,
        seed=rng.randrange(1_000_000),
        now=now,
        officer_id=history_officer().pk,
        officer_names=OFFICER_NAMES,
        legal_remedy=str(LEGAL_REMEDY_DEFAULT),
    )
    chunks = [
        (first_id + offset, min(HISTORY_CHUNK, target - done - offset))
        for offset in range(0, target - done, HISTORY_CHUNK)
    ]
    started, first_done = time.monotonic(), done
    lock = threading.Lock()

    def log_progress(added: int) -> None:
        nonlocal done
        with lock:
            done += added
            rate = (done - first_done) / max(time.monotonic() - started, 0.001)
            log(f"cases: {done:,}/{target:,} ({rate:,.0f} cases/s)")

    # Inside a caller's transaction (the tests) other connections would not see what it wrote:
    # the chunks are written in line, in that transaction.
    threaded = not connection.in_atomic_block
    if not threaded:
        with connection.execute_wrapper(timer) if timer is not None else nullcontext():
            for first, count in chunks:
                chunk_generate(first=first, count=count)
                _marker_add("cases", count)
        bench_history.static_tables_drop()
        bench_history.figures_fold()
        return target

    @contextmanager
    def chunk_transaction(count: int) -> Iterator[None]:
        with transaction.atomic():
            _bulk_load_settings()
            yield
            _marker_add("cases", count)

    def session() -> None:
        try:
            bench_history.session_prepare(timer)
            while True:
                with lock:
                    if not chunks:
                        return
                    first, count = chunks.pop(0)
                chunk_generate(first=first, count=count, write=partial(chunk_transaction, count))
                log_progress(count)
        finally:
            connection.close()

    rebuild_indexes = target - done >= INDEX_REBUILD_THRESHOLD
    if rebuild_indexes:
        _secondary_indexes_drop(log)
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        for future in [pool.submit(session) for _ in range(sessions)]:
            future.result()
    bench_history.static_tables_drop()
    folded = time.monotonic()
    bench_history.figures_fold(sessions=sessions)
    log(f"figures: added to the counter tables in {time.monotonic() - folded:.0f} s")
    if rebuild_indexes:
        _indexes_restore(log)
    return target


def ready_pool_count(*, region_code: str, kind: str) -> int:
    """Open, unclaimed tasks of ``kind`` in the region's departments (what an action run consumes)."""
    return ready_tasks(region_code=region_code, kind=kind).count()


def ready_tasks(*, region_code: str, kind: str) -> Any:
    """The open, unclaimed tasks of ``kind`` of committed cases in the region's departments."""
    return CaseTask.objects.filter(
        state=TaskState.OPEN,
        kind=kind,
        assignee__isnull=True,
        department__region_id=region_code,
        case__case_type=CaseType.COMMITTED,
    )


def ready_generate(*, region_code: str, kind: str, target: int, rng: random.Random, log: Any) -> int:
    """Top up the cases waiting at a step of ``kind`` in ``region_code`` to ``target``."""
    missing = target - ready_pool_count(region_code=region_code, kind=kind)
    if missing <= 0:
        return 0
    places, weights = _places(region_code=region_code, kinds=(kind,), committed_only=True)
    if not places:
        raise CommandError(f"no implementation in {region_code} has a {kind} step")
    factory = _factory(rng, places, weights)
    made = 0
    while made < missing:
        count = min(CHUNK_CASES, missing - made)
        first = _ids_reserve("cases_case", count)
        rows = Rows()
        for offset in range(count):
            factory.build(case_id=first + offset, rows=rows, place=factory.place(), stop_at=kind, max_age_days=4)
        with transaction.atomic():
            _write_rows(rows, _figures_tally(rows, factory.days))
            factory.sequences_save()
        made += count
    log(f"ready {kind} in {region_code}: +{made}")
    return made


def bench_staff_ensure(*, region_code: str, username: str, roles: Sequence[str]) -> User:
    """A staff account holding ``roles`` in every department of the region and nowhere else (for
    the benchmark's officers); without a usable password: the benchmark signs it in with a token."""
    from govhall.accounts.models import StaffAssignment

    user, _created = User.objects.get_or_create(
        username=username, defaults={"display_name": f"压测{username}", "password": "!", "is_staff": False}
    )
    departments = list(Department.objects.filter(region_id=region_code))
    # Only this region: a run that chose another region before must not lengthen the to-do list.
    StaffAssignment.objects.filter(user=user).exclude(department__region_id=region_code).delete()
    StaffAssignment.objects.bulk_create(
        [StaffAssignment(user=user, department=department, role=role) for department in departments for role in roles],
        ignore_conflicts=True,
    )
    return user


class Command(BaseCommand):
    help = "生成压测数据 (generate benchmark data on PostgreSQL: catalogue, applicants, cases; reusable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--implementations", type=int, default=100_000, help="published implementations in all")
        parser.add_argument("--cases", type=int, default=200_000, help="generated historical cases in all")
        parser.add_argument(
            "--applicants", type=int, default=None, help="generated applicants (default: cases / 50, at least 2,000)"
        )
        parser.add_argument("--ready-region", default="330106", help="region of the pools of waiting cases")
        parser.add_argument("--ready-accept", type=int, default=0, help="cases waiting for acceptance in the region")
        parser.add_argument("--ready-decide", type=int, default=0, help="cases waiting for a decision in the region")
        parser.add_argument("--seed", type=int, default=20260, help="random seed (the data is the same for a seed)")
        parser.add_argument(
            "--statement-times",
            action="store_true",
            help="time each statement that draws or writes the cases, and print the sums by table",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_data needs PostgreSQL (DATABASE_URL=postgres://...)")
        if not Implementation.objects.exists():
            raise CommandError("load the demo data first: python -m govhall.cli demo")
        started = time.monotonic()
        bench_keys_check()
        _marker_ensure()

        def log(message: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:7.1f}s] {message}")
            self.stdout.flush()

        seed = options["seed"]
        applicants = options["applicants"]
        if applicants is None:
            applicants = max(2_000, options["cases"] // 50)
        added = {
            # The catalogue's indexes are built beside the postings' (one pool, both cores busy).
            "implementations": implementations_generate(
                target=options["implementations"], rng=seeded_random(seed), log=log, restore=False
            ),
            "applicants": applicants_generate(target=applicants, rng=seeded_random(seed + 1), log=log),
            "postings": postings_generate(log=log),
        }
        _indexes_restore(log, tables=CATALOGUE_LOADED_TABLES)  # when no large postings load built them
        if marker_get("cases") and marker_get("figures") < FIGURES_VERSION:
            # Cases an earlier generator wrote without counting them: count them all once.
            log("figures: counting the cases generated earlier (metrics_rebuild)")
            from govhall.metrics.services import metrics_rebuild

            metrics_rebuild()
            _marker_set("figures", FIGURES_VERSION)
        cases_started = time.monotonic()
        timer = bench_history.StatementTimes() if options["statement_times"] else None
        added["cases"] = cases_generate(
            target=options["cases"], rng=seeded_random(seed + 2 + marker_get("cases")), log=log, timer=timer
        )
        if timer is not None:
            for row in timer.report():
                log(f"statements: {row['seconds']:8.1f} s {row['share']:6.1%} {row['count']:6,} × {row['statement']}")
        _indexes_restore(log)  # those an interrupted earlier load left dropped
        cases_seconds = time.monotonic() - cases_started
        vacuum_seconds = 0.0
        if any(added.values()):
            # Before the pools, whose services' statements want the tables' statistics.
            vacuum_seconds = _tables_vacuum(log, tables=GENERATED_TABLES)
        for kind, option in (("accept", "ready_accept"), ("decide", "ready_decide")):
            if options[option]:
                added[f"ready_{kind}"] = ready_generate(
                    region_code=options["ready_region"],
                    kind=kind,
                    target=options[option],
                    rng=seeded_random(seed + 3 + int(time.time())),
                    log=log,
                )
        if added["cases"] or added["implementations"]:
            # What the last generation that did real work cost, for the benchmark's report.
            _marker_set("last_generation_peak_rss_mb", int(peak_rss_mb()))
            _marker_set("last_generation_cases_seconds", int(cases_seconds))
        if added["cases"]:
            # Cases dated into closed months: the regions' sums of those months are made again.
            from govhall.metrics.services import figures_generation_bump

            figures_generation_bump()
        if added.get("ready_accept") or added.get("ready_decide"):
            # The pools' pages too (their tasks are what the to-do list and the actions read).
            vacuum_seconds += _tables_vacuum(log, tables=LOADED_TABLES, analyze=False)
        report = {
            "added": added,
            "implementations": Implementation.objects.count(),
            "cases_generated": marker_get("cases"),
            "applicants_generated": marker_get("applicants"),
            "cases_seconds": round(cases_seconds, 1),
            "vacuum_seconds": round(vacuum_seconds, 1),
            "seconds": round(time.monotonic() - started, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "last_generation_peak_rss_mb": marker_get("last_generation_peak_rss_mb"),
            "last_generation_cases_seconds": marker_get("last_generation_cases_seconds"),
        }
        if timer is not None:
            report["statement_seconds"] = timer.report()
        self.stdout.write("BENCH_DATA_REPORT " + json.dumps(report))
