"""告知承诺制 (approval on a written commitment) and 容缺受理 (acceptance with a secondary material
missing), as the catalogue states them in the item's form definition."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govhall.cases import services
from govhall.cases.application_form import form_deferrable, form_definition_check
from govhall.cases.models import CaseState, CommitmentExclusion, TaskState
from tests.cases.factories import case_world, make_case, pdf_upload, task_open
from tests.factories import make_implementation, material_example

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
COMMITMENT_TEXT = "本人承诺所填写的信息和提交的材料真实有效，如有不实，愿承担相应法律责任，并接受撤销决定。"

FORM = {
    "version": 1,
    "schema": {
        "type": "object",
        "properties": {"statement": {"type": "string", "title": "申请说明", "minLength": 2}},
        "required": ["statement"],
    },
    "layout": [{"section": "申请内容", "fields": ["statement"]}],
    "fields": {"statement": {"widget": "textarea"}},
    "commitment": {"text": COMMITMENT_TEXT, "verification_days": 20, "exclusion_days": 365},
    "materials": {"无违法犯罪记录证明": {"commitment": True}, "房屋租赁合同": {"deferrable": {"days": 5}}},
}
PROCESS = {
    "version": 1,
    "steps": [
        {"key": "accept", "kind": "accept", "name": "受理", "role": "window_clerk", "days": 1},
        {"key": "review", "kind": "review", "name": "审查", "role": "reviewer", "days": 1},
        {"key": "decide", "kind": "decide", "name": "决定", "role": "decider", "days": 1},
        {"key": "issue", "kind": "issue_result", "name": "制证", "role": "window_clerk", "days": 1},
        {"key": "deliver", "kind": "deliver", "name": "送达", "role": "window_clerk", "days": 1},
    ],
}


@pytest.fixture
def world():
    return case_world()


@pytest.fixture
def implementation(world):
    return make_implementation(
        kind="market",
        application_form=FORM,
        process_definition=PROCESS,
        materials=[material_example(name) for name in ("申请书", "无违法犯罪记录证明", "房屋租赁合同")],
    )


def submitted(world, implementation, *, commit: bool = True, lease: bool = False):
    user = world.applicant.user
    case = services.case_draft_start(user=user, implementation=implementation)
    services.case_draft_save(case=case, user=user, data={"statement": "申请开办"})
    services.case_material_add(case=case, user=user, material_name="申请书", file=pdf_upload())
    if commit:
        services.case_material_commit(case=case, user=user, material_name="无违法犯罪记录证明")
    if lease:
        services.case_material_add(case=case, user=user, material_name="房屋租赁合同", file=pdf_upload(text="lease"))
    return services.case_submit(case=case, user=user, submit_key=f"c-{commit}-{lease}")


def approved(world, case):
    case = services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)
    case = services.case_review(task=task_open(case, kind="review"), officer=world.reviewer, agree=True, opinion="同意")
    return services.case_decide(task=task_open(case, kind="decide"), officer=world.decider, decision="approve")


def test_the_catalogue_states_commitments_and_deferrals_in_the_form_definition():
    assert form_definition_check(definition=FORM) == []
    without_terms = {key: value for key, value in FORM.items() if key != "commitment"}
    assert any("告知承诺" in message for _p, message in form_definition_check(definition=without_terms))
    bad_days = {**FORM, "materials": {"房屋租赁合同": {"deferrable": {"days": 0}}}}
    assert any("容缺" in message for _p, message in form_definition_check(definition=bad_days))


def test_a_signed_commitment_stands_in_for_the_proof_and_opens_a_verification_task(world, implementation):
    with time_machine.travel(datetime(2026, 9, 28, 10, tzinfo=SHANGHAI), tick=False):
        case = submitted(world, implementation, lease=True)
        signed = case.commitments.get()
        assert signed.text == COMMITMENT_TEXT
        case = approved(world, case)
    verify = task_open(case, kind="verify")
    assert verify is not None
    assert verify.department == world.market
    assert verify.due_on == date(2026, 10, 30)  # 20 working days after Sep 28, National Day excluded
    # The result is not held up by the verification.
    assert task_open(case, kind="issue_result") is not None
    case = services.case_commitment_verify(task=verify, officer=world.reviewer, truthful=True, note="核查属实")
    assert case.decision == "approve"


def test_a_false_commitment_revokes_the_approval_and_excludes_the_applicant(world, implementation):
    case = approved(world, submitted(world, implementation, lease=True))
    case = services.case_commitment_verify(
        task=task_open(case, kind="verify"), officer=world.reviewer, truthful=False, note="经公安部门核查存在违法记录"
    )
    assert case.decision == "revoked"
    assert case.state == CaseState.COMPLETED
    assert not case.tasks.filter(state=TaskState.OPEN).exists()
    exclusion = CommitmentExclusion.objects.get(person=world.applicant)
    assert exclusion.until - exclusion.since == timedelta(days=365)
    # The next application must bring the proof.
    user = world.applicant.user
    again = services.case_draft_start(user=user, implementation=implementation)
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_material_commit(case=again, user=user, material_name="无违法犯罪记录证明")
    assert refused.value.code == "commitment_excluded"


def test_a_material_the_catalogue_does_not_open_to_commitment_must_be_uploaded(world, implementation):
    user = world.applicant.user
    case = services.case_draft_start(user=user, implementation=implementation)
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_material_commit(case=case, user=user, material_name="申请书")
    assert refused.value.code == "commitment_not_allowed"


def test_a_missing_deferrable_material_is_accepted_and_the_result_waits_for_it(world, implementation):
    with time_machine.travel(datetime(2026, 9, 28, 10, tzinfo=SHANGHAI), tick=False):
        case = submitted(world, implementation, lease=False)
        case = approved(world, case)
    deferred = case.deferred_materials.get()
    # 5 working days after acceptance on Sep 28: Sep 29, 30, Oct 8, 9 and the 调休 Saturday Oct 10
    assert (deferred.material_name, deferred.due_on) == ("房屋租赁合同", date(2026, 10, 10))
    with pytest.raises(services.CaseActionRefused) as refused:
        services.case_result_issue(task=task_open(case, kind="issue_result"), officer=world.clerk, reference="R1")
    assert refused.value.code == "deferred_materials_outstanding"
    services.case_deferred_material_add(
        case=case, user=world.applicant.user, material_name="房屋租赁合同", file=pdf_upload(text="lease")
    )
    case = services.case_result_issue(task=task_open(case, kind="issue_result"), officer=world.clerk, reference="R1")
    assert case.result_reference == "R1"


def test_only_a_form_with_a_deferrable_material_has_its_deferred_materials_read_by_the_actions(world):
    assert form_deferrable(definition=FORM)
    assert not form_deferrable(definition={**FORM, "materials": {"无违法犯罪记录证明": {"commitment": True}}})
    assert not form_deferrable(definition={"version": 1})

    # The test world's item defers nothing: its acceptance asks nothing about deferrals.
    case = make_case(world=world, until="prereviewed")
    assert not form_deferrable(definition=case.form_definition)
    with CaptureQueriesContext(connection) as captured:
        services.case_accept(task=task_open(case, kind="accept"), officer=world.clerk)
    assert not [query for query in captured.captured_queries if "cases_deferredmaterial" in query["sql"]]


def test_a_missing_material_that_is_not_deferrable_still_stops_the_submission(world, implementation):
    user = world.applicant.user
    case = services.case_draft_start(user=user, implementation=implementation)
    services.case_draft_save(case=case, user=user, data={"statement": "申请开办"})
    with pytest.raises(services.CaseInvalid) as refused:
        services.case_submit(case=case, user=user, submit_key="x")
    assert set(refused.value.errors) == {"material:申请书", "material:无违法犯罪记录证明"}
