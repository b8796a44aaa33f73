"""The citizen's account pages through HTTP: raising the level, registering a company, agents."""

from datetime import date, timedelta

import pytest

from govhall.accounts.models import Agency, Company
from govhall.accounts.registry import demo_registry_company_add
from govhall.org.identifiers import uscc_check_character
from tests.factories import identity_number_for, make_entry, make_person

pytestmark = pytest.mark.django_db

CODE = "91330106MA2H00002" + uscc_check_character("91330106MA2H00002")


def test_person_raises_level_on_the_account_page_and_sees_only_masked_numbers(client):
    number = identity_number_for("330106", "19900307", 501)
    person = make_person(name="张三", identity_number=number, phone="13800000009", level=1)
    client.force_login(person.user)

    page = client.get("/accounts/")
    wrong = client.post("/accounts/", {"name": "张山"})
    right = client.post("/accounts/", {"name": "张三"}, follow=True)

    assert number not in page.content.decode() and "13800000009" not in page.content.decode()
    assert person.identity_number_masked in page.content.decode()
    assert "人口库" in wrong.content.decode() and 'value="张山"' in wrong.content.decode()
    person.refresh_from_db()
    assert person.assurance_level == 2
    assert "L2" in right.content.decode()


def test_representative_registers_company_authorises_agent_who_then_sees_it_and_loses_it(client):
    number = identity_number_for("330106", "19780512", 502)
    representative = make_person(name="王五", identity_number=number, level=2)
    agent_number = identity_number_for("330110", "19951120", 503)
    agent = make_person(name="李四", identity_number=agent_number, level=2)
    entry = make_entry(name="食品经营许可")
    demo_registry_company_add(
        credit_code=CODE,
        name="杭州测试茶业有限公司",
        kind="limited_company",
        legal_representative_identity_number=number,
    )
    client.force_login(representative.user)

    client.post("/accounts/companies/register/", {"credit_code": CODE})
    granted = client.post(
        f"/accounts/companies/{CODE}/",
        {
            "agent_name": "李四",
            "agent_identity_number": agent_number,
            "valid_until": (date.today() + timedelta(days=30)).isoformat(),
            "services": [entry.basic_code],
        },
    )

    assert granted.status_code == 302
    agency = Agency.objects.get(company__credit_code=CODE)
    assert list(agency.services.values_list("name", flat=True)) == ["食品经营许可"]
    client.force_login(agent.user)
    assert "杭州测试茶业有限公司" in client.get("/accounts/").content.decode()
    assert client.post(f"/accounts/companies/{CODE}/agencies/{agency.pk}/withdraw/").status_code == 404
    client.force_login(representative.user)
    client.post(f"/accounts/companies/{CODE}/agencies/{agency.pk}/withdraw/")
    client.force_login(agent.user)
    assert client.get(f"/accounts/companies/{CODE}/").status_code == 404
    assert Company.objects.get(credit_code=CODE).legal_representative == representative


def test_company_page_of_a_stranger_is_not_found(client):
    number = identity_number_for("330106", "19780512", 504)
    representative = make_person(name="王五", identity_number=number, level=2)
    demo_registry_company_add(
        credit_code=CODE,
        name="杭州测试茶业有限公司",
        kind="limited_company",
        legal_representative_identity_number=number,
    )
    client.force_login(representative.user)
    client.post("/accounts/companies/register/", {"credit_code": CODE})
    stranger = make_person(name="路人", level=2)
    client.force_login(stranger.user)

    assert client.get(f"/accounts/companies/{CODE}/").status_code == 404


def test_agent_unknown_to_the_platform_gets_a_message_on_the_field_and_nothing_is_granted(client):
    number = identity_number_for("330106", "19780512", 505)
    representative = make_person(name="王五", identity_number=number, level=2)
    demo_registry_company_add(
        credit_code=CODE,
        name="杭州测试茶业有限公司",
        kind="limited_company",
        legal_representative_identity_number=number,
    )
    client.force_login(representative.user)
    client.post("/accounts/companies/register/", {"credit_code": CODE})

    response = client.post(
        f"/accounts/companies/{CODE}/",
        {
            "agent_name": "无名",
            "agent_identity_number": identity_number_for("330110", "19951120", 506),
            "valid_until": (date.today() + timedelta(days=30)).isoformat(),
            "all_services": "on",
        },
    )

    assert response.status_code == 200
    assert "请经办人先注册" in response.content.decode() and 'value="无名"' in response.content.decode()
    assert not Agency.objects.exists()
