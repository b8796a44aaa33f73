"""govhall.queries: the lookups compiled once per process build what the ORM builds."""

import hashlib
import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import CharField, OuterRef, Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken, set_token_value

from govhall.accounts.guards import REGION_FIELDS, staff_assignments, staff_assignments_of
from govhall.accounts.models import Role, StaffAssignment, User
from govhall.accounts.oidc import GovhallOAuth2Validator, oidc_client_create
from govhall.queries import KeptAfterCommit, unique_or_none, unique_or_none_compiled
from tests.factories import HANGZHOU, XIHU, make_department, make_staff

pytestmark = pytest.mark.django_db


def _by_checksum(checksum):
    return AccessToken.objects.select_related("application", "user").filter(token_checksum=checksum)


def _fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _token(**values):
    token = secrets.token_urlsafe(30)
    access_token = AccessToken(scope="cases", expires=timezone.now() + timedelta(minutes=10), **values)
    set_token_value(access_token, token)  # kept as its digest alone, as issued tokens are
    access_token.save()
    return token, hashlib.sha256(token.encode()).hexdigest()


def test_a_compiled_lookup_builds_the_models_the_orm_builds():
    user = User.objects.create_user(username="clerk-compiled", password="a-long-test-password")
    application, _secret = oidc_client_create(name="业务系统", redirect_uris=[])
    _token_text, checksum = _token(user=user, application=application)
    _other, client_only = _token(user=None, application=application)  # a client's own token

    for wanted in (checksum, client_only):
        expected = unique_or_none(_by_checksum(wanted))
        found = unique_or_none_compiled("test_access_token", _by_checksum, wanted)
        assert found is not None and expected is not None
        assert _fields(found) == _fields(expected)
        assert _fields(found.application) == _fields(expected.application)
        assert found.expires.tzinfo is not None  # the backend's converters ran (SQLite stores text)
        with CaptureQueriesContext(connection) as captured:
            related_user = found.user
            assert found.application.client_id == application.client_id
        assert len(captured) == 0  # the related rows came with the token
        if wanted == checksum:
            assert _fields(related_user) == _fields(expected.user) and related_user.pk == user.pk
        else:
            assert related_user is None and expected.user is None
    assert unique_or_none_compiled("test_access_token", _by_checksum, "0" * 64) is None


def test_a_compiled_lookup_keeps_its_constants_and_places_each_value():
    application, _secret = oidc_client_create(name="业务系统", redirect_uris=[])
    _token_text, checksum = _token(user=None, application=application)

    def tokens(scope, wanted):
        return AccessToken.objects.filter(scope=scope, token_checksum=wanted, application__name="业务系统")

    assert unique_or_none_compiled("test_two_values", tokens, "cases", checksum).token_checksum == checksum
    assert unique_or_none_compiled("test_two_values", tokens, "openid", checksum) is None
    assert unique_or_none_compiled("test_two_values", tokens, "cases", "0" * 64) is None
    # A value equal to a constant of the statement: answered by the ORM, compiled at a later call.
    assert unique_or_none_compiled("test_collision", tokens, "业务系统", checksum) is None
    assert unique_or_none_compiled("test_collision", tokens, "cases", checksum).token_checksum == checksum
    assert unique_or_none_compiled("test_collision", tokens, "业务系统", checksum) is None

    with pytest.raises(ValueError, match="each looked-up value"):
        unique_or_none_compiled("test_absent", lambda wanted: AccessToken.objects.filter(scope="cases"), checksum)


def test_the_api_token_check_reads_the_token_in_one_statement():
    user = User.objects.create_user(username="clerk-token", password="a-long-test-password")
    application, _secret = oidc_client_create(name="业务系统", redirect_uris=[])
    token, _checksum = _token(user=user, application=application)
    with CaptureQueriesContext(connection) as captured:
        loaded = GovhallOAuth2Validator()._load_access_token(token)
        assert loaded is not None and loaded.user == user and loaded.application == application
    assert len(captured) == 1
    assert GovhallOAuth2Validator()._load_access_token(token + "x") is None


def _roles(assignments):
    return sorted(
        (held.role, held.department_id, {name: getattr(held.region, name) for name in REGION_FIELDS})
        for held in assignments
    )


def test_a_compiled_lookup_sets_the_querysets_annotations_as_the_orm_does():
    officer = make_staff(role=Role.REVIEWER, region_code=XIHU)
    application, _secret = oidc_client_create(name="业务系统", redirect_uris=[])
    _token_text, checksum = _token(user=officer, application=application)

    def annotated(wanted):
        return _by_checksum(wanted).annotate(
            roles=staff_assignments_of(OuterRef("user_id")), label=Value("令牌", output_field=CharField())
        )

    expected = unique_or_none(annotated(checksum))
    found = unique_or_none_compiled("test_annotated", annotated, checksum)
    assert found.label == expected.label == "令牌"
    assert found.roles == expected.roles and len(found.roles) == 1  # a JSON array of rows, decoded
    assert _fields(found) == _fields(expected)


def test_the_api_token_check_reads_the_staff_members_roles_with_the_token():
    officer = make_staff(role=Role.REVIEWER, region_code=XIHU)
    StaffAssignment.objects.create(
        user=officer, department=make_department(region_code=HANGZHOU), role=Role.WINDOW_CLERK
    )
    StaffAssignment.objects.create(
        user=officer, department=make_department(region_code=XIHU, kind="edu"), role=Role.DECIDER
    )
    applicant = User.objects.create_user(username="applicant-token", password="a-long-test-password")
    application, _secret = oidc_client_create(name="业务系统", redirect_uris=[])
    for user, count in ((officer, 3), (applicant, 0)):
        token, _checksum = _token(user=user, application=application)
        with CaptureQueriesContext(connection) as captured:
            loaded = GovhallOAuth2Validator()._load_access_token(token)
            held = staff_assignments(user=loaded.user)
        assert len(captured) == 1  # the token, its client, its user and the user's roles
        assert len(held) == count
        assert _roles(held) == _roles(staff_assignments(user=User.objects.get(pk=user.pk)))

    # A change of roles is read again, as for a user whose roles were read by their own query.
    token, _checksum = _token(user=officer, application=application)
    loaded = GovhallOAuth2Validator()._load_access_token(token)
    StaffAssignment.objects.filter(user=officer, role=Role.WINDOW_CLERK).delete()
    assert len(staff_assignments(user=loaded.user)) == 2


def test_compiled_values_are_the_orms_values():
    from govhall.accounts.guards import REGION_FIELDS, staff_assignments
    from govhall.accounts.models import Role, StaffAssignment
    from tests.factories import make_department

    user = User.objects.create_user(username="clerk-roles", password="a-long-test-password")
    for role, region_code in ((Role.WINDOW_CLERK, "330106"), (Role.SUPERVISOR, "330100")):
        StaffAssignment.objects.create(user=user, department=make_department(region_code=region_code), role=role)
    expected = StaffAssignment.objects.filter(user_id=user.pk).values_list(
        "role", "department_id", *(f"department__region__{name}" for name in REGION_FIELDS)
    )
    held = staff_assignments(user=user)
    assert sorted(
        (held_role.role, held_role.department_id, *(getattr(held_role.region, name) for name in REGION_FIELDS))
        for held_role in held
    ) == sorted(expected)
    assert {held_role.region.code for held_role in held} == {"330106", "330100"}


def test_a_case_read_by_its_compiled_statements_is_the_orms_case():
    """Every page and action on a case reads it this way: the joined rows, the person's
    encrypted fields decrypted by their converters, and the lock read of an action."""
    from django.db import transaction

    from govhall.cases import selectors
    from govhall.cases.models import Case
    from govhall.cases.services import _case_locked
    from tests.cases.factories import case_world, make_case

    case = make_case(world=case_world(), until="submitted")
    related = ("implementation__entry", "department", "region", "person", "definition")
    expected = Case.objects.select_related(*related).get(pk=case.pk)

    found = selectors._case_by_reference(case.number)
    assert found is not None and _fields(found) == _fields(expected)
    for path in ("implementation", "implementation.entry", "department", "region", "person", "definition"):
        mine, theirs = found, expected
        for name in path.split("."):
            mine, theirs = getattr(mine, name), getattr(theirs, name)
        assert _fields(mine) == _fields(theirs), path
    assert found.person.name == expected.person.name and found.person.name  # decrypted
    assert selectors._case_by_reference(case.number + "9") is None

    with transaction.atomic():
        locked = _case_locked(case.pk)
    assert _fields(locked) == _fields(expected)
    assert _fields(locked.applicant.person) == _fields(expected.applicant.person)


def test_a_cases_timeline_and_open_tasks_read_by_compiled_statements_are_the_orms():
    from govhall.cases import selectors
    from govhall.cases.models import TaskState
    from tests.cases.factories import case_world, make_case

    case = make_case(world=case_world(), until="accepted")
    events = list(case.events.select_related("department").order_by("at", "id"))
    public = [event for event in events if event.public]
    tasks = list(case.tasks.filter(state=TaskState.OPEN).select_related("department", "assignee"))
    assert events and tasks and len(public) <= len(events)

    with CaptureQueriesContext(connection) as captured:
        everything = selectors.case_timeline(case=case, for_applicant=False)
        shown = selectors.case_timeline(case=case, for_applicant=True)
        open_tasks = selectors.task_list_open_for_case(case=case)
        related = [(event.case, event.department) for event in everything] + [
            (task.case, task.department, task.assignee) for task in open_tasks
        ]
    assert len(captured) == 3  # one statement each; the related rows came with them
    assert all(row[0] is case for row in related)
    assert [_fields(event) for event in everything] == [_fields(event) for event in events]
    assert [_fields(event) for event in shown] == [_fields(event) for event in public]
    assert [_fields(task) for task in open_tasks] == [_fields(task) for task in tasks]
    assert [_fields(task.department) for task in open_tasks] == [_fields(task.department) for task in tasks]


def test_a_cases_materials_and_corrections_read_by_compiled_statements_are_the_orms():
    from govhall.cases import selectors, services
    from govhall.cases.models import Case, CaseMaterial, CorrectionNotice
    from tests.cases.factories import case_world, make_case, pdf_upload, task_open

    world = case_world()
    case = make_case(world=world, until="submitted")
    # One notice answered, with a material replaced meanwhile, and one still open.
    services.case_correction_notify(
        task=task_open(case, kind="prereview"),
        officer=world.clerk,
        items=[{"subject": "申请表", "problem": "扫描件不清晰"}],
        note="请重新上传",
    )
    first = CaseMaterial.objects.filter(case=case).order_by("id").first()
    services.case_material_add(
        case=case, user=world.applicant.user, material_name=first.material_name, file=pdf_upload(text="again")
    )
    services.case_correction_answer(case=case, user=world.applicant.user, note="已补正")
    case = Case.objects.get(pk=case.pk)
    services.case_correction_notify(
        task=task_open(case, kind="prereview"), officer=world.clerk, items=[{"subject": "身份证", "problem": "缺页"}]
    )
    case = Case.objects.get(pk=case.pk)
    notices = list(CorrectionNotice.objects.filter(case=case).order_by("issued_at", "id"))
    listed = list(
        CaseMaterial.objects.filter(case=case, superseded_at__isnull=True)
        .order_by("material_name", "uploaded_at")
        .values(*selectors.CASE_MATERIAL_LISTED)
    )
    assert len(notices) == 2 and notices[0].answered_at is not None and notices[1].answered_at is None
    assert CaseMaterial.objects.filter(case=case, superseded_at__isnull=False).exists() and listed

    for _round in range(2):  # compiled at the first call, run as compiled at the second
        with CaptureQueriesContext(connection) as captured:
            corrections = selectors.case_corrections(case=case)
            materials = selectors.case_materials_listed(case=case)
        assert len(captured) == 2
        assert all(notice.case is case for notice in corrections)
        assert [_fields(notice) for notice in corrections] == [_fields(notice) for notice in notices]
        assert materials == listed


def test_values_are_kept_after_their_transaction_commits_and_the_least_recently_used_go_first(
    django_capture_on_commit_callbacks,
):
    kept: KeptAfterCommit[str, int] = KeptAfterCommit(size=2)
    with django_capture_on_commit_callbacks(execute=False) as rolled_back:
        kept.keep_after_commit("never", 0)
    assert len(rolled_back) == 1 and kept.get("never") is None  # its transaction did not commit

    with django_capture_on_commit_callbacks(execute=True):
        kept.keep_after_commit("a", 1)
        kept.keep_after_commit("b", 2)
        assert kept.get("a") is None  # not before the commit
    assert kept.get("a") == 1  # used: "b" is now the least recently used
    with django_capture_on_commit_callbacks(execute=True):
        kept.keep_after_commit("c", 3)

    assert (kept.get("a"), kept.get("b"), kept.get("c"), len(kept)) == (1, None, 3, 2)
    kept.clear()
    assert kept.get("a") is None


# ---------------------------------------------------------------------------------------------
# Rows written by statements built once per process


class _Heard:
    """The pre_save and post_save signals sent for ``model`` while connected."""

    def __init__(self, model):
        from django.db.models import signals

        self.model, self.signals, self.heard = model, signals, []

    def _pre(self, sender, instance, update_fields, **kwargs):
        self.heard.append(("pre_save", instance.pk is None, update_fields))

    def _post(self, sender, instance, created, update_fields, **kwargs):
        self.heard.append(("post_save", created, update_fields))

    def __enter__(self):
        self.signals.pre_save.connect(self._pre, sender=self.model, weak=False)
        self.signals.post_save.connect(self._post, sender=self.model, weak=False)
        return self.heard

    def __exit__(self, *exc):
        self.signals.pre_save.disconnect(self._pre, sender=self.model)
        self.signals.post_save.disconnect(self._post, sender=self.model)


def test_a_row_inserted_by_its_compiled_statement_is_the_row_create_writes():
    from govhall.cases.models import CaseEvent
    from govhall.notices.models import InboxMessage
    from govhall.queries import insert_compiled
    from tests.cases.factories import case_world, make_case

    user = User.objects.create_user(username="reader-compiled", password="a-long-test-password")
    at = timezone.now()
    values = {"user": user, "created_at": at, "subject": "办结通知", "body": "您的办件已办结。", "link": "/cases/1/"}
    with _Heard(InboxMessage) as created_heard:
        created = InboxMessage.objects.create(**values)
    with _Heard(InboxMessage) as compiled_heard:
        compiled = insert_compiled(InboxMessage(**values))
    assert compiled_heard == created_heard == [("pre_save", True, None), ("post_save", True, None)]
    assert compiled.pk not in (None, created.pk) and not compiled._state.adding and compiled._state.db == "default"
    mine, theirs = _fields(InboxMessage.objects.get(pk=compiled.pk)), _fields(InboxMessage.objects.get(pk=created.pk))
    assert mine.pop("id") != theirs.pop("id") and mine == theirs

    case = make_case(world=case_world(), until="submitted")
    event = {"case": case, "at": at, "action": "accept", "step_name": "受理", "data": {"意见": ["同意", 1]}}
    with CaptureQueriesContext(connection) as queries:
        written = insert_compiled(CaseEvent(**event))
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["INSERT"]
    mine, theirs = _fields(CaseEvent.objects.get(pk=written.pk)), _fields(CaseEvent.objects.create(**event))
    assert mine.pop("id") != theirs.pop("id") and mine == theirs


def test_rows_inserted_as_bulk_create_writes_them_send_no_signals():
    from govhall.notices.models import InboxMessage
    from govhall.queries import insert_compiled, rows_insert

    user = User.objects.create_user(username="reader-bulk", password="a-long-test-password")
    with _Heard(InboxMessage) as heard:
        one = insert_compiled(InboxMessage(user=user, subject="一", body="一"), send_signals=False)
        several = rows_insert([InboxMessage(user=user, subject=str(n), body="多") for n in range(3)])
        single = rows_insert([InboxMessage(user=user, subject="单", body="单")])
    assert heard == []
    assert all(message.pk is not None for message in [one, *several, *single])
    assert InboxMessage.objects.filter(user=user).count() == 5


def test_several_rows_inserted_by_one_compiled_statement_are_the_rows_bulk_create_writes():
    from django.db.models import Value
    from django.db.models.functions import Upper

    from govhall.notices.models import InboxMessage
    from govhall.queries import ROWS_COMPILED_AT_MOST, rows_insert

    user = User.objects.create_user(username="reader-rows", password="a-long-test-password")
    at = timezone.now()

    def messages(count, mark):
        return [
            InboxMessage(user=user, created_at=at, subject=f"{mark}{n}", body="正文", link=f"/cases/{n}/")
            for n in range(count)
        ]

    with CaptureQueriesContext(connection) as queries:
        compiled = rows_insert(messages(3, "甲"))
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["INSERT"]
    assert "VALUES" in queries.captured_queries[0]["sql"]
    created = InboxMessage.objects.bulk_create(messages(3, "甲"))
    # The keys come back in the rows' order, each instance saved as bulk_create leaves it.
    assert [
        message.subject for message in InboxMessage.objects.filter(pk__in=[m.pk for m in compiled]).order_by("pk")
    ] == [
        "甲0",
        "甲1",
        "甲2",
    ]
    for mine, theirs in zip(compiled, created, strict=True):
        assert not mine._state.adding and mine._state.db == "default"
        assert InboxMessage.objects.get(pk=mine.pk).subject == mine.subject  # its own row's key
        row, other = _fields(InboxMessage.objects.get(pk=mine.pk)), _fields(InboxMessage.objects.get(pk=theirs.pk))
        assert row.pop("id") != other.pop("id") and row == other

    # More rows than a compiled statement holds, or an expression among the values: the ORM's.
    many = rows_insert(messages(ROWS_COMPILED_AT_MOST + 1, "乙"))
    with_expression = messages(2, "丙")
    with_expression[1].subject = Upper(Value("written by the orm"))
    rows_insert(with_expression)
    assert InboxMessage.objects.filter(pk__in=[m.pk for m in many]).count() == ROWS_COMPILED_AT_MOST + 1
    assert InboxMessage.objects.get(pk=with_expression[1].pk).subject == "WRITTEN BY THE ORM"


def test_a_row_updated_by_its_compiled_statement_writes_only_the_named_columns():
    from django.db import DatabaseError
    from django.db.models.functions import Upper

    from govhall.cases.models import Case
    from govhall.notices.models import InboxMessage
    from govhall.queries import update_compiled
    from tests.cases.factories import case_world, make_case

    case = make_case(world=case_world(), until="submitted")
    before = Case.objects.get(pk=case.pk)
    case.result_reference = "浙（西湖）许字〔2026〕1号"
    case.refusal_reasons = "not written: not named"
    with _Heard(Case) as heard, CaptureQueriesContext(connection) as queries:
        update_compiled(case, ["result_reference", "updated_at"])
    assert heard == [
        ("pre_save", False, frozenset({"result_reference", "updated_at"})),
        ("post_save", False, frozenset({"result_reference", "updated_at"})),
    ]
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["UPDATE"]
    after = Case.objects.get(pk=case.pk)
    assert after.result_reference == "浙（西湖）许字〔2026〕1号" and after.refusal_reasons == before.refusal_reasons
    assert after.updated_at == case.updated_at > before.updated_at  # auto_now, as save() sets it

    message = InboxMessage.objects.create(user=case.applicant, subject="hello", body="正文")
    message.subject = Upper("subject")  # an expression: written by the ORM
    update_compiled(message, ["subject"])
    assert InboxMessage.objects.get(pk=message.pk).subject == "HELLO"
    with pytest.raises(ValueError, match="do not exist in this model"):
        update_compiled(message, ["no_such_column"])
    InboxMessage.objects.filter(pk=message.pk).delete()
    message.subject = "gone"
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        update_compiled(message, ["subject"])


def test_a_compiled_write_that_fails_marks_its_transaction_for_rollback_as_save_does():
    from django.db import IntegrityError, transaction

    from govhall.notices.models import InboxMessage
    from govhall.queries import insert_compiled

    user = User.objects.create_user(username="reader-failed", password="a-long-test-password")
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_compiled(InboxMessage(user=user, subject=None, body="无标题"))
        assert connection.needs_rollback


def test_the_rows_every_action_writes_have_statements_of_their_own():
    """A model change that sends these writes back to the ORM (ADR 20) is seen here, not only in
    the benchmark's figures."""
    from govhall.audit.models import AuditRecord
    from govhall.cases.models import Case, CaseEvent, CaseTask
    from govhall.notices.models import InboxMessage, OutboxMessage
    from govhall.queries import _insert_statement, _update_statement

    for model in (Case, CaseEvent, CaseTask, InboxMessage, OutboxMessage, AuditRecord):
        assert _insert_statement(model, "default") is not None, model
    assert _update_statement(Case, "default", ("state", "stage", "accepted_at", "updated_at")) is not None
    assert _update_statement(CaseTask, "default", ("state", "closed_at", "closed_by", "assignee")) is not None
