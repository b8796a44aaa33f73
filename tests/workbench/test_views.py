"""The staff workbench through HTTP: login, lists, proposing changes, my changes, review, history."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.page_forms import form_fields
from govhall.accounts.models import Role
from govhall.accounts.totp import staff_totp_device_create, totp_code_now
from govhall.catalog import selectors, services
from govhall.catalog.models import CatalogueChange, CatalogueEntry, ChangeState
from tests.factories import (
    HANGZHOU,
    NINGBO,
    XIHU,
    YUHANG,
    force_login_verified,
    make_department,
    make_entry,
    make_implementation,
    make_staff,
)
from tests.workbench.helpers import change_form_as_shown, implementation_url, latest_change

pytestmark = pytest.mark.django_db


def page_text(response) -> str:
    return response.content.decode()


def field_error_of(html: str, field_id: str) -> str:
    """The error list Django links to the input ``field_id`` (empty when there is none)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def input_tag(html: str, field_id: str) -> str:
    match = re.search(rf'<(?:input|select|textarea)[^>]*id="{field_id}"[^>]*>', html)
    assert match, f"no input {field_id}"
    return match.group(0)


# --- login ------------------------------------------------------------------------------------


def test_anonymous_staff_page_sends_to_the_one_login_page_keeping_next(client):
    response = client.get("/workbench/implementations/", follow=True)

    login_url = response.redirect_chain[-1][0]
    assert urlparse(login_url).path == "/accounts/login/"
    assert parse_qs(urlparse(login_url).query)["next"] == ["/workbench/implementations/"]
    assert response.status_code == 200


def test_password_and_totp_login_opens_the_workbench_and_logout_ends_the_session(client):
    staff = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU, username="hz-admin")
    device, _secret, _uri = staff_totp_device_create(user=staff)

    login_page = client.get("/accounts/login/")
    assert 'for="id_login_name"' in page_text(login_page)
    response = client.post("/accounts/login/", {"login_name": "hz-admin", "password": "a-long-test-password"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/"
    response = client.post("/accounts/login/verify/", {"code": totp_code_now(device=device)})
    assert response.status_code == 302
    assert response["Location"] == "/workbench/"
    assert client.get("/workbench/").status_code == 200

    response = client.post("/workbench/logout/")
    assert response["Location"] == "/accounts/login/"
    assert client.get("/workbench/").status_code == 302


def test_wrong_password_is_refused_with_the_username_kept(client):
    make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU, username="hz-admin")

    response = client.post("/accounts/login/", {"login_name": "hz-admin", "password": "wrong"})

    assert response.status_code == 400
    assert 'value="hz-admin"' in page_text(response)
    assert 'role="alert"' in page_text(response)


# --- home -------------------------------------------------------------------------------------


def test_home_shows_roles_scopes_and_counts_of_drafts_returned_and_awaiting_review(client, hangzhou_admin):
    reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=HANGZHOU)
    implementation = make_implementation(region_code=XIHU)
    payload = services.implementation_payload(implementation)
    services.catalogue_change_draft(
        actor=hangzhou_admin,
        action="change",
        target="implementation",
        implementation=implementation,
        payload={**payload, "promised_time_limit_days": 2},
        reason="缩短时限",
    )
    submitted = services.catalogue_change_draft(
        actor=hangzhou_admin,
        action="suspend",
        target="implementation",
        implementation=implementation,
        reason="场地装修",
        submit=True,
    )
    force_login_verified(client, reviewer)
    home = page_text(client.get("/workbench/"))
    assert "事项审核员" in home
    assert "杭州市" in home
    assert re.search(r"<strong>1</strong>待我审核", home)

    services.catalogue_change_return(reviewer=reviewer, change=submitted, note="请写明暂停期限")
    force_login_verified(client, hangzhou_admin)
    home = page_text(client.get("/workbench/"))
    assert "事项管理员" in home
    assert re.search(r"<strong>1</strong>我的草稿", home)
    assert re.search(r"<strong>1</strong>被退回的变更", home)


# --- implementations --------------------------------------------------------------------------


def test_implementation_list_shows_the_scope_and_filters_by_text_region_and_department(client, hangzhou_admin):
    in_xihu = make_implementation(entry=make_entry(name="食品经营许可"), region_code=XIHU)
    in_yuhang = make_implementation(entry=make_entry(name="公共场所卫生许可"), region_code=YUHANG, kind="health")
    in_ningbo = make_implementation(region_code=NINGBO)
    force_login_verified(client, hangzhou_admin)

    listed = page_text(client.get("/workbench/implementations/"))
    assert in_xihu.implementation_code in listed
    assert in_yuhang.implementation_code in listed
    assert in_ningbo.implementation_code not in listed

    by_text = page_text(client.get("/workbench/implementations/", {"q": "卫生"}))
    assert in_yuhang.implementation_code in by_text
    assert in_xihu.implementation_code not in by_text
    by_region = page_text(client.get("/workbench/implementations/", {"region": XIHU}))
    assert in_xihu.implementation_code in by_region
    assert in_yuhang.implementation_code not in by_region
    by_department = page_text(client.get("/workbench/implementations/", {"department": in_yuhang.department.code}))
    assert in_yuhang.implementation_code in by_department
    assert in_xihu.implementation_code not in by_department


def test_implementation_list_is_paginated_keeping_the_filters(client, province_admin):
    entry = make_entry()
    for kind in [f"kind{number:02d}" for number in range(22)]:
        make_implementation(entry=entry, region_code=XIHU, kind=kind)
    force_login_verified(client, province_admin)

    first = page_text(client.get("/workbench/implementations/", {"q": entry.basic_code}))
    second = page_text(client.get("/workbench/implementations/", {"q": entry.basic_code, "page": 2}))

    assert first.count(f'href="/workbench/implementations/{entry.basic_code}-') == 20
    assert second.count(f'href="/workbench/implementations/{entry.basic_code}-') == 2
    assert f"q={entry.basic_code}&amp;page=2" in first


def test_implementation_page_shows_published_elements_and_links_to_the_public_guide(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)

    page = page_text(client.get(implementation_url(implementation)))

    code = implementation.implementation_code
    assert f'href="/services/{code}/"' in page
    assert f'href="/services/{code}/versions/"' in page
    assert "食品经营许可申请书" in page
    assert "承诺办结时限" in page
    assert "工作日" in page  # choices are shown by their label, not their code
    assert implementation_url(implementation, "change/") in page


def test_history_lists_versions_with_action_reason_and_reviewer_linking_to_public_versions(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=HANGZHOU, username="hz-reviewer")
    change = services.catalogue_change_draft(
        actor=hangzhou_admin,
        action="suspend",
        target="implementation",
        implementation=implementation,
        reason="办公场所搬迁",
        submit=True,
    )
    services.catalogue_change_approve(reviewer=reviewer, change=change)
    force_login_verified(client, hangzhou_admin)

    page = page_text(client.get(implementation_url(implementation, "history/")))

    code = implementation.implementation_code
    assert f'href="/services/{code}/versions/1/"' in page
    assert f'href="/services/{code}/versions/2/"' in page
    assert "办公场所搬迁" in page
    assert "暂停实施清单" in page
    assert "hz-reviewer" in page


# --- proposing a change to an implementation -------------------------------------------------


def test_change_form_is_prefilled_with_every_published_element(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)

    shown = change_form_as_shown(client, implementation_url(implementation, "change/"))
    html = page_text(client.get(implementation_url(implementation, "change/")))

    payload = services.implementation_payload(implementation)
    for element in payload:
        if element in ("materials", "process_steps"):
            continue
        assert f'name="{element}"' in html, element
    assert shown["promised_time_limit_days"] == "3"
    assert shown["online_depth"] == list("123456")
    assert shown["materials-2-condition"] == "委托代理人办理的"
    assert shown["steps-1-name"] == "审查"
    assert "disabled" in input_tag(html, "id_implementation_code")


def test_proposing_a_change_drafts_it_with_the_entered_elements_and_reason(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)
    data = change_form_as_shown(client, implementation_url(implementation, "change/"))
    data.update(
        {
            "promised_time_limit_days": "2",
            "online_depth": ["1", "2", "3", "4", "5", "6", "7"],
            "materials-3-name": "场地平面图",
            "materials-3-form": "electronic",
            "materials-1-DELETE": "on",
            "steps-3-name": "送达",
            "steps-3-ORDER": "4",
            "reason": "推行全程网办",
            "intent": "draft",
        }
    )

    response = client.post(implementation_url(implementation, "change/"), data)

    change = latest_change()
    assert response.status_code == 302
    assert response["Location"] == f"/workbench/changes/{change.pk}/"
    assert change.state == ChangeState.DRAFT
    assert change.reason == "推行全程网办"
    assert change.payload["promised_time_limit_days"] == 2
    assert change.payload["online_depth"] == "1234567"
    assert [m["name"] for m in change.payload["materials"]] == ["食品经营许可申请书", "授权委托书", "场地平面图"]
    assert [s["name"] for s in change.payload["process_steps"]] == ["申请", "审查", "决定", "送达"]


def test_submit_for_review_sends_the_change_to_the_reviewers(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)
    data = change_form_as_shown(client, implementation_url(implementation, "change/"))
    data.update({"promised_time_limit_days": "2", "reason": "缩短时限", "intent": "submit"})

    client.post(implementation_url(implementation, "change/"), data)

    assert latest_change().state == ChangeState.SUBMITTED


def test_rule_violation_shows_on_the_element_it_names_and_keeps_every_entered_value(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)
    data = change_form_as_shown(client, implementation_url(implementation, "change/"))
    data.update(
        {
            "promised_time_limit_days": "30",  # more than the statutory 10 days
            "office_hours": "周一至周六 8:30-17:30",
            "materials-3-name": "场地平面图",
            "reason": "延长时限",
        }
    )

    response = client.post(implementation_url(implementation, "change/"), data)

    html = page_text(response)
    assert response.status_code == 200
    assert "不得超过法定办结时限" in field_error_of(html, "id_promised_time_limit_days")
    promised = input_tag(html, "id_promised_time_limit_days")
    assert 'value="30"' in promised
    assert 'aria-invalid="true"' in promised
    assert "id_promised_time_limit_days_error" in promised
    # The summary at the top links to the field, so nobody has to hunt for it in a long form.
    assert re.search(r'<a href="#id_promised_time_limit_days">承诺办结时限：承诺办结时限（30日）', html)
    kept = form_fields(html)
    assert kept["office_hours"] == "周一至周六 8:30-17:30"
    assert kept["materials-3-name"] == "场地平面图"
    assert kept["reason"] == "延长时限"
    assert not CatalogueChange.objects.filter(implementation=implementation).exclude(action="add").exists()


def test_uniform_element_changed_locally_is_refused_on_the_name_field(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)
    data = change_form_as_shown(client, implementation_url(implementation, "change/"))
    data.update({"name": "食品经营许可（西湖版）", "reason": "本地名称"})

    html = page_text(client.post(implementation_url(implementation, "change/"), data))

    assert "三级四同" in field_error_of(html, "id_name")
    assert 'value="食品经营许可（西湖版）"' in input_tag(html, "id_name")


def test_material_violation_is_shown_beside_the_materials(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)
    data = change_form_as_shown(client, implementation_url(implementation, "change/"))
    data.update({"materials-2-condition": "", "reason": "简化材料"})

    html = page_text(client.post(implementation_url(implementation, "change/"), data))

    errors = re.search(r'<ul class="errorlist" id="materials-errors">(.*?)</ul>', html, re.S)
    assert errors and "第3项材料" in errors.group(1)
    assert 'aria-describedby="materials-errors"' in html
    assert form_fields(html)["materials-2-requirement"] == "conditional"


def test_missing_reason_is_asked_for_on_the_reason_field(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)
    data = change_form_as_shown(client, implementation_url(implementation, "change/"))
    data.update({"promised_time_limit_days": "2", "reason": ""})

    html = page_text(client.post(implementation_url(implementation, "change/"), data))

    assert "请写明变更理由" in field_error_of(html, "id_reason")
    assert form_fields(html)["promised_time_limit_days"] == "2"


def test_new_implementation_starts_from_entry_region_and_department_with_a_suggested_code(client, hangzhou_admin):
    entry = make_entry()
    department = make_department(region_code=YUHANG, kind="market")
    force_login_verified(client, hangzhou_admin)

    start = page_text(client.get("/workbench/implementations/new/"))
    assert 'name="basic_code"' in start
    shown = change_form_as_shown(
        client,
        f"/workbench/implementations/new/?basic_code={entry.basic_code}&region_code={YUHANG}"
        f"&department_code={department.code}",
    )
    assert shown["implementation_code"] == f"{entry.basic_code}-{department.code}"
    assert shown["name"] == entry.name
    shown.update(
        {
            "implementation_code": "",
            "acceptance_conditions": "具有经营场所",
            "statutory_time_limit_days": "20",
            "promised_time_limit_days": "5",
            "materials-0-name": "申请书",
            "steps-0-name": "受理",
            "reason": "余杭区开始实施",
            "intent": "submit",
        }
    )
    response = client.post("/workbench/implementations/new/", shown)

    change = latest_change()
    assert response.status_code == 302, page_text(response)
    assert change.action == "add"
    assert change.state == ChangeState.SUBMITTED
    assert change.payload["implementation_code"] == f"{entry.basic_code}-{department.code}"
    assert change.payload["region_code"] == YUHANG
    assert [m["name"] for m in change.payload["materials"]] == ["申请书"]


def test_new_implementation_with_an_unknown_basic_code_says_so_on_that_field(client, hangzhou_admin):
    department = make_department(region_code=YUHANG)
    force_login_verified(client, hangzhou_admin)

    html = page_text(
        client.get(
            "/workbench/implementations/new/",
            {"basic_code": "NOPE", "region_code": YUHANG, "department_code": department.code},
        )
    )

    assert "基本目录中没有此编码的事项" in field_error_of(html, "id_basic_code")


def test_suspending_needs_a_reason_and_then_drafts_a_suspension(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)

    refused = page_text(client.post(implementation_url(implementation, "suspend/"), {"reason": " "}))
    assert "请写明变更理由" in field_error_of(refused, "id_reason")
    assert not CatalogueChange.objects.filter(implementation=implementation).exclude(action="add").exists()

    client.post(implementation_url(implementation, "suspend/"), {"reason": "场地改造", "intent": "submit"})
    change = latest_change()
    assert (change.action, change.state, change.reason) == ("suspend", ChangeState.SUBMITTED, "场地改造")


def test_resuming_an_active_implementation_is_refused_with_the_reason_kept(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    force_login_verified(client, hangzhou_admin)

    html = page_text(client.post(implementation_url(implementation, "resume/"), {"reason": "恢复"}))

    assert "只有暂停的事项可以恢复" in html
    assert form_fields(html)["reason"] == "恢复"


# --- catalogue entries -----------------------------------------------------------------------


def test_province_administrator_adds_an_entry(client, province_admin):
    force_login_verified(client, province_admin)

    response = client.post(
        "/workbench/entries/new/",
        {
            "basic_code": "0001999",
            "name": "出版物零售单位设立",
            "kind": "licensing",
            "legal_basis": "《出版管理条例》第三十五条",
            "for_companies": "on",
            "reason": "新增事项",
            "intent": "submit",
        },
    )

    change = latest_change()
    assert response.status_code == 302
    assert (change.action, change.target, change.payload["basic_code"]) == ("add", "entry", "0001999")


def test_entry_without_audience_is_refused_on_the_audience_field_keeping_values(client, province_admin):
    force_login_verified(client, province_admin)

    html = page_text(
        client.post(
            "/workbench/entries/new/",
            {
                "basic_code": "0001999",
                "name": "出版物零售",
                "kind": "licensing",
                "legal_basis": "条例",
                "reason": "新增",
            },
        )
    )

    assert "至少选择一类服务对象" in field_error_of(html, "id_for_persons")
    assert form_fields(html)["name"] == "出版物零售"


def test_entry_change_drafts_the_new_elements_keeping_the_basic_code(client, province_admin):
    entry = make_entry()
    force_login_verified(client, province_admin)
    data = change_form_as_shown(client, f"/workbench/entries/{entry.basic_code}/change/")
    data.update({"legal_basis": "《中华人民共和国食品安全法》第三十五条、第三十六条", "reason": "补充依据"})

    client.post(f"/workbench/entries/{entry.basic_code}/change/", data)

    change = latest_change()
    assert change.entry == entry
    assert change.payload["basic_code"] == entry.basic_code
    assert change.payload["legal_basis"].endswith("第三十六条")


def test_entry_split_drafts_two_new_entries(client, province_admin):
    entry = make_entry()
    force_login_verified(client, province_admin)
    data = change_form_as_shown(client, f"/workbench/entries/{entry.basic_code}/split/")
    data.update(
        {
            "entries-0-basic_code": "0001721",
            "entries-0-name": "食品销售许可",
            "entries-1-basic_code": "0001722",
            "entries-1-name": "餐饮服务许可",
            "reason": "按业态拆分",
        }
    )

    response = client.post(f"/workbench/entries/{entry.basic_code}/split/", data)

    change = latest_change()
    assert response.status_code == 302, page_text(response)
    assert change.action == "split"
    assert [item["basic_code"] for item in change.payload["entries"]] == ["0001721", "0001722"]


def test_entry_split_into_one_entry_is_refused(client, province_admin):
    entry = make_entry()
    force_login_verified(client, province_admin)
    data = change_form_as_shown(client, f"/workbench/entries/{entry.basic_code}/split/")
    data.update(
        {"entries-0-basic_code": "0001721", "entries-1-DELETE": "on", "entries-1-basic_code": "x", "reason": "拆分"}
    )

    html = page_text(client.post(f"/workbench/entries/{entry.basic_code}/split/", data))

    assert "拆分须得到至少两个事项" in html
    assert form_fields(html)["entries-0-basic_code"] == "0001721"


def test_entry_merge_drafts_sources_and_the_merged_entry(client, province_admin):
    entry = make_entry()
    other = make_entry(name="食品小作坊登记")
    force_login_verified(client, province_admin)
    data = change_form_as_shown(client, f"/workbench/entries/{entry.basic_code}/merge/")
    data.update({"sources": f"{entry.basic_code}、{other.basic_code}", "entry-basic_code": "0001800", "reason": "合并"})

    response = client.post(f"/workbench/entries/{entry.basic_code}/merge/", data)

    change = latest_change()
    assert response.status_code == 302, page_text(response)
    assert change.payload["sources"] == sorted([entry.basic_code, other.basic_code])
    assert change.payload["entry"]["basic_code"] == "0001800"


def test_entry_merge_with_an_unknown_source_is_refused_on_the_sources_field(client, province_admin):
    entry = make_entry()
    force_login_verified(client, province_admin)
    data = change_form_as_shown(client, f"/workbench/entries/{entry.basic_code}/merge/")
    data.update({"sources": f"{entry.basic_code}、NOPE", "entry-basic_code": "0001800", "reason": "合并"})

    html = page_text(client.post(f"/workbench/entries/{entry.basic_code}/merge/", data))

    assert "不存在或已取消" in field_error_of(html, "id_sources")


def test_entry_list_filters_by_name(client, province_admin):
    food = make_entry(name="食品经营许可")
    drug = make_entry(name="药品零售许可")
    force_login_verified(client, province_admin)

    html = page_text(client.get("/workbench/entries/", {"q": "药品"}))

    assert drug.basic_code in html
    assert food.basic_code not in html


# --- my changes ------------------------------------------------------------------------------


def test_returned_change_shows_the_note_and_is_edited_and_resubmitted(client, hangzhou_admin, hangzhou_reviewer):
    implementation = make_implementation(region_code=XIHU)
    change = services.catalogue_change_draft(
        actor=hangzhou_admin,
        action="change",
        target="implementation",
        implementation=implementation,
        payload={**services.implementation_payload(implementation), "promised_time_limit_days": 2},
        reason="缩短时限",
        submit=True,
    )
    services.catalogue_change_return(reviewer=hangzhou_reviewer, change=change, note="请同时调整流程时限")
    force_login_verified(client, hangzhou_admin)

    mine = page_text(client.get("/workbench/changes/"))
    assert "请同时调整流程时限" in mine
    edit_url = f"/workbench/changes/{change.pk}/edit/"
    data = change_form_as_shown(client, edit_url)
    assert data["promised_time_limit_days"] == "2"
    assert "请同时调整流程时限" in page_text(client.get(edit_url))
    data.update({"steps-1-duration_days": "1", "intent": "submit"})
    response = client.post(edit_url, data)

    change.refresh_from_db()
    assert response.status_code == 302
    assert change.state == ChangeState.SUBMITTED
    assert change.payload["process_steps"][1]["duration_days"] == 1


def test_edit_keeps_entered_values_when_a_rule_is_broken(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    change = services.catalogue_change_draft(
        actor=hangzhou_admin,
        action="change",
        target="implementation",
        implementation=implementation,
        payload={**services.implementation_payload(implementation), "promised_time_limit_days": 2},
        reason="缩短时限",
    )
    force_login_verified(client, hangzhou_admin)
    data = change_form_as_shown(client, f"/workbench/changes/{change.pk}/edit/")
    data.update({"charges_fee": "on", "fee_basis": "", "fee_standard": "每件10元"})

    html = page_text(client.post(f"/workbench/changes/{change.pk}/edit/", data))

    assert "收费事项必须写明收费依据" in field_error_of(html, "id_fee_basis")
    assert form_fields(html)["fee_standard"] == "每件10元"
    change.refresh_from_db()
    assert change.payload["charges_fee"] is False


def test_drafter_withdraws_a_submitted_change(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    change = services.catalogue_change_draft(
        actor=hangzhou_admin,
        action="suspend",
        target="implementation",
        implementation=implementation,
        reason="暂停",
        submit=True,
    )
    force_login_verified(client, hangzhou_admin)

    client.post(f"/workbench/changes/{change.pk}/withdraw/")

    change.refresh_from_db()
    assert change.state == ChangeState.WITHDRAWN


def test_someone_else_cannot_edit_or_withdraw_a_change(client, hangzhou_admin):
    implementation = make_implementation(region_code=XIHU)
    change = services.catalogue_change_draft(
        actor=hangzhou_admin,
        action="suspend",
        target="implementation",
        implementation=implementation,
        reason="暂停",
    )
    colleague = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    force_login_verified(client, colleague)

    assert client.get(f"/workbench/changes/{change.pk}/edit/").status_code == 404
    assert client.post(f"/workbench/changes/{change.pk}/withdraw/").status_code == 404
    change.refresh_from_db()
    assert change.state == ChangeState.DRAFT


# --- review ----------------------------------------------------------------------------------


def submitted_time_limit_change(implementation, drafter, days=2):
    return services.catalogue_change_draft(
        actor=drafter,
        action="change",
        target="implementation",
        implementation=implementation,
        payload={**services.implementation_payload(implementation), "promised_time_limit_days": days},
        reason="缩短承诺时限",
        submit=True,
    )


def test_review_queue_shows_reason_drafter_and_diff(client, hangzhou_admin, hangzhou_reviewer):
    implementation = make_implementation(region_code=XIHU)
    change = submitted_time_limit_change(implementation, hangzhou_admin)
    force_login_verified(client, hangzhou_reviewer)

    html = page_text(client.get("/workbench/reviews/"))

    assert f"/workbench/changes/{change.pk}/" in html
    assert "缩短承诺时限" in html
    assert str(hangzhou_admin) in html
    assert re.search(r"承诺办结时限</th><td><del>3</del></td><td><ins>2</ins>", html)


def test_approving_publishes_a_new_version_on_the_public_guide(client, hangzhou_admin, hangzhou_reviewer):
    implementation = make_implementation(region_code=XIHU)
    change = submitted_time_limit_change(implementation, hangzhou_admin)
    force_login_verified(client, hangzhou_reviewer)

    response = client.post(f"/workbench/changes/{change.pk}/review/", {"decision": "approve", "review_note": "同意"})

    assert response.status_code == 302
    change.refresh_from_db()
    assert (change.state, change.review_note, change.reviewed_by) == (ChangeState.APPROVED, "同意", hangzhou_reviewer)
    public = selectors.implementation_get_public(implementation_code=implementation.implementation_code)
    guide = selectors.implementation_guide(implementation=public)
    assert (guide.version, guide.is_current, guide.promised_time_limit_days) == (2, True, 2)
    assert selectors.implementation_guide(implementation=public, version=1).promised_time_limit_days == 3


def test_returning_needs_a_note_on_the_note_field(client, hangzhou_admin, hangzhou_reviewer):
    implementation = make_implementation(region_code=XIHU)
    change = submitted_time_limit_change(implementation, hangzhou_admin)
    force_login_verified(client, hangzhou_reviewer)

    refused = client.post(f"/workbench/changes/{change.pk}/review/", {"decision": "return", "review_note": ""})

    assert "退回时必须写明审核意见" in field_error_of(page_text(refused), "id_review_note")
    change.refresh_from_db()
    assert change.state == ChangeState.SUBMITTED

    client.post(f"/workbench/changes/{change.pk}/review/", {"decision": "return", "review_note": "依据不足"})
    change.refresh_from_db()
    assert (change.state, change.review_note) == (ChangeState.RETURNED, "依据不足")


def test_approving_a_change_drafted_against_an_older_version_is_refused_on_the_page(
    client, hangzhou_admin, hangzhou_reviewer
):
    implementation = make_implementation(region_code=XIHU)
    stale = submitted_time_limit_change(implementation, hangzhou_admin, days=2)
    newer = submitted_time_limit_change(implementation, hangzhou_admin, days=1)
    services.catalogue_change_approve(reviewer=hangzhou_reviewer, change=newer)
    force_login_verified(client, hangzhou_reviewer)

    response = client.post(f"/workbench/changes/{stale.pk}/review/", {"decision": "approve", "review_note": "好"})

    assert response.status_code == 200
    assert "发布了新版本" in page_text(response)
    assert 'value="approve"' in page_text(response)
    stale.refresh_from_db()
    assert stale.state == ChangeState.SUBMITTED


def test_change_page_diff_names_changed_elements_and_material_rows(client, hangzhou_admin, hangzhou_reviewer):
    implementation = make_implementation(region_code=XIHU)
    payload = services.implementation_payload(implementation)
    payload["materials"][1]["copies"] = 2
    payload["materials"].append({**payload["materials"][0], "name": "场地平面图"})
    payload["office_hours"] = "周一至周六"
    change = services.catalogue_change_draft(
        actor=hangzhou_admin,
        action="change",
        target="implementation",
        implementation=implementation,
        payload=payload,
        reason="补充材料",
        submit=True,
    )
    force_login_verified(client, hangzhou_reviewer)

    html = page_text(client.get(f"/workbench/changes/{change.pk}/"))

    assert 'data-element="office_hours"' in html
    assert 'data-element="promised_time_limit_days"' not in html
    assert re.search(r"2\. 营业执照</th>\s*<td[^>]*>修改</td>\s*<td>份数</td>\s*<td><del>1</del></td>", html)
    assert re.search(r"4\. 场地平面图</th>\s*<td[^>]*>新增</td>", html)


# --- query counts ----------------------------------------------------------------------------


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_list_pages_run_the_same_number_of_queries_for_3_and_12_rows(client, province_admin):
    reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=HANGZHOU)
    drafter = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    force_login_verified(client, province_admin)

    def grow_to(count):
        while CatalogueEntry.objects.count() < count:
            implementation = make_implementation(region_code=XIHU)
            submitted_time_limit_change(implementation, drafter)
            # The drafter's own list shows closed changes as well.
            services.catalogue_change_withdraw(
                actor=drafter, change=submitted_time_limit_change(implementation, drafter)
            )

    grow_to(3)
    pages = ["/workbench/implementations/", "/workbench/entries/", "/workbench/reviews/", "/workbench/changes/"]
    users = {"/workbench/reviews/": reviewer, "/workbench/changes/": drafter}

    def counts():
        result = {}
        for url in pages:
            force_login_verified(client, users.get(url, province_admin))
            result[url] = queries_for(client, url)
        return result

    with_three = counts()
    grow_to(12)
    with_twelve = counts()

    assert with_three == with_twelve
