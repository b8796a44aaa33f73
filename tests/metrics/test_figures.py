"""Figures kept current as cases move equal a direct count over the cases, equal what the
rebuild computes from scratch, cost a bounded number of queries, and are scoped like cases."""

import datetime
import importlib

import pytest
from django.db import connection, transaction
from django.db.models import F, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from govhall.cases import services
from govhall.cases.models import Case, CaseState
from govhall.evaluations.services import evaluation_submit
from govhall.metrics.models import COUNTERS, ITEM_COUNTERS, DepartmentDay, DepartmentMonth, EntryMonth, ItemMonth
from govhall.metrics.selectors import figures_breakdown, figures_items, figures_tiles, period_parts
from govhall.metrics.services import metrics_rebuild
from govhall.org.models import Department
from tests.cases.factories import case_world, make_case, make_draft, task_open
from tests.factories import force_login_verified, make_department, make_implementation

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return case_world()


def _period():
    today = timezone.localdate()
    return today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)


def _generated(world):
    """Cases in every state through the real services."""
    cases = [
        make_case(world=world, until=until) for until in ("submitted", "accepted", "completed", "completed", "decided")
    ]
    refused = make_case(world=world, until="submitted")
    services.case_refuse(task=task_open(refused), officer=world.clerk, reasons="不属于本部门职权范围")
    withdrawn = make_case(world=world, until="accepted")
    services.case_withdraw(case=withdrawn, user=world.applicant.user, reason="不再需要")
    corrected = make_case(world=world, until="submitted")
    services.case_correction_notify(
        task=task_open(corrected), officer=world.clerk, items=[{"subject": "食品经营许可申请书", "problem": "未签字"}]
    )
    make_draft(world=world)
    evaluation_submit(case=cases[2], user=world.applicant.user, level=1, reasons=["overdue"], comment="")
    evaluation_submit(case=cases[3], user=world.applicant.user, level=5, reasons=[], comment="")
    return cases


def test_the_figures_equal_a_direct_count_and_the_rebuild(world):
    _generated(world)
    start, end = _period()
    tiles = figures_tiles(user=world.supervisor, start=start, end=end)
    cases = Case.objects.exclude(state=CaseState.DRAFT)

    assert tiles.counts["received"] == cases.count()
    assert tiles.counts["started"] == Case.objects.count()
    assert tiles.counts["accepted"] == cases.filter(accepted_at__isnull=False).count()
    assert tiles.counts["refused"] == cases.filter(state=CaseState.REFUSED).count() == 1
    assert tiles.counts["withdrawn"] == cases.filter(state=CaseState.WITHDRAWN).count() == 1
    assert tiles.counts["completed"] == cases.filter(state=CaseState.COMPLETED).count() == 2
    assert tiles.counts["approved"] == cases.filter(decision="approve").count()
    assert tiles.counts["corrections"] == 1
    assert (tiles.counts["ratings"], tiles.counts["ratings_bad"], tiles.satisfaction) == (2, 1, 50.0)
    assert tiles.on_time_rate == 100.0

    expected = [(world.implementation.entry.name, cases.count(), 1)]
    # 杭州市's supervisor: entry rows for the city, implementation rows for the county and for the
    # province (beyond the scope: the scope's part of it, as the tiles do).
    for region in (None, "330000", "330100", "330106"):
        items = figures_items(user=world.supervisor, start=start, end=end, region=region)
        assert [(row["name"], row["received"], row["ratings_bad"]) for row in items] == expected, region
    items = figures_items(user=world.reviewer, start=start, end=end)
    assert [(row["name"], row["received"]) for row in items] == [expected[0][:2]]

    incremental = counter_rows()
    metrics_rebuild()
    assert counter_rows() == incremental


def counter_rows():
    """Every counter row of both tables, by key."""
    days = {
        (row.day, row.department_id): {name: getattr(row, name) for name in COUNTERS}
        for row in DepartmentDay.objects.all()
    }
    entry_months = {
        (row.month, row.entry_id, row.city_code): {name: getattr(row, name) for name in ITEM_COUNTERS}
        for row in EntryMonth.objects.all()
    }
    department_months = {
        (row.month, row.department_id): {name: getattr(row, name) for name in COUNTERS}
        for row in DepartmentMonth.objects.all()
    }
    months = {
        (row.month, row.implementation_id): {name: getattr(row, name) for name in ITEM_COUNTERS}
        | {"entry": row.entry_id, "department": row.department_id, "region": row.region_code}
        for row in ItemMonth.objects.all()
    }
    return days, department_months, months, entry_months


def test_a_case_action_adds_to_every_counter_table_in_one_statement(world):
    case = make_case(world=world, until="prereviewed")
    DepartmentDay.objects.all().delete()
    DepartmentMonth.objects.all().delete()
    ItemMonth.objects.all().delete()
    EntryMonth.objects.all().delete()

    with CaptureQueriesContext(connection) as captured:
        services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)
    figures = [query["sql"] for query in captured.captured_queries if "metrics_" in query["sql"]]
    tables = ("metrics_departmentday", "metrics_departmentmonth", "metrics_itemmonth", "metrics_entrymonth")
    if connection.vendor == "postgresql":
        # The department's day and month, the implementation's and the entry's month.
        assert len(figures) == 1 and all(table in figures[0] for table in tables)
    else:
        assert [table for sql in figures for table in tables if f"INTO {table}" in sql] == list(tables)
    case.refresh_from_db()
    month = timezone.localdate(case.accepted_at).replace(day=1)
    assert DepartmentDay.objects.get(department=case.department, day=timezone.localdate(case.accepted_at)).accepted == 1
    assert DepartmentMonth.objects.get(department=case.department, month=month).accepted == 1
    assert ItemMonth.objects.get(implementation=case.implementation, month=month).accepted == 1
    assert EntryMonth.objects.get(entry=case.implementation.entry, month=month).accepted == 1


def test_figures_are_scoped_like_cases(world, client):
    _generated(world)
    start, end = _period()

    assert figures_tiles(user=world.supervisor, start=start, end=end).counts["received"] > 0  # 杭州市
    assert figures_tiles(user=world.reviewer, start=start, end=end).counts["received"] > 0  # the department
    assert figures_tiles(user=world.other_city_supervisor, start=start, end=end).counts["received"] == 0  # 宁波市
    assert figures_tiles(user=world.applicant.user, start=start, end=end).counts["received"] == 0
    assert [row["name"] for row in figures_breakdown(user=world.supervisor, start=start, end=end, region="330100")] == [
        "西湖区"
    ]

    force_login_verified(client, world.supervisor)
    page = client.get(
        "/workbench/figures/", {"period": "custom", "from": str(start), "to": str(end), "region": "330100"}
    )
    api = client.get("/api/v1/figures/tiles", {"start": str(start), "end": str(end)})
    assert page.status_code == 200 and "西湖区" in page.content.decode()
    assert api.json()["received"] == Case.objects.exclude(state=CaseState.DRAFT).count()
    force_login_verified(client, world.other_city_supervisor)
    assert client.get("/api/v1/figures/tiles", {"start": str(start), "end": str(end)}).json()["received"] == 0


def test_a_period_reads_whole_months_from_the_month_rows_and_the_rest_from_the_days():
    assert period_parts(datetime.date(2026, 1, 1), datetime.date(2026, 12, 3)) == (
        (datetime.date(2026, 1, 1), datetime.date(2026, 11, 1)),
        [(datetime.date(2026, 12, 1), datetime.date(2026, 12, 3))],
    )
    # Ending today: nothing is counted after today, so this month's row is the days so far.
    assert period_parts(datetime.date(2026, 1, 1), datetime.date(2026, 12, 3), today=datetime.date(2026, 12, 3)) == (
        (datetime.date(2026, 1, 1), datetime.date(2026, 12, 1)),
        [],
    )
    assert period_parts(datetime.date(2026, 12, 2), datetime.date(2026, 12, 3), today=datetime.date(2026, 12, 3)) == (
        None,
        [(datetime.date(2026, 12, 2), datetime.date(2026, 12, 3))],
    )
    assert period_parts(datetime.date(2026, 1, 1), datetime.date(2026, 12, 3), today=datetime.date(2026, 12, 4)) == (
        (datetime.date(2026, 1, 1), datetime.date(2026, 11, 1)),
        [(datetime.date(2026, 12, 1), datetime.date(2026, 12, 3))],
    )
    assert period_parts(datetime.date(2026, 1, 15), datetime.date(2026, 3, 31)) == (
        (datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)),
        [(datetime.date(2026, 1, 15), datetime.date(2026, 1, 31))],
    )
    assert period_parts(datetime.date(2026, 2, 3), datetime.date(2026, 2, 20)) == (
        None,
        [(datetime.date(2026, 2, 3), datetime.date(2026, 2, 20))],
    )
    assert period_parts(datetime.date(2025, 12, 31), datetime.date(2026, 2, 1)) == (
        (datetime.date(2026, 1, 1), datetime.date(2026, 1, 1)),
        [
            (datetime.date(2025, 12, 31), datetime.date(2025, 12, 31)),
            (datetime.date(2026, 2, 1), datetime.date(2026, 2, 1)),
        ],
    )


def test_figures_over_months_and_days_equal_the_days_alone(world):
    """The same sums whether a period is read from month rows plus days or from days only."""
    _generated(world)
    DepartmentDay.objects.update(day=F("day") - datetime.timedelta(days=40))  # spread over two months
    metrics_rebuild_months_from_days()
    start, end = timezone.localdate() - datetime.timedelta(days=80), timezone.localdate()
    tiles = figures_tiles(user=world.supervisor, start=start, end=end)
    direct = DepartmentDay.objects.filter(day__gte=start, day__lte=end).aggregate(total=Sum("received"))["total"]
    assert tiles.counts["received"] == direct > 0
    breakdown = figures_breakdown(user=world.supervisor, start=start, end=end, region="330100", by="department")
    assert sum(row["received"] for row in breakdown) == direct
    # Each department once, under its own name, its month and day rows added together.
    per_department = dict(
        DepartmentDay.objects.filter(day__gte=start, day__lte=end)
        .values("department_id")
        .annotate(total=Sum("received"))
        .values_list("department_id", "total")
    )
    names = dict(Department.objects.filter(pk__in=per_department).values_list("pk", "name"))
    assert [(row["key"], row["name"], row["received"], row["is_region"]) for row in breakdown] == [
        (pk, names[pk], per_department[pk], False) for pk in sorted(per_department)
    ]


def metrics_rebuild_months_from_days():
    """The data migration's own function (it filled the month rows from the day rows)."""
    from django.apps import apps

    DepartmentMonth.objects.all().delete()
    importlib.import_module("govhall.metrics.migrations.0004_department_month").months_from_days(apps, None)


def chain_lanes_held() -> list[int]:
    """The audit chain's lanes this session holds (two-key advisory locks: the chain's, a lane)."""
    from govhall.audit.services import AUDIT_CHAIN_LOCK

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            "AND objsubid = 2 AND classid::bigint = %s",
            [AUDIT_CHAIN_LOCK],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory lock")
def test_counting_takes_a_lane_of_the_audit_chain_first_and_its_records_keep_to_it():
    """Every transaction takes a lane of the audit chain before the counter rows' locks (a draft
    begun counts before its audit record; without this, two actions deadlocked), and writes its
    records in that lane, holding no other (ADR 29)."""
    from govhall.audit.services import audit_record_add
    from govhall.metrics.services import figures_add

    department = make_department(region_code="330106")  # no audit record, so no lane yet
    with transaction.atomic():
        assert chain_lanes_held() == []
        figures_add(day=timezone.localdate(), department_id=department.pk, region_code="330106", counts={"started": 1})
        lanes = chain_lanes_held()
        assert len(lanes) == 1
        record = audit_record_add(actor=None, action="counted", object_type="test", object_id=1, summary="after")
        assert chain_lanes_held() == lanes
    assert record.lane == lanes[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the order PostgreSQL's statement writes its rows in")
def test_a_transactions_counts_lock_each_row_once_tables_in_turn_rows_in_key_order(world):
    """Transactions in different lanes of the audit chain write counters at once; each takes its
    rows in one order, whatever order its counts came in (a bundle's cases), so that none waits
    for another in a circle. Triggers note the order the rows are written in."""
    from govhall.audit.services import atomic_audited
    from govhall.metrics.services import figures_add

    second_entry = make_implementation(region_code="330106", kind="market")
    same_entry = make_implementation(entry=second_entry.entry, region_code="330106", kind="ecology")
    first = world.implementation
    other = world.ecology
    assert first.pk < second_entry.pk < same_entry.pk and world.market.pk < other.pk
    day = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE written (number serial, what text)")
        cursor.execute(
            "CREATE FUNCTION pg_temp.note() RETURNS trigger AS $$ BEGIN "
            "INSERT INTO written (what) VALUES (TG_TABLE_NAME || ' ' || concat_ws(' ', "
            "(to_jsonb(NEW) ->> 'department_id'), (to_jsonb(NEW) ->> 'implementation_id'), "
            "(to_jsonb(NEW) ->> 'entry_id'))); "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        for table in ("departmentday", "departmentmonth", "itemmonth", "entrymonth"):
            cursor.execute(
                f"CREATE TRIGGER note BEFORE INSERT ON metrics_{table} FOR EACH ROW EXECUTE FUNCTION pg_temp.note()"
            )
    # The counts come in no order: the last department first, one department's day twice, two
    # implementations of one entry in the same city.
    with atomic_audited():
        for department, implementation in ((other, same_entry), (world.market, first), (world.market, second_entry)):
            figures_add(
                day=day,
                department_id=department.pk,
                region_code="330106",
                counts={"received": 1},
                implementation_id=implementation.pk,
            )
    with connection.cursor() as cursor:
        cursor.execute("SELECT what FROM written ORDER BY number")
        noted = [row[0] for row in cursor.fetchall()]

    departments = sorted([world.market.pk, other.pk])
    entries = sorted({first.entry_id, second_entry.entry_id})
    assert noted == [
        *(f"metrics_departmentday {pk}" for pk in departments),
        *(f"metrics_departmentmonth {pk}" for pk in departments),
        f"metrics_itemmonth {world.market.pk} {first.pk} {first.entry_id}",
        f"metrics_itemmonth {world.market.pk} {second_entry.pk} {second_entry.entry_id}",
        f"metrics_itemmonth {other.pk} {same_entry.pk} {same_entry.entry_id}",
        *(f"metrics_entrymonth {entry}" for entry in entries),
    ]
    month = day.replace(day=1)
    assert EntryMonth.objects.get(month=month, entry_id=second_entry.entry_id, city_code="330100").received == 2
    assert DepartmentDay.objects.get(day=day, department=world.market).received == 2


def test_an_actions_figures_take_few_enough_parameters_for_psycopg_to_keep_their_conversion(world):
    """The four upserts of an action go as one statement; with a parameter for each counter it
    took 80 and psycopg converted its placeholders again on every action (0.13 ms). The counters
    an action does not add are literal zeros, and the rows come out the same."""
    from psycopg._queries import MAX_CACHED_STATEMENT_PARAMS

    case = make_case(world=world, until="prereviewed")
    sent = []

    def kept(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(kept):
        services.case_accept(task=task_open(case), officer=world.clerk)
    upserts = [params for sql, params in sent if "INSERT INTO metrics_departmentday" in sql]
    assert len(upserts) == 1 and len(upserts[0]) <= MAX_CACHED_STATEMENT_PARAMS
    day = DepartmentDay.objects.get(department=case.department, day=timezone.localdate())
    month = DepartmentMonth.objects.get(department=case.department, month=timezone.localdate().replace(day=1))
    item = ItemMonth.objects.get(implementation=case.implementation, month=timezone.localdate().replace(day=1))
    assert (day.received, day.accepted, day.refused, day.completed) == (1, 1, 0, 0)
    assert (month.received, month.accepted, item.received, item.accepted, item.completed) == (1, 1, 1, 1, 0)


def test_counts_that_come_to_nothing_write_no_row(world):
    """Counts handed over and all zero (a writer summing what cancels out) leave the rows as
    they were, and take no lock."""
    from govhall.audit.services import atomic_audited
    from govhall.metrics.services import _figures_write

    with CaptureQueriesContext(connection) as captured, atomic_audited():
        _figures_write({(timezone.localdate(), world.market.pk, "330106", None): {}})

    written = [query["sql"] for query in captured.captured_queries]
    assert not any("metrics_" in sql or "audit_chain" in sql for sql in written)
