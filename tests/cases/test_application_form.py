"""Application forms defined as data: checking, the standard form, prefill and its seal,
show-when / require-when, parsing a POST, validation messages, materials and rendering."""

import copy
import json
import re
from pathlib import Path

import pytest
from django.http import QueryDict
from django.utils import translation

from govhall.accounts import services as account_services
from govhall.accounts.models import AssuranceLevel
from govhall.accounts.registry import demo_registry_company_add
from govhall.cases.application_form import (
    Prefill,
    form_data_from_post,
    form_definition_check,
    form_definition_effective,
    form_definition_standard,
    form_error_summary,
    form_file_inputs,
    form_materials,
    form_prefill,
    form_prefill_verify,
    form_sections,
    form_validate,
    prefill_as_stored,
)
from govhall.cases.application_form_html import form_fields_html
from govhall.org.identifiers import uscc_check_character
from tests.factories import identity_number_for, make_person

DEMO_DATA = Path(__file__).resolve().parents[2] / "govhall" / "catalog" / "demo_data"
FORMS = json.loads((DEMO_DATA / "forms.json").read_text(encoding="utf-8"))
CATALOGUE_ITEMS = {
    item["basic_code"]: item for item in json.loads((DEMO_DATA / "catalogue.json").read_text(encoding="utf-8"))["items"]
}
FOOD = "000145001000"
COMPANY_SETUP = "000145004000"
SOCIAL_SECURITY_CARD = "000138001000"
EMPLOYER_INSURANCE = "000138006000"
NO_PREFILL: dict = {"values": {}, "sources": {}, "locked": []}
XIHU = "330106"


def food_form() -> dict:
    return copy.deepcopy(FORMS[FOOD])


def food_data(**overrides) -> dict:
    """A complete, valid 食品经营许可 application from a person, as a JSON client sends it."""
    data = {
        "applicant_kind": "person",
        "applicant_name": "张三",
        "applicant_identity_number": "330***********0011",
        "applicant_phone": "13900000001",
        "business_name": "西湖小吃店",
        "premises": {"region": XIHU, "detail": "文三路 1 号"},
        "area": "35.5",
        "business_items": ["预包装食品销售"],
        "canteen": "false",
        "automatic_equipment": "false",
        "food_safety_manager": "李四",
        "staff": [{"name": "王五", "health_certificate_number": "JK2024001"}],
        "by_agent": "false",
        "delivery": "hall",
    }
    data.update(overrides)
    return data


def validate(definition: dict, data: dict, prefilled: dict | None = None, materials: set[str] | None = None):
    return form_validate(
        definition=definition, data=data, prefilled=prefilled or NO_PREFILL, materials_present=materials or set()
    )


def registered_company(*, serial: int, name: str = "杭州西湖茶叶有限公司"):
    """A person at L2 and the company the legal-person registry names them representative of,
    registered through the real service."""
    number = identity_number_for("330106", "19800101", serial)
    representative = make_person(name="赵六", identity_number=number, level=AssuranceLevel.L2)
    first = f"91330106{serial:09d}"
    credit_code = first + uscc_check_character(first)
    demo_registry_company_add(
        credit_code=credit_code, name=name, kind="limited_company", legal_representative_identity_number=number
    )
    company = account_services.company_register(representative=representative, credit_code=credit_code)
    return representative, company, number


# --- the demo forms and the checker -------------------------------------------------------------


def test_demo_forms_cover_the_items_the_catalogue_demo_needs():
    assert {FOOD, "000145003000", COMPANY_SETUP, SOCIAL_SECURITY_CARD, "000131005000"} <= set(FORMS)


@pytest.mark.parametrize("basic_code", sorted(FORMS))
def test_every_demo_form_passes_the_check_and_names_only_real_materials(basic_code):
    definition = FORMS[basic_code]
    material_names = {material["name"] for material in CATALOGUE_ITEMS[basic_code]["implementation"]["materials"]}

    assert form_definition_check(definition=definition) == []
    assert set(definition["materials"]) <= material_names


def test_a_demo_form_has_both_a_date_field_and_a_table():
    widgets = {field["widget"] for field in FORMS[COMPANY_SETUP]["fields"].values()}

    assert {"date", "table"} <= widgets


def test_empty_definition_has_no_problems_and_means_the_standard_form():
    standard = form_definition_standard(
        for_persons=True, for_companies=False, express_delivery=False, material_names=[]
    )

    assert form_definition_check(definition={}) == []
    assert (
        form_definition_effective(
            definition={}, for_persons=True, for_companies=False, express_delivery=False, material_names=[]
        )
        == standard
    )
    assert (
        form_definition_effective(
            definition=FORMS[FOOD], for_persons=True, for_companies=True, express_delivery=True, material_names=[]
        )
        == FORMS[FOOD]
    )


def _break(change) -> dict:
    definition = food_form()
    change(definition)
    return definition


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda d: d["layout"][0]["fields"].append("nickname"), "layout[0].fields[7]", "nickname"),
        (lambda d: d["layout"][1]["fields"].remove("area"), "layout", "area"),
        (lambda d: d["layout"][1]["fields"].append("area"), "layout[1].fields[6]", "area"),
        (lambda d: d["fields"]["area"].update(widget="slider"), "fields.area.widget", "slider"),
        (lambda d: d["fields"]["area"].update(widget="date"), "fields.area.widget", "日期控件"),
        (
            lambda d: d["fields"]["business_name"].update(prefill="person.salary"),
            "fields.business_name.prefill",
            "person.salary",
        ),
        (
            lambda d: d["schema"]["properties"]["area"].update(minimum="one"),
            "schema.properties.area.minimum",
            "JSON Schema",
        ),
        (
            lambda d: d["fields"]["fume_facilities"].update(show_when={"field": "cuisine", "equals": "川菜"}),
            "fields.fume_facilities.show_when.field",
            "cuisine",
        ),
        (
            lambda d: d["fields"]["fume_facilities"].update(show_when={"field": "business_items", "contains": "烧烤"}),
            "fields.fume_facilities.show_when.contains",
            "烧烤",
        ),
        (
            lambda d: d["materials"].update({"营业执照": {"required_when": {"field": "licence", "equals": True}}}),
            "materials.营业执照.required_when.field",
            "licence",
        ),
        (lambda d: d["schema"]["required"].append("signature"), "schema.required", "signature"),
    ],
    ids=[
        "unknown field in layout",
        "property missing from layout",
        "field twice in layout",
        "unknown widget",
        "widget not matching the schema",
        "unknown prefill source",
        "invalid schema",
        "condition on an unknown field",
        "condition value not a choice",
        "material rule on an unknown field",
        "required field that does not exist",
    ],
)
def test_checker_names_what_is_wrong_and_where(change, path, words):
    problems = form_definition_check(definition=_break(change))

    assert [message for where, message in problems if where == path], problems
    assert any(words in message for where, message in problems if where == path)


def test_checker_finds_show_when_conditions_that_hide_each_other():
    definition = _break(
        lambda d: d["fields"]["applicant_kind"].update(show_when={"field": "applicant_name", "equals": "张三"})
    )

    problems = dict(form_definition_check(definition=definition))

    assert "循环" in problems["fields.applicant_kind.show_when"]


def test_a_condition_on_a_field_later_in_the_form_is_fine():
    definition = _break(lambda d: d["fields"]["area"].update(show_when={"field": "delivery", "equals": "express"}))

    assert form_definition_check(definition=definition) == []


# --- the standard form --------------------------------------------------------------------------


def _layout(definition: dict) -> list[list[str]]:
    return [section["fields"] for section in definition["layout"]]


def test_standard_form_for_persons_prefills_name_identity_number_and_phone():
    definition = form_definition_standard(
        for_persons=True, for_companies=False, express_delivery=False, material_names=["申请表"]
    )

    assert _layout(definition) == [
        ["applicant_name", "applicant_identity_number", "applicant_phone"],
        ["application_statement"],
        ["delivery"],
    ]
    assert {name: field.get("prefill") for name, field in definition["fields"].items()} == {
        "applicant_name": "person.name",
        "applicant_identity_number": "person.identity_number",
        "applicant_phone": "person.phone",
        "application_statement": None,
        "delivery": None,
    }
    assert definition["schema"]["properties"]["delivery"]["x-labels"] == ["窗口领取", "电子送达"]
    assert definition["fields"]["application_statement"]["widget"] == "textarea"
    assert "application_statement" in definition["schema"]["required"]


def test_standard_form_for_companies_fills_the_company_from_its_record():
    definition = form_definition_standard(
        for_persons=False, for_companies=True, express_delivery=True, material_names=[]
    )

    assert _layout(definition)[0] == ["company_name", "company_credit_code", "company_legal_representative"]
    assert [definition["fields"][name]["prefill"] for name in _layout(definition)[0]] == [
        "company.name",
        "company.credit_code",
        "company.legal_representative",
    ]
    assert definition["schema"]["properties"]["delivery"]["x-labels"] == ["窗口领取", "电子送达", "邮寄送达"]
    assert definition["fields"]["delivery_address"]["show_when"] == {"field": "delivery", "equals": "express"}


def test_standard_form_for_both_asks_the_applicant_kind_and_shows_one_group():
    definition = form_definition_standard(
        for_persons=True,
        for_companies=True,
        express_delivery=True,
        material_names=["授权委托书及代理人居民身份证"],
    )

    assert _layout(definition)[0][0] == "applicant_kind"
    assert definition["fields"]["applicant_identity_number"]["show_when"] == {
        "field": "applicant_kind",
        "equals": "person",
    }
    assert definition["fields"]["company_name"]["show_when"] == {"field": "applicant_kind", "equals": "company"}
    assert definition["materials"] == {}
    data = {"applicant_kind": "company", "application_statement": "申请办理", "delivery": "hall"}
    _cleaned, errors = validate(definition, data)
    assert set(errors) == {"company_name", "company_credit_code", "company_legal_representative"}


# --- prefill ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_prefill_from_a_person_uses_masked_numbers_and_locks_the_identity_number():
    person = make_person(name="张三", phone="13912345678")
    definition = form_definition_standard(
        for_persons=True, for_companies=True, express_delivery=False, material_names=[]
    )

    prefill = form_prefill(definition=definition, person=person, company=None)

    assert prefill.values == {
        "applicant_name": "张三",
        "applicant_identity_number": person.identity_number_masked,
        "applicant_phone": "139****5678",
    }
    assert "*" in prefill.values["applicant_identity_number"]
    # Company fields stay locked though there is no company: nobody can type one in.
    assert prefill.locked == [
        "applicant_identity_number",
        "company_name",
        "company_credit_code",
        "company_legal_representative",
    ]
    assert re.fullmatch(r"[0-9a-f]{64}", prefill.hash)


@pytest.mark.django_db
def test_prefill_from_a_company_reads_its_record_and_the_registry_all_locked():
    person, company, _number = registered_company(serial=301)

    prefill = form_prefill(definition=FORMS[EMPLOYER_INSURANCE], person=person, company=company)

    assert prefill.values == {
        "company_name": "杭州西湖茶叶有限公司",
        "company_credit_code": company.credit_code,
        "registry_name": "杭州西湖茶叶有限公司",
        "registry_kind": "有限责任公司",
        "legal_representative": "赵六",
        "contact_name": "赵六",
        "contact_phone": person.phone_masked,
    }
    assert prefill.locked == [
        "company_name",
        "company_credit_code",
        "registry_name",
        "registry_kind",
        "legal_representative",
    ]
    assert prefill.sources["registry_kind"] == "registry.company.kind"


@pytest.mark.django_db
def test_unchanged_prefill_verifies_clean_and_a_tampered_locked_value_is_named():
    person, company, _number = registered_company(serial=302)
    prefill = form_prefill(definition=FORMS[EMPLOYER_INSURANCE], person=person, company=company)
    stored = prefill_as_stored(prefill)

    assert form_prefill_verify(data=dict(prefill.values), prefilled=stored, prefill_hash=prefill.hash) == []
    tampered = {**prefill.values, "company_name": "另一家公司", "contact_name": "孙七"}
    # contact_name is prefilled but not locked: the applicant may change it.
    assert form_prefill_verify(data=tampered, prefilled=stored, prefill_hash=prefill.hash) == ["company_name"]


@pytest.mark.django_db
def test_a_tampered_stored_prefill_fails_every_locked_field():
    person, company, _number = registered_company(serial=303)
    prefill = form_prefill(definition=FORMS[EMPLOYER_INSURANCE], person=person, company=company)
    stored = prefill_as_stored(prefill)
    stored["values"]["company_name"] = "另一家公司"
    data = {**prefill.values, "company_name": "另一家公司"}

    assert form_prefill_verify(data=data, prefilled=stored, prefill_hash=prefill.hash) == sorted(prefill.locked)
    emptied = {"values": {}, "sources": {}, "locked": []}
    assert form_prefill_verify(data=data, prefilled=emptied, prefill_hash=prefill.hash) == ["__all__"]


def test_a_locked_field_differing_from_its_prefill_is_an_error_on_that_field():
    definition = form_definition_standard(
        for_persons=False, for_companies=True, express_delivery=False, material_names=[]
    )
    prefill = Prefill(
        values={"company_name": "杭州西湖茶叶有限公司", "company_credit_code": "91330106000000301X"},
        sources={"company_name": "company.name", "company_credit_code": "company.credit_code"},
        locked=["company_name", "company_credit_code", "company_legal_representative"],
        hash="",
    )
    data = {
        "company_name": "杭州东湖茶叶有限公司",
        "application_statement": "申请办理",
        "delivery": "hall",
    }

    cleaned, errors = validate(definition, data, prefilled=prefill_as_stored(prefill))

    assert errors["company_name"] == "此项由系统根据法人信息自动填写，不能修改"
    # Left out by an API client, a locked value is taken from the prefill.
    assert cleaned["company_credit_code"] == "91330106000000301X"
    assert "company_credit_code" not in errors
    assert "当前账号没有相应信息" in errors["company_legal_representative"]


# --- show-when, require-when, coercion and messages ---------------------------------------------


@pytest.mark.django_db
def test_valid_application_is_cleaned_to_typed_values_and_nothing_the_form_does_not_ask_for():
    data = food_data(
        premises={"region": XIHU, "detail": " 文三路 1 号 ", "note": "x"},
        staff=[{"name": "王五", "health_certificate_number": "JK1", "salary": "9000"}],
        nickname="小张",
    )

    cleaned, errors = validate(food_form(), data)

    assert errors == {}
    assert (cleaned["area"], cleaned["canteen"], cleaned["by_agent"]) == (35.5, False, False)
    assert cleaned["premises"] == {"region": XIHU, "detail": "文三路 1 号"}
    assert cleaned["staff"] == [{"name": "王五", "health_certificate_number": "JK1"}]
    assert "nickname" not in cleaned


@pytest.mark.django_db
def test_a_hidden_field_is_dropped_and_a_require_when_field_errors_only_when_its_condition_holds():
    hidden = food_data(fume_facilities="顶部排烟", delivery_address={"region": XIHU, "detail": "文三路 1 号"})

    cleaned, errors = validate(food_form(), hidden)

    assert errors == {}
    assert "fume_facilities" not in cleaned
    assert "delivery_address" not in cleaned

    _cleaned, errors = validate(food_form(), food_data(business_items=["餐饮服务"], delivery="express"))

    assert set(errors) == {"fume_facilities", "fume_purifier_count", "delivery_address"}
    assert errors["fume_facilities"] == "请填写「排油烟设施说明」"
    assert errors["delivery_address"] == "请填写「邮寄地址」"


@pytest.mark.django_db
def test_a_bad_number_keeps_what_was_typed_and_says_so_on_its_field():
    cleaned, errors = validate(food_form(), food_data(area="三十五"))

    assert cleaned["area"] == "三十五"
    assert errors == {"area": "「经营场所面积（平方米）」请填写数字"}


@pytest.mark.django_db
def test_full_width_digits_are_read_as_numbers():
    cleaned, errors = validate(food_form(), food_data(area="１２０"))

    assert (cleaned["area"], errors) == (120, {})


@pytest.mark.django_db
def test_a_number_below_its_minimum_names_the_limit():
    _cleaned, errors = validate(food_form(), food_data(area="0.5"))

    assert errors == {"area": "「经营场所面积（平方米）」不能小于 1"}


@pytest.mark.django_db
def test_a_bad_date_keeps_what_was_typed_and_says_so_on_its_field():
    definition = FORMS[COMPANY_SETUP]

    cleaned, errors = validate(definition, {"established_on": "2024-02-30"})

    assert cleaned["established_on"] == "2024-02-30"
    assert errors["established_on"] == "「章程签署日期」请按 YYYY-MM-DD 格式填写日期，例如 2024-05-01"
    slashed, errors = validate(definition, {"established_on": "2024/5/1"})
    assert slashed["established_on"] == "2024-05-01"
    assert "established_on" not in errors


@pytest.mark.django_db
def test_messages_in_english_name_the_field_by_its_english_label():
    with translation.override("en"):
        _cleaned, errors = validate(food_form(), food_data(area="lots", business_name=""))

    assert "Floor area (m²)" in errors["area"]
    assert "Business name (shop sign)" in errors["business_name"]


@pytest.mark.django_db
def test_table_cells_carry_their_own_errors_and_the_row_limit_is_named():
    staff = [{"name": "王五", "health_certificate_number": ""}, {"name": "", "health_certificate_number": "JK2"}]

    _cleaned, errors = validate(food_form(), food_data(staff=staff))

    assert errors == {
        "staff.0.health_certificate_number": "请填写「从业人员第 1 行的健康证明编号」",
        "staff.1.name": "请填写「从业人员第 2 行的姓名」",
    }
    too_many = [{"name": f"员工{index}", "health_certificate_number": f"JK{index}"} for index in range(51)]
    _cleaned, errors = validate(food_form(), food_data(staff=too_many))
    assert errors == {"staff": "「从业人员」最多填写 50 行"}


@pytest.mark.django_db
def test_a_bad_date_in_a_table_cell_errors_on_that_cell():
    data = {"shareholders": [{"name": "张三", "kind": "自然人", "subscribed": "10", "due_on": "明年"}]}

    cleaned, errors = validate(FORMS[COMPANY_SETUP], data)

    assert cleaned["shareholders"][0] == {"name": "张三", "kind": "自然人", "subscribed": 10, "due_on": "明年"}
    assert (
        errors["shareholders.0.due_on"]
        == "「股东及出资第 1 行的出资期限」请按 YYYY-MM-DD 格式填写日期，例如 2024-05-01"
    )


@pytest.mark.django_db
def test_an_address_outside_the_county_list_is_refused_on_its_region():
    _cleaned, errors = validate(food_form(), food_data(premises={"region": "330100", "detail": "文三路 1 号"}))

    assert errors == {"premises.region": "请从列表中选择「经营场所（所在地区）」"}


def test_a_required_file_field_is_satisfied_only_by_its_uploaded_material():
    definition = FORMS[SOCIAL_SECURITY_CARD]
    data = {
        "applicant_name": "张三",
        "applicant_identity_number": "330***********0011",
        "applicant_phone": "139****0001",
        "under_sixteen": "否",
        "bank": "中国银行",
        "by_agent": "否",
        "delivery": "electronic",
    }

    _cleaned, errors = validate(definition, data)
    cleaned, uploaded_errors = validate(definition, data, materials={"近期免冠照片"})

    assert errors == {"photo": "请上传「近期免冠照片」"}
    assert (cleaned["photo"], uploaded_errors) == ("近期免冠照片", {})


# --- POST parsing -------------------------------------------------------------------------------


def food_post() -> QueryDict:
    post = QueryDict(mutable=True)
    post.update(
        {
            "f-applicant_kind": "person",
            "f-applicant_name": "张三",
            "f-applicant_identity_number": "330***********0011",
            "f-applicant_phone": "13900000001",
            "f-business_name": "西湖小吃店",
            "f-premises-region": XIHU,
            "f-premises-detail": "文三路 1 号",
            "f-area": "35.5",
            "f-canteen": "false",
            "f-automatic_equipment": "false",
            "f-food_safety_manager": "李四",
            "f-staff-0-name": "王五",
            "f-staff-0-health_certificate_number": "JK2024001",
            "f-staff-1-name": "",
            "f-staff-1-health_certificate_number": "",
            "f-by_agent": "false",
            "f-delivery": "hall",
            "csrfmiddlewaretoken": "x",
        }
    )
    post.setlist("f-business_items", ["预包装食品销售"])
    return post


def test_post_is_read_as_typed_and_empty_table_rows_are_dropped():
    data = form_data_from_post(definition=food_form(), post=food_post())

    assert data["area"] == "35.5"
    assert data["business_items"] == ["预包装食品销售"]
    assert data["premises"] == {"region": XIHU, "detail": "文三路 1 号"}
    assert data["staff"] == [{"name": "王五", "health_certificate_number": "JK2024001"}]
    assert "csrfmiddlewaretoken" not in data


@pytest.mark.django_db
def test_a_post_and_the_same_data_as_json_validate_the_same():
    from_post = validate(food_form(), form_data_from_post(definition=food_form(), post=food_post()))
    as_json = food_data(area=35.5, canteen=False, automatic_equipment=False, by_agent=False)

    assert from_post == validate(food_form(), as_json)
    assert from_post[1] == {}


# --- materials ----------------------------------------------------------------------------------


def test_materials_follow_their_rules_and_shared_ones_are_not_asked_for():
    materials = CATALOGUE_ITEMS[FOOD]["implementation"]["materials"]

    plain = {m["name"]: m for m in form_materials(definition=food_form(), materials=materials, data=food_data())}
    with_machines = {
        m["name"]: m
        for m in form_materials(definition=food_form(), materials=materials, data=food_data(automatic_equipment="true"))
    }

    machines = "自动设备的产品合格证明、具体放置地点，经营者联系方式和食品安全投诉渠道等信息"
    assert (plain[machines]["visible"], plain[machines]["required"]) == (False, False)
    assert (with_machines[machines]["visible"], with_machines[machines]["required"]) == (True, True)
    assert (plain["食品经营许可申请书"]["required"], plain["食品经营许可申请书"]["shared"]) == (True, False)
    assert (plain["营业执照"]["shared"], plain["营业执照"]["required"]) == (True, False)


def test_a_conditional_material_without_a_rule_is_shown_as_optional():
    materials = [{"name": "其他材料", "requirement": "conditional", "condition": "有的", "source": "applicant"}]

    [material] = form_materials(definition={}, materials=materials, data={})

    assert (material["visible"], material["required"], material["shared"]) == (True, False, False)


# --- rendering ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_renders_values_errors_and_readonly_locked_fields():
    person, company, _number = registered_company(serial=304)
    definition = food_form()
    prefill = form_prefill(definition=definition, person=person, company=company)
    data = food_data(applicant_kind="company", area="三十五", staff=[{"name": "王五", "health_certificate_number": ""}])
    prefilled = prefill_as_stored(prefill)
    _cleaned, errors = form_validate(definition=definition, data=data, prefilled=prefilled, materials_present=set())

    sections = form_sections(definition=definition, data=data, prefilled=prefilled, errors=errors, language="zh-hans")
    page = form_fields_html(sections)

    assert re.search(r'<input type="text" id="f-area" name="f-area" value="三十五"[^>]*aria-invalid="true"', page)
    assert 'aria-describedby="f-area-error"' in page
    assert '<ul class="errorlist" id="f-area-error"><li>「经营场所面积（平方米）」请填写数字</li></ul>' in page
    assert re.search(r'id="f-company_name" name="f-company_name" value="杭州西湖茶叶有限公司"[^>]*readonly', page)
    assert "已自动填写（法人信息）" in page
    assert re.search(r'id="f-staff-0-health_certificate_number"[^>]*aria-invalid="true"', page)
    assert 'id="f-staff-2-name"' in page  # one row entered, two empty rows to add more
    assert 'id="f-staff-3-name"' not in page
    fume = re.search(r'<div class="[^"]*" id="f-fume_facilities-field"([^>]*)>', page)
    assert fume is not None
    assert "hidden" in fume.group(1)
    assert "data-show-when=" in fume.group(1)
    assert '<option value="330106" selected>西湖区</option>' in page
    assert '<optgroup label="杭州市">' in page
    assert "<script" not in page


@pytest.mark.django_db
def test_an_address_offers_every_county_under_its_city_and_selects_only_the_one_given():
    """Each county once under its city, in order, the given one selected; a value no county has
    (or one made to break the markup) selects none and is written nowhere."""
    from govhall.org.selectors import region_counties_by_city

    address = {"type": "object", "properties": {"region": {"type": "string"}, "detail": {"type": "string"}}}
    definition = {
        "schema": {"type": "object", "properties": {"home": address, "work": address}},
        "layout": [{"section": "地址", "fields": ["home", "work"]}],
        "fields": {"home": {"widget": "address"}, "work": {"widget": "address"}},
    }
    data = {"home": {"region": "330106", "detail": "文三路"}, "work": {"region": '"><script>x</script>'}}
    sections = form_sections(definition=definition, data=data, prefilled=NO_PREFILL, errors={}, language="zh-hans")
    page = form_fields_html(sections)

    groups = region_counties_by_city()
    for field in ("home", "work"):
        select = re.search(rf'<select id="f-{field}-region".*?</select>', page, re.S)
        assert select is not None
        assert re.findall(r'<optgroup label="([^"]+)">', select.group(0)) == [city for city, _counties in groups]
        codes = re.findall(r'<option value="(\d{6})"', select.group(0))
        assert codes == [code for _city, counties in groups for code, _name in counties]
        assert select.group(0).startswith(f'<select id="f-{field}-region" name="f-{field}-region">\n')
    assert page.count(" selected>") == 1
    assert '<option value="330106" selected>西湖区</option>' in page
    assert "<script" not in page


def every_widget_form() -> dict:
    """A form with each widget the fields are written for, labels and values carrying markup."""
    row = {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "title": "类别", "enum": ["a", "b&c"], "x-labels": ["甲", "乙<i>"]},
            "born": {"type": "string", "format": "date", "title": "出生日期"},
            "count": {"type": "integer", "title": "人数"},
        },
    }
    return {
        "schema": {
            "type": "object",
            "required": ["people", "notes", "district", "doc"],
            "properties": {
                "people": {"type": "array", "title": "人员<b>", "maxItems": 2, "items": row},
                "notes": {"type": "string", "title": "说明"},
                "shifts": {"type": "array", "title": "班次", "items": {"type": "string", "enum": ["早", "晚"]}},
                "district": {"type": "string", "title": "片区", "enum": [str(number) for number in range(12)]},
                "night": {"type": "boolean", "title": "夜间经营"},
                "opened": {"type": "string", "format": "date", "title": "开业日期"},
                "area": {"type": "number", "title": "面积"},
                "doc": {"type": "string", "title": "平面图"},
            },
        },
        "layout": [
            {
                "section": "经营<情况>",
                "fields": ["people", "notes", "shifts", "district", "night", "opened", "area", "doc"],
            }
        ],
        "fields": {
            "notes": {"widget": "textarea", "help": "写明<经营>范围"},
            "doc": {"widget": "file", "material": "经营场所平面图"},
            "shifts": {"show_when": {"field": "night", "equals": True}},
        },
    }


def test_every_widget_is_written_with_its_values_errors_and_markup_escaped():
    """The fields as ``application_form_html`` writes them (ADR 27): each widget's inputs named as
    a POST sends them back, what was entered shown again (a date no browser date input can show
    as text), every label, value and message escaped."""
    definition = every_widget_form()
    data = {
        "people": [{"kind": "b&c", "born": "五月一日", "count": "三"}],
        "notes": '</textarea><script>alert("x")</script>',
        "shifts": ["晚"],
        "district": "11",
        "night": "false",
        "opened": "2024-05-01",
        "area": "12.5",
    }
    prefilled = {"values": {"district": "11"}, "sources": {"district": "person.name"}, "locked": ["district"]}
    _cleaned, errors = form_validate(definition=definition, data=data, prefilled=prefilled, materials_present=set())

    page = str(
        form_fields_html(
            form_sections(definition=definition, data=data, prefilled=prefilled, errors=errors, language="zh-hans")
        )
    )

    assert "<legend>经营&lt;情况&gt;</legend>" in page
    assert "<legend>人员&lt;b&gt;" in page
    assert '<p class="hint">最多 2 行；空白行不会保存。</p>' in page
    assert '<th scope="row" id="f-people-row-0">第 1 行</th>' in page
    labelled = 'aria-labelledby="f-people-column-kind f-people-row-0"'
    assert f'<select id="f-people-0-kind" name="f-people-0-kind" {labelled}>' in page
    assert '<option value="b&amp;c" selected>乙&lt;i&gt;</option>' in page
    born = re.search(r'<input type="text" id="f-people-0-born" name="f-people-0-born" value="五月一日"([^>]*)>', page)
    assert born is not None
    assert ' placeholder="YYYY-MM-DD"' in born.group(1) and ' aria-invalid="true"' in born.group(1)
    assert re.search(r'id="f-people-0-count"[^>]*inputmode="numeric"', page)
    assert 'id="f-people-1-kind"' in page and 'id="f-people-2-kind"' not in page  # up to the limit of 2
    assert ">&lt;/textarea&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</textarea>" in page
    assert '<div class="helptext" id="f-notes-help">写明&lt;经营&gt;范围</div>' in page
    assert re.search(r'<textarea id="f-notes" name="f-notes" rows="4" required aria-describedby="f-notes-help">', page)
    shifts = re.search(r'<div class="[^"]*" id="f-shifts-field"([^>]*)>', page)
    assert shifts is not None and 'data-show-when="{&quot;field&quot;: &quot;night&quot;' in shifts.group(1)
    assert " hidden" in shifts.group(1)
    assert '<input type="checkbox" id="f-shifts-1" name="f-shifts" value="晚" checked>' in page
    # Twelve choices make a select; this one was prefilled and locked: sent hidden, shown read-only.
    assert '<input type="hidden" name="f-district" value="11">' in page
    assert '<input type="text" id="f-district" value="11" readonly>' in page
    assert "已自动填写（" in page
    assert '<input type="radio" id="f-night-1" name="f-night" value="false" checked>' in page
    assert '<input type="date" id="f-opened" name="f-opened" value="2024-05-01">' in page
    assert '<input type="text" id="f-area" name="f-area" value="12.5" inputmode="decimal">' in page
    assert re.search(
        r'<input type="file" id="f-doc" name="f-doc" required aria-describedby="f-doc-error" aria-invalid="true">', page
    )
    assert "<script" not in page

    with translation.override("en"):
        sections = form_sections(
            definition=definition,
            data={},
            prefilled=NO_PREFILL,
            errors={},
            language="en",
            materials_present={"经营场所平面图"},
        )
        uploaded = str(form_fields_html(sections))
    assert (
        '<p class="form-file-uploaded">Uploaded: 经营场所平面图 (choosing another file will replace it)</p>' in uploaded
    )
    assert '<input type="file" id="f-doc" name="f-doc">' in uploaded  # no longer required once uploaded
    assert '<select id="f-district" name="f-district" required>\n<option value="">Choose</option>' in uploaded
    assert '<p class="hint">Up to 2 rows. Blank rows are not saved.</p>' in uploaded

    # A day no calendar has (sent by an app) is shown as typed, in a text input, not lost.
    impossible = form_sections(
        definition=definition,
        data={**data, "opened": "2024-02-30", "people": [{"kind": "a", "born": "2023-13-01"}]},
        prefilled=NO_PREFILL,
        errors={},
        language="zh-hans",
    )
    shown = str(form_fields_html(impossible))
    assert 'type="text" id="f-opened" name="f-opened" value="2024-02-30" placeholder="YYYY-MM-DD"' in shown
    assert 'type="text" id="f-people-0-born" name="f-people-0-born" value="2023-13-01"' in shown


def test_the_upload_fields_are_read_from_the_definition_as_the_form_shows_them():
    definition = every_widget_form()
    definition["schema"]["properties"]["plan"] = {"type": "string", "title": "设计图"}
    definition["fields"]["plan"] = {"widget": "file"}  # no material named: its title is; not in the layout

    assert form_file_inputs(definition=definition) == [("经营场所平面图", "f-doc")]
    definition["layout"].append({"section": "附件", "fields": ["plan"]})
    assert form_file_inputs(definition=definition) == [("经营场所平面图", "f-doc"), ("设计图", "f-plan")]
    shown = form_sections(definition=definition, data={}, prefilled=NO_PREFILL, errors={}, language="zh-hans")
    files = [field for section in shown for field in section["fields"] if field["widget"] == "file"]
    assert [(field["material"], field["input_name"]) for field in files] == form_file_inputs(definition=definition)


@pytest.mark.django_db
def test_sections_in_english_use_english_labels_and_required_follows_the_data():
    definition = food_form()

    sections = form_sections(
        definition=definition,
        data=food_data(business_items=["餐饮服务"]),
        prefilled=NO_PREFILL,
        errors={},
        language="en",
    )

    fields = {field["name"]: field for section in sections for field in section["fields"]}
    assert sections[0]["title"] == "Applicant"
    assert fields["fume_facilities"]["label"] == "Fume extraction facilities"
    assert (fields["fume_facilities"]["visible"], fields["fume_facilities"]["required"]) == (True, True)
    assert (fields["company_name"]["visible"], fields["company_name"]["required"]) == (False, False)
    assert fields["business_items"]["selected"] == ["餐饮服务"]
    assert ("餐饮服务", "Catering") in fields["business_items"]["choices"]


def test_error_summary_links_each_error_to_the_input_to_correct():
    errors = {
        "premises": "请填写「经营场所」",
        "area": "「经营场所面积（平方米）」请填写数字",
        "business_items": "请选择「经营项目」",
        "staff": "请至少填写一行「从业人员」",
        "staff.0.name": "请填写「从业人员第 1 行的姓名」",
    }

    summary = form_error_summary(definition=food_form(), errors=errors)

    assert [(anchor, label) for anchor, label, _message in summary] == [
        ("f-premises-region", "经营场所"),
        ("f-area", "经营场所面积（平方米）"),
        ("f-business_items-0", "经营项目"),
        ("f-staff-0-name", "从业人员"),
        ("f-staff-0-name", "从业人员第 1 行的姓名"),
    ]


@pytest.mark.django_db
def test_a_section_whose_fields_share_a_condition_is_hidden_with_them_and_choices_read_yes_and_no():
    sections = form_sections(
        definition=food_form(), data=food_data(canteen="是"), prefilled=NO_PREFILL, errors={}, language="zh-hans"
    )

    fumes = next(section for section in sections if section["title"] == "油烟排放")
    canteen = next(field for section in sections for field in section["fields"] if field["name"] == "canteen")
    assert (fumes["visible"], json.loads(fumes["show_when"])) == (
        False,
        {"field": "business_items", "contains": "餐饮服务"},
    )
    assert canteen["selected"] == ["true"]
