"""The English interface: pages read in English when asked, and the translation catalogue is complete.

Catalogue content (item names, regions, legal basis) stays in Chinese; only interface labels are
translated, so the page checks look at labels: headings, table headings, term/description labels,
form labels, buttons and badges.
"""

import ast
import gettext
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOCALE_DIRECTORY = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
CHINESE = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]")
# Elements whose text is an interface label on the portal and the workbench, never catalogue content.
LABEL_TAGS = {"dt", "h2", "h3", "label", "legend", "button", "caption", "summary"}


class _LabelCollector(HTMLParser):
    """Collects the text of label elements, column headings (th scope=col) and badges."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[str] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        is_column_heading = tag == "th" and attributes.get("scope") == "col"
        is_badge = tag == "li" and "badge" in (attributes.get("class") or "").split()
        if tag in LABEL_TAGS or is_column_heading or is_badge:
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _tag, parts = self._open.pop()
            self.labels.append(re.sub(r"\s+", " ", "".join(parts)).strip())

    def handle_data(self, data: str) -> None:
        for _tag, parts in self._open:
            parts.append(data)


def labels_of(response) -> list[str]:
    collector = _LabelCollector()
    collector.feed(response.content.decode())
    return collector.labels


def page_text(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(text))


def assert_labels_in_english(response) -> list[str]:
    labels = labels_of(response)
    assert labels, "the page has no label elements to check"
    untranslated = [label for label in labels if CHINESE.search(label)]
    assert untranslated == []
    return labels


@pytest.fixture
def english(client):
    """A visitor who chose English with the language switch (the set_language view)."""
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


def test_home_page_is_in_english_when_the_browser_asks_for_english(client, full_implementation):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    content = response.content.decode()
    assert '<html lang="en">' in content
    labels = assert_labels_in_english(response)
    assert "Find by who it is for" in labels
    assert "Most used services" in labels
    assert "At most one visit" in labels
    text = page_text(response)
    for label in ("One-stop government services", "Search services", "Services by theme", "Elder mode", "Home"):
        assert label in text
    for chinese_label in ("一网通办", "搜索服务", "热门服务", "按主题找", "长辈版", "首页", "个人办事", "最多跑一次"):
        assert chinese_label not in text
    # Catalogue content keeps its own language.
    assert "食品经营许可" in text


def test_home_page_stays_in_chinese_for_a_chinese_browser(client, full_implementation):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")

    text = page_text(response)
    assert "热门服务" in text
    assert "Most used services" not in text


def test_search_page_labels_filters_and_result_count_are_in_english(english, full_implementation):
    response = english.get(reverse("portal:search"), {"q": "食品经营"})

    assert response.status_code == 200
    labels = assert_labels_in_english(response)
    assert "Found 1 service" in labels
    assert "Filters (optional)" in labels
    assert {"Area", "Department", "Who it is for", "How much can be done online", "Filter"} <= set(labels)
    content = response.content.decode()
    for option in (
        "Any",
        "All areas",
        "All departments (choose a region first to filter by department)",
        "For individuals",
        "For businesses",
        "Fully online",
    ):
        assert f">{option}</option>" in content
    for chinese_label in ("找到", "筛选条件", "不限", "全部地区", "全程网办", "零跑动", "网办程度"):
        assert chinese_label not in page_text(response)


def test_guide_page_headings_time_limits_and_badges_are_in_english(english, full_implementation):
    response = english.get(reverse("portal:guide", args=[full_implementation.implementation_code]))

    assert response.status_code == 200
    labels = assert_labels_in_english(response)
    # The materials table headings, in order.
    assert labels[labels.index("No.") : labels.index("No.") + 7] == [
        "No.",
        "Material",
        "Required?",
        "Form",
        "Copies",
        "Source",
        "Notes",
    ]
    assert {"Materials", "Process", "Time limits", "Statutory time limit", "Promised time limit"} <= set(labels)
    assert "At most one visit" in labels
    text = page_text(response)
    assert "Statutory time limit 20 working days" in text
    assert "Promised time limit 5 calendar days" in text
    assert "Case type Committed case" in text
    assert "Visits in person 1 visit" in text
    assert "审查 : 审查材料 (2 working days)" in text
    assert "Required Original 2 Provided by the applicant" in text
    assert "Conditional or may follow later When: 委托代理人办理的" in text
    assert "Online enquiries, Online submission of materials, Online pre-review" in text
    assert "Result Licence or certificate: 食品经营许可证" in text
    for chinese_label in (
        "申请材料",
        "材料名称",
        "法定办结时限",
        "承诺办结时限",
        "（2 个工作日）",
        "自然日",
        "最多跑一次",
        "承诺件",
    ):
        assert chinese_label not in text
    # The item's own content is not translated.
    assert "食品经营许可申请书" in text
    assert "《中华人民共和国食品安全法》第三十五条" in text


def test_the_login_page_is_in_english(english):
    response = english.get(reverse("accounts:login"))

    assert response.status_code == 200
    assert_labels_in_english(response)
    text = page_text(response)
    for label in ("Sign in", "Password"):
        assert label in text
    assert not CHINESE.search(text.replace("简体中文", ""))


# ---------------------------------------------------------------------------------------------
# The catalogue files


def _po_entries(path: Path) -> list[dict]:
    """The entries of a .po file (one per blank-line separated block): flags, msgctxt, msgid,
    msgid_plural and msgstr, the last as {"msgstr": ...} or {"msgstr[0]": ..., "msgstr[1]": ...}."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": set(), "msgstr": {}}
        field = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#") or not line.strip():
                continue
            elif line.startswith('"'):
                _append(entry, field, ast.literal_eval(line))
            else:
                field, _, value = line.partition(" ")
                _append(entry, field, ast.literal_eval(value))
        if "msgid" in entry:
            entries.append(entry)
    return entries


def _append(entry: dict, field: str, value: str) -> None:
    target = entry["msgstr"] if field.startswith("msgstr") else entry
    target[field] = target.get(field, "") + value


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def test_english_catalogue_translates_every_interface_string_and_keeps_placeholders():
    entries = _po_entries(LOCALE_DIRECTORY / "django.po")
    messages = [entry for entry in entries if entry["msgid"]]

    assert len(messages) > 600
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    assert fuzzy == []
    untranslated = [entry["msgid"] for entry in messages if not all(entry["msgstr"].values())]
    assert untranslated == []
    plural_without_both_forms = [
        entry["msgid"] for entry in messages if "msgid_plural" in entry and len(entry["msgstr"]) != 2
    ]
    assert plural_without_both_forms == []
    wrong_placeholders = [
        (entry["msgid"], translation)
        for entry in messages
        for translation in entry["msgstr"].values()
        if sorted(set(PLACEHOLDER.findall(entry["msgid"]))) != sorted(set(PLACEHOLDER.findall(translation)))
    ]
    assert wrong_placeholders == []


def test_compiled_catalogue_holds_exactly_what_the_po_file_says():
    """The .mo file is rebuilt whenever the .po file changes (run `make messages`)."""
    expected: dict = {}
    for entry in _po_entries(LOCALE_DIRECTORY / "django.po"):
        key = f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry else entry["msgid"]
        if "msgid_plural" in entry:
            for index in range(len(entry["msgstr"])):
                expected[(key, index)] = entry["msgstr"][f"msgstr[{index}]"]
        else:
            expected[key] = entry["msgstr"]["msgstr"]
    # msgfmt leaves the extraction date out of the compiled header.
    expected[""] = re.sub(r"POT-Creation-Date: [^\n]*\n", "", expected[""])

    with (LOCALE_DIRECTORY / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]

    assert set(catalog) == set(expected)
    stale = sorted(str(key) for key, value in expected.items() if catalog[key] != value)
    assert stale == []
