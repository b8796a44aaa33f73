"""Whole guide and search pages kept for visitors who are not signed in (portal/page_cache.py):
served without reading the database, each with its own CSRF token, never to a signed-in user
nor from a signed-in user's page, and never after the catalogue changed."""

import re
import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from govhall.catalog.models import ChangeAction, ChangeTarget
from govhall.catalog.services import implementation_view_counts_flush
from govhall.portal.page_cache import visitor_page_key
from govhall.portal.templatetags.frame_tags import CSRF_PLACEHOLDER, NEXT_PLACEHOLDER
from govhall.portal.views import SEARCH_PARAMETERS
from tests.factories import make_implementation, make_person, publish
from tests.portal.test_guide import guide_url, page_text, publish_change

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def tokens(response) -> set[str]:
    return set(TOKEN.findall(response.content.decode()))


def test_a_visitor_gets_a_kept_guide_without_a_query_and_with_a_token_of_their_own():
    implementation = make_implementation(name="食品经营许可")
    first, second = Client(), Client()
    first.get(guide_url(implementation))

    with CaptureQueriesContext(connection) as queries, override_settings(GOVHALL_VIEW_COUNT_FLUSH_SECONDS=3600):
        response = second.get(guide_url(implementation))  # the view is counted, written later
    assert implementation_view_counts_flush() == 1

    assert response.status_code == 200
    assert "食品经营许可" in page_text(response)
    assert [q["sql"] for q in queries.captured_queries] == []
    content = response.content.decode()
    assert CSRF_PLACEHOLDER not in content and NEXT_PLACEHOLDER not in content
    assert f'name="next" value="{guide_url(implementation)}"' in content
    assert len(tokens(response)) == 1
    assert tokens(response) != tokens(first.get(guide_url(implementation)))
    # The kept page's token works with the cookie its answer set: the elder mode switch accepts it.
    switch = Client(enforce_csrf_checks=True)
    token = tokens(switch.get(guide_url(implementation))).pop()
    answer = switch.post(
        reverse("portal:elder_mode"), {"elder": "1", "next": guide_url(implementation), "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302
    assert "elder" in switch.get(guide_url(implementation)).content.decode().split("<body", 1)[1][:40]


def test_a_publication_shows_at_once_to_visitors_who_had_the_page_kept():
    implementation = make_implementation()
    visitor = Client()
    assert "文三路 90 号" not in page_text(visitor.get(guide_url(implementation)))

    publish_change(implementation, address="杭州市西湖区文三路 90 号")

    assert "文三路 90 号" in page_text(visitor.get(guide_url(implementation)))


def test_a_signed_in_citizen_gets_their_own_header_and_never_a_visitors_page_nor_gives_theirs():
    implementation = make_implementation()
    person = make_person(name="王五", level=2)
    Client().get(guide_url(implementation))  # a visitor's page is kept
    citizen = Client()
    citizen.force_login(person.user)

    mine = page_text(citizen.get(guide_url(implementation)))
    visitor = page_text(Client().get(guide_url(implementation)))

    assert "我的办件" in mine and "退出" in mine
    assert "我的办件" not in visitor and "登录" in visitor


def header_of(response) -> str:
    content = response.content.decode()
    return content[content.index('<header class="site-header">') : content.index("</header>")]


def test_a_signed_in_header_is_kept_per_unread_count_and_filled_with_each_ones_token():
    """The signed-in header is kept per citizen flag and unread count (frame_tags): it follows
    the count as messages arrive (past the kept counts too), and each person's copy carries
    their own token and address, which their forms accept."""
    from govhall.notices.services import inbox_message_add

    implementation = make_implementation()
    first, second = make_person(name="王五", level=2), make_person(name="赵六", level=2)
    mine, theirs = Client(enforce_csrf_checks=True), Client()
    mine.force_login(first.user)
    theirs.force_login(second.user)

    assert "未读" not in header_of(mine.get(guide_url(implementation)))
    inbox_message_add(user=first.user, subject="受理通知", body="您的申请已受理。")
    header = header_of(mine.get(guide_url(implementation)))
    assert "消息（1 条未读）" in header
    assert "未读" not in header_of(theirs.get(guide_url(implementation)))
    for number in range(11):
        inbox_message_add(user=first.user, subject=f"通知 {number}", body="…")
    assert "消息（12 条未读）" in header_of(mine.get(reverse("cases_portal:list")))

    # The same kept header for both, each with their own token and the page's own address.
    inbox_message_add(user=second.user, subject="受理通知", body="您的申请已受理。")
    mine_again = mine.get(reverse("portal:search") + "?q=abc&page=2")
    theirs_again = theirs.get(reverse("portal:search") + "?q=abc&page=2")
    assert tokens(mine_again) and tokens(mine_again) != tokens(theirs_again)
    assert CSRF_PLACEHOLDER not in header_of(mine_again) and NEXT_PLACEHOLDER not in header_of(mine_again)
    assert 'name="next" value="/search/?q=abc&amp;page=2"' in header_of(mine_again)
    answer = mine.post(reverse("accounts:logout"), {"csrfmiddlewaretoken": tokens(mine_again).pop()})
    assert answer.status_code == 302
    assert "我的办件" not in header_of(mine.get(guide_url(implementation)))


def test_signed_in_headers_beyond_the_bound_are_rendered_each_time_and_not_kept(monkeypatch):
    from govhall.notices.services import inbox_message_add
    from govhall.portal.templatetags import frame_tags

    monkeypatch.setattr(frame_tags, "SIGNED_IN_HEADERS_KEPT", frame_tags._signed_in_kept)

    def signed_in_kept() -> set:
        return {key for key in frame_tags._frames if key[-1] == "signed in"}

    kept_before = signed_in_kept()
    person = make_person(name="王五", level=2)
    citizen = Client()
    citizen.force_login(person.user)
    for number in range(3):
        inbox_message_add(user=person.user, subject=f"通知 {number}", body="…")
        assert f"消息（{number + 1} 条未读）" in header_of(citizen.get(reverse("cases_portal:list")))
    assert signed_in_kept() == kept_before


def test_the_headers_are_kept_apart_for_every_page_the_navigation_marks_as_current():
    """frame_tags keys the kept header by the current page only where the header's navigation
    marks it (CURRENT_PAGES); a page the template marks but the set misses would share a header."""
    from django.template.loader import get_template

    from govhall.portal.templatetags.frame_tags import CURRENT_PAGES, HEADER_TEMPLATE

    source = get_template(HEADER_TEMPLATE).template.source
    assert set(re.findall(r'current == "([a-z_]+)"', source)) == CURRENT_PAGES


def test_a_visitor_with_messages_waiting_gets_the_page_rendered_with_them():
    implementation = make_implementation()
    Client().get(guide_url(implementation))
    visitor = Client()
    storage = CookieStorage(None)
    visitor.cookies[CookieStorage.cookie_name] = storage._encode([_message("已退出登录")])

    assert "已退出登录" in page_text(visitor.get(guide_url(implementation)))


def _message(text):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message

    return Message(constants.INFO, text)


def test_search_pages_are_kept_per_language_and_follow_a_publication():
    implementation = make_implementation(name="食品经营许可")
    visitor = Client()
    url = reverse("portal:search") + "?q=食品经营许可"
    assert implementation.implementation_code in visitor.get(url).content.decode()

    english = visitor.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english
    assert '<html lang="zh-hans">' in visitor.get(url).content.decode()

    publish(action=ChangeAction.CANCEL, target=ChangeTarget.IMPLEMENTATION, implementation=implementation)
    assert implementation.implementation_code not in visitor.get(url).content.decode()


def kept_page_state(address: str) -> dict:
    """What the cache holds for a visitor's page at ``address`` (for a failing test's message): whether
    it is kept, under which catalogue version, against the current one, and the clock."""
    from django.core.cache import cache

    from govhall.catalog.search import SEARCH_VERSION_KEY

    request = RequestFactory().get(address)
    request.user = AnonymousUser()
    name = "search" if address.startswith(reverse("portal:search")) else "guide"
    slot = visitor_page_key(request, name, parameters=SEARCH_PARAMETERS if name == "search" else frozenset())
    page = cache.get(slot.key) if slot is not None else None
    return {
        "slot": slot.key if slot is not None else None,
        "kept_version": page and page["version"],
        "version": cache.get(SEARCH_VERSION_KEY),
        "time": time.time(),
    }


def test_only_addresses_the_portal_makes_are_kept():
    implementation = make_implementation(name="食品经营许可")
    search = reverse("portal:search")
    kept = [f"{search}?q=食品经营许可", f"{search}?q=食品经营许可&page=2", guide_url(implementation)]
    not_kept = [
        f"{search}?q=食品经营许可&page=11",
        f"{search}?q=食品经营许可&utm=x",
        f"{search}?q=食品经营许可&q=许可",
        f"{search}?q={'许' * 101}",
        f"{guide_url(implementation)}?x=1",
    ]
    rendered_at = time.time()
    for address in kept + not_kept:
        Client().get(address)

    for address in kept:
        state = kept_page_state(address)
        with CaptureQueriesContext(connection) as queries, override_settings(GOVHALL_VIEW_COUNT_FLUSH_SECONDS=3600):
            Client().get(address)
        statements = [query["sql"][:120] for query in queries.captured_queries]
        assert not statements, (address, rendered_at, state, statements)
    for address in not_kept:
        assert Client().get(address).status_code == 200
        request = RequestFactory().get(address)
        request.user = AnonymousUser()
        parameters = SEARCH_PARAMETERS if address.startswith(search) else frozenset()
        assert visitor_page_key(request, "page", parameters=parameters) is None, address
    implementation_view_counts_flush()


def test_a_page_rendered_while_the_catalogue_changed_is_not_served_after_the_change():
    """A page is kept with the catalogue's version read before it was rendered, which the
    version and the page are read together with; a later version does not serve it."""
    from django.http import HttpResponse

    from govhall.catalog.search import catalogue_version, search_results_forget
    from govhall.portal.page_cache import visitor_page_get, visitor_page_keep

    def slot():
        request = RequestFactory().get("/services/x/")
        request.user = AnonymousUser()
        return request, visitor_page_key(request, "guide")

    request, rendering = slot()
    assert visitor_page_get(rendering) is None and rendering.version == catalogue_version()
    search_results_forget()  # a publication commits while the page renders from the data before it
    visitor_page_keep(request, rendering, HttpResponse("before the publication"), extra={})
    assert visitor_page_get(slot()[1]) is None

    request, current = slot()
    visitor_page_get(current)
    visitor_page_keep(request, current, HttpResponse("after the publication"), extra={})
    kept = visitor_page_get(slot()[1])
    assert kept is not None and kept.content == "after the publication"
