"""A small run of the benchmark's parts, so they cannot rot: the generator (PostgreSQL only: it
writes with COPY), the ceiling views, the submission client and the wrk script against a live
server, and the table's verdicts. The full benchmark is `make bench` (docs/performance.md)."""

import asyncio
import base64
import io
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory, override_settings

from bench import actions_timed, interleaved, runner
from bench.flows import CheckFailed, submissions_run
from bench.prepare import _submission_target, _tokens, own_cases
from govhall import bench_views
from govhall.accounts import privacy
from govhall.accounts.models import Role
from govhall.cases import calendar
from govhall.cases.management import bench_history
from govhall.cases.management.commands import bench_data
from govhall.cases.models import Case, CaseState, CaseTask, TaskState
from govhall.cases.uploads import upload_check
from govhall.catalog import search
from govhall.catalog.models import (
    Implementation,
    ImplementationVersion,
    SearchDocument,
    SearchGroupPosting,
    SearchPosting,
    SearchWord,
)
from govhall.catalog.search import implementation_search
from govhall.metrics.models import COUNTERS, ITEM_COUNTERS
from govhall.metrics.services import metrics_rebuild
from tests.cases.factories import case_world, make_case
from tests.factories import HANGZHOU, XIHU, make_implementation, make_person
from tests.metrics.test_figures import counter_rows

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the generator writes with PostgreSQL's COPY"
)
# Enough cases that every kind of deadline (0 days, calendar days, rest days) comes up.
GENERATED = 1000
OPEN_STATES = {CaseState.SUBMITTED, CaseState.ACCEPTED, CaseState.DECIDED}


def _log(message: str) -> None:
    """The generator's progress lines are not under test."""


def test_sample_pdf_passes_the_upload_checks() -> None:
    content = bench_data.sample_pdf_bytes(size=120 * 1024, variant=3)
    checked = upload_check(file=ContentFile(content, name="scan.pdf"))
    assert checked.content_type == "application/pdf"
    assert 118 * 1024 <= checked.size <= 122 * 1024
    assert content != bench_data.sample_pdf_bytes(size=120 * 1024, variant=4)


def test_the_draw_converts_dates_by_a_zones_offset_only_where_the_zone_kept_one() -> None:
    now = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)
    assert bench_history.zone_for_sql("Asia/Shanghai", now) == timedelta(hours=8)
    assert bench_history.zone_for_sql("UTC", now) == timedelta(0)
    assert bench_history.zone_for_sql("Europe/Berlin", now) == "Europe/Berlin"  # summer time


@pytest.mark.django_db
@postgresql_only
def test_a_zones_offset_converts_dates_as_its_name_does() -> None:
    """PostgreSQL reads an interval given to AT TIME ZONE as east of UTC, as the zone's name."""
    offset = bench_history.zone_for_sql("Asia/Shanghai", datetime(2026, 11, 20, tzinfo=UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE (t AT TIME ZONE %(offset)s) IS DISTINCT FROM (t AT TIME ZONE %(name)s) "
            "OR ((t AT TIME ZONE %(name)s) AT TIME ZONE %(offset)s) IS DISTINCT FROM t), count(*) "
            "FROM generate_series(timestamptz '2022-01-01 00:00+00', '2028-12-31', interval '7 hours 13 minutes') t",
            {"offset": offset, "name": "Asia/Shanghai"},
        )
        differing, compared = cursor.fetchone()
    assert compared > 8000
    assert differing == 0


@pytest.mark.django_db
@postgresql_only
def test_generator_writes_consistent_cases_and_reuses_what_it_made(monkeypatch: pytest.MonkeyPatch) -> None:
    make_implementation(region_code=XIHU, kind="market")
    # An immediate item promising 0 days, its statutory limit in calendar days.
    make_implementation(
        region_code=XIHU,
        kind="market",
        case_type="immediate",
        promised_time_limit_days=0,
        statutory_time_limit_days=20,
        statutory_time_limit_unit="calendar",
        promised_time_limit_unit="calendar",
    )
    before = Implementation.objects.count()
    rng = bench_data.seeded_random(1)
    bench_data._marker_ensure()

    added = bench_data.implementations_generate(target=before + 40, rng=rng, log=_log)
    # A synonym between two words of a generated name, so that its query has group postings.
    tokens = [
        token
        for token in dict.fromkeys(
            SearchDocument.objects.order_by("-pk").values_list("name_tokens", flat=True)[0].split()
        )
        if len(token) > 1 and search.POSTING_WORD.fullmatch(token)
    ]
    term, expansion = next((a, b) for a in tokens for b in tokens if a not in b and b not in a)
    search.search_synonym_upsert(term=term, expansion=expansion)
    postings = bench_data.postings_generate(log=_log)
    applicants = bench_data.applicants_generate(target=30, rng=rng, log=_log)
    timer = bench_history.StatementTimes()
    bench_data.cases_generate(target=GENERATED, rng=rng, log=_log, timer=timer)

    # Where the load's time went, by the table each statement writes (--statement-times).
    timed = {row["statement"]: row for row in timer.report()}
    for table in ("cases_case", "cases_casetask", "cases_caseevent", "cases_casematerial"):
        assert timed[f"INSERT INTO {table}"]["count"] >= 1
    assert "CREATE TEMP TABLE g_kept" in timed
    assert sum(row["share"] for row in timed.values()) == pytest.approx(1.0, abs=0.01)
    assert added == 40
    assert applicants == 30
    generated = Implementation.objects.exclude(versions__change__isnull=False)
    assert generated.count() == 40
    assert SearchDocument.objects.filter(implementation__in=generated).count() == 40
    snapshot = ImplementationVersion.objects.filter(implementation__in=generated).first().snapshot
    assert Implementation.objects.filter(implementation_code=snapshot["implementation_code"]).exists()
    assert bench_data.marker_get("cases") == GENERATED
    cases = list(Case.objects.all())
    assert len(cases) == GENERATED
    assert len({case.number for case in cases}) == GENERATED
    assert all(re.fullmatch(r"\d{6}\d{8}\d{6}", case.number) for case in cases)
    open_tasks = Counter(CaseTask.objects.filter(state=TaskState.OPEN).values_list("case_id", flat=True))
    for case in cases:
        if case.state in OPEN_STATES:
            assert open_tasks[case.pk] >= 1, case.state
            assert case.stage
        else:
            assert open_tasks[case.pk] == 0, case.state
        if case.state == CaseState.COMPLETED:
            assert case.completed_at is not None and case.completed_at >= case.submitted_at
        if case.accepted_at is not None:
            assert case.promised_due_on is not None and case.promised_due_on >= case.clock_start_on
            # The deadlines are the ones the live services compute (working or calendar days).
            for days, unit, due in (
                (case.promised_limit_days, case.promised_limit_unit, case.promised_due_on),
                (case.statutory_limit_days, case.statutory_limit_unit, case.statutory_due_on),
            ):
                assert due == calendar.limit_due(start=case.clock_start_on, days=days, unit=unit), case.number
    assert Counter(case.state for case in cases)[CaseState.COMPLETED] > 0
    # Submitted in the order of their ids, as a live platform numbers them: the first tenth is
    # three years old, the last tenth from the last weeks.
    by_id = sorted(cases, key=lambda case: case.pk)
    tenth = GENERATED // 10
    assert max(case.received_on for case in by_id[:tenth]) < min(case.received_on for case in by_id[-tenth:])
    # A generated variant is found by its own name through the same index as real items.
    variant = generated.select_related("entry").first()
    assert implementation_search(query=variant.entry.name, page_size=100).total >= 1
    # Its postings (ADR 14) are the ones the search writes: a word's page is the same from them.
    assert postings == 40
    assert set(SearchPosting.objects.values_list("document_id", flat=True)) >= set(
        generated.values_list("pk", flat=True)
    )
    word = SearchPosting.objects.filter(document_id=variant.pk, in_name=True).values_list("word", flat=True).first()
    from_postings = [(hit.implementation.pk, hit.score) for hit in implementation_search(query=word).hits]
    with monkeypatch.context() as patch:
        patch.setattr(search, "_posting_word", lambda groups, filtered: None)
        cache.clear()
        assert [(hit.implementation.pk, hit.score) for hit in implementation_search(query=word).hits] == from_postings
    assert variant.pk in [pk for pk, _score in from_postings]
    # The synonyms' group postings (ADR 18) too: as a synonym change writes them afresh.
    columns = ("document_id", "words", "in_name", "held", "score", "popularity", "sort_name")
    grouped = set(SearchGroupPosting.objects.values_list(*columns))
    assert {document for document, *_rest in grouped} & set(generated.values_list("pk", flat=True))
    SearchGroupPosting.objects.all().delete()
    SearchWord.objects.filter(word__contains="#").delete()
    search.group_postings_rebuild()
    assert set(SearchGroupPosting.objects.values_list(*columns)) == grouped
    assert bench_data.postings_generate(log=_log) == 0

    assert bench_data.implementations_generate(target=before + 40, rng=rng, log=_log) == 0
    assert bench_data.applicants_generate(target=30, rng=rng, log=_log) == 0
    assert bench_data.cases_generate(target=GENERATED, rng=rng, log=_log) == 0
    assert Case.objects.count() == GENERATED

    made = bench_data.ready_generate(region_code=XIHU, kind="accept", target=5, rng=rng, log=_log)
    assert bench_data.ready_pool_count(region_code=XIHU, kind="accept") >= 5
    assert made <= 5
    assert bench_data.ready_generate(region_code=XIHU, kind="accept", target=5, rng=rng, log=_log) == 0

    # The generator keeps the figures itself, equal to what the rebuild computes from the cases.
    generated_figures = counter_rows()
    assert sum(row["received"] for row in generated_figures[0].values()) == Case.objects.count()
    metrics_rebuild()
    assert counter_rows() == generated_figures


@pytest.mark.django_db
def test_the_generator_and_the_harness_refuse_keys_that_cannot_open_the_generated_data(settings) -> None:
    person = make_person()
    person.user.username = f"{bench_data.APPLICANT_PREFIX}000001"
    person.user.save(update_fields=["username"])
    bench_data.bench_keys_check()  # the keys that sealed it

    # Another checkout's var directory: a key of the same name, other bytes.
    key_id = privacy.key_id_of(person.identity_number_encrypted)
    settings.GOVHALL_DATA_KEYS = f"{key_id}:{base64.b64encode(b'o' * 32).decode()}"
    settings.GOVHALL_DATA_KEY_ID = key_id
    privacy.key_ring_reset()
    try:
        with pytest.raises(CommandError, match="sealed with other keys"):
            bench_data.bench_keys_check()
        with pytest.raises(SystemExit, match="sealed with other keys"):
            actions_timed.main(["todo_list", "--count", "1"])
    finally:
        privacy.key_ring_reset()


@pytest.mark.django_db
@postgresql_only
def test_figures_an_interrupted_earlier_load_set_aside_are_still_added() -> None:
    """Loads before the two stages kept one stage per day, department and implementation."""
    implementation = make_implementation(region_code=XIHU)
    counters = ", ".join(f"{name} int NOT NULL" for name in COUNTERS)
    values = ", ".join("2" if name in ("received", "completed") else "0" for name in COUNTERS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE UNLOGGED TABLE {bench_history.LEGACY_STAGE} (day date NOT NULL, department_id bigint NOT NULL, "
            f"region_id text NOT NULL, implementation_id bigint NOT NULL, {counters})"
        )
        cursor.execute(
            f"INSERT INTO {bench_history.LEGACY_STAGE} VALUES ('2026-03-02', %s, %s, %s, {values}), "
            f"('2026-03-05', %s, %s, %s, {values})",
            [implementation.department_id, XIHU, implementation.pk] * 2,
        )

    assert bench_history.figures_fold() == 2 + 2  # both rows moved into each of the two stages

    days, department_months, months, _entry_months = counter_rows()
    assert {key: row["received"] for key, row in days.items()} == {
        (date(2026, 3, 2), implementation.department_id): 2,
        (date(2026, 3, 5), implementation.department_id): 2,
    }
    assert department_months[(date(2026, 3, 1), implementation.department_id)]["completed"] == 4
    assert months[(date(2026, 3, 1), implementation.pk)]["received"] == 4
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [bench_history.LEGACY_STAGE])
        assert cursor.fetchone()[0] is None
    assert bench_history.figures_fold() == 0


@pytest.mark.django_db
@postgresql_only
def test_figures_a_stage_left_by_a_fold_interrupted_after_the_other_is_added_once() -> None:
    """The two stages fold in transactions of their own: after an interruption between them, the
    next fold adds what is left, and the stage already added stays added once."""
    implementation = make_implementation(region_code=XIHU)
    bench_history.figures_stage_ensure()
    values = ", ".join("3" if name == "received" else "0" for name in ITEM_COUNTERS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {bench_history.FIGURES_MONTHS} VALUES ('2026-03-01', %s, %s, %s, {values})",
            [implementation.pk, implementation.department_id, XIHU],
        )

    assert bench_history.figures_fold() == 1

    days, department_months, months, entry_months = counter_rows()
    assert days == {} and department_months == {}  # the day stage was empty: nothing added twice
    assert months[(date(2026, 3, 1), implementation.pk)]["received"] == 3
    assert [row["received"] for row in entry_months.values()] == [3]
    assert bench_history.figures_fold() == 0


def _catalogue_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)", [list(bench_data.CATALOGUE_LOADED_TABLES)]
        )
        return {name for (name,) in cursor.fetchall()}


@postgresql_only
def test_a_large_implementations_load_writes_each_chunk_beside_the_next_and_builds_the_indexes_after(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the threshold the catalogue tables' secondary indexes are dropped and built again,
    and each chunk is written by another thread on its own connection (committed data: the
    writer could not see a test's transaction) without foreign-key triggers; every row still
    points at what exists."""
    make_implementation(region_code=XIHU, kind="market")
    indexes = _catalogue_indexes()
    monkeypatch.setattr(bench_data, "IMPLEMENTATIONS_REBUILD_THRESHOLD", 10)
    monkeypatch.setattr(bench_data, "IMPLEMENTATION_CHUNK", 15)
    writers = []
    write = bench_data._implementations_write

    def recorded(*rows: list) -> None:
        writers.append((threading.current_thread() is threading.main_thread(), len(rows[0])))
        write(*rows)

    monkeypatch.setattr(bench_data, "_implementations_write", recorded)
    before = Implementation.objects.count()

    added = bench_data.implementations_generate(target=before + 40, rng=bench_data.seeded_random(1), log=_log)

    assert added == 40
    # Written by the writers' threads, two chunks at a time (in either order).
    assert sorted(writers) == [(False, 10), (False, 15), (False, 15)]
    assert _catalogue_indexes() == indexes
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {bench_data.INDEX_TABLE}")
        assert cursor.fetchone()[0] == 0
        # What the foreign keys would have checked.
        for table, column, target in (
            ("catalog_implementation", "department_id", "org_department"),
            ("catalog_implementation", "entry_id", "catalog_catalogueentry"),
            ("catalog_implementation", "region_id", "org_region"),
            ("catalog_implementationversion", "implementation_id", "catalog_implementation"),
            ("catalog_searchdocument", "implementation_id", "catalog_implementation"),
            ("catalog_material", "implementation_id", "catalog_implementation"),
            ("catalog_processstep", "implementation_id", "catalog_implementation"),
        ):
            key = "code" if target == "org_region" else "id"
            cursor.execute(
                f"SELECT count(*) FROM {table} row WHERE NOT EXISTS "
                f"(SELECT 1 FROM {target} t WHERE t.{key} = row.{column})"
            )
            assert cursor.fetchone()[0] == 0, (table, column)
    generated = Implementation.objects.exclude(versions__change__isnull=False)
    assert generated.count() == 40
    assert ImplementationVersion.objects.filter(implementation__in=generated).count() == 40
    assert SearchDocument.objects.filter(implementation__in=generated).count() == 40
    assert all(implementation.materials.exists() for implementation in generated)

    # The application form and process definition, serialised once per template, are its own.
    def definitions(implementations) -> set[str]:
        return {
            json.dumps([implementation.application_form, implementation.process_definition], sort_keys=True)
            for implementation in implementations
        }

    assert definitions(generated) <= definitions(Implementation.objects.exclude(pk__in=generated))


@postgresql_only
def test_the_catalogues_indexes_left_by_its_load_are_built_beside_the_postings_index(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generation leaves the catalogue's dropped indexes to the postings' load, which builds
    them in one pool with its own before the group postings read it."""
    make_implementation(region_code=XIHU, kind="market")
    catalogue, postings = _catalogue_indexes(), _indexes_of(bench_data.POSTINGS_TABLE)
    monkeypatch.setattr(bench_data, "IMPLEMENTATIONS_REBUILD_THRESHOLD", 10)
    monkeypatch.setattr(bench_data, "POSTINGS_REBUILD_THRESHOLD", 10)
    bench_data._marker_ensure()
    before = Implementation.objects.count()

    bench_data.implementations_generate(target=before + 20, rng=bench_data.seeded_random(1), log=_log, restore=False)

    assert _catalogue_indexes() < catalogue  # left dropped
    built = []
    restore = bench_data._indexes_restore
    monkeypatch.setattr(
        bench_data, "_indexes_restore", lambda log, **kwargs: built.append(kwargs) or restore(log, **kwargs)
    )

    assert bench_data.postings_generate(log=_log) >= 20

    assert len(built) == 1
    assert _catalogue_indexes() == catalogue
    assert _indexes_of(bench_data.POSTINGS_TABLE) == postings
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {bench_data.INDEX_TABLE}")
        assert cursor.fetchone()[0] == 0
    generated = SearchDocument.objects.filter(implementation__in=Implementation.objects.order_by("-pk")[:20])
    assert SearchPosting.objects.filter(document__in=generated).exists()


def _indexes_of(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {name for (name,) in cursor.fetchall()}


def test_the_largest_tables_first_index_gets_the_spare_core_only_where_that_table_outweighs_the_rest() -> None:
    postings = ("ranked", "", "catalog_searchposting", 1_400)
    catalogue = [
        ("region", "", "catalog_implementation", 126),
        ("entry", "", "catalog_implementation", 126),
        ("material", "", "catalog_material", 94),
    ]
    assert bench_data._build_workers([postings, *catalogue], 2) == {"ranked": 1, "region": 0, "entry": 0, "material": 0}
    assert bench_data._build_workers([postings, *catalogue], 1) == {"ranked": 0, "region": 0, "entry": 0, "material": 0}
    assert bench_data._build_workers([postings], 2) == {"ranked": 1}  # fewer indexes than sessions
    cases = [
        ("event_case", "", "cases_caseevent", 6_000),
        ("event_department", "", "cases_caseevent", 6_000),
        ("task_case", "", "cases_casetask", 4_000),
        ("material_case", "", "cases_casematerial", 4_500),
    ]
    assert set(bench_data._build_workers(cases, 2).values()) == {0}


@pytest.mark.django_db
@postgresql_only
def test_a_load_drops_secondary_indexes_but_keeps_unique_and_sparse_partial_ones() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_t (id bigint PRIMARY KEY, code text UNIQUE, dense bool, kind int)")
        cursor.execute("INSERT INTO bench_t SELECT i, i::text, i % 40 <> 0, i % 7 FROM generate_series(1, 2000) i")
        cursor.execute("CREATE INDEX bench_t_kind ON bench_t (kind)")
        cursor.execute("CREATE INDEX bench_t_dense ON bench_t (kind) WHERE dense")  # 1,950 of 2,000 rows
        cursor.execute("CREATE INDEX bench_t_sparse ON bench_t (kind) WHERE NOT dense")  # 50 rows: 2.5 %

    bench_data._secondary_indexes_drop(_log, tables=("bench_t",))

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'bench_t'")
        assert {name for (name,) in cursor.fetchall()} == {"bench_t_pkey", "bench_t_code_key", "bench_t_sparse"}
        cursor.execute(f"SELECT name, definition FROM {bench_data.INDEX_TABLE} WHERE name LIKE 'bench_t%'")
        kept = dict(cursor.fetchall())
    assert set(kept) == {"bench_t_kind", "bench_t_dense"}
    assert kept["bench_t_dense"].endswith("WHERE dense")


def test_the_generators_lines_are_shown_while_it_runs_and_its_failure_stops_the_run(tmp_path) -> None:
    """The harness hands on each line of the generator as it comes: here the program waits, after
    its first line, for a file the test writes only once it has read that line."""
    go = tmp_path / "go"
    program = (
        "import pathlib, sys, time\n"
        "print('first', flush=True)\n"
        f"go = pathlib.Path({str(go)!r})\n"
        "deadline = time.monotonic() + 60\n"
        "while not go.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "print('second' if go.exists() else 'read only after the end')\n"
    )
    lines = runner.output_lines([sys.executable, "-c", program], env={})
    assert next(lines) == "first"
    go.touch()
    assert list(lines) == ["second"]
    with pytest.raises(subprocess.CalledProcessError):
        list(runner.output_lines([sys.executable, "-c", "print('half'); raise SystemExit(3)"], env={}))


@pytest.mark.django_db
def test_ceiling_views_answer_and_exist_only_with_the_flag() -> None:
    factory = RequestFactory()
    assert json.loads(bench_views.ceiling_json(factory.get("/")).content) == {"ceiling": "json", "ok": True}
    answer = json.loads(bench_views.ceiling_pk(factory.get("/"), code="330106").content)
    assert answer["code"] == "330106"
    assert answer["name"] == "西湖区"
    assert bench_views.ceiling_pk(factory.get("/"), code="999999").status_code == 404
    assert bench_views.ceiling_insert(factory.post("/")).status_code == 201
    assert Session.objects.filter(session_data=bench_views.INSERT_MARKER).count() == 1
    with override_settings(GOVHALL_BENCH=False):
        assert bench_views.bench_urlpatterns() == []
    with override_settings(GOVHALL_BENCH=True):
        assert [pattern.name for pattern in bench_views.bench_urlpatterns()] == [
            "bench_ceiling_json",
            "bench_ceiling_pk",
            "bench_ceiling_ins",
        ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("steps", [False, True], ids=["one_call", "step_by_step"])
def test_submission_client_files_cases_through_the_api(live_server, steps) -> None:
    implementation = make_implementation(region_code=XIHU, kind="market")
    person = make_person(name="钱七", level=2)
    target = _submission_target(person=person)
    assert target is not None
    assert target["implementation_code"] == implementation.implementation_code
    tokens = _tokens([person.user])
    address = urllib.parse.urlparse(live_server.url)
    pdf = bench_data.sample_pdf_bytes(size=20 * 1024, variant=1)

    timings, _seconds = asyncio.run(
        submissions_run(
            host="127.0.0.1" if address.hostname == "localhost" else address.hostname,
            port=address.port,
            target=target,
            tokens=tokens,
            pdf=pdf,
            connections=1,
            duration=0.5,
            steps=steps,
        )
    )

    assert timings.error_samples == []
    assert timings.errors == 0
    assert len(timings.flows) >= 1
    filed = Case.objects.filter(applicant=person.user, state=CaseState.SUBMITTED)
    assert filed.count() == len(timings.flows)
    assert all(case.materials.count() == len(target["materials"]) for case in filed)
    assert set(timings.steps) == ({"draft", "form", "upload", "submit"} if steps else {"file"})


def test_ratings_go_through_the_sms_links_of_closed_cases_each_once(live_server) -> None:
    """The invitations still unused are kept and the missing ones sent; each link is rated once,
    through the form and its CSRF token; one turn in 25 is a bad review, which opens the
    department's follow-up."""
    from bench.flows import RATING_LEVELS, Rating, Timings, ratings_run
    from bench.prepare import invitations_ensure
    from govhall.evaluations.models import BadReviewFollowUp, Evaluation, Invitation

    world = case_world()
    world.applicant.user.username = f"{bench_data.APPLICANT_PREFIX}0"
    world.applicant.user.save(update_fields=["username"])
    closed = [make_case(world=world, until="completed") for _ in range(4)]
    Invitation.objects.filter(case=closed[0]).delete()  # closed before invitations were sent
    address = urllib.parse.urlparse(live_server.url)
    host = "127.0.0.1" if address.hostname == "localhost" else address.hostname

    tokens = invitations_ensure(region_code=XIHU, count=4)
    assert len(tokens) == 4 and len(set(tokens)) == 4
    assert Invitation.objects.filter(case=closed[0]).count() == 1  # sent now
    assert invitations_ensure(region_code=XIHU, count=4) == tokens  # kept, none sent again
    timings, _seconds, exhausted = asyncio.run(
        ratings_run(host=host, port=address.port, tokens=tokens[:3], connections=1, duration=10)
    )

    assert timings.error_samples == [] and timings.errors == 0
    assert len(timings.flows) == 3 and exhausted == 1
    assert set(timings.steps) == {"form", "rate"}
    assert Evaluation.objects.filter(case__in=closed, channel="sms").count() == 3
    assert invitations_ensure(region_code=XIHU, count=4) == tokens[3:]  # the others were used
    timings = Timings()
    asyncio.run(Rating(host=host, port=address.port, timings=timings).run(tokens[3], RATING_LEVELS.index(2)))
    rated = Evaluation.objects.get(case__in=closed, level=2)
    assert rated.reasons == ["overdue"] and BadReviewFollowUp.objects.filter(evaluation=rated).exists()
    assert Evaluation.objects.filter(case__in=closed).count() == 4
    assert invitations_ensure(region_code=XIHU, count=4) == []  # every closed case rated
    with pytest.raises(CheckFailed):  # a used link answers that the case was rated
        asyncio.run(Rating(host=host, port=address.port, timings=timings).run(tokens[3], 0))


def test_bundles_are_submitted_through_their_pages_each_application_once(live_server, monkeypatch) -> None:
    """Each application made ready by the preparation is submitted once through its edit page,
    with the applicant's session and the page's CSRF token; a submitted one sent again is an
    error (its page now leads to its status), not a second filing."""
    from bench import prepare
    from bench.flows import BundleSubmission, Timings, bundles_run
    from govhall.cases.models import BundleApplication
    from tests.cases.test_bundles import bundle_world

    bw = bundle_world()
    monkeypatch.setattr(prepare, "BUNDLE_CODE", bw.bundle.code)
    people = [make_person(name="吴十", level=2).user for _ in range(3)]
    pdf = bench_data.sample_pdf_bytes(size=20_000, variant=1)
    references = prepare.bundle_applications_ready(people=people, region_code=XIHU, pdf=pdf)
    applications = [
        f"/bundles/applications/{reference}/edit/\t{cookie}"
        for reference, cookie in zip(references, prepare._sessions(people), strict=True)
    ]
    address = urllib.parse.urlparse(live_server.url)
    host = "127.0.0.1" if address.hostname == "localhost" else address.hostname

    timings, _seconds, exhausted = asyncio.run(
        bundles_run(host=host, port=address.port, applications=applications, connections=1, duration=30)
    )

    assert timings.error_samples == [] and timings.errors == 0
    assert len(timings.flows) == 3 and exhausted == 1
    assert set(timings.steps) == {"form", "submit"}
    submitted = BundleApplication.objects.filter(applicant__in=people, submitted_at__isnull=False)
    assert submitted.count() == 3
    assert Case.objects.filter(bundle_application__in=submitted, state=CaseState.SUBMITTED).count() == 12
    with pytest.raises(CheckFailed):
        asyncio.run(BundleSubmission(host=host, port=address.port, timings=Timings()).run(0, applications[0]))
    assert Case.objects.filter(bundle_application__in=submitted).count() == 12


@pytest.mark.django_db
def test_timed_ratings_rate_closed_cases_through_their_links(monkeypatch) -> None:
    from govhall.evaluations.models import Evaluation

    monkeypatch.setattr(actions_timed, "WARM_UP", 1)
    world = case_world()
    world.applicant.user.username = f"{bench_data.APPLICANT_PREFIX}0"
    world.applicant.user.save(update_fields=["username"])
    closed = [make_case(world=world, until="completed") for _ in range(3)]
    timer = actions_timed.Timer()

    assert actions_timed.ratings(2, timer) == 0

    assert {step: len(times) for step, times in timer.times.items()} == {"rating.form": 2, "rating.rate": 2}
    assert Evaluation.objects.filter(case__in=closed).count() == 3  # the warm-up's too
    assert actions_timed.ratings(2, actions_timed.Timer()) == 1  # none left to rate


@pytest.mark.django_db
def test_timed_submissions_file_cases_and_report_each_step(capsys) -> None:
    implementation = make_implementation(region_code=XIHU, kind="market")
    people = [make_person(name="孙八", level=2) for _ in range(actions_timed.WARM_UP + 2)]
    for number, person in enumerate(people):
        person.user.username = f"{bench_data.APPLICANT_PREFIX}{number}"
        person.user.save(update_fields=["username"])
    timer = actions_timed.Timer()

    assert actions_timed.submissions(2, timer, steps=True) == 0
    assert actions_timed.submissions(2, timer) == 0
    timer.report(statements=True)

    materials = _submission_target(person=people[0], region_code=XIHU)["materials"]
    assert {step: len(times) for step, times in timer.times.items()} == {
        "draft": 2,
        "form": 2,
        "upload": 2 * len(materials),
        "submit": 2,
        "file": 2,
    }
    filed = Case.objects.filter(implementation=implementation, state=CaseState.SUBMITTED)
    # Each applicant once step by step and once in one call (the warm-up's too).
    assert filed.count() == 2 * len(people)
    report = capsys.readouterr().out
    assert "submit: 2 requests" in report and "file: 2 requests" in report and "INSERT INTO" in report

    # --calls: each timed request's Python and C calls, the steps' too.
    counted = actions_timed.Timer()
    counted.counting = True
    assert actions_timed.submissions(2, counted, steps=True) == 0
    assert set(counted.calls) == set(counted.times) and len(counted.calls["upload"]) == 2 * len(materials)
    assert all(python > 100 and c > 100 for python, c in counted.calls["submit"])
    assert sys.getprofile() is None
    counted.report(statements=False)
    assert "submit: 2 requests" in (report := capsys.readouterr().out) and "Python calls p50" in report


@pytest.mark.django_db
def test_timed_bundle_submissions_file_each_applicants_cases_through_the_page(monkeypatch, capsys) -> None:
    from bench import prepare
    from govhall.audit.models import AuditRecord
    from govhall.cases.models import BundleApplication
    from tests.cases.test_bundles import bundle_world

    bw = bundle_world()
    monkeypatch.setattr(prepare, "BUNDLE_CODE", bw.bundle.code)
    people = [make_person(name="周九", level=2) for _ in range(actions_timed.WARM_UP + 2)]
    for number, person in enumerate(people):
        person.user.username = f"{bench_data.APPLICANT_PREFIX}{number}"
        person.user.save(update_fields=["username"])
    timer = actions_timed.Timer()

    assert actions_timed.bundle_submissions(2, timer) == 0
    timer.report(statements=True)

    assert {step: len(times) for step, times in timer.times.items()} == {"bundle_page": 2, "bundle_submit": 2}
    submitted = BundleApplication.objects.filter(bundle=bw.bundle, submitted_at__isnull=False)
    assert submitted.count() == len(people)  # the warm-up's too
    assert Case.objects.filter(bundle_application__in=submitted, state=CaseState.SUBMITTED).count() == 4 * len(people)
    assert AuditRecord.objects.filter(action="bundle_application_submit").count() == len(people)
    report = capsys.readouterr().out
    assert "bundle_submit: 2 requests" in report
    if connection.vendor == "postgresql":  # the chain's lane, taken once at the end (ADR 26)
        assert "audit_chain_lane_tip" in report


@pytest.mark.django_db
def test_timed_to_do_lists_read_the_officers_open_tasks(capsys) -> None:
    world = case_world()
    case = make_case(world=world, until="submitted")
    bench_data.bench_staff_ensure(
        region_code=XIHU, username="bench-officer", roles=[Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER]
    )
    timer = actions_timed.Timer()

    assert actions_timed.todo_lists(2, timer) == 0
    timer.report(statements=True)

    assert len(timer.times["todo_list"]) == 2
    assert case.tasks.filter(state=TaskState.OPEN).exists()
    report = capsys.readouterr().out
    assert "todo_list: 2 requests" in report and 'FROM "cases_casetask"' in report


@pytest.mark.django_db
def test_an_interleaved_side_serves_its_bursts_and_the_rounds_are_compared() -> None:
    world = case_world()
    make_case(world=world, until="submitted")
    bench_data.bench_staff_ensure(
        region_code=XIHU, username="bench-officer", roles=[Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER]
    )
    out = io.StringIO()
    interleaved.serve(interleaved.request_of("todo_list"), ["2\n", "3\n"], out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "ready" and len(lines) == 3 and all(float(line) > 0 for line in lines[1:])

    report = interleaved.compared(["new", "old"], {"new": [0.3, 0.2], "old": [0.4, 0.4]}, burst=100)
    assert report[0].startswith("new: CPU a request median 2.500 ms")
    assert "new ÷ old, each round: median 0.625 (from 0.500 to 0.750" in report[2]


@pytest.mark.django_db
def test_an_interleaved_side_refuses_a_failed_answer() -> None:
    with pytest.raises(SystemExit, match="404"):
        interleaved.serve(interleaved.request_of("page", url="/no-such-page/"), [], io.StringIO())


@pytest.mark.django_db
def test_timed_pages_are_read_with_signed_in_sessions(capsys) -> None:
    """The to-do list page as the benchmark's officer (its session verified by the second
    factor: the page would answer a redirect without it) and "my cases" as the applicants."""
    world = case_world()
    cases = [make_case(world=world, until="submitted") for _ in range(actions_timed.WARM_UP + 2)]
    bench_data.bench_staff_ensure(
        region_code=XIHU, username="bench-officer", roles=[Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER]
    )
    people = []
    for number in range(actions_timed.WARM_UP + 2):
        person = make_person(level=2)
        person.user.username = f"{bench_data.APPLICANT_PREFIX}{number}"
        person.user.save(update_fields=["username"])
        people.append(person.user)
    for case, user in zip(cases, people, strict=True):
        Case.objects.filter(pk=case.pk).update(applicant=user)
    timer = actions_timed.Timer()

    for kind in ("workbench_todo_page", "workbench_case_page", "portal_my_cases", "portal_my_case"):
        assert actions_timed.pages(kind, 2, timer) == 0, kind
    timer.report(statements=False)

    assert {kind: len(times) for kind, times in timer.times.items()} == {
        "workbench_todo_page": 2,
        "workbench_case_page": 2,
        "portal_my_cases": 2,
        "portal_my_case": 2,
    }
    assert "portal_my_case: 2 requests" in capsys.readouterr().out


@pytest.mark.django_db
def test_timed_guides_are_first_readings_of_published_guides(capsys) -> None:
    implementations = [make_implementation(region_code=XIHU, kind="market") for _ in range(actions_timed.WARM_UP + 2)]
    timer = actions_timed.Timer()

    assert actions_timed.guides(2, timer) == 0
    timer.report(statements=False)

    assert len(timer.times["guide"]) == 2 and all(cpu > 0 for cpu in timer.cpu["guide"])
    assert all(len(statements) > 0 for statements in timer.kept["guide"])  # read, not served from a cache
    assert len({implementation.implementation_code for implementation in implementations}) == len(implementations)
    assert "guide: 2 requests" in capsys.readouterr().out


@pytest.mark.django_db
def test_timed_tiles_read_the_province_supervisors_paths(capsys) -> None:
    from tests.factories import make_department

    make_department(region_code="330000", kind="market")
    timer = actions_timed.Timer()

    assert actions_timed.tiles(1, timer) == 0
    timer.report(statements=False)

    assert len(timer.times["tiles"]) == 14  # one round of the load's tile paths
    assert "tiles: 14 requests" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
def test_wrk_script_counts_answers_that_fail_their_check(live_server) -> None:
    port = urllib.parse.urlparse(live_server.url).port
    options = runner.Options(port=port, duration=1, connections=2, threads=1)

    good = runner.wrk_run(options, runner.Spec("health", ["/healthz"], '"database"'), duration=1)
    bad = runner.wrk_run(options, runner.Spec("health", ["/healthz"], "no such text"), duration=1)

    assert good.requests > 0
    assert good.errors == 0
    assert bad.requests > 0
    assert bad.errors >= bad.requests - 2  # requests still in flight at the end are not checked


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
def test_a_scenario_whose_requests_are_never_answered_counts_as_an_error() -> None:
    import socket

    with socket.socket() as listener:  # accepts connections and answers nothing
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        options = runner.Options(port=listener.getsockname()[1], duration=1, connections=2, threads=1)
        row = runner.wrk_run(options, runner.Spec("silent", ["/"], ""), duration=1)

    assert row.requests == 0
    assert row.errors >= 1 and "no request was answered" in row.note


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
def test_wrk_script_asks_each_path_with_its_own_etag(live_server) -> None:
    port = urllib.parse.urlparse(live_server.url).port
    options = runner.Options(port=port, duration=1, connections=2, threads=1)
    paths = [f"/api/v1/regions/{code}" for code in (XIHU, HANGZHOU)]
    revalidated = runner.Spec("regions", paths, "", status=304, revalidate=True)

    asked = runner.revalidating(options, revalidated)
    unchanged = runner.wrk_run(options, asked, duration=1)
    stale = runner.wrk_run(
        options, runner.replace(asked, paths=[f'{path}\tIf-None-Match: "0"' for path in paths]), duration=1
    )

    assert [line.split("\t")[0] for line in asked.paths] == paths
    assert all(line.split("\t")[1].startswith('If-None-Match: "') for line in asked.paths)
    tags = [line.split("If-None-Match: ")[1] for line in asked.paths]
    assert tags[0] != tags[1]  # each path with its own
    assert unchanged.requests > 0
    assert unchanged.errors == 0
    assert stale.errors >= stale.requests - 2  # a tag the answer does not have: 200, not 304


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
def test_wrk_script_sends_each_path_its_own_body(live_server) -> None:
    """A path's own body (":body: …") replaces the scenario's: every identifier here is
    malformed, the scenario's own body a well-formed identifier of no licence."""
    from govhall.licences.identifiers import licence_identifier

    port = urllib.parse.urlparse(live_server.url).port
    options = runner.Options(port=port, duration=1, connections=2, threads=1)
    unknown = licence_identifier(type_code="YYZZ", issuer_code="11330106002494880Y", serial="0000001", version=1)
    own = [f"/api/v1/licences/verify\t:body: {json.dumps({'identifier': f'1.2.156.{n}'})}" for n in range(3)]
    spec = runner.Spec(
        "verify",
        own,
        '"code":"malformed"',
        method="POST",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"identifier": unknown}),
    )

    each_own = runner.wrk_run(options, spec, duration=1)
    scenario_body = runner.wrk_run(options, runner.replace(spec, paths=["/api/v1/licences/verify"]), duration=1)

    assert each_own.requests > 0
    assert each_own.errors == 0
    assert scenario_body.requests > 0
    assert scenario_body.errors >= scenario_body.requests - 2  # "unknown", not "malformed"


def test_a_pools_rows_are_its_flow_and_each_step_with_the_pool_found_empty_in_the_note() -> None:
    from bench.flows import Timings

    timings = Timings(flows=[0.2, 0.4], errors=1, error_samples=["submit: 400"])
    for step, seconds in (("form", 0.1), ("form", 0.2), ("submit", 0.3)):
        timings.add(step, seconds)

    rows = runner._pool_rows(
        runner.Options(), None, None, {}, "bundle", (timings, 2.0, 3), note="four cases", steps=("form", "submit")
    )

    assert [(row.scenario, row.requests, row.errors) for row in rows] == [
        ("bundle", 2, 1),
        ("bundle.form", 2, 0),
        ("bundle.submit", 1, 0),
    ]
    assert rows[0].rps == 1.0 and rows[0].note == "four cases; pool exhausted 3 times"
    assert rows[0].samples == ["submit: 400"]
    assert runner.bundle_rows(runner.Options(), {}, None)[0].errors == 1  # nothing prepared


def test_table_compares_each_scenario_with_its_ceiling() -> None:
    rows = [
        runner.Row("C_json", rps=2000),
        runner.Row("C_pk", rps=1000),
        runner.Row("C_ins", rps=500),
        runner.Row("guide", rps=700, p95_ms=30),
        runner.Row("search_specific", rps=400, p95_ms=30),
        runner.Row("accept", rps=300, p95_ms=120),
    ]

    runner.ratios(rows)
    verdicts = {row.scenario: (row.ratio, row.met) for row in rows}
    printed = runner.table(rows)

    assert verdicts["guide"] == (0.7, True)
    assert verdicts["search_specific"] == (0.4, False)
    assert verdicts["accept"] == (0.6, False)  # fast enough, but p95 over 100 ms
    assert verdicts["C_pk"] == (0.5, None)
    assert "MISSED" in printed
    assert "0.70 × C_pk" in printed


BURNER = """
import sys, time
print("ready", flush=True)
sys.stdin.readline()
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
print("done", flush=True)
sys.stdin.readline()
"""


def test_cpu_meter_says_whose_cpu_each_request_took() -> None:
    """A stand-in web worker burns 0.3 s of CPU between the two readings: 10 requests took
    30 ms each in the web workers, and the table says so."""
    worker = subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "ready"

        class Server:
            def worker_pids(self) -> list[int]:
                return [worker.pid]

        meter = runner.CpuMeter(Server())
        start = meter.start()
        worker.stdin.write("go\n")
        worker.stdin.flush()
        assert worker.stdout.readline().strip() == "done"
        spent = meter.per_request(start, 10)
    finally:
        worker.stdin.close()
        worker.wait(timeout=10)

    assert set(spent) == {"web", "database", "client", "rest"}
    assert 29 <= spent["web"] < 45
    assert meter.per_request(start, 0) == {}
    row = runner.Row("accept", rps=10, cpu_ms=spent)
    assert f"{spent['web']:.2f}+{spent['database']:.2f}+{spent['client']:.2f}" in runner.table([row])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts the CPU of PostgreSQL's processes")
def test_cpu_meter_keeps_the_cpu_of_a_database_backend_that_ended_between_its_readings() -> None:
    """A web worker's connection ends when it reaches its CONN_MAX_AGE, and its backend with it:
    the CPU that backend used before and during the scenario must not leave PostgreSQL's sum
    (a full run showed 0.00 ms of PostgreSQL for accept and decide)."""
    import psycopg

    class Server:
        def worker_pids(self) -> list[int]:
            return []

    meter = runner.CpuMeter(Server())
    params = {key: value for key, value in connection.get_connection_params().items() if key != "cursor_factory"}
    backend = psycopg.connect(**{**params, "dbname": "postgres"})  # no table: any database will do
    burn = "SELECT count(*) FROM generate_series(1, 3000000) AS n WHERE n % 7 = 3"
    backend.execute(burn).fetchone()  # CPU the backend has used before the first reading
    start = meter.start()
    backend.execute(burn).fetchone()
    backend.close()  # the backend ends
    for _ in range(50):  # until the postmaster has reaped it
        time.sleep(0.02)
        spent = meter.per_request(start, 1)
        if spent["database"] > 0:
            break

    assert spent["database"] >= 50  # ms: the second count's CPU at least, not less than nothing


def test_ratios_are_to_the_mean_of_the_ceilings_at_the_start_and_the_end() -> None:
    rows = [
        runner.Row("C_json", rps=2000),
        runner.Row("C_pk", rps=1200),
        runner.Row("C_ins", rps=500),
        runner.Row("guide", rps=600, p95_ms=30),
        runner.Row("accept", rps=250, p95_ms=90),
        runner.Row("C_json_end", rps=1600),
        runner.Row("C_pk_end", rps=800),
        runner.Row("C_ins_end", errors=1),  # failed: the start alone is used
    ]

    runner.ratios(rows)
    verdicts = {row.scenario: (row.ratio, row.met) for row in rows}

    assert runner.ceilings_measured(rows) == {
        "C_json": {"start": 2000, "end": 1600, "used": 1800.0},
        "C_pk": {"start": 1200, "end": 800, "used": 1000.0},
        "C_ins": {"start": 500, "end": None, "used": 500},
    }
    assert verdicts["guide"] == (0.6, True)
    assert verdicts["accept"] == (0.5, True)
    assert verdicts["C_pk_end"] == (round(800 / 1800, 3), None)
    assert runner.ceilings_drift(rows) == (
        "ceilings at the start and the end of the run: C_json 2,000 → 1,600 (-20%), C_pk 1,200 → 800 (-33%); "
        "ratios are to their means"
    )
    assert "C_json_end" in runner.table(rows)


def test_a_results_file_names_the_commit_it_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commit the server ran and how many tracked files differed from it; nothing made up
    where there is no git."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=runner.ROOT, capture_output=True, text=True, check=True)

    code = runner.code_version()

    assert code["commit"] == head.stdout.strip()
    assert isinstance(code["changed_files"], int) and code["changed_files"] >= 0

    monkeypatch.setattr(runner.shutil, "which", lambda _name: None)
    assert runner.code_version() == {"commit": None, "changed_files": None}


@pytest.mark.django_db
def test_dashboard_paths_answer_the_province_supervisor(client) -> None:
    import random

    from bench.prepare import _figures_paths, _province_supervisor
    from tests.factories import make_department

    make_department(region_code="330000", kind="market")
    (token,) = _tokens([_province_supervisor()])
    paths = _figures_paths(random.Random(1))

    assert len(paths["tiles"]) == len(paths["items"]) and len(paths["drilldown"]) == 2 * len(paths["tiles"])
    for kind, expected in (("tiles", '"received":'), ("drilldown", "["), ("items", "[")):
        answer = client.get(paths[kind][0], headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.content
        assert expected in answer.content.decode()


@pytest.mark.django_db
def test_each_api_scenarios_check_finds_its_text_in_a_real_answer(client, monkeypatch) -> None:
    """The load counts an answer without its scenario's expected text as an error: each API
    scenario's first request, made here through the test client, must pass its own check (the
    API's JSON once gained compact separators, and every such check failed in a full run)."""
    import random

    from bench.prepare import _api_list_uncached, _figures_paths, _province_supervisor
    from govhall.catalog import kept_answers
    from tests.cases.factories import task_open

    world = case_world()
    # The county's one page stands for the pages beyond the kept ones, which a small catalogue lacks.
    monkeypatch.setattr(kept_answers, "KEPT_MAX_PAGE", 0)
    uncached = _api_list_uncached([XIHU])
    assert uncached == [f"/api/v1/implementations?region={XIHU}&page=1"]
    roles = [Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER]
    clerk = bench_data.bench_staff_ensure(region_code=XIHU, username="bench-clerk", roles=roles)
    officer = bench_data.bench_staff_ensure(region_code=XIHU, username="bench-officer", roles=roles)
    clerk_token, officer_token, supervisor_token = _tokens([clerk, officer, _province_supervisor()])
    waiting = make_case(world=world, until="prereviewed")
    reviewed = make_case(world=world, until="reviewed")
    submitted = make_case(world=world, until="submitted")  # on the to-do list
    own = own_cases([world.applicant.user])
    assert {number for _place, number in own} <= {waiting.number, reviewed.number, submitted.number}
    assert len(own) == 3 and {place for place, _number in own} == {0}
    data = {
        "applicant_tokens": _tokens([world.applicant.user]),
        "own_cases": own,
        "officer_token": officer_token,
        "supervisor_token": supervisor_token,
        "clerk_token": clerk_token,
        "queries": {kind: [] for kind in ("specific", "broad", "two_characters")},
        "counties": [XIHU],
        "api_list_uncached": uncached,
        "regions": [XIHU],
        "guides": [world.implementation.implementation_code],
        "case_numbers": [reviewed.number],
        "figures": _figures_paths(random.Random(1)),
        "ready": {
            "accept": [task_open(waiting, kind="accept").pk],
            "decide": [task_open(reviewed, kind="decide").pk],
        },
    }
    specs = runner.specs(runner.Options(), data)
    checked = []
    for scenario in ("api_list", "api_detail", "todo_list", "case_page", "my_cases", "dashboard", "accept", "decide"):
        for spec in specs[scenario]:
            path, _tab, own_headers = spec.paths[0].partition("\t")
            headers = {name: value for name, value in spec.headers.items() if name != "Content-Type"}
            headers.update(dict(header.split(": ", 1) for header in own_headers.split("\t") if header))
            if spec.method == "POST":
                answer = client.post(path, data=spec.body, content_type="application/json", headers=headers)
            else:
                if spec.revalidate:  # the ETag the path answers with, as the runner asks before the run
                    headers["If-None-Match"] = client.get(path, headers=headers)["ETag"]
                answer = client.get(path, headers=headers)
            assert answer.status_code == spec.status, (spec.name, answer.content)
            assert spec.expect_text in answer.content.decode(), (spec.name, spec.expect_text, answer.content[:300])
            checked.append(spec.name)

    assert len(checked) == 18


@pytest.mark.django_db
def test_the_licence_pool_is_issued_once_and_each_verification_scenario_passes_its_check(
    client, settings, tmp_path
) -> None:
    """The verification scenarios read licences the real service issued (signed, stored): a
    second preparation finds them and issues none; each scenario's first request, the QR code's
    page and the API with its own body, passes the check the load makes."""
    from bench.prepare import licences_ensure
    from govhall.licences.demo import DEMO_TYPES
    from govhall.licences.models import Licence, LicenceType
    from tests.licences.factories import issuing_department

    settings.GOVHALL_SEAL_DIR = tmp_path / "seals"
    settings.GOVHALL_SEAL_AUTO_CREATE = True
    for spec in DEMO_TYPES:
        LicenceType.objects.create(**spec)
    issuing_department(XIHU, "market")
    issuing_department(XIHU, "health")
    people = []
    for number in range(2):
        person = make_person(level=2)
        person.user.username = f"{bench_data.APPLICANT_PREFIX}{number}"
        person.user.save(update_fields=["username"])
        people.append(person.user)

    issued = licences_ensure(region_code=XIHU, count=5, people=people)
    again = licences_ensure(region_code=XIHU, count=5, people=people)

    assert len(issued) == 5 and again == issued
    licences = Licence.objects.filter(identifier__in=issued)
    assert licences.count() == 5 and {licence.person.user for licence in licences} == set(people)
    assert {licence.licence_type.code for licence in licences} == {"GTGSHYYZZ", "SPJYXK", "GGCSWSXK", "CSYXZM"}
    assert all(licence.versions.get().document for licence in licences)  # rendered, signed and stored
    specs = runner.specs(runner.Options(), {**_specs_data_empty(), "licences": issued})["licence_verify"]
    assert [spec.name for spec in specs] == ["licence_verify", "licence_verify_api"]
    for spec in specs:
        path, _tab, own = spec.paths[-1].partition("\t")
        if spec.method == "POST":
            body = own.removeprefix(":body: ")
            assert json.loads(body) == {"identifier": issued[-1]}
            answer = client.post(path, data=body, content_type="application/json")
        else:
            answer = client.get(path)
        assert answer.status_code == spec.status, (spec.name, answer.content)
        assert spec.expect_text in answer.content.decode(), (spec.name, answer.content[:300])
    assert runner.specs(runner.Options(), _specs_data_empty())["licence_verify"] == []
    timer = actions_timed.Timer()  # the same requests timed in one process
    assert actions_timed.licence_verifications(3, timer) == 0
    assert {step: len(times) for step, times in timer.times.items()} == {"licence_verify": 3, "licence_verify_api": 3}


def _page_scenarios_data() -> tuple[dict, Case]:
    """What the pages' scenarios read, made as the preparation makes it: the officer's sessions
    (verified by the second factor) and an applicant's, with a case on the officer's to-do list."""
    from bench.prepare import _sessions

    world = case_world()
    roles = [Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER]
    officer = bench_data.bench_staff_ensure(region_code=XIHU, username="bench-officer", roles=roles)
    submitted = make_case(world=world, until="submitted")
    data = {
        **_specs_data_empty(),
        "case_numbers": [submitted.number],
        "own_cases": own_cases([world.applicant.user]),
        "applicant_tokens": _tokens([world.applicant.user]),
        "officer_sessions": _sessions([officer, officer], staff=True),
        "applicant_sessions": _sessions([world.applicant.user]),
    }
    return data, submitted


@pytest.mark.django_db
def test_each_page_scenarios_check_finds_its_text_in_a_real_answer(client) -> None:
    """The workbench's and the portal's pages, each asked with a session the preparation signed
    in, pass the check the load makes; a session without the second factor does not open the
    workbench, so the scenarios' sessions must carry it."""
    from bench.prepare import _sessions
    from govhall.accounts.models import User

    data, submitted = _page_scenarios_data()
    specs = runner.specs(runner.Options(), data)
    checked = []
    for group in ("workbench_pages", "portal_cases"):
        for spec in specs[group]:
            path, _tab, own = spec.paths[0].partition("\t")
            answer = client.get(path, headers={"Cookie": own.removeprefix("Cookie: ")})
            assert answer.status_code == spec.status, (spec.name, answer.status_code)
            assert spec.expect_text in answer.content.decode(), (spec.name, answer.content[:300])
            checked.append((spec.name, path))

    assert checked == [
        ("workbench_todo_page", "/workbench/cases/"),
        ("workbench_case_page", f"/workbench/cases/{submitted.number}/"),
        ("portal_my_cases", "/cases/"),
        ("portal_my_case", f"/cases/{submitted.number}/"),
    ]
    assert len(set(data["officer_sessions"])) == 2  # one session each sign-in
    (unverified,) = _sessions([User.objects.get(username="bench-officer")])
    assert client.get("/workbench/cases/", headers={"Cookie": unverified}).status_code == 302
    assert runner.specs(runner.Options(), _specs_data_empty())["workbench_pages"] == []
    assert runner.specs(runner.Options(), _specs_data_empty())["portal_cases"] == []


@pytest.mark.django_db(transaction=True)
def test_sessions_are_touched_before_a_page_scenario_and_an_ended_one_stops_it(live_server) -> None:
    """A staff session ends after 15 idle minutes, and a scenario may come later than that after
    the preparation: each session opens a page just before the run. An ended session is sent to
    the sign-in page (200 once the redirect is followed), which the touch must not take for the
    scenario's page."""
    data, _submitted = _page_scenarios_data()
    options = runner.Options(port=urllib.parse.urlparse(live_server.url).port)
    todo_page = runner.specs(options, data)["workbench_pages"][0]

    runner.sessions_touched(options, todo_page)
    Session.objects.filter(session_key=data["officer_sessions"][1].split("=", 1)[1]).delete()

    with pytest.raises(RuntimeError, match="workbench_todo_page"):
        runner.sessions_touched(options, todo_page)


def _specs_data_empty() -> dict:
    """What ``runner.specs`` reads, with nothing to read."""
    return {
        "officer_token": "",
        "supervisor_token": "",
        "clerk_token": "",
        "queries": {kind: [] for kind in ("specific", "broad", "two_characters")},
        "counties": [],
        "regions": [],
        "guides": [],
        "case_numbers": [],
        "figures": {"tiles": [], "drilldown": [], "items": []},
        "ready": {"accept": [], "decide": []},
    }


@pytest.mark.django_db
def test_figures_upkeep_is_measured_without_changing_the_figures() -> None:
    from bench.prepare import figures_upkeep
    from govhall.metrics.models import DepartmentDay

    make_implementation(region_code=XIHU, kind="market")
    before = list(DepartmentDay.objects.values_list("accepted", flat=True))
    measured = figures_upkeep(samples=20)
    assert measured["samples"] == 20 and 0 < measured["p50_ms"] <= measured["p99_ms"]
    assert list(DepartmentDay.objects.values_list("accepted", flat=True)) == before
