"""Applying online as a person does it in a browser: log in, find the service, open its guide,
apply, fill in the form, upload a file, submit and see the case number; and axe-core on the form."""

import re

import pytest
from django.urls import reverse

from govhall.accounts import privacy
from govhall.cases.models import Case, CaseState
from tests.browser.test_portal import axe_serious_violations
from tests.cases.factories import case_world, pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"  # the password tests/factories.py make_person registers


@pytest.fixture
def world():
    return case_world()


def log_in(page, person) -> None:
    identity_number = privacy.decrypt(person.identity_number_encrypted, purpose="identity_number")
    page.goto(reverse("accounts:login"))
    page.get_by_role("textbox", name="身份证号或手机号").fill(identity_number)
    page.get_by_role("textbox", name="密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def open_the_edit_page(page, world) -> None:
    """From the home page: search, open the guide, 在线申请, apply for oneself."""
    guide = reverse("portal:guide", args=[world.implementation.implementation_code])
    page.goto("/")
    page.get_by_role("searchbox", name="搜索服务").fill("食品经营许可")
    page.get_by_role("searchbox", name="搜索服务").press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    page.locator(f'.result-list a[href="{guide}"]').click()
    page.wait_for_url(f"**{guide}")

    page.get_by_role("link", name="在线申请").click()
    page.wait_for_url(f"**{reverse('cases_portal:apply', args=[world.implementation.implementation_code])}")
    page.get_by_role("button", name="为本人申请").click()
    page.wait_for_url(re.compile(r"/cases/draft-\d+/edit/$"))


def test_a_citizen_applies_online_and_sees_the_case_number(page, world):
    log_in(page, world.applicant)
    open_the_edit_page(page, world)

    # The person's fields are unhidden once the applicant type is chosen (forms.js), already
    # filled in. (The attribute is checked: making [hidden] win over .field's display is CSS.)
    name_field = page.locator("#f-applicant_name-field")
    assert name_field.get_attribute("hidden") == ""
    page.get_by_role("radio", name="个人", exact=True).check()
    assert name_field.get_attribute("hidden") is None
    assert page.get_by_label("申请人姓名").input_value() == "王五"
    page.get_by_label("申请事项说明").fill("在西湖区开办一家食品店")
    page.get_by_role("radio", name="电子送达").check()

    material = page.locator(".material", has=page.get_by_role("heading", name="食品经营许可申请书"))
    material.get_by_label("上传“食品经营许可申请书”").set_input_files(
        files=[{"name": "申请书.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
    )
    material.get_by_role("button", name="上传", exact=True).click()
    page.wait_for_load_state()
    assert "已提交：申请书.pdf" in page.locator(".material", has_text="食品经营许可申请书").inner_text()
    assert page.get_by_label("申请事项说明").input_value() == "在西湖区开办一家食品店"

    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))

    case = Case.objects.get(applicant=world.applicant.user)
    assert case.state == CaseState.SUBMITTED
    assert page.url.endswith(reverse("cases_portal:detail", args=[case.number]))
    assert page.get_by_role("heading", level=1).inner_text() == "食品经营许可"
    assert case.number in page.locator(".case-facts").inner_text()


def test_the_application_form_has_no_serious_accessibility_violations(page, world):
    log_in(page, world.applicant)
    open_the_edit_page(page, world)

    assert axe_serious_violations(page) == []

    # And with the errors of a submission shown on their fields.
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_load_state()
    assert page.locator("#error-summary").is_visible()
    assert axe_serious_violations(page) == []
