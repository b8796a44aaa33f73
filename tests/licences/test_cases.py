"""Licences and cases: issued at the issue-result step (by the officer or by the system), and
materials filled from the holder's wallet (trust A) instead of being asked again."""

import copy

import pytest

from govhall.cases import services
from govhall.cases.models import CaseMaterial, Trust
from govhall.catalog.models import Implementation
from govhall.licences.models import Licence
from govhall.licences.services import licence_issue, licence_revoke
from govhall.licences.verification import licence_verify_identifier
from tests.cases.factories import PARALLEL_PROCESS, case_world, make_case, make_draft
from tests.licences.factories import make_licence_type

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    world = case_world()
    world.market.credit_code = "11330106002494880Y"
    world.market.save(update_fields=["credit_code"])
    # The test implementation yields 食品经营许可证 (SPJYXK) and asks for 营业执照 (YYZZ).
    make_licence_type(
        code="SPJYXK",
        fields=[
            {"name": "business_name", "label": "经营者名称", "source": "holder.name", "required": True},
            {"name": "item", "label": "许可事项", "source": "item.name", "required": True},
        ],
    )
    make_licence_type(code="YYZZ", name="营业执照", fields=[])
    return world


def test_the_issue_step_issues_a_signed_licence_to_the_applicant(world, client):
    case = make_case(world=world, until="issued")

    licence = Licence.objects.get(case=case)
    assert case.result_reference == licence.number
    assert (licence.person, licence.company) == (world.applicant, None)
    assert licence_verify_identifier(licence.identifier).code == "valid"
    assert case.events.filter(action="result_issue").exists()
    client.force_login(world.applicant.user)
    assert licence.number in client.get("/licences/").content.decode()


def test_an_automatic_issue_step_issues_when_the_case_is_decided(world):
    process = copy.deepcopy(PARALLEL_PROCESS)
    next(step for step in process["steps"] if step["kind"] == "issue_result")["auto"] = True
    Implementation.objects.filter(pk=world.implementation.pk).update(process_definition=process)
    world.implementation.refresh_from_db()

    case = make_case(world=world, until="decided")

    licence = Licence.objects.get(case=case)
    assert case.result_reference == licence.number
    assert case.stage == "deliver"
    assert case.tasks.get(kind="issue_result").outcome == "issue"


def test_a_material_a_valid_licence_stands_for_is_filled_from_the_wallet(world):
    from govhall.licences.models import LicenceType

    licence = licence_issue(
        licence_type=LicenceType.objects.get(code="YYZZ"), issuer=world.market, fields={}, holder_person=world.applicant
    )
    draft = make_draft(world=world)
    names_required = {material["name"] for material in services.case_materials_required(case=draft)}
    case = services.case_submit(case=draft, user=world.applicant.user, submit_key="wallet-1")

    filled = CaseMaterial.objects.get(case=case, material_name="营业执照")
    assert "营业执照" not in names_required
    assert (filled.trust, filled.licence_version.licence) == (Trust.A, licence)

    # Without a valid licence the material is asked for again.
    licence_revoke(licence=licence, officer=None, reason="吊销")
    again = make_draft(world=world, materials=False)
    assert "营业执照" in {material["name"] for material in services.case_materials_required(case=again)}
    other = make_draft(world=world, person=world.other_applicant, materials=False)
    assert "营业执照" in {material["name"] for material in services.case_materials_required(case=other)}


def test_the_valid_licence_of_a_type_is_the_holders_latest_valid_one(world):
    """What a case's material is filled from: the company's licence for a company's case, the
    person's own (not one a company holds) otherwise, the latest issued that is valid today."""
    import datetime

    from govhall.licences.models import HolderKind, LicenceType
    from govhall.licences.selectors import licence_valid_of_type_for

    LicenceType.objects.filter(code="YYZZ").update(holder_kind=HolderKind.ANY)
    yyzz = LicenceType.objects.get(code="YYZZ")

    def issued(day: str, **holder) -> Licence:
        return licence_issue(
            licence_type=yyzz, issuer=world.market, fields={}, issued_on=datetime.date.fromisoformat(day), **holder
        )

    older = issued("2026-01-05", holder_person=world.applicant)
    newer = issued("2026-03-01", holder_person=world.applicant)
    company = issued("2026-04-01", holder_company=world.company)
    other = issued("2026-02-01", holder_person=world.other_applicant)
    mine = {"type_code": "YYZZ", "person_id": world.applicant.pk}

    assert licence_valid_of_type_for(**mine) == newer
    assert licence_valid_of_type_for(**mine, company_id=world.company.pk) == company
    assert licence_valid_of_type_for(type_code="YYZZ", person_id=world.other_applicant.pk) == other
    licence_revoke(licence=newer, officer=None, reason="吊销")
    assert licence_valid_of_type_for(**mine) == older
    assert licence_valid_of_type_for(type_code="SPJYXK", person_id=world.applicant.pk) is None
    assert licence_valid_of_type_for(type_code="YYZZ") is None
