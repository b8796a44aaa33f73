"""The demo data set: loaded through the services, complete, and idempotent."""

import pytest
from django.db.models import Count

from govhall.accounts.models import Company, Person, User
from govhall.accounts.selectors import person_acting_capacities
from govhall.catalog.models import CatalogueChange, CatalogueEntry, Implementation, ItemState
from govhall.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_load
from govhall.org.models import Department

pytestmark = pytest.mark.django_db


def test_demo_catalogue_is_complete_its_accounts_log_in_and_loading_it_again_changes_nothing():
    first = demo_load()
    changes_after_first = CatalogueChange.objects.count()

    second = demo_load()

    assert first.entries_created >= 60
    assert (second.entries_created, second.implementations_created) == (0, 0)
    assert CatalogueChange.objects.count() == changes_after_first
    assert CatalogueEntry.objects.filter(state=ItemState.ACTIVE).count() == first.entries_created
    implemented_departments = Department.objects.filter(implementations__isnull=False).values("kind").distinct()
    assert implemented_departments.count() >= 10
    regions = set(Implementation.objects.values_list("region_id", flat=True))
    assert {"330000", "330100", "330200", "330106", "330110", "330203", "330212"} <= regions
    assert not Implementation.objects.annotate(n=Count("materials")).filter(n=0).exists()
    assert not Implementation.objects.annotate(n=Count("process_steps")).filter(n=0).exists()
    assert set(CatalogueChange.objects.values_list("state", flat=True)) == {"approved"}
    for account in DEMO_ACCOUNTS:
        assert User.objects.get(username=account.username).check_password(DEMO_PASSWORD), account.username
    levels = {person.name: person.assurance_level for person in Person.objects.all()}
    assert levels == {"张三": 1, "王五": 2, "李四": 2}
    company = Company.objects.get()
    assert [c.as_legal_representative for c in person_acting_capacities(person=Person.objects.get(name="李四"))] == [
        False
    ]
    assert company.legal_representative.name == "王五"
    _every_implementation_can_be_applied_for()
    _the_demo_walkthrough_runs_with_the_demo_accounts()
    _demo_items_approved_in_seconds_when_their_rules_hold()


def _every_implementation_can_be_applied_for() -> None:
    from govhall.cases.application_form import form_definition_check
    from govhall.cases.process import process_definition_check

    kinds = set(Department.objects.values_list("kind", flat=True))
    for implementation in Implementation.objects.all():
        assert implementation.application_form, implementation.implementation_code
        assert implementation.process_definition, implementation.implementation_code
        assert form_definition_check(definition=implementation.application_form) == []
        assert process_definition_check(definition=implementation.process_definition, department_kinds=kinds) == []


def _the_demo_walkthrough_runs_with_the_demo_accounts() -> None:
    """The README's walkthrough: 王五 applies for 食品经营许可 in 西湖区 with catering, gets a
    correction notice, corrects, is accepted, reviewed by market supervision and ecology in
    parallel, approved, and sees the case complete."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from govhall.cases import services
    from govhall.cases.models import CaseState, CaseTask, TaskState
    from tests.cases.factories import application_data, pdf_bytes

    staff = {
        name: User.objects.get(username=name)
        for name in ("xihu-clerk", "xihu-reviewer", "xihu-ecology-reviewer", "xihu-decider")
    }
    applicant = Person.objects.get(name="王五").user
    implementation = Implementation.objects.get(entry__basic_code="000145001000", region_id="330106")

    def open_task(case, kind, username=None):
        tasks = CaseTask.objects.filter(case=case, kind=kind, state=TaskState.OPEN)
        if username:
            tasks = tasks.filter(department__staff_assignments__user__username=username)
        return tasks.get()

    case = services.case_draft_start(user=applicant, implementation=implementation)
    data = {**application_data(case), "business_items": ["餐饮服务"], "by_agent": False, "automatic_equipment": False}
    services.case_draft_save(case=case, user=applicant, data=data)
    for material in services.case_materials_required(case=case):
        services.case_material_add(
            case=case,
            user=applicant,
            material_name=material["name"],
            file=SimpleUploadedFile("file.pdf", pdf_bytes(material["name"])),
        )
    case = services.case_submit(case=case, user=applicant, submit_key="demo-walkthrough")
    case = services.case_prereview_pass(task=open_task(case, "prereview"), officer=staff["xihu-clerk"])
    case = services.case_correction_notify(
        task=open_task(case, "accept"),
        officer=staff["xihu-clerk"],
        items=[{"subject": "食品经营许可申请书", "problem": "未签字"}],
    )
    services.case_material_add(
        case=case,
        user=applicant,
        material_name="食品经营许可申请书",
        file=SimpleUploadedFile("s.pdf", pdf_bytes("signed")),
    )
    case = services.case_correction_answer(case=case, user=applicant, note="已签字")
    case = services.case_accept(task=open_task(case, "accept"), officer=staff["xihu-clerk"])
    branches = CaseTask.objects.filter(case=case, kind="parallel", state=TaskState.OPEN)
    assert {task.department.kind for task in branches} == {"market", "ecology"}
    case = services.case_review(
        task=branches.get(department__kind="market"), officer=staff["xihu-reviewer"], agree=True, opinion="符合条件"
    )
    case = services.case_review(
        task=branches.get(department__kind="ecology"),
        officer=staff["xihu-ecology-reviewer"],
        agree=True,
        opinion="符合",
    )
    case = services.case_decide(task=open_task(case, "decide"), officer=staff["xihu-decider"], decision="approve")
    case = services.case_result_issue(
        task=open_task(case, "issue_result"), officer=staff["xihu-clerk"], reference="JY1"
    )
    case = services.case_deliver(task=open_task(case, "deliver"), officer=staff["xihu-clerk"], method="electronic")
    assert case.state == CaseState.COMPLETED


def _demo_items_approved_in_seconds_when_their_rules_hold() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from govhall.cases import services
    from govhall.cases.models import AutoDecision, CaseState
    from tests.cases.factories import application_data, pdf_bytes

    applicant = Person.objects.get(name="王五").user
    filing = Implementation.objects.get(entry__basic_code="000160002000", region_id="330106")

    def apply(implementation, **answers):
        case = services.case_draft_start(user=applicant, implementation=implementation)
        services.case_draft_save(case=case, user=applicant, data={**application_data(case), **answers})
        for material in services.case_materials_required(case=case):
            file = SimpleUploadedFile("form.pdf", pdf_bytes(material["name"]))
            services.case_material_add(case=case, user=applicant, material_name=material["name"], file=file)
        return services.case_submit(case=case, user=applicant, submit_key=f"{implementation.pk}-{answers}")

    approved = apply(filing, filing_type="retired_elsewhere", delivery="electronic")
    assert (approved.state, approved.decision) == (CaseState.DECIDED, "approve")
    assert AutoDecision.objects.get(case=approved).matched_rule == "settled_or_resident"

    handed_over = apply(filing, filing_type="working_elsewhere", delivery="electronic")
    assert handed_over.state == CaseState.SUBMITTED
    assert handed_over.tasks.get(state="open").kind == "accept"

    # 王五 was born in 1978: the pension rule (60 and over) does not hold, an officer decides.
    pension = Implementation.objects.get(entry__basic_code="000138008000", region_id="330106")
    case = apply(pension, other_pension="no", bank_account="1234")
    assert AutoDecision.objects.get(case=case).facts["applicant.age"] < 60
    assert case.state == CaseState.SUBMITTED
