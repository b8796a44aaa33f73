"""A whole region's closed months are read from their kept sums (``RegionMonth``), which equal
the department rows they were summed from and are made again whenever a closed month is written."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govhall.metrics.models import COUNTERS, DepartmentMonth, EntryMonth, ItemMonth, RegionEntryMonth, RegionMonth
from govhall.metrics.selectors import figures_items, figures_tiles, items_of, region_rows, tiles_of
from govhall.metrics.services import figures_add, figures_generation_bump, first_open_month, metrics_rebuild
from tests.cases.factories import case_world, make_case
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR_START = datetime.date(2026, 1, 1)


def at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=10, tzinfo=SHANGHAI)


@pytest.fixture
def world():
    """Cases of 西湖区 counted in March, May and July 2026 (read on 15 July: March and May closed)."""
    world = case_world()
    for day, untils in (("2026-03-10", ("completed", "submitted")), ("2026-05-12", ("accepted",))):
        with time_machine.travel(at(day), tick=False):
            for until in untils:
                make_case(world=world, until=until)
    with time_machine.travel(at("2026-07-14"), tick=False):
        make_case(world=world, until="completed")
    return world


def _live(region: str, end: datetime.date) -> dict[str, int]:
    return tiles_of(region_rows(region=region, start=YEAR_START, end=end)).counts


def test_the_closed_months_sums_equal_the_department_rows_and_are_kept(world, client):
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        assert first_open_month(today) == datetime.date(2026, 6, 1)
        force_login_verified(client, world.supervisor)  # 杭州市
        first = client.get("/api/v1/figures/tiles", {"start": str(YEAR_START), "end": str(today)})
        assert first.status_code == 200
        live = _live("330100", today)
        assert {name: first.json()[name] for name in COUNTERS} == live
        assert live["received"] == 4 and live["completed"] == 2  # March, May and July
        # January to May of the city, a month without rows as zeros.
        kept = dict(RegionMonth.objects.filter(region_code="330100").values_list("month", "received"))
        assert kept == {datetime.date(2026, month, 1): {3: 2, 5: 1}.get(month, 0) for month in range(1, 6)}

        # Periods with days at either end (day rows) or within one month.
        for start, end in (("2026-03-05", "2026-07-14"), ("2026-05-12", "2026-05-12"), ("2026-02-01", "2026-03-31")):
            tiles = client.get("/api/v1/figures/tiles", {"start": start, "end": end}).json()
            live = tiles_of(
                region_rows(
                    region="330100", start=datetime.date.fromisoformat(start), end=datetime.date.fromisoformat(end)
                )
            ).counts
            assert {name: tiles[name] for name in COUNTERS} == live and live["received"] > 0, (start, end)

        with CaptureQueriesContext(connection) as captured:
            again = client.get("/api/v1/figures/tiles", {"start": str(YEAR_START), "end": str(today)})
        assert again.json() == first.json()
        statements = [query["sql"] for query in captured.captured_queries]
        assert not any("INSERT INTO metrics_regionmonth" in sql for sql in statements)
        assert any("FROM metrics_regionmonth" in sql for sql in statements)


def test_a_count_dated_into_a_closed_month_or_a_rebuild_makes_the_sums_again(world):
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        before = figures_tiles(user=world.supervisor, start=YEAR_START, end=today).counts
        department = DepartmentMonth.objects.filter(region_code="330106").values_list("department_id", flat=True)[0]
        figures_add(
            day=datetime.date(2026, 3, 20), department_id=department, region_code="330106", counts={"received": 5}
        )
        after = figures_tiles(user=world.supervisor, start=YEAR_START, end=today).counts
        assert after["received"] == before["received"] + 5 == _live("330100", today)["received"]

        metrics_rebuild()  # back to what the cases hold
        assert figures_tiles(user=world.supervisor, start=YEAR_START, end=today).counts == before


def test_sums_of_an_earlier_generation_are_not_read(world):
    """Sums made while a closed month was being written carry the generation before that
    write's; they are summed again rather than read."""
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        before = figures_tiles(user=world.supervisor, start=YEAR_START, end=today).counts
        figures_add(
            day=datetime.date(2026, 4, 2),
            department_id=DepartmentMonth.objects.values_list("department_id", flat=True)[0],
            region_code="330106",
            counts={"received": 1},
        )
        # As if a dashboard had summed April just before that write committed, after the bump.
        RegionMonth.objects.filter(region_code="330100", month=datetime.date(2026, 4, 1)).update(received=0)
        RegionMonth.objects.update(generation=0)
        assert figures_tiles(user=world.supervisor, start=YEAR_START, end=today).counts["received"] == (
            before["received"] + 1
        )


def test_only_a_region_the_user_supervises_whole_is_read_from_its_sums(world):
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        # 杭州市's supervisor asking for the province sees 杭州市's part of it, from the rows.
        province = figures_tiles(user=world.supervisor, start=YEAR_START, end=today, region="330000").counts
        assert province == _live("330100", today)
        # A reviewer sees the department's figures, from the rows.
        assert figures_tiles(user=world.reviewer, start=YEAR_START, end=today).counts["received"] == 4
        # Another city's supervisor sees none of them.
        assert figures_tiles(user=world.other_city_supervisor, start=YEAR_START, end=today).counts["received"] == 0
        assert not RegionMonth.objects.filter(region_code="330000").exists()
        # The county, asked for by the city's supervisor, is read from its sums.
        county = figures_tiles(user=world.supervisor, start=YEAR_START, end=today, region="330106").counts
        assert county == _live("330106", today)
        assert RegionMonth.objects.filter(region_code="330106").count() == 5


# ---------------------------------------------------------------------------------------------
# The item ranking of a whole province or city (RegionEntryMonth)


def _live_items(region: str, end: datetime.date) -> list[dict]:
    code = {"330000": {"province_code": "330000"}, "330100": {"city_code": "330100"}}[region]
    return items_of(EntryMonth.objects.filter(**code, month__gte=YEAR_START, month__lte=end))


def _items_api(client, **query) -> list[dict]:
    answer = client.get("/api/v1/figures/breakdown", {"start": str(YEAR_START), "by": "item", **query})
    assert answer.status_code == 200
    return answer.json()


def test_the_item_rankings_closed_months_are_kept_and_equal_the_entry_rows(world, client):
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        force_login_verified(client, world.supervisor)  # 杭州市
        first = _items_api(client, end=str(today))
        live = _live_items("330100", today)
        assert [(row["key"], row["received"], row["completed"]) for row in first] == [
            (row["key"], row["received"], row["completed"]) for row in live
        ]
        assert sum(row["received"] for row in first) == 4  # March, May and July
        # January to May are kept, each with its mark, whatever entries it had.
        kept = RegionEntryMonth.objects.filter(region_code="330100")
        assert sorted(kept.filter(entry_id=0).values_list("month", flat=True)) == [
            datetime.date(2026, month, 1) for month in range(1, 6)
        ]
        assert {(row.month, row.received) for row in kept.exclude(entry_id=0)} == {
            (datetime.date(2026, 3, 1), 2),
            (datetime.date(2026, 5, 1), 1),
        }

        with CaptureQueriesContext(connection) as captured:
            again = _items_api(client, end=str(today))
        assert again == first
        statements = [query["sql"] for query in captured.captured_queries]
        assert not any("INSERT INTO metrics_regionentrymonth" in sql for sql in statements)
        assert any("FROM metrics_regionentrymonth" in sql for sql in statements)

        # A period within the open months reads the entry rows alone, and one of closed months alone.
        july = _items_api(client, start="2026-07-01", end="2026-07-31")
        assert [row["received"] for row in july] == [1]
        march = _items_api(client, start="2026-03-01", end="2026-03-31")
        assert [row["received"] for row in march] == [2]


def test_a_count_dated_into_a_closed_month_makes_the_item_sums_again(world):
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        before = figures_items(user=world.supervisor, start=YEAR_START, end=today)
        implementation_id, department_id = ItemMonth.objects.values_list("implementation_id", "department_id")[0]
        figures_add(
            day=datetime.date(2026, 3, 20),
            department_id=department_id,
            region_code="330106",
            counts={"received": 5},
            implementation_id=implementation_id,
        )
        after = figures_items(user=world.supervisor, start=YEAR_START, end=today)
        assert sum(row["received"] for row in after) == sum(row["received"] for row in before) + 5
        assert after == _live_items("330100", today)

        metrics_rebuild()  # back to what the cases hold
        assert figures_items(user=world.supervisor, start=YEAR_START, end=today) == before


def test_item_sums_of_an_earlier_generation_are_not_read(world):
    """Sums made while a closed month was being written carry the generation before that
    write's; they are made again rather than read, the entries that month no longer has too."""
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        before = figures_items(user=world.supervisor, start=YEAR_START, end=today)
        made_under = RegionEntryMonth.objects.values_list("generation", flat=True).first()
        figures_generation_bump()  # a write into a closed month, which left its counts as they were
        RegionEntryMonth.objects.exclude(entry_id=0).update(received=0)
        RegionEntryMonth.objects.create(
            month=datetime.date(2026, 4, 1),
            region_code="330100",
            entry_id=before[0]["key"] + 1000,
            generation=0,
            received=7,
        )
        RegionEntryMonth.objects.update(generation=made_under)
        assert figures_items(user=world.supervisor, start=YEAR_START, end=today) == before
        assert sum(row["received"] for row in before) == 4


def test_only_a_whole_province_or_city_ranks_its_items_from_kept_sums(world):
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        # 杭州市's supervisor asking for the province sees 杭州市's items, from the entry rows.
        province = figures_items(user=world.supervisor, start=YEAR_START, end=today, region="330000")
        assert province == _live_items("330100", today)
        # Another city's supervisor sees none of them; a reviewer sees the department's.
        assert figures_items(user=world.other_city_supervisor, start=YEAR_START, end=today) == []
        assert sum(row["received"] for row in figures_items(user=world.reviewer, start=YEAR_START, end=today)) == 4
        # A county is ranked from its implementation rows.
        county = figures_items(user=world.supervisor, start=YEAR_START, end=today, region="330106")
        assert [row["received"] for row in county] == [row["received"] for row in province]
        assert not RegionEntryMonth.objects.filter(region_code__in=["330000", "330100"]).exists()


def test_a_ranking_whose_closed_months_are_written_each_time_it_makes_them_reads_the_entry_rows(world, monkeypatch):
    from govhall.metrics import selectors

    made = []
    real = selectors._closed_entry_months_made

    def made_then_written(**kwargs):
        real(**kwargs)
        figures_generation_bump()  # a count dated into a closed month commits before the read
        made.append(kwargs["months"])

    monkeypatch.setattr(selectors, "_closed_entry_months_made", made_then_written)
    with time_machine.travel(at("2026-07-15"), tick=False):
        today = datetime.date(2026, 7, 15)
        assert figures_items(user=world.supervisor, start=YEAR_START, end=today) == _live_items("330100", today)
        assert len(made) == 3
