"""The diff of a change against the version it replaces (catalog.change_diff)."""

import pytest

from govhall.catalog import services
from govhall.catalog.change_diff import change_diff
from tests.factories import (
    entry_payload_example,
    make_entry,
    make_implementation,
    province_administrator,
    province_reviewer,
    publish,
)

pytestmark = pytest.mark.django_db


def draft_change(implementation, payload, drafter=None):
    return services.catalogue_change_draft(
        actor=drafter or province_administrator(),
        action="change",
        target="implementation",
        implementation=implementation,
        payload=payload,
        reason="调整",
        submit=True,
    )


def test_changed_elements_show_old_and_new_values_as_people_read_them():
    implementation = make_implementation()
    payload = services.implementation_payload(implementation)
    payload.update(promised_time_limit_unit="calendar", statutory_time_limit_unit="calendar", online_depth="1234567")

    diff = change_diff(change=draft_change(implementation, payload))

    shown = {item.element: (item.label, item.old, item.new) for item in diff.elements}
    assert shown["promised_time_limit_unit"] == ("承诺时限单位", "工作日", "自然日")
    assert shown["online_depth"][2].endswith("电子证照结果")
    assert "promised_time_limit_days" not in shown


def test_materials_are_compared_by_row_so_an_insertion_does_not_mark_every_row_changed():
    implementation = make_implementation()
    payload = services.implementation_payload(implementation)
    payload["materials"].insert(0, {**payload["materials"][0], "name": "承诺书"})
    payload["materials"][3]["copies"] = 2  # 授权委托书, now fourth

    diff = change_diff(change=draft_change(implementation, payload))

    rows = [(row.status, row.number, row.title, [item.element for item in row.elements]) for row in diff.materials]
    assert rows == [("added", 1, "承诺书", rows[0][3]), ("changed", 4, "授权委托书", ["copies"])]


def test_a_renamed_material_shows_as_a_changed_row_and_a_dropped_one_as_removed():
    implementation = make_implementation()
    payload = services.implementation_payload(implementation)
    payload["materials"][0]["name"] = "食品经营许可申请表"
    del payload["materials"][2]

    diff = change_diff(change=draft_change(implementation, payload))

    statuses = [(row.status, row.title) for row in diff.materials]
    assert statuses == [("changed", "食品经营许可申请表"), ("removed", "授权委托书")]
    renamed = diff.materials[0].elements[0]
    assert (renamed.element, renamed.old, renamed.new) == ("name", "食品经营许可申请书", "食品经营许可申请表")


def test_an_approved_change_is_compared_with_the_version_it_replaced():
    implementation = make_implementation()
    payload = services.implementation_payload(implementation)
    payload["promised_time_limit_days"] = 1
    change = services.catalogue_change_approve(
        reviewer=province_reviewer(), change=draft_change(implementation, payload)
    )

    diff = change_diff(change=change)

    assert [(item.element, item.old, item.new) for item in diff.elements] == [("promised_time_limit_days", "3", "1")]


def test_suspension_shows_the_state_it_moves_to():
    implementation = make_implementation()
    change = services.catalogue_change_draft(
        actor=province_administrator(),
        action="suspend",
        target="implementation",
        implementation=implementation,
        reason="暂停",
    )

    diff = change_diff(change=change)

    assert [(item.element, item.old, item.new) for item in diff.elements] == [("state", "在用", "暂停办理")]


def test_split_lists_each_new_entry_and_the_source_being_cancelled():
    entry = make_entry()
    first = entry_payload_example(name="食品销售许可")
    second = entry_payload_example(name="餐饮服务许可")
    change = publish(action="split", target="entry", entry=entry, payload={"entries": [first, second]})

    diff = change_diff(change=change)

    assert [(item.element, item.new) for item in diff.elements] == [("state", "已取消")]
    assert [proposal.title for proposal in diff.new_entries] == ["食品销售许可", "餐饮服务许可"]
    assert ("事项名称", "食品销售许可") in [(item.label, item.new) for item in diff.new_entries[0].elements]
