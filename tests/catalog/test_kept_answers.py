"""The public API's answers: the catalogue's kept in the shared cache, every one revalidated by
its ETag, through the HTTP test client."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govhall.catalog import services
from govhall.catalog.kept_answers import KEPT_MAX_PAGE
from govhall.catalog.models import ChangeAction, ChangeTarget
from govhall.org.models import Region
from tests.factories import HANGZHOU, XIHU, make_department, make_implementation, publish
from tests.portal.test_guide import publish_change

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/implementations"


def detail_url(implementation) -> str:
    return f"/api/v1/implementations/{implementation.implementation_code}"


def statements(client, url: str, **headers) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    return response, [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize(
    "address",
    [
        lambda implementation: detail_url(implementation),
        lambda implementation: f"{detail_url(implementation)}/versions",
        lambda implementation: f"{LIST_URL}?region={XIHU}&page_size=5",
        lambda implementation: f"{LIST_URL}?q=食品经营许可",
    ],
    ids=["guide", "versions", "list", "search"],
)
def test_a_second_caller_gets_the_same_bytes_without_a_query(client, address):
    implementation = make_implementation(name="食品经营许可", region_code=XIHU)
    url = address(implementation)
    first = client.get(url)
    assert first.status_code == 200
    assert implementation.implementation_code in first.content.decode()

    second, sql = statements(client, url)

    assert sql == []
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"] == "application/json; charset=utf-8"
    assert second["ETag"] == first["ETag"]
    assert second["Cache-Control"] == first["Cache-Control"] == "public, no-cache"
    # A shared cache that stores it keeps one per language, as the answers are kept here.
    assert "Accept-Language" in second["Vary"] and "Accept-Language" in first["Vary"]


def test_a_caller_holding_the_answer_gets_304_without_a_body_until_a_publication_changes_it(client):
    implementation = make_implementation()
    first = client.get(detail_url(implementation))
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 34

    again = client.get(detail_url(implementation), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    # A tag among others, or the same tag compared weakly, is the same validator (RFC 9110 §13.1.2).
    assert client.get(detail_url(implementation), HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert client.get(detail_url(implementation), HTTP_IF_NONE_MATCH='"other"').status_code == 200

    publish_change(implementation, address="杭州市西湖区文三路 90 号")

    changed = client.get(detail_url(implementation), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["address"] == "杭州市西湖区文三路 90 号"
    assert changed["ETag"] != etag
    assert client.get(detail_url(implementation), HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


def test_a_cancellation_takes_the_kept_answers_away_at_once(client):
    implementation = make_implementation(name="食品经营许可", region_code=XIHU)
    list_url = f"{LIST_URL}?region={XIHU}"
    assert implementation.implementation_code in client.get(list_url).content.decode()
    assert client.get(detail_url(implementation)).status_code == 200

    publish(
        action=ChangeAction.CANCEL, target=ChangeTarget.IMPLEMENTATION, implementation=implementation, reason="已取消"
    )

    assert implementation.implementation_code not in client.get(list_url).content.decode()
    gone = client.get(detail_url(implementation))
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"


def test_answers_are_kept_per_language(client):
    implementation = make_implementation()
    chinese = client.get(detail_url(implementation)).json()
    english = client.get(detail_url(implementation), HTTP_ACCEPT_LANGUAGE="en").json()

    assert (chinese["kind"]["label"], english["kind"]["label"]) == ("行政许可", "Administrative licensing")
    assert client.get(detail_url(implementation)).json()["kind"]["label"] == "行政许可"
    assert client.get(detail_url(implementation), HTTP_ACCEPT_LANGUAGE="en").json()["kind"] == english["kind"]


@pytest.mark.parametrize(
    "query",
    [
        f"region={XIHU}&page={KEPT_MAX_PAGE + 1}&page_size=1",  # deeper than the kept pages
        f"region={XIHU}&made_up=1",  # a parameter the endpoint does not know
        f"region={XIHU}&region={XIHU}",  # a parameter given twice
    ],
    ids=["deep-page", "unknown-parameter", "repeated-parameter"],
)
def test_addresses_the_api_does_not_make_are_answered_but_not_kept(client, query):
    for _ in range(KEPT_MAX_PAGE + 1):
        make_implementation(region_code=XIHU)
    first = client.get(f"{LIST_URL}?{query}")
    assert first.status_code == 200

    second, sql = statements(client, f"{LIST_URL}?{query}")

    assert sql != []
    assert second.status_code == 200
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]  # answered as usual, with its validator


def test_errors_are_not_kept_and_carry_no_validator(client):
    first = client.get(f"{LIST_URL}/330106000000-000000000000-00")
    second, sql = statements(client, f"{LIST_URL}/330106000000-000000000000-00")

    assert (first.status_code, second.status_code) == (404, 404)
    assert sql != []
    assert not second.has_header("ETag")
    invalid = client.get(f"{LIST_URL}?page=0")
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "validation_error"
    assert not invalid.has_header("ETag")


def test_an_answer_built_while_the_catalogue_changed_is_not_served_after_the_change(client, monkeypatch):
    from govhall.catalog import api
    from govhall.catalog.search import search_results_forget

    implementation = make_implementation()
    guide = api.implementation_guide

    def guide_read_as_a_publication_commits(**arguments):
        found = guide(**arguments)
        search_results_forget()  # what a publication's commit does in another process
        return found

    monkeypatch.setattr(api, "implementation_guide", guide_read_as_a_publication_commits)
    client.get(detail_url(implementation))
    monkeypatch.setattr(api, "implementation_guide", guide)

    _again, sql = statements(client, detail_url(implementation))
    assert sql != []  # built again: the kept one is of the version before the change
    _kept, sql = statements(client, detail_url(implementation))
    assert sql == []


@pytest.mark.parametrize(
    ("url", "change"),
    [
        ("/api/v1/themes", lambda: services.theme_upsert(code="api-etag", name="出生", audience="person", order=1)),
        (f"/api/v1/departments?region={XIHU}", lambda: make_department(region_code=XIHU, name="西湖区新设局")),
        (f"/api/v1/regions?parent={HANGZHOU}", lambda: Region.objects.filter(code=XIHU).update(name="西湖新区")),
        (f"/api/v1/regions/{XIHU}", lambda: Region.objects.filter(code=XIHU).update(name="西湖新区")),
    ],
    ids=["themes", "departments", "regions", "region"],
)
def test_the_other_public_answers_are_built_each_time_and_carry_their_etag(client, url, change):
    first = client.get(url)
    etag = first["ETag"]
    assert (first.status_code, first["Cache-Control"]) == (200, "public, no-cache")

    unchanged = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert (unchanged.status_code, unchanged.content, unchanged["ETag"]) == (304, b"", etag)

    change()  # their data does not move the catalogue's version: never kept, so never stale
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_a_page_beyond_the_kept_ones_counts_its_list_once_per_catalogue_version(client):
    for _ in range(KEPT_MAX_PAGE + 1):
        make_implementation(region_code=XIHU)
    url = f"{LIST_URL}?region={XIHU}&page={KEPT_MAX_PAGE + 1}&page_size=1"
    first = client.get(url).json()

    second, sql = statements(client, url)

    assert sql != []  # the page's rows are read every time
    assert not any("COUNT(" in statement.upper() for statement in sql)
    assert second.json() == first
    added = make_implementation(region_code=XIHU)  # published: the catalogue's version moves
    third = client.get(url).json()
    assert third["total"] == first["total"] + 1
    everything = client.get(f"{LIST_URL}?region={XIHU}&page_size=100").json()
    assert everything["total"] == third["total"]
    assert added.implementation_code in {item["implementation_code"] for item in everything["items"]}
