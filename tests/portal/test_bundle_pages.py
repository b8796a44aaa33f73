"""The applicant's bundle pages (一件事) through the test client: the list and a bundle's page,
starting in a district, saving with an error (nothing typed is lost), uploading a material once,
submitting, the combined status with each linked case, the marker in 我的办件, and 404 for
anyone else."""

import re

import pytest
from django.urls import reverse

from bench.page_forms import form_fields
from govhall.cases import bundles, selectors
from govhall.cases.models import BundleApplication, Case, CaseMaterial, CaseState
from govhall.licences.models import LicenceType
from tests.cases.factories import pdf_upload
from tests.cases.test_bundles import IDENTITY_CARDS, SHARED_MATERIAL, STATEMENT, BundleWorld, bundle_world
from tests.factories import XIHU
from tests.licences.factories import make_licence, make_licence_type
from tests.portal.test_guide import page_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def bw() -> BundleWorld:
    return bundle_world()


def as_citizen(client, person):
    client.force_login(person.user)
    return client


def detail_url(bw: BundleWorld) -> str:
    return reverse("bundles:detail", args=[bw.bundle.code])


def edit_url(application: BundleApplication) -> str:
    return reverse("bundles:edit", args=[bundles.bundle_application_reference(application)])


def status_url(application: BundleApplication) -> str:
    return reverse("bundles:status", args=[bundles.bundle_application_reference(application)])


def page_form(client, application) -> dict:
    response = client.get(edit_url(application))
    assert response.status_code == 200
    return form_fields(response.content.decode(), form_id="bundle-form")


def upload_inputs(response) -> dict[str, str]:
    """The file input the page offers for each material, by material name."""
    found = re.findall(r'<label for="(material-\d+)">(?:重新)?上传“([^”]+)”</label>', response.content.decode())
    return {name: input_name for input_name, name in found}


def test_list_and_bundle_pages_show_the_bundle_its_items_and_the_districts_where_it_can_be_done(client, bw):
    as_citizen(client, bw.world.applicant)

    listed = page_text(client.get(reverse("bundles:list")))
    detail = client.get(detail_url(bw))

    assert "新生儿出生" in listed
    assert "出生医学证明办理、出生登记、城乡居民医保参保登记、社会保障卡申领" in listed
    assert detail.status_code == 200
    assert (
        "一次办好以下事项 出生医学证明办理 行政许可 出生登记 行政许可 城乡居民医保参保登记 行政许可 社会保障卡申领"
        in (page_text(detail))
    )
    assert re.search(rf'<option value="{XIHU}"[^>]*>[^<]*西湖区</option>', detail.content.decode())


def test_start_save_with_an_error_upload_once_submit_and_follow_the_combined_status(client, bw):
    as_citizen(client, bw.world.applicant)

    # Start in 西湖区 for oneself.
    response = client.post(detail_url(bw), {"region": XIHU, "applicant": "self"})
    application = BundleApplication.objects.get(applicant=bw.world.applicant.user)
    assert response.status_code == 302
    assert response["Location"] == edit_url(application)

    # One form: the statement is asked once; a value that breaks its rule is kept and explained.
    page = client.get(edit_url(application))
    assert page.content.decode().count('name="f-application_statement"') == 1
    assert "社会保障卡申领" in page_text(page)  # the items and their departments are listed
    fields = {**page_form(client, application), "f-application_statement": "短", "f-delivery": "electronic"}
    response = client.post(edit_url(application), {**fields, "action": "save"})
    assert response.status_code == 400
    assert "「申请事项说明」至少填写 2 个字" in page_text(response)
    assert re.search(
        r'<textarea id="f-application_statement"[^>]*aria-invalid="true"[^>]*>短</textarea>', response.content.decode()
    )

    # Each material once, whatever number of items needs it; the values typed are saved with it.
    inputs = upload_inputs(page)
    assert list(inputs).count(SHARED_MATERIAL) == 1
    assert "用于：出生医学证明办理、出生登记" in page_text(page)
    uploads = {inputs[name]: pdf_upload(f"{name}.pdf", text=name) for name in inputs}
    fields = {**page_form(client, application), "f-application_statement": STATEMENT, "f-delivery": "electronic"}
    response = client.post(edit_url(application), {**fields, **uploads, "action": "upload"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert sorted(bundles.bundle_application_uploads(application=application)) == sorted(inputs)
    assert bundles.bundle_application_form_data(application=application)["application_statement"] == STATEMENT

    # Submit once: four linked cases, and the status page.
    response = client.post(edit_url(application), {**page_form(client, application), "action": "submit"})
    application.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == status_url(application)
    cases = list(Case.objects.filter(bundle_application=application).select_related("department"))
    assert len(cases) == 4
    shared = CaseMaterial.objects.filter(case__in=cases, material_name=SHARED_MATERIAL)
    assert len({(material.sha256, material.file.name) for material in shared}) == 1
    assert shared.count() == 2

    status = client.get(status_url(application))
    text = page_text(status)
    assert status.status_code == 200
    assert application.number in text
    assert "总体状态 办理中" in text
    for case in cases:
        assert f'href="{reverse("cases_portal:detail", args=[case.number])}"' in status.content.decode()
        assert case.department.name in text

    # 我的办件 marks each of the four cases with the bundle's name.
    listed = client.get(reverse("cases_portal:list")).content.decode()
    assert listed.count("一件事：新生儿出生") == 4
    assert f'href="{status_url(application)}"' in listed


def test_submitting_without_a_required_material_says_so_on_the_material_and_creates_no_case(client, bw):
    as_citizen(client, bw.world.applicant)
    application = bundles.bundle_application_start(
        user=bw.world.applicant.user, bundle=bw.bundle, region=bw.world.market.region
    )
    fields = {**page_form(client, application), "f-application_statement": STATEMENT, "f-delivery": "electronic"}

    response = client.post(edit_url(application), {**fields, "action": "submit"})

    assert response.status_code == 400
    assert f"请上传“{SHARED_MATERIAL}”。" in page_text(response)
    assert re.search(r'id="material-\d+-error"', response.content.decode())
    assert re.search(rf'<textarea id="f-application_statement"[^>]*>{STATEMENT}</textarea>', response.content.decode())
    assert not Case.objects.exists()


def started_and_filled(client, bw) -> tuple[BundleApplication, dict, dict]:
    """The applicant's new application, the page's form filled in, and a file for each material
    the page asks for, by input name."""
    as_citizen(client, bw.world.applicant)
    application = bundles.bundle_application_start(
        user=bw.world.applicant.user, bundle=bw.bundle, region=bw.world.market.region
    )
    page = client.get(edit_url(application))
    fields = {**page_form(client, application), "f-application_statement": STATEMENT, "f-delivery": "electronic"}
    files = {input_name: pdf_upload(f"{name}.pdf", text=name) for name, input_name in upload_inputs(page).items()}
    return application, fields, files


def test_a_second_click_on_submit_leads_to_the_same_status_page(client, bw):
    application, fields, files = started_and_filled(client, bw)
    fields.update(files)
    client.post(edit_url(application), {**fields, "action": "upload"})
    form = page_form(client, application)

    first = client.post(edit_url(application), {**form, "action": "submit"})
    second = client.post(edit_url(application), {**form, "action": "submit"})

    application.refresh_from_db()
    assert first["Location"] == second["Location"] == status_url(application)
    assert Case.objects.filter(bundle_application=application).count() == 4


def test_the_page_asks_for_a_material_whose_licence_the_applicant_lacks_and_names_the_one_they_hold(client, bw):
    """The parents' identity cards stand for a licence type the platform keeps: without such a
    licence the page offers their upload, and the submission with it files the four cases; with
    one, the page names the licence it takes them from and asks nothing."""
    make_licence_type(code="JMSFZ", name="居民身份证")
    application, fields, files = started_and_filled(client, bw)
    assert any(file.name == f"{IDENTITY_CARDS}.pdf" for file in files.values())
    fields.update(files)
    client.post(edit_url(application), {**fields, "action": "upload"})
    response = client.post(edit_url(application), {**page_form(client, application), "action": "submit"})
    application.refresh_from_db()
    assert response["Location"] == status_url(application)
    assert Case.objects.filter(bundle_application=application).count() == 4

    licence = make_licence(licence_type=LicenceType.objects.get(code="JMSFZ"), person=bw.world.applicant)
    second = bundles.bundle_application_start(
        user=bw.world.applicant.user, bundle=bw.bundle, region=bw.world.market.region
    )
    page = client.get(edit_url(second))
    assert IDENTITY_CARDS not in upload_inputs(page)
    assert f"已从电子证照库获取（居民身份证 {licence.number}），无需提交" in page_text(page)


def test_the_pages_save_upload_and_submit_make_the_merged_form_once_a_request(client, bw, monkeypatch):
    """The page makes the application's form to show it and hands it to the services it calls:
    reading the catalogue, the applicant's record and licences once a request, not once a call."""
    application, fields, files = started_and_filled(client, bw)
    fields.update(files)
    made = []
    real = bundles.bundle_form
    monkeypatch.setattr(bundles, "bundle_form", lambda **kwargs: made.append(1) or real(**kwargs))

    uploaded = client.post(edit_url(application), {**fields, "action": "upload"})
    assert (uploaded.status_code, len(made)) == (302, 1)
    shown = page_form(client, application)
    assert len(made) == 2
    submitted = client.post(edit_url(application), {**shown, "action": "submit"})
    assert (submitted.status_code, len(made)) == (302, 3)
    assert Case.objects.filter(bundle_application=application).count() == 4
    # A form made for another application is not taken for this one.
    other = bundles.bundle_application_start(
        user=bw.world.other_applicant.user, bundle=bw.bundle, region=bw.world.market.region
    )
    own = bundles.bundle_form(application=application)
    assert bundles._form_of(application, own) is own
    assert bundles._form_of(other, own).application_id == other.pk


def test_start_refused_for_a_low_assurance_level_explains_why_on_the_bundle_page(client, bw):
    as_citizen(client, bw.world.low_level_applicant)

    response = client.post(detail_url(bw), {"region": XIHU, "applicant": "self"})

    assert response.status_code == 403
    assert "实名认证等级L2" in page_text(response)
    assert not BundleApplication.objects.exists()


def test_start_without_a_district_asks_for_one_on_its_field(client, bw):
    as_citizen(client, bw.world.applicant)

    response = client.post(detail_url(bw), {"region": "", "applicant": "self"})

    assert response.status_code == 400
    assert 'id="bundle-region-error"' in response.content.decode()
    assert "请选择办理地。" in page_text(response)


def test_another_citizen_gets_not_found_and_a_visitor_is_sent_to_log_in(client, bw):
    user = bw.world.applicant.user
    draft = bundles.bundle_application_start(user=user, bundle=bw.bundle, region=bw.world.market.region)
    as_citizen(client, bw.world.other_applicant)

    assert client.get(edit_url(draft)).status_code == 404
    assert client.get(status_url(draft)).status_code == 404
    assert client.post(edit_url(draft), {"action": "submit"}).status_code == 404
    client.logout()
    response = client.get(edit_url(draft))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_case_of_the_bundle_answered_for_correction_shows_first_on_the_status_page(client, bw):
    from govhall.accounts.models import Role
    from govhall.cases import services
    from tests.cases.factories import staff_in, task_open
    from tests.cases.test_bundles import submitted

    application = submitted(bw)
    case = Case.objects.get(bundle_application=application, implementation=bw.implementations["public_security"])
    services.case_correction_notify(
        task=task_open(case, kind="prereview"),
        officer=staff_in(case.department, Role.WINDOW_CLERK),
        items=[{"subject": SHARED_MATERIAL, "problem": "扫描件不清晰"}],
    )
    as_citizen(client, bw.world.applicant)

    response = client.get(status_url(application))

    text = page_text(response)
    assert "总体状态 有办件需要补正" in text
    assert f'href="{reverse("cases_portal:edit", args=[selectors.case_reference(case)])}"' in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == CaseState.CORRECTION


def test_home_page_lists_the_bundles_open_for_application(client, bw):
    response = client.get("/")

    assert "一件事" in page_text(response)
    assert f'href="{detail_url(bw)}"' in response.content.decode()
