"""The working-day calendar against real holidays of 2025 and 2026 (chinese-calendar 1.11):

- 2025 National Day: 10-01 to 10-08 off; Sunday 09-28 and Saturday 10-11 worked (调休).
- 2026 New Year: 01-01 to 01-03 off; Sunday 01-04 worked.
- 2026 Spring Festival: 02-15 to 02-23 off; Saturdays 02-14 and 02-28 worked.
"""

import datetime
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from govhall.accounts.models import Role, User
from govhall.audit.models import AuditRecord
from govhall.cases.calendar import (
    calendar_day_add,
    calendar_day_check,
    calendar_day_set,
    calendar_days_list,
    calendar_read_once,
    calendar_seed,
    is_working_day,
    limit_due,
    working_day_add,
    working_days_between,
    year_is_known,
)
from govhall.cases.models import CalendarDay, CalendarSource, DayKind
from tests.factories import PROVINCE, force_login_verified, make_staff

D = datetime.date


@pytest.fixture
def seeded(db):
    calendar_seed(years=[2025, 2026])


@pytest.fixture
def system_administrator(db):
    return make_staff(role=Role.SYSTEM_ADMINISTRATOR, region_code=PROVINCE)


# --- seeding ------------------------------------------------------------------------------------


def test_seeding_a_year_writes_every_day_with_kind_and_chinese_holiday_name(db):
    CalendarDay.objects.filter(date__year=2026).delete()

    created = calendar_seed(years=[2026])

    assert created == 365
    assert CalendarDay.objects.filter(date__year=2026).count() == 365
    days = {
        day.date: day
        for day in CalendarDay.objects.filter(
            date__in=[D(2026, 2, 17), D(2026, 2, 14), D(2026, 2, 21), D(2026, 3, 7), D(2026, 3, 9), D(2026, 10, 1)]
        )
    }
    assert (days[D(2026, 2, 17)].working, days[D(2026, 2, 17)].kind, days[D(2026, 2, 17)].name) == (
        False,
        DayKind.HOLIDAY,
        "春节",
    )
    assert (days[D(2026, 2, 14)].working, days[D(2026, 2, 14)].kind, days[D(2026, 2, 14)].name) == (
        True,
        DayKind.MAKEUP,
        "春节",
    )
    # A Saturday inside the holiday is counted as the holiday, not as a plain weekend.
    assert days[D(2026, 2, 21)].kind == DayKind.HOLIDAY
    assert (days[D(2026, 3, 7)].working, days[D(2026, 3, 7)].kind, days[D(2026, 3, 7)].name) == (
        False,
        DayKind.WEEKEND,
        "",
    )
    assert (days[D(2026, 3, 9)].working, days[D(2026, 3, 9)].kind) == (True, DayKind.WORKDAY)
    assert days[D(2026, 10, 1)].name == "国庆节"
    assert {day.source for day in days.values()} == {CalendarSource.PACKAGE}


def test_seeding_twice_creates_nothing_the_second_time_and_keeps_administrator_days(seeded, system_administrator):
    calendar_day_set(actor=system_administrator, day=D(2026, 10, 8), working=False, kind=DayKind.HOLIDAY, name="国庆节")

    created = calendar_seed(years=[2025, 2026])

    assert created == 0
    kept = CalendarDay.objects.get(date=D(2026, 10, 8))
    assert (kept.working, kept.kind, kept.source) == (False, DayKind.HOLIDAY, CalendarSource.ADMINISTRATOR)
    assert CalendarDay.objects.filter(date__year__in=[2025, 2026]).count() == 365 + 365


def test_seeding_corrects_a_package_day_that_differs_from_the_package(seeded):
    # As after an upgrade of chinese-calendar that revises a year.
    CalendarDay.objects.filter(date=D(2026, 2, 17)).update(working=True, kind=DayKind.WORKDAY, name="")

    calendar_seed(years=[2026])

    corrected = CalendarDay.objects.get(date=D(2026, 2, 17))
    assert (corrected.working, corrected.kind, corrected.name) == (False, DayKind.HOLIDAY, "春节")


def test_seeding_skips_years_the_package_does_not_know(db):
    assert calendar_seed(years=[2030]) == 0
    assert not CalendarDay.objects.filter(date__year=2030).exists()


def test_the_management_command_reports_the_days_it_created(db):
    CalendarDay.objects.filter(date__year=2025).delete()
    out = StringIO()

    call_command("calendar_seed", "--year", "2025", stdout=out)

    assert out.getvalue().strip() == "created 365 calendar days"


# --- working days ---------------------------------------------------------------------------------


def test_spring_festival_2026_is_skipped_and_its_make_up_saturday_counted(seeded):
    # Accepted on Thursday 02-12: Friday 02-13 is day 1, Saturday 02-14 (调休) day 2, then nine
    # days off, and Tuesday 02-24 is day 3.
    assert working_day_add(start=D(2026, 2, 12), days=3) == D(2026, 2, 24)
    assert is_working_day(day=D(2026, 2, 14)) is True
    assert is_working_day(day=D(2026, 2, 16)) is False


@pytest.mark.parametrize(
    ("days", "due"),
    [
        (1, D(2025, 9, 28)),  # the 调休 Sunday is the first day counted
        (2, D(2025, 9, 29)),
        (3, D(2025, 9, 30)),
        (4, D(2025, 10, 9)),  # 10-01 to 10-08 are off
        (6, D(2025, 10, 11)),  # the 调休 Saturday
    ],
)
def test_national_day_2025_counts_its_make_up_sunday_as_working(seeded, days, due):
    assert working_day_add(start=D(2025, 9, 26), days=days) == due


def test_a_limit_crossing_the_year_end_skips_new_year_and_counts_its_make_up_sunday(seeded):
    # From Wednesday 2025-12-24: 12-25, 26, 29, 30, 31 (5); 2026-01-01 to 03 off; Sunday 01-04
    # worked (6); 01-05 to 01-08 (10).
    assert working_day_add(start=D(2025, 12, 24), days=10) == D(2026, 1, 8)
    assert working_days_between(start=D(2025, 12, 24), end=D(2026, 1, 8)) == 10


def test_zero_working_days_end_on_the_start_day_and_negative_ones_are_refused(seeded):
    assert working_day_add(start=D(2026, 2, 16), days=0) == D(2026, 2, 16)
    with pytest.raises(ValueError):
        working_day_add(start=D(2026, 2, 16), days=-1)


@pytest.mark.parametrize("start", [D(2025, 9, 26), D(2025, 12, 24), D(2026, 2, 12), D(2026, 2, 15)])
@pytest.mark.parametrize("days", [1, 5, 20, 45])
def test_working_days_between_is_the_inverse_of_working_day_add(seeded, start, days):
    assert working_days_between(start=start, end=working_day_add(start=start, days=days)) == days


def test_working_days_between_is_zero_when_the_end_is_not_after_the_start(seeded):
    assert working_days_between(start=D(2026, 3, 9), end=D(2026, 3, 9)) == 0
    assert working_days_between(start=D(2026, 3, 9), end=D(2026, 3, 2)) == 0
    # Friday to Monday: only the Monday counts.
    assert working_days_between(start=D(2026, 3, 6), end=D(2026, 3, 9)) == 1


def test_working_day_add_over_sixty_days_reads_the_calendar_once(seeded, django_assert_num_queries):
    with django_assert_num_queries(1):
        due = working_day_add(start=D(2025, 12, 24), days=60)

    # 60 working days from 2025-12-24 cross New Year and the Spring Festival.
    assert working_days_between(start=D(2025, 12, 24), end=due) == 60
    assert due == D(2026, 3, 25)  # the 60th of chinese_calendar.get_workdays from 2025-12-25


def test_a_limit_longer_than_the_first_window_still_ends_right(seeded, system_administrator):
    # A month closed by the administrator outlasts the first window of a one-day limit.
    for offset in range(40):
        day = D(2025, 3, 1) + datetime.timedelta(days=offset)
        calendar_day_set(actor=system_administrator, day=day, working=False, kind=DayKind.HOLIDAY, name="停办")

    assert working_day_add(start=D(2025, 2, 28), days=1) == D(2025, 4, 10)


def test_an_action_s_dates_come_from_one_read_and_equal_those_read_one_by_one(seeded, django_assert_num_queries):
    start = D(2025, 12, 24)
    apart = (
        working_day_add(start=start, days=20),
        calendar_day_add(start=start, days=30),
        working_day_add(start=D(2026, 1, 5), days=5),
        working_days_between(start=start, end=D(2026, 2, 20)),
    )

    with django_assert_num_queries(1), calendar_read_once():
        together = (
            working_day_add(start=start, days=20),
            calendar_day_add(start=start, days=30),
            working_day_add(start=D(2026, 1, 5), days=5),
            working_days_between(start=start, end=D(2026, 2, 20)),
        )

    assert together == apart


def test_inside_one_read_days_before_or_beyond_what_was_read_are_read_and_counted_right(
    seeded, system_administrator, django_assert_num_queries
):
    for offset in range(40):
        day = D(2025, 3, 1) + datetime.timedelta(days=offset)
        calendar_day_set(actor=system_administrator, day=day, working=False, kind=DayKind.HOLIDAY, name="停办")

    used = working_days_between(start=D(2025, 2, 28), end=D(2025, 6, 4))

    with django_assert_num_queries(2), calendar_read_once():
        assert working_day_add(start=D(2026, 6, 1), days=1) == D(2026, 6, 2)
        # Earlier than the year before the first day asked: read again, the closed month skipped.
        assert working_day_add(start=D(2025, 2, 28), days=1) == D(2025, 4, 10)
        # Within what both reads hold: no third read, the same count as outside the block.
        assert working_days_between(start=D(2025, 2, 28), end=D(2025, 6, 4)) == used


def test_an_acceptance_s_dates_asked_latest_first_come_from_one_read(seeded, django_assert_num_queries):
    # The order an acceptance asks in: a deadline of 60 calendar days, one of 14, then the next
    # step's due date and the days used so far, from the day of acceptance.
    accepted = D(2025, 12, 5)
    asks = (
        lambda: calendar_day_add(start=accepted, days=60),
        lambda: calendar_day_add(start=accepted, days=14),
        lambda: working_day_add(start=accepted, days=20),
        lambda: working_days_between(start=D(2025, 11, 3), end=accepted),
    )
    apart = [ask() for ask in asks]

    with django_assert_num_queries(1), calendar_read_once():
        together = [ask() for ask in asks]

    assert together == apart


def test_an_administrator_s_edit_is_seen_by_the_next_read_once_block(seeded, system_administrator):
    with calendar_read_once():
        assert is_working_day(day=D(2026, 6, 3))
        with calendar_read_once():  # an inner block shares the outer one's days
            assert working_day_add(start=D(2026, 6, 2), days=1) == D(2026, 6, 3)

    calendar_day_set(actor=system_administrator, day=D(2026, 6, 3), working=False, kind=DayKind.HOLIDAY, name="停办")

    with calendar_read_once():
        assert not is_working_day(day=D(2026, 6, 3))
        assert working_day_add(start=D(2026, 6, 2), days=1) == D(2026, 6, 4)


# --- calendar days --------------------------------------------------------------------------------


def test_a_calendar_day_limit_ending_on_a_holiday_ends_on_the_next_working_day(seeded):
    # 2025-09-24 + 7 days is 10-01, National Day; the first working day after is Thursday 10-09.
    assert calendar_day_add(start=D(2025, 9, 24), days=7) == D(2025, 10, 9)


def test_a_calendar_day_limit_ending_on_a_make_up_saturday_ends_that_day(seeded):
    assert calendar_day_add(start=D(2025, 10, 4), days=7) == D(2025, 10, 11)


def test_a_calendar_day_limit_ending_on_an_ordinary_weekend_ends_on_monday(seeded):
    # Civil Code art. 203: a statutory rest day includes the weekend.
    assert calendar_day_add(start=D(2026, 3, 2), days=5) == D(2026, 3, 9)


def test_a_calendar_day_limit_ending_on_a_working_day_is_plain_date_arithmetic(seeded):
    assert calendar_day_add(start=D(2026, 3, 2), days=30) == D(2026, 4, 1)


@pytest.mark.parametrize(
    ("unit", "days", "due"),
    [
        ("working", 3, D(2025, 9, 30)),  # 09-28 (调休), 29, 30
        ("calendar", 3, D(2025, 9, 29)),
        ("calendar", 5, D(2025, 10, 9)),  # 10-01 is National Day
    ],
)
def test_limit_due_counts_in_the_unit_of_the_limit(seeded, unit, days, due):
    assert limit_due(start=D(2025, 9, 26), days=days, unit=unit) == due


def test_limit_due_refuses_an_unknown_unit(seeded):
    with pytest.raises(ValueError):
        limit_due(start=D(2026, 3, 2), days=3, unit="hours")


# --- unknown years and administrator entries ------------------------------------------------------


def test_a_year_not_in_the_calendar_counts_monday_to_friday(db):
    assert year_is_known(year=2030) is False
    # 2030-09-27 is a Friday; National Day 2030 is not entered, so 10-01 and 10-02 count.
    assert working_day_add(start=D(2030, 9, 27), days=3) == D(2030, 10, 2)
    assert is_working_day(day=D(2030, 10, 1)) is True
    assert is_working_day(day=D(2030, 9, 28)) is False


def test_every_day_of_the_seeded_years_works_as_its_row_says(seeded):
    # The queries read only the rows that differ from the weekday (calendar._days_read).
    rows = dict(CalendarDay.objects.values_list("date", "working"))  # every year the package knows
    assert {D(2025, 1, 1), D(2026, 12, 31)} <= set(rows)
    with calendar_read_once():
        assert {day: is_working_day(day=day) for day in rows} == rows
    spring_festival = [day for day in rows if D(2026, 2, 1) <= day <= D(2026, 3, 15)]
    assert {day: is_working_day(day=day) for day in spring_festival} == {day: rows[day] for day in spring_festival}
    assert sum(working != (day.weekday() < 5) for day, working in rows.items()) > 20  # holidays and 调休


def test_a_seeded_year_is_known(seeded):
    assert year_is_known(year=2026) is True


def test_an_administrator_entered_2027_holiday_changes_the_due_date_and_is_audited(db, system_administrator):
    assert working_day_add(start=D(2027, 2, 5), days=1) == D(2027, 2, 8)

    day = calendar_day_set(
        actor=system_administrator, day=D(2027, 2, 8), working=False, kind=DayKind.HOLIDAY, name="春节"
    )

    assert (day.source, day.updated_by) == (CalendarSource.ADMINISTRATOR, system_administrator)
    assert working_day_add(start=D(2027, 2, 5), days=1) == D(2027, 2, 9)
    assert year_is_known(year=2027) is True
    record = AuditRecord.objects.get(action="calendar_day_set", object_id="2027-02-08")
    assert record.actor == system_administrator
    assert record.object_type == "calendar_day"
    assert record.data == {
        "date": "2027-02-08",
        "before": None,
        "after": {"working": False, "kind": "holiday", "name": "春节", "source": "administrator"},
    }


def test_correcting_a_package_day_records_its_previous_values(seeded, system_administrator):
    calendar_day_set(actor=system_administrator, day=D(2026, 3, 9), working=False, kind=DayKind.HOLIDAY, name="补假")

    record = AuditRecord.objects.get(action="calendar_day_set", object_id="2026-03-09")
    assert record.data["before"] == {"working": True, "kind": "workday", "name": "", "source": "package"}
    assert is_working_day(day=D(2026, 3, 9)) is False


@pytest.mark.parametrize(
    "role", [Role.SECURITY_ADMINISTRATOR, Role.AUDITOR, Role.CATALOGUE_ADMINISTRATOR, Role.WINDOW_CLERK, None]
)
def test_only_a_system_administrator_may_set_a_day(seeded, role):
    if role is None:
        # Django's superuser flag grants nothing without the role.
        actor = User.objects.create_superuser(username="root", password="a-long-test-password")
    else:
        actor = make_staff(role=role, region_code=PROVINCE)

    with pytest.raises(PermissionDenied):
        calendar_day_set(actor=actor, day=D(2026, 3, 9), working=False, kind=DayKind.HOLIDAY, name="补假")

    assert CalendarDay.objects.get(date=D(2026, 3, 9)).source == CalendarSource.PACKAGE
    assert not AuditRecord.objects.filter(action="calendar_day_set").exists()


@pytest.mark.parametrize(
    ("working", "kind", "name", "field"),
    [
        (True, DayKind.HOLIDAY, "春节", "working"),
        (False, DayKind.MAKEUP, "春节", "working"),
        (False, DayKind.HOLIDAY, "", "name"),
        (True, DayKind.MAKEUP, " ", "name"),
        (True, "festival", "", "kind"),
        (False, DayKind.HOLIDAY, "节" * 33, "name"),
    ],
)
def test_contradictory_day_fields_are_refused(working, kind, name, field):
    with pytest.raises(ValidationError) as refused:
        calendar_day_check(working=working, kind=kind, name=name)

    assert list(refused.value.error_dict) == [field]


def test_the_days_of_a_year_list_every_day_and_mark_unknown_ones_provisional(seeded, django_assert_num_queries):
    with django_assert_num_queries(1):
        days_2026 = calendar_days_list(year=2026)
    days_2030 = calendar_days_list(year=2030)

    assert len(days_2026) == 365
    spring = days_2026[D(2026, 2, 17).timetuple().tm_yday - 1]
    assert (spring.date, spring.kind, spring.name, spring.provisional) == (D(2026, 2, 17), "holiday", "春节", False)
    assert spring.kind_label == "法定节假日"
    assert [day.date for day in days_2030[:2]] == [D(2030, 1, 1), D(2030, 1, 2)]
    assert all(day.provisional for day in days_2030)
    assert sum(day.working for day in days_2030) == 261


# --- admin ------------------------------------------------------------------------------------


def _admin_client(client, user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    force_login_verified(client, user)
    return client


def test_a_day_added_in_the_admin_is_saved_through_the_service(client, system_administrator):
    admin = _admin_client(client, system_administrator)

    response = admin.post(
        "/admin/cases/calendarday/add/", {"date": "2027-02-08", "working": "", "kind": "holiday", "name": "春节"}
    )

    assert response.status_code == 302, response.content.decode()[-1500:]
    day = CalendarDay.objects.get(date=D(2027, 2, 8))
    assert (day.working, day.kind, day.source) == (False, DayKind.HOLIDAY, CalendarSource.ADMINISTRATOR)
    assert AuditRecord.objects.filter(action="calendar_day_set", object_id="2027-02-08").count() == 1


def test_the_admin_shows_a_contradictory_day_as_a_form_error(client, system_administrator):
    admin = _admin_client(client, system_administrator)

    response = admin.post(
        "/admin/cases/calendarday/add/", {"date": "2027-02-08", "working": "on", "kind": "holiday", "name": "春节"}
    )

    assert response.status_code == 200
    assert "须为休息日" in response.content.decode()
    assert not CalendarDay.objects.filter(date=D(2027, 2, 8)).exists()


def test_the_admin_lists_a_year_and_refuses_deletion(client, seeded, system_administrator):
    admin = _admin_client(client, system_administrator)

    listing = admin.get("/admin/cases/calendarday/", {"date__year": "2026", "kind": "holiday"})
    delete = admin.post("/admin/cases/calendarday/2026-02-17/delete/", {"post": "yes"})

    assert listing.status_code == 200
    assert "春节" in listing.content.decode()
    assert delete.status_code == 403
    assert CalendarDay.objects.filter(date=D(2026, 2, 17)).exists()


def test_the_calendar_is_not_open_to_a_security_administrator_in_the_admin(client, seeded):
    admin = _admin_client(client, make_staff(role=Role.SECURITY_ADMINISTRATOR, region_code=PROVINCE))

    assert admin.get("/admin/cases/calendarday/").status_code == 403


def test_a_package_day_changed_in_the_admin_becomes_the_administrators(client, seeded, system_administrator):
    admin = _admin_client(client, system_administrator)

    response = admin.post(
        "/admin/cases/calendarday/2026-03-09/change/", {"working": "", "kind": "holiday", "name": "补假"}
    )

    assert response.status_code == 302, response.content.decode()[-1500:]
    day = CalendarDay.objects.get(date=D(2026, 3, 9))
    assert (day.working, day.kind, day.name, day.source) == (False, "holiday", "补假", CalendarSource.ADMINISTRATOR)
    assert day.updated_by == system_administrator
