import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from govhall.catalog.models import ChangeAction, ChangeTarget
from govhall.catalog.services import theme_upsert
from tests.factories import HANGZHOU, NINGBO, PROVINCE, XIHU, make_department, make_entry, make_implementation, publish
from tests.portal.test_guide import page_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def theme():
    return theme_upsert(code="birth", name="出生", name_en="Birth", audience="person", description="生孩子要办的事")


def test_home_has_one_search_box_and_the_ways_to_browse(client, theme):
    make_implementation()

    response = client.get(reverse("portal:home"))

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('type="search"') == 1
    assert f'action="{reverse("portal:search")}"' in content
    for path in (
        reverse("portal:audience", args=["person"]),
        reverse("portal:audience", args=["company"]),
        reverse("portal:theme", args=["birth"]),
        reverse("portal:themes"),
        reverse("portal:region", args=[HANGZHOU]),
        reverse("portal:regions"),
        reverse("portal:departments"),
    ):
        assert f'href="{path}"' in content


def test_home_lists_the_most_used_items_first(client):
    seldom = make_implementation(region_code=XIHU)
    often = make_implementation(region_code=NINGBO)
    for _ in range(3):
        client.get(reverse("portal:guide", args=[often.implementation_code]))
    client.get(reverse("portal:guide", args=[seldom.implementation_code]))

    content = client.get(reverse("portal:home")).content.decode()

    often_at = content.index(reverse("portal:guide", args=[often.implementation_code]))
    seldom_at = content.index(reverse("portal:guide", args=[seldom.implementation_code]))
    assert often_at < seldom_at


def test_home_leaves_out_suspended_items_from_most_used(client):
    implementation = make_implementation()
    publish(action=ChangeAction.SUSPEND, target=ChangeTarget.IMPLEMENTATION, implementation=implementation)

    content = client.get(reverse("portal:home")).content.decode()

    assert reverse("portal:guide", args=[implementation.implementation_code]) not in content


def test_theme_page_lists_the_items_of_the_theme_only(client, theme):
    in_theme = make_implementation(entry=make_entry(name="出生医学证明", themes=["birth"]))
    other = make_implementation(entry=make_entry(name="建筑工程施工许可"))

    response = client.get(reverse("portal:theme", args=["birth"]))

    text = page_text(response)
    assert "出生医学证明" in text
    assert "建筑工程施工许可" not in text
    assert reverse("portal:guide", args=[in_theme.implementation_code]) in response.content.decode()
    assert reverse("portal:guide", args=[other.implementation_code]) not in response.content.decode()


def test_themes_page_groups_themes_by_audience(client, theme):
    theme_upsert(code="business", name="开办企业", audience="company")

    text = page_text(client.get(reverse("portal:themes")))

    assert "个人办事 出生 生孩子要办的事 法人办事 开办企业" in text


def test_unknown_theme_department_region_and_audience_are_not_found(client):
    for path in ("/themes/none/", "/departments/none/", "/regions/999999/", "/audiences/alien/"):
        assert client.get(path).status_code == 404, path


def test_departments_page_groups_departments_by_region(client):
    make_implementation(region_code=XIHU)
    make_implementation(region_code=PROVINCE, kind="health")

    text = page_text(client.get(reverse("portal:departments")))

    province = make_department(region_code=PROVINCE, kind="health")
    county = make_department(region_code=XIHU)
    assert f"浙江省 {province.name}" in text
    assert f"杭州市西湖区 {county.name}" in text
    assert text.index(province.name) < text.index(county.name)


def test_department_page_lists_its_items(client):
    implementation = make_implementation(entry=make_entry(name="出生医学证明"))
    make_implementation(entry=make_entry(name="建筑工程施工许可"), region_code=NINGBO)

    text = page_text(client.get(reverse("portal:department", args=[implementation.department.code])))

    assert "出生医学证明" in text
    assert "建筑工程施工许可" not in text


def test_region_page_lists_its_own_and_higher_items_and_links_child_regions(client):
    county = make_implementation(entry=make_entry(name="县级事项"), region_code=XIHU)
    province = make_implementation(entry=make_entry(name="省级事项"), region_code=PROVINCE)
    other = make_implementation(entry=make_entry(name="宁波事项"), region_code=NINGBO)

    response = client.get(reverse("portal:region", args=[HANGZHOU]))

    text = page_text(response)
    content = response.content.decode()
    assert "省级事项" in text
    assert "县级事项" not in text  # a county item is for the county's people, not the whole city
    assert "宁波事项" not in text
    assert f'href="{reverse("portal:region", args=[XIHU])}"' in content
    county_page = page_text(client.get(reverse("portal:region", args=[XIHU])))
    assert "县级事项" in county_page and "省级事项" in county_page
    assert county.implementation_code and province.implementation_code and other.implementation_code


def test_regions_page_links_province_cities_and_counties(client):
    content = client.get(reverse("portal:regions")).content.decode()

    for code in (PROVINCE, HANGZHOU, XIHU, NINGBO):
        assert f'href="{reverse("portal:region", args=[code])}"' in content


def test_audience_pages_list_items_for_persons_or_companies(client):
    make_implementation(entry=make_entry(name="个人事项", for_persons=True, for_companies=False))
    make_implementation(entry=make_entry(name="企业事项", for_persons=False, for_companies=True))

    person = page_text(client.get(reverse("portal:audience", args=["person"])))
    company = page_text(client.get(reverse("portal:audience", args=["company"])))

    assert "个人事项" in person and "企业事项" not in person
    assert "企业事项" in company and "个人事项" not in company


def test_list_pages_are_paginated_and_keep_other_parameters(client):
    for _ in range(21):
        make_implementation()

    first = client.get(reverse("portal:audience", args=["person"]))
    second = client.get(reverse("portal:audience", args=["person"]) + "?page=2")

    assert "共 21 项服务" in page_text(first)
    assert first.content.decode().count('class="service-item"') == 20
    assert 'href="?page=2"' in first.content.decode()
    assert second.content.decode().count('class="service-item"') == 1
    assert "第 2 页，共 2 页" in page_text(second)


def test_list_pages_show_every_item_once_in_order_without_reading_the_guides_texts(client, theme):
    names = [f"事项{index:02d}" for index in range(23)]
    for name in reversed(names):
        make_implementation(entry=make_entry(name=name, themes=["birth"]))

    with CaptureQueriesContext(connection) as queries:
        pages = [client.get(reverse("portal:theme", args=["birth"]) + f"?page={number}") for number in (1, 2)]
    shown = [
        name for page in pages for name in re.findall(r'class="service-name"[^>]*>([^<]+)<', page.content.decode())
    ]

    assert shown == names
    assert not [query["sql"] for query in queries.captured_queries if "acceptance_conditions" in query["sql"]]


def test_page_number_out_of_range_shows_the_last_page(client):
    make_implementation()

    response = client.get(reverse("portal:audience", args=["person"]) + "?page=99")

    assert response.status_code == 200
    assert response.content.decode().count('class="service-item"') == 1


# --- query counts do not grow with the number of items -------------------------------------------


def _list_paths():
    department = make_department(region_code=XIHU)
    return [
        reverse("portal:home"),
        reverse("portal:themes"),
        reverse("portal:theme", args=["birth"]),
        reverse("portal:departments"),
        reverse("portal:department", args=[department.code]),
        reverse("portal:regions"),
        reverse("portal:region", args=[XIHU]),
        reverse("portal:audience", args=["person"]),
        reverse("portal:audience", args=["company"]),
    ]


def _query_counts(client, paths):
    counts = {}
    for path in paths:
        client.get(path)  # warm-up: cookies and caches as on any later request
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, path
        counts[path] = len(queries)
    return counts


def _add_items(count, *, region_codes=(XIHU, HANGZHOU, PROVINCE)):
    for index in range(count):
        entry = make_entry(name=f"事项{index}", themes=["birth"])
        make_implementation(entry=entry, region_code=region_codes[index % len(region_codes)])


def test_list_pages_run_the_same_number_of_queries_for_3_and_12_items(client, theme):
    paths = _list_paths()
    _add_items(3)
    with_three = _query_counts(client, paths)

    _add_items(9)
    with_twelve = _query_counts(client, paths)

    assert with_twelve == with_three
