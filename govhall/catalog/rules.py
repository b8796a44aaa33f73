"""The catalogue's rules, checked on every draft and again on approval.

Each check returns violations keyed by the element (model field) they concern, so forms, the
import and the API show the message on the element it names.
"""

from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from govhall.catalog.models import (
    AreaOfHandling,
    Audience,
    CaseType,
    CatalogueEntry,
    DayUnit,
    Implementation,
    ItemKind,
    Material,
    MaterialForm,
    MaterialRequirement,
    MaterialSource,
    ProcessStep,
    ResultType,
    SourceOfPower,
)

# The four elements that must be the same at province, city and county level ("三级四同").
UNIFORM_ELEMENTS = ("name", "basic_code", "kind", "legal_basis")

ENTRY_FIELDS = ("basic_code", "name", "kind", "legal_basis", "description", "for_persons", "for_companies", "themes")

IMPLEMENTATION_TEXT_FIELDS = (
    "entrusted_agency",
    "acceptance_conditions",
    "address",
    "office_hours",
    "fee_standard",
    "fee_basis",
    "special_procedures",
    "consultation_phone",
    "supervision_phone",
    "result_name",
    "licence_type_code",
    "online_depth",
)
IMPLEMENTATION_CHOICE_FIELDS = {
    "source_of_power": SourceOfPower,
    "statutory_time_limit_unit": DayUnit,
    "promised_time_limit_unit": DayUnit,
    "case_type": CaseType,
    "area_of_handling": AreaOfHandling,
    "result_type": ResultType,
}
IMPLEMENTATION_NUMBER_FIELDS = (
    "statutory_time_limit_days",
    "promised_time_limit_days",
    "site_visits",
    "assurance_level",
)
IMPLEMENTATION_FLAG_FIELDS = (
    "charges_fee",
    "online_available",
    "online_payment",
    "express_delivery",
    "appointment",
    "handled_in_hall",
)
MATERIAL_CHOICE_FIELDS = {
    "requirement": MaterialRequirement,
    "form": MaterialForm,
    "source": MaterialSource,
}
ELEMENT_LABELS = {
    "name": gettext_lazy("事项名称"),
    "basic_code": gettext_lazy("基本编码"),
    "kind": gettext_lazy("事项类型"),
    "legal_basis": gettext_lazy("设定依据"),
}


class Violations:
    """Collects messages per element and raises them together, so nothing is reported piecemeal."""

    def __init__(self) -> None:
        self.by_element: dict[str, list[str]] = defaultdict(list)

    def add(self, element: str, message: str) -> None:
        self.by_element[element].append(message)

    def raise_if_any(self) -> None:
        if self.by_element:
            raise ValidationError({element: messages for element, messages in self.by_element.items()})


def entry_payload_check(payload: dict[str, Any], violations: Violations) -> None:
    for element in ("basic_code", "name", "legal_basis"):
        if not str(payload.get(element) or "").strip():
            violations.add(element, _("此项必须填写。"))
    if payload.get("kind") not in ItemKind.values:
        violations.add("kind", _("事项类型不在规定的类型之内。"))
    if not (payload.get("for_persons") or payload.get("for_companies")):
        violations.add("for_persons", _("请至少选择一类服务对象（个人或法人）。"))
    if payload.get("audience") not in (None, *Audience.values):
        violations.add("audience", _("服务对象不正确。"))


def uniform_elements_check(payload: dict[str, Any], entry: CatalogueEntry, violations: Violations) -> None:
    """三级四同: an implementation carries its entry's name, code, kind and legal basis unchanged."""
    for element in UNIFORM_ELEMENTS:
        if element not in payload or payload[element] in (None, ""):
            continue
        expected = getattr(entry, element)
        if str(payload[element]).strip() != str(expected).strip():
            violations.add(
                element,
                _("“三级四同”要求%(element)s与基本目录一致：基本目录为“%(expected)s”，此处为“%(given)s”。")
                % {"element": ELEMENT_LABELS[element], "expected": _short(expected), "given": _short(payload[element])},
            )


def time_limits_check(payload: dict[str, Any], violations: Violations) -> None:
    """The promised time limit may not exceed the statutory one (Administrative Licensing Law art. 42)."""
    statutory = payload.get("statutory_time_limit_days")
    promised = payload.get("promised_time_limit_days")
    if not isinstance(statutory, int) or not isinstance(promised, int):
        return
    statutory_unit = payload.get("statutory_time_limit_unit")
    promised_unit = payload.get("promised_time_limit_unit")
    if promised_unit == DayUnit.WORKING and statutory_unit == DayUnit.CALENDAR:
        violations.add(
            "promised_time_limit_unit",
            _("法定时限以自然日计时，承诺时限也须以自然日计，否则遇节假日可能超过法定时限。"),
        )
    elif promised > statutory:
        violations.add(
            "promised_time_limit_days",
            _("承诺办结时限（%(promised)s日）不得超过法定办结时限（%(statutory)s日）。")
            % {"promised": promised, "statutory": statutory},
        )
    if payload.get("case_type") == CaseType.IMMEDIATE and promised > 1:
        violations.add("case_type", _("即办件的承诺办结时限不得超过1个工作日。"))


def implementation_payload_check(payload: dict[str, Any], violations: Violations) -> None:
    if not str(payload.get("acceptance_conditions") or "").strip():
        violations.add("acceptance_conditions", _("此项必须填写。"))
    for element, choices in IMPLEMENTATION_CHOICE_FIELDS.items():
        if payload.get(element) not in choices.values:
            violations.add(element, _("取值不在规定的选项之内。"))
    for element in IMPLEMENTATION_NUMBER_FIELDS:
        value = payload.get(element)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > 3650:
            violations.add(element, _("请填写0到3650之间的整数。"))
    if payload.get("assurance_level") not in (1, 2, 3, 4):
        violations.add("assurance_level", _("实名认证等级要求须为L1至L4之一。"))
    site_visits = payload.get("site_visits")
    if isinstance(site_visits, int) and site_visits > 5:
        violations.add("site_visits", _("到办事现场次数不应超过5次。"))
    depth = str(payload.get("online_depth") or "")
    if depth and (not depth.isdigit() or set(depth) - set("1234567") or "".join(sorted(set(depth))) != depth):
        violations.add("online_depth", _("网上办理深度须为1至7的数字，按从小到大排列、不重复。"))
    if payload.get("online_available") is False and set(depth) & set("2345"):
        violations.add("online_depth", _("不支持网上办理的事项不能选择网上收件、预审、受理或办理。"))
    if payload.get("charges_fee") and not str(payload.get("fee_basis") or "").strip():
        violations.add("fee_basis", _("收费事项必须写明收费依据。"))
    if payload.get("charges_fee") and not str(payload.get("fee_standard") or "").strip():
        violations.add("fee_standard", _("收费事项必须写明收费标准。"))
    if payload.get("result_type") == ResultType.LICENCE and not str(payload.get("result_name") or "").strip():
        violations.add("result_name", _("结果为证照的事项必须写明证照名称。"))
    time_limits_check(payload, violations)
    materials_check(payload.get("materials") or [], violations)
    process_steps_check(payload.get("process_steps") or [], violations)


def materials_check(materials: list[dict[str, Any]], violations: Violations) -> None:
    names: set[str] = set()
    for number, material in enumerate(materials, start=1):
        name = str(material.get("name") or "").strip()
        prefix = _("第%(number)s项材料") % {"number": number}
        if not name:
            violations.add("materials", _("%(prefix)s：材料名称必须填写。") % {"prefix": prefix})
        elif name in names:
            violations.add("materials", _("%(prefix)s：材料“%(name)s”重复。") % {"prefix": prefix, "name": name})
        names.add(name)
        for element, choices in MATERIAL_CHOICE_FIELDS.items():
            if material.get(element) not in choices.values:
                violations.add(
                    "materials", _("%(prefix)s：%(element)s取值不正确。") % {"prefix": prefix, "element": element}
                )
        if (
            material.get("requirement") == MaterialRequirement.CONDITIONAL
            and not str(material.get("condition") or "").strip()
        ):
            violations.add("materials", _("%(prefix)s：情形必要的材料须写明在何种情形下提交。") % {"prefix": prefix})
        copies = material.get("copies")
        if not isinstance(copies, int) or isinstance(copies, bool) or not 0 <= copies <= 99:
            violations.add("materials", _("%(prefix)s：份数须为0到99之间的整数。") % {"prefix": prefix})


def process_steps_check(steps: list[dict[str, Any]], violations: Violations) -> None:
    for number, step in enumerate(steps, start=1):
        if not str(step.get("name") or "").strip():
            violations.add("process_steps", _("第%(number)s个环节：环节名称必须填写。") % {"number": number})
        duration = step.get("duration_days", 0)
        if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
            violations.add("process_steps", _("第%(number)s个环节：环节时限须为非负整数。") % {"number": number})


def _short(value: Any, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _max_lengths(model: Any) -> dict[str, tuple[int, str]]:
    """Each text column's length limit and its element name."""
    return {
        field.name: (field.max_length, str(field.verbose_name))
        for field in model._meta.get_fields()
        if getattr(field, "max_length", None) and field.get_internal_type() in ("CharField", "SlugField")
    }


def text_lengths_check(payload: dict[str, Any], violations: Violations) -> None:
    """Text longer than its column is refused here, with its element named, not by the database."""
    for element, (limit, _label) in _max_lengths(Implementation).items():
        if len(str(payload.get(element) or "")) > limit:
            violations.add(element, _("不能超过%(limit)s个字符。") % {"limit": limit})
    for rows, model, label in (
        (payload.get("materials") or [], Material, "materials"),
        (payload.get("process_steps") or [], ProcessStep, "process_steps"),
    ):
        limits = _max_lengths(model)
        for number, row in enumerate(rows, start=1):
            for element, (limit, element_label) in limits.items():
                if len(str(row.get(element) or "")) > limit:
                    violations.add(
                        label,
                        _("第%(number)s行：%(element)s不能超过%(limit)s个字符。")
                        % {"number": number, "element": element_label, "limit": limit},
                    )


def definitions_check(payload: dict[str, Any], violations: Violations) -> None:
    """The application form and process definition must be runnable: checked when saved, so
    no case is ever filed under a broken one."""
    from govhall.cases.application_form import form_definition_check
    from govhall.cases.process import process_definition_check
    from govhall.org.models import Department

    form = payload.get("application_form") or {}
    definition = payload.get("process_definition") or {}
    if not isinstance(form, dict):
        violations.add("application_form", _("申请表定义须为JSON对象。"))
    else:
        for path, message in form_definition_check(definition=form):
            violations.add("application_form", f"{path}：{message}")
        material_names = {str(material.get("name") or "") for material in payload.get("materials") or []}
        for name in (form.get("materials") or {}) if isinstance(form.get("materials"), dict) else []:
            if name not in material_names:
                violations.add("application_form", _("申请表引用了不存在的材料“%(name)s”。") % {"name": name})
    if not isinstance(definition, dict):
        violations.add("process_definition", _("办理流程定义须为JSON对象。"))
        return
    kinds = set(Department.objects.exclude(kind="").values_list("kind", flat=True).distinct())
    for path, message in process_definition_check(definition=definition, department_kinds=kinds):
        violations.add("process_definition", f"{path}：{message}")
