"""Forms of the staff workbench.

The forms only parse what was entered into the payload format of ``catalog.services``; the
catalogue's rules are the services' to check. A rule violation comes back as a ValidationError
keyed by element, and ``*Editor.add_service_error`` puts each message on the field of that
element, so it shows next to what the person has to correct, with everything entered kept.
"""

import re
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from govhall.accounts.models import AssuranceLevel
from govhall.catalog import rules
from govhall.catalog.change_diff import element_label
from govhall.catalog.models import (
    CatalogueEntry,
    Implementation,
    ItemKind,
    Material,
    MaterialForm,
    MaterialRequirement,
    MaterialSource,
    OnlineDepth,
    ProcessStep,
    Theme,
)
from govhall.catalog.services import (
    IMPLEMENTATION_PAYLOAD_FIELDS,
    MATERIAL_FIELDS,
    PROCESS_STEP_FIELDS,
    implementation_code_for,
)
from govhall.org.models import Department, Hall, Region

INTENT_DRAFT = "draft"
INTENT_SUBMIT = "submit"

_LIST_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _label(model: type[models.Model], name: str) -> Any:
    return cast(models.Field, model._meta.get_field(name)).verbose_name


def _choose(form: forms.Form, name: str, choices: list[tuple[str, Any]]) -> None:
    cast(forms.ChoiceField, form.fields[name]).choices = choices


def _split_list(value: str) -> list[str]:
    return [part for part in _LIST_SEPARATORS.split(value or "") if part]


def _error_messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"__all__": error.messages}


class ProposalForm(forms.Form):
    """The reason every change carries, and whether it goes to review now."""

    reason = forms.CharField(
        label=_("变更理由"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("审核人据此判断变更是否必要，例如依据的文件或发现的问题。"),
        error_messages={"required": _("请写明变更理由。")},
    )
    intent = forms.ChoiceField(
        choices=[(INTENT_DRAFT, _("保存草稿")), (INTENT_SUBMIT, _("提交审核"))],
        required=False,
        widget=forms.HiddenInput,
    )

    @property
    def submits(self) -> bool:
        return self.cleaned_data.get("intent") == INTENT_SUBMIT


def _form_errors(form: forms.Form, prefix: str = "") -> list[tuple[str, str, str]]:
    """(input id, label, message) for each error of a bound form."""
    if not form.is_bound:
        return []
    items = [("", prefix, str(message)) for message in form.non_field_errors()]
    for name, messages in form.errors.items():
        if name == NON_FIELD_ERRORS:
            continue
        bound = form[name]
        # A group of checkboxes has no single input; its first box stands for it.
        anchor = bound.id_for_label or f"{bound.auto_id}_0"
        label = f"{prefix} · {bound.label}" if prefix else str(bound.label or "")
        items.extend((anchor, label, str(message)) for message in messages)
    return items


class _ServiceErrorsMixin:
    """Places a services' ValidationError on the fields of the elements it names, and sums up
    every error at the top of the page with a link to its field."""

    forms_by_element: dict[str, forms.Form]
    other_errors: list[str]

    def _summary_forms(self) -> list[tuple[forms.Form, str]]:
        return [(form, "") for form in {id(form): form for form in self.forms_by_element.values()}.values()]

    def _extra_summary(self) -> list[tuple[str, str, str]]:
        return []

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        items = [item for form, prefix in self._summary_forms() for item in _form_errors(form, prefix)]
        items += self._extra_summary()
        items += [("", "", message) for message in self.other_errors]
        return items

    def _place(self, error: ValidationError, *, fallback: forms.Form, kind: str) -> list[str]:
        """Put each message on its field; return the messages no field of these forms holds."""
        unplaced: list[str] = []
        for element, messages in _error_messages(error).items():
            form = self.forms_by_element.get(element)
            if form is not None:
                form.add_error(element, messages)
            elif element in ("__all__", None):
                fallback.add_error(None, messages)
            else:
                label = element_label(element, kind=kind)
                separator = pgettext("label separator", "：")
                unplaced.extend(f"{label}{separator}{message}" for message in messages)
        return unplaced


# ---------------------------------------------------------------------------------------------
# Implementations


class ImplementationForm(forms.Form):
    """Every element of an implementation (the keys of ``implementation_payload``) but its
    materials and process steps, which are formsets beside it."""

    implementation_code = forms.CharField(
        label=_label(Implementation, "implementation_code"),
        max_length=48,
        required=False,
        help_text=_("留空则按“基本编码-实施部门编码”生成。"),
    )
    basic_code = forms.CharField(label=_label(CatalogueEntry, "basic_code"), max_length=32)
    name = forms.CharField(
        label=_label(CatalogueEntry, "name"),
        max_length=128,
        help_text=_("“三级四同”：须与基本目录一致。"),
    )
    kind = forms.ChoiceField(label=_label(CatalogueEntry, "kind"), choices=ItemKind.choices)
    legal_basis = forms.CharField(
        label=_label(CatalogueEntry, "legal_basis"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("“三级四同”：须与基本目录一致。"),
    )
    region_code = forms.ChoiceField(label=_("实施区划"))
    department_code = forms.ChoiceField(label=_("实施部门"))
    entrusted_agency = forms.CharField(label=_label(Implementation, "entrusted_agency"), max_length=128, required=False)
    source_of_power = forms.ChoiceField(
        label=_label(Implementation, "source_of_power"), choices=rules.IMPLEMENTATION_CHOICE_FIELDS["source_of_power"]
    )
    acceptance_conditions = forms.CharField(
        label=_label(Implementation, "acceptance_conditions"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    statutory_time_limit_days = forms.IntegerField(label=_label(Implementation, "statutory_time_limit_days"))
    statutory_time_limit_unit = forms.ChoiceField(
        label=_label(Implementation, "statutory_time_limit_unit"),
        choices=rules.IMPLEMENTATION_CHOICE_FIELDS["statutory_time_limit_unit"],
    )
    promised_time_limit_days = forms.IntegerField(
        label=_label(Implementation, "promised_time_limit_days"), help_text=_("不得超过法定办结时限。")
    )
    promised_time_limit_unit = forms.ChoiceField(
        label=_label(Implementation, "promised_time_limit_unit"),
        choices=rules.IMPLEMENTATION_CHOICE_FIELDS["promised_time_limit_unit"],
    )
    case_type = forms.ChoiceField(
        label=_label(Implementation, "case_type"), choices=rules.IMPLEMENTATION_CHOICE_FIELDS["case_type"]
    )
    special_procedures = forms.CharField(
        label=_label(Implementation, "special_procedures"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    site_visits = forms.IntegerField(label=_label(Implementation, "site_visits"))
    assurance_level = forms.TypedChoiceField(
        label=_label(Implementation, "assurance_level"), choices=AssuranceLevel.choices, coerce=int
    )
    handled_in_hall = forms.BooleanField(label=_label(Implementation, "handled_in_hall"), required=False)
    hall = forms.ChoiceField(label=_("政务服务中心"), required=False)
    windows = forms.CharField(
        label=_("办理窗口"), required=False, help_text=_("填写所选政务服务中心的窗口号，多个用顿号或逗号分隔。")
    )
    address = forms.CharField(label=_label(Implementation, "address"), max_length=255, required=False)
    office_hours = forms.CharField(
        label=_label(Implementation, "office_hours"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    area_of_handling = forms.ChoiceField(
        label=_label(Implementation, "area_of_handling"), choices=rules.IMPLEMENTATION_CHOICE_FIELDS["area_of_handling"]
    )
    charges_fee = forms.BooleanField(label=_label(Implementation, "charges_fee"), required=False)
    fee_standard = forms.CharField(
        label=_label(Implementation, "fee_standard"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    fee_basis = forms.CharField(
        label=_label(Implementation, "fee_basis"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    online_available = forms.BooleanField(label=_label(Implementation, "online_available"), required=False)
    online_depth = forms.MultipleChoiceField(
        label=_label(Implementation, "online_depth"),
        choices=[(str(value), label) for value, label in OnlineDepth.choices],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    online_payment = forms.BooleanField(label=_label(Implementation, "online_payment"), required=False)
    express_delivery = forms.BooleanField(label=_label(Implementation, "express_delivery"), required=False)
    appointment = forms.BooleanField(label=_label(Implementation, "appointment"), required=False)
    consultation_phone = forms.CharField(
        label=_label(Implementation, "consultation_phone"), max_length=64, required=False
    )
    supervision_phone = forms.CharField(
        label=_label(Implementation, "supervision_phone"), max_length=64, required=False
    )
    result_type = forms.ChoiceField(
        label=_label(Implementation, "result_type"), choices=rules.IMPLEMENTATION_CHOICE_FIELDS["result_type"]
    )
    result_name = forms.CharField(label=_label(Implementation, "result_name"), max_length=128, required=False)
    licence_type_code = forms.CharField(
        label=_label(Implementation, "licence_type_code"), max_length=32, required=False
    )
    application_form = forms.JSONField(
        label=_label(Implementation, "application_form"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "code", "spellcheck": "false"}),
        help_text=_("JSON Schema 加布局提示（格式见 govhall/cases/application_form.py）；留空或 {} 使用标准申请表。"),
    )
    process_definition = forms.JSONField(
        label=_label(Implementation, "process_definition"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "code", "spellcheck": "false"}),
        help_text=_("办理环节、岗位、时限与并联分支（格式见 govhall/cases/process.py）；留空或 {} 使用标准流程。"),
    )

    # How the page groups the elements, each group a fieldset with this legend.
    GROUPS = (
        (
            _("事项与实施主体"),
            (
                "implementation_code",
                "basic_code",
                "name",
                "kind",
                "legal_basis",
                "region_code",
                "department_code",
                "entrusted_agency",
                "source_of_power",
            ),
        ),
        (
            _("受理与时限"),
            (
                "acceptance_conditions",
                "statutory_time_limit_days",
                "statutory_time_limit_unit",
                "promised_time_limit_days",
                "promised_time_limit_unit",
                "case_type",
                "special_procedures",
                "site_visits",
            ),
        ),
        (
            _("办理地点"),
            ("handled_in_hall", "hall", "windows", "address", "office_hours", "area_of_handling"),
        ),
        (_("收费"), ("charges_fee", "fee_standard", "fee_basis")),
        (
            _("网上办理"),
            (
                "online_available",
                "online_depth",
                "assurance_level",
                "online_payment",
                "express_delivery",
                "appointment",
            ),
        ),
        (_("咨询与监督"), ("consultation_phone", "supervision_phone")),
        (_("办理结果"), ("result_type", "result_name", "licence_type_code")),
        (_("申请表与办理流程"), ("application_form", "process_definition")),
    )
    # Identity elements a change cannot alter (the services refuse it); shown read-only.
    FIXED_ON_CHANGE = ("implementation_code", "basic_code", "region_code")

    def __init__(
        self,
        *args: Any,
        regions: Iterable[Region],
        departments: Iterable[Department],
        halls: Iterable[Hall],
        is_new: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        initial = self.initial
        region_choices = [(region.code, region.full_name) for region in regions]
        _choose(self, "region_code", _with_current(region_choices, initial.get("region_code")))
        department_choices = [(d.code, f"{d.region.full_name} · {d.name}") for d in departments]
        _choose(self, "department_code", _with_current(department_choices, initial.get("department_code")))
        hall_choices = _with_current([(hall.name, hall.name) for hall in halls], initial.get("hall"))
        _choose(self, "hall", [("", _("（不在政务服务中心办理）")), *hall_choices])
        if not is_new:
            for name in self.FIXED_ON_CHANGE:
                self.fields[name].disabled = True
                self.fields[name].help_text = _("变更时不能修改。")

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.GROUPS]


def _with_current(choices: list[tuple[str, str]], current: str | None) -> list[tuple[str, str]]:
    """Keep the value already published selectable even when it is not among the offered ones."""
    if current and current not in {value for value, _label in choices}:
        return [(current, current), *choices]
    return choices


class MaterialRowForm(forms.Form):
    name = forms.CharField(label=_label(Material, "name"), max_length=255, required=False)
    requirement = forms.ChoiceField(
        label=_label(Material, "requirement"), choices=MaterialRequirement.choices, initial=MaterialRequirement.REQUIRED
    )
    condition = forms.CharField(
        label=_label(Material, "condition"),
        max_length=255,
        required=False,
        help_text=_("情形必要的材料须写明在何种情形下提交。"),
    )
    form = forms.ChoiceField(
        label=_label(Material, "form"), choices=MaterialForm.choices, initial=MaterialForm.ORIGINAL
    )
    copies = forms.IntegerField(label=_label(Material, "copies"), initial=1)
    source = forms.ChoiceField(
        label=_label(Material, "source"), choices=MaterialSource.choices, initial=MaterialSource.APPLICANT
    )
    notes = forms.CharField(label=_label(Material, "notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    licence_type_code = forms.CharField(label=_label(Material, "licence_type_code"), max_length=32, required=False)
    # Uploading blank forms and examples comes with the file-storage issue; the published files
    # are carried over unchanged.
    blank_form = forms.CharField(widget=forms.HiddenInput, required=False)
    example_file = forms.CharField(widget=forms.HiddenInput, required=False)

    FILE_FOLDERS = {"blank_form": "catalog/forms/", "example_file": "catalog/examples/"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, folder in self.FILE_FOLDERS.items():
            path = cleaned.get(name) or ""
            # The value only ever names a file already published under its folder.
            if path and (not path.startswith(folder) or ".." in path):
                raise ValidationError(_("附件路径不正确。"))
        return cleaned


class ProcessStepRowForm(forms.Form):
    name = forms.CharField(label=_label(ProcessStep, "name"), max_length=64, required=False)
    description = forms.CharField(
        label=_label(ProcessStep, "description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    duration_days = forms.IntegerField(label=_label(ProcessStep, "duration_days"), initial=0)


class _RowFormSet(forms.BaseFormSet):
    """Rows people can reorder by number and drop with a checkbox, labelled in zh-hans."""

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "ORDER" in form.fields:
            form.fields["ORDER"].label = _("顺序号")
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("删除此行")


# Two blank rows below the published ones let people add without JavaScript; blank rows are ignored.
MaterialFormSet = forms.formset_factory(MaterialRowForm, formset=_RowFormSet, extra=2, can_delete=True, can_order=True)
ProcessStepFormSet = forms.formset_factory(
    ProcessStepRowForm, formset=_RowFormSet, extra=2, can_delete=True, can_order=True
)


def _rows(formset: forms.BaseFormSet, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The kept rows in the chosen order; blank new rows and rows marked for deletion drop out."""
    if formset.can_order:
        # Django's ordered_forms already leaves out deleted rows and untouched blank ones.
        kept = formset.ordered_forms
    else:
        extra = set(map(id, formset.extra_forms))
        kept = [
            form
            for form in formset.forms
            if not (id(form) in extra and not form.has_changed()) and not form.cleaned_data.get("DELETE")
        ]
    return [{name: form.cleaned_data.get(name) for name in fields} for form in kept]


class ImplementationEditor(_ServiceErrorsMixin):
    """The implementation form with its materials and process steps and the reason, as one unit."""

    def __init__(
        self,
        *,
        payload: dict[str, Any],
        reason: str = "",
        data: Any = None,
        regions: Iterable[Region],
        departments: Iterable[Department],
        halls: Iterable[Hall],
        is_new: bool,
    ) -> None:
        self.base = payload
        self.departments = list(departments)
        initial = {
            **payload,
            "online_depth": list(str(payload.get("online_depth") or "")),
            "windows": "、".join(payload.get("windows") or []),
        }
        self.form = ImplementationForm(
            data, initial=initial, regions=regions, departments=self.departments, halls=halls, is_new=is_new
        )
        self.materials = MaterialFormSet(data, initial=payload.get("materials") or [], prefix="materials")
        self.process_steps = ProcessStepFormSet(data, initial=payload.get("process_steps") or [], prefix="steps")
        self.proposal = ProposalForm(data, initial={"reason": reason})
        self.materials_errors: list[str] = []
        self.process_steps_errors: list[str] = []
        self.other_errors: list[str] = []
        self.forms_by_element = {name: self.form for name in self.form.fields} | {"reason": self.proposal}

    def is_valid(self) -> bool:
        results = [self.form.is_valid(), self.materials.is_valid(), self.process_steps.is_valid()]
        results.append(self.proposal.is_valid())
        return all(results)

    def payload(self) -> dict[str, Any]:
        data = self.form.cleaned_data
        payload = dict(self.base)
        for name in self.form.fields:
            payload[name] = data.get(name)
        payload["online_depth"] = "".join(sorted(data.get("online_depth") or []))
        payload["windows"] = _split_list(data.get("windows") or "")
        payload["materials"] = _rows(self.materials, MATERIAL_FIELDS)
        payload["process_steps"] = _rows(self.process_steps, PROCESS_STEP_FIELDS)
        return payload

    def _summary_forms(self) -> list[tuple[forms.Form, str]]:
        rows = [
            (row, str(_("第%(number)s项材料") % {"number": number}))
            for number, row in enumerate(self.materials.forms, start=1)
        ]
        rows += [
            (row, str(_("第%(number)s个环节") % {"number": number}))
            for number, row in enumerate(self.process_steps.forms, start=1)
        ]
        return [(self.form, ""), *rows, (self.proposal, "")]

    def _extra_summary(self) -> list[tuple[str, str, str]]:
        materials, steps = str(_("申请材料")), str(_("办理流程"))
        return [
            *(("materials", materials, str(message)) for message in self.materials.non_form_errors()),
            *(("materials", materials, message) for message in self.materials_errors),
            *(("process-steps", steps, str(message)) for message in self.process_steps.non_form_errors()),
            *(("process-steps", steps, message) for message in self.process_steps_errors),
        ]

    def add_service_error(self, error: ValidationError) -> None:
        messages = _error_messages(error)
        self.materials_errors.extend(messages.pop("materials", []))
        self.process_steps_errors.extend(messages.pop("process_steps", []))
        self.other_errors.extend(self._place(ValidationError(messages), fallback=self.form, kind="implementation"))

    @property
    def reason(self) -> str:
        return self.proposal.cleaned_data["reason"]

    @property
    def submits(self) -> bool:
        return self.proposal.submits


# ---------------------------------------------------------------------------------------------
# Catalogue entries


class EntryForm(forms.Form):
    basic_code = forms.CharField(label=_label(CatalogueEntry, "basic_code"), max_length=32)
    name = forms.CharField(label=_label(CatalogueEntry, "name"), max_length=128)
    kind = forms.ChoiceField(label=_label(CatalogueEntry, "kind"), choices=[("", _("请选择")), *ItemKind.choices])
    legal_basis = forms.CharField(label=_label(CatalogueEntry, "legal_basis"), widget=forms.Textarea(attrs={"rows": 3}))
    description = forms.CharField(
        label=_label(CatalogueEntry, "description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    for_persons = forms.BooleanField(label=_label(CatalogueEntry, "for_persons"), required=False)
    for_companies = forms.BooleanField(
        label=_label(CatalogueEntry, "for_companies"), required=False, help_text=_("至少选择一类服务对象。")
    )
    themes = forms.MultipleChoiceField(label=_("主题"), widget=forms.CheckboxSelectMultiple, required=False, choices=())

    def __init__(self, *args: Any, themes: Iterable[Theme], basic_code_fixed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choose(self, "themes", [(theme.code, theme.name) for theme in themes])
        if basic_code_fixed:
            self.fields["basic_code"].disabled = True
            self.fields["basic_code"].help_text = _("基本编码不能变更；需要新编码时请拆分或合并。")

    def payload(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in rules.ENTRY_FIELDS}


class EntryEditor(_ServiceErrorsMixin):
    """Add or change one catalogue entry."""

    def __init__(
        self, *, payload: dict[str, Any], reason: str = "", data: Any = None, themes: Iterable[Theme], is_new: bool
    ) -> None:
        self.form = EntryForm(data, initial=payload, themes=themes, basic_code_fixed=not is_new)
        self.proposal = ProposalForm(data, initial={"reason": reason})
        self.other_errors: list[str] = []
        self.forms_by_element = {name: self.form for name in self.form.fields} | {"reason": self.proposal}

    def is_valid(self) -> bool:
        return all([self.form.is_valid(), self.proposal.is_valid()])

    def payload(self) -> dict[str, Any]:
        return self.form.payload()

    def add_service_error(self, error: ValidationError) -> None:
        self.other_errors.extend(self._place(error, fallback=self.form, kind="entry"))

    @property
    def reason(self) -> str:
        return self.proposal.cleaned_data["reason"]

    @property
    def submits(self) -> bool:
        return self.proposal.submits


class _EntryFormSetBase(_RowFormSet):
    def __init__(self, *args: Any, themes: Iterable[Theme], **kwargs: Any) -> None:
        self.themes = list(themes)
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"themes": self.themes}


EntryFormSet: Any = forms.formset_factory(EntryForm, formset=_EntryFormSetBase, extra=1, can_delete=True)


class SplitEditor(_ServiceErrorsMixin):
    """Split an entry into two or more new entries (payload ``{"entries": [...]}``)."""

    def __init__(self, *, payload: dict[str, Any], reason: str = "", data: Any = None, themes: Iterable[Theme]) -> None:
        self.entries = EntryFormSet(data, initial=payload.get("entries") or [], prefix="entries", themes=themes)
        self.proposal = ProposalForm(data, initial={"reason": reason})
        self.other_errors: list[str] = []
        self.forms_by_element = {"reason": self.proposal}

    def is_valid(self) -> bool:
        return all([self.entries.is_valid(), self.proposal.is_valid()])

    def payload(self) -> dict[str, Any]:
        return {"entries": _rows(self.entries, rules.ENTRY_FIELDS)}

    def _summary_forms(self) -> list[tuple[forms.Form, str]]:
        rows = [
            (row, str(_("新事项 %(number)s") % {"number": number}))
            for number, row in enumerate(self.entries.forms, start=1)
        ]
        return [*rows, (self.proposal, "")]

    def _extra_summary(self) -> list[tuple[str, str, str]]:
        return [("", "", str(message)) for message in self.entries.non_form_errors()]

    def add_service_error(self, error: ValidationError) -> None:
        # The services report the rules of all new entries together, keyed by element, so the
        # messages are listed above the entries with the element they concern.
        self.other_errors.extend(self._place(error, fallback=self.proposal, kind="entry"))

    @property
    def reason(self) -> str:
        return self.proposal.cleaned_data["reason"]

    @property
    def submits(self) -> bool:
        return self.proposal.submits


class MergeSourcesForm(forms.Form):
    sources = forms.CharField(
        label=_("被合并的事项"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("填写被合并事项的基本编码（含本事项），多个用顿号、逗号或换行分隔。"),
    )


class MergeEditor(_ServiceErrorsMixin):
    """Merge entries into one new entry (payload ``{"sources": [...], "entry": {...}}``)."""

    def __init__(self, *, payload: dict[str, Any], reason: str = "", data: Any = None, themes: Iterable[Theme]) -> None:
        self.sources = MergeSourcesForm(data, initial={"sources": "、".join(payload.get("sources") or [])})
        self.form = EntryForm(data, initial=payload.get("entry") or {}, themes=themes, prefix="entry")
        self.proposal = ProposalForm(data, initial={"reason": reason})
        self.other_errors: list[str] = []
        self.forms_by_element = (
            {name: self.form for name in self.form.fields} | {"sources": self.sources} | {"reason": self.proposal}
        )

    def is_valid(self) -> bool:
        return all([self.sources.is_valid(), self.form.is_valid(), self.proposal.is_valid()])

    def payload(self) -> dict[str, Any]:
        return {"sources": _split_list(self.sources.cleaned_data["sources"]), "entry": self.form.payload()}

    def add_service_error(self, error: ValidationError) -> None:
        self.other_errors.extend(self._place(error, fallback=self.form, kind="entry"))

    @property
    def reason(self) -> str:
        return self.proposal.cleaned_data["reason"]

    @property
    def submits(self) -> bool:
        return self.proposal.submits


class StateEditor(_ServiceErrorsMixin):
    """Suspend, resume or cancel: the change carries only its reason."""

    def __init__(self, *, payload: dict[str, Any] | None = None, reason: str = "", data: Any = None) -> None:
        self.proposal = ProposalForm(data, initial={"reason": reason})
        self.other_errors: list[str] = []
        self.forms_by_element = {"reason": self.proposal}

    def is_valid(self) -> bool:
        return self.proposal.is_valid()

    def payload(self) -> dict[str, Any]:
        return {}

    def add_service_error(self, error: ValidationError) -> None:
        self.other_errors.extend(self._place(error, fallback=self.proposal, kind="implementation"))

    @property
    def reason(self) -> str:
        return self.proposal.cleaned_data["reason"]

    @property
    def submits(self) -> bool:
        return self.proposal.submits


# ---------------------------------------------------------------------------------------------
# Lists, the new-implementation start, and review


class ImplementationFilterForm(forms.Form):
    q = forms.CharField(label=_("名称或编码"), required=False, max_length=64)
    region = forms.ChoiceField(label=_("区划"), required=False)
    department = forms.ChoiceField(label=_("部门"), required=False)

    def __init__(self, *args: Any, regions: Iterable[Region], departments: Iterable[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choose(self, "region", [("", _("全部区划")), *((r.code, r.full_name) for r in regions)])
        _choose(
            self,
            "department",
            [("", _("全部部门")), *((d.code, f"{d.region.full_name} · {d.name}") for d in departments)],
        )


class EntryFilterForm(forms.Form):
    q = forms.CharField(label=_("名称或基本编码"), required=False, max_length=64)


class ImplementationStartForm(forms.Form):
    """The first step of a new implementation: which entry, where, by whom."""

    basic_code = forms.CharField(label=_label(CatalogueEntry, "basic_code"), max_length=32)
    region_code = forms.ChoiceField(label=_("实施区划"))
    department_code = forms.ChoiceField(label=_("实施部门"), help_text=_("须为所选区划的部门。"))

    def __init__(self, *args: Any, regions: Iterable[Region], departments: Iterable[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choose(self, "region_code", [(r.code, r.full_name) for r in regions])
        _choose(self, "department_code", [(d.code, f"{d.region.full_name} · {d.name}") for d in departments])


class ReviewForm(forms.Form):
    DECISION_APPROVE = "approve"
    DECISION_RETURN = "return"

    review_note = forms.CharField(
        label=_("审核意见"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("通过时可不填；退回时必须写明需要修改之处。"),
    )
    decision = forms.ChoiceField(
        choices=[(DECISION_APPROVE, _("审核通过并发布")), (DECISION_RETURN, _("退回修改"))],
        widget=forms.HiddenInput,
        error_messages={"required": _("请选择通过或退回。")},
    )

    def add_service_error(self, error: ValidationError) -> None:
        for element, messages in _error_messages(error).items():
            self.add_error(element if element in self.fields else None, messages)


def implementation_initial_payload(
    *, entry: CatalogueEntry, region_code: str, department: Department
) -> dict[str, Any]:
    """What the form of a new implementation starts with: the entry's uniform elements, the
    suggested implementation code, and the model's defaults for everything else."""
    payload: dict[str, Any] = {
        "implementation_code": implementation_code_for(basic_code=entry.basic_code, department=department),
        "basic_code": entry.basic_code,
        "name": entry.name,
        "kind": entry.kind,
        "legal_basis": entry.legal_basis,
        "region_code": region_code,
        "department_code": department.code,
        "hall": "",
        "windows": [],
        "process_steps": [],
        "materials": [],
    }
    for name in IMPLEMENTATION_PAYLOAD_FIELDS:
        model_field = cast(models.Field, Implementation._meta.get_field(name))
        payload[name] = model_field.get_default() if model_field.has_default() else None
    return payload
