import html
import re
import threading
import time

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from govhall.catalog import services
from govhall.catalog.models import ChangeAction, ChangeTarget, GuideBody, Implementation
from govhall.catalog.services import implementation_view_counts_flush
from govhall.portal import views as portal_views
from tests.factories import make_implementation, publish

pytestmark = pytest.mark.django_db


def guide_url(implementation):
    return reverse("portal:guide", args=[implementation.implementation_code])


def page_text(response) -> str:
    """The page's text without tags and with collapsed whitespace, to assert on what a reader sees."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(text))


def article(response) -> str:
    """The guide's body as the page shows it."""
    found = re.search(r"<article class=\"guide\".*?</article>", response.content.decode(), re.S)
    return found.group(0) if found else ""


def publish_change(implementation, reason="调整承诺时限", **changes):
    payload = services.implementation_payload(implementation)
    payload.update(changes)
    return publish(
        action=ChangeAction.CHANGE,
        target=ChangeTarget.IMPLEMENTATION,
        implementation=implementation,
        payload=payload,
        reason=reason,
    )


def test_guide_shows_every_element_of_the_published_implementation(client, full_implementation):
    implementation = full_implementation

    response = client.get(guide_url(implementation))

    assert response.status_code == 200
    text = page_text(response)
    expected = [
        "食品经营许可",
        implementation.entry.basic_code,
        implementation.implementation_code,
        "事项类型 行政许可",
        f"实施部门 {implementation.department.name}",
        "实施区划 杭州市西湖区",
        "受委托机构 西湖区市场监管所",
        "权力来源 上级委托",
        "《中华人民共和国食品安全法》第三十五条",
        "受理条件 申请人应当具有与经营的食品品种、数量相适应的经营场所。",
        # materials table
        "食品经营许可申请书 必要 原件 2 申请人自备 用黑色墨水笔填写",
        "营业执照 必要 复印件 1 政府部门核发 可用电子证照替代",
        "授权委托书 容缺或情形必要 情形：委托代理人办理的 原件 1 中介机构出具",
        # process
        "申请 ：网上提交申请",
        "审查 ：审查材料 （2 个工作日）",
        # time limits, case type, special procedures, site visits
        "法定办结时限 20 工作日",
        "承诺办结时限 5 自然日",
        "办件类型 承诺件",
        "特别程序 现场核查（不计入办理时限，一般 5 个工作日）",
        "到办事现场次数 1 次",
        # fees
        "收费标准 每件 10 元",
        "收费依据 浙价费〔2020〕1 号",
        # where and when
        "政务服务中心 西湖区政务服务中心",
        "中心地址 杭州市西湖区文三路 100 号",
        "中心办公时间 周一至周五 8:30-12:00，13:30-17:00",
        "办理窗口 A08 市场监管综合窗口",
        "办理地点 西湖区政务服务中心二楼 A 区",
        "办理时间 工作日 9:00-17:00",
        # contacts
        "咨询电话 0571-87654321",
        "监督投诉电话 0571-12315",
        # online
        "网上办理深度 网上咨询、网上收件、网上预审、网上受理、网上办理",
        "办理便利 最多跑一次",
        "网上支付 支持",
        "物流快递 支持",
        "预约办理 不支持",
        "通办范围 全省通办",
        "办理结果 证照：食品经营许可证",
        "版本 第 1 版",
        "所属主题 开办企业",
    ]
    missing = [element for element in expected if element not in text]
    assert missing == []
    published = implementation.published_at.astimezone().strftime("%Y-%m-%d")
    assert f"发布时间 {published}" in text
    content = response.content.decode()
    assert 'href="/media/catalog/forms/application.pdf"' in content
    assert 'href="/media/catalog/examples/application-example.pdf"' in content


def test_guide_of_a_free_fully_online_item_says_no_fee_and_shows_the_badges(client):
    implementation = make_implementation(charges_fee=False, site_visits=0, online_depth="123456")

    text = page_text(client.get(guide_url(implementation)))

    assert "收费 不收费" in text
    assert "全程网办 零跑动 最多跑一次" in text
    assert "办理便利 全程网办、零跑动、最多跑一次" in text


def test_guide_view_is_counted(client):
    implementation = make_implementation()

    client.get(guide_url(implementation))
    client.get(guide_url(implementation))

    implementation.refresh_from_db()
    assert implementation.view_count == 2


def test_guide_views_are_written_together_once_the_flush_interval_has_passed(client):
    implementation = make_implementation()

    with override_settings(GOVHALL_VIEW_COUNT_FLUSH_SECONDS=3600):
        client.get(guide_url(implementation))
        client.get(guide_url(implementation))
        assert Implementation.objects.get(pk=implementation.pk).view_count == 0  # no write per view
        assert implementation_view_counts_flush() == 2

    assert Implementation.objects.get(pk=implementation.pk).view_count == 2
    assert implementation_view_counts_flush() == 0


def test_views_of_several_guides_are_written_in_one_flush_each_to_its_own_row(client):
    first, second, unread = make_implementation(), make_implementation(), make_implementation()

    with override_settings(GOVHALL_VIEW_COUNT_FLUSH_SECONDS=3600):
        for implementation in (first, second, first, first, second):
            client.get(guide_url(implementation))
        assert implementation_view_counts_flush() == 5

    counts = dict(
        Implementation.objects.filter(pk__in=[first.pk, second.pk, unread.pk]).values_list("pk", "view_count")
    )
    assert counts == {first.pk: 3, second.pk: 2, unread.pk: 0}


def test_a_reader_whose_view_falls_due_does_not_wait_for_the_views_to_be_written(client, transactional_db, monkeypatch):
    implementation = make_implementation()
    writing, release = threading.Event(), threading.Event()
    add = services.implementation_views_add

    def slow_add(*, views):
        writing.set()
        assert release.wait(10)
        return add(views=views)

    monkeypatch.setattr(services, "implementation_views_add", slow_add)
    with override_settings(GOVHALL_VIEW_COUNT_FLUSH_SECONDS=3600):
        client.get(guide_url(implementation))
        monkeypatch.setattr(services._VIEWS, "since", time.monotonic() - 3601)  # the interval has passed
        response = client.get(guide_url(implementation))

        assert response.status_code == 200  # answered while the flush is still writing
        assert writing.wait(10)
        assert Implementation.objects.get(pk=implementation.pk).view_count == 0
        release.set()
        services._VIEWS.writer.join(10)

    assert Implementation.objects.get(pk=implementation.pk).view_count == 2


def test_views_a_flush_could_not_write_wait_for_the_next_one(client, monkeypatch):
    implementation = make_implementation()
    add = services.implementation_views_add

    def failing(*, views):
        raise OperationalError("the database went away")

    with override_settings(GOVHALL_VIEW_COUNT_FLUSH_SECONDS=3600):
        client.get(guide_url(implementation))
        monkeypatch.setattr(services, "implementation_views_add", failing)
        with pytest.raises(OperationalError):
            implementation_view_counts_flush()
        monkeypatch.setattr(services, "implementation_views_add", add)
        assert implementation_view_counts_flush() == 1

    assert Implementation.objects.get(pk=implementation.pk).view_count == 1


def test_suspended_item_guide_carries_a_notice(client):
    implementation = make_implementation()
    publish(action=ChangeAction.SUSPEND, target=ChangeTarget.IMPLEMENTATION, implementation=implementation)

    response = client.get(guide_url(implementation))

    assert response.status_code == 200
    assert "本事项暂停办理。" in page_text(response)


def test_guide_of_an_item_whose_entry_is_suspended_carries_a_notice(client):
    implementation = make_implementation()
    publish(action=ChangeAction.SUSPEND, target=ChangeTarget.ENTRY, entry=implementation.entry)

    assert "本事项暂停办理。" in page_text(client.get(guide_url(implementation)))


def test_a_guide_seen_before_a_suspension_or_a_new_version_shows_it_after(client):
    # The guide body is cached per version (portal.views.guide): what changes must show at once.
    implementation = make_implementation()
    assert "本事项暂停办理。" not in page_text(client.get(guide_url(implementation)))
    publish(action=ChangeAction.SUSPEND, target=ChangeTarget.ENTRY, entry=implementation.entry)
    assert "本事项暂停办理。" in page_text(client.get(guide_url(implementation)))

    other = make_implementation()
    assert "短一些的承诺时限说明" not in page_text(client.get(guide_url(other)))
    publish_change(other, address="杭州市西湖区短一些的承诺时限说明路 1 号")
    assert "短一些的承诺时限说明" in page_text(client.get(guide_url(other)))
    assert "短一些的承诺时限说明" in page_text(client.get(guide_url(other), HTTP_ACCEPT_LANGUAGE="en"))


def test_a_guide_body_is_rendered_once_and_read_from_the_database_after_the_cache_is_emptied(client):
    implementation = make_implementation()
    first = client.get(guide_url(implementation))
    cache.clear()

    with CaptureQueriesContext(connection) as queries:
        again = client.get(guide_url(implementation))

    assert article(again) == article(first) != ""
    assert not [query for query in queries if "catalog_implementationversion" in query["sql"]]
    kept = GuideBody.objects.get(implementation=implementation)
    assert kept.language == "zh-hans" and kept.name == implementation.entry.name
    assert "section-materials" in kept.html and "<html" not in kept.html


def test_each_language_keeps_its_body_and_a_new_version_or_layout_replaces_the_old(client, monkeypatch):
    implementation = make_implementation()
    client.get(guide_url(implementation))
    english = client.get(guide_url(implementation), HTTP_ACCEPT_LANGUAGE="en")
    assert "Acceptance conditions" in page_text(english)
    assert sorted(GuideBody.objects.filter(implementation=implementation).values_list("language", flat=True)) == [
        "en",
        "zh-hans",
    ]

    publish_change(implementation, address="杭州市西湖区新地址路 9 号")
    cache.clear()
    assert "新地址路 9 号" in page_text(client.get(guide_url(implementation)))
    bodies = GuideBody.objects.filter(implementation=implementation)
    assert [(body.language, "新地址路 9 号" in body.html) for body in bodies.order_by("language")] == [
        ("en", False),  # still the first version's: replaced when the English guide is next read
        ("zh-hans", True),
    ]

    # A deployment that changes the template (or its tags, or the translations) renders anew.
    body = bodies.get(language="zh-hans")
    GuideBody.objects.filter(pk=body.pk).update(html=body.html.replace("新地址路 9 号", "旧的渲染结果"))
    cache.clear()
    assert "旧的渲染结果" in page_text(client.get(guide_url(implementation)))
    monkeypatch.setattr(portal_views, "_guide_body_layout", lambda: "another-layout")
    cache.clear()
    assert "旧的渲染结果" not in page_text(client.get(guide_url(implementation)))
    assert bodies.filter(language="zh-hans").count() == 1


def test_active_item_guide_has_no_suspension_notice(client):
    implementation = make_implementation()

    assert "暂停办理" not in page_text(client.get(guide_url(implementation)))


@pytest.mark.parametrize("suffix", ["", "print/", "versions/", "versions/1/"])
def test_cancelled_item_pages_are_not_found(client, suffix):
    implementation = make_implementation()
    publish(action=ChangeAction.CANCEL, target=ChangeTarget.IMPLEMENTATION, implementation=implementation)

    response = client.get(f"{guide_url(implementation)}{suffix}")

    assert response.status_code == 404


def test_guide_of_an_item_whose_entry_is_cancelled_is_not_found(client):
    implementation = make_implementation()
    publish(action=ChangeAction.CANCEL, target=ChangeTarget.ENTRY, entry=implementation.entry)

    assert client.get(guide_url(implementation)).status_code == 404


def test_unknown_code_is_not_found(client):
    assert client.get(reverse("portal:guide", args=["no-such-code"])).status_code == 404


def test_earlier_version_page_shows_the_old_content_with_a_notice(client):
    implementation = make_implementation(promised_time_limit_days=3)
    publish_change(implementation, promised_time_limit_days=2, reason="压缩承诺时限")

    earlier = client.get(reverse("portal:guide_version", args=[implementation.implementation_code, 1]))
    current = client.get(guide_url(implementation))

    earlier_text = page_text(earlier)
    assert "承诺办结时限 3 工作日" in earlier_text
    assert "这是较早的版本（第 1 版），不是现行的办事指南。" in earlier_text
    assert f'href="{guide_url(implementation)}"' in earlier.content.decode()
    current_text = page_text(current)
    assert "承诺办结时限 2 工作日" in current_text
    assert "版本 第 2 版" in current_text
    assert "较早的版本" not in current_text


def test_unknown_version_is_not_found(client):
    implementation = make_implementation()

    response = client.get(reverse("portal:guide_version", args=[implementation.implementation_code, 9]))

    assert response.status_code == 404


def test_version_history_lists_number_date_action_and_reason(client):
    implementation = make_implementation()
    publish_change(implementation, promised_time_limit_days=2, reason="压缩承诺时限")
    implementation.refresh_from_db()

    response = client.get(reverse("portal:guide_history", args=[implementation.implementation_code]))

    text = page_text(response)
    assert response.status_code == 200
    assert "第 2 版（现行）" in text
    assert "变更 压缩承诺时限" in text
    assert "第 1 版" in text
    assert "新增 测试" in text
    assert implementation.published_at.astimezone().strftime("%Y-%m-%d %H:%M") in text
    assert reverse("portal:guide_version", args=[implementation.implementation_code, 1]) in response.content.decode()


def test_print_page_has_the_guide_and_print_stylesheet_without_navigation(client, full_implementation):
    response = client.get(reverse("portal:guide_print", args=[full_implementation.implementation_code]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "govhall/print.css" in content
    assert "申请材料" in content and "食品经营许可申请书" in content
    assert "<nav" not in content
    assert 'class="site-header"' not in content


def test_print_page_does_not_count_as_a_view(client):
    implementation = make_implementation()

    client.get(reverse("portal:guide_print", args=[implementation.implementation_code]))

    assert Implementation.objects.get(pk=implementation.pk).view_count == 0


def test_guide_links_print_and_history(client):
    implementation = make_implementation()

    content = client.get(guide_url(implementation)).content.decode()

    assert reverse("portal:guide_print", args=[implementation.implementation_code]) in content
    assert reverse("portal:guide_history", args=[implementation.implementation_code]) in content


def _holding_views_of(implementation, holding: threading.Event, release: threading.Event, failures: list) -> None:
    """Another worker's flush: its views of ``implementation`` written, its transaction open
    until ``release``."""
    try:
        with transaction.atomic():
            assert services.implementation_views_add(views=[(implementation.pk, 1)]) == []
            holding.set()
            assert release.wait(10)
    except BaseException as failure:  # noqa: BLE001 - reported to the test thread
        failures.append(failure)
    finally:
        connection.close()


def test_a_flush_holding_a_guides_row_keeps_no_filing_of_its_item_waiting(transactional_db):
    """A filing checks its foreign key to the implementation at its commit (``FOR KEY SHARE``);
    the flush locks the rows as its UPDATE of a column no key includes does, which that check
    does not wait for (``FOR UPDATE`` did)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's row locks")
    implementation = make_implementation()
    holding, release, failures = threading.Event(), threading.Event(), []
    flush = threading.Thread(target=_holding_views_of, args=(implementation, holding, release, failures))
    flush.start()
    try:
        assert holding.wait(10)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            cursor.execute("SELECT 1 FROM catalog_implementation WHERE id = %s FOR KEY SHARE", [implementation.pk])
            assert cursor.fetchone() == (1,)
    finally:
        release.set()
        flush.join(10)
    assert failures == []


def test_a_flush_skips_the_rows_another_flush_holds_and_keeps_their_views_for_the_next(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's row locks")
    held, free = make_implementation(), make_implementation()
    holding, release, failures = threading.Event(), threading.Event(), []
    other = threading.Thread(target=_holding_views_of, args=(held, holding, release, failures))
    other.start()
    try:
        assert holding.wait(10)
        with override_settings(GOVHALL_VIEW_COUNT_FLUSH_SECONDS=3600):
            for pk, count in ((held.pk, 2), (free.pk, 3)):
                for _ in range(count):
                    services.implementation_view_count(implementation_id=pk)
            started = time.monotonic()
            assert implementation_view_counts_flush() == 3  # the free guide's, at once
            assert time.monotonic() - started < 2
            assert services._VIEWS.pending == {held.pk: 2}
    finally:
        release.set()
        other.join(10)
    assert failures == []
    assert implementation_view_counts_flush() == 2
    counts = dict(Implementation.objects.filter(pk__in=[held.pk, free.pk]).values_list("pk", "view_count"))
    assert counts == {held.pk: 1 + 2, free.pk: 3}
