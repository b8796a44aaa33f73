import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from govhall.catalog.models import ChangeAction, ChangeTarget
from govhall.catalog.services import theme_upsert
from tests.factories import HANGZHOU, NINGBO, XIHU, make_department, make_entry, make_implementation, publish
from tests.portal.test_guide import page_text

pytestmark = pytest.mark.django_db

SEARCH = reverse("portal:search")


def guide_link(implementation) -> str:
    return f'href="{reverse("portal:guide", args=[implementation.implementation_code])}"'


def test_search_finds_the_named_item_with_the_match_highlighted(client):
    wanted = make_implementation(entry=make_entry(name="建筑工程施工许可"))
    other = make_implementation(entry=make_entry(name="出生医学证明"))

    response = client.get(SEARCH, {"q": "建筑工程"})

    content = response.content.decode()
    assert response.status_code == 200
    assert guide_link(wanted) in content
    assert guide_link(other) not in content
    assert "<mark>" in content
    assert "找到 1 项服务" in page_text(response)


def test_search_form_keeps_what_was_entered(client):
    make_implementation(entry=make_entry(name="建筑工程施工许可"))

    content = client.get(SEARCH, {"q": "施工许可", "region": HANGZHOU, "badge": "zero_visit"}).content.decode()

    assert 'value="施工许可"' in content
    assert f'<option value="{HANGZHOU}" selected>' in content
    assert '<option value="zero_visit" selected>' in content


def test_region_filter_offers_province_cities_and_counties(client):
    content = client.get(SEARCH).content.decode()

    for code in ("330000", HANGZHOU, XIHU, NINGBO):
        assert f'<option value="{code}">' in content
    assert '<option value="330106002">' not in content  # towns are not offered


def test_region_filter_keeps_items_of_that_region_and_above(client):
    xihu = make_implementation(entry=make_entry(name="建筑工程施工许可"), region_code=XIHU)
    ningbo = make_implementation(entry=make_entry(name="建筑工程施工许可"), region_code=NINGBO)

    content = client.get(SEARCH, {"q": "施工许可", "region": XIHU}).content.decode()

    assert guide_link(xihu) in content
    assert guide_link(ningbo) not in content


def test_audience_and_badge_filters_narrow_the_results(client):
    person = make_implementation(
        entry=make_entry(name="施工许可个人", for_persons=True, for_companies=False), site_visits=1
    )
    company = make_implementation(
        entry=make_entry(name="施工许可企业", for_persons=False, for_companies=True), site_visits=0
    )

    by_audience = client.get(SEARCH, {"q": "施工许可", "audience": "company"}).content.decode()
    by_badge = client.get(SEARCH, {"q": "施工许可", "badge": "zero_visit"}).content.decode()

    assert guide_link(company) in by_audience and guide_link(person) not in by_audience
    assert guide_link(company) in by_badge and guide_link(person) not in by_badge


def test_unknown_filter_values_are_ignored(client):
    wanted = make_implementation(entry=make_entry(name="建筑工程施工许可"))

    response = client.get(SEARCH, {"q": "施工许可", "region": "<script>", "badge": "gold", "page": "x"})

    assert response.status_code == 200
    assert guide_link(wanted) in response.content.decode()


def test_no_result_page_says_so_and_suggests_themes_and_the_hotline(client):
    theme_upsert(code="business", name="开办企业", audience="company")
    make_implementation(entry=make_entry(name="建筑工程施工许可", themes=["business"]))

    response = client.get(SEARCH, {"q": "月球护照"})

    text = page_text(response)
    assert response.status_code == 200
    assert "没有找到与“月球护照”相关的服务" in text
    assert f'href="{reverse("portal:theme", args=["business"])}"' in response.content.decode()
    assert "12345" in text


def test_results_are_paginated_and_the_next_page_keeps_the_query(client):
    for _ in range(21):
        make_implementation(entry=make_entry(name="建筑工程施工许可"))

    first = client.get(SEARCH, {"q": "施工许可"})
    second = client.get(SEARCH, {"q": "施工许可", "page": "2"})

    assert "找到 21 项服务" in page_text(first)
    assert first.content.decode().count('class="service-item"') == 20
    assert "q=%E6%96%BD%E5%B7%A5%E8%AE%B8%E5%8F%AF&amp;page=2" in first.content.decode()
    assert second.content.decode().count('class="service-item"') == 1


def test_filters_without_words_list_every_item_that_meets_them(client):
    company = make_implementation(entry=make_entry(name="企业事项", for_persons=False, for_companies=True))
    person = make_implementation(entry=make_entry(name="个人事项", for_persons=True, for_companies=False))

    response = client.get(SEARCH, {"q": "", "audience": "company"})

    content = response.content.decode()
    assert "共 1 项服务" in page_text(response)
    assert guide_link(company) in content
    assert guide_link(person) not in content


def test_empty_search_page_shows_the_form_without_results(client):
    response = client.get(SEARCH)

    assert response.status_code == 200
    assert 'role="search"' in response.content.decode()
    assert "找到" not in page_text(response)


def test_search_runs_the_same_number_of_queries_for_3_and_12_matches(client):
    def count_queries():
        client.get(SEARCH, {"q": "施工许可"})
        with CaptureQueriesContext(connection) as queries:
            client.get(SEARCH, {"q": "施工许可", "region": XIHU})
        return len(queries)

    for _ in range(3):
        make_implementation(entry=make_entry(name="建筑工程施工许可"))
    with_three = count_queries()
    for index in range(9):
        make_implementation(entry=make_entry(name="建筑工程施工许可"), region_code=(XIHU, HANGZHOU)[index % 2])

    assert count_queries() == with_three


def test_filter_fields_follow_the_chosen_values_and_a_new_publication(client):
    """The filter fields are kept rendered per chosen values; a publication shows at once."""
    market = make_implementation(region_code=XIHU, kind="market")
    ningbo = make_implementation(region_code=NINGBO, kind="market")

    xihu_page = client.get(SEARCH, {"region": XIHU}).content.decode()
    ningbo_page = client.get(SEARCH, {"region": NINGBO}).content.decode()
    health = make_implementation(region_code=XIHU, kind="health")
    xihu_again = client.get(SEARCH, {"region": XIHU}).content.decode()

    assert f'<option value="{XIHU}" selected>' in xihu_page
    assert f'<option value="{market.department.code}">' in xihu_page
    assert f'<option value="{ningbo.department.code}">' not in xihu_page
    assert f'<option value="{NINGBO}" selected>' in ningbo_page
    assert f'<option value="{ningbo.department.code}">' in ningbo_page
    assert f'<option value="{market.department.code}">' not in ningbo_page
    assert f'<option value="{health.department.code}">' not in xihu_page
    assert f'<option value="{health.department.code}">' in xihu_again


def _listed_item(content: str, implementation) -> str:
    """The list item of one implementation in a page's list of services, without its badges."""
    items = [item for item in content.split('<li class="service-item">')[1:] if guide_link(implementation) in item]
    assert len(items) == 1, "the implementation is not listed once"
    return re.sub(r'<ul class="badges">.*?</ul>', "", items[0], flags=re.S).split("</li>")[0]


def test_listed_services_escape_their_texts_and_say_when_one_is_suspended(client):
    # Search hits and browsing lists share their items' markup (portal_tags._service_items).
    make_department(region_code=XIHU, kind="health", name="西湖区<卫生>&健康局")
    suspended = make_implementation(entry=make_entry(name="营业性演出许可"), kind="health")
    active = make_implementation(entry=make_entry(name="营业性演出变更"), kind="health")
    publish(action=ChangeAction.SUSPEND, target=ChangeTarget.IMPLEMENTATION, implementation=suspended)
    pages = {
        "search": lambda **headers: client.get(SEARCH, {"q": "营业性演出"}, **headers),
        "region": lambda **headers: client.get(reverse("portal:region", args=[XIHU]), **headers),
    }

    for name, read in pages.items():
        content = read().content.decode()
        item = _listed_item(content, suspended)
        assert "西湖区&lt;卫生&gt;&amp;健康局" in item, name
        assert "<卫生>" not in content, name
        assert '<p class="status status-suspended">暂停办理</p>' in item, name
        assert "status-suspended" not in _listed_item(content, active), name
        english = _listed_item(read(HTTP_ACCEPT_LANGUAGE="en").content.decode(), suspended)
        assert '<p class="status status-suspended">Suspended</p>' in english, name
    highlighted = _listed_item(pages["search"]().content.decode(), active)
    assert "<mark>" in highlighted
