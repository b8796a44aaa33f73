"""Reads of cases for applicants, officers and supervisors.

Look-ups by number or id go through a guard and answer ``None`` ("not found") when the reader
may not see the case, so numbers cannot be probed.
"""

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from govhall.accounts.guards import staff_assignments
from govhall.accounts.models import Role, User
from govhall.accounts.selectors import person_acting_scope
from govhall.cases import calendar, guards, process
from govhall.cases.models import (
    Case,
    CaseDefinition,
    CaseEvent,
    CaseMaterial,
    CaseState,
    CaseTask,
    CorrectionNotice,
    Extension,
    SpecialProcedure,
    TaskState,
    Trust,
)
from govhall.queries import list_compiled, unique_or_none_compiled, values_list_compiled

# Columns of a case that lists never show: its copies of the definitions and the form's data.
CASE_HEAVY_FIELDS = ("data", "prefilled")

# Supervision's default (DOMAIN.md): yellow when 1 working day or 20% of the limit is left.
YELLOW_DAYS = 1
YELLOW_SHARE = 0.2


@dataclass(frozen=True)
class TimeStatus:
    """Where a case stands against its promised limit: working days left (negative when
    overdue), the level green / yellow / red, and whether the clock is stopped."""

    due_on: date | None
    statutory_due_on: date | None
    days_left: int | None
    level: str
    paused: bool


class CaseClock(Protocol):
    """What a case's time status reads of it: a ``Case``, or ``CaseClockRow`` where a list reads
    only these columns."""

    @property
    def pk(self) -> Any: ...
    @property
    def state(self) -> str: ...
    @property
    def promised_due_on(self) -> date | None: ...
    @property
    def statutory_due_on(self) -> date | None: ...
    @property
    def paused_since(self) -> date | None: ...
    @property
    def promised_limit_days(self) -> int: ...


@dataclass(frozen=True)
class CaseClockRow:
    pk: int
    state: str
    promised_due_on: date | None
    statutory_due_on: date | None
    paused_since: date | None
    promised_limit_days: int


# The columns of CaseClockRow, from a step's case.
TASK_CASE_CLOCK = (
    "case_id",
    "case__state",
    "case__promised_due_on",
    "case__statutory_due_on",
    "case__paused_since",
    "case__promised_limit_days",
)


def case_time_status(
    *, case: CaseClock, today: date | None = None, days_between: Callable[..., int] | None = None
) -> TimeStatus:
    """``days_between`` counts working days like ``calendar.working_days_between`` (the
    default); ``case_time_statuses`` passes one that reads the calendar once for many cases."""
    if case.promised_due_on is None or case.state in (CaseState.COMPLETED, CaseState.REFUSED, CaseState.WITHDRAWN):
        return TimeStatus(case.promised_due_on, case.statutory_due_on, None, "", case.paused_since is not None)
    between = days_between or calendar.working_days_between
    today = case.paused_since or today or timezone.localdate()
    due = case.promised_due_on
    if today <= due:
        days_left = between(start=today, end=due)
    else:
        days_left = -between(start=due, end=today)
    threshold = max(YELLOW_DAYS, int(case.promised_limit_days * YELLOW_SHARE))
    if days_left < 0:
        level = "red"
    elif days_left <= threshold:
        level = "yellow"
    else:
        level = "green"
    return TimeStatus(due, case.statutory_due_on, days_left, level, case.paused_since is not None)


def case_time_statuses(*, cases: Iterable[CaseClock], today: date | None = None) -> dict[int, TimeStatus]:
    """``case_time_status`` of many cases (by id) with one read of the calendar, so that a list
    page's queries do not grow with its rows."""
    cases = list(cases)
    today = today or timezone.localdate()
    dates = [today] + [day for case in cases for day in (case.promised_due_on, case.paused_since) if day]
    between = calendar.working_days_counter(first=min(dates), last=max(dates))
    return {case.pk: case_time_status(case=case, today=today, days_between=between) for case in cases}


def _applicant_cases_query(*, user: Any) -> Q:
    """Own cases, and the cases of companies the user represents or is an agent for (all
    services, or the service of the case).

    The companies the person may act for, and for which services, are read first
    (``person_acting_scope``: a person has few), so that the condition names the case's own
    columns only: with the companies and agencies joined into
    an OR, PostgreSQL read every case to find a person's (at 10 million cases, 7 s for the
    count of "my cases" and 12 s for its page); now it reads the person's cases from the
    applicant's and the company's indexes."""
    query = Q(applicant=user)
    person = getattr(user, "person", None)
    if person is None:
        return query
    from govhall.catalog.models import Implementation

    companies, services = person_acting_scope(person=person)
    if companies:
        query |= Q(company_id__in=companies)
    for company_id, codes in sorted(services.items()):
        implementations = Implementation.objects.filter(entry__basic_code__in=sorted(codes)).values("id")
        query |= Q(company_id=company_id, implementation_id__in=implementations)
    return query


def case_list_for_applicant(*, user: Any, state: str | None = None) -> QuerySet[Case]:
    if user is None or not getattr(user, "is_authenticated", False):
        return Case.objects.none()
    # A list names each case's step from its definition's process: the definitions' forms and
    # material lists, the larger part of a definition's JSON, are not read (a caller that asks
    # for them has them read then).
    cases = (
        Case.objects.filter(_applicant_cases_query(user=user))
        .select_related("company", "department")
        .prefetch_related(Prefetch("definition", queryset=CaseDefinition.objects.only("id", "process")))
    )
    if state:
        cases = cases.filter(state=state)
    return cases.order_by("-created_at", "-id")


def case_get_for_applicant(*, number: str, user: Any) -> Case | None:
    """A case by number (or a draft by ``draft-<id>``) if ``user`` may see it as applicant."""
    case = _case_by_reference(number)
    if case is None or not guards.applicant_may_see_case(user=user, case=case):
        return None
    return case


def case_get_for_officer(*, number: str, officer: Any) -> Case | None:
    case = _case_by_reference(number)
    if case is None or case.state == CaseState.DRAFT:
        return None
    if not guards.staff_may_see_case(user=officer, case=case):
        return None
    return case


def _case_by_reference(reference: str) -> Case | None:
    # The company, which most cases have none of, is read when there is one: PostgreSQL plans
    # the join of eight tables in 3 ms and of seven in 1.5 ms, and every page and action on a
    # case starts here.
    # The statements are compiled once per process: compiling the five joined models took about
    # as long as the read.
    if reference.startswith("draft-") and reference[6:].isdigit():
        return unique_or_none_compiled("draft_by_id", _draft_by_id, int(reference[6:]))
    if not reference.isdigit() or len(reference) > 32:
        return None
    return unique_or_none_compiled("case_by_number", _case_by_number, reference)


def _cases_whole() -> QuerySet[Case]:
    return Case.objects.select_related("implementation__entry", "department", "region", "person", "definition")


def _draft_by_id(pk: int) -> QuerySet[Case]:
    return _cases_whole().filter(pk=pk, number__isnull=True)


def _case_by_number(number: str) -> QuerySet[Case]:
    return _cases_whole().filter(number=number)


def case_filed_with_key(*, applicant: Any, submit_key: str, exclude_pk: int | None = None) -> Case | None:
    """The case ``applicant`` filed with this idempotency key, if any (none for an empty key).
    Read through the unique index of keys, whose condition (a key is not empty) the query
    states so that a prepared statement's generic plan uses it too."""
    if not submit_key:
        return None
    # Nearly every call finds none (a first attempt): the key's row is looked up by its id
    # alone, compiled once per process, and the case read only when there is one.
    applicant_id = getattr(applicant, "pk", applicant)
    if exclude_pk is None:
        found = values_list_compiled("case_filed_with_key", _filed_with_key, applicant_id, submit_key)
    else:
        found = values_list_compiled(
            "case_filed_with_key_other", _filed_with_key, applicant_id, submit_key, int(exclude_pk)
        )
    return Case.objects.get(pk=found[0][0]) if found else None


def _filed_with_key(applicant_id: int, submit_key: str, exclude_pk: int | None = None) -> QuerySet[Case, Any]:
    cases = Case.objects.filter(applicant_id=applicant_id, submit_key=submit_key).exclude(submit_key="")
    if exclude_pk is not None:
        cases = cases.exclude(pk=exclude_pk)
    return cases.order_by().values_list("pk")[:1]


def case_reference(case: Case) -> str:
    """The reference used in addresses: the number, or draft-<id> before submission."""
    return case.number or f"draft-{case.pk}"


def task_get_for_officer(*, task_id: int, officer: Any) -> CaseTask | None:
    # The guard reads the case's department and region; an action locks and reads the case
    # again, whole, so its form data is not read here.
    task = unique_or_none_compiled("task_for_officer", _task_by_id, int(task_id))
    if task is None or not guards.staff_may_see_case(user=officer, case=task.case):
        return None
    return task


def _task_by_id(pk: int) -> QuerySet[CaseTask]:
    return (
        CaseTask.objects.select_related("case", "department")
        .defer(*(f"case__{name}" for name in CASE_HEAVY_FIELDS))
        .filter(pk=pk)
    )


def _officer_held(officer: Any) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The handling roles the officer holds, each with its departments, in a fixed order."""
    departments_by_role: dict[str, list[int]] = {}
    for assignment in staff_assignments(user=officer):
        if assignment.role in process.HANDLING_ROLES:
            departments_by_role.setdefault(assignment.role, []).append(assignment.department_id)
    return tuple((role, tuple(sorted(departments))) for role, departments in sorted(departments_by_role.items()))


def _officer_tasks(*, officer: Any, held: tuple[tuple[str, tuple[int, ...]], ...] | None = None) -> QuerySet[CaseTask]:
    """Open tasks of the departments and roles the officer holds, unclaimed or claimed by them."""
    # One condition per role (a window officer may hold a role in dozens of departments).
    condition = Q(pk__in=[])
    for role, departments in _officer_held(officer) if held is None else held:
        condition |= Q(role=role, department_id__in=departments)
    return CaseTask.objects.filter(condition, state=TaskState.OPEN).filter(
        Q(assignee__isnull=True) | Q(assignee=officer)
    )


def task_count_for_officer(*, officer: Any) -> int:
    """How many tasks wait on the officer's to-do list (for the navigation of every workbench
    page)."""
    sql, params = _officer_task_count_statement(connection.alias, officer.pk, _officer_held(officer))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


@functools.lru_cache(maxsize=1024)
def _officer_task_count_statement(
    alias: str, officer_id: int, held: tuple[tuple[str, tuple[int, ...]], ...]
) -> tuple[str, tuple[Any, ...]]:
    """The statement of ``task_count_for_officer``, built by the ORM once per officer and roles
    held in a process, as ``_officer_task_ids_statement`` is: built by the ORM each time, the count
    took 1.2 ms of CPU for an officer holding roles in 15 departments, 0.13 ms so (10 million
    cases, in one process)."""
    tasks = _officer_tasks(officer=User(pk=officer_id), held=held).order_by().values("id")
    sql, params = tasks.query.get_compiler(using=alias).as_sql()
    return f"SELECT COUNT(*) FROM ({sql}) AS todo", tuple(params)  # noqa: S608 - the ORM's statement, values as parameters


TODO_LIST_MAX = 500

# What a page of the to-do list shows of each task, its case, department and assignee, read as
# values: building the page's 50 tasks, cases, departments and assignees as model instances took
# 3.2 of the 4.0 ms the page's rows cost (10 million cases, in-process; the statement 0.8 ms).
TASK_PAGE_VALUES = (
    "id",
    "step_key",
    "branch_key",
    "kind",
    "name",
    "role",
    "lead",
    "opened_at",
    "due_on",
    "case__number",
    "case__item_name",
    "case__applicant_name",
    "case__state",
    "case__promised_due_on",
    "department__code",
    "department__name",
    "assignee__username",
    "assignee__display_name",
)


def _officer_tasks_filtered(
    *,
    officer: Any,
    kind: str,
    basic_code: str,
    mine_only: bool,
    department_id: int | None,
    held: tuple[tuple[str, tuple[int, ...]], ...] | None = None,
) -> QuerySet[CaseTask]:
    tasks = _officer_tasks(officer=officer, held=held)
    if mine_only:
        tasks = tasks.filter(assignee=officer)
    if kind:
        tasks = tasks.filter(kind=kind)
    if basic_code:
        tasks = tasks.filter(case__implementation__entry__basic_code=basic_code)
    if department_id:
        tasks = tasks.filter(department_id=department_id)
    # The form data the case carries is not shown on the list.
    return (
        tasks.select_related("case__department", "department", "assignee")
        .defer(*(f"case__{name}" for name in CASE_HEAVY_FIELDS))
        .order_by("opened_at", "id")
    )


def task_ids_for_officer(
    *,
    officer: Any,
    kind: str = "",
    basic_code: str = "",
    level: str = "",
    mine_only: bool = False,
    department_id: int | None = None,
) -> list[int]:
    """The ids of the officer's to-do list, oldest first, for a page of it to be read by
    ``task_list_of_page``: the open tasks of the departments and roles the officer holds, claimed
    by nobody or by the officer (``mine_only``: by the officer), the ``TODO_LIST_MAX`` oldest;
    filtered by step kind, item, department and time level (yellow / red).

    They are read in one statement from the open-tasks index, without joins; the level is
    computed from the calendar, not stored, so that filter reads the cases' dates too."""
    ids = _officer_task_ids(
        officer=officer, kind=kind, basic_code=basic_code, mine_only=mine_only, department_id=department_id
    )
    if not level or not ids:
        return ids
    # The level of each from its case's clock alone, read as values: the tasks with their cases
    # as models, 500 of them, took 60 ms of CPU a filtered page (10 million cases, in one process).
    clocks = {
        task_id: CaseClockRow(*row)
        for task_id, *row in CaseTask.objects.filter(pk__in=ids).order_by().values_list("id", *TASK_CASE_CLOCK)
    }
    statuses = case_time_statuses(cases=clocks.values())
    return [pk for pk in ids if pk in clocks and statuses[clocks[pk].pk].level == level]


def task_list_of_page(*, ids: list[int]) -> list[CaseTask]:
    """The tasks of these ids (a page of ``task_ids_for_officer``), in their order, each with its
    case, department and assignee, by a statement compiled once per process for each length of
    page. The workbench's to-do page listed the 500 oldest tasks in full: 170 ms of the worker's
    CPU a page for an officer with 2,421 open tasks (10 million cases, in one process)."""
    if not ids:
        return []
    found = {task.pk: task for task in list_compiled(f"todo_page_tasks:{len(ids)}", _todo_page_tasks, *ids)}
    return [found[pk] for pk in ids if pk in found]


def _todo_page_tasks(*ids: int) -> QuerySet[CaseTask]:
    return (
        CaseTask.objects.filter(pk__in=ids)
        .select_related("case", "department", "assignee")
        .defer(*(f"case__{name}" for name in CASE_HEAVY_FIELDS))
        .order_by()
    )


def _officer_task_ids(
    *, officer: Any, kind: str, basic_code: str, mine_only: bool, department_id: int | None = None
) -> list[int]:
    """The ids of the officer's to-do list, oldest first (at most ``TODO_LIST_MAX``)."""
    sql, params = _officer_task_ids_statement(
        connection.alias,
        connection.vendor,
        officer.pk,
        _officer_held(officer),
        kind,
        basic_code,
        mine_only,
        department_id,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


@functools.lru_cache(maxsize=1024)
def _officer_task_ids_statement(
    alias: str,
    vendor: str,
    officer_id: int,
    held: tuple[tuple[str, tuple[int, ...]], ...],
    kind: str,
    basic_code: str,
    mine_only: bool,
    department_id: int | None,
) -> tuple[str, tuple[Any, ...]]:
    """The statement of ``_officer_task_ids`` and its parameters, built by the ORM once per
    officer, roles held and filters in a process. Both follow from these arguments alone (and
    constants), so a change of the officer's roles is a new entry. Building it took 1.15 of the
    2.8 ms the list's ids cost for an officer holding four roles in 45 departments (10 million
    cases, in one process)."""
    tasks = _officer_tasks_filtered(
        officer=User(pk=officer_id),
        kind=kind,
        basic_code=basic_code,
        mine_only=mine_only,
        department_id=department_id,
        held=held,
    )
    sql, params = tasks.values_list("id", flat=True)[:TODO_LIST_MAX].query.sql_with_params()
    return sql, tuple(params)


def task_page_for_officer(
    *,
    officer: Any,
    page: int,
    page_size: int,
    kind: str = "",
    basic_code: str = "",
    level: str = "",
    mine_only: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """One page of the to-do list (of its ``TODO_LIST_MAX`` oldest) and the list's length; each
    task of the page is a dict of ``TASK_PAGE_VALUES``.

    Without a time-level filter only the page's rows are read (the level is computed from the
    calendar, not stored, so that filter reads the whole list).
    """
    start = (page - 1) * page_size
    # The list's ids (without a level filter, in one statement from the open-tasks index without
    # joins): the page is a slice of them and the list's length their number. Then only the
    # page's rows, by primary key, with what the page shows (joining thousands of open tasks to
    # their cases only to keep 50 cost 50 ms). The planner finds that index by the statistics of
    # state and assignee together (migration cases 0009); bitmap scans need not be turned off.
    ids = task_ids_for_officer(officer=officer, kind=kind, basic_code=basic_code, level=level, mine_only=mine_only)
    total, page_ids = len(ids), ids[start : start + page_size]
    # Compiled once per process for each length of page: compiling the 18 columns over three
    # joins took about 0.7 ms of a 9 ms list in one process.
    page_rows = values_list_compiled(f"task_page_rows:{len(page_ids)}", _task_page_rows, *page_ids) if page_ids else []
    found = {row[0]: dict(zip(TASK_PAGE_VALUES, row, strict=True)) for row in page_rows}
    return total, [found[pk] for pk in page_ids if pk in found]


def _task_page_rows(*ids: int) -> QuerySet[CaseTask, Any]:
    return CaseTask.objects.filter(pk__in=ids).order_by().values_list(*TASK_PAGE_VALUES)


# The rows of a case that _of_case reads.
R = TypeVar("R", CaseTask, CaseEvent, CorrectionNotice, CaseMaterial)


def _of_case(name: str, queryset: Callable[[int], QuerySet[R]], case: Case) -> list[R]:
    """A case's rows that every case page and action answer lists (its open tasks, timeline,
    correction notices), through a statement compiled once per process; each row's case is the
    one given, as a related manager would set it."""
    rows = list_compiled(name, queryset, case.pk)
    for row in rows:
        row.case = case
    return rows


def task_list_open_for_case(*, case: Case) -> list[CaseTask]:
    return _of_case("tasks_open_of_case", _tasks_open_of_case, case)


def _tasks_open_of_case(case_id: int) -> QuerySet[CaseTask]:
    return CaseTask.objects.filter(case_id=case_id, state=TaskState.OPEN).select_related("department", "assignee")


def task_actions_for_officer(*, task: CaseTask, officer: Any) -> list[str]:
    """The actions the officer may take on the task now (for buttons)."""
    if not guards.staff_may_act_on_task(user=officer, task=task):
        return ["transfer"] if guards.staff_may_reassign_task(user=officer, task=task) else []
    kind = process.STEP_KINDS[task.kind]
    actions = list(kind.actions)
    if task.assignee_id is None:
        actions.insert(0, "claim")
    actions.append("transfer")
    if task.kind in process.RETURNABLE_KINDS and case_return_targets(case=task.case, task=task):
        actions.append("return")
    return actions


def case_return_targets(*, case: Case, task: CaseTask) -> list[dict[str, Any]]:
    """The returnable steps before the task's that have been done, in order. The done steps are
    read only when such a step exists, by a statement compiled once per process: every action's
    answer asks this for each open task, and building the query took 0.6 ms of 0.8."""
    steps = process.steps_of(case.process_definition)
    keys = [step["key"] for step in steps]
    if task.step_key not in keys:
        return []
    before = steps[: keys.index(task.step_key)]
    returnable = [step for step in before if step["kind"] in process.RETURNABLE_KINDS]
    if not returnable:
        return []
    done = {row[0] for row in values_list_compiled("done_step_keys", _done_step_keys, int(case.pk))}
    return [step for step in returnable if step["key"] in done]


def _done_step_keys(case_id: int) -> QuerySet[CaseTask, Any]:
    return CaseTask.objects.filter(case_id=case_id, state=TaskState.DONE).order_by().values_list("step_key")


def case_timeline(*, case: Case, for_applicant: bool) -> list[CaseEvent]:
    if for_applicant:
        return _of_case("case_timeline_public", _timeline_public, case)
    return _of_case("case_timeline", _timeline, case)


def _timeline(case_id: int) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case_id=case_id).select_related("department").order_by("at", "id")


def _timeline_public(case_id: int) -> QuerySet[CaseEvent]:
    return _timeline(case_id).filter(public=True)


def case_materials_current(*, case: Case) -> list[CaseMaterial]:
    """The case's materials not replaced by a later upload, by name and time of upload, each with
    the licence it was filled from; compiled once per process, as the timeline is (every case
    page lists them)."""
    return _of_case("case_materials_current", _materials_current, case)


def _materials_current(case_id: int) -> QuerySet[CaseMaterial]:
    return (
        CaseMaterial.objects.filter(case_id=case_id, superseded_at__isnull=True)
        .select_related("licence_version__licence")
        .order_by("material_name", "uploaded_at")
    )


# What the API lists of each current material (no licence: its answer does not show one).
CASE_MATERIAL_LISTED = ("id", "material_name", "original_name", "size", "content_type", "trust", "uploaded_at")


def case_materials_listed(*, case: Case) -> list[dict[str, Any]]:
    """``case_materials_current`` as rows of ``CASE_MATERIAL_LISTED``, in the same order.
    Compiled once per process, as the timeline is: every case page and action answer lists them."""
    rows = values_list_compiled("case_materials_listed", _materials_listed, case.pk)
    return [dict(zip(CASE_MATERIAL_LISTED, row, strict=True)) for row in rows]


def _materials_listed(case_id: int) -> QuerySet[CaseMaterial, tuple[Any, ...]]:
    return (
        CaseMaterial.objects.filter(case_id=case_id, superseded_at__isnull=True)
        .order_by("material_name", "uploaded_at")
        .values_list(*CASE_MATERIAL_LISTED)
    )


# The event each of these rows is written with, in the same transaction (services): a case whose
# whole timeline lacks it has none of them. Most cases have none, so the workbench's case page
# reads them only when the timeline says so (three statements saved on most pages).
PROCEDURE_EVENT, EXTENSION_EVENT, CORRECTION_EVENT = "special_procedure_start", "extension_request", "correction_notify"


def _has_event(timeline: list[CaseEvent], action: str) -> bool:
    return any(event.action == action for event in timeline)


def case_corrections(*, case: Case, timeline: list[CaseEvent] | None = None) -> list[CorrectionNotice]:
    """The case's correction notices, oldest first. Given the case's ``timeline`` (public or
    whole, as ``case_timeline`` reads it), they are read only when it has a notice's event:
    each notice is written with its public ``correction_notify`` event in one transaction
    (services.case_correction_notify), and most cases never have one (a statement saved on every
    case page and action answer)."""
    if timeline is not None and not _has_event(timeline, CORRECTION_EVENT):
        return []
    return _of_case("case_corrections", _corrections, case)


def _corrections(case_id: int) -> QuerySet[CorrectionNotice]:
    # With the officer who issued each: the workbench shows the name, and a notice is rare.
    return CorrectionNotice.objects.filter(case_id=case_id).select_related("issued_by").order_by("issued_at", "id")


def case_special_procedures(*, case: Case, timeline: list[CaseEvent]) -> list[SpecialProcedure]:
    """The case's special procedures with who started and ended them, given its whole timeline."""
    if not _has_event(timeline, PROCEDURE_EVENT):
        return []
    return list(case.special_procedures.select_related("started_by", "ended_by"))


def case_special_procedure_running(*, case: Case) -> SpecialProcedure | None:
    """The special procedure that stops the case's clock now, if any. Its start sets the case's
    paused_since and its end clears it (services), so an unpaused case is not asked (a statement
    saved on most of the applicant's case pages)."""
    if case.paused_since is None:
        return None
    running = [procedure for procedure in case.special_procedures.all() if procedure.ended_on is None]
    return running[-1] if running else None


def case_extensions(*, case: Case, timeline: list[CaseEvent]) -> list[Extension]:
    """The case's extension requests with who asked and who answered, given its whole timeline
    (the request's event is not public: the applicant's timeline never has it)."""
    if not _has_event(timeline, EXTENSION_EVENT):
        return []
    return list(case.extensions.select_related("requested_by", "answered_by"))


def case_material_get(*, case: Case, material_id: int) -> CaseMaterial | None:
    """A material of a case the caller has already been allowed to see."""
    return case.materials.filter(pk=material_id).first()


def material_reuse_candidates(*, case: Case, user: Any) -> dict[str, list[CaseMaterial]]:
    """Files the applicant already gave for a material of the same name in earlier cases
    (same company, or personal cases when applying for oneself), best trust first."""
    names = [material["name"] for material in case.material_list]
    earlier = (
        CaseMaterial.objects.filter(
            case__applicant=user,
            case__company=case.company,
            material_name__in=names,
            superseded_at__isnull=True,
        )
        .exclude(case=case)
        .exclude(case__state=CaseState.DRAFT)
        .select_related("case")
        .order_by("material_name", "trust", "-uploaded_at")
    )
    candidates: dict[str, list[CaseMaterial]] = {}
    seen: set[tuple[str, str]] = set()
    for material in earlier:
        if (material.material_name, material.sha256) in seen:
            continue
        seen.add((material.material_name, material.sha256))
        candidates.setdefault(material.material_name, []).append(material)
    return candidates


def case_supervisor_regions(*, officer: Any) -> list[Any]:
    from govhall.accounts.guards import staff_regions_for_role

    return staff_regions_for_role(user=officer, role=Role.SUPERVISOR)


TRUST_ORDER = [Trust.A, Trust.B, Trust.C, Trust.D]
