"""Everything that can happen to the catalogue.

Changes are drafted by a catalogue administrator, submitted, and approved or returned by a
catalogue reviewer; approval publishes a new version. Rows in the catalogue tables are only ever
written by ``_publish_*`` helpers called from ``catalogue_change_approve``, apart from the count
of guide views (the last section).
"""

import atexit
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts.guards import staff_may_act_at_province_level, staff_may_act_in_region
from govhall.accounts.models import Role
from govhall.audit.services import audit_record_add
from govhall.catalog import rules, search
from govhall.catalog.models import (
    CatalogueChange,
    CatalogueEntry,
    CatalogueEntryVersion,
    ChangeAction,
    ChangeState,
    ChangeTarget,
    GuideBody,
    Implementation,
    ImplementationVersion,
    ItemState,
    Material,
    ProcessStep,
    Theme,
)
from govhall.org.models import Department, Hall, Region, RegionLevel

logger = logging.getLogger(__name__)

MATERIAL_FIELDS = (
    "name",
    "requirement",
    "condition",
    "form",
    "copies",
    "source",
    "notes",
    "licence_type_code",
    "blank_form",
    "example_file",
)
PROCESS_STEP_FIELDS = ("name", "description", "duration_days")
# Defined as data (JSON) and versioned with the implementation; {} means the standard one.
DEFINITION_FIELDS = ("application_form", "process_definition")
IMPLEMENTATION_PAYLOAD_FIELDS = (
    *rules.IMPLEMENTATION_TEXT_FIELDS,
    *rules.IMPLEMENTATION_CHOICE_FIELDS,
    *rules.IMPLEMENTATION_NUMBER_FIELDS,
    *rules.IMPLEMENTATION_FLAG_FIELDS,
)
STATE_ACTIONS = {
    ChangeAction.SUSPEND: ItemState.SUSPENDED,
    ChangeAction.RESUME: ItemState.ACTIVE,
    ChangeAction.CANCEL: ItemState.CANCELLED,
}


# ---------------------------------------------------------------------------------------------
# Payloads: the published state of an entry or implementation in the form a change carries it.


def entry_payload(entry: CatalogueEntry) -> dict[str, Any]:
    return {
        "basic_code": entry.basic_code,
        "name": entry.name,
        "kind": entry.kind,
        "legal_basis": entry.legal_basis,
        "description": entry.description,
        "for_persons": entry.for_persons,
        "for_companies": entry.for_companies,
        "themes": sorted(theme.code for theme in entry.themes.all()),
    }


def implementation_payload(implementation: Implementation) -> dict[str, Any]:
    """The implementation's published elements, with the uniform elements of its entry."""
    entry = implementation.entry
    payload: dict[str, Any] = {
        "implementation_code": implementation.implementation_code,
        "basic_code": entry.basic_code,
        "name": entry.name,
        "kind": entry.kind,
        "legal_basis": entry.legal_basis,
        "region_code": implementation.region_id,
        "department_code": implementation.department.code,
        "hall": implementation.hall.name if implementation.hall else "",
        "windows": sorted(window.number for window in implementation.windows.all()),
    }
    for field in IMPLEMENTATION_PAYLOAD_FIELDS:
        payload[field] = getattr(implementation, field)
    for field in DEFINITION_FIELDS:
        payload[field] = getattr(implementation, field) or {}
    payload["process_steps"] = [
        {field: getattr(step, field) for field in PROCESS_STEP_FIELDS} for step in implementation.process_steps.all()
    ]
    payload["materials"] = [
        {field: _material_value(material, field) for field in MATERIAL_FIELDS}
        for material in implementation.materials.all()
    ]
    return payload


def _material_value(material: Material, field: str) -> Any:
    value = getattr(material, field)
    if field in ("blank_form", "example_file"):
        return value.name if value else ""
    return value


def implementation_payload_normalise(payload: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults so a payload from a form, the API or an import compares equal to a published one."""
    normalised = dict(payload)
    for field in rules.IMPLEMENTATION_TEXT_FIELDS:
        normalised[field] = str(normalised.get(field) or "").strip()
    for field in rules.IMPLEMENTATION_FLAG_FIELDS:
        normalised[field] = bool(normalised.get(field, field in ("online_available", "handled_in_hall")))
    # Lists drafted before services stated an assurance level ask for L2, the usual online level.
    normalised.setdefault("assurance_level", 2)
    normalised["hall"] = str(normalised.get("hall") or "").strip()
    for field in DEFINITION_FIELDS:
        normalised[field] = normalised.get(field) or {}
    normalised["windows"] = sorted(str(number) for number in normalised.get("windows") or [])
    normalised["process_steps"] = [
        {
            "name": str(step.get("name") or "").strip(),
            "description": str(step.get("description") or "").strip(),
            "duration_days": step.get("duration_days", 0),
        }
        for step in normalised.get("process_steps") or []
    ]
    normalised["materials"] = [
        {
            **{field: str(material.get(field) or "").strip() for field in MATERIAL_FIELDS if field != "copies"},
            "copies": material.get("copies", 1),
        }
        for material in normalised.get("materials") or []
    ]
    return normalised


def entry_payload_normalise(payload: dict[str, Any]) -> dict[str, Any]:
    normalised = dict(payload)
    for field in ("basic_code", "name", "legal_basis", "description"):
        normalised[field] = str(normalised.get(field) or "").strip()
    normalised["for_persons"] = bool(normalised.get("for_persons"))
    normalised["for_companies"] = bool(normalised.get("for_companies"))
    normalised["themes"] = sorted(set(normalised.get("themes") or []))
    return normalised


def implementation_code_for(*, basic_code: str, department: Department) -> str:
    """Implementation code: the basic code followed by the implementing department's code."""
    return f"{basic_code}-{department.code}"


# ---------------------------------------------------------------------------------------------
# Snapshots: what a published version looked like, kept for ever.


def implementation_snapshot(implementation: Implementation) -> dict[str, Any]:
    entry = implementation.entry
    hall = implementation.hall
    return {
        **implementation_payload(implementation),
        "version": implementation.version,
        "state": implementation.state,
        "published_at": implementation.published_at.isoformat(),
        "entry_state": entry.state,
        "entry_version": entry.version,
        "description": entry.description,
        "for_persons": entry.for_persons,
        "for_companies": entry.for_companies,
        "themes": [{"code": theme.code, "name": theme.name} for theme in entry.themes.all()],
        "region_name": implementation.region.full_name,
        "region_level": implementation.region.level,
        "department_name": implementation.department.name,
        "hall_detail": (
            {"name": hall.name, "address": hall.address, "opening_hours": hall.opening_hours, "phone": hall.phone}
            if hall
            else None
        ),
        "window_names": [f"{window.number} {window.name}" for window in implementation.windows.all()],
    }


# ---------------------------------------------------------------------------------------------
# Themes


def theme_upsert(
    *, code: str, name: str, name_en: str = "", audience: str, description: str = "", order: int = 0
) -> Theme:
    theme, _created = Theme.objects.update_or_create(
        code=code,
        defaults={"name": name, "name_en": name_en, "audience": audience, "description": description, "order": order},
    )
    return theme


# ---------------------------------------------------------------------------------------------
# The change workflow


def catalogue_change_draft(
    *,
    actor: Any,
    action: str,
    target: str,
    payload: dict[str, Any] | None = None,
    reason: str,
    entry: CatalogueEntry | None = None,
    implementation: Implementation | None = None,
    batch: str = "",
    submit: bool = False,
) -> CatalogueChange:
    """Draft a change; the catalogue's rules are checked now and again on approval.

    Raises ``PermissionDenied`` outside the actor's scope and ``ValidationError`` (keyed by
    element) when the change breaks a rule; nothing is saved then.
    """
    action = ChangeAction(action)
    target = ChangeTarget(target)
    payload = _payload_prepare(
        action=action, target=target, entry=entry, implementation=implementation, payload=payload or {}
    )
    region = _change_region(target=target, implementation=implementation, payload=payload)
    _draft_guard(actor=actor, target=target, region=region)
    if not reason.strip():
        raise ValidationError({"reason": [_("请写明变更理由。")]})
    _payload_validate(action=action, target=target, entry=entry, implementation=implementation, payload=payload)
    with transaction.atomic():
        change = CatalogueChange.objects.create(
            action=action,
            target=target,
            entry=entry,
            implementation=implementation,
            region=region,
            payload=payload,
            reason=reason.strip(),
            batch=batch,
            drafted_by=actor,
        )
        audit_record_add(
            actor=actor,
            action="catalogue_change_draft",
            object_type="catalogue_change",
            object_id=change.pk,
            summary=str(change),
            data={"reason": change.reason},
        )
        if submit:
            _submit(change=change, actor=actor)
    return change


def catalogue_change_update(
    *, actor: Any, change: CatalogueChange, payload: dict[str, Any], reason: str
) -> CatalogueChange:
    """Edit a draft or a returned change (only its drafter may)."""
    with transaction.atomic():
        change = CatalogueChange.objects.select_for_update().get(pk=change.pk)
        if change.drafted_by_id != actor.pk:
            raise PermissionDenied(_("只有起草人可以修改此变更。"))
        if change.state not in (ChangeState.DRAFT, ChangeState.RETURNED):
            raise ValidationError(_("只有草稿或被退回的变更可以修改。"))
        payload = _payload_prepare(
            action=ChangeAction(change.action),
            target=ChangeTarget(change.target),
            entry=change.entry,
            implementation=change.implementation,
            payload=payload,
        )
        _payload_validate(
            action=ChangeAction(change.action),
            target=ChangeTarget(change.target),
            entry=change.entry,
            implementation=change.implementation,
            payload=payload,
        )
        if not reason.strip():
            raise ValidationError({"reason": [_("请写明变更理由。")]})
        change.payload = payload
        change.reason = reason.strip()
        change.state = ChangeState.DRAFT
        change.save(update_fields=["payload", "reason", "state"])
        audit_record_add(
            actor=actor,
            action="catalogue_change_update",
            object_type="catalogue_change",
            object_id=change.pk,
            summary=str(change),
        )
    return change


def catalogue_change_submit(*, actor: Any, change: CatalogueChange) -> CatalogueChange:
    with transaction.atomic():
        change = CatalogueChange.objects.select_for_update().get(pk=change.pk)
        if change.drafted_by_id != actor.pk:
            raise PermissionDenied(_("只有起草人可以提交此变更。"))
        if change.state not in (ChangeState.DRAFT, ChangeState.RETURNED):
            raise ValidationError(_("此变更已提交或已处理。"))
        _submit(change=change, actor=actor)
    return change


def _submit(*, change: CatalogueChange, actor: Any) -> None:
    change.state = ChangeState.SUBMITTED
    change.submitted_at = timezone.now()
    change.save(update_fields=["state", "submitted_at"])
    audit_record_add(
        actor=actor,
        action="catalogue_change_submit",
        object_type="catalogue_change",
        object_id=change.pk,
        summary=str(change),
    )


def catalogue_change_withdraw(*, actor: Any, change: CatalogueChange) -> CatalogueChange:
    with transaction.atomic():
        change = CatalogueChange.objects.select_for_update().get(pk=change.pk)
        if change.drafted_by_id != actor.pk:
            raise PermissionDenied(_("只有起草人可以撤回此变更。"))
        if change.state not in (ChangeState.DRAFT, ChangeState.SUBMITTED, ChangeState.RETURNED):
            raise ValidationError(_("已发布的变更不能撤回。"))
        change.state = ChangeState.WITHDRAWN
        change.save(update_fields=["state"])
        audit_record_add(
            actor=actor,
            action="catalogue_change_withdraw",
            object_type="catalogue_change",
            object_id=change.pk,
            summary=str(change),
        )
    return change


def catalogue_change_return(*, reviewer: Any, change: CatalogueChange, note: str) -> CatalogueChange:
    """Send a submitted change back to its drafter with the reviewer's reasons."""
    if not note.strip():
        raise ValidationError({"review_note": [_("退回时必须写明审核意见。")]})
    with transaction.atomic():
        change = CatalogueChange.objects.select_for_update().select_related("region").get(pk=change.pk)
        _review_guard(reviewer=reviewer, change=change)
        change.state = ChangeState.RETURNED
        change.reviewed_by = reviewer
        change.reviewed_at = timezone.now()
        change.review_note = note.strip()
        change.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_note"])
        audit_record_add(
            actor=reviewer,
            action="catalogue_change_return",
            object_type="catalogue_change",
            object_id=change.pk,
            summary=str(change),
            data={"note": change.review_note},
        )
    return change


def catalogue_change_approve(*, reviewer: Any, change: CatalogueChange, note: str = "") -> CatalogueChange:
    """Approve a submitted change and publish the new version in the same transaction."""
    with transaction.atomic():
        change = CatalogueChange.objects.select_for_update().select_related("region").get(pk=change.pk)
        _review_guard(reviewer=reviewer, change=change)
        entry = _locked(CatalogueEntry, change.entry_id)
        implementation = _locked(Implementation, change.implementation_id)
        action, target = ChangeAction(change.action), ChangeTarget(change.target)
        _stale_check(change=change, entry=entry, implementation=implementation)
        _payload_validate(
            action=action, target=target, entry=entry, implementation=implementation, payload=change.payload
        )
        touched = _publish(change=change, action=action, target=target, entry=entry, implementation=implementation)
        change.state = ChangeState.APPROVED
        change.reviewed_by = reviewer
        change.reviewed_at = timezone.now()
        change.review_note = note.strip()
        change.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_note", "entry", "implementation"])
        audit_record_add(
            actor=reviewer,
            action="catalogue_change_approve",
            object_type="catalogue_change",
            object_id=change.pk,
            summary=str(change),
            data={"implementations": sorted(touched)},
        )
        search.search_documents_refresh(implementation_ids=sorted(touched))
    return change


def _locked(model: Any, pk: int | None) -> Any:
    if pk is None:
        return None
    return model.objects.select_for_update().get(pk=pk)


# ---------------------------------------------------------------------------------------------
# Guards and checks


def _change_region(*, target: ChangeTarget, implementation: Implementation | None, payload: dict[str, Any]) -> Region:
    if target == ChangeTarget.ENTRY:
        return _province()
    if implementation is not None:
        return implementation.region
    try:
        return Region.objects.get(code=payload.get("region_code"))
    except Region.DoesNotExist:
        raise ValidationError({"region_code": [_("区划代码不存在。")]}) from None


def _province() -> Region:
    province = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code").first()
    if province is None:
        raise ValidationError(_("尚未导入省级行政区划。"))
    return province


def _draft_guard(*, actor: Any, target: ChangeTarget, region: Region) -> None:
    """Province administrators draft catalogue entries; administrators of a region draft its
    implementations and those of the regions below it."""
    if target == ChangeTarget.ENTRY:
        if not staff_may_act_at_province_level(user=actor, role=Role.CATALOGUE_ADMINISTRATOR):
            raise PermissionDenied(_("只有省级事项管理员可以变更基本目录。"))
        return
    if not staff_may_act_in_region(user=actor, role=Role.CATALOGUE_ADMINISTRATOR, region=region):
        raise PermissionDenied(_("您无权管理%(region)s的实施清单。") % {"region": region.full_name})


def _review_guard(*, reviewer: Any, change: CatalogueChange) -> None:
    """A reviewer of the change's region (or above) who did not draft it; four eyes on every change."""
    if change.state != ChangeState.SUBMITTED:
        raise ValidationError(_("只有待审核的变更可以审核。"))
    if change.target == ChangeTarget.ENTRY:
        allowed = staff_may_act_at_province_level(user=reviewer, role=Role.CATALOGUE_REVIEWER)
    else:
        allowed = staff_may_act_in_region(user=reviewer, role=Role.CATALOGUE_REVIEWER, region=change.region)
    if not allowed:
        raise PermissionDenied(_("您无权审核此变更。"))
    if change.drafted_by_id == reviewer.pk:
        raise PermissionDenied(_("起草人不能审核自己起草的变更。"))


def _stale_check(
    *, change: CatalogueChange, entry: CatalogueEntry | None, implementation: Implementation | None
) -> None:
    """Refuse to publish over a version that was published after this change was drafted."""
    base_version = change.payload.get("base_version")
    current = implementation if change.target == ChangeTarget.IMPLEMENTATION else entry
    if base_version is not None and current is not None and current.version != base_version:
        raise ValidationError(
            _("此变更起草后该事项已发布了新版本（第%(version)s版），请退回起草人按新版本重新起草。")
            % {"version": current.version}
        )


def _payload_prepare(
    *,
    action: ChangeAction,
    target: ChangeTarget,
    entry: CatalogueEntry | None,
    implementation: Implementation | None,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """Normalise the payload and record the version it was drafted against."""
    if action == ChangeAction.CHANGE and target == ChangeTarget.IMPLEMENTATION and implementation is not None:
        # Channels that do not carry the definitions (the spreadsheet import, the change form)
        # keep the published ones rather than clearing them.
        payload = {
            **{field: getattr(implementation, field) for field in DEFINITION_FIELDS if field not in payload},
            **payload,
        }
    if action in (ChangeAction.ADD, ChangeAction.CHANGE):
        payload = (
            entry_payload_normalise(payload)
            if target == ChangeTarget.ENTRY
            else implementation_payload_normalise(payload)
        )
    elif action == ChangeAction.SPLIT:
        payload = {"entries": [entry_payload_normalise(item) for item in payload.get("entries") or []]}
    elif action == ChangeAction.MERGE:
        payload = {
            "sources": sorted(set(payload.get("sources") or [])),
            "entry": entry_payload_normalise(payload.get("entry") or {}),
        }
    else:
        payload = {}
    current = implementation if target == ChangeTarget.IMPLEMENTATION else entry
    if current is not None and action != ChangeAction.ADD:
        # The published version now, not the caller's possibly stale copy of the row.
        payload["base_version"] = type(current).objects.values_list("version", flat=True).get(pk=current.pk)
    return payload


def _payload_validate(
    *,
    action: ChangeAction,
    target: ChangeTarget,
    entry: CatalogueEntry | None,
    implementation: Implementation | None,
    payload: dict[str, Any],
) -> None:
    violations = rules.Violations()
    if target == ChangeTarget.ENTRY:
        _entry_change_validate(action=action, entry=entry, payload=payload, violations=violations)
    else:
        _implementation_change_validate(
            action=action, implementation=implementation, payload=payload, violations=violations
        )
    violations.raise_if_any()


def _entry_change_validate(
    *, action: ChangeAction, entry: CatalogueEntry | None, payload: dict[str, Any], violations: rules.Violations
) -> None:
    if action == ChangeAction.ADD:
        _new_entry_validate(payload, violations)
        return
    if entry is None:
        violations.add("entry", _("请选择要变更的基本目录事项。"))
        return
    if action == ChangeAction.CHANGE:
        rules.entry_payload_check(payload, violations)
        if payload.get("basic_code") != entry.basic_code:
            violations.add("basic_code", _("基本编码不能变更；需要新编码时请使用拆分或合并。"))
        if _comparable(payload) == _comparable(entry_payload(entry)):
            violations.add("__all__", _("内容与已发布版本相同，无需变更。"))
        _themes_check(payload, violations)
    elif action == ChangeAction.SPLIT:
        if len(payload["entries"]) < 2:
            violations.add("entries", _("拆分须得到至少两个事项。"))
        for item in payload["entries"]:
            _new_entry_validate(item, violations)
    elif action == ChangeAction.MERGE:
        sources = payload["sources"]
        if len(sources) < 2 or entry.basic_code not in sources:
            violations.add("sources", _("合并须包含当前事项在内的至少两个事项。"))
        found = CatalogueEntry.objects.filter(basic_code__in=sources).exclude(state=ItemState.CANCELLED).count()
        if found != len(sources):
            violations.add("sources", _("被合并的事项中有不存在或已取消的。"))
        _new_entry_validate(payload["entry"], violations)
    else:
        _state_action_validate(action=action, state=entry.state, violations=violations)


def _new_entry_validate(payload: dict[str, Any], violations: rules.Violations) -> None:
    rules.entry_payload_check(payload, violations)
    if CatalogueEntry.objects.filter(basic_code=payload.get("basic_code")).exists():
        violations.add("basic_code", _("基本编码“%(code)s”已被使用。") % {"code": payload.get("basic_code")})
    _themes_check(payload, violations)


def _themes_check(payload: dict[str, Any], violations: rules.Violations) -> None:
    themes = payload.get("themes") or []
    if Theme.objects.filter(code__in=themes).count() != len(themes):
        violations.add("themes", _("主题不存在。"))


def _state_action_validate(*, action: ChangeAction, state: str, violations: rules.Violations) -> None:
    if state == ItemState.CANCELLED:
        violations.add("state", _("已取消的事项不能再变更。"))
    elif action == ChangeAction.SUSPEND and state != ItemState.ACTIVE:
        violations.add("state", _("只有在用的事项可以暂停。"))
    elif action == ChangeAction.RESUME and state != ItemState.SUSPENDED:
        violations.add("state", _("只有暂停的事项可以恢复。"))


def _implementation_change_validate(
    *,
    action: ChangeAction,
    implementation: Implementation | None,
    payload: dict[str, Any],
    violations: rules.Violations,
) -> None:
    if action in (ChangeAction.SPLIT, ChangeAction.MERGE):
        violations.add("action", _("拆分与合并针对基本目录事项。"))
        return
    if action != ChangeAction.ADD and implementation is None:
        violations.add("implementation", _("请选择要变更的实施清单。"))
        return
    if action not in (ChangeAction.ADD, ChangeAction.CHANGE):
        assert implementation is not None
        _state_action_validate(action=action, state=implementation.state, violations=violations)
        return
    entry = CatalogueEntry.objects.filter(basic_code=payload.get("basic_code")).first()
    if entry is None:
        violations.add("basic_code", _("基本目录中没有编码为“%(code)s”的事项。") % {"code": payload.get("basic_code")})
        return
    if entry.state == ItemState.CANCELLED:
        violations.add("basic_code", _("基本目录事项已取消，不能再实施。"))
    rules.uniform_elements_check(payload, entry, violations)
    rules.implementation_payload_check(payload, violations)
    rules.definitions_check(payload, violations)
    rules.text_lengths_check(payload, violations)
    department = _implementation_place_check(payload, violations)
    if action == ChangeAction.ADD:
        if Implementation.objects.filter(implementation_code=payload.get("implementation_code")).exists():
            violations.add("implementation_code", _("实施编码已被使用。"))
        if (
            department is not None
            and Implementation.objects.filter(entry=entry, department=department)
            .exclude(state=ItemState.CANCELLED)
            .exists()
        ):
            violations.add("department_code", _("该部门已实施此事项。"))
        if not str(payload.get("implementation_code") or "").strip():
            violations.add("implementation_code", _("此项必须填写。"))
    else:
        assert implementation is not None
        if implementation.state == ItemState.CANCELLED:
            violations.add("state", _("已取消的事项不能再变更。"))
        if payload.get("implementation_code") != implementation.implementation_code:
            violations.add("implementation_code", _("实施编码不能变更。"))
        if payload.get("region_code") != implementation.region_id:
            violations.add("region_code", _("实施区划不能变更；其他区划实施此事项请新增实施清单。"))
        if entry.pk != implementation.entry_id:
            violations.add("basic_code", _("实施清单不能改挂到其他基本目录事项。"))
        if _comparable(payload, implementation=True) == _comparable(
            implementation_payload(implementation), implementation=True
        ):
            violations.add("__all__", _("内容与已发布版本相同，无需变更。"))


def _comparable(payload: dict[str, Any], *, implementation: bool = False) -> dict[str, Any]:
    """A payload without its base version; for an implementation also without the entry's
    elements, which a change to the implementation cannot alter by itself."""
    ignored = {"base_version", "name", "kind", "legal_basis"} if implementation else {"base_version"}
    return {key: value for key, value in payload.items() if key not in ignored}


def _implementation_place_check(payload: dict[str, Any], violations: rules.Violations) -> Department | None:
    """The department must belong to the implementation's region; the hall and windows to both."""
    department = Department.objects.filter(code=payload.get("department_code")).select_related("region").first()
    if department is None:
        violations.add("department_code", _("实施部门不存在。"))
        return None
    if department.region_id != payload.get("region_code"):
        violations.add("department_code", _("实施部门不属于所选区划。"))
    hall_name = payload.get("hall")
    if hall_name:
        hall = Hall.objects.filter(name=hall_name).first()
        if hall is None:
            violations.add("hall", _("政务服务中心不存在。"))
        elif not hall.region.contains(department.region) and not department.region.contains(hall.region):
            violations.add("hall", _("政务服务中心不在实施区划内。"))
        elif payload.get("windows"):
            known = set(hall.windows.filter(number__in=payload["windows"]).values_list("number", flat=True))
            missing = sorted(set(payload["windows"]) - known)
            if missing:
                violations.add(
                    "windows", _("政务服务中心没有这些窗口：%(windows)s。") % {"windows": "、".join(missing)}
                )
    elif payload.get("windows"):
        violations.add("windows", _("选择窗口前请先选择政务服务中心。"))
    return department


# ---------------------------------------------------------------------------------------------
# Publishing


def _publish(
    *,
    change: CatalogueChange,
    action: ChangeAction,
    target: ChangeTarget,
    entry: CatalogueEntry | None,
    implementation: Implementation | None,
) -> set[int]:
    """Apply an approved change; returns the ids of implementations whose guide changed."""
    if target == ChangeTarget.IMPLEMENTATION:
        if action in (ChangeAction.ADD, ChangeAction.CHANGE):
            implementation = _implementation_write(implementation=implementation, payload=change.payload, change=change)
            change.implementation = implementation
        else:
            assert implementation is not None
            implementation.state = STATE_ACTIONS[action]
            _implementation_version_add(
                implementation=implementation, change=change, bump=True, update_fields=["state"]
            )
        return {implementation.pk}
    if action == ChangeAction.ADD:
        change.entry = _entry_write(entry=None, payload=change.payload, change=change)
        return set()
    assert entry is not None
    if action == ChangeAction.CHANGE:
        _entry_write(entry=entry, payload=change.payload, change=change)
        return _implementations_republish(entries=[entry], change=change)
    if action in STATE_ACTIONS:
        entry.state = STATE_ACTIONS[action]
        _entry_version_add(entry=entry, change=change, bump=True, update_fields=["state"])
        return _implementations_republish(entries=[entry], change=change)
    if action == ChangeAction.SPLIT:
        return _entry_split(entry=entry, change=change)
    return _entry_merge(entry=entry, change=change)


def _entry_write(*, entry: CatalogueEntry | None, payload: dict[str, Any], change: CatalogueChange) -> CatalogueEntry:
    now = timezone.now()
    fields = {
        key: payload[key]
        for key in ("basic_code", "name", "kind", "legal_basis", "description", "for_persons", "for_companies")
    }
    if entry is None:
        entry = CatalogueEntry.objects.create(**fields, published_at=now, version=1)
    else:
        for key, value in fields.items():
            setattr(entry, key, value)
        entry.version += 1
        entry.published_at = now
        entry.save()
    entry.themes.set(Theme.objects.filter(code__in=payload.get("themes") or []))
    _entry_version_add(entry=entry, change=change, bump=False)
    return entry


def _entry_version_add(
    *, entry: CatalogueEntry, change: CatalogueChange, bump: bool, update_fields: list[str] | None = None
) -> None:
    if bump:
        entry.version += 1
        entry.published_at = timezone.now()
        entry.save(update_fields=[*(update_fields or []), "version", "published_at"])
    CatalogueEntryVersion.objects.create(
        entry=entry,
        number=entry.version,
        change=change,
        published_at=entry.published_at,
        snapshot={**entry_payload(entry), "state": entry.state, "version": entry.version},
    )


def _implementation_write(
    *, implementation: Implementation | None, payload: dict[str, Any], change: CatalogueChange
) -> Implementation:
    entry = CatalogueEntry.objects.get(basic_code=payload["basic_code"])
    department = Department.objects.get(code=payload["department_code"])
    hall = Hall.objects.filter(name=payload["hall"]).first() if payload.get("hall") else None
    values = {field: payload[field] for field in IMPLEMENTATION_PAYLOAD_FIELDS}
    values.update({field: payload.get(field) or {} for field in DEFINITION_FIELDS})
    now = timezone.now()
    if implementation is None:
        implementation = Implementation.objects.create(
            implementation_code=payload["implementation_code"],
            entry=entry,
            region_id=payload["region_code"],
            department=department,
            hall=hall,
            published_at=now,
            version=1,
            **values,
        )
    else:
        for field, value in values.items():
            setattr(implementation, field, value)
        implementation.department = department
        implementation.hall = hall
        implementation.version += 1
        implementation.published_at = now
        implementation.save()
    implementation.windows.set(hall.windows.filter(number__in=payload.get("windows") or []) if hall else [])
    implementation.process_steps.all().delete()
    ProcessStep.objects.bulk_create(
        ProcessStep(implementation=implementation, order=order, **{f: step[f] for f in PROCESS_STEP_FIELDS})
        for order, step in enumerate(payload.get("process_steps") or [], start=1)
    )
    implementation.materials.all().delete()
    Material.objects.bulk_create(
        Material(implementation=implementation, order=order, **{f: material[f] for f in MATERIAL_FIELDS})
        for order, material in enumerate(payload.get("materials") or [], start=1)
    )
    _implementation_version_add(implementation=implementation, change=change, bump=False)
    return implementation


def _implementation_version_add(
    *, implementation: Implementation, change: CatalogueChange, bump: bool, update_fields: list[str] | None = None
) -> None:
    if bump:
        implementation.version += 1
        implementation.published_at = timezone.now()
        implementation.save(update_fields=[*(update_fields or []), "version", "published_at"])
    fresh = (
        Implementation.objects.select_related("entry", "region", "department", "hall")
        .prefetch_related("windows", "process_steps", "materials", "entry__themes")
        .get(pk=implementation.pk)
    )
    ImplementationVersion.objects.create(
        implementation=implementation,
        number=implementation.version,
        change=change,
        published_at=implementation.published_at,
        snapshot=implementation_snapshot(fresh),
    )


def _implementations_republish(
    *, entries: list[CatalogueEntry], change: CatalogueChange, state: str | None = None
) -> set[int]:
    """An entry's elements are part of every implementation's guide: publish each anew."""
    touched = set()
    for implementation in Implementation.objects.filter(entry__in=entries).exclude(state=ItemState.CANCELLED):
        fields = []
        if state is not None:
            implementation.state = state
            fields.append("state")
        _implementation_version_add(implementation=implementation, change=change, bump=True, update_fields=fields)
        touched.add(implementation.pk)
    return touched


def _entry_split(*, entry: CatalogueEntry, change: CatalogueChange) -> set[int]:
    """The entry is cancelled; each of its implementations is carried over to every new entry."""
    new_entries = [_entry_write(entry=None, payload=item, change=change) for item in change.payload["entries"]]
    originals = list(
        Implementation.objects.filter(entry=entry)
        .exclude(state=ItemState.CANCELLED)
        .select_related("entry", "department", "hall")
        .prefetch_related("windows", "process_steps", "materials")
    )
    touched = set()
    for new_entry in new_entries:
        for original in originals:
            touched.add(_implementation_copy(original=original, entry=new_entry, change=change).pk)
    entry.successors.add(*new_entries)
    entry.state = ItemState.CANCELLED
    _entry_version_add(entry=entry, change=change, bump=True, update_fields=["state"])
    return touched | _implementations_republish(entries=[entry], change=change, state=ItemState.CANCELLED)


def _entry_merge(*, entry: CatalogueEntry, change: CatalogueChange) -> set[int]:
    """The sources are cancelled; one implementation per department carries all their materials."""
    sources = list(CatalogueEntry.objects.select_for_update().filter(basic_code__in=change.payload["sources"]))
    merged = _entry_write(entry=None, payload=change.payload["entry"], change=change)
    by_department: dict[int, list[Implementation]] = {}
    for implementation in (
        Implementation.objects.filter(entry__in=sources)
        .exclude(state=ItemState.CANCELLED)
        .select_related("entry", "department", "hall")
        .prefetch_related("windows", "process_steps", "materials")
        .order_by("entry__basic_code", "implementation_code")
    ):
        by_department.setdefault(implementation.department_id, []).append(implementation)
    touched = set()
    for implementations in by_department.values():
        extra_materials = [
            material for other in implementations[1:] for material in implementation_payload(other)["materials"]
        ]
        touched.add(
            _implementation_copy(
                original=implementations[0], entry=merged, change=change, extra_materials=extra_materials
            ).pk
        )
    for source in sources:
        source.successors.add(merged)
        source.state = ItemState.CANCELLED
        _entry_version_add(entry=source, change=change, bump=True, update_fields=["state"])
    return touched | _implementations_republish(entries=sources, change=change, state=ItemState.CANCELLED)


def _implementation_copy(
    *,
    original: Implementation,
    entry: CatalogueEntry,
    change: CatalogueChange,
    extra_materials: list[dict[str, Any]] | None = None,
) -> Implementation:
    payload = implementation_payload(original)
    payload.update(
        basic_code=entry.basic_code,
        name=entry.name,
        kind=entry.kind,
        legal_basis=entry.legal_basis,
        implementation_code=implementation_code_for(basic_code=entry.basic_code, department=original.department),
    )
    names = {material["name"] for material in payload["materials"]}
    for material in extra_materials or []:
        if material["name"] not in names:
            payload["materials"].append(material)
            names.add(material["name"])
    return _implementation_write(implementation=None, payload=payload, change=change)


# ---------------------------------------------------------------------------------------------
# Guide views (the popularity the search and the home page rank by)


class _ViewCounts:
    """Guide views counted in this process and not yet written (see implementation_view_count)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: Counter[int] = Counter()
        self.since = time.monotonic()
        self.writer: threading.Thread | None = None  # the flush running in the background, if any


_VIEWS = _ViewCounts()


def guide_body_keep(*, implementation_id: int, language: str, key: str, name: str, html: str) -> None:
    """Keep a guide body the portal rendered (``GuideBody``), and drop the implementation's
    bodies in that language under any other key (an earlier version, state or layout). Two
    readers rendering the same body at once keep one row. Derived data: no audit record."""
    GuideBody.objects.bulk_create(
        [
            GuideBody(
                implementation_id=implementation_id,
                language=language,
                key=key,
                name=name,
                html=html,
                rendered_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )
    GuideBody.objects.filter(implementation_id=implementation_id, language=language).exclude(key=key).delete()


def implementation_view_count(*, implementation_id: int) -> None:
    """Count a guide view. Views are added up in the worker and written together once
    ``GOVHALL_VIEW_COUNT_FLUSH_SECONDS`` have passed (one transaction for every implementation
    viewed meanwhile), so a page view commits no write of its own; a worker that dies loses at
    most that many seconds of views of a popularity figure (one that stops writes them).

    The flush runs in a thread of its own, on its own connection: writing 2,000 implementations'
    views took 180-330 ms, which the reader whose view fell due used to wait for. With an
    interval of 0 (the tests) each view is written at once, in the caller's transaction."""
    interval = settings.GOVHALL_VIEW_COUNT_FLUSH_SECONDS
    with _VIEWS.lock:
        _VIEWS.pending[implementation_id] += 1
        if time.monotonic() - _VIEWS.since < interval:
            return
        if interval > 0:
            if _VIEWS.writer is None or not _VIEWS.writer.is_alive():
                # A flush still running takes these views with the next one.
                _VIEWS.writer = threading.Thread(target=_view_counts_write, name="guide-views", daemon=True)
                _VIEWS.writer.start()
            return
    implementation_view_counts_flush()


def implementation_view_counts_flush() -> int:
    """Write the views counted in this process (no read-modify-write); returns how many were
    written. Views that could not be written, or whose rows another worker's flush holds, are
    counted again for the next flush."""
    with _VIEWS.lock:
        pending, _VIEWS.pending = _VIEWS.pending, Counter()
        _VIEWS.since = time.monotonic()
    if not pending:
        return 0
    try:
        with transaction.atomic():
            left = implementation_views_add(views=list(pending.items()))
    except Exception:
        with _VIEWS.lock:
            _VIEWS.pending.update(pending)
        raise
    if left:
        with _VIEWS.lock:
            _VIEWS.pending.update(dict(left))
    return sum(pending.values()) - sum(count for _pk, count in left)


def implementation_views_add(*, views: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Add (implementation id, views) to the implementations' guide views, in the caller's
    transaction; returns the views left unwritten because another transaction holds their rows
    (another worker's flush), for the caller to write later. Waits for no one: the rows are
    locked first, skipping those held, and with the lock an UPDATE of a column no key includes
    takes (``FOR NO KEY UPDATE``), which a filing's check of its foreign key to the
    implementation (``FOR KEY SHARE``, at its commit) does not wait for. ``FOR UPDATE`` made
    filings of a popular item wait at their commit for a flush, and flushes of the same popular
    guides wait for each other (0.04 sessions in the peak day). The search documents'
    popularity levels follow with the job search_popularity_move."""
    rows = sorted(views)
    if not rows:
        return []
    if connection.vendor == "postgresql":
        # One statement for every implementation viewed (a busy worker has seen thousands in the
        # interval; one UPDATE each held the rows it had locked for a second).
        ids = [pk for pk, _n in rows]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM catalog_implementation WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
                [ids],
            )
            locked = {pk for (pk,) in cursor.fetchall()}
            written = [(pk, n) for pk, n in rows if pk in locked]
            if written:
                cursor.execute(
                    "UPDATE catalog_implementation AS implementation "
                    "SET view_count = implementation.view_count + viewed.n "
                    "FROM unnest(%s::bigint[], %s::bigint[]) AS viewed(id, n) WHERE implementation.id = viewed.id",
                    [[pk for pk, _n in written], [n for _pk, n in written]],
                )
            skipped = [pk for pk in ids if pk not in locked]
            if not skipped:
                return []
            # Held by another transaction, or gone: only the first are kept for later.
            cursor.execute("SELECT id FROM catalog_implementation WHERE id = ANY(%s)", [skipped])
            held = {pk for (pk,) in cursor.fetchall()}
        return [(pk, n) for pk, n in rows if pk in held]
    for pk, count in rows:
        Implementation.objects.filter(pk=pk).update(view_count=F("view_count") + count)
    return []


def _view_counts_write() -> None:
    """The background flush: its failure is logged (the views wait for the next one), and the
    thread's database connection is closed when it ends."""
    try:
        implementation_view_counts_flush()
    except Exception:
        logger.warning("guide views not written; they are kept for the next flush", exc_info=True)
    finally:
        connections.close_all()


def _view_counts_flush_at_exit() -> None:
    writer = _VIEWS.writer
    if writer is not None:
        writer.join(timeout=30)
    try:
        implementation_view_counts_flush()
    except Exception:  # the process is ending: say so, and let it end
        logger.warning("guide views not written at exit", exc_info=True)


atexit.register(_view_counts_flush_at_exit)
