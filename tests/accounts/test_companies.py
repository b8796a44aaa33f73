"""Assurance L2 through the registry, companies registered by their legal representative, agents."""

from datetime import date, timedelta

import pytest
import time_machine

from govhall.accounts import privacy, services
from govhall.accounts.guards import person_may_act_for_company
from govhall.accounts.models import AssuranceLevel, RegistryCompany
from govhall.accounts.selectors import person_acting_capacities
from govhall.audit.models import AuditRecord
from govhall.org.identifiers import uscc_check_character
from tests.factories import identity_number_for, make_entry, make_person

pytestmark = pytest.mark.django_db


def credit_code(serial: int) -> str:
    first = f"91330106{serial:09d}"
    return first + uscc_check_character(first)


def registry_company(*, representative_number: str, serial: int = 1, name: str = "杭州西湖茶叶有限公司") -> str:
    code = credit_code(serial)
    RegistryCompany.objects.create(
        credit_code=code,
        name=name,
        kind="limited_company",
        legal_representative_index=privacy.blind_index(representative_number, purpose="identity_number"),
    )
    return code


def test_person_reaches_l2_when_name_and_identity_number_match_the_registry():
    person = make_person(name="张三", level=AssuranceLevel.L1)

    services.person_assurance_raise_by_registry(person=person, name="张三")

    person.refresh_from_db()
    assert (person.assurance_level, person.assurance_method) == (AssuranceLevel.L2, "registry")


def test_wrong_name_stays_l1_with_a_clear_message_and_an_audit_record():
    person = make_person(name="张三", level=AssuranceLevel.L1)

    with pytest.raises(services.IdentityRefused) as refused:
        services.person_assurance_raise_by_registry(person=person, name="张山")

    person.refresh_from_db()
    assert person.assurance_level == AssuranceLevel.L1
    assert "人口库" in refused.value.message
    assert AuditRecord.objects.filter(action="assurance_raise", outcome="refused").count() == 1


def test_legal_representative_registers_the_company_the_registry_names_them_for():
    number = identity_number_for("330106", "19800101", 11)
    representative = make_person(identity_number=number, level=AssuranceLevel.L2)
    code = registry_company(representative_number=number)

    company = services.company_register(representative=representative, credit_code=code.lower())

    assert (company.credit_code, company.name, company.legal_representative) == (
        code,
        "杭州西湖茶叶有限公司",
        representative,
    )


@pytest.mark.parametrize(
    ("case", "field"),
    [("bad check character", "credit_code"), ("not the representative", "credit_code"), ("only l1", "__all__")],
)
def test_company_registration_refusals_name_their_field(case, field):
    number = identity_number_for("330106", "19800101", 12)
    other_number = identity_number_for("330106", "19800101", 13)
    representative = make_person(identity_number=number, level=AssuranceLevel.L1 if case == "only l1" else 2)
    code = registry_company(representative_number=other_number if case == "not the representative" else number)
    if case == "bad check character":
        code = code[:17] + ("0" if code[17] != "0" else "1")

    with pytest.raises(services.IdentityRefused) as refused:
        services.company_register(representative=representative, credit_code=code)

    assert refused.value.field == field


def make_company_with_agent(*, all_services: bool, services_=()):
    number = identity_number_for("330106", "19800101", 21)
    representative = make_person(identity_number=number, name="王五", level=AssuranceLevel.L2)
    company = services.company_register(
        representative=representative, credit_code=registry_company(representative_number=number, serial=2)
    )
    agent_number = identity_number_for("330110", "19950505", 22)
    agent = make_person(identity_number=agent_number, name="李四", level=AssuranceLevel.L2)
    agency = services.agency_grant(
        company=company,
        granted_by=representative,
        agent_identity_number=agent_number,
        agent_name="李四",
        valid_until=date.today() + timedelta(days=30),
        all_services=all_services,
        services=services_,
    )
    return company, representative, agent, agency


def test_agent_acts_for_the_company_only_for_the_named_services_until_the_date():
    licence = make_entry(name="食品经营许可")
    other = make_entry(name="公共场所卫生许可")
    company, _representative, agent, agency = make_company_with_agent(all_services=False, services_=[licence])

    assert person_may_act_for_company(person=agent, company=company, basic_code=licence.basic_code)
    assert not person_may_act_for_company(person=agent, company=company, basic_code=other.basic_code)
    with time_machine.travel(agency.valid_until + timedelta(days=1)):
        assert not person_may_act_for_company(person=agent, company=company, basic_code=licence.basic_code)
    grant = AuditRecord.objects.get(action="agency_grant")
    assert grant.acting_for == f"company:{company.credit_code}"


def test_withdrawn_authorisation_ends_the_agents_capacity():
    company, representative, agent, agency = make_company_with_agent(all_services=True)
    assert [c.company for c in person_acting_capacities(person=agent)] == [company]

    services.agency_withdraw(agency=agency, by=representative)

    assert person_acting_capacities(person=agent) == []
    assert not person_may_act_for_company(person=agent, company=company)
    assert [c.as_legal_representative for c in person_acting_capacities(person=representative)] == [True]


def test_only_the_legal_representative_grants_or_withdraws():
    company, _representative, agent, agency = make_company_with_agent(all_services=True)

    with pytest.raises(services.IdentityRefused):
        services.agency_withdraw(agency=agency, by=agent)
    with pytest.raises(services.IdentityRefused):
        services.agency_grant(
            company=company,
            granted_by=agent,
            agent_identity_number="11010519491231002X",
            agent_name="某人",
            valid_until=date.today() + timedelta(days=3),
            all_services=True,
        )
