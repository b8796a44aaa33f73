"""Life-event bundles (一件事) through the services: one merged form and material list, four linked
cases on submission (each with its own department, process and legal time limit), a material
uploaded once and held by every case that lists it, idempotent submission, the combined status,
who may see an application, and the demo's two bundles."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govhall.accounts.models import Role
from govhall.audit.models import AuditRecord
from govhall.audit.selectors import audit_chain_verify
from govhall.cases import bundles, services
from govhall.cases.models import BundleApplication, Case, CaseMaterial, CaseState
from govhall.cases.services import CaseActionRefused, CaseInvalid
from govhall.catalog.models import Bundle, BundleItem, Implementation
from govhall.licences.models import LicenceType
from govhall.metrics.services import metrics_rebuild
from govhall.org.models import Region
from tests.cases.factories import CaseWorld, case_world, pdf_upload, staff_in, task_open
from tests.factories import HANGZHOU, XIHU, YUHANG, make_entry, make_implementation, material_example, unique
from tests.licences.factories import make_licence, make_licence_type
from tests.metrics.test_figures import counter_rows

pytestmark = pytest.mark.django_db

SHARED_MATERIAL = "监护人身份证明"
IDENTITY_CARDS = "父母双方居民身份证"
STATEMENT = "为新生儿一次办理出生相关事项"
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class BundleWorld:
    world: CaseWorld
    bundle: Bundle
    implementations: dict[str, Implementation]


def _item(name: str, *, kind: str, region_code: str = XIHU, statutory: int, materials: list) -> Implementation:
    # Immediate items: a clerk of the department can take each case to completion.
    return make_implementation(
        entry=make_entry(name=name, for_companies=False),
        region_code=region_code,
        kind=kind,
        case_type="immediate",
        statutory_time_limit_days=statutory,
        promised_time_limit_days=1,
        materials=materials,
    )


def make_bundle(*, code: str, name: str, audience: str, implementations: list[tuple[Implementation, str]]) -> Bundle:
    # The catalogue has no bundle service yet: bundles are reference data, written directly.
    bundle = Bundle.objects.create(code=code, name=name, audience=audience)
    for order, (implementation, kind) in enumerate(implementations, start=1):
        BundleItem.objects.create(bundle=bundle, entry=implementation.entry, order=order, department_kind=kind)
    return bundle


def bundle_world() -> BundleWorld:
    """A 新生儿出生 bundle of four items in 西湖区: three carried out by the district (health,
    public security, medical security), the social security card only by the city of 杭州 (so the
    district resolves it upwards); a guardian's proof of identity is needed by two items."""
    world = case_world()
    implementations = {
        "health": _item(
            "出生医学证明办理",
            kind="health",
            statutory=1,
            materials=[material_example("出生医学证明首次签发登记表"), material_example(SHARED_MATERIAL)],
        ),
        "public_security": _item(
            "出生登记",
            kind="public_security",
            statutory=2,
            materials=[
                material_example(SHARED_MATERIAL),
                material_example("父母双方居民身份证", source="government", licence_type_code="JMSFZ"),
            ],
        ),
        "medical_security": _item(
            "城乡居民医保参保登记", kind="medical_security", statutory=5, materials=[material_example("参保登记表")]
        ),
        "hrss": _item(
            "社会保障卡申领",
            kind="hrss",
            region_code=HANGZHOU,
            statutory=20,
            materials=[material_example("近期免冠照片")],
        ),
    }
    bundle = make_bundle(
        code=unique("newborn"),
        name="新生儿出生",
        audience="person",
        implementations=[(implementation, kind) for kind, implementation in implementations.items()],
    )
    return BundleWorld(world=world, bundle=bundle, implementations=implementations)


@pytest.fixture
def bw():
    return bundle_world()


def xihu() -> Region:
    return Region.objects.get(code=XIHU)


def start(bw: BundleWorld, person=None) -> BundleApplication:
    person = person or bw.world.applicant
    return bundles.bundle_application_start(user=person.user, bundle=bw.bundle, region=xihu())


def filled(application: BundleApplication, user, **values) -> BundleApplication:
    data = {**bundles.bundle_application_form_data(application=application)}
    data.update({"application_statement": STATEMENT, "delivery": "electronic", **values})
    errors = bundles.bundle_application_save(application=application, user=user, data=data)
    assert errors == {}
    return BundleApplication.objects.get(pk=application.pk)


def with_materials(application: BundleApplication, user) -> BundleApplication:
    form = bundles.bundle_form(application=application)
    data = bundles.bundle_application_form_data(application=application)
    for material in bundles.bundle_materials(form=form, data=data):
        if material["required"]:
            bundles.bundle_material_add(
                application=application,
                user=user,
                material_name=material["name"],
                file=pdf_upload(text=material["name"]),
            )
    return BundleApplication.objects.get(pk=application.pk)


def submitted(bw: BundleWorld, *, submit_key: str = "") -> BundleApplication:
    user = bw.world.applicant.user
    application = with_materials(filled(start(bw), user), user)
    return bundles.bundle_application_submit(application=application, user=user, submit_key=submit_key or unique("k"))


# ---------------------------------------------------------------------------------------------
# The merged form and material list


def test_merged_form_asks_a_field_shared_by_every_item_once_and_lists_a_shared_material_once_for_two_items(bw):
    application = start(bw)

    form = bundles.bundle_form(application=application)
    materials = bundles.bundle_materials(form=form, data={})

    laid_out = [name for section in form.definition["layout"] for name in section["fields"]]
    assert laid_out.count("application_statement") == 1
    assert laid_out.count("delivery") == 1
    assert [material["name"] for material in materials].count(SHARED_MATERIAL) == 1
    shared = next(material for material in materials if material["name"] == SHARED_MATERIAL)
    assert (shared["items"], shared["required"]) == (["出生医学证明办理", "出生登记"], True)
    # A government source shares the parents' identity cards: listed, not asked.
    identity = next(material for material in materials if material["name"] == "父母双方居民身份证")
    assert (identity["shared"], identity["required"]) == (True, False)


def test_merged_definition_takes_the_first_items_definition_of_a_field_and_requires_what_any_item_requires():
    first = {
        "schema": {"type": "object", "properties": {"name": {"type": "string", "title": "甲"}}, "required": []},
        "layout": [{"section": "申请人", "fields": ["name"]}],
        "fields": {"name": {"widget": "text"}},
    }
    second = {
        "schema": {
            "type": "object",
            "properties": {"name": {"type": "string", "title": "乙"}, "extra": {"type": "string", "title": "丙"}},
            "required": ["name", "extra"],
        },
        "layout": [{"section": "申请人", "fields": ["name", "extra"]}, {"section": "其他", "fields": []}],
        "fields": {"name": {"widget": "textarea"}},
    }

    merged = bundles.bundle_definition_merge(definitions=[first, second])

    assert merged["schema"]["properties"]["name"]["title"] == "甲"
    assert merged["fields"]["name"] == {"widget": "text"}
    assert merged["schema"]["required"] == ["name", "extra"]
    assert merged["layout"] == [{"section": "申请人", "section_en": "", "fields": ["name", "extra"]}]


# ---------------------------------------------------------------------------------------------
# Starting


def test_each_item_resolves_to_the_districts_implementation_or_the_citys_when_the_district_has_none(bw):
    resolved = bundles.bundle_items_resolve(bundle=bw.bundle, region=xihu())

    assert [(part.implementation.pk, part.from_region_above) for part in resolved] == [
        (bw.implementations["health"].pk, False),
        (bw.implementations["public_security"].pk, False),
        (bw.implementations["medical_security"].pk, False),
        (bw.implementations["hrss"].pk, True),
    ]
    assert [region.code for region in bundles.bundle_regions(bundle=bw.bundle)] == [XIHU]


def test_start_is_refused_in_a_district_where_an_item_has_no_implementation_here_or_above(bw):
    with pytest.raises(CaseActionRefused) as refused:
        bundles.bundle_application_start(
            user=bw.world.applicant.user, bundle=bw.bundle, region=Region.objects.get(code=YUHANG)
        )

    assert refused.value.code == "item_not_available"
    assert "出生医学证明办理、出生登记、城乡居民医保参保登记" in refused.value.message
    assert not BundleApplication.objects.exists()


def test_start_is_refused_below_an_items_assurance_level_and_for_a_company_when_the_bundle_serves_persons(bw):
    with pytest.raises(CaseActionRefused) as low:
        start(bw, person=bw.world.low_level_applicant)
    with pytest.raises(CaseActionRefused) as company:
        bundles.bundle_application_start(
            user=bw.world.applicant.user, bundle=bw.bundle, region=xihu(), company=bw.world.company
        )

    assert low.value.code == "assurance_too_low"
    assert company.value.code == "companies_not_served"
    assert not BundleApplication.objects.exists()


def test_starting_again_returns_the_unsubmitted_application_with_the_applicant_prefilled(bw):
    first = start(bw)
    again = start(bw)

    assert again.pk == first.pk
    assert bundles.bundle_application_form_data(application=first)["applicant_name"] == "王五"


# ---------------------------------------------------------------------------------------------
# Submitting


def test_submission_creates_four_linked_cases_each_with_its_own_department_process_and_time_limit(bw):
    with time_machine.travel(MONDAY, tick=False):
        application = submitted(bw)

    cases = {case.implementation_id: case for case in Case.objects.filter(bundle_application=application)}
    assert application.number.startswith("YJS20260302")
    assert len(cases) == 4
    for kind, implementation in bw.implementations.items():
        case = cases[implementation.pk]
        assert case.state == CaseState.SUBMITTED, kind
        assert case.department_id == implementation.department_id, kind
        assert case.statutory_limit_days == implementation.statutory_time_limit_days, kind
        assert case.process_definition == services.process_definition_for(implementation=implementation), kind
        assert case.stage == "prereview", kind
    assert len({case.number for case in cases.values()}) == 4
    assert sorted(case.statutory_limit_days for case in cases.values()) == [1, 2, 5, 20]
    assert cases[bw.implementations["hrss"].pk].region_id == HANGZHOU
    assert AuditRecord.objects.filter(action="bundle_application_submit", object_id=application.number).count() == 1


def test_submission_writes_its_cases_audit_records_and_figures_at_its_end_under_one_lock(bw):
    """The four cases are filed in one audited change (ADR 26): their records and counters are
    written together at its end, so the audit chain's lock, one for the whole platform, is not
    held while the cases are filed; the figures are what they would be case by case."""
    user = bw.world.applicant.user
    application = with_materials(filled(start(bw), user), user)
    before = AuditRecord.objects.count()

    with CaptureQueriesContext(connection) as captured:
        application = bundles.bundle_application_submit(application=application, user=user, submit_key=unique("k"))

    cases = list(Case.objects.filter(bundle_application=application))
    records = AuditRecord.objects.order_by("id")[before:]
    assert {record.object_id for record in records if record.object_type == "case"} >= {case.number for case in cases}
    assert [record.action for record in records][-1] == "bundle_application_submit"
    assert audit_chain_verify().is_intact
    incremental = counter_rows()
    metrics_rebuild()
    assert counter_rows() == incremental
    if connection.vendor == "postgresql":
        statements = [query["sql"] for query in captured.captured_queries]
        locks = [number for number, sql in enumerate(statements) if "audit_chain_lane" in sql]
        assert len(locks) == 1
        after = statements[locks[0] + 1 :]
        assert not any('"cases_' in sql for sql in after), "no case is written while the lock is held"
        # Each case is drafted and submitted inside the submission's transaction: never locked
        # and read back, and its materials never read back, after it is written.
        relocked = [sql for sql in statements if 'FROM "cases_case"' in sql and "FOR UPDATE" in sql]
        assert relocked == []
        assert not any('FROM "cases_casematerial"' in sql for sql in statements)


def test_a_material_two_items_need_is_uploaded_once_and_both_cases_hold_the_same_stored_file(bw):
    application = submitted(bw)

    held = list(
        CaseMaterial.objects.filter(case__bundle_application=application, material_name=SHARED_MATERIAL).order_by(
            "case__implementation_id"
        )
    )
    assert [material.case.implementation_id for material in held] == [
        bw.implementations["health"].pk,
        bw.implementations["public_security"].pk,
    ]
    assert held[0].sha256 == held[1].sha256
    assert held[0].file.name == held[1].file.name
    assert held[1].reused_from_id == held[0].pk
    assert default_storage.exists(held[0].file.name)
    assert AuditRecord.objects.filter(action="bundle_material_add", summary=SHARED_MATERIAL).count() == 1
    # The other items do not list it and do not get it.
    assert not CaseMaterial.objects.filter(
        case__implementation=bw.implementations["hrss"], material_name=SHARED_MATERIAL
    ).exists()


def identity_cards_listed(application: BundleApplication) -> tuple:
    """How the bundle lists the parents' identity cards: (shared, required, the wallet's licence)."""
    form = bundles.bundle_form(application=application)
    identity = next(m for m in bundles.bundle_materials(form=form, data={}) if m["name"] == IDENTITY_CARDS)
    return identity["shared"], identity["required"], identity["from_wallet"]


def test_a_material_a_kept_licence_stands_in_for_is_asked_unless_the_applicant_holds_the_licence(bw):
    """The bundle lists each material as its cases will when filed: the parents' identity cards
    of 出生登记 stand for a licence type the platform keeps. An applicant without such a licence
    is asked to upload them (a case would refuse the submission without them, and the page
    offered no upload); one holding a valid licence is not, and the case takes it from the wallet."""
    make_licence_type(code="JMSFZ", name="居民身份证")
    user = bw.world.applicant.user
    application = filled(start(bw), user)

    assert identity_cards_listed(application) == (False, True, None)
    first = bundles.bundle_application_submit(application=with_materials(application, user), user=user)
    registration = Case.objects.get(bundle_application=first, implementation=bw.implementations["public_security"])
    assert registration.materials.get(material_name=IDENTITY_CARDS).trust == "C"  # the applicant's upload

    licence = make_licence(licence_type=LicenceType.objects.get(code="JMSFZ"), person=bw.world.applicant)
    second = filled(start(bw), user)
    assert identity_cards_listed(second) == (True, False, licence)
    second = bundles.bundle_application_submit(application=with_materials(second, user), user=user)
    registration = Case.objects.get(bundle_application=second, implementation=bw.implementations["public_security"])
    from_wallet = registration.materials.get(material_name=IDENTITY_CARDS)
    assert (from_wallet.trust, from_wallet.licence_version.licence_id) == ("A", licence.pk)


def test_a_field_shared_by_the_items_is_asked_once_and_copied_to_each_case(bw):
    application = submitted(bw)

    copied = [case.data.get("application_statement") for case in Case.objects.filter(bundle_application=application)]
    assert copied == [STATEMENT] * 4
    assert [case.data.get("delivery") for case in Case.objects.filter(bundle_application=application)] == [
        "electronic"
    ] * 4


def test_submitting_again_or_with_a_key_already_used_returns_the_same_application_and_no_more_cases(bw):
    user = bw.world.applicant.user
    application = submitted(bw, submit_key="same-key")

    again = bundles.bundle_application_submit(application=application, user=user, submit_key="same-key")
    other = filled(
        bundles.bundle_application_start(user=user, bundle=bw.bundle, region=xihu()), user
    )  # a second application by the same person
    reused_key = bundles.bundle_application_submit(application=other, user=user, submit_key="same-key")

    assert again.pk == application.pk
    assert reused_key.pk == application.pk
    assert Case.objects.filter(applicant=user).count() == 4
    assert BundleApplication.objects.get(pk=other.pk).submitted_at is None


def test_submission_with_a_missing_answer_and_material_is_refused_on_each_and_creates_nothing(bw):
    user = bw.world.applicant.user
    application = start(bw)
    bundles.bundle_application_save(application=application, user=user, data={"delivery": "electronic"})

    with pytest.raises(CaseInvalid) as invalid:
        bundles.bundle_application_submit(application=application, user=user)

    assert invalid.value.errors["application_statement"] == "请填写「申请事项说明」"
    assert invalid.value.errors[f"material:{SHARED_MATERIAL}"] == f"请上传“{SHARED_MATERIAL}”。"
    assert "material:父母双方居民身份证" not in invalid.value.errors
    assert not Case.objects.exists()
    assert BundleApplication.objects.get(pk=application.pk).number is None


def test_saving_keeps_what_was_typed_and_never_lets_a_locked_prefilled_value_change(bw):
    user = bw.world.applicant.user
    application = start(bw)
    locked_number = bundles.bundle_application_form_data(application=application)["applicant_identity_number"]

    errors = bundles.bundle_application_save(
        application=application,
        user=user,
        data={"application_statement": "短", "applicant_identity_number": "110101199001010000"},
    )

    stored = bundles.bundle_application_form_data(application=BundleApplication.objects.get(pk=application.pk))
    assert stored["application_statement"] == "短"
    assert stored["applicant_identity_number"] == locked_number
    assert errors["application_statement"] == "「申请事项说明」至少填写 2 个字"


# ---------------------------------------------------------------------------------------------
# Who may see it, and the combined status


def test_another_citizen_can_neither_see_nor_change_nor_submit_the_application(bw):
    application = submitted(bw)
    draft = start(bw)
    other = bw.world.other_applicant.user

    assert bundles.bundle_application_get_for_applicant(number=application.number, user=other) is None
    assert bundles.bundle_application_get_for_applicant(number=f"draft-{draft.pk}", user=other) is None
    assert bundles.bundle_application_get_for_applicant(number=application.number, user=bw.world.applicant.user)
    for action in (
        lambda: bundles.bundle_application_save(application=draft, user=other, data={}),
        lambda: bundles.bundle_material_add(
            application=draft, user=other, material_name=SHARED_MATERIAL, file=pdf_upload()
        ),
        lambda: bundles.bundle_application_submit(application=draft, user=other),
    ):
        with pytest.raises(CaseActionRefused) as refused:
            action()
        assert refused.value.code == "not_found"


def _complete(case: Case, clerk) -> None:
    services.case_prereview_pass(task=task_open(case, kind="prereview"), officer=clerk)
    services.case_accept(
        task=task_open(case, kind="accept"), officer=clerk, decision="approve", decision_reasons="材料齐全"
    )
    services.case_result_issue(task=task_open(case, kind="issue_result"), officer=clerk, reference=unique("R"))
    services.case_deliver(task=task_open(case, kind="deliver"), officer=clerk, method="electronic")


def test_combined_status_shows_a_correction_first_then_counts_then_all_complete(bw):
    with time_machine.travel(MONDAY, tick=False):
        application = submitted(bw)
        cases = {case.implementation_id: case for case in Case.objects.filter(bundle_application=application)}
        clerks = {
            kind: staff_in(implementation.department, Role.WINDOW_CLERK)
            for kind, implementation in bw.implementations.items()
        }

        at_start = bundles.bundle_status(application=application)
        _complete(cases[bw.implementations["health"].pk], clerks["health"])
        one_done = bundles.bundle_status(application=application)
        birth_registration = cases[bw.implementations["public_security"].pk]
        services.case_correction_notify(
            task=task_open(birth_registration, kind="prereview"),
            officer=clerks["public_security"],
            items=[{"subject": SHARED_MATERIAL, "problem": "扫描件不清晰"}],
        )
        needs_correction = bundles.bundle_status(application=application)
        for kind in ("medical_security", "hrss"):
            _complete(cases[bw.implementations[kind].pk], clerks[kind])
        services.case_correction_answer(case=birth_registration, user=bw.world.applicant.user)
        _complete(Case.objects.get(pk=birth_registration.pk), clerks["public_security"])
        all_done = bundles.bundle_status(application=application)

    assert (at_start.overall, at_start.total, at_start.completed, at_start.in_progress) == ("in_progress", 4, 0, 4)
    assert [row.case.item_name for row in at_start.cases] == [
        "出生医学证明办理",
        "出生登记",
        "城乡居民医保参保登记",
        "社会保障卡申领",
    ]
    assert [row.step for row in at_start.cases] == ["预审"] * 4
    assert [row.time.days_left for row in at_start.cases] == [None] * 4  # not accepted yet
    assert (one_done.overall, one_done.completed, one_done.in_progress) == ("in_progress", 1, 3)
    assert one_done.cases[0].case.result_reference.startswith("R")
    assert (needs_correction.overall, needs_correction.correction) == ("correction", 1)
    assert needs_correction.cases[1].step == "待申请人补正"
    assert (all_done.overall, all_done.completed) == ("completed", 4)


# ---------------------------------------------------------------------------------------------
# The demo's bundles


def test_demo_bundles_load_once_and_开办企业_makes_four_linked_cases_in_西湖区():
    from govhall.demo import DEMO_COMPANY_NAME, demo_load
    from govhall.demo_bundles import demo_bundles_load

    demo_load()  # loads the bundles too
    again = demo_bundles_load()

    assert (Bundle.objects.count(), again) == (2, 0)
    for bundle in Bundle.objects.all():
        resolved = bundles.bundle_items_resolve(bundle=bundle, region=xihu())
        departments = {part.implementation.department.kind for part in resolved}
        assert len(departments) == 4, bundle.code
    from govhall.accounts.models import Person

    representative = Person.objects.get(name="王五")
    company = representative.represented_companies.get(name=DEMO_COMPANY_NAME)
    application = bundles.bundle_application_start(
        user=representative.user, bundle=Bundle.objects.get(code="open-business"), region=xihu(), company=company
    )
    form = bundles.bundle_form(application=application)
    data = {**bundles.bundle_application_form_data(application=application), **_demo_answers()}
    assert bundles.bundle_application_save(application=application, user=representative.user, data=data) == {}
    application = with_materials(application, representative.user)

    done = bundles.bundle_application_submit(application=application, user=representative.user, submit_key="demo")

    cases = list(Case.objects.filter(bundle_application=done).select_related("department"))
    assert sorted(case.item_name for case in cases) == sorted(part.implementation.entry.name for part in form.parts)
    assert len({case.department_id for case in cases}) == 4
    assert {case.state for case in cases} == {CaseState.SUBMITTED}


def _demo_answers() -> dict:
    """Answers to the merged 开办企业 form of the demo (the fields nobody prefills)."""
    return {
        "company_name": "杭州西湖新茶科技有限公司",
        "company_kind": "有限责任公司",
        "domicile": {"region": XIHU, "detail": "文三路100号"},
        "registered_capital": "100",
        "business_scope": "茶叶技术开发；茶叶销售",
        "legal_representative_name": "王五",
        "shareholder_kinds": ["自然人"],
        "shareholders": [{"name": "王五", "kind": "自然人", "subscribed": "100", "due_on": "2030-12-31"}],
        "established_on": "2026-03-01",
        "prior_permit": "false",
        "by_agent": "false",
        "delivery": "electronic",
        "applicant_kind": "company",
        "application_statement": "新开办企业一次办理印章备案和涉税事项",
        "insured_from": "2026-03-01",
        "insurance_kinds": ["企业职工基本养老保险"],
        "employees": [{"name": "王五", "hired_on": "2026-03-01", "monthly_wage": "8000"}],
    }
