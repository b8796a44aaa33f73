"""The catalogue's rules and its versioned, reviewed changes, through the services."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from govhall.accounts.models import Role
from govhall.audit.models import AuditRecord
from govhall.catalog import selectors, services
from govhall.catalog.models import (
    CatalogueChange,
    CatalogueEntry,
    ChangeAction,
    ChangeState,
    ChangeTarget,
    Implementation,
    ItemState,
)
from tests.factories import (
    HANGZHOU,
    NINGBO,
    XIHU,
    YUHANG,
    entry_payload_example,
    implementation_payload_example,
    make_department,
    make_entry,
    make_implementation,
    make_staff,
    province_administrator,
    province_reviewer,
    publish,
)

pytestmark = pytest.mark.django_db


def draft_implementation_change(implementation, drafter=None, **changes):
    payload = services.implementation_payload(implementation)
    payload.update(changes)
    return services.catalogue_change_draft(
        actor=drafter or province_administrator(),
        action=ChangeAction.CHANGE,
        target=ChangeTarget.IMPLEMENTATION,
        implementation=implementation,
        payload=payload,
        reason="调整承诺时限",
        submit=True,
    )


def violation_messages(error: ValidationError, element: str) -> str:
    return " ".join(error.message_dict[element])


# --- 三级四同 and the time-limit rules --------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "value", "label"),
    [
        ("name", "食品经营许可（本地版）", "事项名称"),
        ("kind", "public_service", "事项类型"),
        ("legal_basis", "《浙江省食品小作坊管理条例》", "设定依据"),
    ],
)
def test_implementation_differing_from_its_entry_in_a_uniform_element_is_refused_naming_it(element, value, label):
    entry = make_entry()
    department = make_department(region_code=XIHU)
    payload = implementation_payload_example(entry=entry, department=department, **{element: value})

    with pytest.raises(ValidationError) as refused:
        services.catalogue_change_draft(
            actor=province_administrator(), action="add", target="implementation", payload=payload, reason="新增"
        )

    assert label in violation_messages(refused.value, element)
    assert "三级四同" in violation_messages(refused.value, element)
    assert not CatalogueChange.objects.filter(target="implementation").exists()


def test_promised_time_limit_longer_than_statutory_is_refused_on_the_promised_element():
    entry = make_entry()
    payload = implementation_payload_example(
        entry=entry,
        department=make_department(region_code=XIHU),
        statutory_time_limit_days=10,
        promised_time_limit_days=11,
    )

    with pytest.raises(ValidationError) as refused:
        services.catalogue_change_draft(
            actor=province_administrator(), action="add", target="implementation", payload=payload, reason="新增"
        )

    assert violation_messages(refused.value, "promised_time_limit_days") == (
        "承诺办结时限（11日）不得超过法定办结时限（10日）。"
    )


def test_promised_limit_in_working_days_against_statutory_calendar_days_is_refused():
    entry = make_entry()
    payload = implementation_payload_example(
        entry=entry,
        department=make_department(region_code=XIHU),
        statutory_time_limit_days=30,
        statutory_time_limit_unit="calendar",
        promised_time_limit_days=5,
        promised_time_limit_unit="working",
    )

    with pytest.raises(ValidationError) as refused:
        services.catalogue_change_draft(
            actor=province_administrator(), action="add", target="implementation", payload=payload, reason="新增"
        )

    assert "自然日" in violation_messages(refused.value, "promised_time_limit_unit")


def test_promised_calendar_days_within_statutory_working_days_are_accepted():
    implementation = make_implementation(promised_time_limit_days=5, promised_time_limit_unit="calendar")

    assert implementation.promised_time_limit_unit == "calendar"


def test_immediate_case_promising_more_than_one_day_is_refused():
    entry = make_entry()
    payload = implementation_payload_example(
        entry=entry, department=make_department(region_code=XIHU), case_type="immediate", promised_time_limit_days=3
    )

    with pytest.raises(ValidationError) as refused:
        services.catalogue_change_draft(
            actor=province_administrator(), action="add", target="implementation", payload=payload, reason="新增"
        )

    assert "即办件" in violation_messages(refused.value, "case_type")


def test_fee_without_basis_is_refused_and_every_violation_is_reported_at_once():
    entry = make_entry()
    payload = implementation_payload_example(
        entry=entry,
        department=make_department(region_code=XIHU),
        charges_fee=True,
        fee_standard="20元",
        fee_basis="",
        promised_time_limit_days=99,
        online_depth="4321",
    )

    with pytest.raises(ValidationError) as refused:
        services.catalogue_change_draft(
            actor=province_administrator(), action="add", target="implementation", payload=payload, reason="新增"
        )

    assert set(refused.value.message_dict) == {"fee_basis", "promised_time_limit_days", "online_depth"}


def test_department_of_another_region_is_refused():
    entry = make_entry()
    ningbo_department = make_department(region_code=NINGBO)
    payload = implementation_payload_example(entry=entry, department=ningbo_department, region_code=XIHU)

    with pytest.raises(ValidationError) as refused:
        services.catalogue_change_draft(
            actor=province_administrator(), action="add", target="implementation", payload=payload, reason="新增"
        )

    assert "department_code" in refused.value.message_dict


def test_conditional_material_without_its_condition_is_refused():
    entry = make_entry()
    payload = implementation_payload_example(entry=entry, department=make_department(region_code=XIHU))
    payload["materials"][2]["condition"] = ""

    with pytest.raises(ValidationError) as refused:
        services.catalogue_change_draft(
            actor=province_administrator(), action="add", target="implementation", payload=payload, reason="新增"
        )

    assert "第3项材料" in violation_messages(refused.value, "materials")


# --- Versions and review ----------------------------------------------------------------------


def test_approved_change_publishes_a_new_version_and_keeps_the_earlier_one_readable():
    implementation = make_implementation(promised_time_limit_days=5)
    change = draft_implementation_change(implementation, promised_time_limit_days=2)

    services.catalogue_change_approve(reviewer=province_reviewer(), change=change)

    implementation.refresh_from_db()
    assert implementation.version == 2
    assert implementation.promised_time_limit_days == 2
    current = selectors.implementation_guide(implementation=implementation)
    earlier = selectors.implementation_guide(implementation=implementation, version=1)
    assert (current.promised_time_limit_days, current.is_current) == (2, True)
    assert (earlier.promised_time_limit_days, earlier.is_current) == (5, False)


def test_draft_is_not_visible_until_approved():
    implementation = make_implementation(promised_time_limit_days=5)

    draft_implementation_change(implementation, promised_time_limit_days=1)

    implementation.refresh_from_db()
    assert implementation.promised_time_limit_days == 5
    assert selectors.implementation_guide(implementation=implementation).promised_time_limit_days == 5


def test_reviewer_cannot_approve_their_own_draft():
    administrator_and_reviewer = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    make_staff_role(administrator_and_reviewer, Role.CATALOGUE_REVIEWER, HANGZHOU)
    implementation = make_implementation(region_code=XIHU)
    change = draft_implementation_change(implementation, drafter=administrator_and_reviewer, site_visits=1)

    with pytest.raises(PermissionDenied):
        services.catalogue_change_approve(reviewer=administrator_and_reviewer, change=change)

    change.refresh_from_db()
    assert change.state == ChangeState.SUBMITTED


def make_staff_role(user, role, region_code):
    from govhall.accounts.models import StaffAssignment

    StaffAssignment.objects.create(
        user=user, department=make_department(region_code=region_code, kind="data"), role=role
    )


def test_return_needs_a_note_and_the_drafter_can_correct_and_resubmit():
    implementation = make_implementation()
    change = draft_implementation_change(implementation, promised_time_limit_days=1)

    with pytest.raises(ValidationError):
        services.catalogue_change_return(reviewer=province_reviewer(), change=change, note=" ")
    services.catalogue_change_return(reviewer=province_reviewer(), change=change, note="请同时更新办理地点")
    payload = services.implementation_payload(implementation)
    payload.update(promised_time_limit_days=1, address="杭州市西湖区文三路100号")
    services.catalogue_change_update(actor=province_administrator(), change=change, payload=payload, reason="补充地址")
    services.catalogue_change_submit(actor=province_administrator(), change=change)
    services.catalogue_change_approve(reviewer=province_reviewer(), change=change)

    implementation.refresh_from_db()
    assert (implementation.promised_time_limit_days, implementation.address) == (1, "杭州市西湖区文三路100号")
    actions = list(
        AuditRecord.objects.filter(object_type="catalogue_change", object_id=str(change.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "catalogue_change_draft",
        "catalogue_change_submit",
        "catalogue_change_return",
        "catalogue_change_update",
        "catalogue_change_submit",
        "catalogue_change_approve",
    ]


def test_change_drafted_against_an_older_version_is_refused_on_approval():
    implementation = make_implementation(promised_time_limit_days=5)
    first = draft_implementation_change(implementation, promised_time_limit_days=4)
    second = draft_implementation_change(implementation, site_visits=1)
    services.catalogue_change_approve(reviewer=province_reviewer(), change=first)

    with pytest.raises(ValidationError) as refused:
        services.catalogue_change_approve(reviewer=province_reviewer(), change=second)

    assert "新版本" in refused.value.messages[0]
    implementation.refresh_from_db()
    assert (implementation.version, implementation.site_visits) == (2, 0)


def test_change_identical_to_the_published_version_is_refused():
    implementation = make_implementation()

    with pytest.raises(ValidationError) as refused:
        draft_implementation_change(implementation)

    assert "无需变更" in refused.value.messages[0]


def test_suspend_resume_and_cancel_change_what_the_public_sees():
    implementation = make_implementation()

    publish(action=ChangeAction.SUSPEND, target=ChangeTarget.IMPLEMENTATION, implementation=implementation)
    implementation.refresh_from_db()
    assert implementation.state == ItemState.SUSPENDED
    assert selectors.implementation_get_public(implementation_code=implementation.implementation_code) is not None

    publish(action=ChangeAction.RESUME, target=ChangeTarget.IMPLEMENTATION, implementation=implementation)
    publish(action=ChangeAction.CANCEL, target=ChangeTarget.IMPLEMENTATION, implementation=implementation)

    implementation.refresh_from_db()
    assert (implementation.state, implementation.version) == (ItemState.CANCELLED, 4)
    assert selectors.implementation_get_public(implementation_code=implementation.implementation_code) is None
    with pytest.raises(ValidationError):
        publish(action=ChangeAction.RESUME, target=ChangeTarget.IMPLEMENTATION, implementation=implementation)


def test_entry_change_republishes_every_implementation_with_the_new_name():
    entry = make_entry(name="食品经营许可")
    xihu = make_implementation(entry=entry, region_code=XIHU)
    yuhang = make_implementation(entry=entry, region_code=YUHANG)
    payload = services.entry_payload(entry) | {"name": "食品经营许可（含小餐饮）"}

    publish(action=ChangeAction.CHANGE, target=ChangeTarget.ENTRY, entry=entry, payload=payload)

    for implementation in (xihu, yuhang):
        implementation.refresh_from_db()
        guide = selectors.implementation_guide(implementation=implementation)
        assert (guide.version, guide.name) == (2, "食品经营许可（含小餐饮）")
        assert selectors.implementation_guide(implementation=implementation, version=1).name == "食品经营许可"


def test_split_cancels_the_entry_and_carries_each_implementation_to_every_new_entry():
    entry = make_entry(name="食品生产经营许可")
    make_implementation(entry=entry, region_code=XIHU)
    new_entries = [
        entry_payload_example(name="食品生产许可", basic_code="S1-0001"),
        entry_payload_example(name="食品经营许可", basic_code="S1-0002"),
    ]

    publish(action=ChangeAction.SPLIT, target=ChangeTarget.ENTRY, entry=entry, payload={"entries": new_entries})

    entry.refresh_from_db()
    assert entry.state == ItemState.CANCELLED
    assert sorted(entry.successors.values_list("basic_code", flat=True)) == ["S1-0001", "S1-0002"]
    carried = Implementation.objects.filter(entry__basic_code__in=["S1-0001", "S1-0002"], region_id=XIHU)
    assert sorted(carried.values_list("entry__name", flat=True)) == ["食品生产许可", "食品经营许可"]
    assert Implementation.objects.get(entry=entry).state == ItemState.CANCELLED


def test_merge_cancels_the_sources_and_keeps_every_material_once():
    first = make_entry(name="户外广告设施设置审批", basic_code="M1-0001")
    second = make_entry(name="城市建筑物设施上悬挂张贴宣传品审批", basic_code="M1-0002")
    implementation = make_implementation(entry=first, region_code=XIHU, kind="urban")
    other_payload = implementation_payload_example(entry=second, department=implementation.department)
    other_payload["materials"].append({**other_payload["materials"][0], "name": "设置效果图"})
    publish(action=ChangeAction.ADD, target=ChangeTarget.IMPLEMENTATION, payload=other_payload)
    merged = entry_payload_example(name="户外广告及招牌设施设置审批", basic_code="M1-0003")

    publish(
        action=ChangeAction.MERGE,
        target=ChangeTarget.ENTRY,
        entry=first,
        payload={"sources": ["M1-0001", "M1-0002"], "entry": merged},
    )

    assert set(CatalogueEntry.objects.filter(basic_code__startswith="M1-").values_list("basic_code", "state")) == {
        ("M1-0001", ItemState.CANCELLED),
        ("M1-0002", ItemState.CANCELLED),
        ("M1-0003", ItemState.ACTIVE),
    }
    result = Implementation.objects.get(entry__basic_code="M1-0003")
    assert list(result.materials.values_list("name", flat=True)) == [
        "食品经营许可申请书",
        "营业执照",
        "授权委托书",
        "设置效果图",
    ]


# --- Scope ------------------------------------------------------------------------------------


def test_city_administrator_drafts_for_its_counties_but_not_for_another_city():
    hangzhou_administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    in_county = make_implementation(region_code=XIHU)
    in_other_city = make_implementation(region_code=NINGBO)

    draft_implementation_change(in_county, drafter=hangzhou_administrator, site_visits=1)
    with pytest.raises(PermissionDenied):
        draft_implementation_change(in_other_city, drafter=hangzhou_administrator, site_visits=1)

    assert CatalogueChange.objects.filter(drafted_by=hangzhou_administrator).count() == 1


def test_only_province_administrators_change_catalogue_entries():
    hangzhou_administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    entry = make_entry()

    with pytest.raises(PermissionDenied):
        services.catalogue_change_draft(
            actor=hangzhou_administrator,
            action="change",
            target="entry",
            entry=entry,
            payload=services.entry_payload(entry) | {"name": "改名"},
            reason="改名",
        )


def test_region_of_a_published_implementation_cannot_be_changed():
    implementation = make_implementation(region_code=XIHU)

    with pytest.raises(ValidationError) as refused:
        draft_implementation_change(implementation, region_code=YUHANG)

    assert "region_code" in refused.value.message_dict


def test_text_longer_than_its_column_is_refused_naming_the_element():
    implementation = make_implementation()
    long_materials = services.implementation_payload(implementation)["materials"]
    long_materials[0]["name"] = "材" * 300

    with pytest.raises(ValidationError) as refused:
        draft_implementation_change(implementation, result_name="证" * 200, materials=long_materials)

    assert refused.value.message_dict["result_name"] == ["不能超过128个字符。"]
    assert "第1行" in violation_messages(refused.value, "materials")


def test_most_used_lists_each_catalogue_entry_once_however_many_regions_implement_it():
    popular = make_entry(name="居民身份证换领")
    for region_code in (XIHU, YUHANG, HANGZHOU):
        make_implementation(entry=popular, region_code=region_code)
    other = make_implementation(entry=make_entry(name="结婚登记"))
    Implementation.objects.filter(entry=popular).update(view_count=100)
    Implementation.objects.filter(pk=other.pk).update(view_count=5)

    most_used = selectors.implementation_most_used(limit=2)

    assert [implementation.entry.name for implementation in most_used] == ["居民身份证换领", "结婚登记"]


def test_the_application_read_gives_what_the_orm_prefetch_gives_without_more_statements():
    from django.db import connection
    from django.db.models import Prefetch
    from django.test.utils import CaptureQueriesContext

    from govhall.catalog.models import Material

    implementation = make_implementation()
    code = implementation.implementation_code
    assert implementation.materials.count() > 1 and implementation.process_steps.count() > 1
    expected = (
        selectors.implementation_public_queryset()
        .prefetch_related("process_steps", Prefetch("materials", queryset=Material.objects.order_by("order")))
        .get(implementation_code=code)
    )

    for _ in range(2):  # compiled at the first read, reused at the second
        with CaptureQueriesContext(connection) as captured:
            found = selectors.implementation_get_for_application(implementation_code=code)
            steps, materials = list(found.process_steps.all()), list(found.materials.all())
            assert all(step.implementation is found for step in steps)
            names = (found.entry.name, found.region.name, found.department.name)
        assert len(captured) == 3
        assert [(s.pk, s.order, s.name) for s in steps] == [
            (s.pk, s.order, s.name) for s in expected.process_steps.all()
        ]
        assert [(m.pk, m.name) for m in materials] == [(m.pk, m.name) for m in expected.materials.all()]
        assert names == (expected.entry.name, expected.region.name, expected.department.name)
    assert selectors.implementation_get_for_application(implementation_code="no-such-code") is None


# --- What an application reads of an implementation -----------------------------------------


def test_an_application_reads_a_versions_steps_and_materials_once_and_a_new_version_afresh(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    implementation = make_implementation()
    code = implementation.implementation_code
    with django_capture_on_commit_callbacks(execute=True):
        first = selectors.implementation_get_for_application(implementation_code=code)
    assert [material.name for material in first.materials.all()] == ["食品经营许可申请书", "营业执照", "授权委托书"]

    with django_assert_num_queries(1):  # the implementation; its version's steps and materials are kept
        again = selectors.implementation_get_for_application(implementation_code=code)
        again_materials = list(again.materials.all())
        again_steps = list(again.process_steps.all())
    assert [(m.pk, m.name, m.order, m.source) for m in again_materials] == [
        (m.pk, m.name, m.order, m.source) for m in first.materials.all()
    ]
    assert [step.name for step in again_steps] == ["申请", "审查", "决定"]
    assert again_materials[0] is not first.materials.all()[0]  # built anew for each reader
    assert again_materials[0].implementation is again

    payload = services.implementation_payload(implementation)
    payload["materials"] = payload["materials"][:1]
    payload["process_steps"] = payload["process_steps"][1:]
    publish(
        action=ChangeAction.CHANGE, target=ChangeTarget.IMPLEMENTATION, implementation=implementation, payload=payload
    )
    changed = selectors.implementation_get_for_application(implementation_code=code)

    assert changed.version == first.version + 1
    assert [material.name for material in changed.materials.all()] == ["食品经营许可申请书"]
    assert [step.name for step in changed.process_steps.all()] == ["审查", "决定"]


def test_steps_and_materials_read_in_a_transaction_that_does_not_commit_are_not_kept(django_assert_num_queries):
    implementation = make_implementation()
    code = implementation.implementation_code
    selectors.implementation_get_for_application(implementation_code=code)  # the test's transaction never commits

    with django_assert_num_queries(3):
        read = selectors.implementation_get_for_application(implementation_code=code)
    assert len(read.materials.all()) == 3
