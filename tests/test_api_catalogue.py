"""The public catalogue API (/api/v1/), through the HTTP test client."""

import json
import logging
import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from ninja.errors import Throttled

from govhall.accounts.models import Role
from govhall.api import http_error_answer, not_found_answer, unexpected_error_answer
from govhall.catalog import services
from govhall.catalog.models import ChangeAction, ChangeTarget, Implementation
from tests.factories import (
    HAISHU,
    HANGZHOU,
    PROVINCE,
    XIHU,
    make_entry,
    make_implementation,
    make_staff,
    publish,
)

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/implementations"


def detail_url(implementation) -> str:
    return f"/api/v1/implementations/{implementation.implementation_code}"


def listed_codes(client, query: str = "") -> list[str]:
    response = client.get(f"{LIST_URL}?{query}")
    assert response.status_code == 200, response.content
    return [item["implementation_code"] for item in response.json()["items"]]


def assert_error(response, *, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    assert error["code"] == code
    assert error["message"] and error["message_en"] and error["message"] != error["message_en"]
    return error


def suspend(implementation) -> None:
    publish(
        action=ChangeAction.SUSPEND,
        target=ChangeTarget.IMPLEMENTATION,
        implementation=implementation,
        reason="场地改造，暂停受理",
    )


def cancel(implementation) -> None:
    publish(
        action=ChangeAction.CANCEL, target=ChangeTarget.IMPLEMENTATION, implementation=implementation, reason="已取消"
    )


# --- the list ----------------------------------------------------------------------------------


def test_list_item_carries_codes_places_limits_badges_and_links(client):
    entry = make_entry(name="食品经营许可", kind="licensing")
    implementation = make_implementation(entry=entry, region_code=XIHU, site_visits=0, online_depth="1234567")

    body = client.get(LIST_URL).json()

    assert (body["total"], body["page"], body["page_size"], body["search"]) == (1, 1, 20, None)
    item = body["items"][0]
    assert item == {
        "implementation_code": implementation.implementation_code,
        "name": "食品经营许可",
        "basic_code": entry.basic_code,
        "kind": {"code": "licensing", "label": "行政许可"},
        "region": {"code": XIHU, "name": "杭州市西湖区"},
        "department": {"code": implementation.department.code, "name": implementation.department.name},
        "badges": [
            {"code": "fully_online", "label": "全程网办"},
            {"code": "zero_visit", "label": "零跑动"},
            {"code": "at_most_one_visit", "label": "最多跑一次"},
        ],
        "statutory_time_limit": {"days": 10, "unit": {"code": "working", "label": "工作日"}},
        "promised_time_limit": {"days": 3, "unit": {"code": "working", "label": "工作日"}},
        "site_visits": 0,
        "online_depth": [
            {"level": 1, "label": "网上咨询"},
            {"level": 2, "label": "网上收件"},
            {"level": 3, "label": "网上预审"},
            {"level": 4, "label": "网上受理"},
            {"level": 5, "label": "网上办理"},
            {"level": 6, "label": "网上反馈结果"},
            {"level": 7, "label": "电子证照结果"},
        ],
        "state": {"code": "active", "label": "在用"},
        "version": 1,
        "guide_url": f"/services/{implementation.implementation_code}/",
        "api_url": f"/api/v1/implementations/{implementation.implementation_code}",
        "match": None,
    }


def test_list_labels_follow_the_language_asked_for_in_turn(client):
    """Labels are kept once per language: asking in turn must not hand one language's to the other."""
    make_implementation(
        entry=make_entry(name="食品经营许可", kind="licensing"), region_code=XIHU, site_visits=0, online_depth="14"
    )

    def labels(language: str) -> tuple:
        item = client.get(LIST_URL, headers={"accept-language": language}).json()["items"][0]
        return (
            item["kind"]["label"],
            [badge["label"] for badge in item["badges"]],
            [level["label"] for level in item["online_depth"]],
        )

    chinese = ("行政许可", ["零跑动", "最多跑一次"], ["网上咨询", "网上受理"])
    for _ in range(2):
        assert labels("zh-hans") == chinese
        english = labels("en")
        assert english[0] == "Administrative licensing" and english[1] == ["No visit needed", "At most one visit"]
        assert len(english[2]) == 2 and not set(english[2]) & set(chinese[2])


def test_region_filter_lists_the_region_and_the_regions_above_it(client):
    province = make_implementation(region_code=PROVINCE)
    xihu = make_implementation(region_code=XIHU)
    haishu = make_implementation(region_code=HAISHU)

    assert sorted(listed_codes(client, f"region={XIHU}")) == sorted(
        [province.implementation_code, xihu.implementation_code]
    )
    assert sorted(listed_codes(client, f"region={HAISHU}")) == sorted(
        [province.implementation_code, haishu.implementation_code]
    )


def test_department_filter_lists_that_department_only(client):
    market = make_implementation(region_code=XIHU, kind="market")
    make_implementation(region_code=XIHU, kind="health")

    assert listed_codes(client, f"department={market.department.code}") == [market.implementation_code]


def test_theme_filter_lists_entries_of_that_theme(client):
    services.theme_upsert(code="api-open-business", name="开办企业", audience="company")
    themed = make_implementation(entry=make_entry(themes=["api-open-business"]))
    make_implementation()

    assert listed_codes(client, "theme=api-open-business") == [themed.implementation_code]


def test_audience_filter_separates_persons_and_companies(client):
    for_persons = make_implementation(entry=make_entry(for_persons=True, for_companies=False))
    for_companies = make_implementation(entry=make_entry(for_persons=False, for_companies=True))

    assert listed_codes(client, "audience=person") == [for_persons.implementation_code]
    assert listed_codes(client, "audience=company") == [for_companies.implementation_code]


@pytest.mark.parametrize(
    ("badge", "expected"),
    [
        ("fully_online", {"online"}),
        ("zero_visit", {"online", "no_visit_shallow"}),
        ("at_most_one_visit", {"online", "no_visit_shallow", "one_visit"}),
        ("7", {"online"}),
        ("3", {"online", "one_visit"}),
    ],
)
def test_badge_filter_lists_implementations_that_earn_the_badge(client, badge, expected):
    made = {
        "online": make_implementation(site_visits=0, online_depth="1234567"),
        "no_visit_shallow": make_implementation(site_visits=0, online_depth="12"),
        "one_visit": make_implementation(site_visits=1, online_depth="123"),
        "two_visits": make_implementation(site_visits=2, online_depth="1"),
    }

    codes = set(listed_codes(client, f"badge={badge}"))

    assert codes == {made[name].implementation_code for name in expected}


def test_kind_filter_lists_that_item_kind_only(client):
    public_service = make_implementation(entry=make_entry(kind="public_service"))
    make_implementation(entry=make_entry(kind="licensing"))

    assert listed_codes(client, "kind=public_service") == [public_service.implementation_code]


def test_pagination_reports_the_total_and_slices_pages(client):
    codes = sorted(make_implementation(entry=make_entry(name="户籍迁移登记")).implementation_code for _ in range(5))

    first = client.get(f"{LIST_URL}?page=1&page_size=2").json()
    last = client.get(f"{LIST_URL}?page=3&page_size=2").json()
    beyond = client.get(f"{LIST_URL}?page=4&page_size=2").json()

    assert (first["total"], first["page"], first["page_size"]) == (5, 1, 2)
    assert [item["implementation_code"] for item in first["items"]] == codes[:2]
    assert [item["implementation_code"] for item in last["items"]] == codes[4:]
    assert (beyond["total"], beyond["items"]) == (5, [])


def test_empty_filters_from_a_form_mean_no_filter(client):
    implementation = make_implementation()

    assert listed_codes(client, "q=&region=&department=&theme=&audience=&badge=&kind=") == [
        implementation.implementation_code
    ]


def test_suspended_implementation_is_listed_with_its_state_and_cancelled_one_is_not(client):
    suspended = make_implementation()
    cancelled = make_implementation()
    suspend(suspended)
    cancel(cancelled)

    items = client.get(LIST_URL).json()["items"]

    assert [(item["implementation_code"], item["state"]) for item in items] == [
        (suspended.implementation_code, {"code": "suspended", "label": "暂停办理"})
    ]


@pytest.mark.parametrize("search", ["", "&q=%E9%A3%9F%E5%93%81"], ids=["browse", "search"])
def test_list_query_count_does_not_grow_with_the_number_of_items(client, search):
    def list_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{LIST_URL}?page_size=100&region={XIHU}{search}")
        assert response.status_code == 200
        return len(response.json()["items"]), len(captured)

    for _ in range(3):
        make_implementation(region_code=XIHU)
    three = list_queries()
    for _ in range(9):
        make_implementation(region_code=XIHU)
    twelve = list_queries()

    assert (three[0], twelve[0]) == (3, 12)
    assert twelve[1] == three[1]


# --- search ------------------------------------------------------------------------------------


def test_search_finds_by_name_and_reports_highlights(client):
    # The factory's default guide text is about food licences, so only the entry name says 户籍.
    household = make_implementation(entry=make_entry(name="户籍迁移登记", kind="confirmation"))
    make_implementation(entry=make_entry(name="食品经营许可"))

    body = client.get(LIST_URL, {"q": "户籍迁移"}).json()

    assert (body["total"], body["page"], body["page_size"]) == (1, 1, 20)
    assert [item["implementation_code"] for item in body["items"]] == [household.implementation_code]
    match = body["items"][0]["match"]
    assert "<mark>" in match["name_highlighted"] and "户籍" in match["name_highlighted"]
    assert match["score"] > 0
    assert "户籍" in "".join(body["search"]["tokens"])


def test_search_combines_with_the_kind_and_region_filters(client):
    confirmation = make_implementation(entry=make_entry(name="户籍迁移登记", kind="confirmation"), region_code=XIHU)
    make_implementation(entry=make_entry(name="户籍档案查询", kind="public_service"), region_code=XIHU)
    make_implementation(entry=make_entry(name="户籍迁移证明", kind="confirmation"), region_code=HAISHU)

    codes = listed_codes(client, f"q=%E6%88%B7%E7%B1%8D&kind=confirmation&region={XIHU}")

    assert codes == [confirmation.implementation_code]


# --- the guide ---------------------------------------------------------------------------------


def test_detail_returns_the_whole_guide_with_materials_and_steps(client):
    implementation = make_implementation(region_code=XIHU)

    response = client.get(detail_url(implementation))

    assert response.status_code == 200
    guide = response.json()
    assert (guide["version"], guide["current_version"], guide["is_current"]) == (1, 1, True)
    assert guide["legal_basis"] == "《中华人民共和国食品安全法》第三十五条"
    assert guide["acceptance_conditions"] == "申请人应当具有与经营的食品品种、数量相适应的经营场所。"
    assert guide["region"] == {"code": XIHU, "name": "杭州市西湖区"}
    assert [material["name"] for material in guide["materials"]] == ["食品经营许可申请书", "营业执照", "授权委托书"]
    assert guide["materials"][2] == {
        "order": 3,
        "name": "授权委托书",
        "requirement": {"code": "conditional", "label": "容缺或情形必要"},
        "condition": "委托代理人办理的",
        "form": {"code": "original", "label": "原件"},
        "copies": 1,
        "source": {"code": "applicant", "label": "申请人自备"},
        "notes": "",
        "licence_type_code": "",
        "blank_form_url": None,
        "example_file_url": None,
    }
    assert guide["materials"][1]["licence_type_code"] == "YYZZ"
    assert guide["process_steps"] == [
        {"order": 1, "name": "申请", "description": "网上提交申请", "duration_days": 0},
        {"order": 2, "name": "审查", "description": "审查材料", "duration_days": 2},
        {"order": 3, "name": "决定", "description": "作出许可决定", "duration_days": 1},
    ]
    assert guide["promised_time_limit"] == {"days": 3, "unit": {"code": "working", "label": "工作日"}}
    assert guide["fee"] == {"charges_fee": False, "standard": "不收费", "basis": ""}
    assert guide["contact"] == {"consultation_phone": "0571-12345", "supervision_phone": "12345"}
    assert guide["online"]["available"] is True
    assert [level["level"] for level in guide["online"]["depth"]] == [1, 2, 3, 4, 5, 6]
    assert guide["result"] == {
        "type": {"code": "licence", "label": "证照"},
        "name": "食品经营许可证",
        "licence_type_code": "SPJYXK",
    }
    assert guide["hall"] is None
    assert guide["versions_url"] == f"{detail_url(implementation)}/versions"


def test_earlier_version_stays_readable_after_a_change_is_approved(client):
    implementation = make_implementation()
    payload = services.implementation_payload(implementation)
    payload["promised_time_limit_days"] = 2
    payload["materials"] = payload["materials"][:2]
    publish(
        action=ChangeAction.CHANGE,
        target=ChangeTarget.IMPLEMENTATION,
        implementation=implementation,
        payload=payload,
        reason="压缩承诺时限，精简材料",
    )

    current = client.get(detail_url(implementation)).json()
    earlier = client.get(f"{detail_url(implementation)}?version=1").json()

    assert (current["version"], current["is_current"], current["promised_time_limit"]["days"]) == (2, True, 2)
    assert len(current["materials"]) == 2
    assert (earlier["version"], earlier["current_version"], earlier["is_current"]) == (1, 2, False)
    assert earlier["promised_time_limit"]["days"] == 3
    assert len(earlier["materials"]) == 3


def test_versions_list_actions_and_reasons_without_drafter_names(client):
    drafter = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=PROVINCE, username="zhangsan-drafter")
    implementation = make_implementation()
    payload = services.implementation_payload(implementation)
    payload["office_hours"] = "周一至周六 9:00-17:00"
    publish(
        action=ChangeAction.CHANGE,
        target=ChangeTarget.IMPLEMENTATION,
        implementation=implementation,
        payload=payload,
        drafter=drafter,
        reason="周六增加办理时间",
    )

    response = client.get(f"{detail_url(implementation)}/versions")

    assert response.status_code == 200
    body = response.json()
    assert body["current_version"] == 2
    assert [(item["number"], item["is_current"], item["action"]["code"], item["reason"]) for item in body["items"]] == [
        (2, True, "change", "周六增加办理时间"),
        (1, False, "add", "测试"),
    ]
    assert body["items"][1]["api_url"] == f"{detail_url(implementation)}?version=1"
    assert "zhangsan" not in response.content.decode()
    assert "factory-province" not in response.content.decode()


def test_suspended_implementation_guide_shows_its_state(client):
    implementation = make_implementation()
    suspend(implementation)

    guide = client.get(detail_url(implementation)).json()

    assert (guide["version"], guide["state"]["code"]) == (2, "suspended")


# --- errors ------------------------------------------------------------------------------------


def test_unknown_implementation_answers_not_found_with_the_error_envelope(client):
    error = assert_error(client.get(f"{LIST_URL}/NO-SUCH-CODE"), status=404, code="not_found")

    assert "NO-SUCH-CODE" in error["message"] and "NO-SUCH-CODE" in error["message_en"]
    assert error["details"] == []


def test_cancelled_implementation_answers_not_found_for_its_guide_and_versions(client):
    implementation = make_implementation()
    cancel(implementation)

    assert_error(client.get(detail_url(implementation)), status=404, code="not_found")
    assert_error(client.get(f"{detail_url(implementation)}/versions"), status=404, code="not_found")


def test_unpublished_version_answers_not_found(client):
    implementation = make_implementation()

    error = assert_error(client.get(f"{detail_url(implementation)}?version=9"), status=404, code="not_found")

    assert "9" in error["message"]


def test_unknown_api_path_answers_not_found_with_the_error_envelope(client):
    assert_error(client.get("/api/v1/no-such-endpoint"), status=404, code="not_found")


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("page=0", "page", "greater_than_equal"),
        ("page_size=1000", "page_size", "less_than_equal"),
        ("badge=nonsense", "badge", "literal_error"),
        ("page=first", "page", "int_parsing"),
        ("kind=tax", "kind", "enum"),
        ("region=33x", "region", "string_pattern_mismatch"),
    ],
)
def test_bad_query_parameter_answers_validation_error_naming_the_field(client, query, field, reason):
    error = assert_error(client.get(f"{LIST_URL}?{query}"), status=422, code="validation_error")

    sent = query.split("=", 1)[1]
    assert error["details"] == [
        {
            "loc": ["query", field],
            "code": reason,
            "message": error["details"][0]["message"],
            "message_en": error["details"][0]["message_en"],
            "input": sent,
        }
    ]
    assert f"“{field}”" in error["details"][0]["message"]
    assert error["details"][0]["message_en"].startswith(f"{field}: ")


def test_validation_message_stays_zh_hans_when_english_is_asked_for(client):
    response = client.get(f"{LIST_URL}?page=0", headers={"accept-language": "en"})

    error = assert_error(response, status=422, code="validation_error")
    assert error["details"][0]["message"] == "参数“page”不能小于 1。"
    assert error["details"][0]["message_en"] == "page: Input should be greater than or equal to 1"


def test_unexpected_exception_is_logged_and_answered_without_internals(caplog):
    request = RequestFactory().get(LIST_URL)

    with caplog.at_level(logging.ERROR, logger="govhall.api"):
        response = unexpected_error_answer(request, RuntimeError("password=hunter2 in a traceback"))

    assert_error(response, status=500, code="internal_error")
    assert b"hunter2" not in response.content and b"Traceback" not in response.content
    assert any(record.exc_info and "hunter2" in str(record.exc_info[1]) for record in caplog.records)


def test_object_does_not_exist_answers_not_found_without_naming_the_model():
    request = RequestFactory().get(LIST_URL)

    response = not_found_answer(request, Implementation.DoesNotExist("Implementation matching query does not exist."))

    assert_error(response, status=404, code="not_found")
    assert b"Implementation" not in response.content


def test_throttled_request_answers_rate_limited_with_retry_after():
    request = RequestFactory().get(LIST_URL)

    response = http_error_answer(request, Throttled(wait=30))

    assert_error(response, status=429, code="rate_limited")
    assert response["Retry-After"] == "30"


# --- regions, departments, themes --------------------------------------------------------------


def test_regions_filter_by_parent_and_level(client):
    children = client.get(f"/api/v1/regions?parent={HANGZHOU}").json()
    provinces = client.get("/api/v1/regions?level=1").json()

    assert children["total"] == len(children["items"]) > 5
    assert {item["parent_code"] for item in children["items"]} == {HANGZHOU}
    assert {"code": XIHU, "name": "西湖区", "full_name": "杭州市西湖区"}.items() <= next(
        item for item in children["items"] if item["code"] == XIHU
    ).items()
    assert [(item["code"], item["level"]) for item in provinces["items"]] == [(PROVINCE, {"code": 1, "label": "省级"})]


def test_region_detail_has_ancestors_and_children_count(client):
    body = client.get(f"/api/v1/regions/{XIHU}").json()

    assert (body["code"], body["parent_code"], body["level"]["code"]) == (XIHU, HANGZHOU, 3)
    assert [ancestor["code"] for ancestor in body["ancestors"]] == [PROVINCE, HANGZHOU]
    assert body["children_count"] == client.get(f"/api/v1/regions?parent={XIHU}").json()["total"] > 0


def test_unknown_region_answers_not_found_and_bad_level_validation_error(client):
    assert_error(client.get("/api/v1/regions/999999"), status=404, code="not_found")
    assert_error(client.get("/api/v1/regions?level=9"), status=422, code="validation_error")


def test_departments_filter_by_region(client):
    xihu = make_implementation(region_code=XIHU).department
    haishu = make_implementation(region_code=HAISHU).department

    body = client.get(f"/api/v1/departments?region={XIHU}").json()

    assert [item["code"] for item in body["items"]] == [xihu.code]
    assert body["items"][0]["region"]["code"] == XIHU
    assert haishu.code in {item["code"] for item in client.get("/api/v1/departments").json()["items"]}


def test_themes_filter_by_audience(client):
    services.theme_upsert(code="api-birth", name="出生", name_en="Birth", audience="person", order=1)
    services.theme_upsert(code="api-licences", name="资质认定", audience="company", order=2)
    services.theme_upsert(code="api-tax", name="纳税缴费", audience="both", order=3)

    for_persons = {item["code"] for item in client.get("/api/v1/themes?audience=person").json()["items"]}
    everything = client.get("/api/v1/themes").json()

    assert {"api-birth", "api-tax"} <= for_persons and "api-licences" not in for_persons
    birth = next(item for item in everything["items"] if item["code"] == "api-birth")
    assert birth == {
        "code": "api-birth",
        "name": "出生",
        "name_en": "Birth",
        "audience": {"code": "person", "label": "个人"},
        "description": "",
    }
    assert everything["total"] == len(everything["items"])


# --- the docs page -----------------------------------------------------------------------------


def test_docs_page_loads_swagger_from_local_static_files_only(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    references = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert references and all(reference.startswith("/static/") for reference in references)
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert '"validatorUrl": null' in html
    for reference in references:
        assert client.get(reference).status_code == 200, reference


def test_chinese_text_is_sent_as_utf8_not_escaped(client):
    make_implementation(entry=make_entry(name="社会保障卡申领"))

    response = client.get("/api/v1/implementations")

    assert response["Content-Type"].startswith("application/json")
    assert "社会保障卡申领" in response.content.decode("utf-8")
