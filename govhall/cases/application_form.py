"""Application forms defined as data: checking, the standard form, prefill, parsing, validation
and render-ready sections.

Each implementation may carry its own application form (``Implementation.application_form``,
versioned with the item); ``{}`` means the standard form (``form_definition_standard``). A case
keeps a copy of the definition it was filed under.

Definition format::

    {
      "version": 1,
      "schema": {                           # JSON Schema 2020-12
        "type": "object",
        "properties": {"<name>": {"type": ..., "title": "<zh label>", ...}},
        "required": ["<name>", ...],
        "allOf": [{"if": {...}, "then": {"required": ["<name>"]}}]    # require-when
      },
      "layout": [{"section": "申请人信息", "section_en": "Applicant", "fields": ["<name>", ...]}],
      "fields": {
        "<name>": {
          "widget": "text" | "textarea" | "number" | "date" | "choice" | "multichoice"
                    | "address" | "table" | "file",
          "label_en": "...", "help": "...", "help_en": "...",
          "prefill": "<source>",                      # optional, see PREFILL_SOURCES
          "show_when": {"field": "<name>", "equals": <value>}
                     | {"field": "<name>", "in": [<value>, ...]}
                     | {"field": "<name>", "contains": <value>},   # contains: multichoice only
          "material": "<material name>"              # file widget only; default: the title
        }
      },
      "materials": {"<material name>": {"required_when": <condition, same shape as show_when>}}
    }

Field names match ``[a-z][a-z0-9_]*``. The zh-hans label of a field is its property's ``title``.
Widgets and the schema they need:

- text, textarea: ``"type": "string"``; number: ``"number"`` or ``"integer"``;
  date: ``"type": "string", "format": "date"`` (ISO YYYY-MM-DD).
- choice: ``"enum"`` (values are stored as they are; labels are the values themselves, or
  ``"x-labels"`` / ``"x-labels-en"`` lists of the same length), or ``"type": "boolean"``
  (``x-labels`` then label true and false; default 是 / 否).
- multichoice: ``"type": "array", "items": {"enum": [...]}`` (with optional x-labels lists).
- address: ``"type": "object", "properties": {"region": {"type": "string"}, "detail":
  {"type": "string"}}``; region is a county-level ``Region.code`` (6 digits, GB/T 2260).
- table: ``"type": "array", "items": {"type": "object", "properties": {<column>: {...}}}`` with
  scalar columns (text, number, date, choice); ``"maxItems"`` bounds the rows. A column's
  English label is its ``"x-title-en"``.
- file: ``"type": "string"``; the value is the name of the material the upload is stored
  under. The upload itself is handled by the case services: validation gets the set of
  material names present and fills the value from it.

Fields hidden by ``show_when`` are dropped from the data and never required. A field listed in
``schema.required`` or required by an ``allOf`` rule whose ``if`` holds must be filled.

Prefilled values come from what the platform already knows (PREFILL_SOURCES). Identity and
phone numbers are only ever the masked copies: personal data is never put in case data in
clear. Sources marked ``locked`` (the company, the legal-person registry, the identity number)
cannot be changed by the applicant: the values supplied are kept in ``Case.prefilled`` with an
HMAC (``Case.prefill_hash``) that ``form_prefill_verify`` checks on submit.
"""

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema.validators import validator_for

from govhall.accounts.models import Company, CompanyKind, Person, RegistryCompany
from govhall.cases.models import DeliveryMethod
from govhall.catalog.models import MaterialRequirement, MaterialSource
from govhall.org.models import RegionLevel
from govhall.org.selectors import region_counties_by_city, region_list

WIDGETS = ("text", "textarea", "number", "date", "choice", "multichoice", "address", "table", "file")
SCALAR_WIDGETS = ("text", "textarea", "number", "date", "choice")
PREFILL_WIDGETS = ("text", "textarea", "choice")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Keeps the HMAC of prefilled values apart from every other use of SECRET_KEY.
PREFILL_HASH_PURPOSE = "govhall.cases.application_form.prefill"
POST_PREFIX = "f-"
# Rows beyond this index in a POST are ignored: no form has that many, and it bounds the work.
TABLE_ROWS_PARSED = 500
EMPTY_TABLE_ROWS_SHOWN = 2
# Up to this many options a choice is a group of radio buttons, beyond it a select.
RADIO_CHOICES_AT_MOST = 6
TRUE_WORDS = frozenset({"true", "1", "on", "yes", "是"})
FALSE_WORDS = frozenset({"false", "0", "off", "no", "否"})
DATE_TYPED = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PLAIN_NUMBER = re.compile(r"^[+-]?\d{1,15}(\.\d{1,10})?$")


# --- prefill sources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PrefillSource:
    label: Promise
    locked: bool


_PERSON = gettext_lazy("个人实名信息")
_IDENTITY = gettext_lazy("实名认证信息")
_COMPANY = gettext_lazy("法人信息")
_REGISTRY = gettext_lazy("法人库")

PREFILL_SOURCES: dict[str, PrefillSource] = {
    "person.name": PrefillSource(_PERSON, locked=False),
    "person.identity_number": PrefillSource(_IDENTITY, locked=True),
    "person.phone": PrefillSource(_PERSON, locked=False),
    "person.email": PrefillSource(_PERSON, locked=False),
    "company.name": PrefillSource(_COMPANY, locked=True),
    "company.credit_code": PrefillSource(_COMPANY, locked=True),
    "company.kind": PrefillSource(_COMPANY, locked=True),
    "company.legal_representative": PrefillSource(_COMPANY, locked=True),
    "registry.company.name": PrefillSource(_REGISTRY, locked=True),
    "registry.company.kind": PrefillSource(_REGISTRY, locked=True),
}


@dataclass(frozen=True)
class Prefill:
    """Values filled from what the platform knows; ``hash`` seals the locked ones."""

    values: dict[str, Any]
    sources: dict[str, str]
    locked: list[str]
    hash: str


# --- definition helpers ------------------------------------------------------------------------


def _properties(definition: dict) -> dict[str, dict]:
    schema = definition.get("schema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


def _field_meta(definition: dict, name: str) -> dict:
    fields = definition.get("fields")
    meta = fields.get(name) if isinstance(fields, dict) else None
    return meta if isinstance(meta, dict) else {}


def _main_type(prop: dict) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), None)
    return kind if isinstance(kind, str) else None


def _default_widget(prop: dict) -> str:
    kind = _main_type(prop)
    if "enum" in prop or kind == "boolean":
        return "choice"
    if kind in ("number", "integer"):
        return "number"
    if kind == "array":
        items = prop.get("items")
        return "table" if isinstance(items, dict) and _main_type(items) == "object" else "multichoice"
    if kind == "object":
        return "address"
    if prop.get("format") == "date":
        return "date"
    return "text"


def _widget(definition: dict, name: str) -> str:
    widget = _field_meta(definition, name).get("widget")
    if isinstance(widget, str):
        return widget
    return _default_widget(_properties(definition).get(name) or {})


def _field_order(definition: dict) -> list[str]:
    """Field names in layout order, then any property the layout leaves out."""
    order: list[str] = []
    layout = definition.get("layout")
    for section in layout if isinstance(layout, list) else []:
        names = section.get("fields") if isinstance(section, dict) else None
        for name in names if isinstance(names, list) else []:
            if isinstance(name, str) and name not in order:
                order.append(name)
    order += [name for name in _properties(definition) if name not in order]
    return order


def _english(language: str | None = None) -> bool:
    return (language or translation.get_language() or "").startswith("en")


def _label(definition: dict, name: str, *, language: str | None = None) -> str:
    meta = _field_meta(definition, name)
    if _english(language) and meta.get("label_en"):
        return str(meta["label_en"])
    return str((_properties(definition).get(name) or {}).get("title") or name)


def _sub_label(prop: dict, *, language: str | None = None) -> str | None:
    if _english(language) and prop.get("x-title-en"):
        return str(prop["x-title-en"])
    title = prop.get("title")
    return str(title) if title else None


def _table_columns(prop: dict) -> dict[str, dict]:
    items = prop.get("items")
    columns = items.get("properties") if isinstance(items, dict) else None
    return columns if isinstance(columns, dict) else {}


def _choices(prop: dict, *, language: str | None = None) -> list[tuple[str, str]]:
    """(value as posted, label) pairs of a choice property or of a multichoice's items."""
    if _main_type(prop) == "array" and isinstance(prop.get("items"), dict):
        prop = prop["items"]
    labels = prop.get("x-labels")
    labels_en = prop.get("x-labels-en")
    if _main_type(prop) == "boolean" and "enum" not in prop:
        values: list[Any] = [True, False]
        default_labels = [_("是"), _("否")]
    else:
        values = list(prop.get("enum") or [])
        default_labels = [_display(value) for value in values]
    if _english(language) and isinstance(labels_en, list) and len(labels_en) == len(values):
        shown = [str(label) for label in labels_en]
    elif isinstance(labels, list) and len(labels) == len(values):
        shown = [str(label) for label in labels]
    else:
        shown = default_labels
    return [(_display(value), label) for value, label in zip(values, shown, strict=True)]


def _display(value: Any) -> str:
    """A value as an input shows it (and as a POST sends it back)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


# --- checking a definition ---------------------------------------------------------------------


def form_definition_check(*, definition: dict) -> list[tuple[str, str]]:
    """Every problem with an application form definition, as (path, zh-hans message).

    An empty definition (the standard form) has none. Checked: the schema is valid JSON Schema
    2020-12 describing an object; the layout names every property exactly once and nothing
    else; each widget is known and fits its property's schema; prefill sources are known and
    fit their widget; show_when and required_when conditions name known fields (a field later
    in the form is fine), with values the field can take, and do not hide each other in a loop.
    """
    if not definition:
        return []
    if not isinstance(definition, dict):
        return [("", _("申请表定义应当是一个 JSON 对象"))]
    problems: list[tuple[str, str]] = []
    version = definition.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(("version", _("版本号应当是正整数")))
    schema = definition.get("schema")
    if not isinstance(schema, dict):
        problems.append(("schema", _("缺少 schema，或 schema 不是 JSON 对象")))
        return problems
    problems += _schema_problems(schema)
    properties = _properties(definition)
    if not properties:
        problems.append(("schema.properties", _("申请表至少要有一个字段")))
        return problems
    problems += [
        (
            f"schema.properties.{name}",
            _("字段名“%(name)s”只能由小写字母、数字和下划线组成，并以字母开头") % {"name": name},
        )
        for name in properties
        if not FIELD_NAME.match(name)
    ]
    problems += _layout_problems(definition, properties)
    problems += _field_problems(definition, properties)
    problems += _required_problems(schema, properties)
    problems += _material_rule_problems(definition, properties)
    return problems


def _schema_problems(schema: dict) -> list[tuple[str, str]]:
    # As Draft202012Validator.check_schema does, but reporting every error, not the first.
    meta_validator_class = validator_for(Draft202012Validator.META_SCHEMA, default=Draft202012Validator)
    meta_validator = meta_validator_class(Draft202012Validator.META_SCHEMA)
    problems = [
        (_path("schema", error.absolute_path), _("不是有效的 JSON Schema：%(detail)s") % {"detail": error.message})
        for error in meta_validator.iter_errors(schema)
    ]
    if schema.get("type") != "object":
        problems.append(("schema.type", _("申请表的 schema 类型应当是 object")))
    return problems


def _path(prefix: str, parts: Iterable[Any]) -> str:
    return ".".join([prefix, *(str(part) for part in parts)])


def _layout_problems(definition: dict, properties: dict) -> list[tuple[str, str]]:
    layout = definition.get("layout")
    if not isinstance(layout, list) or not layout:
        return [("layout", _("缺少 layout：应当按分组列出所有字段"))]
    problems: list[tuple[str, str]] = []
    placed: set[str] = set()
    for index, section in enumerate(layout):
        path = f"layout[{index}]"
        if not isinstance(section, dict) or not isinstance(section.get("section"), str) or not section["section"]:
            problems.append((f"{path}.section", _("每个分组都要有中文标题（section）")))
            section = section if isinstance(section, dict) else {}
        names = section.get("fields")
        if not isinstance(names, list):
            problems.append((f"{path}.fields", _("分组的 fields 应当是字段名列表")))
            continue
        for position, name in enumerate(names):
            where = f"{path}.fields[{position}]"
            if name not in properties:
                problems.append((where, _("布局中的字段“%(name)s”不在 schema 的 properties 中") % {"name": name}))
            elif name in placed:
                problems.append((where, _("字段“%(name)s”在布局中出现了不止一次") % {"name": name}))
            else:
                placed.add(name)
    problems += [
        ("layout", _("字段“%(name)s”没有放进任何分组") % {"name": name}) for name in properties if name not in placed
    ]
    return problems


def _field_problems(definition: dict, properties: dict) -> list[tuple[str, str]]:
    fields = definition.get("fields", {})
    if not isinstance(fields, dict):
        return [("fields", _("fields 应当是以字段名为键的 JSON 对象"))]
    problems: list[tuple[str, str]] = [
        (f"fields.{name}", _("fields 中的“%(name)s”不是 schema 中的字段") % {"name": name})
        for name in fields
        if name not in properties
    ]
    for name, prop in properties.items():
        path = f"fields.{name}"
        meta = _field_meta(definition, name)
        widget = meta.get("widget", _default_widget(prop if isinstance(prop, dict) else {}))
        if widget not in WIDGETS:
            problems.append((f"{path}.widget", _("未知的控件类型“%(widget)s”") % {"widget": widget}))
            continue
        problem = _widget_problem(widget, prop if isinstance(prop, dict) else {})
        if problem:
            problems.append((f"{path}.widget", problem))
        source = meta.get("prefill")
        if source is not None:
            if source not in PREFILL_SOURCES:
                problems.append((f"{path}.prefill", _("未知的自动填写来源“%(source)s”") % {"source": source}))
            elif widget not in PREFILL_WIDGETS:
                problems.append((f"{path}.prefill", _("只有文本、多行文本和选择控件可以自动填写")))
        if "show_when" in meta:
            problems += _condition_problems(f"{path}.show_when", meta["show_when"], definition, itself=name)
        if "material" in meta and (widget != "file" or not isinstance(meta["material"], str)):
            problems.append((f"{path}.material", _("只有上传控件可以指定材料名称")))
    problems += _show_when_cycles(definition, properties)
    return problems


def _widget_problem(widget: str, prop: dict) -> str | None:
    kind = _main_type(prop)
    fits = {
        "text": kind == "string",
        "textarea": kind == "string",
        "number": kind in ("number", "integer"),
        "date": kind == "string" and prop.get("format") == "date",
        "choice": kind == "boolean" or "enum" in prop,
        "multichoice": kind == "array" and isinstance(prop.get("items"), dict) and "enum" in prop["items"],
        "address": kind == "object" and _is_address(prop),
        "table": kind == "array" and _is_table(prop),
        "file": kind == "string",
    }[widget]
    if fits:
        problem = _labels_problem(prop.get("items") if widget == "multichoice" else prop)
        return problem
    needs = {
        "text": _("文本控件需要 string 类型"),
        "textarea": _("多行文本控件需要 string 类型"),
        "number": _("数字控件需要 number 或 integer 类型"),
        "date": _("日期控件需要 string 类型和 date 格式"),
        "choice": _("选择控件需要 enum 或 boolean 类型"),
        "multichoice": _("多选控件需要 array 类型，且 items 带 enum"),
        "address": _("地址控件需要 object 类型，含 string 类型的 region 和 detail"),
        "table": _("表格控件需要 array 类型，items 为含列定义的 object，列只能是文本、数字、日期或选择"),
        "file": _("上传控件需要 string 类型"),
    }
    return needs[widget]


def _labels_problem(prop: Any) -> str | None:
    if not isinstance(prop, dict):
        return None
    count = 2 if _main_type(prop) == "boolean" and "enum" not in prop else len(prop.get("enum") or [])
    for key in ("x-labels", "x-labels-en"):
        labels = prop.get(key)
        if labels is not None and (not isinstance(labels, list) or len(labels) != count):
            return _("%(key)s 的个数应当与选项个数相同") % {"key": key}
    return None


def _is_address(prop: dict) -> bool:
    parts = prop.get("properties")
    return isinstance(parts, dict) and all(
        isinstance(parts.get(part), dict) and _main_type(parts[part]) == "string" for part in ("region", "detail")
    )


def _is_table(prop: dict) -> bool:
    items = prop.get("items")
    columns = _table_columns(prop)
    if not isinstance(items, dict) or _main_type(items) != "object" or not columns:
        return False
    return all(
        isinstance(column, dict)
        and FIELD_NAME.match(name) is not None
        and _default_widget(column) in SCALAR_WIDGETS
        and _widget_problem(_default_widget(column), column) is None
        for name, column in columns.items()
    )


def _condition_problems(path: str, condition: Any, definition: dict, *, itself: str | None) -> list[tuple[str, str]]:
    properties = _properties(definition)
    if not isinstance(condition, dict) or not isinstance(condition.get("field"), str):
        return [(path, _('条件应当写成 {"field": 字段名, "equals"/"in"/"contains": 值}'))]
    field = condition["field"]
    if field not in properties:
        return [(f"{path}.field", _("条件引用了不存在的字段“%(name)s”") % {"name": field})]
    if field == itself:
        return [(f"{path}.field", _("字段不能以自身为显示条件"))]
    operators = [key for key in ("equals", "in", "contains") if key in condition]
    if len(operators) != 1 or set(condition) != {"field", operators[0]}:
        return [(path, _("条件只能有 equals、in、contains 其中之一"))]
    operator = operators[0]
    widget = _widget(definition, field)
    if operator == "contains" and widget != "multichoice":
        return [(f"{path}.contains", _("contains 只能用于多选字段"))]
    if operator == "in" and not isinstance(condition["in"], list):
        return [(f"{path}.in", _("in 的值应当是列表"))]
    allowed = {value for value, _label in _choices(properties[field])} if widget in ("choice", "multichoice") else None
    wanted = condition["in"] if operator == "in" else [condition[operator]]
    if allowed is not None:
        unknown = [value for value in wanted if _display(value) not in allowed]
        if unknown:
            return [
                (f"{path}.{operator}", _("“%(value)s”不是字段“%(name)s”的选项") % {"value": unknown[0], "name": field})
            ]
    return []


def _show_when_cycles(definition: dict, properties: dict) -> list[tuple[str, str]]:
    controller = {
        name: _field_meta(definition, name)["show_when"].get("field")
        for name in properties
        if isinstance(_field_meta(definition, name).get("show_when"), dict)
    }
    problems = []
    for start in controller:
        seen = {start}
        current = controller.get(start)
        while current in controller:
            if current == start:
                problems.append((f"fields.{start}.show_when", _("显示条件互相依赖，形成了循环")))
                break
            if current in seen:
                break
            seen.add(current)
            current = controller.get(current)
    return problems


def _required_problems(schema: dict, properties: dict) -> list[tuple[str, str]]:
    problems = []
    rules = [("schema", schema)] + [
        (f"schema.allOf[{index}].then", rule.get("then"))
        for index, rule in enumerate(schema.get("allOf") or [])
        if isinstance(rule, dict)
    ]
    for path, rule in rules:
        names = rule.get("required") if isinstance(rule, dict) else None
        for name in names if isinstance(names, list) else []:
            if name not in properties:
                problems.append((f"{path}.required", _("必填项“%(name)s”不是 schema 中的字段") % {"name": name}))
    return problems


def _material_rule_problems(definition: dict, properties: dict) -> list[tuple[str, str]]:
    materials = definition.get("materials", {})
    if not isinstance(materials, dict):
        return [("materials", _("materials 应当是以材料名称为键的 JSON 对象"))]
    problems = []
    commitment = definition.get("commitment")
    if commitment is not None:
        problems += _commitment_problems(commitment)
    for name, rule in materials.items():
        path = f"materials.{name}"
        if not isinstance(rule, dict) or set(rule) - MATERIAL_RULE_KEYS:
            problems.append((path, _("材料规则只能包含 required_when、commitment 和 deferrable")))
            continue
        if "required_when" in rule:
            problems += _condition_problems(f"{path}.required_when", rule["required_when"], definition, itself=None)
        if "commitment" in rule:
            if not isinstance(rule["commitment"], bool):
                problems.append((f"{path}.commitment", _("commitment 应当是 true 或 false")))
            elif rule["commitment"] and commitment is None:
                problems.append((f"{path}.commitment", _("事项未设告知承诺（commitment），材料不能以承诺代替")))
        if "deferrable" in rule:
            days = rule["deferrable"].get("days") if isinstance(rule["deferrable"], dict) else None
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
                problems.append((f"{path}.deferrable", _("容缺补交期限 days 应为1到60之间的整数（工作日）")))
    return problems


# 告知承诺制 and 容缺受理 as the catalogue states them in the form definition:
#   "commitment": {"text": "…", "verification_days": 20, "exclusion_days": 365}   (the item allows it)
#   "materials": {"<name>": {"commitment": true, "deferrable": {"days": 10}}}       (per material)
MATERIAL_RULE_KEYS = frozenset({"required_when", "commitment", "deferrable"})


def _commitment_problems(commitment: Any) -> list[tuple[str, str]]:
    if not isinstance(commitment, dict):
        return [("commitment", _("commitment 应当是 JSON 对象"))]
    problems = []
    text = commitment.get("text")
    if not isinstance(text, str) or len(text.strip()) < 10:
        problems.append(("commitment.text", _("须写明申请人签署的承诺内容（至少10个字）")))
    for key, upper in (("verification_days", 365), ("exclusion_days", 1095)):
        value = commitment.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= upper:
            problems.append(
                (f"commitment.{key}", _("%(key)s 应为1到%(upper)s之间的整数") % {"key": key, "upper": upper})
            )
    return problems


def form_commitment(*, definition: dict) -> dict | None:
    """The item's commitment terms (告知承诺制), or None when the item does not allow it."""
    commitment = definition.get("commitment")
    return commitment if isinstance(commitment, dict) else None


def form_material_options(*, definition: dict, material_name: str) -> dict[str, Any]:
    """Whether a material may be replaced by a commitment, and its deferral days (容缺), if any."""
    rule = (definition.get("materials") or {}).get(material_name) or {}
    return {
        "commitment": bool(rule.get("commitment")) and form_commitment(definition=definition) is not None,
        "deferrable_days": _deferrable_days(rule),
    }


def form_deferrable(*, definition: dict) -> bool:
    """Whether any material of the form may be deferred (容缺): a case filed with another form
    has no deferred material to date or wait for, and its actions need not look."""
    return any(_deferrable_days(rule) for rule in (definition.get("materials") or {}).values())


def _deferrable_days(rule: Any) -> Any:
    deferrable = rule.get("deferrable") if isinstance(rule, dict) else None
    return deferrable.get("days") if isinstance(deferrable, dict) else None


# --- the standard form -------------------------------------------------------------------------

# The standard form is data stored with each case, so its labels are written out in zh-hans and
# English (label_en) rather than translated at run time: the case shows what it was filed with.
_DELIVERY_LABELS = {
    DeliveryMethod.HALL: ("窗口领取", "Collect at the service hall"),
    DeliveryMethod.ELECTRONIC: ("电子送达", "Electronic delivery"),
    DeliveryMethod.EXPRESS: ("邮寄送达", "Express delivery"),
}


def _text(title: str, *, max_length: int, pattern: str | None = None) -> dict:
    prop: dict[str, Any] = {"type": "string", "title": title, "maxLength": max_length}
    if pattern:
        prop["pattern"] = pattern
    return prop


def form_definition_standard(
    *, for_persons: bool, for_companies: bool, express_delivery: bool, material_names: list[str]
) -> dict:
    """The form used when an implementation defines none.

    The applicant section is filled from the applicant's identity (for a company, its record,
    locked); when the item serves both, an applicant-kind choice shows one group or the other.
    Then a required statement of the request, and the delivery of the result, with express
    delivery and its address only when the implementation offers it. ``material_names`` is
    accepted for the callers' sake, but the standard form sets no material rules: without a
    form of its own an item's conditional materials are all listed as optional.
    """
    both = for_persons and for_companies
    persons = for_persons or not for_companies
    properties: dict[str, dict] = {}
    fields: dict[str, dict] = {}
    required: list[str] = []
    rules: list[dict] = []
    applicant: list[str] = []
    person_names = ["applicant_name", "applicant_identity_number", "applicant_phone"]
    company_names = ["company_name", "company_credit_code", "company_legal_representative"]

    if both:
        properties["applicant_kind"] = {
            "type": "string",
            "title": "申请人类型",
            "enum": ["person", "company"],
            "x-labels": ["个人", "法人或其他组织"],
            "x-labels-en": ["Person", "Company or organisation"],
        }
        fields["applicant_kind"] = {"widget": "choice", "label_en": "Applicant type"}
        required.append("applicant_kind")
        applicant.append("applicant_kind")
    if persons:
        properties.update(
            applicant_name=_text("申请人姓名", max_length=64),
            applicant_identity_number=_text("身份证号", max_length=18),
            applicant_phone=_text("联系电话", max_length=16, pattern=r"^1\d{10}$|^1\d{2}\*{4}\d{4}$"),
        )
        fields.update(
            applicant_name={"widget": "text", "label_en": "Name", "prefill": "person.name"},
            applicant_identity_number={
                "widget": "text",
                "label_en": "Identity number",
                "prefill": "person.identity_number",
            },
            applicant_phone={
                "widget": "text",
                "label_en": "Phone",
                "prefill": "person.phone",
                "help": "用于接收办理进度短信",
                "help_en": "Progress messages are sent to this number",
            },
        )
        applicant += person_names
    if for_companies:
        properties.update(
            company_name=_text("单位名称", max_length=255),
            company_credit_code=_text("统一社会信用代码", max_length=18),
            company_legal_representative=_text("法定代表人", max_length=64),
        )
        fields.update(
            company_name={"widget": "text", "label_en": "Name of the company", "prefill": "company.name"},
            company_credit_code={
                "widget": "text",
                "label_en": "Unified social credit code",
                "prefill": "company.credit_code",
            },
            company_legal_representative={
                "widget": "text",
                "label_en": "Legal representative",
                "prefill": "company.legal_representative",
            },
        )
        applicant += company_names
    if both:
        for kind, names in (("person", person_names), ("company", company_names)):
            for name in names:
                fields[name]["show_when"] = {"field": "applicant_kind", "equals": kind}
            rules.append(_require_when_equals("applicant_kind", kind, names))
    else:
        required += person_names if persons else company_names

    properties["application_statement"] = {
        "type": "string",
        "title": "申请事项说明",
        "minLength": 2,
        "maxLength": 2000,
    }
    fields["application_statement"] = {
        "widget": "textarea",
        "label_en": "What you are applying for",
        "help": "简要说明申请的具体事项和理由",
        "help_en": "Say briefly what you ask for and why",
    }
    required.append("application_statement")
    application = ["application_statement"]

    methods = [DeliveryMethod.HALL, DeliveryMethod.ELECTRONIC] + ([DeliveryMethod.EXPRESS] if express_delivery else [])
    properties["delivery"] = {
        "type": "string",
        "title": "结果送达方式",
        "enum": [str(method.value) for method in methods],
        "x-labels": [_DELIVERY_LABELS[method][0] for method in methods],
        "x-labels-en": [_DELIVERY_LABELS[method][1] for method in methods],
    }
    fields["delivery"] = {"widget": "choice", "label_en": "How to receive the result"}
    required.append("delivery")
    delivery = ["delivery"]
    if express_delivery:
        properties["delivery_address"] = address_property("邮寄地址")
        fields["delivery_address"] = {
            "widget": "address",
            "label_en": "Postal address",
            "show_when": {"field": "delivery", "equals": str(DeliveryMethod.EXPRESS.value)},
        }
        rules.append(_require_when_equals("delivery", str(DeliveryMethod.EXPRESS.value), ["delivery_address"]))
        delivery.append("delivery_address")

    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if rules:
        schema["allOf"] = rules
    return {
        "version": 1,
        "schema": schema,
        "layout": [
            {"section": "申请人信息", "section_en": "Applicant", "fields": applicant},
            {"section": "申请内容", "section_en": "Application", "fields": application},
            {"section": "结果送达", "section_en": "Delivery of the result", "fields": delivery},
        ],
        "fields": fields,
        # No rules: conditional materials are listed as optional (form_materials).
        "materials": {},
    }


def address_property(title: str) -> dict:
    """The schema of an address field: a county-level region code and the street address."""
    return {
        "type": "object",
        "title": title,
        "properties": {
            "region": {"type": "string", "title": "所在地区", "x-title-en": "Region", "pattern": r"^\d{6}$"},
            "detail": {
                "type": "string",
                "title": "详细地址",
                "x-title-en": "Street address",
                "minLength": 2,
                "maxLength": 200,
            },
        },
        "required": ["region", "detail"],
    }


def _require_when_equals(field: str, value: Any, names: list[str]) -> dict:
    return {"if": {"properties": {field: {"const": value}}, "required": [field]}, "then": {"required": names}}


def form_definition_effective(
    *, definition: dict, for_persons: bool, for_companies: bool, express_delivery: bool, material_names: list[str]
) -> dict:
    """The implementation's own form, or the standard one when it defines none (``{}``)."""
    if definition:
        return definition
    return form_definition_standard(
        for_persons=for_persons,
        for_companies=for_companies,
        express_delivery=express_delivery,
        material_names=material_names,
    )


# --- prefill -----------------------------------------------------------------------------------


def form_prefill(*, definition: dict, person: Person | None, company: Company | None) -> Prefill:
    """Fill the fields that name a prefill source from the person's and company's records.

    Identity and phone numbers are the masked copies. Fields with a locked source are locked
    even when the source has nothing (a person acting for no company cannot type a company's
    name in); the hash is an HMAC keyed from SECRET_KEY over the locked values.
    """
    readers = _source_readers(person=person, company=company)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    locked: list[str] = []
    for name in _field_order(definition):
        source = _field_meta(definition, name).get("prefill")
        if source not in PREFILL_SOURCES:
            continue
        value = (readers[source]() or "").strip()
        if value:
            values[name] = value
            sources[name] = source
        if PREFILL_SOURCES[source].locked:
            locked.append(name)
            sources[name] = source
    return Prefill(values=values, sources=sources, locked=locked, hash=_prefill_hash(values=values, locked=locked))


def _source_readers(*, person: Person | None, company: Company | None) -> dict[str, Callable[[], str | None]]:
    registry_record: list[RegistryCompany | None] = []

    def registry() -> RegistryCompany | None:
        # Read once, and only when a field asks for it. No selector in govhall.accounts reads
        # the registry tables by credit code, so this is a read-only query on the model.
        if not registry_record:
            registry_record.append(
                RegistryCompany.objects.filter(credit_code=company.credit_code).only("name", "kind").first()
                if company is not None
                else None
            )
        return registry_record[0]

    def registry_kind() -> str | None:
        record = registry()
        return _company_kind_label(record.kind) if record is not None else None

    def registry_name() -> str | None:
        record = registry()
        return record.name if record is not None else None

    return {
        "person.name": lambda: person.name if person else None,
        "person.identity_number": lambda: person.identity_number_masked if person else None,
        "person.phone": lambda: person.phone_masked if person else None,
        "person.email": lambda: person.email if person else None,
        "company.name": lambda: company.name if company else None,
        "company.credit_code": lambda: company.credit_code if company else None,
        "company.kind": lambda: _company_kind_label(company.kind) if company else None,
        "company.legal_representative": lambda: company.legal_representative.name if company else None,
        "registry.company.name": registry_name,
        "registry.company.kind": registry_kind,
    }


def _company_kind_label(kind: str) -> str:
    # Stored in zh-hans whatever the page language, like every other value in case data.
    with translation.override("zh-hans"):
        return str(CompanyKind(kind).label) if kind in CompanyKind.values else kind


def _prefill_hash(*, values: dict, locked: list[str]) -> str:
    sealed = {name: values.get(name) for name in locked}
    canonical = json.dumps(sealed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return salted_hmac(PREFILL_HASH_PURPOSE, canonical, algorithm="sha256").hexdigest()


def prefill_as_stored(prefill: Prefill) -> dict:
    """What ``Case.prefilled`` keeps (the hash goes to ``Case.prefill_hash``)."""
    return {"values": dict(prefill.values), "sources": dict(prefill.sources), "locked": list(prefill.locked)}


def form_prefill_verify(*, data: dict, prefilled: dict, prefill_hash: str) -> list[str]:
    """Locked fields whose value in ``data`` differs from the one supplied; security check.

    When the stored prefill no longer matches its hash (someone changed ``Case.prefilled``),
    every locked field it names is returned, or ``["__all__"]`` when it names none, so a
    tampered prefill never verifies. A locked field absent from ``data`` (hidden by a
    condition) is not an alteration.
    """
    values = prefilled.get("values") or {}
    locked = [name for name in prefilled.get("locked") or [] if isinstance(name, str)]
    expected = _prefill_hash(values=values, locked=locked)
    if not prefill_hash or not constant_time_compare(expected, prefill_hash):
        return sorted(locked) or ["__all__"]
    return [name for name in locked if name in data and data[name] != values.get(name)]


# --- reading a POST ----------------------------------------------------------------------------


def form_data_from_post(*, definition: dict, post: QueryDict) -> dict:
    """The values of a portal form POST, as entered (numbers and dates stay strings).

    Inputs are named ``f-<name>``; an address sends ``f-<name>-region`` and ``f-<name>-detail``;
    a table row ``f-<name>-<row>-<column>``, and rows left wholly empty are dropped. File inputs
    are not read here: uploads belong to the case services.
    """
    data: dict[str, Any] = {}
    for name, prop in _properties(definition).items():
        key = f"{POST_PREFIX}{name}"
        widget = _widget(definition, name)
        if widget == "file":
            continue
        if widget == "multichoice":
            chosen = [value for value in post.getlist(key) if value != ""]
            if chosen or key in post:
                data[name] = chosen
        elif widget == "address":
            region, detail = post.get(f"{key}-region", ""), post.get(f"{key}-detail", "")
            if region or detail:
                data[name] = {"region": region, "detail": detail}
        elif widget == "table":
            rows = _table_rows_from_post(name=name, columns=list(_table_columns(prop)), post=post)
            if rows:
                data[name] = rows
        elif key in post:
            data[name] = post.get(key, "")
    return data


def _table_rows_from_post(*, name: str, columns: list[str], post: QueryDict) -> list[dict]:
    if not columns:
        return []
    cell = re.compile(
        rf"^{re.escape(POST_PREFIX + name)}-(\d{{1,4}})-({'|'.join(re.escape(column) for column in columns)})$"
    )
    rows: dict[int, dict[str, str]] = {}
    for key in post:
        match = cell.match(key)
        if match and int(match[1]) < TABLE_ROWS_PARSED:
            rows.setdefault(int(match[1]), {})[match[2]] = post.get(key, "")
    return [rows[index] for index in sorted(rows) if any(value.strip() for value in rows[index].values())]


# --- coercion and conditions -------------------------------------------------------------------


class _Bad:
    """A typed value that cannot be read as its type; ``kind`` names the problem."""

    def __init__(self, raw: Any, kind: str) -> None:
        self.raw = raw
        self.kind = kind


_EMPTY = object()


def _coerce_scalar(prop: dict, value: Any) -> Any:
    """The value as its schema type, ``_EMPTY`` when nothing was entered, or a ``_Bad``."""
    if value is None:
        return _EMPTY
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text == "":
        return _EMPTY
    kind = _main_type(prop)
    if kind in ("number", "integer"):
        return _parse_number(text, integer=kind == "integer")
    if kind == "boolean":
        word = text.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        return _Bad(value, "boolean")
    if prop.get("format") == "date":
        return _parse_date(text)
    return text


def _parse_number(text: str, *, integer: bool) -> Any:
    # Full-width digits (１２３) come from Chinese input methods; NFKC makes them ASCII. Only
    # plain decimals are read: no exponents, NaN or digit separators, and no size that could
    # not be stored or compared cheaply.
    normalised = unicodedata.normalize("NFKC", text)
    if not PLAIN_NUMBER.match(normalised):
        return _Bad(text, "integer" if integer else "number")
    number = Decimal(normalised)
    if number == number.to_integral_value():
        return int(number)
    if integer:
        return _Bad(text, "integer")
    return float(number)


def _date_input_shows(value: str) -> bool:
    """Whether a date input can show ``value``: empty, or a real day written YYYY-MM-DD. A
    browser shows anything else (2024-02-30 as much as 五月一日) as empty and would send it back
    lost, so such a value is shown in a text input, as typed."""
    if not value:
        return True
    if not ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _parse_date(text: str) -> Any:
    match = DATE_TYPED.match(unicodedata.normalize("NFKC", text))
    if match is None:
        return _Bad(text, "date")
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return _Bad(text, "date")


def _coerce(definition: dict, data: dict) -> tuple[dict, dict[str, str]]:
    """Every known field's value as its type; bad values stay as typed, with their problem kind.

    Returns (values, problems) where problems maps error keys to problem kinds.
    """
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, prop in _properties(definition).items():
        if name not in data:
            continue
        widget = _widget(definition, name)
        raw = data[name]
        if widget == "multichoice":
            items: dict = prop["items"] if isinstance(prop.get("items"), dict) else {}
            chosen = [_coerce_scalar(items, item) for item in (raw if isinstance(raw, list) else [raw])]
            for item in chosen:
                if isinstance(item, _Bad):
                    problems.setdefault(name, item.kind)
            kept = [item.raw if isinstance(item, _Bad) else item for item in chosen if item is not _EMPTY]
            if kept:
                values[name] = kept
        elif widget == "address" and isinstance(raw, dict):
            # Only the declared parts are kept: case data holds nothing the form does not ask for.
            declared = prop.get("properties") or {}
            parts = {
                key: part.strip() if isinstance(part, str) else part for key, part in raw.items() if key in declared
            }
            parts = {key: part for key, part in parts.items() if part not in ("", None)}
            if parts:
                values[name] = parts
        elif widget == "table" and isinstance(raw, list):
            rows = _coerce_rows(name, prop, raw, problems)
            if rows:
                values[name] = rows
        elif widget in ("address", "table"):
            values[name] = raw  # Not an object or a list: the schema check says so.
        else:
            value = _coerce_scalar(prop, raw)
            if isinstance(value, _Bad):
                problems[name] = value.kind
                values[name] = value.raw
            elif value is not _EMPTY:
                values[name] = value
    return values, problems


def _coerce_rows(name: str, prop: dict, raw: list, problems: dict[str, str]) -> list:
    columns = _table_columns(prop)
    rows = []
    for row in raw:
        if not isinstance(row, dict):
            rows.append(row)
            continue
        cleaned: dict[str, Any] = {}
        for column, value in row.items():
            if column not in columns:
                continue
            coerced = _coerce_scalar(columns[column], value)
            if isinstance(coerced, _Bad):
                problems[f"{name}.{len(rows)}.{column}"] = coerced.kind
                cleaned[column] = coerced.raw
            elif coerced is not _EMPTY:
                cleaned[column] = coerced
        if cleaned:
            rows.append(cleaned)
    return rows


def _condition_holds(condition: Any, values: dict) -> bool:
    if not isinstance(condition, dict):
        return False
    value = values.get(condition.get("field", ""))
    if "equals" in condition:
        return value is not None and _same(value, condition["equals"])
    if "in" in condition:
        return value is not None and any(_same(value, option) for option in condition["in"] or [])
    if "contains" in condition:
        return isinstance(value, list) and any(_same(item, condition["contains"]) for item in value)
    return False


def _same(value: Any, expected: Any) -> bool:
    # True == 1 in Python; a condition on a boolean must not hold for the number 1.
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(value) is type(expected) and value == expected
    return value == expected


def _visible(definition: dict, values: dict) -> set[str]:
    """Fields shown for these values: their show_when holds and their controlling field is shown."""
    memo: dict[str, bool] = {}

    def shown(name: str, path: frozenset[str]) -> bool:
        if name not in memo:
            condition = _field_meta(definition, name).get("show_when")
            if not condition:
                memo[name] = True
            elif name in path:
                memo[name] = False
            else:
                controller = condition.get("field") if isinstance(condition, dict) else None
                memo[name] = (
                    isinstance(controller, str)
                    and shown(controller, path | {name})
                    and _condition_holds(condition, values)
                )
        return memo[name]

    return {name for name in _properties(definition) if shown(name, frozenset())}


def _effective(definition: dict, data: dict) -> tuple[dict, dict[str, str], set[str]]:
    values, problems = _coerce(definition, data)
    visible = _visible(definition, values)
    values = {name: value for name, value in values.items() if name in visible}
    problems = {key: kind for key, kind in problems.items() if key.split(".")[0] in visible}
    return values, problems, visible


def _required_now(definition: dict, values: dict) -> set[str]:
    """Fields required statically or by an if/then rule that holds for these values."""
    schema: dict = definition["schema"] if isinstance(definition.get("schema"), dict) else {}
    required = set(schema.get("required") or [])
    for rule in [schema, *(schema.get("allOf") or [])]:
        if isinstance(rule, dict) and isinstance(rule.get("if"), dict) and isinstance(rule.get("then"), dict):
            if Draft202012Validator(rule["if"]).is_valid(values):
                required |= set(rule["then"].get("required") or [])
    return required


# --- validation --------------------------------------------------------------------------------


def form_validate(
    *, definition: dict, data: dict, prefilled: dict, materials_present: set[str]
) -> tuple[dict, dict[str, str]]:
    """Clean and check application data the same way whether it came from JSON or a POST.

    Strings become numbers, ISO dates and booleans; fields hidden by show_when are dropped; the
    rest is validated with the JSON Schema. Errors are keyed by field (``<name>``, table cells
    ``<name>.<row>.<column>``, address parts ``<name>.region`` / ``<name>.detail``) with a
    message in the active language naming the field. A locked field may not differ from its
    prefilled value; a file field's value is its material's name when that material is among
    ``materials_present``. Even with errors, ``cleaned`` holds everything entered in the shown
    fields (bad values as typed) so the form can be shown again with nothing lost.
    """
    values, problems, visible = _effective(definition, data)
    errors: dict[str, str] = {key: _problem_message(definition, key, kind) for key, kind in problems.items()}
    _apply_prefill(definition, values, prefilled, visible, errors)
    _apply_files(definition, values, materials_present, visible)
    _check_regions(definition, values, errors)
    validator = Draft202012Validator(definition.get("schema") or {}, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in validator.iter_errors(values):
        for parts, validator_name in _error_locations(error):
            key = _error_key(definition, parts)
            if key.split(".")[0] in visible and key not in errors:
                errors[key] = _schema_message(definition, parts, validator_name, error.validator_value, prefilled)
    order = {name: index for index, name in enumerate(_field_order(definition))}
    ordered = dict(sorted(errors.items(), key=lambda item: (order.get(item[0].split(".")[0], len(order)), item[0])))
    return values, ordered


def _apply_prefill(definition: dict, values: dict, prefilled: dict, visible: set[str], errors: dict) -> None:
    supplied = prefilled.get("values") or {}
    sources = prefilled.get("sources") or {}
    for name in prefilled.get("locked") or []:
        if name not in visible:
            continue
        if name not in values:
            if supplied.get(name) is not None:
                values[name] = supplied[name]  # An API client need not echo locked values.
        elif values[name] != supplied.get(name):
            errors[name] = _("此项由系统根据%(source)s自动填写，不能修改") % {
                "source": _source_label(sources.get(name))
            }


def _apply_files(definition: dict, values: dict, materials_present: set[str], visible: set[str]) -> None:
    for name in _properties(definition):
        if _widget(definition, name) != "file" or name not in visible:
            continue
        stored_as = _file_stored_as(definition, name, materials_present)
        if stored_as is not None:
            values[name] = stored_as
        else:
            values.pop(name, None)


def form_file_inputs(*, definition: dict) -> list[tuple[str, str]]:
    """(material, input name) of each upload field the form shows, in its order: where a POST
    carries a file chosen in the form itself. Read from the definition alone; making the
    sections for this (``form_sections``) cost a page's worth of work on every POST."""
    inputs = []
    layout: list = definition["layout"] if isinstance(definition.get("layout"), list) else []
    for section in layout:
        for name in section.get("fields") or [] if isinstance(section, dict) else []:
            if name in _properties(definition) and _widget(definition, name) == "file":
                inputs.append((_file_material(definition, name), f"{POST_PREFIX}{name}"))
    return inputs


def _file_stored_as(definition: dict, name: str, materials_present: set[str]) -> str | None:
    """The name a file field's upload is stored under: its material's name, or (for a field
    naming no material of the item) the field's own name; None when nothing is uploaded."""
    return next((key for key in (_file_material(definition, name), name) if key in materials_present), None)


def _file_material(definition: dict, name: str) -> str:
    return str(_field_meta(definition, name).get("material") or _properties(definition)[name].get("title") or name)


def _check_regions(definition: dict, values: dict, errors: dict) -> None:
    addresses = [
        name
        for name in _properties(definition)
        if _widget(definition, name) == "address" and isinstance(values.get(name), dict) and values[name].get("region")
    ]
    if not addresses:
        return
    counties = set(region_list(level=RegionLevel.COUNTY).values_list("code", flat=True))
    for name in addresses:
        region = values[name]["region"]
        if not isinstance(region, str) or region not in counties:
            key = f"{name}.region"
            errors.setdefault(
                key, _("请从列表中选择「%(label)s」") % {"label": _describe(definition, [name, "region"])[0]}
            )


def _error_locations(error: ValidationError) -> list[tuple[list, str]]:
    parts = list(error.absolute_path)
    validator_name = str(error.validator)
    if validator_name == "required" and isinstance(error.instance, dict):
        return [([*parts, missing], "required") for missing in error.validator_value if missing not in error.instance]
    return [(parts, validator_name)]


def _error_key(definition: dict, parts: list) -> str:
    if not parts:
        return "__all__"
    if _widget(definition, str(parts[0])) in ("multichoice", "choice", "text", "textarea", "number", "date", "file"):
        return str(parts[0])
    return ".".join(str(part) for part in parts[:3])


def _describe(definition: dict, parts: list) -> tuple[str, dict, str]:
    """(label, schema of the value, widget-like kind) for an error location."""
    name = str(parts[0])
    prop = _properties(definition).get(name) or {}
    widget = _widget(definition, name)
    label = _label(definition, name)
    if widget == "address" and len(parts) > 1:
        part_prop = (prop.get("properties") or {}).get(str(parts[1])) or {}
        default = _("所在地区") if parts[1] == "region" else _("详细地址")
        part = _sub_label(part_prop) or default
        return (
            _("%(field)s（%(part)s）") % {"field": label, "part": part},
            part_prop,
            ("choice" if parts[1] == "region" else "text"),
        )
    if widget == "table" and len(parts) > 1:
        row = int(parts[1]) + 1 if str(parts[1]).isdigit() else parts[1]
        if len(parts) == 2:
            return _("%(table)s第 %(row)s 行") % {"table": label, "row": row}, prop.get("items") or {}, "row"
        column_prop = _table_columns(prop).get(str(parts[2])) or {}
        column = _sub_label(column_prop) or str(parts[2])
        kind = _default_widget(column_prop)
        return (
            _("%(table)s第 %(row)s 行的%(column)s") % {"table": label, "row": row, "column": column},
            column_prop,
            "integer" if kind == "number" and _main_type(column_prop) == "integer" else kind,
        )
    if widget == "number" and _main_type(prop) == "integer":
        return label, prop, "integer"
    return label, prop, widget


def _problem_message(definition: dict, key: str, kind: str) -> str:
    parts: list = [int(part) if part.isdigit() else part for part in key.split(".")]
    label = _describe(definition, parts)[0]
    return {
        "number": _("「%(label)s」请填写数字"),
        "integer": _("「%(label)s」请填写整数"),
        "date": _("「%(label)s」请按 YYYY-MM-DD 格式填写日期，例如 2024-05-01"),
        "boolean": _("请选择「%(label)s」"),
    }[kind] % {"label": label}


def _schema_message(definition: dict, parts: list, validator_name: str, limit: Any, prefilled: dict) -> str:
    if not parts:
        return _("申请表填写的内容不符合要求")
    label, _schema, kind = _describe(definition, parts)
    name = str(parts[0])
    locked = name in (prefilled.get("locked") or []) and len(parts) == 1
    values = {"label": label, "limit": _display(limit)}
    if validator_name == "required":
        if locked:
            source = _source_label((prefilled.get("sources") or {}).get(name))
            return _("「%(label)s」须由系统根据%(source)s自动填写，当前账号没有相应信息") % {
                "label": label,
                "source": source,
            }
        if kind in ("choice", "multichoice", "boolean"):
            return _("请选择「%(label)s」") % values
        if kind == "file":
            return _("请上传「%(label)s」") % values
        if kind == "table":
            return _("请至少填写一行「%(label)s」") % values
        return _("请填写「%(label)s」") % values
    if validator_name == "type":
        if kind == "integer":
            return _("「%(label)s」请填写整数") % values
        if kind == "number":
            return _("「%(label)s」请填写数字") % values
        if kind in ("choice", "multichoice"):
            return _("请选择「%(label)s」") % values
    rows = kind == "table"
    messages = {
        "enum": _("「%(label)s」的选项无效，请重新选择"),
        "const": _("「%(label)s」的选项无效，请重新选择"),
        "minimum": _("「%(label)s」不能小于 %(limit)s"),
        "maximum": _("「%(label)s」不能大于 %(limit)s"),
        "exclusiveMinimum": _("「%(label)s」应当大于 %(limit)s"),
        "exclusiveMaximum": _("「%(label)s」应当小于 %(limit)s"),
        "multipleOf": _("「%(label)s」应当是 %(limit)s 的整数倍"),
        "minLength": _("「%(label)s」至少填写 %(limit)s 个字"),
        "maxLength": _("「%(label)s」最多填写 %(limit)s 个字"),
        "pattern": _("「%(label)s」的格式不正确"),
        "minItems": _("「%(label)s」至少填写 %(limit)s 行") if rows else _("「%(label)s」至少选择 %(limit)s 项"),
        "maxItems": _("「%(label)s」最多填写 %(limit)s 行") if rows else _("「%(label)s」最多选择 %(limit)s 项"),
        "uniqueItems": _("「%(label)s」有重复的内容"),
    }
    if validator_name == "format":
        if limit == "date":
            return _("「%(label)s」请按 YYYY-MM-DD 格式填写日期，例如 2024-05-01") % values
        return _("「%(label)s」的格式不正确") % values
    return messages.get(validator_name, _("「%(label)s」填写的内容不符合要求")) % values


def _source_label(source: str | None) -> str:
    known = PREFILL_SOURCES.get(source or "")
    return str(known.label) if known else _("系统")


# --- materials ---------------------------------------------------------------------------------


def form_materials(
    *, definition: dict, materials: list[dict], data: dict, wallet: dict[str, Any] | None = None
) -> list[dict]:
    """The implementation's materials with ``required``, ``visible`` and ``shared`` for this data.

    A required material is required; a conditional one with a ``required_when`` rule is shown
    and required only while its condition holds, and one without a rule is shown as optional.
    A material that a licence type stands in for is ``shared`` when the applicant holds a valid
    licence of that type (``wallet``: licence type code → the licence, or None for a type the
    platform's licence catalogue knows but the applicant does not hold; ``from_wallet`` names
    the licence), and asked like any other when the applicant does not hold one. A material
    issued by a government department (or standing for a licence type the platform does not
    keep) is ``shared`` as the department obtains it from its source. Shared materials are not
    asked for (DOMAIN.md, "Reused materials").
    """
    values, _problems, visible = _effective(definition, data)
    rules = definition.get("materials") if isinstance(definition.get("materials"), dict) else {}
    result = []
    for material in materials:
        type_code = material.get("licence_type_code") or ""
        kept = bool(type_code) and type_code in (wallet or {})
        held = (wallet or {}).get(type_code) if kept else None
        if kept:
            shared = held is not None
        else:
            shared = material.get("source") == MaterialSource.GOVERNMENT or bool(type_code)
        rule = (rules or {}).get(material.get("name"))
        condition = rule.get("required_when") if isinstance(rule, dict) else None
        if material.get("requirement") == MaterialRequirement.REQUIRED:
            shown, needed = True, True
        elif material.get("requirement") == MaterialRequirement.CONDITIONAL and condition:
            holds = isinstance(condition, dict) and condition.get("field") in visible
            shown = needed = holds and _condition_holds(condition, values)
        else:
            shown, needed = True, False
        result.append(
            {
                **material,
                "visible": shown,
                "required": needed and not shared,
                "shared": shared,
                "from_wallet": held,
            }
        )
    return result


# --- render-ready sections ---------------------------------------------------------------------


def form_sections(
    *,
    definition: dict,
    data: dict,
    prefilled: dict,
    errors: dict,
    language: str,
    materials_present: set[str] | None = None,
) -> list[dict]:
    """Sections and fields ready for ``application_form_html.form_fields_html``.

    ``data`` is what was entered (``form_data_from_post``) or stored (cleaned); values are shown
    back exactly as they are there, locked fields always show their prefilled value. Required
    and visible follow the current data. File fields show as uploaded when their material is in
    ``materials_present`` (or when ``data`` names it). The county list for address fields is
    read once per call.
    """
    values, _problems, visible = _effective(definition, data)
    coerced, _problems = _coerce(definition, data)
    required = _required_now(definition, values)
    supplied = prefilled.get("values") or {}
    sources = prefilled.get("sources") or {}
    locked = set(prefilled.get("locked") or [])
    regions: list[tuple[str, list[tuple[str, str]]]] | None = None
    sections = []
    layout: list = definition["layout"] if isinstance(definition.get("layout"), list) else []
    for section in layout:
        if not isinstance(section, dict):
            continue
        fields = []
        for name in section.get("fields") or []:
            if name not in _properties(definition):
                continue
            if _widget(definition, name) == "address" and regions is None:
                regions = region_counties_by_city()
            fields.append(
                _section_field(
                    definition,
                    name,
                    data=data,
                    coerced=coerced,
                    errors=errors,
                    language=language,
                    shown=name in visible,
                    required=name in required,
                    prefill_value=supplied.get(name),
                    source=sources.get(name),
                    locked=name in locked,
                    regions=regions or [],
                    materials_present=materials_present or set(),
                )
            )
        title = (
            section.get("section_en") if _english(language) and section.get("section_en") else section.get("section")
        )
        conditions = {field["show_when"] for field in fields}
        # A section whose fields all share one condition is hidden and shown with them.
        shared = conditions.pop() if len(conditions) == 1 else ""
        sections.append(
            {
                "title": str(title or ""),
                "fields": fields,
                "show_when": shared,
                "visible": not shared or any(field["visible"] for field in fields),
            }
        )
    return sections


def _section_field(
    definition: dict,
    name: str,
    *,
    data: dict,
    coerced: dict,
    errors: dict,
    language: str,
    shown: bool,
    required: bool,
    prefill_value: Any,
    source: str | None,
    locked: bool,
    regions: list,
    materials_present: set[str],
) -> dict:
    prop = _properties(definition)[name]
    meta = _field_meta(definition, name)
    widget = _widget(definition, name)
    english = _english(language)
    input_name = f"{POST_PREFIX}{name}"
    raw = data.get(name)
    if locked or (raw is None and prefill_value is not None):
        raw = prefill_value
    show_when = meta.get("show_when")
    field: dict[str, Any] = {
        "name": name,
        "input_name": input_name,
        "id": input_name,
        "label": _label(definition, name, language=language),
        "widget": widget,
        "value": _display(raw) if widget in SCALAR_WIDGETS else "",
        "required": shown and required,
        "visible": shown,
        "show_when": json.dumps(show_when, ensure_ascii=False) if show_when else "",
        "prefilled": prefill_value is not None,
        "locked": locked,
        "source_label": _source_label(source) if source else "",
        "error": str(errors.get(name, "")),
        "error_id": f"{input_name}-error",
        "help": str(meta.get("help_en") if english and meta.get("help_en") else meta.get("help") or ""),
        "help_id": f"{input_name}-help",
        "choices": [],
        "selected": [],
    }
    field["described_by"] = _described_by(field)
    if widget in ("choice", "multichoice"):
        field["choices"] = _choices(prop, language=language)
        # Chosen values as read (so "是" or true select the same option as "true").
        typed = raw if locked or name not in coerced else coerced[name]
        chosen = typed if isinstance(typed, list) else [] if typed is None else [typed]
        field["selected"] = [_display(value) for value in chosen]
        field["as_radios"] = len(field["choices"]) <= RADIO_CHOICES_AT_MOST
        labels = dict(field["choices"])
        field["value_label"] = labels.get(field["value"], field["value"])
    elif widget == "number":
        field["input_mode"] = "numeric" if _main_type(prop) == "integer" else "decimal"
    elif widget == "date":
        # type=date would show a value it cannot read as empty, losing what was typed.
        field["input_type"] = "date" if _date_input_shows(field["value"]) else "text"
    elif widget == "address":
        field.update(_address_part(definition, name, raw, errors, language=language, regions=regions))
    elif widget == "table":
        field.update(_table_part(definition, name, prop, raw, errors, language=language))
    elif widget == "file":
        material = _file_material(definition, name)
        field["material"] = material
        field["uploaded"] = _file_stored_as(definition, name, materials_present) is not None or raw in (material, name)
    return field


def _described_by(part: dict) -> str:
    """The ids of the help and error texts an input is described by (aria-describedby)."""
    ids = [part[key] for key, text in (("help_id", "help"), ("error_id", "error")) if part.get(text)]
    return " ".join(ids)


def _address_part(definition: dict, name: str, raw: Any, errors: dict, *, language: str, regions: list) -> dict:
    parts = raw if isinstance(raw, dict) else {}
    sub = _properties(definition)[name].get("properties") or {}
    address = {
        "region": {
            "id": f"{POST_PREFIX}{name}-region",
            "label": _sub_label(sub.get("region") or {}, language=language) or _("所在地区"),
            "value": _display(parts.get("region")),
            "error": str(errors.get(f"{name}.region", "")),
            "error_id": f"{POST_PREFIX}{name}-region-error",
        },
        "detail": {
            "id": f"{POST_PREFIX}{name}-detail",
            "label": _sub_label(sub.get("detail") or {}, language=language) or _("详细地址"),
            "value": _display(parts.get("detail")),
            "error": str(errors.get(f"{name}.detail", "")),
            "error_id": f"{POST_PREFIX}{name}-detail-error",
        },
    }
    for part in address.values():
        part["described_by"] = _described_by(part)
    return {**address, "regions": regions}


def _table_part(definition: dict, name: str, prop: dict, raw: Any, errors: dict, *, language: str) -> dict:
    columns: list[dict[str, Any]] = []
    for column, column_prop in _table_columns(prop).items():
        kind = _default_widget(column_prop)
        columns.append(
            {
                "name": column,
                "id": f"{POST_PREFIX}{name}-column-{column}",
                "label": _sub_label(column_prop, language=language) or column,
                "widget": kind,
                "required": column in ((prop.get("items") or {}).get("required") or []),
                "choices": _choices(column_prop, language=language) if kind == "choice" else [],
                "input_mode": "numeric" if _main_type(column_prop) == "integer" else "decimal",
            }
        )
    existing = [row if isinstance(row, dict) else {} for row in raw] if isinstance(raw, list) else []
    limit = prop.get("maxItems")
    count = len(existing) + EMPTY_TABLE_ROWS_SHOWN
    if isinstance(limit, int):
        count = max(len(existing), min(count, limit))
    rows = []
    for index in range(count):
        row = existing[index] if index < len(existing) else {}
        cells = []
        for spec in columns:
            cell_id = f"{POST_PREFIX}{name}-{index}-{spec['name']}"
            value = _display(row.get(spec["name"]))
            cells.append(
                {
                    "column": spec,
                    "id": cell_id,
                    "value": value,
                    "error": str(errors.get(f"{name}.{index}.{spec['name']}", "")),
                    "error_id": f"{cell_id}-error",
                    "input_type": "date" if spec["widget"] == "date" and _date_input_shows(value) else "text",
                }
            )
            cells[-1]["described_by"] = _described_by(cells[-1])
        rows.append(
            {
                "index": index,
                "number": index + 1,
                "header_id": f"{POST_PREFIX}{name}-row-{index}",
                "error": str(errors.get(f"{name}.{index}", "")),
                "cells": cells,
            }
        )
    return {"columns": columns, "rows": rows, "max_rows": limit if isinstance(limit, int) else None}


def form_error_summary(*, definition: dict, errors: dict[str, str]) -> list[tuple[str, str, str]]:
    """(anchor, label, message) per error, in form order, for an error summary at the top; the
    anchor is the id of the input to go to (the first one of a group, address or table)."""
    summary = []
    for key, message in errors.items():
        parts: list = [int(part) if part.isdigit() else part for part in key.split(".")]
        if parts[0] not in _properties(definition):
            summary.append(("", "", message))
            continue
        summary.append((_error_anchor(definition, parts), _describe(definition, parts)[0], message))
    return summary


def _error_anchor(definition: dict, parts: list) -> str:
    name = str(parts[0])
    widget = _widget(definition, name)
    prop = _properties(definition)[name]
    if len(parts) > 1:
        return POST_PREFIX + "-".join(str(part) for part in parts)
    if widget == "multichoice" or (widget == "choice" and len(_choices(prop)) <= RADIO_CHOICES_AT_MOST):
        return f"{POST_PREFIX}{name}-0"
    if widget == "address":
        return f"{POST_PREFIX}{name}-region"
    if widget == "table":
        first_column = next(iter(_table_columns(prop)), "")
        return f"{POST_PREFIX}{name}-0-{first_column}"
    return f"{POST_PREFIX}{name}"
