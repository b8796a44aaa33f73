"""Life-event bundles (一件事): one application, one merged form and one material list, and on
submission one linked case per item, each with its own department, process and legal time limit
(国发〔2024〕3号 on 高效办成一件事).

A bundle's items are catalogue entries; in the region the applicant chooses each resolves to the
active implementation of that entry there, or, where the region does not carry the item out, in
the region above it (a county resident's 社会保障卡 may be the city's). ``BundleItem.department_kind``
picks among several implementations of one region.

The merged form is the union of the items' effective forms: a field of the same name is asked
once, and where two items define it differently the first item's definition is used. The merged
material list is the union of the items' materials by name: a material several items need is
uploaded once, and one a government source shares (or a licence stands in for) is not asked.

``BundleApplication.data`` holds ``{"form": {<field>: <value>}, "materials": {<material name>:
<stored file>}}``: the values entered, and the files uploaded before submission, each stored once
under its SHA-256 as case materials are (``case_material_path``). On submission each case gets the
fields its own form has and a ``CaseMaterial`` for every uploaded material it lists, all pointing
at the same stored file (the first as uploaded, the others reusing it like ``case_material_reuse``).

Every write is one transaction with its audit record; submission creates, fills and submits the
cases through the case services inside that transaction, so either every case exists or none.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.files.base import File
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from govhall.accounts.guards import person_may_act_for_company
from govhall.audit.services import atomic_audited, audit_record_add
from govhall.cases import application_form, calendar, process, selectors, services
from govhall.cases.models import (
    CLOSED_STATES,
    BundleApplication,
    Case,
    CaseMaterial,
    CaseState,
    Channel,
    Trust,
    case_material_path,
)
from govhall.cases.services import CaseActionRefused, CaseInvalid
from govhall.cases.uploads import upload_check
from govhall.catalog.models import Audience, Bundle, BundleItem, Implementation, ItemState, Material
from govhall.org.models import Region, RegionLevel
from govhall.org.selectors import region_scope_codes

# Bundle application numbers: "YJS" (一件事) + date + a sequence unique per day. The sequence
# shares the case numbers' atomic counter under this key, which no region code can take.
BUNDLE_NUMBER_PREFIX = "YJS"


# ---------------------------------------------------------------------------------------------
# Reading bundles and resolving their items


def bundle_list_active() -> QuerySet[Bundle]:
    """Bundles open for application, with their items (and entries) in order."""
    return (
        Bundle.objects.filter(state=ItemState.ACTIVE)
        .select_related("theme")
        .prefetch_related(Prefetch("items", queryset=BundleItem.objects.select_related("entry").order_by("order")))
        .order_by("code")
    )


def bundle_get_active(*, code: str) -> Bundle | None:
    """One bundle open for application, by its code."""
    return bundle_list_active().filter(code=code).first()


@dataclass(frozen=True)
class ResolvedItem:
    """A bundle item as carried out in a region: the implementation (None when no region up the
    chain carries it out) and whether it is a higher region's (the county has none of its own)."""

    item: BundleItem
    implementation: Implementation | None
    from_region_above: bool


def bundle_items_resolve(*, bundle: Bundle, region: Region) -> list[ResolvedItem]:
    """Each item of ``bundle`` resolved in ``region``: the active implementation of its entry
    there, else in the nearest region above; among several, the one of the item's department
    kind. Two queries whatever the number of items."""
    chain = region_scope_codes(region_code=region.code)
    items = list(bundle.items.select_related("entry").order_by("order"))
    candidates = list(
        Implementation.objects.filter(
            entry__in=[item.entry_id for item in items],
            region_id__in=chain,
            state=ItemState.ACTIVE,
            entry__state=ItemState.ACTIVE,
        )
        .select_related("entry", "department", "region")
        .prefetch_related(Prefetch("materials", queryset=Material.objects.order_by("order")), "process_steps")
        .order_by("implementation_code")
    )
    resolved = []
    for item in items:
        chosen = None
        for level, code in enumerate(chain):
            here = [
                implementation
                for implementation in candidates
                if implementation.entry_id == item.entry_id and implementation.region_id == code
            ]
            if here:
                # Stable: the department of the item's kind first, then by implementation code.
                here.sort(key=lambda implementation: implementation.department.kind != item.department_kind)
                chosen = here[0]
                resolved.append(ResolvedItem(item=item, implementation=chosen, from_region_above=level > 0))
                break
        if chosen is None:
            resolved.append(ResolvedItem(item=item, implementation=None, from_region_above=False))
    return resolved


def bundle_regions(*, bundle: Bundle) -> list[Region]:
    """The counties in which every item of ``bundle`` resolves (for the region choice), in
    code order. Three queries whatever the number of regions."""
    items = list(bundle.items.all())
    if not items:
        return []
    covered: dict[int, set[str]] = {item.entry_id: set() for item in items}
    rows = Implementation.objects.filter(
        entry__in=list(covered), state=ItemState.ACTIVE, entry__state=ItemState.ACTIVE
    ).values_list("entry_id", "region_id")
    for entry_id, region_code in rows:
        covered[entry_id].add(region_code)
    counties = Region.objects.filter(level=RegionLevel.COUNTY).only("code", "name", "full_name", "parent_id", "level")
    return [county for county in counties.order_by("code") if all(_covers(codes, county) for codes in covered.values())]


def _covers(codes: set[str], county: Region) -> bool:
    # A county is served by its own implementation, its city's or its province's.
    return county.code in codes or county.parent_id in codes or f"{county.code[:2]}0000" in codes


def _resolved_or_refuse(*, bundle: Bundle, region: Region) -> list[ResolvedItem]:
    resolved = bundle_items_resolve(bundle=bundle, region=region)
    missing = [part.item.entry.name for part in resolved if part.implementation is None]
    if missing:
        raise CaseActionRefused(
            "item_not_available",
            _("“%(items)s”在%(region)s暂不能网上办理，不能通过“%(bundle)s”一次申请。")
            % {"items": "、".join(missing), "region": region.full_name, "bundle": bundle.name},
        )
    return resolved


# ---------------------------------------------------------------------------------------------
# The merged form and material list


@dataclass(frozen=True)
class BundlePart:
    """One item of an application: its implementation, effective form and material list."""

    item: BundleItem
    implementation: Implementation
    definition: dict[str, Any]
    material_list: list[dict[str, Any]]


@dataclass(frozen=True)
class BundleForm:
    """The merged form of an application (definition and the values the platform fills) and
    the parts it was merged from."""

    parts: list[BundlePart]
    definition: dict[str, Any]
    prefilled: dict[str, Any] = field(default_factory=dict)
    application_id: int | None = None  # the application it was made for (``bundle_form``)
    # The applicant's licences standing in for the parts' materials (``services.licence_wallet``):
    # what each case will find in the wallet when it is filed.
    wallet: dict[str, Any] = field(default_factory=dict)


def bundle_form(*, application: BundleApplication) -> BundleForm:
    """The merged form of ``application`` in its region, prefilled from the applicant's and
    the company's records. Refuses (``item_not_available``) when an item no longer resolves."""
    resolved = _resolved_or_refuse(bundle=application.bundle, region=application.region)
    parts = [_part(resolved_item) for resolved_item in resolved]
    definition = bundle_definition_merge(definitions=[part.definition for part in parts])
    person = getattr(application.applicant, "person", None)
    prefill = application_form.form_prefill(definition=definition, person=person, company=application.company)
    # Each case of the application will have the applicant's person and the company (as
    # services.case_bundle_draft sets them), and is checked with this wallet when filed.
    wallet = services.licence_wallet(
        material_list=[material for part in parts for material in part.material_list],
        person_id=person.pk if person is not None else None,
        company_id=application.company_id,
    )
    return BundleForm(
        parts=parts,
        definition=definition,
        prefilled=application_form.prefill_as_stored(prefill),
        application_id=application.pk,
        wallet=wallet,
    )


def _form_of(application: BundleApplication, form: BundleForm | None) -> BundleForm:
    """``form`` when it was made for ``application`` in this request (a page makes it to show it,
    then saves, uploads and submits with it), else made now: making it reads the catalogue,
    the applicant's record and licences, about 8 ms each time."""
    if form is not None and form.application_id is not None and form.application_id == application.pk:
        return form
    return bundle_form(application=application)


def _part(resolved: ResolvedItem) -> BundlePart:
    implementation = resolved.implementation
    assert implementation is not None
    entry = implementation.entry
    materials = list(implementation.materials.all())
    definition = application_form.form_definition_effective(
        definition=implementation.application_form,
        for_persons=entry.for_persons,
        for_companies=entry.for_companies,
        express_delivery=implementation.express_delivery,
        material_names=[material.name for material in materials],
    )
    # The same list a case of the implementation keeps (services.material_list_for).
    return BundlePart(
        item=resolved.item,
        implementation=implementation,
        definition=definition,
        material_list=services.material_list_for(implementation),
    )


def bundle_definition_merge(*, definitions: list[dict[str, Any]]) -> dict[str, Any]:
    """One form definition asking every field of ``definitions`` once.

    A field's schema and hints come from the first definition that has it; a field is required
    when any definition requires it, and every conditional requirement (``allOf``) is kept.
    Sections of the same title are joined, in the order they first appear. Material rules come
    from the first definition that has one for the material.
    """
    properties: dict[str, Any] = {}
    hints: dict[str, Any] = {}
    required: list[str] = []
    rules: list[Any] = []
    layout: list[dict[str, Any]] = []
    section_at: dict[str, int] = {}
    placed: set[str] = set()
    material_rules: dict[str, Any] = {}
    for definition in definitions:
        schema = definition.get("schema") or {}
        definition_hints = definition.get("fields") or {}
        for name, prop in (schema.get("properties") or {}).items():
            if name not in properties:
                properties[name] = prop
                if name in definition_hints:
                    hints[name] = definition_hints[name]
        required += [name for name in schema.get("required") or [] if name not in required]
        rules += [rule for rule in schema.get("allOf") or [] if rule not in rules]
        for section in definition.get("layout") or []:
            names = [name for name in section.get("fields") or [] if name not in placed]
            if not names:
                continue
            placed.update(names)
            title = str(section.get("section") or "")
            if title in section_at:
                layout[section_at[title]]["fields"] += names
            else:
                section_at[title] = len(layout)
                layout.append({"section": title, "section_en": section.get("section_en", ""), "fields": names})
        for name, rule in (definition.get("materials") or {}).items():
            if isinstance(rule, dict) and "required_when" in rule:
                material_rules.setdefault(name, {"required_when": rule["required_when"]})
    merged_schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if rules:
        merged_schema["allOf"] = rules
    return {"version": 1, "schema": merged_schema, "layout": layout, "fields": hints, "materials": material_rules}


def bundle_materials(*, form: BundleForm, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The merged material list for these form values, one entry per material name, in the
    order the items list them: the first item's description of the material, the names of the
    items that list it (``items``), and ``visible`` / ``required`` / ``shared`` merged from each
    item's own rules: required when any item needs it from the applicant now (a deferrable
    material, 容缺, is not), shared when every item that lists it obtains it from a government
    source or from the applicant's licence (``from_wallet``), as each case will when filed: a
    licence the platform keeps but the applicant does not hold is asked for, as in a case."""
    merged: dict[str, dict[str, Any]] = {}
    for part in form.parts:
        values = _part_values(part, data)
        for material in application_form.form_materials(
            definition=part.definition, materials=part.material_list, data=values, wallet=form.wallet
        ):
            options = application_form.form_material_options(definition=part.definition, material_name=material["name"])
            needed = bool(material["required"]) and not options["deferrable_days"]
            entry = merged.get(material["name"])
            if entry is None:
                merged[material["name"]] = {
                    **material,
                    "required": needed,
                    "items": [part.item.entry.name],
                }
                continue
            entry["items"].append(part.item.entry.name)
            entry["visible"] = entry["visible"] or material["visible"]
            entry["required"] = entry["required"] or needed
            entry["shared"] = entry["shared"] and material["shared"]
    return list(merged.values())


def _part_values(part: BundlePart, data: dict[str, Any]) -> dict[str, Any]:
    """The values of ``data`` that the part's own form asks for."""
    names = ((part.definition.get("schema") or {}).get("properties") or {}).keys()
    return {name: data[name] for name in names if name in data}


def _part_material_names(part: BundlePart) -> set[str]:
    names = {material["name"] for material in part.material_list}
    for name, hints in (part.definition.get("fields") or {}).items():
        if isinstance(hints, dict) and hints.get("widget") == "file":
            names.add(str(hints.get("material") or _field_title(part.definition, name)))
    return names


def _field_title(definition: dict[str, Any], name: str) -> str:
    prop = ((definition.get("schema") or {}).get("properties") or {}).get(name) or {}
    return str(prop.get("title") or name)


def bundle_application_form_data(*, application: BundleApplication) -> dict[str, Any]:
    """The values entered in the merged form so far."""
    return dict((application.data or {}).get("form") or {})


def bundle_application_uploads(*, application: BundleApplication) -> dict[str, dict[str, Any]]:
    """The files uploaded so far, by material name (stored name, SHA-256, size, type, name)."""
    return dict((application.data or {}).get("materials") or {})


# ---------------------------------------------------------------------------------------------
# Who may see and act


def applicant_may_see_bundle_application(*, user: Any, application: BundleApplication) -> bool:
    """The account that applied, or (for a company's application) anyone who may currently act
    for the company in every item of the bundle."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if application.applicant_id == user.pk:
        return True
    if application.company_id is None:
        return False
    person = getattr(user, "person", None)
    if person is None:
        return False
    codes = [item.entry.basic_code for item in application.bundle.items.select_related("entry")]
    return all(
        person_may_act_for_company(person=person, company=application.company, basic_code=code) for code in codes
    )


def _applicant_only(*, user: Any, application: BundleApplication) -> None:
    # Only the account that applied fills in and submits: the cases are filed in its name.
    if user is None or not getattr(user, "is_authenticated", False) or application.applicant_id != user.pk:
        raise CaseActionRefused("not_found", _("没有找到该一件事申请。"))


def _application_locked(application_id: int) -> BundleApplication:
    return (
        BundleApplication.objects.select_for_update(of=("self",))
        .select_related("bundle", "region", "company", "applicant")
        .get(pk=application_id)
    )


def _acting_for(application: BundleApplication) -> str:
    return f"company:{application.company.credit_code}" if application.company is not None else ""


# ---------------------------------------------------------------------------------------------
# Applying


def bundle_application_start(*, user: Any, bundle: Bundle, region: Region, company: Any = None) -> BundleApplication:
    """Open (or return the unsubmitted) application of ``user`` for ``bundle`` in ``region``,
    for ``company`` when given, with the merged form filled from what the platform knows.

    Refuses (``CaseActionRefused``) a bundle not open for application, a region that is not a
    county, an item that has no implementation in the region or above it, and anything that
    would refuse a case of one of the items: the applicant's assurance level, the audience
    (person or company) and the authority to act for the company.
    """
    person = services._applicant_person(user)
    if bundle.state != ItemState.ACTIVE:
        raise CaseActionRefused("bundle_not_active", _("该一件事目前暂停办理。"))
    if region.level != RegionLevel.COUNTY:
        raise CaseActionRefused("region_not_county", _("请选择办理地所在的区（县）。"))
    if company is None and bundle.audience == Audience.COMPANY:
        raise CaseActionRefused("persons_not_served", _("该一件事只面向法人，请选择代表的单位。"))
    if company is not None and bundle.audience == Audience.PERSON:
        raise CaseActionRefused("companies_not_served", _("该一件事只面向个人。"))
    resolved = _resolved_or_refuse(bundle=bundle, region=region)
    for part in resolved:
        # The same checks a case of each item meets when it is drafted.
        services._applicability_check(
            user=user, person=person, implementation=part.implementation, company=company, channel=Channel.ONLINE
        )
    existing = BundleApplication.objects.filter(
        applicant=user, bundle=bundle, region=region, company=company, submitted_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    application = BundleApplication(bundle=bundle, region=region, applicant=user, company=company)
    prefilled = bundle_form(application=application).prefilled
    application.data = {"form": dict(prefilled.get("values") or {}), "materials": {}}
    with transaction.atomic():
        application.save()
        audit_record_add(
            actor=user,
            action="bundle_application_start",
            object_type="bundle_application",
            object_id=application.pk,
            summary=f"{bundle.name} {region.full_name}",
            data={"bundle": bundle.code, "region": region.code},
            acting_for=_acting_for(application),
        )
    return application


def bundle_application_save(
    *, application: BundleApplication, user: Any, data: dict[str, Any], form: BundleForm | None = None
) -> dict[str, str]:
    """Keep what the applicant entered in the merged form (always, even with problems) and
    return the problems found so far; locked prefilled values cannot be overwritten. ``form``:
    the application's form when the caller made it already (``_form_of``)."""
    with transaction.atomic():
        application = _application_locked(application.pk)
        _applicant_only(user=user, application=application)
        _editable_check(application)
        form = _form_of(application, form)
        locked = set(form.prefilled.get("locked") or [])
        supplied = form.prefilled.get("values") or {}
        values = {
            **{name: value for name, value in data.items() if name not in locked},
            **{name: supplied[name] for name in locked if name in supplied},
        }
        uploads = bundle_application_uploads(application=application)
        application.data = {"form": values, "materials": uploads}
        application.save(update_fields=["data"])
    _cleaned, errors = application_form.form_validate(
        definition=form.definition, data=values, prefilled=form.prefilled, materials_present=set(uploads)
    )
    return errors


def _editable_check(application: BundleApplication) -> None:
    if application.submitted_at is not None:
        raise CaseActionRefused("not_editable", _("一件事申请已提交，不能再修改。"))


def bundle_material_add(
    *, application: BundleApplication, user: Any, material_name: str, file: File, form: BundleForm | None = None
) -> dict[str, Any]:
    """Store an uploaded file once for a material of the merged list (checked by its bytes,
    stored under its SHA-256); on submission every case that lists the material gets it. A
    later upload for the same material replaces the earlier one, which stays stored. ``form``:
    the application's form when the caller made it already (``_form_of``)."""
    checked = upload_check(file=file)
    with transaction.atomic():
        application = _application_locked(application.pk)
        _applicant_only(user=user, application=application)
        _editable_check(application)
        form = _form_of(application, form)
        known = set().union(*(_part_material_names(part) for part in form.parts))
        if material_name not in known:
            raise CaseActionRefused(
                "unknown_material", _("该一件事没有名为“%(name)s”的材料。") % {"name": material_name}
            )
        now = timezone.now()
        stored = {
            "file": _file_store(file=file, sha256=checked.sha256, extension=checked.extension),
            "sha256": checked.sha256,
            "size": checked.size,
            "content_type": checked.content_type,
            "extension": checked.extension,
            "original_name": checked.original_name,
            "uploaded_at": now.isoformat(),
        }
        uploads = bundle_application_uploads(application=application)
        uploads[material_name] = stored
        application.data = {"form": bundle_application_form_data(application=application), "materials": uploads}
        application.save(update_fields=["data"])
        audit_record_add(
            actor=user,
            action="bundle_material_add",
            object_type="bundle_application",
            object_id=application.pk,
            summary=material_name,
            data={"sha256": checked.sha256, "size": checked.size},
            acting_for=_acting_for(application),
        )
    return stored


def _file_store(*, file: File, sha256: str, extension: str) -> str:
    """The stored name of the file, saved under its SHA-256 as case materials are; the same
    content already stored is not stored again."""
    storage = CaseMaterial._meta.get_field("file").storage
    name = case_material_path(CaseMaterial(sha256=sha256, extension=extension), f"{sha256}{extension}")
    if storage.exists(name):
        return name
    file.seek(0)
    return storage.save(name, file)


def bundle_application_submit(
    *, application: BundleApplication, user: Any, submit_key: str = "", form: BundleForm | None = None
) -> BundleApplication:
    """Submit the application: the merged form and materials are checked, then one case per
    item is drafted, given the fields its own form has and every uploaded material it lists
    (the same stored file), submitted (its own number, department, process and time limit)
    and linked to the application, which gets its own number.

    Submitting again (a second click, a retry) returns the application unchanged, and so does a
    key already used by another of the applicant's applications. Problems with the form or
    materials raise ``CaseInvalid`` and nothing is created. ``form``: the application's form
    when the caller made it already (``_form_of``).
    """
    submit_key = submit_key[:64]
    # One audited change: the audit records and counters of the cases filed in it are written
    # together at its end, so a lane of the audit chain is held only from there to the commit. The
    # cases' deadlines are counted from one read of the calendar.
    with calendar.calendar_read_once(), atomic_audited():
        application = _application_locked(application.pk)
        _applicant_only(user=user, application=application)
        if application.submitted_at is not None:
            return application
        if submit_key:
            earlier = (
                BundleApplication.objects.filter(applicant=application.applicant, submit_key=submit_key)
                .exclude(pk=application.pk)
                .first()
            )
            if earlier is not None:
                return earlier
        form = _form_of(application, form)
        uploads = bundle_application_uploads(application=application)
        cleaned = _application_check(
            form=form, data=bundle_application_form_data(application=application), uploads=uploads
        )
        now = timezone.now()
        application.number = services._case_number(region_code=BUNDLE_NUMBER_PREFIX, day=timezone.localdate(now))
        # The first case given a material holds the upload; the others reuse that file.
        first_copies: dict[str, CaseMaterial] = {}
        cases = [
            _case_file(
                application=application,
                part=part,
                user=user,
                data=cleaned,
                uploads=uploads,
                first=first_copies,
                wallet=form.wallet,
            )
            for part in form.parts
        ]
        application.data = {"form": cleaned, "materials": uploads}
        application.submit_key = submit_key
        application.submitted_at = now
        application.save(update_fields=["number", "data", "submit_key", "submitted_at"])
        audit_record_add(
            actor=user,
            action="bundle_application_submit",
            object_type="bundle_application",
            object_id=application.number,
            summary=application.bundle.name,
            data={"cases": [case.number for case in cases]},
            acting_for=_acting_for(application),
        )
    return application


def _application_check(*, form: BundleForm, data: dict[str, Any], uploads: dict[str, Any]) -> dict[str, Any]:
    cleaned, errors = application_form.form_validate(
        definition=form.definition, data=data, prefilled=form.prefilled, materials_present=set(uploads)
    )
    for material in bundle_materials(form=form, data=cleaned):
        if material["required"] and not material["shared"] and material["name"] not in uploads:
            key = f"{services.MATERIAL_ERROR_PREFIX}{material['name']}"
            errors[key] = _("请上传“%(name)s”。") % {"name": material["name"]}
    if errors:
        raise CaseInvalid(errors)
    return cleaned


def _case_file(
    *,
    application: BundleApplication,
    part: BundlePart,
    user: Any,
    data: dict[str, Any],
    uploads: dict[str, dict[str, Any]],
    first: dict[str, CaseMaterial],
    wallet: dict[str, Any],
) -> Case:
    """Draft, fill and submit the case of one item, inside the bundle's submission: drafted with
    the item's values, given each uploaded material it lists (the first case given a material
    holds the upload, the others reuse that file), then submitted with the licences of the
    applicant's ``wallet`` the bundle was checked with."""
    case = services.case_bundle_draft(
        user=user,
        implementation=part.implementation,
        company=application.company,
        bundle_application=application,
        data=_part_values(part, data),
    )
    present: set[str] = set()
    for material_name in sorted(_part_material_names(part) & set(uploads)):
        material = _case_material_from_upload(
            case=case,
            user=user,
            material_name=material_name,
            stored=uploads[material_name],
            application=application,
            source=first.get(material_name),
        )
        first.setdefault(material_name, material)
        present.add(material_name)
    return services.case_bundle_submit(case=case, user=user, present=present, wallet=wallet)


def _case_material_from_upload(
    *,
    case: Case,
    user: Any,
    material_name: str,
    stored: dict[str, Any],
    application: BundleApplication,
    source: CaseMaterial | None,
) -> CaseMaterial:
    """The material of a freshly drafted case of the bundle, pointing at the file uploaded to
    the bundle application (no second copy is stored): a reuse of ``source``, the same file
    given to an earlier case of the bundle, when there is one."""
    now = timezone.now()
    uploaded_at = parse_datetime(str(stored.get("uploaded_at") or "")) or now
    material = CaseMaterial.objects.create(
        case=case,
        material_name=material_name,
        file=stored["file"],
        sha256=stored["sha256"],
        size=stored["size"],
        content_type=stored["content_type"],
        extension=stored["extension"],
        original_name=stored["original_name"],
        trust=Trust.C,
        uploaded_by=user,
        uploaded_at=uploaded_at if source is None else now,
        reused_from=source,
    )
    if source is None:
        action = "case_material_add"
        data = {"sha256": stored["sha256"], "size": stored["size"], "bundle_application": application.number}
    else:
        action = "case_material_reuse"
        data = {"from_case": source.case.number or source.case_id, "sha256": stored["sha256"]}
    audit_record_add(
        actor=user,
        action=action,
        object_type="case",
        object_id=case.pk,
        summary=material_name,
        data=data,
        acting_for=_acting_for(application),
    )
    return material


# ---------------------------------------------------------------------------------------------
# Following an application


def bundle_application_reference(application: BundleApplication) -> str:
    """The reference used in addresses: the number, or draft-<id> before submission."""
    return application.number or f"draft-{application.pk}"


def bundle_application_get_for_applicant(*, number: str, user: Any) -> BundleApplication | None:
    """An application by number (or an unsubmitted one by ``draft-<id>``) if ``user`` may see
    it; otherwise None, which the pages answer as "not found"."""
    applications = BundleApplication.objects.select_related("bundle", "region", "company", "applicant")
    if number.startswith("draft-") and number[6:].isdigit():
        application = applications.filter(pk=int(number[6:]), number__isnull=True).first()
    elif number.startswith(BUNDLE_NUMBER_PREFIX) and len(number) <= 32:
        application = applications.filter(number=number).first()
    else:
        return None
    if application is None or not applicant_may_see_bundle_application(user=user, application=application):
        return None
    return application


def bundle_application_list_for_applicant(*, user: Any) -> QuerySet[BundleApplication]:
    """The user's own bundle applications, newest first."""
    if user is None or not getattr(user, "is_authenticated", False):
        return BundleApplication.objects.none()
    return (
        BundleApplication.objects.filter(applicant=user)
        .select_related("bundle", "region", "company")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class BundleCaseStatus:
    """One linked case as the combined status shows it."""

    case: Case
    reference: str
    step: str
    time: selectors.TimeStatus


@dataclass(frozen=True)
class BundleStatus:
    """The combined status of an application: ``overall`` is ``draft`` (not submitted),
    ``correction`` (some case waits for the applicant: shown first), ``completed`` (every case
    complete), ``closed`` (every case ended, not all granted) or ``in_progress``; the counts and
    each case's state, step and working days left."""

    overall: str
    total: int
    completed: int
    correction: int
    ended: int
    cases: list[BundleCaseStatus]

    @property
    def in_progress(self) -> int:
        return self.total - self.ended - self.correction


def bundle_status(*, application: BundleApplication, today: date | None = None) -> BundleStatus:
    """The combined status of ``application`` and each linked case, in the bundle's item order;
    the number of queries does not grow with the cases."""
    order = {item.entry_id: item.order for item in application.bundle.items.all()}
    cases = sorted(
        application.cases.select_related("department", "implementation"),
        key=lambda case: (order.get(case.implementation.entry_id, 0), case.pk),
    )
    statuses = selectors.case_time_statuses(cases=cases, today=today)
    rows = [
        BundleCaseStatus(
            case=case, reference=selectors.case_reference(case), step=_step_name(case), time=statuses[case.pk]
        )
        for case in cases
    ]
    completed = sum(1 for case in cases if case.state == CaseState.COMPLETED)
    ended = sum(1 for case in cases if case.state in CLOSED_STATES)
    correction = sum(1 for case in cases if case.state == CaseState.CORRECTION)
    if application.submitted_at is None or not cases:
        overall = "draft"
    elif correction:
        overall = "correction"
    elif completed == len(cases):
        overall = "completed"
    elif ended == len(cases):
        overall = "closed"
    else:
        overall = "in_progress"
    return BundleStatus(
        overall=overall, total=len(cases), completed=completed, correction=correction, ended=ended, cases=rows
    )


def _step_name(case: Case) -> str:
    """The step a case is at, by the name its own process gives it."""
    if case.state == CaseState.CORRECTION:
        return _("待申请人补正")
    if not case.stage:
        return ""
    step = process.step_find(case.process_definition, case.stage)
    return str(step["name"]) if step else case.stage


def bundle_application_map(*, ids: Iterable[int | None]) -> dict[int, BundleApplication]:
    """Bundle applications (with their bundle) by id, for marking a list's cases (one query)."""
    wanted = {pk for pk in ids if pk}
    if not wanted:
        return {}
    return {
        application.pk: application
        for application in BundleApplication.objects.filter(pk__in=wanted).select_related("bundle")
    }
