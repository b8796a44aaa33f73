"""The applicant's pages for life-event bundles (一件事): the list, a bundle with its items and
the choice of region, the one form and one material list, and the combined status of the linked
cases.

Views parse the request, call the bundle services and selectors (govhall/cases/bundles.py), and
render. Look-ups go through ``bundle_application_get_for_applicant``; an application the person
may not see answers 404, never 403. As on the case form, whatever button is pressed the values
typed are saved first and the files chosen are stored, so nothing entered is lost.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from govhall.accounts.selectors import ActingCapacity, person_acting_capacities
from govhall.accounts.views import citizen_login_required
from govhall.cases import application_form, bundles, services
from govhall.cases.models import BundleApplication, CaseState
from govhall.cases.services import CaseActionRefused, CaseInvalid
from govhall.cases.uploads import UploadRefused
from govhall.catalog.models import Audience, Bundle
from govhall.org.selectors import region_get

APPLY_FOR_MYSELF = "self"
MY_APPLICATIONS_SHOWN = 20

# The combined status in words (bundles.BundleStatus.overall).
OVERALL_LABELS = {
    "draft": gettext_lazy("尚未提交"),
    "correction": gettext_lazy("有办件需要补正"),
    "in_progress": gettext_lazy("办理中"),
    "completed": gettext_lazy("全部办结"),
    "closed": gettext_lazy("已全部结束"),
}


# ---------------------------------------------------------------------------------------------
# Bundles


@citizen_login_required
@require_http_methods(["GET"])
def bundle_list(request: HttpRequest) -> HttpResponse:
    """The bundles open for application, and the person's own bundle applications."""
    mine = list(bundles.bundle_application_list_for_applicant(user=request.user)[:MY_APPLICATIONS_SHOWN])
    return render(
        request,
        "portal/bundles/list.html",
        {
            "bundles": bundles.bundle_list_active(),
            "mine": [
                {"application": application, "reference": bundles.bundle_application_reference(application)}
                for application in mine
            ],
        },
    )


@citizen_login_required
@require_http_methods(["GET", "POST"])
def bundle_detail(request: HttpRequest, code: str) -> HttpResponseBase:
    """A bundle: what it covers, its items, where to apply and for whom; POST starts (or
    resumes) the application and goes to its form."""
    bundle = bundles.bundle_get_active(code=code)
    if bundle is None:
        raise Http404
    capacities = _capacities_for(request, bundle)
    if request.method == "GET":
        return _detail_page(request, bundle, capacities)
    region_code = request.POST.get("region", "")
    chosen = request.POST.get("applicant", "")
    region = region_get(code=region_code) if region_code.isdigit() else None
    company = next((c.company for c in capacities if c.company.credit_code == chosen), None)
    errors: dict[str, str] = {}
    if region is None:
        errors["region"] = _("请选择办理地。")
    if chosen != APPLY_FOR_MYSELF and company is None:
        errors["applicant"] = _("请选择为谁申请。")
    if errors:
        return _detail_page(request, bundle, capacities, errors=errors, chosen_region=region_code, status=400)
    assert region is not None
    try:
        application = bundles.bundle_application_start(user=request.user, bundle=bundle, region=region, company=company)
    except CaseActionRefused as refusal:
        return _detail_page(request, bundle, capacities, refusal=refusal.message, chosen_region=region_code, status=403)
    return redirect("bundles:edit", reference=bundles.bundle_application_reference(application))


def _capacities_for(request: HttpRequest, bundle: Bundle) -> list[ActingCapacity]:
    """The companies the person may act for in every item of the bundle (none for a bundle
    that serves persons only)."""
    person = getattr(request.user, "person", None)
    if person is None or bundle.audience == Audience.PERSON:
        return []
    codes = {item.entry.basic_code for item in bundle.items.all()}
    return [
        capacity
        for capacity in person_acting_capacities(person=person)
        if capacity.as_legal_representative or capacity.all_services or codes <= set(capacity.service_codes)
    ]


def _detail_page(
    request: HttpRequest,
    bundle: Bundle,
    capacities: list[ActingCapacity],
    *,
    errors: dict[str, str] | None = None,
    refusal: str = "",
    chosen_region: str = "",
    status: int = 200,
) -> HttpResponse:
    regions = bundles.bundle_regions(bundle=bundle)
    return render(
        request,
        "portal/bundles/detail.html",
        {
            "bundle": bundle,
            "items": list(bundle.items.all()),
            "regions": regions,
            "chosen_region": chosen_region or (regions[0].code if len(regions) == 1 else ""),
            "capacities": capacities,
            "for_persons": bundle.audience != Audience.COMPANY,
            "apply_for_myself": APPLY_FOR_MYSELF,
            "errors": errors or {},
            "refusal": refusal,
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# The one form


@dataclass
class EditState:
    """What one rendering of the form shows: the values as typed and every problem."""

    data: dict[str, Any]
    field_errors: dict[str, str]
    material_errors: dict[str, str]
    general_errors: list[str]


@citizen_login_required
@require_http_methods(["GET", "POST"])
def bundle_edit(request: HttpRequest, reference: str) -> HttpResponseBase:
    """Fill in the merged form and give the merged materials once; save, upload or submit."""
    application = _application_for_applicant(request, reference)
    if application.submitted_at is not None:
        return redirect("bundles:status", reference=bundles.bundle_application_reference(application))
    if application.applicant_id != request.user.pk:
        raise Http404  # a co-agent of the company follows it, the applicant fills it in
    try:
        form = bundles.bundle_form(application=application)
    except CaseActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("bundles:detail", code=application.bundle.code)
    if request.method == "GET":
        data = bundles.bundle_application_form_data(application=application)
        return _edit_page(request, application, form, EditState(data, {}, {}, []))
    return _edit_post(request, application, form)


def _edit_post(request: HttpRequest, application: BundleApplication, form: bundles.BundleForm) -> HttpResponseBase:
    action = request.POST.get("action", "save")
    posted = application_form.form_data_from_post(definition=form.definition, post=request.POST)
    # Locked fields show what the platform supplied; the services restore those values.
    locked = set(form.prefilled.get("locked") or [])
    data = {name: value for name, value in posted.items() if name not in locked}
    state = EditState(data=data, field_errors={}, material_errors={}, general_errors=[])
    try:
        draft_errors = bundles.bundle_application_save(application=application, user=request.user, data=data, form=form)
        state.material_errors = _materials_from_post(request, application, form, data)
    except CaseActionRefused as refusal:
        return _edit_refused(request, application, form, state, refusal)
    if action == "submit":
        return _edit_submit(request, application, form, state)
    if action == "save":
        _errors_split(state, draft_errors)
        if state.field_errors or state.material_errors:
            return _edit_page(request, application, form, state, status=400)
    elif state.material_errors:
        return _edit_page(request, application, form, state, status=400)
    messages.success(request, _("已保存，尚未提交。"))
    return redirect("bundles:edit", reference=bundles.bundle_application_reference(application))


def _edit_submit(
    request: HttpRequest, application: BundleApplication, form: bundles.BundleForm, state: EditState
) -> HttpResponseBase:
    if state.material_errors:
        return _edit_page(request, application, form, state, status=400)
    try:
        submitted = bundles.bundle_application_submit(
            application=application, user=request.user, submit_key=request.POST.get("submit_key", ""), form=form
        )
    except CaseInvalid as invalid:
        _errors_split(state, invalid.errors)
        return _edit_page(request, application, form, state, status=400)
    except CaseActionRefused as refusal:
        return _edit_refused(request, application, form, state, refusal)
    messages.success(
        request,
        _("“%(bundle)s”已提交，编号%(number)s；各事项已分别送相关部门办理。")
        % {"bundle": submitted.bundle.name, "number": submitted.number},
    )
    return redirect("bundles:status", reference=bundles.bundle_application_reference(submitted))


def _edit_refused(
    request: HttpRequest,
    application: BundleApplication,
    form: bundles.BundleForm,
    state: EditState,
    refusal: CaseActionRefused,
) -> HttpResponseBase:
    """A refusal because the application was submitted meanwhile (a second click) leads to its
    status; any other is shown above the form with everything typed kept."""
    current = bundles.bundle_application_list_for_applicant(user=request.user).filter(pk=application.pk).first()
    if current is None:
        raise Http404
    if current.submitted_at is not None:
        messages.info(request, refusal.message)
        return redirect("bundles:status", reference=bundles.bundle_application_reference(current))
    state.general_errors.append(refusal.message)
    return _edit_page(request, current, form, state, status=400)


def _errors_split(state: EditState, errors: dict[str, str]) -> None:
    split = services.case_errors_split(errors=errors)
    for name, message in split.materials.items():
        state.material_errors.setdefault(name, message)
    state.general_errors.extend(split.general)
    state.field_errors.update(split.fields)


def _materials_from_post(
    request: HttpRequest, application: BundleApplication, form: bundles.BundleForm, data: dict[str, Any]
) -> dict[str, str]:
    """Store the files chosen in this POST, once each; returns each material's refusal.
    Material inputs are numbered by the merged list; the form's own file fields keep their
    ``f-<name>`` inputs."""
    problems: dict[str, str] = {}
    chosen = [
        (material["name"], request.FILES.get(f"material-{index}"))
        for index, material in enumerate(bundles.bundle_materials(form=form, data=data))
    ]
    chosen += [
        (name, request.FILES.get(input_name))
        for name, input_name in application_form.form_file_inputs(definition=form.definition)
    ]
    for name, upload in chosen:
        if upload is None:
            continue
        try:
            bundles.bundle_material_add(
                application=application, user=request.user, material_name=name, file=upload, form=form
            )
        except UploadRefused as refusal:
            problems[name] = refusal.message
        except CaseActionRefused as refusal:
            if refusal.code == "not_editable":
                raise
            problems[name] = refusal.message
    return problems


def _edit_page(
    request: HttpRequest,
    application: BundleApplication,
    form: bundles.BundleForm,
    state: EditState,
    *,
    status: int = 200,
) -> HttpResponse:
    uploads = bundles.bundle_application_uploads(application=application)
    sections = application_form.form_sections(
        definition=form.definition,
        data=state.data,
        prefilled=form.prefilled,
        errors=state.field_errors,
        language=translation.get_language() or "zh-hans",
        materials_present=set(uploads),
    )
    materials = [
        {
            **material,
            "index": index,
            "upload_id": f"material-{index}",
            "current": uploads.get(material["name"]),
            "error": state.material_errors.get(material["name"], ""),
        }
        for index, material in enumerate(bundles.bundle_materials(form=form, data=state.data))
    ]
    summary = application_form.form_error_summary(definition=form.definition, errors=state.field_errors)
    summary += [(row["upload_id"], row["name"], row["error"]) for row in materials if row["error"]]
    listed = {row["name"] for row in materials}
    summary += [("", name, message) for name, message in state.material_errors.items() if name not in listed]
    summary += [("", "", message) for message in state.general_errors]
    return render(
        request,
        "portal/bundles/edit.html",
        {
            "application": application,
            "reference": bundles.bundle_application_reference(application),
            "parts": form.parts,
            "sections": sections,
            "materials": materials,
            "error_summary": summary,
            "submit_key": uuid.uuid4().hex,
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# The combined status


@citizen_login_required
@require_http_methods(["GET"])
def bundle_status(request: HttpRequest, reference: str) -> HttpResponseBase:
    """One status for the whole bundle, and each linked case with its department, step, days
    left and result as it comes."""
    application = _application_for_applicant(request, reference)
    if application.submitted_at is None:
        return redirect("bundles:edit", reference=bundles.bundle_application_reference(application))
    status = bundles.bundle_status(application=application)
    return render(
        request,
        "portal/bundles/status.html",
        {
            "application": application,
            "status": status,
            "overall_label": OVERALL_LABELS[status.overall],
            "correction_state": CaseState.CORRECTION,
        },
    )


def _application_for_applicant(request: HttpRequest, reference: str) -> BundleApplication:
    application = bundles.bundle_application_get_for_applicant(number=reference, user=request.user)
    if application is not None:
        return application
    if reference.startswith("draft-") and reference[6:].isdigit():
        # The address of an application since submitted (a bookmark, a second click).
        submitted = (
            bundles.bundle_application_list_for_applicant(user=request.user)
            .filter(pk=int(reference[6:]), number__isnull=False)
            .first()
        )
        if submitted is not None:
            return submitted
    raise Http404
