"""The cases API (/api/v1/): applicants apply, upload, submit and follow their cases; officers
list their tasks and act on them. Everything goes through HTTP with a bearer access token of
govhall's OpenID Connect provider or a logged-in session."""

import json
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken, set_token_value

from govhall.accounts.oidc import oidc_client_create
from govhall.audit.models import AuditRecord
from govhall.cases import services
from govhall.cases.models import Case, CaseMaterial, CaseState
from tests.cases.factories import (
    application_data,
    case_world,
    make_case,
    make_draft,
    pdf_upload,
    png_upload,
    task_open,
)
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
API = "/api/v1"
CSRF_SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"  # 32 characters, the form of a CSRF secret


@pytest.fixture
def world():
    return case_world()


def bearer(user, scope: str = "openid") -> dict[str, str]:
    """An access token for ``user`` as govhall's OIDC provider issues it to a department system."""
    application, _secret = oidc_client_create(name=f"department system {secrets.token_hex(3)}", redirect_uris=[])
    token = secrets.token_urlsafe(30)
    access_token = AccessToken(
        user=user, application=application, scope=scope, expires=timezone.now() + timedelta(minutes=10)
    )
    set_token_value(access_token, token)  # kept as its digest alone, as issued tokens are
    access_token.save()
    return {"Authorization": f"Bearer {token}"}


def post_json(client, path: str, payload: dict, **headers: str):
    return client.post(f"{API}{path}", json.dumps(payload), content_type="application/json", headers=headers)


def put_json(client, path: str, payload: dict, **headers: str):
    return client.put(f"{API}{path}", json.dumps(payload), content_type="application/json", headers=headers)


def staff_client(user) -> Client:
    client = Client()
    force_login_verified(client, user)
    return client


def act(client, task, action: str, **fields):
    return post_json(client, f"/workbench/tasks/{task.pk}/actions", {"action": action, "fields": fields})


def error_of(response) -> dict:
    return response.json()["error"]


def form_data_for(world, implementation) -> dict:
    """Valid form values for the applicant, read from the form the platform gives them."""
    draft = services.case_draft_start(user=world.applicant.user, implementation=implementation)
    return application_data(draft)


# ---------------------------------------------------------------------------------------------
# The whole lifecycle


@time_machine.travel(datetime(2026, 9, 28, 10, tzinfo=SHANGHAI), tick=False)
def test_case_applied_for_with_a_bearer_token_goes_through_every_step_to_completed(world, client):
    applicant = bearer(world.applicant.user)
    with CaptureQueriesContext(connection) as queries:
        started = post_json(
            client, "/applications", {"implementation_code": world.implementation.implementation_code}, **applicant
        )
    assert started.status_code == 200, started.content
    # A draft reads what the application needs of the item, not the guide's windows and themes.
    assert not [query for query in queries.captured_queries if '"org_window"' in query["sql"]]
    assert not [query for query in queries.captured_queries if '"catalog_theme"' in query["sql"]]
    draft = started.json()
    reference = draft["reference"]
    assert reference.startswith("draft-")
    assert draft["state"]["code"] == "draft"
    assert draft["form_definition"]["schema"]["properties"]["application_statement"]["title"] == "申请事项说明"
    assert draft["prefilled"]["values"]["applicant_name"] == "王五"
    required = [material["name"] for material in draft["materials"] if material["required"]]
    assert required == ["食品经营许可申请书"]

    data = application_data(Case.objects.get(pk=int(reference.removeprefix("draft-"))))
    saved = put_json(client, f"/applications/{reference}", {"data": data}, **applicant)
    assert saved.status_code == 200, saved.content
    assert saved.json() == {"reference": reference, "saved": True, "problems": []}

    uploaded = client.post(
        f"{API}/applications/{reference}/materials",
        {"material_name": "食品经营许可申请书", "file": pdf_upload()},
        headers=applicant,
    )
    assert uploaded.status_code == 201, uploaded.content
    assert uploaded.json()["content_type"] == "application/pdf"

    with CaptureQueriesContext(connection) as queries:
        submitted = client.post(
            f"{API}/applications/{reference}/submit", headers={**applicant, "Idempotency-Key": "lifecycle-1"}
        )
    assert submitted.status_code == 200, submitted.content
    # The correction notice's last day and the first step's due date from one read of the calendar.
    assert sum('"cases_calendarday"' in query["sql"] for query in queries.captured_queries) == 1
    number = submitted.json()["number"]
    assert number.startswith("33010620260928")
    assert submitted.json()["state"]["code"] == "submitted"
    assert submitted.json()["channel"]["code"] == "api"
    assert submitted.json()["stage"] == {"key": "prereview", "name": "网上预审"}
    assert [material["material_name"] for material in submitted.json()["materials"]] == ["食品经营许可申请书"]
    listed = submitted.json()["materials"][0]
    assert listed["id"] == uploaded.json()["id"]
    assert listed["content_type"] == "application/pdf"
    assert listed["trust"] == {"code": "C", "label": "C 申请人上传"}
    assert listed["size"] > 0 and listed["original_name"] and listed["uploaded_at"]

    clerk = staff_client(world.clerk)
    tasks = clerk.get(f"{API}/workbench/tasks").json()
    assert [(task["case"]["number"], task["kind"]["code"]) for task in tasks["items"]] == [(number, "prereview")]
    prereview = tasks["items"][0]
    assert act(clerk, task_open(Case.objects.get(number=number), kind="prereview"), "pass").status_code == 200
    assert prereview["actions_url"] == f"{API}/workbench/tasks/{prereview['id']}/actions"

    case = Case.objects.get(number=number)
    accepted = act(clerk, task_open(case, kind="accept"), "accept", opinion="材料齐全")
    assert accepted.status_code == 200, accepted.content
    # 3 and 10 working days from Monday 28 September 2026, over the National Day holiday
    # (1–7 October off, Saturday 10 October a make-up working day).
    assert accepted.json()["time"] == {
        "promised_due_on": "2026-10-08",
        "statutory_due_on": "2026-10-16",
        "days_left": 3,
        "level": "green",
        "paused": False,
    }

    # The reviewer of the ecology department acts with a bearer token, the others with sessions.
    review = act(staff_client(world.reviewer), task_open(case, department=world.market), "opinion", opinion="符合条件")
    assert review.status_code == 200, review.content
    ecology = post_json(
        client,
        f"/workbench/tasks/{task_open(case, department=world.ecology).pk}/actions",
        {"action": "opinion", "fields": {"opinion": "油烟排放达标", "agree": True}},
        **bearer(world.ecology_reviewer),
    )
    assert ecology.status_code == 200, ecology.content
    assert ecology.json()["stage"]["key"] == "decide"
    decided = act(staff_client(world.decider), task_open(case, kind="decide"), "decide", decision="approve")
    assert decided.json()["decision"]["code"] == "approve"
    assert act(clerk, task_open(case, kind="issue_result"), "issue", reference="SP3301062026").status_code == 200
    delivered = act(clerk, task_open(case, kind="deliver"), "deliver", method="electronic")
    assert delivered.status_code == 200, delivered.content
    assert delivered.json()["open_tasks"] == []

    detail = client.get(f"{API}/cases/{number}", headers=applicant).json()
    assert detail["state"] == {"code": "completed", "label": "已办结"}
    assert detail["decision"] == {"code": "approve", "label": "准予"}
    assert detail["result_reference"] == "SP3301062026"
    assert detail["delivery_method"]["code"] == "electronic"
    # The applicant's timeline leaves out the officers' internal steps (claims).
    assert [event["action"]["code"] for event in detail["timeline"]] == [
        "submit",
        "prereview_pass",
        "accept",
        "review",
        "review",
        "decide",
        "result_issue",
        "deliver",
    ]
    assert "data" not in detail and "events" not in detail


def test_a_case_never_sent_a_correction_notice_answers_none_without_looking_for_them(world, client):
    case = make_case(world=world, until="accepted")

    with CaptureQueriesContext(connection) as queries:
        applicant_view = client.get(f"{API}/cases/{case.number}", headers=bearer(world.applicant.user))
        officer_view = staff_client(world.reviewer).get(f"{API}/workbench/cases/{case.number}")

    assert (applicant_view.status_code, officer_view.status_code) == (200, 200)
    assert applicant_view.json()["corrections"] == officer_view.json()["corrections"] == []
    assert not [query for query in queries.captured_queries if "cases_correctionnotice" in query["sql"]]


def test_an_applicant_answers_a_correction_notice_and_the_case_goes_back_to_intake(world, client):
    case = make_case(world=world, until="prereviewed")
    clerk = staff_client(world.clerk)
    items = [{"subject": "食品经营许可申请书", "problem": "缺少法定代表人签字"}]
    notified = act(clerk, task_open(case, kind="accept"), "correct", items=items, note="请补正后重新提交")
    assert notified.status_code == 200, notified.content
    assert [notice["items"] for notice in notified.json()["corrections"]] == [items]
    applicant = bearer(world.applicant.user)

    detail = client.get(f"{API}/cases/{case.number}", headers=applicant).json()
    assert detail["state"]["code"] == "correction"
    assert [(notice["items"], notice["note"], notice["answered_at"]) for notice in detail["corrections"]] == [
        (items, "请补正后重新提交", None)
    ]
    replaced = client.post(
        f"{API}/applications/{case.number}/materials",
        {"material_name": "食品经营许可申请书", "file": pdf_upload(text="signed")},
        headers=applicant,
    )
    assert replaced.status_code == 201, replaced.content
    answered = post_json(client, f"/cases/{case.number}/correction", {"note": "已补签字"}, **applicant)

    assert answered.status_code == 200, answered.content
    assert answered.json()["state"]["code"] == "submitted"
    assert answered.json()["stage"]["key"] == "accept"
    assert answered.json()["corrections"][0]["answer_note"] == "已补签字"
    again = post_json(client, f"/cases/{case.number}/correction", {"note": ""}, **applicant)
    assert again.status_code == 409
    assert error_of(again)["code"] == "no_correction_pending"


def test_withdrawing_ends_the_case_and_a_second_withdrawal_is_a_conflict(world, client):
    case = make_case(world=world, until="accepted")
    applicant = bearer(world.applicant.user)

    withdrawn = post_json(client, f"/cases/{case.number}/withdraw", {"reason": "不再经营"}, **applicant)
    again = post_json(client, f"/cases/{case.number}/withdraw", {"reason": "不再经营"}, **applicant)

    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"]["code"] == "withdrawn"
    assert again.status_code == 409
    assert error_of(again)["code"] == "not_withdrawable"


# ---------------------------------------------------------------------------------------------
# Idempotency


def test_filing_twice_with_one_key_makes_one_case_201_then_200_and_another_key_a_second(world, client):
    implementation = world.immediate_implementation
    data = form_data_for(world, implementation)
    applicant = bearer(world.applicant.user)
    payload = {"implementation_code": implementation.implementation_code, "data": data}

    first = post_json(client, "/cases", payload, **applicant, **{"Idempotency-Key": "file-1"})
    retry = post_json(client, "/cases", payload, **applicant, **{"Idempotency-Key": "file-1"})
    other = post_json(client, "/cases", payload, **applicant, **{"Idempotency-Key": "file-2"})

    assert (first.status_code, retry.status_code, other.status_code) == (201, 200, 201)
    assert retry.json()["number"] == first.json()["number"]
    assert other.json()["number"] != first.json()["number"]
    filed = Case.objects.filter(applicant=world.applicant.user).exclude(state=CaseState.DRAFT)
    assert sorted(filed.values_list("number", flat=True)) == sorted([first.json()["number"], other.json()["number"]])


def test_a_submit_retried_after_the_first_call_committed_answers_with_the_same_number(world, client):
    draft = make_draft(world=world)
    applicant = {**bearer(world.applicant.user), "Idempotency-Key": "submit-retry"}

    first = client.post(f"{API}/applications/draft-{draft.pk}/submit", headers=applicant)
    # The draft address no longer names a draft once it has a number; the key still finds the case.
    retry = client.post(f"{API}/applications/draft-{draft.pk}/submit", headers=applicant)

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json()["number"] == first.json()["number"] == Case.objects.get(pk=draft.pk).number
    assert Case.objects.filter(applicant=world.applicant.user).count() == 1


def test_a_key_another_applicant_used_files_a_case_of_ones_own(world, client):
    implementation = world.immediate_implementation
    payload = {"implementation_code": implementation.implementation_code, "data": form_data_for(world, implementation)}
    mine = post_json(client, "/cases", payload, **bearer(world.applicant.user), **{"Idempotency-Key": "shared-key"})
    draft = make_draft(world=world, person=world.other_applicant, implementation=implementation)

    theirs = client.post(
        f"{API}/applications/draft-{draft.pk}/submit",
        headers={**bearer(world.other_applicant.user), "Idempotency-Key": "shared-key"},
    )

    assert (mine.status_code, theirs.status_code) == (201, 200)
    assert theirs.json()["number"] == Case.objects.get(pk=draft.pk).number != mine.json()["number"]
    assert Case.objects.get(number=mine.json()["number"]).applicant == world.applicant.user


def test_filing_without_an_idempotency_key_is_refused_on_the_header(world, client):
    payload = {"implementation_code": world.immediate_implementation.implementation_code, "data": {}}

    response = post_json(client, "/cases", payload, **bearer(world.applicant.user))

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert error_of(response)["details"][0]["loc"] == ["header", "Idempotency-Key"]
    assert not Case.objects.filter(applicant=world.applicant.user).exists()


# ---------------------------------------------------------------------------------------------
# Filing with materials in one call

MATERIAL = "食品经营许可申请书"


def file_with_materials(client, world, data: dict, pairs: list[tuple[str, object]], key: str, **headers: str):
    """POST /cases/with-materials as a department system or an app sends it (multipart)."""
    fields: dict[str, object] = {
        "implementation_code": world.implementation.implementation_code,
        "data": json.dumps(data, ensure_ascii=False),
    }
    if pairs:
        fields["material_name"] = [name for name, _file in pairs]
        fields["file"] = [file for _name, file in pairs]
    return client.post(
        f"{API}/cases/with-materials",
        fields,
        headers={**bearer(world.applicant.user), "Idempotency-Key": key, **headers},
    )


def test_a_case_is_filed_with_its_material_in_one_call_and_a_retry_answers_the_same_case(world, client):
    data = form_data_for(world, world.implementation)
    upload = pdf_upload("申请书扫描件.pdf", text="one call")

    first = file_with_materials(client, world, data, [(MATERIAL, upload)], "with-materials-1")
    retry = file_with_materials(client, world, data, [(MATERIAL, pdf_upload())], "with-materials-1")

    assert (first.status_code, retry.status_code) == (201, 200), first.content
    case = Case.objects.get(number=first.json()["number"])
    assert retry.json()["number"] == case.number
    assert case.state == CaseState.SUBMITTED and case.submit_key == "with-materials-1"
    assert [(m.material_name, m.original_name, m.size) for m in case.materials.all()] == [
        (MATERIAL, "申请书扫描件.pdf", upload.size)
    ]
    assert [material["material_name"] for material in first.json()["materials"]] == [MATERIAL]
    assert list(case.events.values_list("action", flat=True)) == ["submit"]
    assert set(
        AuditRecord.objects.filter(object_id__in=[str(case.pk), case.number]).values_list("action", flat=True)
    ) >= {"case_draft_start", "case_material_add"}
    assert Case.objects.filter(applicant=world.applicant.user).count() == 1


def test_a_refused_file_and_a_form_problem_are_answered_together_and_a_retry_sends_only_those(world, client):
    data = form_data_for(world, world.implementation)
    del data["application_statement"]
    damaged = SimpleUploadedFile("cut.pdf", b"%PDF-1.7\n1 0 obj\n", content_type="application/pdf")

    response = file_with_materials(
        client, world, data, [(MATERIAL, damaged)], "with-materials-2", **{"Accept-Language": "en"}
    )

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "application_invalid"
    assert {detail["field"]: (detail["code"], detail["loc"]) for detail in error["details"]} == {
        "application_statement": ("invalid", ["data", "application_statement"]),
        f"material:{MATERIAL}": ("damaged", ["materials", MATERIAL]),
    }
    material_problem = next(detail for detail in error["details"] if detail["field"].startswith("material:"))
    assert material_problem["message_en"].startswith(f"Material {MATERIAL}: The file is damaged")
    draft = Case.objects.get(applicant=world.applicant.user, state=CaseState.DRAFT)
    assert not draft.materials.exists()

    # The file fixed, the form still wrong: the file is kept in the draft.
    second = file_with_materials(client, world, data, [(MATERIAL, pdf_upload())], "with-materials-2")
    assert [detail["field"] for detail in error_of(second)["details"]] == ["application_statement"]
    assert draft.materials.count() == 1

    # The retry sends only the form: the file given before counts.
    data["application_statement"] = "申请开办便利店"
    fixed = file_with_materials(client, world, data, [], "with-materials-2")
    assert fixed.status_code == 201, fixed.content
    assert Case.objects.get(pk=draft.pk).number == fixed.json()["number"]


def data_without_a_draft(world) -> dict:
    """Valid form values, the draft read for them removed: a first filing, as a department
    system files, makes its draft in the same call."""
    data = form_data_for(world, world.implementation)
    Case.objects.filter(applicant=world.applicant.user, state=CaseState.DRAFT).delete()
    return data


@pytest.mark.parametrize("draft_before", [True, False], ids=["draft-resumed", "draft-made"])
def test_a_filing_is_one_transaction_taking_the_audit_chains_lock_once_at_its_end(world, client, draft_before):
    if connection.vendor != "postgresql":
        pytest.skip("the chain's lock is PostgreSQL's advisory lock")
    data = form_data_for(world, world.implementation) if draft_before else data_without_a_draft(world)
    headers = bearer(world.applicant.user)  # its token (and that token's audit record) made before

    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            f"{API}/cases/with-materials",
            {
                "implementation_code": world.implementation.implementation_code,
                "data": json.dumps(data, ensure_ascii=False),
                "material_name": [MATERIAL],
                "file": [pdf_upload()],
            },
            headers={**headers, "Idempotency-Key": "with-materials-8"},
        )

    assert response.status_code == 201, response.content
    # After the lock, until the transaction ends (a savepoint released: the test runs in one),
    # only the audit records and the figures' counters: the audit chain's lane and the
    # department's counter rows are held for as short a time as possible.
    held_by = ("pg_advisory_xact_lock", "audit_chain_lane", '"audit_auditrecord"', "metrics_")
    chain_lock = ("pg_advisory_xact_lock", "audit_chain_lane")  # a lane, alone or with its last hash
    sqls = [query["sql"] for query in captured.captured_queries]
    locked, transactions = False, 0
    for sql in sqls:
        if sql.startswith("RELEASE SAVEPOINT"):
            transactions += locked
            locked = False
        elif any(part in sql for part in chain_lock):
            locked = True
        elif locked:
            assert any(part in sql for part in held_by), sql[:200]
    # The draft begun or resumed, its values and files, and the submission: one transaction,
    # one lock, whose figures (a draft begun, an application received) need not ask it again.
    assert transactions == 1
    assert sum(any(part in sql for part in chain_lock) for sql in sqls) == 1
    assert sum("INSERT INTO metrics_departmentday" in sql for sql in sqls) == 1
    # A draft made in the call has no earlier file to supersede.
    superseding = [sql for sql in sqls if '"superseded_at" = ' in sql and sql.startswith("UPDATE")]
    assert len(superseding) == (2 if draft_before else 0)
    # The submission writes the case once: its first step is an officer's, which only adds tasks.
    assert sum(sql.startswith('UPDATE "cases_case"') for sql in sqls) == 1
    # The applicant's person came with the access token.
    assert not any(sql.startswith("SELECT") and 'FROM "accounts_person"' in sql for sql in sqls)
    case = Case.objects.get(number=response.json()["number"])
    assert list(case.events.values_list("action", flat=True)) == ["submit"]
    records = AuditRecord.objects.filter(object_type="case", object_id__in=[str(case.pk), case.number]).order_by("id")
    assert list(records.values_list("action", flat=True)) == ["case_draft_start", "case_material_add", "case_submit"]


def test_a_first_filing_with_problems_keeps_its_draft_values_and_files_for_the_retry(world, client):
    data = data_without_a_draft(world)
    statement = data.pop("application_statement")

    response = file_with_materials(client, world, data, [(MATERIAL, pdf_upload("申请书.pdf"))], "with-materials-10")

    assert response.status_code == 422, response.content
    assert [detail["field"] for detail in error_of(response)["details"]] == ["application_statement"]
    draft = Case.objects.get(applicant=world.applicant.user, state=CaseState.DRAFT)
    assert {name: draft.data.get(name) for name in data} == data
    assert [(m.material_name, m.original_name) for m in draft.materials.all()] == [(MATERIAL, "申请书.pdf")]
    records = AuditRecord.objects.filter(object_type="case", object_id=str(draft.pk))
    assert set(records.values_list("action", flat=True)) == {
        "case_draft_start",
        "case_material_add",
    }

    fixed = file_with_materials(client, world, {"application_statement": statement}, [], "with-materials-10")

    assert fixed.status_code == 201, fixed.content
    case = Case.objects.get(pk=draft.pk)
    assert case.number == fixed.json()["number"] and case.state == CaseState.SUBMITTED
    assert [m.original_name for m in case.materials.all()] == ["申请书.pdf"]
    assert Case.objects.filter(applicant=world.applicant.user).count() == 1


def test_a_first_filing_whose_only_file_is_refused_keeps_the_draft_without_it(world, client):
    data = data_without_a_draft(world)
    damaged = SimpleUploadedFile("cut.pdf", b"%PDF-1.7\n1 0 obj\n", content_type="application/pdf")

    response = file_with_materials(client, world, data, [(MATERIAL, damaged)], "with-materials-11")

    assert response.status_code == 422
    assert {detail["field"]: detail["code"] for detail in error_of(response)["details"]} == {
        f"material:{MATERIAL}": "damaged"
    }
    draft = Case.objects.get(applicant=world.applicant.user, state=CaseState.DRAFT)
    assert not draft.materials.exists()
    assert {name: draft.data.get(name) for name in data} == data


def test_a_material_given_twice_in_one_call_keeps_the_later_file(world, client):
    data = form_data_for(world, world.implementation)
    earlier, later = pdf_upload("第一份.pdf", text="earlier"), pdf_upload("第二份.pdf", text="later")

    response = file_with_materials(client, world, data, [(MATERIAL, earlier), (MATERIAL, later)], "with-materials-9")

    assert response.status_code == 201, response.content
    case = Case.objects.get(number=response.json()["number"])
    assert [(m.material_name, m.original_name) for m in case.materials.all()] == [(MATERIAL, "第二份.pdf")]


def test_fields_the_platform_filled_in_need_not_be_sent_back(world, client):
    data = form_data_for(world, world.implementation)
    draft = Case.objects.get(applicant=world.applicant.user, state=CaseState.DRAFT)
    filled = set(draft.prefilled["values"]) - set(draft.prefilled.get("locked") or [])
    assert filled, "the test item's form must have a prefilled field the applicant may change"
    sent = {name: value for name, value in data.items() if name not in draft.prefilled["values"]}

    response = file_with_materials(client, world, sent, [(MATERIAL, pdf_upload())], "with-materials-7")

    assert response.status_code == 201, response.content
    case = Case.objects.get(number=response.json()["number"])
    assert {name: case.data[name] for name in filled} == {name: draft.prefilled["values"][name] for name in filled}


def test_a_missing_material_and_a_material_the_item_does_not_list_are_named(world, client):
    data = form_data_for(world, world.implementation)

    response = file_with_materials(client, world, data, [("户口本", pdf_upload())], "with-materials-3")

    assert response.status_code == 422
    assert {detail["field"]: detail["code"] for detail in error_of(response)["details"]} == {
        f"material:{MATERIAL}": "material_required",
        "material:户口本": "unknown_material",
    }
    assert not Case.objects.exclude(state=CaseState.DRAFT).filter(applicant=world.applicant.user).exists()


def test_names_and_files_that_do_not_pair_and_data_that_is_not_json_are_refused_before_anything_is_kept(world, client):
    data = form_data_for(world, world.implementation)
    unpaired = client.post(
        f"{API}/cases/with-materials",
        {
            "implementation_code": world.implementation.implementation_code,
            "data": json.dumps(data),
            "material_name": [MATERIAL, "身份证"],
            "file": [pdf_upload()],
        },
        headers={**bearer(world.applicant.user), "Idempotency-Key": "with-materials-4"},
    )
    not_json = client.post(
        f"{API}/cases/with-materials",
        {"implementation_code": world.implementation.implementation_code, "data": "{application_statement: 1"},
        headers={**bearer(world.applicant.user), "Idempotency-Key": "with-materials-5"},
    )

    assert (unpaired.status_code, not_json.status_code) == (422, 422)
    assert error_of(unpaired)["code"] == "materials_unpaired"
    assert "2 个名称、1 个文件" in error_of(unpaired)["message"]
    assert error_of(not_json)["code"] == "validation_error"
    assert error_of(not_json)["details"][0]["loc"] == ["form", "data"]
    assert not CaseMaterial.objects.filter(case__applicant=world.applicant.user).exists()


def test_filing_with_materials_needs_an_applicants_credentials(world, client):
    anonymous = client.post(
        f"{API}/cases/with-materials",
        {"implementation_code": world.implementation.implementation_code, "data": "{}"},
        headers={"Idempotency-Key": "with-materials-6"},
    )
    staff = staff_client(world.clerk).post(
        f"{API}/cases/with-materials",
        {"implementation_code": world.implementation.implementation_code, "data": "{}"},
        headers={"Idempotency-Key": "with-materials-6"},
    )

    assert anonymous.status_code == 401
    assert (staff.status_code, error_of(staff)["code"]) == (403, "not_a_person")
    assert not Case.objects.filter(implementation=world.implementation).exists()


# ---------------------------------------------------------------------------------------------
# Bad input


def test_invalid_form_values_answer_422_per_field_and_what_was_sent_is_kept(world, client):
    implementation = world.immediate_implementation
    data = {**form_data_for(world, implementation), "delivery": "pigeon"}
    del data["application_statement"]
    applicant = bearer(world.applicant.user)

    response = post_json(
        client,
        "/cases",
        {"implementation_code": implementation.implementation_code, "data": data},
        **applicant,
        **{"Idempotency-Key": "bad-1", "Accept-Language": "en"},
    )

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "application_invalid"
    # The envelope's message is zh-hans whatever the request's language.
    assert "申请表或材料有误" in error["message"]
    assert error["message_en"].startswith("The application has problems")
    assert {detail["field"]: detail["loc"] for detail in error["details"]} == {
        "application_statement": ["data", "application_statement"],
        "delivery": ["data", "delivery"],
    }
    assert all(
        "申请事项说明" in detail["message"] for detail in error["details"] if detail["field"] == "application_statement"
    )
    assert all(detail["message_en"] for detail in error["details"])
    draft = Case.objects.get(applicant=world.applicant.user, implementation=implementation)
    assert draft.state == CaseState.DRAFT
    assert draft.data["delivery"] == "pigeon"
    # Corrected and retried with the same key, the same draft is filed.
    data["application_statement"] = "申请开办便利店"
    data["delivery"] = "electronic"
    fixed = post_json(
        client,
        "/cases",
        {"implementation_code": implementation.implementation_code, "data": data},
        **applicant,
        **{"Idempotency-Key": "bad-1"},
    )
    assert fixed.status_code == 201, fixed.content
    assert Case.objects.get(pk=draft.pk).number == fixed.json()["number"]


def test_submitting_without_a_required_material_names_the_material(world, client):
    draft = make_draft(world=world, materials=False)

    response = client.post(
        f"{API}/applications/draft-{draft.pk}/submit",
        headers={**bearer(world.applicant.user), "Idempotency-Key": "no-material"},
    )

    assert response.status_code == 422
    assert [(detail["field"], detail["code"], detail["loc"]) for detail in error_of(response)["details"]] == [
        ("material:食品经营许可申请书", "material_required", ["materials", "食品经营许可申请书"])
    ]
    assert "请上传“食品经营许可申请书”" in error_of(response)["details"][0]["message"]


def test_saving_a_draft_with_problems_keeps_it_and_lists_the_problems(world, client):
    draft = make_draft(world=world, materials=False)
    data = {**draft.data, "application_statement": "x"}

    response = put_json(client, f"/applications/draft-{draft.pk}", {"data": data}, **bearer(world.applicant.user))

    assert response.status_code == 200
    assert [problem["field"] for problem in response.json()["problems"]] == ["application_statement"]
    assert Case.objects.get(pk=draft.pk).data["application_statement"] == "x"


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("空.pdf", b"", content_type="application/pdf"), "empty"),
        (SimpleUploadedFile("note.pdf", b"just some text", content_type="application/pdf"), "type_not_allowed"),
        (png_upload("scan.pdf"), "content_mismatch"),
        (SimpleUploadedFile("cut.pdf", b"%PDF-1.7\n1 0 obj\n", content_type="application/pdf"), "damaged"),
    ],
)
def test_a_refused_upload_answers_422_with_the_refusal_code_on_the_file_field(world, client, upload, code):
    draft = make_draft(world=world, materials=False)

    response = client.post(
        f"{API}/applications/draft-{draft.pk}/materials",
        {"material_name": "食品经营许可申请书", "file": upload},
        headers=bearer(world.applicant.user),
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == code
    assert error_of(response)["details"][0]["field"] == "file"
    assert not draft.materials.exists()


def test_an_upload_for_a_material_the_item_does_not_list_is_refused(world, client):
    draft = make_draft(world=world, materials=False)

    response = client.post(
        f"{API}/applications/draft-{draft.pk}/materials",
        {"material_name": "户口本", "file": pdf_upload()},
        headers=bearer(world.applicant.user),
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "unknown_material"
    assert "户口本" in error_of(response)["message"]


# ---------------------------------------------------------------------------------------------
# Who may see and do what


def test_another_applicants_case_and_draft_answer_not_found(world, client):
    case = make_case(world=world, until="submitted")
    draft = make_draft(world=world, implementation=world.immediate_implementation)
    stranger = bearer(world.other_applicant.user)

    answers = [
        client.get(f"{API}/cases/{case.number}", headers=stranger),
        post_json(client, f"/cases/{case.number}/withdraw", {"reason": "x"}, **stranger),
        client.get(f"{API}/applications/draft-{draft.pk}", headers=stranger),
        put_json(client, f"/applications/draft-{draft.pk}", {"data": {}}, **stranger),
        client.post(f"{API}/applications/draft-{draft.pk}/submit", headers={**stranger, "Idempotency-Key": "k"}),
    ]

    assert [response.status_code for response in answers] == [404] * 5
    assert {error_of(response)["code"] for response in answers} == {"not_found"}
    assert client.get(f"{API}/cases", headers=stranger).json()["total"] == 0
    assert Case.objects.get(pk=case.pk).state == CaseState.SUBMITTED


def user_of(world, who: str):
    member = getattr(world, who)
    return getattr(member, "user", member)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("clerk", 200),
        ("reviewer", 200),
        ("decider", 200),
        ("department_admin", 200),
        ("supervisor", 200),
        ("other_city_supervisor", 404),
        ("other_county_clerk", 404),
        ("ecology_reviewer", 404),
        ("applicant", 404),
    ],
)
def test_who_may_read_a_submitted_case_on_the_workbench(world, client, who, status):
    case = make_case(world=world, until="submitted")

    response = client.get(f"{API}/workbench/cases/{case.number}", headers=bearer(user_of(world, who)))

    assert response.status_code == status


@pytest.mark.parametrize(
    ("who", "own_case_status", "company_case_status"),
    [
        ("applicant", 200, 200),
        ("agent", 404, 200),
        ("other_applicant", 404, 404),
        ("clerk", 404, 404),
    ],
)
def test_who_may_read_a_case_as_applicant(world, client, who, own_case_status, company_case_status):
    personal = make_case(world=world, until="submitted")
    for_company = make_case(world=world, until="submitted", company=world.company)
    headers = bearer(user_of(world, who))

    answers = [client.get(f"{API}/cases/{case.number}", headers=headers) for case in (personal, for_company)]

    assert [answer.status_code for answer in answers] == [own_case_status, company_case_status]


def test_a_company_agent_sees_the_company_case_filed_by_its_representative(world, client):
    case = make_case(world=world, until="submitted", company=world.company)

    listed = client.get(f"{API}/cases", headers=bearer(world.agent.user)).json()

    assert [(item["number"], item["company"]["credit_code"]) for item in listed["items"]] == [
        (case.number, world.company.credit_code)
    ]


def test_my_cases_lists_a_companys_cases_by_each_ones_authorisation(world, client):
    """The representative sees all the company's cases; an agent authorised for one service sees
    that service's only, and none once the authorisation is withdrawn; others see none."""
    from govhall.accounts import privacy
    from govhall.accounts.services import agency_grant, agency_withdraw
    from tests.factories import make_person

    granted = make_case(world=world, until="submitted", company=world.company)
    other_service = make_case(
        world=world, until="submitted", company=world.company, implementation=world.immediate_implementation
    )
    scoped = make_person(name="周九", level=2)
    agency = agency_grant(
        company=world.company,
        granted_by=world.applicant,
        agent_identity_number=privacy.decrypt(scoped.identity_number_encrypted, purpose="identity_number"),
        agent_name=scoped.name,
        valid_until=timezone.localdate() + timedelta(days=30),
        all_services=False,
        services=[world.implementation.entry],
    )

    def listed(person) -> set[str]:
        answer = client.get(f"{API}/cases?page_size=100", headers=bearer(person.user))
        assert answer.status_code == 200
        return {item["number"] for item in answer.json()["items"]}

    assert listed(world.applicant) >= {granted.number, other_service.number}
    assert listed(world.agent) == {granted.number, other_service.number}  # all services
    assert listed(scoped) == {granted.number}
    assert listed(world.other_applicant) == set()
    agency_withdraw(agency=agency, by=world.applicant)
    assert listed(scoped) == set()


def test_applying_for_a_company_one_may_not_act_for_is_forbidden(world, client):
    response = post_json(
        client,
        "/applications",
        {
            "implementation_code": world.implementation.implementation_code,
            "company_credit_code": world.company.credit_code,
        },
        **bearer(world.other_applicant.user),
    )

    assert response.status_code == 403
    assert error_of(response)["code"] == "not_authorised"


def test_staff_of_another_department_get_not_found_for_the_case_and_for_acting_on_its_task(world, client):
    case = make_case(world=world, until="submitted")
    outsider = staff_client(world.other_county_clerk)
    task = task_open(case, kind="prereview")

    seen = outsider.get(f"{API}/workbench/cases/{case.number}")
    acted = act(outsider, task, "pass")
    listed = outsider.get(f"{API}/workbench/tasks")

    assert (seen.status_code, acted.status_code) == (404, 404)
    assert error_of(seen)["code"] == error_of(acted)["code"] == "not_found"
    assert listed.json()["items"] == []
    assert task_open(case, kind="prereview").pk == task.pk


def test_officer_sees_the_form_data_every_event_and_the_actions_open_to_them(world, client):
    case = make_case(world=world, until="submitted")

    detail = staff_client(world.clerk).get(f"{API}/workbench/cases/{case.number}")

    assert detail.status_code == 200
    body = detail.json()
    assert body["data"]["application_statement"] == case.data["application_statement"]
    assert [(event["action"]["code"], event["public"]) for event in body["events"]] == [("submit", True)]
    assert [(task["kind"]["code"], task["actions"]) for task in body["open_tasks"]] == [
        ("prereview", ["claim", "pass", "correct", "refuse", "transfer"])
    ]


def test_return_is_offered_only_on_a_step_after_a_returnable_step_that_was_done(world, client):
    reviewing = make_case(world=world, until="accepted")
    deciding = make_case(world=world, until="reviewed")

    review = staff_client(world.reviewer).get(f"{API}/workbench/cases/{reviewing.number}").json()
    decide = staff_client(world.decider).get(f"{API}/workbench/cases/{deciding.number}").json()

    # Before the joint review only prereview and accept were done, which cannot be returned to.
    assert [("return" in task["actions"]) for task in review["open_tasks"] if task["actions"]] == [False]
    assert [(task["kind"]["code"], "return" in task["actions"]) for task in decide["open_tasks"]] == [("decide", True)]


def test_an_action_the_step_does_not_offer_answers_409_with_its_code(world, client):
    case = make_case(world=world, until="prereviewed")

    response = act(staff_client(world.clerk), task_open(case, kind="accept"), "decide", decision="approve")

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "action_not_allowed"
    assert "受理" in error["message"]
    assert error["message_en"] and error["message_en"] != error["message"]
    assert Case.objects.get(pk=case.pk).state == CaseState.SUBMITTED


def test_a_step_of_another_role_in_the_department_is_forbidden(world, client):
    case = make_case(world=world, until="prereviewed")

    response = act(staff_client(world.reviewer), task_open(case, kind="accept"), "accept")

    assert response.status_code == 403
    assert error_of(response)["code"] == "not_allowed"


def test_refusing_without_reasons_is_refused_as_bad_input(world, client):
    case = make_case(world=world, until="prereviewed")

    response = act(staff_client(world.clerk), task_open(case, kind="accept"), "refuse", reasons="  ")

    assert response.status_code == 422
    assert error_of(response)["code"] == "reasons_required"


def test_task_list_filters_by_kind_and_claimed_by_the_caller(world, client):
    submitted = make_case(world=world, until="submitted")
    prereviewed = make_case(world=world, until="prereviewed", person=world.other_applicant)
    clerk = staff_client(world.clerk)
    act(clerk, task_open(prereviewed, kind="accept"), "claim")

    accept_only = clerk.get(f"{API}/workbench/tasks", {"kind": "accept"}).json()
    mine = clerk.get(f"{API}/workbench/tasks", {"mine": "true"}).json()
    everything = clerk.get(f"{API}/workbench/tasks").json()

    assert [task["case"]["number"] for task in accept_only["items"]] == [prereviewed.number]
    assert [(task["case"]["number"], task["assignee"]) for task in mine["items"]] == [
        (prereviewed.number, world.clerk.display_name)
    ]
    assert sorted(task["case"]["number"] for task in everything["items"]) == sorted(
        [submitted.number, prereviewed.number]
    )


def test_task_list_labels_are_in_the_requests_language(world, client):
    make_case(world=world, until="prereviewed")
    clerk = staff_client(world.clerk)

    def labels(**headers):
        task = clerk.get(f"{API}/workbench/tasks", {"kind": "accept"}, **headers).json()["items"][0]
        return task["kind"]["label"], task["role"]["label"], task["case"]["state"]["label"]

    assert labels() == ("受理", "窗口人员", "已申报")
    assert labels(HTTP_ACCEPT_LANGUAGE="en") == ("Accept", "Window officer", "Submitted")


def test_the_task_list_follows_a_change_of_the_officers_roles_at_once(world, client):
    """The list's statement is kept per officer and roles held: a role given up is gone from the
    next list, and given back, it is there again."""
    from govhall.accounts.models import Role, StaffAssignment

    case = make_case(world=world, until="submitted")
    clerk = staff_client(world.clerk)
    assert [task["case"]["number"] for task in clerk.get(f"{API}/workbench/tasks").json()["items"]] == [case.number]

    held = StaffAssignment.objects.get(user=world.clerk, role=Role.WINDOW_CLERK)
    held.role = Role.DECIDER
    held.save()
    assert clerk.get(f"{API}/workbench/tasks").json()["items"] == []

    held.role = Role.WINDOW_CLERK
    held.save()
    assert [task["case"]["number"] for task in clerk.get(f"{API}/workbench/tasks").json()["items"]] == [case.number]


# ---------------------------------------------------------------------------------------------
# Authentication


def test_case_endpoints_answer_401_without_credentials_or_with_an_unfit_token(world, client):
    expired = bearer(world.applicant.user)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    answers = [
        client.get(f"{API}/cases"),
        client.get(f"{API}/cases", headers=expired),
        client.get(f"{API}/cases", headers=bearer(world.applicant.user, scope="profile phone")),
        client.get(f"{API}/cases", headers={"Authorization": "Bearer not-a-token"}),
    ]

    assert [response.status_code for response in answers] == [401] * 4
    assert {error_of(response)["code"] for response in answers} == {"unauthorized"}


def test_the_token_checker_is_built_once_yet_each_call_checks_its_token_again(world, client):
    """``oauthlib_core()`` keeps django-oauth-toolkit's checker for the process: a token that
    expires or is revoked after a first call is refused on the next, and a change of the
    provider's settings builds the checker again."""
    from django.test import override_settings

    from govhall.accounts.oidc import oauthlib_core

    headers = bearer(world.applicant.user)
    checker = oauthlib_core()
    assert client.get(f"{API}/cases", headers=headers).status_code == 200
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get(f"{API}/cases", headers=headers).status_code == 401
    AccessToken.objects.update(expires=timezone.now() + timedelta(minutes=10))
    assert client.get(f"{API}/cases", headers=headers).status_code == 200
    AccessToken.objects.all().delete()
    assert client.get(f"{API}/cases", headers=headers).status_code == 401
    assert oauthlib_core() is checker

    with override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "ACCESS_TOKEN_EXPIRE_SECONDS": 60}):
        assert oauthlib_core() is not checker
    assert oauthlib_core() is not checker


def test_tokens_stored_as_text_before_lose_it_and_still_work(world, client):
    """The migration of ADR 23: a token issued while tokens were kept as text keeps only its
    digest, and its holder's next call still passes."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("govhall.accounts.migrations.0004_oauth_tokens_kept_as_digests")
    token = secrets.token_urlsafe(30)
    AccessToken.objects.create(
        user=world.applicant.user,
        application=oidc_client_create(name="旧系统", redirect_uris=[])[0],
        token=token,  # as django-oauth-toolkit kept it before
        scope="openid",
        expires=timezone.now() + timedelta(minutes=10),
    )
    assert AccessToken.objects.filter(token=token).exists()

    migration._token_texts_blank(apps, None)

    assert not AccessToken.objects.exclude(token="").exists()
    assert client.get(f"{API}/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_token_also_written_in_the_address_is_refused(world, client):
    """RFC 6750 §5.3, RFC 9700 §4.3.2: an access token never travels in the address, where logs
    and browser histories keep it; a call that puts it there is refused, header or not."""
    headers = bearer(world.applicant.user)
    token = headers["Authorization"].removeprefix("Bearer ")

    assert client.get(f"{API}/cases", headers=headers).status_code == 200
    refused = client.get(f"{API}/cases", {"access_token": token}, headers=headers)

    assert refused.status_code == 401
    assert error_of(refused)["code"] == "unauthorized"


def test_a_token_for_another_resource_is_refused_and_one_for_this_api_accepted(world, client):
    """RFC 8707: a token that names the resources it is for is accepted only at their addresses
    (django-oauth-toolkit's prefix rule, given this call's whole address)."""
    headers = bearer(world.applicant.user)

    AccessToken.objects.update(resource=["https://other.example.gov.cn/api/"])
    assert client.get(f"{API}/cases", headers=headers).status_code == 401

    AccessToken.objects.update(resource=[f"http://testserver{API}/cases"])
    assert client.get(f"{API}/cases", headers=headers).status_code == 200


def test_a_token_of_an_application_no_longer_usable_is_refused(world, client, monkeypatch):
    """A token whose client application the provider no longer deems usable (a client switched
    off) is refused, by django-oauth-toolkit's check of the application behind each call."""
    from oauth2_provider.models import get_application_model

    headers = bearer(world.applicant.user)
    assert client.get(f"{API}/cases", headers=headers).status_code == 200

    monkeypatch.setattr(get_application_model(), "is_usable", lambda self, request: False)

    assert client.get(f"{API}/cases", headers=headers).status_code == 401


def test_a_token_with_the_cases_scope_is_accepted(world, client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{API}/cases", headers=bearer(world.applicant.user, scope="cases"))

    assert response.status_code == 200
    # The token is read by its checksum, with its user and client, once and without ordering.
    reads = [query["sql"] for query in queries.captured_queries if 'FROM "oauth2_provider_accesstoken"' in query["sql"]]
    assert len(reads) == 1 and "ORDER BY" not in reads[0]


def test_staff_endpoints_need_a_session_verified_with_the_second_factor(world):
    unverified = Client()
    unverified.force_login(world.clerk)

    response = unverified.get(f"{API}/workbench/tasks")

    assert response.status_code == 401
    assert staff_client(world.clerk).get(f"{API}/workbench/tasks").status_code == 200


def test_a_session_must_send_the_csrf_token_and_a_bearer_request_need_not(world):
    implementation_code = world.implementation.implementation_code
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.applicant.user)
    browser.cookies["csrftoken"] = CSRF_SECRET

    without = post_json(browser, "/applications", {"implementation_code": implementation_code})
    with_token = post_json(
        browser, "/applications", {"implementation_code": implementation_code}, **{"X-CSRFToken": CSRF_SECRET}
    )
    by_token = post_json(
        Client(enforce_csrf_checks=True),
        "/applications",
        {"implementation_code": implementation_code},
        **bearer(world.other_applicant.user),
    )

    assert without.status_code == 403
    assert error_of(without)["code"] == "forbidden"
    assert (with_token.status_code, by_token.status_code) == (200, 200)
    # Reading needs no token.
    assert browser.get(f"{API}/cases").status_code == 200


# ---------------------------------------------------------------------------------------------
# Lists and the OpenAPI document


def test_case_list_is_paginated_newest_first_and_filters_by_state(world, client):
    first = make_case(world=world, until="submitted")
    draft = make_draft(world=world, implementation=world.immediate_implementation)
    applicant = bearer(world.applicant.user)

    page = client.get(f"{API}/cases", {"page_size": 1}, headers=applicant).json()
    second_page = client.get(f"{API}/cases", {"page_size": 1, "page": 2}, headers=applicant).json()
    submitted = client.get(f"{API}/cases", {"state": "submitted"}, headers=applicant).json()

    assert (page["total"], [item["reference"] for item in page["items"]]) == (2, [f"draft-{draft.pk}"])
    assert [item["reference"] for item in second_page["items"]] == [first.number]
    assert [item["number"] for item in submitted["items"]] == [first.number]
    assert submitted["items"][0]["api_url"] == f"{API}/cases/{first.number}"


def test_task_list_pages_read_only_their_rows_and_count_the_whole_list(world, client):
    cases = [make_case(world=world, until="submitted") for _ in range(3)]
    clerk = bearer(world.clerk)
    expected = [task_open(case).pk for case in cases]  # oldest first

    pages = [
        client.get(f"{API}/workbench/tasks", {"page_size": 2, "page": number}, headers=clerk).json()
        for number in (1, 2, 3)
    ]

    assert [page["total"] for page in pages] == [3, 3, 3]
    assert [[item["id"] for item in page["items"]] for page in pages] == [expected[:2], expected[2:], []]
    first = pages[0]["items"][0]
    assert first["actions_url"] == f"{API}/workbench/tasks/{expected[0]}/actions"
    assert first["case"]["api_url"] == f"{API}/workbench/cases/{cases[0].number}"
    assert first["case"]["item_name"] == cases[0].item_name and first["department"]["code"]


def test_task_list_filtered_by_time_level_pages_and_counts_only_that_level(world, client):
    on_time = [make_case(world=world, until="accepted") for _ in range(2)]
    overdue = [make_case(world=world, until="accepted", person=world.other_applicant) for _ in range(3)]
    # Their promised dates passed a month ago (the time level is computed from the calendar).
    Case.objects.filter(pk__in=[case.pk for case in overdue]).update(
        promised_due_on=timezone.localdate() - timedelta(days=30)
    )
    reviewer = bearer(world.reviewer)

    red = [
        client.get(f"{API}/workbench/tasks", {"level": "red", "page_size": 2, "page": number}, headers=reviewer).json()
        for number in (1, 2)
    ]
    green = client.get(f"{API}/workbench/tasks", {"level": "green"}, headers=reviewer).json()

    assert [page["total"] for page in red] == [3, 3]
    assert [item["case"]["number"] for page in red for item in page["items"]] == [case.number for case in overdue]
    assert {item["case"]["number"] for item in green["items"]} == {case.number for case in on_time}
    first = red[0]["items"][0]
    assert first["kind"]["code"] == "parallel" and first["role"] == {"code": "reviewer", "label": "审批人员"}
    assert first["actions_url"] == f"{API}/workbench/tasks/{first['id']}/actions"


def _queries_for(client, path: str, headers: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, headers=headers).status_code == 200
    return len(captured)


def test_case_list_and_task_list_query_counts_do_not_grow_with_rows(world, client):
    applicant = bearer(world.applicant.user)
    clerk = bearer(world.clerk)
    make_case(world=world, until="submitted")
    one_case = _queries_for(client, f"{API}/cases", applicant)
    one_task = _queries_for(client, f"{API}/workbench/tasks", clerk)

    for _ in range(3):
        make_case(world=world, until="submitted")

    assert _queries_for(client, f"{API}/cases", applicant) == one_case
    assert _queries_for(client, f"{API}/workbench/tasks", clerk) == one_task


def test_openapi_document_lists_the_case_endpoints_with_their_error_envelope(client):
    document = client.get(f"{API}/openapi.json").json()

    assert {
        "/api/v1/applications",
        "/api/v1/applications/{reference}",
        "/api/v1/applications/{reference}/materials",
        "/api/v1/applications/{reference}/submit",
        "/api/v1/cases",
        "/api/v1/cases/{number}",
        "/api/v1/cases/{number}/correction",
        "/api/v1/cases/{number}/withdraw",
        "/api/v1/workbench/tasks",
        "/api/v1/workbench/cases/{number}",
        "/api/v1/workbench/tasks/{task_id}/actions",
    } <= set(document["paths"])
    file_case = document["paths"]["/api/v1/cases"]["post"]
    assert set(file_case["responses"]) >= {"200", "201", "401", "404", "409", "422"}
    assert {"in": "header", "name": "Idempotency-Key", "required": True}.items() <= file_case["parameters"][0].items()
    assert {"OAuth2AccessToken", "BrowserSession"} <= set(document["components"]["securitySchemes"])


def test_a_filing_declaring_more_than_the_cap_is_refused_before_it_is_read(world, client, settings):
    settings.GOVHALL_REQUEST_MAX_BYTES = 64 * 1024
    data = form_data_for(world, world.implementation)
    big = pdf_upload("扫描件.pdf", text="x" * (80 * 1024))
    cases_before, materials_before = Case.objects.count(), CaseMaterial.objects.count()

    with_materials = file_with_materials(client, world, data, [(MATERIAL, big)], "too-large-1")
    plain = post_json(
        client, "/cases", {"implementation_code": "x", "data": {"note": "y" * 70_000}}, **bearer(world.applicant.user)
    )

    for response in (with_materials, plain):
        assert response.status_code == 413
        error = error_of(response)
        assert error["code"] == "request_too_large"
        assert "请求内容超过 64 KB。" in error["message"]
        assert error["message_en"].startswith("The request is larger than 64 KB.")
    assert (Case.objects.count(), CaseMaterial.objects.count()) == (cases_before, materials_before)


def test_a_filing_under_the_cap_is_received_as_before(world, client, settings):
    settings.GOVHALL_REQUEST_MAX_BYTES = 2 * 1024 * 1024
    data = form_data_for(world, world.implementation)

    response = file_with_materials(client, world, data, [(MATERIAL, pdf_upload(text="y" * 1000))], "under-cap")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("number", ["33010620261205000001", "None", "编号 1?#", "a&b=c;d", "x%y"])
def test_a_listed_case_address_is_the_one_reverse_gives(number):
    # cases.api._Addresses puts the number into a reversed address without quote() when it has
    # nothing to quote; odd numbers (none is issued so) are quoted as reverse() would.
    from django.urls import reverse

    from govhall.cases.api import _Addresses

    assert _Addresses().for_case(number) == reverse("api-v1:workbench_case_detail", kwargs={"number": number})
