"""What a catalogue change alters: its payload against the published version, element by element.

Reviewers approve what they can see, so the diff names every element that differs (old value →
new value) and compares materials and process steps row by row. Values are shown as people read
them (choice labels, 是/否), never as stored codes.
"""

from dataclasses import dataclass, field
from typing import Any, cast

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from govhall.catalog.models import (
    AreaOfHandling,
    CaseType,
    CatalogueChange,
    CatalogueEntry,
    CatalogueEntryVersion,
    ChangeAction,
    ChangeState,
    ChangeTarget,
    DayUnit,
    Implementation,
    ImplementationVersion,
    ItemKind,
    ItemState,
    Material,
    MaterialForm,
    MaterialRequirement,
    MaterialSource,
    OnlineDepth,
    ProcessStep,
    ResultType,
    SourceOfPower,
)
from govhall.catalog.services import (
    MATERIAL_FIELDS,
    PROCESS_STEP_FIELDS,
    STATE_ACTIONS,
    entry_payload,
    implementation_payload,
)

# Payload keys that are bookkeeping, not elements a person changes.
_NOT_ELEMENTS = {"base_version", "process_steps", "materials"}

_CHOICES: dict[str, type[models.Choices]] = {
    "kind": ItemKind,
    "state": ItemState,
    "source_of_power": SourceOfPower,
    "statutory_time_limit_unit": DayUnit,
    "promised_time_limit_unit": DayUnit,
    "case_type": CaseType,
    "area_of_handling": AreaOfHandling,
    "result_type": ResultType,
    "requirement": MaterialRequirement,
    "form": MaterialForm,
    "source": MaterialSource,
}

# Elements that are not a model field of the same name.
_LABELS = {
    "region_code": gettext_lazy("实施区划"),
    "department_code": gettext_lazy("实施部门"),
    "hall": gettext_lazy("政务服务中心"),
    "windows": gettext_lazy("办理窗口"),
    "process_steps": gettext_lazy("办理流程"),
    "materials": gettext_lazy("申请材料"),
    "sources": gettext_lazy("被合并的事项"),
    "entries": gettext_lazy("拆分后的事项"),
    "themes": gettext_lazy("主题"),
    "order": gettext_lazy("顺序"),
}

# Where the label of a payload element comes from, by the kind of payload.
_MODELS_FOR = {
    "implementation": (Implementation, CatalogueEntry),
    "entry": (CatalogueEntry,),
    "material": (Material,),
    "process_step": (ProcessStep,),
}


@dataclass(frozen=True)
class ElementChange:
    element: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class RowChange:
    """One material or process step that was added, removed or changed."""

    status: str  # "added", "removed" or "changed"
    number: int  # its position in the new list (in the old list when removed)
    title: str
    elements: list[ElementChange]


@dataclass(frozen=True)
class EntryProposal:
    """A new entry a split or merge creates, with its elements."""

    title: str
    elements: list[ElementChange]


@dataclass
class ChangeDiff:
    elements: list[ElementChange] = field(default_factory=list)
    materials: list[RowChange] = field(default_factory=list)
    process_steps: list[RowChange] = field(default_factory=list)
    new_entries: list[EntryProposal] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.elements or self.materials or self.process_steps or self.new_entries)


def element_label(element: str, *, kind: str = "implementation") -> str:
    """The zh-hans name of a payload element (the model field's verbose name where there is one)."""
    if element in _LABELS:
        return str(_LABELS[element])
    for model in _MODELS_FOR[kind]:
        try:
            return str(cast(models.Field, model._meta.get_field(element)).verbose_name)
        except FieldDoesNotExist:
            continue
    return element


def element_display(element: str, value: Any) -> str:
    """A value as people read it: choice labels, 是/否, lists joined; empty as ""."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    separator = pgettext("list separator", "、")
    if element == "online_depth":
        return separator.join(str(OnlineDepth(int(digit)).label) for digit in str(value) if digit in "1234567")
    if element in _CHOICES:
        try:
            return str(_CHOICES[element](value).label)
        except ValueError:
            return str(value)
    if isinstance(value, list):
        return separator.join(str(item) for item in value)
    return str(value)


def payload_elements(payload: dict[str, Any], *, kind: str = "implementation") -> list[tuple[str, str, str]]:
    """The elements of a payload in order, as (element, label, shown value), for detail pages."""
    return [
        (element, element_label(element, kind=kind), element_display(element, value))
        for element, value in payload.items()
        if element not in _NOT_ELEMENTS
    ]


def change_diff_prefetch(changes: QuerySet[CatalogueChange]) -> QuerySet[CatalogueChange]:
    """Load what ``change_diff`` reads for every change of a list in a fixed number of queries."""
    return changes.select_related(
        "entry", "implementation__entry", "implementation__department", "implementation__hall"
    ).prefetch_related(
        "entry__themes", "implementation__windows", "implementation__process_steps", "implementation__materials"
    )


def change_diff(*, change: CatalogueChange) -> ChangeDiff:
    """The change's payload against the version it replaces: the published one while the change
    is pending, the version it was drafted against once it is approved."""
    action = ChangeAction(change.action)
    kind = "entry" if change.target == ChangeTarget.ENTRY else "implementation"
    published = _published(change=change)
    diff = ChangeDiff()
    if action in STATE_ACTIONS:
        diff.elements = _elements_diff(
            {"state": published.get("state", "")}, {"state": STATE_ACTIONS[action]}, kind=kind
        )
        return diff
    if action == ChangeAction.SPLIT:
        diff.elements = _elements_diff({"state": published.get("state", "")}, {"state": ItemState.CANCELLED}, kind=kind)
        diff.new_entries = [
            EntryProposal(title=item.get("name", ""), elements=_elements_diff({}, item, kind="entry"))
            for item in change.payload.get("entries") or []
        ]
        return diff
    if action == ChangeAction.MERGE:
        diff.elements = _elements_diff({}, {"sources": change.payload.get("sources") or []}, kind=kind)
        new_entry = change.payload.get("entry") or {}
        diff.new_entries = [
            EntryProposal(title=new_entry.get("name", ""), elements=_elements_diff({}, new_entry, kind="entry"))
        ]
        return diff
    diff.elements = _elements_diff(published, change.payload, kind=kind)
    if kind == "implementation":
        diff.materials = _rows_diff(
            published.get("materials") or [],
            change.payload.get("materials") or [],
            fields=MATERIAL_FIELDS,
            kind="material",
            match_by_name=True,
        )
        diff.process_steps = _rows_diff(
            published.get("process_steps") or [],
            change.payload.get("process_steps") or [],
            fields=PROCESS_STEP_FIELDS,
            kind="process_step",
            match_by_name=False,
        )
    return diff


def _published(*, change: CatalogueChange) -> dict[str, Any]:
    """The payload of the version the change is compared with ({} for something new)."""
    implementation_target = change.target == ChangeTarget.IMPLEMENTATION
    if change.state == ChangeState.APPROVED:
        if change.action == ChangeAction.ADD:
            return {}
        base_version = change.payload.get("base_version")
        version: ImplementationVersion | CatalogueEntryVersion | None
        if implementation_target and change.implementation_id:
            version = ImplementationVersion.objects.filter(
                implementation_id=change.implementation_id, number=base_version
            ).first()
        else:
            version = CatalogueEntryVersion.objects.filter(entry_id=change.entry_id, number=base_version).first()
        return dict(version.snapshot) if version else {}
    if implementation_target:
        if change.implementation is None:
            return {}
        return {**implementation_payload(change.implementation), "state": change.implementation.state}
    if change.entry is None:
        return {}
    return {**entry_payload(change.entry), "state": change.entry.state}


def _elements_diff(old: dict[str, Any], new: dict[str, Any], *, kind: str) -> list[ElementChange]:
    changes = []
    for element, new_value in new.items():
        if element in _NOT_ELEMENTS:
            continue
        old_value = old.get(element)
        if _same(old_value, new_value):
            continue
        changes.append(
            ElementChange(
                element=element,
                label=element_label(element, kind=kind),
                old=element_display(element, old_value),
                new=element_display(element, new_value),
            )
        )
    return changes


def _same(old: Any, new: Any) -> bool:
    """Equal as a person sees it: an absent value and an empty one are the same."""
    if old in (None, "", []) and new in (None, "", []):
        return True
    if isinstance(old, list) and isinstance(new, list):
        return [str(item) for item in old] == [str(item) for item in new]
    return old == new


def _rows_diff(
    old_rows: list[dict[str, Any]],
    new_rows: list[dict[str, Any]],
    *,
    fields: tuple[str, ...],
    kind: str,
    match_by_name: bool,
) -> list[RowChange]:
    """Rows paired by name (materials) and then by position, so a renamed row shows as changed and
    an inserted one as added instead of shifting every row after it."""
    pairs: list[tuple[int, int]] = []
    unmatched_new: list[int] = []
    used_old: set[int] = set()
    if match_by_name:
        old_positions = {row.get("name"): index for index, row in enumerate(old_rows)}
        for index, row in enumerate(new_rows):
            old_index = old_positions.get(row.get("name"))
            if old_index is not None and old_index not in used_old:
                pairs.append((old_index, index))
                used_old.add(old_index)
            else:
                unmatched_new.append(index)
    else:
        unmatched_new = list(range(len(new_rows)))
    unmatched_old = [index for index in range(len(old_rows)) if index not in used_old]
    pairs.extend(zip(unmatched_old, unmatched_new, strict=False))
    # A row moved when its rank among the paired rows changed; rows added or removed before it
    # shift its position without moving it.
    old_rank = {old_index: rank for rank, old_index in enumerate(sorted(old for old, _new in pairs))}
    new_rank = {new_index: rank for rank, new_index in enumerate(sorted(new for _old, new in pairs))}
    rows = []
    for old_index, new_index in pairs:
        old_row, new_row = old_rows[old_index], new_rows[new_index]
        elements = _elements_diff({f: old_row.get(f) for f in fields}, {f: new_row.get(f) for f in fields}, kind=kind)
        if old_rank[old_index] != new_rank[new_index]:
            elements.insert(0, ElementChange("order", element_label("order"), str(old_index + 1), str(new_index + 1)))
        if elements:
            rows.append(RowChange("changed", new_index + 1, str(new_row.get("name") or ""), elements))
    for new_index in unmatched_new[len(unmatched_old) :]:
        new_row = new_rows[new_index]
        elements = _elements_diff({}, {f: new_row.get(f) for f in fields}, kind=kind)
        rows.append(RowChange("added", new_index + 1, str(new_row.get("name") or ""), elements))
    removed = []
    for old_index in unmatched_old[len(unmatched_new) :]:
        old_row = old_rows[old_index]
        elements = [
            ElementChange(f, element_label(f, kind=kind), element_display(f, old_row.get(f)), "")
            for f in fields
            if old_row.get(f) not in (None, "", [])
        ]
        removed.append(RowChange("removed", old_index + 1, str(old_row.get("name") or ""), elements))
    return sorted(rows, key=lambda row: row.number) + removed


def payload_rows(rows: list[dict[str, Any]], *, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """Materials or process steps with each value as people read it, for detail pages."""
    return [{name: element_display(name, row.get(name)) for name in fields} for row in rows]
