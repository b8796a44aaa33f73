"""Everything that can happen to a case: one service per action, one transaction each.

Each action locks the case row (``select_for_update``) so two concurrent actions cannot both
win, refuses with ``CaseActionRefused`` what the current state does not allow, writes exactly one
timeline event (``CaseEvent``) and one audit record, and tells the applicant where the law or the
applicant expects it (acceptance, correction notice, refusal, decision, result).

The rules implemented here, by source:
- Administrative Licensing Law art. 32: one correction notice listing everything, within 5
  working days of receipt; when not notified in time the application counts as accepted from
  receipt (``deemed_accepted``). Refusals state reasons and the legal remedy.
- art. 42: the decision within the statutory limit from acceptance, extendable once with
  approval (10 working days, 15 for joint handling by several departments).
- art. 44: the result is issued after a decision to grant (no result without approval).
- art. 45: special procedures (hearing, inspection, testing, expert review) stop the clock.
"""

import copy
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.files.base import File
from django.db import IntegrityError, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts.guards import person_may_act_for_company
from govhall.accounts.models import Role
from govhall.audit.services import atomic_audited, audit_record_add
from govhall.cases import application_form, auto_rules, calendar, guards, process
from govhall.cases.models import (
    CLOSED_STATES,
    AutoDecision,
    Case,
    CaseCommitment,
    CaseDefinition,
    CaseEvent,
    CaseMaterial,
    CaseState,
    CaseTask,
    Channel,
    CommitmentExclusion,
    CorrectionNotice,
    Decision,
    DeferredMaterial,
    DeliveryMethod,
    Extension,
    ExtensionState,
    SpecialProcedure,
    SpecialProcedureKind,
    TaskState,
    Trust,
)
from govhall.cases.selectors import case_filed_with_key
from govhall.cases.sequences import sequence_next
from govhall.cases.signals import case_event_recorded
from govhall.cases.uploads import UploadRefused, upload_check
from govhall.catalog.models import CaseType, ItemState, ResultType
from govhall.notices.services import person_notify
from govhall.org.models import Department
from govhall.queries import (
    KeptAfterCommit,
    insert_compiled,
    rows_insert,
    unique_or_none_compiled,
    update_compiled,
    values_list_compiled,
)

# art. 32: the correction notice is due within 5 (working) days of receipt.
CORRECTION_NOTICE_DAYS = 5
# art. 42: one extension of 10 working days, 15 when several departments handle the case jointly.
EXTENSION_DAYS = 10
EXTENSION_DAYS_JOINT = 15
LEGAL_REMEDY_DEFAULT = _(
    "如不服本决定，可以自收到本决定之日起六十日内依法申请行政复议，或者六个月内依法向人民法院提起行政诉讼。"
)


class CaseActionRefused(Exception):
    """An action the case's state, the actor's rights or the law does not allow; ``code`` is
    stable for the API, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CaseInvalid(Exception):
    """The application (form or materials) has problems; ``errors`` maps each field or material
    to its message. Nothing the applicant entered is discarded."""

    def __init__(self, errors: dict[str, str], codes: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors
        # A problem's stable code where it is not the default one (an uploaded file refused by
        # its bytes keeps the upload's code: damaged, type_not_allowed …).
        self.codes = codes or {}


# ---------------------------------------------------------------------------------------------
# Applying

# CaseInvalid (and case_draft_save) name a material's problem "material:<name>"; "__all__" is
# about the application as a whole; any other key is a form field.
MATERIAL_ERROR_PREFIX = "material:"


@dataclass
class ErrorsSplit:
    fields: dict[str, str]
    materials: dict[str, str]
    general: list[str]


def case_errors_split(*, errors: dict[str, str]) -> ErrorsSplit:
    """Sort an application's problems onto what they concern, for every channel's form page."""
    split = ErrorsSplit(fields={}, materials={}, general=[])
    for key, message in errors.items():
        if key.startswith(MATERIAL_ERROR_PREFIX):
            split.materials.setdefault(key[len(MATERIAL_ERROR_PREFIX) :], message)
        elif key == "__all__":
            split.general.append(message)
        else:
            split.fields[key] = message
    return split


def case_draft_start(
    *,
    user: Any,
    implementation: Any,
    company: Any = None,
    channel: str = Channel.ONLINE,
    received_by: Any = None,
    receiving_department: Any = None,
    hall: Any = None,
    bundle_application: Any = None,
) -> Case:
    """Open (or return the existing) draft of ``user`` for ``implementation``, for ``company``
    when given, with the form filled from what the platform already knows.

    At a window (``received_by`` the clerk, ``receiving_department`` the clerk's department,
    ``hall`` where) the clerk fills the draft for the applicant present. A receiving department
    of another region than the competent one must be allowed by the item's area of handling
    (全市通办 / 全省通办 / 跨省通办), and its receive-and-forward step comes first. A case of a
    life-event bundle (``bundle_application``) is always a draft of its own.
    """
    person, elsewhere = _draft_allowed(
        user=user,
        implementation=implementation,
        company=company,
        channel=channel,
        received_by=received_by,
        receiving_department=receiving_department,
    )
    existing = _draft_existing(
        user=user,
        implementation=implementation,
        company=company,
        received_by=received_by,
        bundle_application=bundle_application,
    )
    if existing is not None:
        return existing
    with atomic_audited():
        return _draft_new(
            user=user,
            person=person,
            implementation=implementation,
            company=company,
            channel=channel,
            received_by=received_by,
            receiving_department=receiving_department if elsewhere else None,
            hall=hall,
            bundle_application=bundle_application,
        )


def case_bundle_draft(
    *, user: Any, implementation: Any, company: Any, bundle_application: Any, data: dict[str, Any]
) -> Case:
    """A case of a life-event bundle drafted with the bundle's values, inside the bundle's
    submission (its ``atomic_audited`` block, whose caller holds the application locked): the
    applicant's right to apply checked as for any draft, the form filled from what the platform
    knows and then from ``data``. No earlier draft is looked for (a bundle's cases are made only
    by its submission, in one transaction) and the row is this transaction's own, so it is not
    locked again. Saved with its submission (``case_bundle_submit``)."""
    person, _elsewhere = _draft_allowed(
        user=user,
        implementation=implementation,
        company=company,
        channel=Channel.ONLINE,
        received_by=None,
        receiving_department=None,
    )
    case = _draft_new(
        user=user,
        person=person,
        implementation=implementation,
        company=company,
        channel=Channel.ONLINE,
        received_by=None,
        receiving_department=None,
        hall=None,
        bundle_application=bundle_application,
    )
    _data_store(case=case, data=data, save=False)
    return case


def case_bundle_submit(*, case: Case, user: Any, present: set[str], wallet: dict[str, Any]) -> Case:
    """Submit a bundle's case drafted by ``case_bundle_draft`` in the same transaction, given the
    materials ``present`` since: checked and submitted as ``case_submit`` does, without reading
    again what this transaction wrote. ``wallet``: the applicant's licences the bundle's form
    read for every item's materials (``licence_wallet``), which the bundle was checked with.
    ``CaseInvalid`` rolls the bundle back."""
    cleaned, materials = _application_check(case, present=present, wallet=wallet)
    _draft_submitted(case=case, user=user, submit_key="", cleaned=cleaned, present=present, materials=materials)
    return case


def _draft_allowed(
    *, user: Any, implementation: Any, company: Any, channel: str, received_by: Any, receiving_department: Any
) -> tuple[Any, bool]:
    """The applicant's person, and whether the application is received outside the competent
    region; ``CaseActionRefused`` when this user may not apply for it here."""
    person = _applicant_person(user)
    _applicability_check(user=user, person=person, implementation=implementation, company=company, channel=channel)
    elsewhere = _intake_check(
        implementation=implementation, received_by=received_by, receiving_department=receiving_department
    )
    return person, elsewhere


def _draft_new(
    *,
    user: Any,
    person: Any,
    implementation: Any,
    company: Any,
    channel: str,
    received_by: Any,
    receiving_department: Any,
    hall: Any,
    bundle_application: Any,
) -> Case:
    """A new draft with the form filled from what the platform already knows, and its audit
    record; inside the caller's ``atomic_audited`` block. ``receiving_department`` is given
    only when it is of another region than the competent one."""
    entry = implementation.entry
    definition = application_form.form_definition_effective(
        definition=implementation.application_form,
        for_persons=entry.for_persons,
        for_companies=entry.for_companies,
        express_delivery=implementation.express_delivery,
        material_names=[material.name for material in implementation.materials.all()],
    )
    prefill = application_form.form_prefill(definition=definition, person=person, company=company)
    case = insert_compiled(
        Case(
            implementation=implementation,
            implementation_version=implementation.version,
            item_name=entry.name,
            case_type=implementation.case_type,
            definition=case_definition_get(
                form=definition,
                materials=material_list_for(implementation),
                process=process.process_for_intake(
                    definition=process_definition_for(implementation=implementation),
                    at_window=received_by is not None,
                    receiving_elsewhere=receiving_department is not None,
                ),
            ),
            region=implementation.region,
            department=implementation.department,
            applicant=user,
            person=person,
            company=company,
            applicant_name=company.name if company is not None else person.name,
            channel=channel,
            received_by=received_by,
            receiving_department=receiving_department,
            hall=hall,
            bundle_application=bundle_application,
            data=dict(prefill.values),
            prefilled=application_form.prefill_as_stored(prefill),
            prefill_hash=prefill.hash,
        )
    )
    _case_values_keep(case)  # a draft filed in the same call is then saved by its changes
    audit_record_add(
        actor=user,
        action="case_draft_start",
        object_type="case",
        object_id=case.pk,
        summary=f"{entry.name}",
        acting_for=_acting_for(case),
    )
    return case


def _draft_existing(
    *, user: Any, implementation: Any, company: Any, received_by: Any, bundle_application: Any
) -> Case | None:
    """The draft ``case_draft_start`` would open, if there is one; read only when there is one,
    which a first application has not."""
    found = _draft_existing_id(
        user=user,
        implementation=implementation,
        company=company,
        received_by=received_by,
        bundle_application=bundle_application,
    )
    return Case.objects.get(pk=found) if found is not None else None


def _draft_existing_id(
    *, user: Any, implementation: Any, company: Any, received_by: Any, bundle_application: Any
) -> int | None:
    """The id of the draft ``case_draft_start`` would open, if there is one, through a statement
    compiled once per process (for each combination of the optional parts given)."""
    optional = {"company": company, "received_by": received_by, "bundle_application": bundle_application}
    given = {name: related.pk for name, related in optional.items() if related is not None}
    name = "draft_existing:" + ",".join(given)

    def query(user_id: int, implementation_id: int, *ids: int) -> QuerySet[Case, Any]:
        absent = {f"{part}__isnull": True for part in optional if part not in given}
        present = {f"{part}_id": value for part, value in zip(given, ids, strict=True)}
        drafts = Case.objects.filter(
            applicant_id=user_id, implementation_id=implementation_id, state=CaseState.DRAFT, **absent, **present
        )
        return drafts.order_by("pk").values_list("pk")[:1]

    found = values_list_compiled(name, query, user.pk, implementation.pk, *given.values())
    return found[0][0] if found else None


def case_definition_get(
    *, form: dict[str, Any], materials: list[dict[str, Any]], process: dict[str, Any]
) -> CaseDefinition:
    """The shared row holding this form, material list and process (made on first use).

    Keyed by the SHA-256 of the canonical JSON, so every case filed under the same published
    version (and the same intake variant) points at one row; two first uses at once both end
    on the row the unique constraint kept.
    """
    canonical = json.dumps(
        {"form": form, "materials": materials, "process": process},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    kept = _definitions_kept.get(digest)
    if kept is not None:
        return _definition_built(digest, kept)
    found, _created = CaseDefinition.objects.get_or_create(
        sha256=digest, defaults={"form": form, "materials": materials, "process": process}
    )
    if _created:
        found.refresh_from_db()  # its content as the database gives it back (jsonb orders keys)
    values = (
        found.pk,
        found.created_at,
        json.dumps(found.form),
        json.dumps(found.materials),
        json.dumps(found.process),
    )
    _definitions_kept.keep_after_commit(digest, values)
    return found


# The shared definitions by digest: a definition is never changed and never deleted (its cases
# protect it), so every draft of a version after the first reads none (one statement fewer a
# filing). Its content is kept as the JSON of what the database gave back, so a definition
# built from it is the one a read would give. Up to 256 are kept (a few kilobytes each).
_definitions_kept: KeptAfterCommit[str, tuple[int, Any, str, str, str]] = KeptAfterCommit(size=256)


_DEFINITION_FIELDS = [field.attname for field in CaseDefinition._meta.concrete_fields]


def _definition_built(digest: str, values: tuple[int, Any, str, str, str]) -> CaseDefinition:
    """A definition of the kept values, built as the ORM builds a row it read."""
    pk, created_at, form, materials, process_ = values
    row = {
        "id": pk,
        "sha256": digest,
        "form": json.loads(form),
        "materials": json.loads(materials),
        "process": json.loads(process_),
        "created_at": created_at,
    }
    alias = router.db_for_read(CaseDefinition)
    return CaseDefinition.from_db(alias, _DEFINITION_FIELDS, [row[name] for name in _DEFINITION_FIELDS])


def _intake_check(*, implementation: Any, received_by: Any, receiving_department: Any) -> bool:
    """Refuse an intake the clerk or the item does not allow; True when the receiving office is
    in another region than the competent department (the file will be forwarded)."""
    from govhall.catalog.models import AreaOfHandling

    if received_by is None:
        return False
    department = receiving_department or implementation.department
    if not guards.staff_holds_role_in(user=received_by, role=Role.WINDOW_CLERK, department_id=department.pk):
        raise CaseActionRefused("not_allowed", _("您不是该部门的窗口人员，不能代为收件。"))
    if department.region_id == implementation.region_id:
        return department.pk != implementation.department_id
    here, there = department.region_id, implementation.region_id
    area = implementation.area_of_handling
    allowed = (
        area == AreaOfHandling.NATIONWIDE
        or (area == AreaOfHandling.PROVINCE and here[:2] == there[:2])
        or (area == AreaOfHandling.CITY and here[:4] == there[:4])
    )
    if not allowed:
        raise CaseActionRefused(
            "not_cross_region",
            _("该事项的通办范围为“%(area)s”，本窗口不能异地收件。") % {"area": AreaOfHandling(area).label},
        )
    return True


def process_definition_for(*, implementation: Any) -> dict[str, Any]:
    """The implementation's own process definition, or the standard one built from its elements."""
    if implementation.process_definition:
        return dict(implementation.process_definition)
    return process.process_definition_standard(
        immediate=implementation.case_type == CaseType.IMMEDIATE,
        online=implementation.online_available,
        promised_days=implementation.promised_time_limit_days,
        issues_result=implementation.result_type in (ResultType.LICENCE, ResultType.DOCUMENT),
        step_names=[step.name for step in implementation.process_steps.all()],
    )


def material_list_for(implementation: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": material.name,
            "requirement": material.requirement,
            "condition": material.condition,
            "source": material.source,
            "licence_type_code": material.licence_type_code,
            "form": material.form,
            "notes": material.notes,
        }
        for material in implementation.materials.all()
    ]


def _applicant_person(user: Any) -> Any:
    person = getattr(user, "person", None) if user is not None else None
    if person is None:
        raise CaseActionRefused("not_a_person", _("只有完成实名注册的个人账号才能申请办理。"))
    return person


def _applicability_check(*, user: Any, person: Any, implementation: Any, company: Any, channel: str) -> None:
    entry = implementation.entry
    if implementation.state != ItemState.ACTIVE or entry.state != ItemState.ACTIVE:
        raise CaseActionRefused("item_not_active", _("该事项目前暂停或已取消，不能申请。"))
    if channel == Channel.ONLINE and not implementation.online_available:
        raise CaseActionRefused("not_online", _("该事项暂不支持网上申请，请到窗口办理。"))
    if person.assurance_level < implementation.assurance_level:
        raise CaseActionRefused(
            "assurance_too_low",
            _("该事项需要实名认证等级L%(need)s，您当前为L%(have)s；请先在“我的账号”中提升认证等级。")
            % {"need": implementation.assurance_level, "have": person.assurance_level},
        )
    if company is None:
        if not entry.for_persons:
            raise CaseActionRefused("persons_not_served", _("该事项只面向法人，请选择代表的单位。"))
        return
    if not entry.for_companies:
        raise CaseActionRefused("companies_not_served", _("该事项只面向个人。"))
    if not person_may_act_for_company(person=person, company=company, basic_code=entry.basic_code):
        raise CaseActionRefused("not_authorised", _("您没有代表该单位办理此事项的授权。"))


def case_draft_save(*, case: Case, user: Any, data: dict[str, Any]) -> dict[str, str]:
    """Keep what the applicant entered (always, even when it has problems) and return the
    problems found so far; locked prefilled values cannot be overwritten."""
    with atomic_audited():
        case = _case_locked(case.pk)
        _applicant_guard(user=user, case=case)
        _data_store(case=case, data=data)
    _cleaned, errors = application_form.form_validate(
        definition=case.form_definition,
        data=case.data,
        prefilled=case.prefilled,
        materials_present=_material_names_present(case),
    )
    return errors


def _data_store(*, case: Case, data: dict[str, Any], save: bool = True) -> None:
    """Keep the form values sent, on the locked case; locked prefilled values stay as supplied.
    With ``save`` False the caller saves the case later in the same transaction."""
    if case.state not in (CaseState.DRAFT, CaseState.CORRECTION):
        raise CaseActionRefused("not_editable", _("办件已提交，不能再修改申请表。"))
    locked = set(case.prefilled.get("locked") or [])
    values = case.prefilled.get("values") or {}
    # Locked fields always take what the platform supplied (even when it supplied nothing).
    supplied = {name: values[name] for name in locked if name in values}
    case.data = {**{name: value for name, value in data.items() if name not in locked}, **supplied}
    if save:
        case.save(update_fields=["data", "updated_at"])


def case_material_add(*, case: Case, user: Any, material_name: str, file: File) -> CaseMaterial:
    """Store an uploaded file for one material of the case (checked by its bytes, named by its
    SHA-256); an earlier file for the same material is superseded, never deleted."""
    checked = upload_check(file=file)
    with atomic_audited():
        case = _case_locked(case.pk)
        _applicant_guard(user=user, case=case)
        return _material_add(case=case, user=user, material_name=material_name, file=file, checked=checked)


def _material_add(*, case: Case, user: Any, material_name: str, file: File, checked: Any) -> CaseMaterial:
    """``case_material_add`` on the locked case, its file already checked."""
    _material_editable_check(case=case, material_name=material_name)
    return _materials_add(case=case, user=user, files={material_name: (file, checked)})[0]


def _materials_add(
    *, case: Case, user: Any, files: dict[str, tuple[File, Any]], superseding: bool = True
) -> list[CaseMaterial]:
    """Store checked files, one per material named (``_material_editable_check`` passed), on the
    locked case, each with its audit record; ``superseding`` False for a draft made in this
    transaction, which has no earlier file to supersede."""
    materials = _materials_store(case=case, user=user, files=files, now=timezone.now(), superseding=superseding)
    for material in materials:
        audit_record_add(
            actor=user,
            action="case_material_add",
            object_type="case",
            object_id=case.number or case.pk,
            summary=material.material_name,
            data={"sha256": material.sha256, "size": material.size},
            acting_for=_acting_for(case),
        )
    return materials


def _material_store(*, case: Case, user: Any, material_name: str, file: File, checked: Any, now: Any) -> CaseMaterial:
    """Store a checked file for a material; the earlier file (or commitment) for it is superseded."""
    return _materials_store(case=case, user=user, files={material_name: (file, checked)}, now=now)[0]


def _materials_store(
    *, case: Case, user: Any, files: dict[str, tuple[File, Any]], now: Any, superseding: bool = True
) -> list[CaseMaterial]:
    """Store checked files, one per material named; the earlier file (or commitment) of each is
    superseded, unless ``superseding`` is False (a draft made in this transaction). One
    statement per table, whatever the number of files."""
    names = list(files)
    if superseding:
        CaseMaterial.objects.filter(case=case, material_name__in=names, superseded_at__isnull=True).update(
            superseded_at=now
        )
        CaseCommitment.objects.filter(case=case, material_name__in=names, superseded_at__isnull=True).update(
            superseded_at=now
        )
    materials = []
    for material_name, (file, checked) in files.items():
        material = CaseMaterial(
            case=case,
            material_name=material_name,
            sha256=checked.sha256,
            size=checked.size,
            content_type=checked.content_type,
            extension=checked.extension,
            original_name=checked.original_name,
            trust=Trust.C,
            uploaded_by=user,
            uploaded_at=now,
        )
        material.file.save(f"{checked.sha256}{checked.extension}", file, save=False)
        materials.append(material)
    return rows_insert(materials)


def case_material_reuse(*, case: Case, user: Any, material_name: str, source: CaseMaterial) -> CaseMaterial:
    """Use a file the applicant already gave in an earlier case instead of a new upload; the
    file is shared, its trust level carried over (B stays B once an officer checked it)."""
    with atomic_audited():
        case = _case_locked(case.pk)
        _applicant_guard(user=user, case=case)
        _material_editable_check(case=case, material_name=material_name)
        if source.case_id == case.pk or not guards.applicant_may_see_case(user=user, case=source.case):
            raise CaseActionRefused("not_found", _("没有找到可复用的材料。"))
        if source.case.company_id != case.company_id:
            raise CaseActionRefused("not_found", _("没有找到可复用的材料。"))
        now = timezone.now()
        CaseMaterial.objects.filter(case=case, material_name=material_name, superseded_at__isnull=True).update(
            superseded_at=now
        )
        material = CaseMaterial.objects.create(
            case=case,
            material_name=material_name,
            file=source.file.name,
            sha256=source.sha256,
            size=source.size,
            content_type=source.content_type,
            extension=source.extension,
            original_name=source.original_name,
            trust=source.trust,
            uploaded_by=user,
            uploaded_at=now,
            reused_from=source,
        )
        audit_record_add(
            actor=user,
            action="case_material_reuse",
            object_type="case",
            object_id=case.number or case.pk,
            summary=material_name,
            data={"from_case": source.case.number or source.case_id, "sha256": source.sha256},
            acting_for=_acting_for(case),
        )
    return material


def _material_editable_check(*, case: Case, material_name: str) -> None:
    if case.state not in (CaseState.DRAFT, CaseState.CORRECTION):
        raise CaseActionRefused("not_editable", _("办件已提交，不能再更换材料。"))
    names = {material["name"] for material in case.material_list}
    if material_name not in names and material_name not in _form_file_fields(case):
        raise CaseActionRefused("unknown_material", _("该事项没有名为“%(name)s”的材料。") % {"name": material_name})


def _form_file_fields(case: Case) -> set[str]:
    fields = case.form_definition.get("fields") or {}
    return {name for name, hints in fields.items() if hints.get("widget") == "file"}


def _material_names_present(case: Case) -> set[str]:
    """Materials given as a file, or replaced by a signed commitment (trust D)."""
    # Read by every save and submission: compiled once per process.
    files = values_list_compiled("materials_present", _materials_present, case.pk)
    commitments = values_list_compiled("commitments_present", _commitments_present, case.pk)
    return {row[0] for row in files} | {row[0] for row in commitments}


def _materials_present(case_id: int) -> QuerySet[CaseMaterial, Any]:
    return CaseMaterial.objects.filter(case_id=case_id, superseded_at__isnull=True).values_list("material_name")


def _commitments_present(case_id: int) -> QuerySet[CaseCommitment, Any]:
    return CaseCommitment.objects.filter(case_id=case_id, superseded_at__isnull=True).values_list("material_name")


def case_submit(*, case: Case, user: Any, submit_key: str = "") -> Case:
    """Submit a draft: the form and materials are checked, the case gets its number, its clock
    of receipt starts and its first step opens. Submitting an already submitted case returns it
    unchanged (a second click, a retry after a timeout), and so does a key already used: two
    concurrent requests with one key cannot both make a case (the unique constraint decides)."""
    try:
        # The deadlines of the receipt and of the first step are counted from one read.
        with calendar.calendar_read_once():
            return _case_submit(case=case, user=user, submit_key=submit_key)
    except IntegrityError:
        earlier = case_filed_with_key(applicant=case.applicant, submit_key=submit_key)
        if earlier is None:
            raise
        return earlier


def _case_submit(*, case: Case, user: Any, submit_key: str) -> Case:
    with atomic_audited():
        case = _case_locked(case.pk)
        _applicant_guard(user=user, case=case)
        if case.state != CaseState.DRAFT:
            return case
        earlier = case_filed_with_key(applicant=case.applicant, submit_key=submit_key, exclude_pk=case.pk)
        if earlier is not None:
            return earlier
        present = _material_names_present(case)
        cleaned, materials = _application_check(case, present=present)
        _draft_submitted(
            case=case, user=user, submit_key=submit_key, cleaned=cleaned, present=present, materials=materials
        )
    return case


def _draft_submitted(
    *,
    case: Case,
    user: Any,
    submit_key: str,
    cleaned: dict[str, Any],
    present: set[str],
    materials: list[dict[str, Any]],
) -> None:
    """Submit the locked draft whose application passed ``_application_check`` (``cleaned``,
    ``materials``; ``present`` the materials given): its number, its clock of receipt, its first
    step, the applicant told; inside the caller's ``atomic_audited`` block."""
    now = timezone.now()
    today = timezone.localdate(now)
    case.data = cleaned
    case.number = _case_number(region_code=case.region_id, day=today)
    case.submit_key = submit_key[:64]
    case.state = CaseState.SUBMITTED
    case.submitted_at = now
    case.received_on = today
    case.correction_due_on = calendar.working_day_add(start=today, days=CORRECTION_NOTICE_DAYS)
    case.statutory_limit_days = case.implementation.statutory_time_limit_days
    case.statutory_limit_unit = case.implementation.statutory_time_limit_unit
    case.promised_limit_days = case.implementation.promised_time_limit_days
    case.promised_limit_unit = case.implementation.promised_time_limit_unit
    _deferred_materials_record(case, present=present, materials=materials)
    _wallet_materials_record(case=case, user=user, now=now, materials=materials)
    first = process.steps_of(case.process_definition)[0]
    if process.step_kind(first).automatic:
        # An automatic approval decides at once and goes on to what follows it (a licence
        # issued by the system reads the case again): the submission is saved first. A step
        # for an officer only adds its tasks, so the case is saved once, after them.
        _case_save(case)
    # The submission is on the timeline before whatever the first step does.
    _event(case=case, action="submit", actor=user, now=now, step=None)
    _step_enter(case=case, step=first, now=now)
    _case_save(case)
    person_notify(
        user=case.applicant,
        subject=_("申请已提交"),
        body=_("您申请的“%(item)s”已提交，办件编号%(number)s。") % {"item": case.item_name, "number": case.number},
        link=f"/cases/{case.number}/",
        purpose="case_submit",
    )


def case_file(
    *,
    user: Any,
    implementation: Any,
    data: dict[str, Any],
    submit_key: str,
    company: Any = None,
    channel: str = Channel.API,
    materials: Sequence[tuple[str, File]] = (),
    key_checked: bool = False,
) -> Case:
    """Draft and submit in one call (the API), with the uploaded ``materials`` as (material
    name, file) pairs: the idempotency key makes a retry return the case the first call made
    instead of a second case. Problems raise ``CaseInvalid`` listing every one of them (the
    form's, a file refused by its bytes, a material missing) and leave the draft with what was
    sent: the values and every file that passed its check, so a retry need only send what was
    wrong. Every file is checked; of a material given twice in one call the later file is kept.
    A field not sent keeps the value the draft has: what the platform filled in, or what an
    earlier attempt saved (the caller need not send back what the state already holds).
    ``key_checked``: the caller has just looked the key up and found no case (the API, which
    answers an earlier case with 200); a case filed with it since is found by the unique index
    of keys all the same."""
    if not submit_key or len(submit_key) > 64:
        raise CaseActionRefused("submit_key_required", _("请提供不超过64个字符的幂等键（Idempotency-Key）。"))
    earlier = None if key_checked else case_filed_with_key(applicant=user, submit_key=submit_key)
    if earlier is not None:
        return earlier
    person, _elsewhere = _draft_allowed(
        user=user,
        implementation=implementation,
        company=company,
        channel=channel,
        received_by=None,
        receiving_department=None,
    )
    checked, refused, codes = _uploads_checked(materials)
    # One transaction, so one lane of the audit chain and one commit for the whole filing (three
    # before: the draft begun, its values and files, the submission; docs/adr/0015). What has
    # problems is kept all the same: the transaction ends normally with the draft, and the
    # problems are raised after it.
    try:
        with calendar.calendar_read_once(), atomic_audited():
            case, problems = _filed(
                user=user,
                person=person,
                implementation=implementation,
                company=company,
                channel=channel,
                data=data,
                submit_key=submit_key,
                checked=checked,
                refused=refused,
                codes=codes,
            )
    except IntegrityError:
        # The same key used at the same moment by another request of this applicant: its case
        # was committed first, and this request's draft is rolled back with the rest.
        earlier = case_filed_with_key(applicant=user, submit_key=submit_key)
        if earlier is None:
            raise
        return earlier
    if problems:
        raise CaseInvalid(problems, codes)
    return case


def _uploads_checked(
    materials: Sequence[tuple[str, File]],
) -> tuple[list[tuple[str, File, Any]], dict[str, str], dict[str, str]]:
    """Each (material name, file) checked by its bytes, before any transaction: those that pass
    as (name, file, check), and the problems and codes of those refused, by field."""
    checked: list[tuple[str, File, Any]] = []
    refused: dict[str, str] = {}
    codes: dict[str, str] = {}
    for material_name, file in materials:
        try:
            checked.append((material_name, file, upload_check(file=file)))
        except UploadRefused as refusal:
            key = f"{MATERIAL_ERROR_PREFIX}{material_name}"
            refused[key], codes[key] = refusal.message, refusal.code
    return checked, refused, codes


def _filed(
    *,
    user: Any,
    person: Any,
    implementation: Any,
    company: Any,
    channel: str,
    data: dict[str, Any],
    submit_key: str,
    checked: list[tuple[str, File, Any]],
    refused: dict[str, str],
    codes: dict[str, str],
) -> tuple[Case, dict[str, str]]:
    """``case_file`` inside its transaction: the draft (the applicant's open one, locked, or a
    new one) with the values and every file that passed, then the submission when nothing has
    problems. Returns the case and the problems (the application's, the files' in ``refused``;
    ``codes`` takes the codes of materials the item does not list)."""
    found = _draft_existing_id(
        user=user, implementation=implementation, company=company, received_by=None, bundle_application=None
    )
    case = _case_locked(found) if found is not None else None
    if case is not None and case.state != CaseState.DRAFT:
        # Submitted since it was found, by a request with this key or another.
        earlier = case_filed_with_key(applicant=user, submit_key=submit_key)
        if earlier is not None:
            return earlier, {}
        case = None
    new = case is None
    if case is None:
        case = _draft_new(
            user=user,
            person=person,
            implementation=implementation,
            company=company,
            channel=channel,
            received_by=None,
            receiving_department=None,
            hall=None,
            bundle_application=None,
        )
    else:
        _applicant_guard(user=user, case=case)
    # Saved with the submission, or below when it does not happen.
    _data_store(case=case, data={**case.data, **data}, save=False)
    problems = dict(refused)
    files: dict[str, tuple[File, Any]] = {}
    for material_name, file, upload in checked:
        try:
            _material_editable_check(case=case, material_name=material_name)
        except CaseActionRefused as refusal:
            if refusal.code != "unknown_material":
                raise
            key = f"{MATERIAL_ERROR_PREFIX}{material_name}"
            problems[key], codes[key] = refusal.message, refusal.code
            continue
        files.pop(material_name, None)  # given twice: the later file is kept
        files[material_name] = (file, upload)
    if files:
        _materials_add(case=case, user=user, files=files, superseding=not new)
    # A draft made here has no file or commitment but those just stored.
    present = set(files) if new else _material_names_present(case)
    try:
        cleaned, listed = _application_check(case, present=present)
    except CaseInvalid as invalid:
        # A file refused is not submitted without: the applicant meant to give it. The answer
        # lists the application's other problems too, so that one retry can fix them all.
        problems = {**invalid.errors, **problems}
    if problems:
        case.save(update_fields=["data", "updated_at"])
        return case, problems
    _draft_submitted(case=case, user=user, submit_key=submit_key, cleaned=cleaned, present=present, materials=listed)
    return case, {}


def _application_check(
    case: Case, *, present: set[str], wallet: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The cleaned form data and the case's materials as listed with it (``case_materials_listed``,
    with ``wallet`` when the caller read it), or ``CaseInvalid``; ``present`` are the materials
    given (``_material_names_present``)."""
    cleaned, errors = application_form.form_validate(
        definition=case.form_definition, data=case.data, prefilled=case.prefilled, materials_present=present
    )
    for name in application_form.form_prefill_verify(
        data=case.data, prefilled=case.prefilled, prefill_hash=case.prefill_hash
    ):
        errors[name] = _("此项由系统根据登记信息自动填写，不能修改。")
    materials = case_materials_listed(case=case, data=cleaned, wallet=wallet)
    for material in _required(materials):
        if material["name"] in present:
            continue
        if application_form.form_material_options(definition=case.form_definition, material_name=material["name"])[
            "deferrable_days"
        ]:
            continue  # 容缺: accepted as missing, recorded by _deferred_materials_record
        errors[f"{MATERIAL_ERROR_PREFIX}{material['name']}"] = _("请上传“%(name)s”。") % {"name": material["name"]}
    if errors:
        raise CaseInvalid(errors)
    return cleaned, materials


def _deferred_materials_record(case: Case, *, present: set[str], materials: list[dict[str, Any]]) -> None:
    """容缺受理: the deferrable materials still missing at submission are recorded; their due dates
    are set at acceptance. ``materials`` as ``case_materials_listed`` lists them."""
    for material in _required(materials):
        days = application_form.form_material_options(definition=case.form_definition, material_name=material["name"])[
            "deferrable_days"
        ]
        if days and material["name"] not in present:
            DeferredMaterial.objects.get_or_create(case=case, material_name=material["name"], defaults={"days": days})


def case_wallet(case: Case) -> dict[str, Any]:
    """For each licence type the platform keeps that stands in for one of the case's materials:
    the applicant's valid licence of it (the company's for a company's case), or None."""
    return licence_wallet(material_list=case.material_list, person_id=case.person_id, company_id=case.company_id)


def licence_wallet(
    *, material_list: list[dict[str, Any]], person_id: int | None, company_id: int | None
) -> dict[str, Any]:
    """For each licence type the platform keeps that stands in for one of ``material_list``'s
    materials: the holder's valid licence of it (the company's when given), or None. What a
    case of these materials will find in its applicant's wallet (``case_wallet``)."""
    from govhall.licences.selectors import licence_valid_of_type_for

    codes = sorted({str(code) for material in material_list if (code := material.get("licence_type_code"))})
    if not codes:
        return {}
    # Every filing and case page asks this: compiled once per process for each number of codes
    # (building the statement took most of its 0.6 ms, thirty-eighth session).
    kept = values_list_compiled(f"licence_types_active_{len(codes)}", _licence_types_active, *codes)
    return {
        code: licence_valid_of_type_for(type_code=code, person_id=person_id, company_id=company_id) for (code,) in kept
    }


def _licence_types_active(*codes: str) -> QuerySet[Any, Any]:
    from govhall.licences.models import LicenceType

    return LicenceType.objects.filter(code__in=codes, active=True).values_list("code")


def case_materials_listed(
    *, case: Case, data: dict[str, Any] | None = None, wallet: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The case's materials as the form shows them, with what the wallet fills (``case_wallet``,
    read here unless the caller gives it: a wallet read for more materials than the case's is
    looked up by licence type all the same)."""
    return application_form.form_materials(
        definition=case.form_definition,
        materials=case.material_list,
        data=case.data if data is None else data,
        wallet=case_wallet(case) if wallet is None else wallet,
    )


def case_materials_required(*, case: Case, data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The materials the applicant must give now: required (or required by the form's rule)
    and neither filled from the wallet nor shared by a government source."""
    return _required(case_materials_listed(case=case, data=data))


def _required(materials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [material for material in materials if material["required"] and not material.get("shared")]


def _wallet_materials_record(*, case: Case, user: Any, now: Any, materials: list[dict[str, Any]]) -> None:
    """材料免提交: each material a licence in the wallet fills is recorded with the licence's
    signed PDF, trust A (issued by government), pointing at the licence version. ``materials``
    as ``case_materials_listed`` lists them."""
    for material in materials:
        licence = material.get("from_wallet")
        if licence is None or not material["visible"]:
            continue
        if CaseMaterial.objects.filter(case=case, material_name=material["name"], superseded_at__isnull=True).exists():
            continue  # the applicant gave it anyway
        version = licence.versions.filter(version=licence.version).first()
        if version is None:
            continue
        CaseMaterial.objects.create(
            case=case,
            material_name=material["name"],
            file=version.document.name,
            sha256=version.sha256,
            size=version.document.size,
            content_type="application/pdf",
            extension=".pdf",
            original_name=f"{licence.licence_type.name} {licence.number}.pdf",
            trust=Trust.A,
            uploaded_by=user,
            uploaded_at=now,
            licence_version=version,
        )


def _case_number(*, region_code: str, day: date) -> str:
    """Region code + date + a sequence unique per region and day (DOMAIN.md), taken outside the
    caller's transaction on PostgreSQL, so that no filing waits for another to commit
    (``sequences``, ADR 28)."""
    sequence = sequence_next(key=region_code, day=day)
    return f"{region_code[:6]}{day:%Y%m%d}{sequence:06d}"


# The applicant may withdraw until a decision is made.
WITHDRAWABLE_STATES = (CaseState.SUBMITTED, CaseState.CORRECTION, CaseState.ACCEPTED)


def case_withdraw(*, case: Case, user: Any, reason: str) -> Case:
    """The applicant withdraws the application; possible until a decision is made."""
    with atomic_audited():
        case = _case_locked(case.pk)
        # Only the applicant (or whoever may act for the company): not the clerk who took it in.
        if not guards.applicant_may_see_case(user=user, case=case):
            raise CaseActionRefused("not_found", _("没有找到该办件。"))
        if case.state not in WITHDRAWABLE_STATES:
            raise CaseActionRefused("not_withdrawable", _("办件已作出决定或已结束，不能撤回。"))
        now = timezone.now()
        _tasks_cancel(case=case, now=now)
        case.state = CaseState.WITHDRAWN
        case.stage = ""
        case.withdrawn_at = now
        _case_save(case)
        _event(case=case, action="withdraw", actor=user, now=now, opinion=reason.strip())
    return case


def case_correction_answer(*, case: Case, user: Any, note: str = "") -> Case:
    """The applicant has corrected what the notice listed (new files, form changes saved with
    ``case_draft_save``) and resubmits; the step that issued the notice opens again."""
    with atomic_audited():
        case = _case_locked(case.pk)
        _applicant_guard(user=user, case=case)
        if case.state != CaseState.CORRECTION:
            raise CaseActionRefused("no_correction_pending", _("该办件没有待补正的内容。"))
        case.data, _materials = _application_check(case, present=_material_names_present(case))
        notice = case.corrections.filter(answered_at__isnull=True).order_by("-issued_at").first()
        now = timezone.now()
        today = timezone.localdate(now)
        if notice is not None:
            notice.answered_at = now
            notice.answer_note = note.strip()
            notice.save(update_fields=["answered_at", "answer_note"])
        if not case.deemed_accepted:
            # The corrected application is received anew; the 5 days for a notice run again.
            case.received_on = today
            case.correction_due_on = calendar.working_day_add(start=today, days=CORRECTION_NOTICE_DAYS)
        case.state = CaseState.SUBMITTED
        step = process.step_find(case.process_definition, notice.step_key if notice else "") or (
            process.step_first_of_kind(case.process_definition, "accept")
        )
        assert step is not None
        _step_enter(case=case, step=step, now=now)
        _case_save(case)
        _event(case=case, action="correction_answer", actor=user, now=now, opinion=note.strip())
    return case


# ---------------------------------------------------------------------------------------------
# Handling: one service per action on an open task.


def case_task_claim(*, task: CaseTask, officer: Any) -> CaseTask:
    """Take an open, unclaimed task of one's department and role."""
    with atomic_audited():
        case, task = _task_locked(task)
        if not guards.staff_may_act_on_task(user=officer, task=task):
            raise CaseActionRefused("not_allowed", _("您不能办理此环节，或已由他人签收。"))
        if task.assignee_id == officer.pk:
            return task
        task.assignee = officer
        task.save(update_fields=["assignee"])
        _event(case=case, action="claim", actor=officer, now=timezone.now(), task=task, public=False)
    return task


def case_task_transfer(*, task: CaseTask, officer: Any, to_officer: Any, note: str = "") -> CaseTask:
    """Hand a task to another officer who holds its role in its department."""
    with atomic_audited():
        case, task = _task_locked(task)
        if not guards.staff_may_reassign_task(user=officer, task=task):
            raise CaseActionRefused("not_allowed", _("只有经办人或部门管理员可以转办。"))
        if not guards.staff_holds_role_in(user=to_officer, role=task.role, department_id=task.department_id):
            raise CaseActionRefused("target_not_eligible", _("接收人不在本部门的相应岗位上。"))
        task.assignee = to_officer
        task.save(update_fields=["assignee"])
        _event(
            case=case,
            action="transfer",
            actor=officer,
            now=timezone.now(),
            task=task,
            opinion=note.strip(),
            data={"to": to_officer.get_full_name() or to_officer.username},
            public=False,
        )
    return task


def case_prereview_pass(*, task: CaseTask, officer: Any, opinion: str = "") -> Case:
    """预审通过: the application goes on to acceptance."""
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="pass")
        now = timezone.now()
        _task_close(task=task, officer=officer, now=now, outcome="pass", opinion=opinion)
        _advance(case=case, after_key=task.step_key, now=now)
        _case_save(case)
        _event(case=case, action="prereview_pass", actor=officer, now=now, task=task, opinion=opinion)
    return case


def case_material_commit(*, case: Case, user: Any, material_name: str) -> CaseCommitment:
    """告知承诺: sign the item's commitment in place of a proof the catalogue lets be replaced;
    refused to an applicant excluded after a false commitment."""
    with atomic_audited():
        case = _case_locked(case.pk)
        _applicant_guard(user=user, case=case)
        _material_editable_check(case=case, material_name=material_name)
        commitment = application_form.form_commitment(definition=case.form_definition)
        options = application_form.form_material_options(definition=case.form_definition, material_name=material_name)
        if commitment is None or not options["commitment"]:
            raise CaseActionRefused("commitment_not_allowed", _("该材料不适用告知承诺，请上传材料。"))
        today = timezone.localdate()
        excluded = CommitmentExclusion.objects.filter(until__gte=today).filter(
            Q(person=case.person) if case.company is None else Q(company=case.company) | Q(person=case.person)
        )
        if excluded.exists():
            raise CaseActionRefused(
                "commitment_excluded",
                _("因曾作出虚假承诺，截至%(until)s不能适用告知承诺，请上传材料。")
                % {"until": excluded.order_by("-until").first().until.isoformat()},  # type: ignore[union-attr]
            )
        now = timezone.now()
        CaseCommitment.objects.filter(case=case, material_name=material_name, superseded_at__isnull=True).update(
            superseded_at=now
        )
        CaseMaterial.objects.filter(case=case, material_name=material_name, superseded_at__isnull=True).update(
            superseded_at=now
        )
        signed = CaseCommitment.objects.create(
            case=case,
            material_name=material_name,
            text=str(commitment["text"]).strip(),
            signed_by=user,
            signed_at=now,
        )
        audit_record_add(
            actor=user,
            action="case_material_commit",
            object_type="case",
            object_id=case.number or case.pk,
            summary=material_name,
            acting_for=_acting_for(case),
        )
    return signed


def case_deferred_material_add(*, case: Case, user: Any, material_name: str, file: File) -> CaseMaterial:
    """容缺: hand in a material accepted as missing; once every one has arrived the result may
    be issued."""
    checked = upload_check(file=file)
    with atomic_audited():
        case = _case_locked(case.pk)
        _applicant_guard(user=user, case=case)
        deferred = (
            DeferredMaterial.objects.select_for_update()
            .filter(case=case, material_name=material_name, received_at__isnull=True)
            .first()
        )
        if deferred is None or case.state in CLOSED_STATES:
            raise CaseActionRefused("not_deferred", _("该材料不是待补交的容缺材料。"))
        now = timezone.now()
        material = _material_store(
            case=case, user=user, material_name=material_name, file=file, checked=checked, now=now
        )
        deferred.received_at = now
        deferred.save(update_fields=["received_at"])
        _event(case=case, action="deferred_material_add", actor=user, now=now, opinion=material_name)
    return material


def case_commitment_verify(*, task: CaseTask, officer: Any, truthful: bool, note: str) -> Case:
    """Record the verification of the commitments behind an approval. A commitment found false
    revokes the approval and excludes the applicant (and the company) from commitments for the
    item's exclusion period."""
    if not note.strip():
        raise CaseActionRefused("opinion_required", _("请填写核查情况。"))
    with atomic_audited():
        case, task = _task_locked(task)
        if task.state != TaskState.OPEN or task.kind != "verify":
            raise CaseActionRefused("task_closed", _("此环节已办理完毕，请刷新页面查看最新状态。"))
        if not guards.staff_may_act_on_task(user=officer, task=task):
            raise CaseActionRefused("not_allowed", _("您不能办理此环节，或已由他人签收。"))
        now = timezone.now()
        _task_close(task=task, officer=officer, now=now, outcome="truthful" if truthful else "false", opinion=note)
        if not truthful:
            commitment = application_form.form_commitment(definition=case.form_definition) or {}
            today = timezone.localdate(now)
            until = today + timedelta(days=int(commitment.get("exclusion_days") or 365))
            CommitmentExclusion.objects.create(
                person=case.person, company=case.company, case=case, reason=note.strip(), since=today, until=until
            )
            case.decision = Decision.REVOKED
            case.decision_reasons = _("经核查，申请人承诺内容不实，撤销准予决定：%(note)s") % {"note": note.strip()}
            _tasks_cancel(case=case, now=now)
            if case.state != CaseState.COMPLETED:
                case.state = CaseState.COMPLETED
                case.stage = ""
                case.completed_at = now
            _case_save(case)
        _event(
            case=case,
            action="commitment_verified" if truthful else "commitment_false",
            actor=officer,
            now=now,
            task=task,
            opinion=note,
        )
        if not truthful:
            person_notify(
                user=case.applicant,
                subject=_("准予决定已撤销"),
                body=_("经核查，您在办件%(number)s中的承诺与事实不符，准予决定已撤销。") % {"number": case.number},
                link=f"/cases/{case.number}/",
                purpose="case_revoked",
            )
    return case


def case_forward(*, task: CaseTask, officer: Any, opinion: str = "") -> Case:
    """收受分离: the receiving office has checked identity and formal completeness and forwards the
    file to the competent department, whose own steps (and time limit) begin."""
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="forward")
        now = timezone.now()
        _task_close(task=task, officer=officer, now=now, outcome="forward", opinion=opinion)
        _advance(case=case, after_key=task.step_key, now=now)
        _case_save(case)
        _event(
            case=case,
            action="forward",
            actor=officer,
            now=now,
            task=task,
            opinion=opinion,
            data={"to": case.department.name},
        )
    return case


def case_correction_notify(*, task: CaseTask, officer: Any, items: list[dict[str, str]], note: str = "") -> Case:
    """一次性告知: one notice listing every missing or faulty material or field and what is
    wrong with it. After the 5 working days of art. 32 the application counts as accepted from
    receipt, and the notice is recorded as late."""
    items = [
        {"subject": str(item.get("subject") or "").strip(), "problem": str(item.get("problem") or "").strip()}
        for item in items
        if str(item.get("subject") or "").strip() or str(item.get("problem") or "").strip()
    ]
    if not items:
        raise CaseActionRefused("correction_items_required", _("补正告知须列明需要补正的全部内容。"))
    if any(not item["subject"] or not item["problem"] for item in items):
        raise CaseActionRefused("correction_item_incomplete", _("每一项补正内容都须写明材料（或表单项）和问题。"))
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="correct")
        now = timezone.now()
        today = timezone.localdate(now)
        late = case.correction_due_on is not None and today > case.correction_due_on
        if late:
            case.deemed_accepted = True
        CorrectionNotice.objects.create(
            case=case,
            step_key=task.step_key,
            items=items,
            note=note.strip(),
            issued_at=now,
            issued_by=officer,
            late=late,
        )
        _task_close(task=task, officer=officer, now=now, outcome="correct", opinion=note)
        case.state = CaseState.CORRECTION
        case.stage = "correction"
        _case_save(case)
        _event(
            case=case,
            action="correction_notify",
            actor=officer,
            now=now,
            task=task,
            opinion=note,
            data={"items": items, "late": late},
        )
        person_notify(
            user=case.applicant,
            subject=_("请补正申请材料"),
            body=_("您的办件%(number)s需要补正%(count)s项内容，请登录查看并补正。")
            % {"number": case.number, "count": len(items)},
            link=f"/cases/{case.number}/",
            purpose="case_correction",
        )
    return case


def case_refuse(*, task: CaseTask, officer: Any, reasons: str, legal_remedy: str = "") -> Case:
    """不予受理, with the reasons and the applicant's legal remedy."""
    if not reasons.strip():
        raise CaseActionRefused("reasons_required", _("不予受理须说明理由。"))
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="refuse")
        now = timezone.now()
        _task_close(task=task, officer=officer, now=now, outcome="refuse", opinion=reasons)
        _tasks_cancel(case=case, now=now)
        case.state = CaseState.REFUSED
        case.stage = ""
        case.refusal_reasons = reasons.strip()
        case.legal_remedy = legal_remedy.strip() or str(LEGAL_REMEDY_DEFAULT)
        case.completed_at = now
        _case_save(case)
        _event(
            case=case,
            action="refuse",
            actor=officer,
            now=now,
            task=task,
            opinion=reasons,
            data={"legal_remedy": case.legal_remedy},
        )
        person_notify(
            user=case.applicant,
            subject=_("申请不予受理"),
            body=_("您的办件%(number)s不予受理，理由及救济途径请登录查看。") % {"number": case.number},
            link=f"/cases/{case.number}/",
            purpose="case_refuse",
        )
    return case


def case_accept(
    *, task: CaseTask, officer: Any, opinion: str = "", decision: str = "", decision_reasons: str = ""
) -> Case:
    """受理: the time limits start. Counted from today, or from receipt when the 5 days for a
    correction notice have passed (art. 32). An immediate case (即办件) is decided here."""
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="accept")
        immediate = process.process_decides_at_acceptance(case.process_definition)
        if immediate:
            _decision_check(decision=decision, reasons=decision_reasons)
        elif decision:
            raise CaseActionRefused("not_immediate", _("承诺件须经审查后由决定环节作出决定。"))
        now = timezone.now()
        late = _acceptance_apply(case=case, now=now)
        assert case.promised_due_on is not None
        _task_close(task=task, officer=officer, now=now, outcome="accept", opinion=opinion)
        data: dict[str, Any] = {"deemed_accepted": late, "promised_due_on": case.promised_due_on.isoformat()}
        if immediate:
            _decision_apply(case=case, decision=decision, reasons=decision_reasons, now=now)
            data["decision"] = decision
        _advance(case=case, after_key=task.step_key, now=now)
        _case_save(case)
        _event(case=case, action="accept", actor=officer, now=now, task=task, opinion=opinion, data=data)
        person_notify(
            user=case.applicant,
            subject=_("申请已受理"),
            body=_("您的办件%(number)s已受理，承诺于%(due)s前办结。")
            % {"number": case.number, "due": case.promised_due_on.isoformat()},
            link=f"/cases/{case.number}/",
            purpose="case_accept",
        )
        if immediate:
            _decision_notify(case)
    return case


def _acceptance_apply(*, case: Case, now: Any) -> bool:
    """The case is accepted now: the clock starts today, or at receipt when the 5 working days
    for a correction notice had passed (art. 32); deadlines and deferred materials' dates are
    fixed. Returns whether acceptance counts from receipt."""
    today = timezone.localdate(now)
    late = case.deemed_accepted or (case.correction_due_on is not None and today > case.correction_due_on)
    case.deemed_accepted = late
    case.clock_start_on = case.received_on if late and case.received_on else today
    case.accepted_at = now
    case.statutory_due_on = calendar.limit_due(
        start=case.clock_start_on, days=case.statutory_limit_days, unit=case.statutory_limit_unit
    )
    case.promised_due_on = calendar.limit_due(
        start=case.clock_start_on, days=case.promised_limit_days, unit=case.promised_limit_unit
    )
    case.state = CaseState.ACCEPTED
    if not application_form.form_deferrable(definition=case.form_definition):
        return late  # no material of its form may be deferred, so none was (_deferred_materials_record)
    for deferred in case.deferred_materials.filter(received_at__isnull=True):
        deferred.due_on = calendar.working_day_add(start=today, days=deferred.days)
        deferred.save(update_fields=["due_on"])
    return late


def case_review(*, task: CaseTask, officer: Any, agree: bool, opinion: str) -> Case:
    """审查意见 of a review step or of one branch of a parallel step; a parallel step moves on
    only when every branch has given its opinion."""
    if not opinion.strip():
        raise CaseActionRefused("opinion_required", _("请填写审查意见。"))
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="opinion")
        now = timezone.now()
        _task_close(task=task, officer=officer, now=now, outcome="agree" if agree else "disagree", opinion=opinion)
        waiting = CaseTask.objects.filter(case=case, step_key=task.step_key, state=TaskState.OPEN).exists()
        if not waiting:
            _advance(case=case, after_key=task.step_key, now=now)
        _case_save(case)
        _event(
            case=case,
            action="review",
            actor=officer,
            now=now,
            task=task,
            opinion=opinion,
            data={"agree": agree, "branch": task.branch_key, "joined": not waiting},
        )
    return case


def case_decide(*, task: CaseTask, officer: Any, decision: str, reasons: str = "") -> Case:
    """决定: approve, or deny with reasons (and the legal remedy)."""
    _decision_check(decision=decision, reasons=reasons)
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="decide")
        now = timezone.now()
        _task_close(task=task, officer=officer, now=now, outcome=decision, opinion=reasons)
        _decision_apply(case=case, decision=decision, reasons=reasons, now=now)
        _advance(case=case, after_key=task.step_key, now=now)
        _case_save(case)
        _event(
            case=case, action="decide", actor=officer, now=now, task=task, opinion=reasons, data={"decision": decision}
        )
        _decision_notify(case)
    return case


def _decision_check(*, decision: str, reasons: str) -> None:
    if decision not in Decision.values:
        raise CaseActionRefused("decision_required", _("请选择准予或不予。"))
    if decision == Decision.DENY and not reasons.strip():
        raise CaseActionRefused("reasons_required", _("不予许可须说明理由。"))


def _decision_apply(*, case: Case, decision: str, reasons: str, now: Any) -> None:
    if case.paused_since is not None:
        raise CaseActionRefused("special_procedure_running", _("特别程序尚未结束，不能作出决定。"))
    case.decision = decision
    case.decision_reasons = reasons.strip()
    if decision == Decision.DENY:
        case.legal_remedy = str(LEGAL_REMEDY_DEFAULT)
    case.decided_at = now
    case.state = CaseState.DECIDED
    if decision == Decision.APPROVE:
        _verification_open(case=case, now=now)


def _verification_open(*, case: Case, now: Any) -> None:
    """告知承诺制: an approval resting on commitments opens a verification task for the
    department, due within the item's verification days; it does not hold up the result."""
    commitment = application_form.form_commitment(definition=case.form_definition)
    if commitment is None or not case.commitments.filter(superseded_at__isnull=True).exists():
        return
    CaseTask.objects.create(
        case=case,
        step_key="verify",
        kind="verify",
        name=str(process.STEP_KINDS["verify"].label),
        department=case.department,
        role=Role.REVIEWER,
        opened_at=now,
        due_on=calendar.working_day_add(start=timezone.localdate(now), days=int(commitment["verification_days"])),
    )


def _deferred_outstanding_refuse(case: Case) -> None:
    if not application_form.form_deferrable(definition=case.form_definition):
        return  # no material of its form may be deferred, so none was (_deferred_materials_record)
    missing = list(case.deferred_materials.filter(received_at__isnull=True).values_list("material_name", flat=True))
    if missing:
        raise CaseActionRefused(
            "deferred_materials_outstanding",
            _("容缺材料“%(names)s”尚未补齐，办理结果暂缓发放。") % {"names": "、".join(missing)},
        )


def _decision_notify(case: Case) -> None:
    approved = case.decision == Decision.APPROVE
    person_notify(
        user=case.applicant,
        subject=_("办件已作出准予决定") if approved else _("办件已作出不予决定"),
        body=_("您的办件%(number)s已作出决定，请登录查看决定及理由。") % {"number": case.number},
        link=f"/cases/{case.number}/",
        purpose="case_decision",
    )


def case_result_issue(*, task: CaseTask, officer: Any, reference: str) -> Case:
    """制证: the result document or licence is made (only after approval, art. 44).

    When the item yields an electronic licence (its result type and licence type code name an
    active licence type), the licence is issued here, signed with the department's seal, and
    its number becomes the result reference; otherwise the officer gives the document's number.
    """
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="issue")
        if case.decision != Decision.APPROVE:
            raise CaseActionRefused("not_approved", _("未作出准予决定，不能制作结果。"))
        _deferred_outstanding_refuse(case)
        now = timezone.now()
        licence = _licence_issue_for(case=case, officer=officer)
        if licence is not None:
            reference = licence.number
        elif not reference.strip():
            raise CaseActionRefused("reference_required", _("请填写结果文书或证照编号。"))
        case.result_reference = reference.strip()[:128]
        _task_close(task=task, officer=officer, now=now, outcome="issue", opinion=reference)
        _advance(case=case, after_key=task.step_key, now=now)
        _case_save(case)
        _event(
            case=case,
            action="result_issue",
            actor=officer,
            now=now,
            task=task,
            data={"reference": case.result_reference},
        )
        person_notify(
            user=case.applicant,
            subject=_("办理结果已制作"),
            body=_("您的办件%(number)s的办理结果已制作完成，将按您选择的方式送达。") % {"number": case.number},
            link=f"/cases/{case.number}/",
            purpose="case_result",
        )
    return case


def _licence_issue_for(*, case: Case, officer: Any) -> Any:
    """The licence the case's item yields, issued now (None when it yields no licence)."""
    from govhall.licences import seals
    from govhall.licences import services as licences

    if licences.licence_type_for_case(case) is None:
        return None
    try:
        return licences.licence_issue_from_case(case=case, officer=officer)
    except licences.LicenceRefused as refused:
        raise CaseActionRefused(refused.code, refused.message) from refused
    except seals.SealUnavailable as unavailable:
        raise CaseActionRefused(unavailable.code, unavailable.message) from unavailable


def case_deliver(*, task: CaseTask, officer: Any, method: str, note: str = "") -> Case:
    """送达 the result (or the decision not to grant) and complete the case (办结)."""
    if method not in DeliveryMethod.values:
        raise CaseActionRefused("method_required", _("请选择送达方式。"))
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="deliver")
        if not case.decision:
            raise CaseActionRefused("not_decided", _("尚未作出决定，不能送达。"))
        if case.decision == Decision.APPROVE:
            _deferred_outstanding_refuse(case)
        now = timezone.now()
        _task_close(task=task, officer=officer, now=now, outcome=method, opinion=note)
        case.delivery_method = method
        _advance(case=case, after_key=task.step_key, now=now)
        _case_save(case)
        _event(case=case, action="deliver", actor=officer, now=now, task=task, opinion=note, data={"method": method})
        person_notify(
            user=case.applicant,
            subject=_("办件已办结"),
            body=_("您的办件%(number)s已办结（%(method)s）。")
            % {"number": case.number, "method": DeliveryMethod(method).label},
            link=f"/cases/{case.number}/",
            purpose="case_complete",
        )
    return case


def case_return(*, task: CaseTask, officer: Any, to_step: str, reason: str) -> Case:
    """退回: send the case back to an earlier step after acceptance (review, parallel review,
    decision); the open steps are cancelled and a decision taken after that step is undone."""
    if not reason.strip():
        raise CaseActionRefused("reasons_required", _("退回须说明理由。"))
    with atomic_audited():
        case, task = _task_for_action(task=task, officer=officer, action="return")
        definition = case.process_definition
        keys = [step["key"] for step in process.steps_of(definition)]
        target = process.step_find(definition, to_step)
        if (
            target is None
            or target["kind"] not in process.RETURNABLE_KINDS
            or keys.index(to_step) >= keys.index(task.step_key)
            or not CaseTask.objects.filter(case=case, step_key=to_step, state=TaskState.DONE).exists()
        ):
            raise CaseActionRefused("cannot_return_there", _("只能退回到本办件已经办理过的审查或决定环节。"))
        now = timezone.now()
        _tasks_cancel(case=case, now=now)
        decide = process.step_first_of_kind(definition, "decide")
        if decide is not None and keys.index(decide["key"]) >= keys.index(to_step) and case.decision:
            case.decision = ""
            case.decision_reasons = ""
            case.decided_at = None
            case.state = CaseState.ACCEPTED
        _step_enter(case=case, step=target, now=now)
        _case_save(case)
        _event(
            case=case,
            action="return",
            actor=officer,
            now=now,
            task=task,
            opinion=reason,
            data={"to": to_step},
            public=False,
        )
    return case


# ---------------------------------------------------------------------------------------------
# Special procedures (art. 45) and extensions (art. 42)


def case_special_procedure_start(
    *, case: Case, officer: Any, kind: str, reason: str, expected_days: int
) -> SpecialProcedure:
    """Start a hearing, inspection, testing or expert review: the clock stops until it ends;
    the applicant is told its kind and how long it is expected to take."""
    if kind not in SpecialProcedureKind.values:
        raise CaseActionRefused("kind_required", _("请选择特别程序的种类。"))
    if not reason.strip():
        raise CaseActionRefused("reasons_required", _("请说明启动特别程序的理由。"))
    if not 1 <= expected_days <= 365:
        raise CaseActionRefused("days_invalid", _("预计时长须为1到365个工作日。"))
    with atomic_audited():
        case = _case_locked(case.pk)
        if not guards.staff_may_handle_case(user=officer, case=case):
            raise CaseActionRefused("not_found", _("没有找到该办件。"))
        if case.state != CaseState.ACCEPTED:
            raise CaseActionRefused("state", _("特别程序只能在受理后、决定前启动。"))
        if case.paused_since is not None:
            raise CaseActionRefused("special_procedure_running", _("已有特别程序在进行中。"))
        now = timezone.now()
        today = timezone.localdate(now)
        procedure = SpecialProcedure.objects.create(
            case=case,
            kind=kind,
            reason=reason.strip(),
            expected_days=expected_days,
            started_on=today,
            started_by=officer,
        )
        case.paused_since = today
        _case_save(case)
        _event(
            case=case,
            action="special_procedure_start",
            actor=officer,
            now=now,
            opinion=reason,
            data={"kind": kind, "expected_days": expected_days},
        )
        person_notify(
            user=case.applicant,
            subject=_("办件进入特别程序"),
            body=_("您的办件%(number)s需要%(kind)s，预计%(days)s个工作日，期间不计入办理时限。")
            % {"number": case.number, "kind": SpecialProcedureKind(kind).label, "days": expected_days},
            link=f"/cases/{case.number}/",
            purpose="case_special_procedure",
        )
    return procedure


def case_special_procedure_end(*, procedure: SpecialProcedure, officer: Any, result: str) -> SpecialProcedure:
    """End a special procedure; the deadlines move by the working days it took."""
    if not result.strip():
        raise CaseActionRefused("result_required", _("请填写特别程序的结果。"))
    with atomic_audited():
        case = _case_locked(procedure.case_id)
        procedure = SpecialProcedure.objects.select_for_update().get(pk=procedure.pk)
        if not guards.staff_may_handle_case(user=officer, case=case):
            raise CaseActionRefused("not_found", _("没有找到该办件。"))
        if procedure.ended_on is not None:
            raise CaseActionRefused("already_ended", _("该特别程序已经结束。"))
        now = timezone.now()
        today = timezone.localdate(now)
        paused = calendar.working_days_between(start=procedure.started_on, end=today)
        procedure.ended_on = today
        procedure.ended_by = officer
        procedure.result = result.strip()
        procedure.days_paused = paused
        procedure.save()
        _deadlines_move(case=case, days=paused)
        case.paused_since = None
        _case_save(case)
        _event(
            case=case,
            action="special_procedure_end",
            actor=officer,
            now=now,
            opinion=result,
            data={"kind": procedure.kind, "days_paused": paused},
        )
    return procedure


def _deadlines_move(*, case: Case, days: int) -> None:
    if days <= 0:
        return
    if case.statutory_due_on is not None:
        case.statutory_due_on = calendar.working_day_add(start=case.statutory_due_on, days=days)
    if case.promised_due_on is not None:
        case.promised_due_on = calendar.working_day_add(start=case.promised_due_on, days=days)


def case_extension_request(*, case: Case, officer: Any, reason: str) -> Extension:
    """Ask for the one extension art. 42 allows; a decider of the department approves it."""
    if not reason.strip():
        raise CaseActionRefused("reasons_required", _("请说明延期理由。"))
    with atomic_audited():
        case = _case_locked(case.pk)
        if not guards.staff_may_handle_case(user=officer, case=case):
            raise CaseActionRefused("not_found", _("没有找到该办件。"))
        if case.state != CaseState.ACCEPTED:
            raise CaseActionRefused("state", _("只有办理中（决定前）的办件可以申请延期。"))
        if case.extensions.exclude(state=ExtensionState.REJECTED).exists():
            raise CaseActionRefused("extension_exists", _("依法只能延期一次，本办件已申请过延期。"))
        days = EXTENSION_DAYS_JOINT if process.process_has_parallel_step(case.process_definition) else EXTENSION_DAYS
        now = timezone.now()
        extension = Extension.objects.create(
            case=case, days=days, reason=reason.strip(), requested_by=officer, requested_at=now
        )
        _event(
            case=case,
            action="extension_request",
            actor=officer,
            now=now,
            opinion=reason,
            data={"days": days},
            public=False,
        )
    return extension


def case_extension_answer(*, extension: Extension, officer: Any, approve: bool, note: str = "") -> Extension:
    """A decider of the case's department (not the one who asked) approves or rejects; an
    approved extension moves both deadlines."""
    with atomic_audited():
        case = _case_locked(extension.case_id)
        extension = Extension.objects.select_for_update().get(pk=extension.pk)
        if not guards.staff_holds_role_in(user=officer, role=Role.DECIDER, department_id=case.department_id):
            raise CaseActionRefused("not_allowed", _("延期须由承办部门的决定人员批准。"))
        if extension.requested_by_id == officer.pk:
            raise CaseActionRefused("own_request", _("不能批准自己提出的延期申请。"))
        if extension.state != ExtensionState.REQUESTED:
            raise CaseActionRefused("already_answered", _("该延期申请已处理。"))
        if case.state != CaseState.ACCEPTED:
            raise CaseActionRefused("state", _("办件已作出决定或已结束，无需延期。"))
        now = timezone.now()
        extension.state = ExtensionState.APPROVED if approve else ExtensionState.REJECTED
        extension.answered_by = officer
        extension.answered_at = now
        extension.answer_note = note.strip()
        extension.save()
        if approve:
            _deadlines_move(case=case, days=extension.days)
            case.extension_days += extension.days
            _case_save(case)
        _event(
            case=case,
            action="extension_approve" if approve else "extension_reject",
            actor=officer,
            now=now,
            opinion=note,
            data={"days": extension.days},
        )
        if approve:
            person_notify(
                user=case.applicant,
                subject=_("办理时限已依法延长"),
                body=_("您的办件%(number)s办理时限延长%(days)s个工作日，理由：%(reason)s")
                % {"number": case.number, "days": extension.days, "reason": extension.reason},
                link=f"/cases/{case.number}/",
                purpose="case_extension",
            )
    return extension


# ---------------------------------------------------------------------------------------------
# Personal data: unmasking for the officer handling the case (ADR 4)

REVEAL_REASON_MIN_LENGTH = 4


def case_applicant_reveal(*, case: Case, officer: Any, reason: str) -> dict[str, str]:
    """The applicant's full identity number and phone for an officer who handles the case and
    says why (e.g. to check an original document at the window); who, when, which case and why
    are written to the audit trail. Supervisors and officers who only read cases get nothing."""
    from govhall.accounts import privacy

    reason = reason.strip()
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        raise CaseActionRefused(
            "reason_required",
            _("请说明查看完整信息的理由（至少%(count)s个字）。") % {"count": REVEAL_REASON_MIN_LENGTH},
        )
    with atomic_audited():
        case = _case_locked(case.pk)
        if not guards.staff_may_handle_case(user=officer, case=case):
            raise CaseActionRefused("not_allowed", _("只有承办本办件的工作人员可以查看完整的个人信息。"))
        person = case.person
        if person is None:
            raise CaseActionRefused("no_person", _("该办件没有个人申请人信息。"))
        revealed = {
            "identity_number": privacy.decrypt(person.identity_number_encrypted, purpose="identity_number"),
            "phone": privacy.decrypt(person.phone_encrypted, purpose="phone"),
        }
        audit_record_add(
            actor=officer,
            action="personal_data_reveal",
            object_type="case",
            object_id=case.number or case.pk,
            summary=_("查看申请人完整身份证号和手机号"),
            data={"reason": reason, "fields": sorted(revealed), "person": person.pk},
        )
    return revealed


# ---------------------------------------------------------------------------------------------
# One entry point for channels that name the action (API, batch actions)


def case_task_act(*, task: CaseTask, officer: Any, action: str, fields: dict[str, Any]) -> Case:
    """Dispatch a named action on a task to its service (the API and batch pages use this)."""
    with calendar.calendar_read_once():
        return _case_task_act(task=task, officer=officer, action=action, fields=fields)


def _case_task_act(*, task: CaseTask, officer: Any, action: str, fields: dict[str, Any]) -> Case:
    text = lambda name: str(fields.get(name) or "")  # noqa: E731
    if action == "claim":
        case_task_claim(task=task, officer=officer)
        return Case.objects.get(pk=task.case_id)
    if action == "pass":
        return case_prereview_pass(task=task, officer=officer, opinion=text("opinion"))
    if action == "forward":
        return case_forward(task=task, officer=officer, opinion=text("opinion"))
    if action == "correct":
        return case_correction_notify(
            task=task, officer=officer, items=list(fields.get("items") or []), note=text("note")
        )
    if action == "refuse":
        return case_refuse(task=task, officer=officer, reasons=text("reasons"), legal_remedy=text("legal_remedy"))
    if action == "accept":
        return case_accept(
            task=task,
            officer=officer,
            opinion=text("opinion"),
            decision=text("decision"),
            decision_reasons=text("reasons"),
        )
    if action == "opinion":
        return case_review(task=task, officer=officer, agree=bool(fields.get("agree", True)), opinion=text("opinion"))
    if action == "decide":
        return case_decide(task=task, officer=officer, decision=text("decision"), reasons=text("reasons"))
    if action == "issue":
        return case_result_issue(task=task, officer=officer, reference=text("reference"))
    if action == "deliver":
        return case_deliver(task=task, officer=officer, method=text("method"), note=text("note"))
    if action == "verify":
        return case_commitment_verify(
            task=task, officer=officer, truthful=bool(fields.get("truthful", True)), note=text("note")
        )
    if action == "return":
        return case_return(task=task, officer=officer, to_step=text("to_step"), reason=text("reason"))
    raise CaseActionRefused("unknown_action", _("未知的办理动作“%(action)s”。") % {"action": action})


# ---------------------------------------------------------------------------------------------
# The engine: entering steps and moving on.


def _step_enter(*, case: Case, step: dict[str, Any], now: Any) -> list[CaseTask]:
    kind = process.step_kind(step)
    if kind.automatic:
        _auto_decide(case=case, step=step, now=now)
        return []
    if step["kind"] == "issue_result" and step.get("auto") and _auto_issue(case=case, step=step, now=now):
        return []
    today = timezone.localdate(now)
    due = calendar.working_day_add(start=today, days=int(step.get("days", 0) or 0))
    tasks: list[CaseTask] = []
    parts = step["branches"] if kind.parallel else [step]
    for part in parts:
        if kind.parallel and not process.condition_holds(part.get("when"), case.data):
            continue
        tasks.append(
            CaseTask(
                case=case,
                step_key=step["key"],
                branch_key=part["key"] if kind.parallel else "",
                kind=step["kind"],
                name=part.get("name") or step["name"],
                department=(
                    case.receiving_department
                    if step["kind"] == "receive" and case.receiving_department is not None
                    else _department_for(case=case, part=part)
                ),
                role=part.get("role") or kind.default_role,
                lead=bool(part.get("lead")) if kind.parallel else True,
                opened_at=now,
                due_on=due,
            )
        )
    rows_insert(tasks)
    case.stage = step["key"]
    return tasks


def _auto_decide(*, case: Case, step: dict[str, Any], now: Any) -> None:
    """秒批: evaluate the step's rules on the case's facts; approve when a rule holds, otherwise
    hand the case to the officer of the next step. The evaluation (rules, version, facts) is
    stored, and the timeline shows it as the system's action."""
    evaluation = auto_rules.auto_rules_evaluate(step=step, facts=auto_rules.auto_facts(case=case, today=now.date()))
    AutoDecision.objects.create(
        case=case,
        step_key=step["key"],
        rules_version=int(step.get("rules_version") or 0),
        rules=step.get("rules") or [],
        facts=evaluation.facts,
        matched_rule=evaluation.matched_rule,
        approved=evaluation.approved,
        decided_at=now,
    )
    task = CaseTask.objects.create(
        case=case,
        step_key=step["key"],
        kind=step["kind"],
        name=step["name"],
        department=case.department,
        role="",
        opened_at=now,
        due_on=timezone.localdate(now),
        state=TaskState.DONE,
        closed_at=now,
        outcome="auto_approve" if evaluation.approved else "to_officer",
        opinion=evaluation.matched_rule,
    )
    if evaluation.approved and case.accepted_at is None:
        # 秒批 at submission: accepted and decided in one go.
        _acceptance_apply(case=case, now=now)
    if evaluation.approved:
        _decision_apply(
            case=case,
            decision=Decision.APPROVE,
            reasons=_("符合自动审批规则“%(rule)s”。") % {"rule": evaluation.matched_rule},
            now=now,
        )
    _event(
        case=case,
        action="auto_approve" if evaluation.approved else "auto_handover",
        actor=None,
        now=now,
        task=task,
        opinion=case.decision_reasons if evaluation.approved else _("不满足自动审批条件，转人工办理。"),
        data={"rules_version": int(step.get("rules_version") or 0), "rule": evaluation.matched_rule},
    )
    if evaluation.approved:
        _decision_notify(case)
    _advance(case=case, after_key=step["key"], now=now)


def _auto_issue(*, case: Case, step: dict[str, Any], now: Any) -> bool:
    """制证 by the system where the process says so (``"auto": true`` on the issue step): the
    licence the approved case yields is issued and signed at once. False (the step goes to an
    officer as usual) when the item yields no licence or the licence cannot be issued now; the
    reason is kept on the staff timeline."""
    if case.decision != Decision.APPROVE:
        return False
    try:
        with transaction.atomic():
            licence = _licence_issue_for(case=case, officer=None)
    except CaseActionRefused as refused:
        _event(case=case, action="auto_issue_failed", actor=None, now=now, opinion=refused.message, public=False)
        return False
    if licence is None:
        return False
    task = CaseTask.objects.create(
        case=case,
        step_key=step["key"],
        kind=step["kind"],
        name=step["name"],
        department=case.department,
        role="",
        opened_at=now,
        due_on=timezone.localdate(now),
        state=TaskState.DONE,
        closed_at=now,
        outcome="issue",
        opinion=licence.number,
    )
    case.result_reference = licence.number
    _event(case=case, action="result_issue", actor=None, now=now, task=task, data={"reference": licence.number})
    _advance(case=case, after_key=step["key"], now=now)
    return True


def _department_for(*, case: Case, part: dict[str, Any]) -> Department:
    if part.get("department"):
        department = Department.objects.filter(code=part["department"]).first()
    elif part.get("department_kind"):
        department = Department.objects.filter(region=case.region_id, kind=part["department_kind"]).first()
    else:
        department = case.department
    if department is None:
        # A definition naming a department that this region lacks falls back to the competent
        # department, which then handles the branch itself rather than the case stalling.
        return case.department
    return department


def _advance(*, case: Case, after_key: str, now: Any) -> None:
    """Enter the next step whose condition holds; after the last one the case is complete."""
    for step in process.step_after(case.process_definition, after_key):
        if not _step_applies(case=case, step=step):
            continue
        _step_enter(case=case, step=step, now=now)
        return
    case.state = CaseState.COMPLETED
    case.stage = ""
    case.completed_at = now


def _step_applies(*, case: Case, step: dict[str, Any]) -> bool:
    kind = step["kind"]
    if not process.condition_holds(step.get("when"), case.data):
        return False
    if kind in ("prereview", "accept") and case.accepted_at is not None:
        # Accepted already (by an automatic approval at submission).
        return False
    if kind in ("review", "parallel", "decide") and case.decision:
        # Decided already (an immediate case at acceptance): no review or decision step.
        return False
    if kind == "issue_result" and case.decision != Decision.APPROVE:
        return False
    if process.step_kind(step).parallel:
        return any(process.condition_holds(branch.get("when"), case.data) for branch in step["branches"])
    return True


def _task_close(*, task: CaseTask, officer: Any, now: Any, outcome: str, opinion: str) -> None:
    task.state = TaskState.DONE
    task.closed_at = now
    task.closed_by = officer
    task.assignee = task.assignee or officer
    task.outcome = outcome
    task.opinion = opinion.strip()
    update_compiled(task, ["state", "closed_at", "closed_by", "assignee", "outcome", "opinion"])


def _tasks_cancel(*, case: Case, now: Any) -> None:
    CaseTask.objects.filter(case=case, state=TaskState.OPEN).update(state=TaskState.CANCELLED, closed_at=now)


# ---------------------------------------------------------------------------------------------
# Locks, guards, events


def _case_locked(case_id: int) -> Case:
    # Only the case row is locked: the joined rows are read (every action reads the definition
    # and the department, most tell the applicant), and PostgreSQL cannot lock the nullable
    # side of an outer join (the applicant's person). The company, which most cases have none
    # of, is read when there is one rather than joined (planning the join took longer than
    # reading it). Compiled once per process, as every action's lock read.
    case = unique_or_none_compiled("case_locked", _case_for_update, int(case_id))
    if case is None:
        raise Case.DoesNotExist(f"no case {case_id}")
    _case_values_keep(case)
    return case


# The columns an action may change, and those of them whose value (a dict) may be changed in
# place, which are kept as copies.
_CASE_SAVED = [field.attname for field in Case._meta.concrete_fields if not field.primary_key]
_CASE_CHANGED_IN_PLACE = {
    field.attname for field in Case._meta.concrete_fields if field.get_internal_type() == "JSONField"
}


def _case_values_keep(case: Case) -> None:
    """Keep the values the case was read or made with, for ``_case_save``."""
    values = {name: getattr(case, name) for name in _CASE_SAVED}
    for name in _CASE_CHANGED_IN_PLACE:
        values[name] = copy.deepcopy(values[name])
    case._govhall_read = values  # type: ignore[attr-defined]


def _case_save(case: Case) -> None:
    """Save the case: only the columns changed since ``_case_locked`` read it or ``_draft_new``
    made it (and ``updated_at``), else every column. An action changes a handful of a case's 50
    columns; writing them all cost about 0.15 ms more of Python and as much of PostgreSQL."""
    read = getattr(case, "_govhall_read", None)
    if read is None:
        case.save()
        return
    changed = [name for name in _CASE_SAVED if getattr(case, name) != read[name]]
    if "updated_at" not in changed:
        changed.append("updated_at")
    update_compiled(case, changed)
    _case_values_keep(case)


def _case_for_update(pk: int) -> QuerySet[Case]:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("implementation__entry", "definition", "department", "applicant__person")
        .filter(pk=pk)
    )


def _task_for_update(pk: int) -> QuerySet[CaseTask]:
    return CaseTask.objects.select_for_update().filter(pk=pk)


def _task_locked(task: CaseTask) -> tuple[Case, CaseTask]:
    """The case, then the task, locked in that order (a task never moves to another case)."""
    case = _case_locked(task.case_id)
    locked = unique_or_none_compiled("task_locked", _task_for_update, int(task.pk))
    if locked is None:
        raise CaseTask.DoesNotExist(f"no task {task.pk}")
    return case, locked


def _task_for_action(*, task: CaseTask, officer: Any, action: str) -> tuple[Case, CaseTask]:
    """Lock the case and the task, then check the task is still open, the officer may act on
    it and its kind offers ``action`` (the case cannot have moved on between the page and the
    click without this refusing)."""
    case, task = _task_locked(task)
    if task.state != TaskState.OPEN:
        raise CaseActionRefused("task_closed", _("此环节已办理完毕，请刷新页面查看最新状态。"))
    if case.state in CLOSED_STATES:
        raise CaseActionRefused("case_closed", _("办件已结束。"))
    if not guards.staff_may_act_on_task(user=officer, task=task):
        raise CaseActionRefused("not_allowed", _("您不能办理此环节，或已由他人签收。"))
    kind = process.STEP_KINDS[task.kind]
    if action not in kind.actions and action not in kind.common_actions:
        raise CaseActionRefused(
            "action_not_allowed",
            _("“%(step)s”环节不能执行此操作。") % {"step": task.name},
        )
    if action in ("decide", "issue", "deliver") and case.paused_since is not None:
        raise CaseActionRefused("special_procedure_running", _("特别程序尚未结束。"))
    if task.assignee_id is None:
        task.assignee = officer
    return case, task


def _applicant_guard(*, user: Any, case: Case) -> None:
    # At a window the clerk who received the application fills it in for the applicant present.
    if case.received_by_id is not None and case.received_by_id == getattr(user, "pk", None):
        if case.state in (CaseState.DRAFT, CaseState.CORRECTION):
            return
    if not guards.applicant_may_see_case(user=user, case=case):
        raise CaseActionRefused("not_found", _("没有找到该办件。"))


def _acting_for(case: Case) -> str:
    return f"company:{case.company.credit_code}" if case.company is not None else ""


def _event(
    *,
    case: Case,
    action: str,
    actor: Any,
    now: Any,
    task: CaseTask | None = None,
    step: dict[str, Any] | None = None,
    opinion: str = "",
    data: dict[str, Any] | None = None,
    public: bool = True,
) -> CaseEvent:
    """One timeline line and its audit record, in the caller's transaction."""
    is_staff_actor = actor is not None and actor.pk != case.applicant_id
    event = insert_compiled(
        CaseEvent(
            case=case,
            at=now,
            action=action,
            step_key=task.step_key if task else "",
            step_name=task.name if task else "",
            actor=actor,
            actor_name=_actor_name(actor, staff=is_staff_actor),
            acting_for="" if is_staff_actor else _acting_for(case),
            department_id=task.department_id if task else None,
            opinion=opinion.strip(),
            data=data or {},
            public=public,
        )
    )
    audit_record_add(
        actor=actor,
        action=f"case_{action}",
        object_type="case",
        object_id=case.number or case.pk,
        summary=f"{case.item_name} {task.name if task else ''}".strip(),
        data={"state": case.state, "stage": case.stage, **({"task": task.pk} if task else {})},
        acting_for="" if is_staff_actor else _acting_for(case),
    )
    case_event_recorded.send(sender=Case, case=case, event=event)
    return event


def _actor_name(actor: Any, *, staff: bool) -> str:
    if actor is None:
        return ""
    if staff:
        return (actor.get_full_name() or actor.username)[:128]
    person = getattr(actor, "person", None)
    return person.name[:1] + "**" if person is not None else ""
