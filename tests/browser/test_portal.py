"""The portal as a person uses it: search, read a guide, elder mode, keyboard, and axe-core checks."""

import json
import re

import pytest
from django.urls import reverse

from govhall.catalog.services import theme_upsert
from tests.factories import make_entry, make_implementation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIOUS = {"serious", "critical"}
GUIDE_SECTIONS = [
    *("基本信息", "设定依据", "受理条件", "申请材料", "办理流程"),
    *("办理时限", "收费", "办理地点和时间", "咨询和监督", "网上办理"),
]


@pytest.fixture
def catalogue():
    """Two published items, so that a search has something to leave out."""
    theme_upsert(code="business", name="开办企业", audience="company")
    food = make_implementation(entry=make_entry(name="食品经营许可", themes=["business"]))
    make_implementation(entry=make_entry(name="建筑工程施工许可", kind="licensing"))
    return food


def axe_serious_violations(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = [v for v in results.response["violations"] if v["impact"] in SERIOUS]
    for violation in violations:  # shown by pytest when the assertion fails
        targets = [node["target"] for node in violation["nodes"]][:5]
        where = json.dumps(targets, ensure_ascii=False)
        print(f"[{violation['impact']}] {violation['id']}: {violation['help']} {where}")
    return [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations]


def search_from_home(page, query: str) -> None:
    page.goto("/")
    page.get_by_role("searchbox", name="搜索服务").fill(query)
    page.get_by_role("searchbox", name="搜索服务").press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))


def test_search_from_home_then_open_the_guide(page, catalogue):
    search_from_home(page, "食品经营许可")

    best = page.locator(".result-list .service-item").first
    assert best.locator(".service-name").inner_text() == "食品经营许可"
    assert "".join(best.locator(".service-name mark").all_inner_texts()) == "食品经营许可"
    best.get_by_role("link", name="食品经营许可").click()
    page.wait_for_url(f"**{reverse('portal:guide', args=[catalogue.implementation_code])}")

    assert page.get_by_role("heading", level=1).inner_text() == "食品经营许可"
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings == GUIDE_SECTIONS
    text = page.locator("main").inner_text()
    expected = [catalogue.implementation_code, catalogue.entry.basic_code, "食品经营许可申请书", "可用电子证照替代"]
    assert [element for element in expected if element not in text] == []


def test_live_server_serves_the_stylesheet(page, catalogue):
    response = page.request.get("/static/govhall/site.css")

    assert response.status == 200
    assert "body.elder" in response.text()


def _pages(page, implementation):
    return {
        "home": "/",
        "search": "/search/?q=" + "食品经营许可",
        "guide": reverse("portal:guide", args=[implementation.implementation_code]),
    }


@pytest.mark.parametrize("name", ["home", "search", "guide"])
def test_page_has_no_serious_accessibility_violations(page, catalogue, name):
    page.goto(_pages(page, catalogue)[name])

    assert axe_serious_violations(page) == []


ELDER_MEASURE = """
() => {
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
  };
  const controls = 'a, button, select, input:not([type=hidden])';
  const scope = ['main', 'nav', 'header'].map((part) => controls.split(', ').map((c) => `${part} ${c}`)).flat();
  const targets = [...document.querySelectorAll(scope.join(', '))].filter(visible).map((el) => {
    const box = el.getBoundingClientRect();
    const label = (el.innerText || el.value || el.name || '').trim().slice(0, 30);
    return {label, width: box.width, height: box.height};
  });
  const texts = [...document.querySelectorAll('main p, main li, main dd, main td, main label')]
    .filter(visible)
    .map((el) => {
      const style = getComputedStyle(el);
      const size = parseFloat(style.fontSize);
      const line = style.lineHeight === 'normal' ? size * 1.2 : parseFloat(style.lineHeight);
      return {text: el.innerText.trim().slice(0, 30), size, line};
    });
  return {bodySize: parseFloat(getComputedStyle(document.body).fontSize), targets, texts};
}
"""


def assert_elder_rules(page) -> None:
    measured = page.evaluate(ELDER_MEASURE)
    assert measured["bodySize"] >= 24
    small_text = [t for t in measured["texts"] if t["size"] < 24]
    assert small_text == []
    tight_lines = [t for t in measured["texts"] if t["line"] < 1.3 * t["size"]]
    assert tight_lines == []
    small_targets = [t for t in measured["targets"] if t["width"] < 60 or t["height"] < 60]
    assert small_targets == []
    assert len(measured["targets"]) > 10  # the check saw the page's links and buttons


def test_elder_mode_switch_stays_on_across_pages_and_meets_the_elder_rules(page, catalogue):
    page.goto("/")
    page.get_by_role("button", name="长辈版").click()
    page.wait_for_load_state()
    assert page.locator("body").get_attribute("class") == "elder"
    assert_elder_rules(page)
    assert axe_serious_violations(page) == []

    # Search in plain words, then open the guide: elder mode stays on all the way.
    page.get_by_role("searchbox", name="您想办什么事？").fill("食品经营许可")
    page.get_by_role("button", name="找服务").click()
    page.wait_for_url(re.compile(r"/search/\?q="))
    assert page.locator("body").get_attribute("class") == "elder"
    assert_elder_rules(page)
    assert axe_serious_violations(page) == []

    page.locator(".result-list .service-item").first.get_by_role("link", name="食品经营许可").click()
    page.wait_for_url(f"**{reverse('portal:guide', args=[catalogue.implementation_code])}")
    assert page.locator("body").get_attribute("class") == "elder"
    assert_elder_rules(page)
    assert axe_serious_violations(page) == []

    page.get_by_role("button", name="退出长辈版").click()
    page.wait_for_url(f"**{reverse('portal:guide', args=[catalogue.implementation_code])}")
    assert page.locator("body").get_attribute("class") == ""


def focused(page) -> dict:
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const style = getComputedStyle(el);
          return {id: el.id, text: (el.innerText || '').trim(), tag: el.tagName.toLowerCase(),
                  outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth)};
        }"""
    )


def test_keyboard_reaches_the_search_box_and_the_elder_switch_with_a_visible_focus_ring(page, catalogue):
    page.goto("/")

    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(focused(page))
        if reached[-1]["id"] == "home-q":
            break

    first = reached[0]
    assert first["text"] == "跳到主要内容"
    switch = next(item for item in reached if item["text"] == "长辈版")
    search_box = reached[-1]
    assert search_box["id"] == "home-q"
    for item in (switch, search_box):
        assert item["outline"] != "none" and item["outlineWidth"] >= 2


def test_skip_link_moves_focus_to_the_main_content(page, catalogue):
    page.goto("/")

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")

    assert page.evaluate("() => document.activeElement.closest('main') !== null")
