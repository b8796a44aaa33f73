"""The applicant's pages for applying online and following cases (我的办件), and the message centre.

Views parse the request, call the cases services and selectors, and render. Look-ups go through
``selectors.case_get_for_applicant``; a case the person may not see answers 404, never 403. The
edit page is one multipart form: whatever button is pressed, what was typed is saved first
(``case_draft_save``) and the files chosen are stored, so an upload never loses unsaved values.
"""

import html
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date
from django.utils.html import conditional_escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from govhall.accounts.selectors import ActingCapacity, person_acting_capacities
from govhall.accounts.views import citizen_login_required
from govhall.cases import application_form, bundles, process, selectors, services
from govhall.cases.models import Case, CaseMaterial, CaseState
from govhall.cases.services import CaseActionRefused, CaseInvalid
from govhall.cases.uploads import UploadRefused, material_download_response
from govhall.catalog import selectors as catalog
from govhall.catalog.models import Implementation
from govhall.evaluations.selectors import evaluation_panel
from govhall.notices import selectors as notices
from govhall.notices.services import inbox_message_read
from govhall.paths import Addresses
from govhall.portal.templatetags.cases_tags import time_badge

PAGE_SIZE = 20
DRAFTS_SHOWN = 50
EDITABLE_STATES = (CaseState.DRAFT, CaseState.CORRECTION)
# services.case_withdraw has the last word; the form is only offered where the
# service would accept it, so nobody fills in a reason for a refusal.
WITHDRAWABLE_STATES = services.WITHDRAWABLE_STATES
APPLY_FOR_MYSELF = "self"

# Timeline labels for the actions services.py records (CaseEvent.action). Actions staff take
# out of the applicant's sight (claim, transfer, return, extension_request) are never public
# but are labelled too, so a later change of visibility shows words rather than codes.
ACTION_LABELS = {
    "submit": gettext_lazy("提交申请"),
    "prereview_pass": gettext_lazy("预审通过"),
    "correction_notify": gettext_lazy("一次性告知补正"),
    "correction_answer": gettext_lazy("提交补正"),
    "refuse": gettext_lazy("不予受理"),
    "accept": gettext_lazy("受理"),
    "review": gettext_lazy("审查"),
    "decide": gettext_lazy("作出决定"),
    "result_issue": gettext_lazy("制作结果"),
    "deliver": gettext_lazy("送达办结"),
    "withdraw": gettext_lazy("撤回申请"),
    "special_procedure_start": gettext_lazy("开始特别程序"),
    "special_procedure_end": gettext_lazy("特别程序结束"),
    "extension_request": gettext_lazy("申请延期"),
    "extension_approve": gettext_lazy("延长办理时限"),
    "extension_reject": gettext_lazy("延期未获批准"),
    "claim": gettext_lazy("签收"),
    "transfer": gettext_lazy("转办"),
    "return": gettext_lazy("退回"),
    "forward": gettext_lazy("异地收件转办"),
    "auto_approve": gettext_lazy("自动审批准予"),
    "auto_handover": gettext_lazy("转人工审批"),
    "commitment_verified": gettext_lazy("承诺核查属实"),
    "commitment_false": gettext_lazy("承诺不实，撤销准予"),
    "deferred_material_add": gettext_lazy("补交容缺材料"),
}

# ---------------------------------------------------------------------------------------------
# Applying


@citizen_login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, implementation_code: str) -> HttpResponse:
    """Start (or resume) a draft for oneself or for a company one may act for.

    GET shows whom the application is for; POST opens the draft and goes to its form.
    """
    implementation = _implementation_or_404(implementation_code)
    capacities = _capacities_for(request, implementation)
    if request.method == "GET":
        return _apply_choice(request, implementation, capacities)
    chosen = request.POST.get("applicant", "")
    company = None
    if chosen != APPLY_FOR_MYSELF:
        company = next((c.company for c in capacities if c.company.credit_code == chosen), None)
        if company is None:
            return _apply_choice(request, implementation, capacities, error=_("请选择为谁申请。"), status=400)
    try:
        case = services.case_draft_start(user=request.user, implementation=implementation, company=company)
    except CaseActionRefused as refusal:
        return _apply_refused(request, implementation, refusal)
    return redirect("cases_portal:edit", reference=selectors.case_reference(case))


def _implementation_or_404(implementation_code: str) -> Implementation:
    implementation = catalog.implementation_get_public(implementation_code=implementation_code)
    if implementation is None:
        raise Http404
    return implementation


def _capacities_for(request: HttpRequest, implementation: Implementation) -> list[ActingCapacity]:
    """The companies the person may act for in this item (none when the item serves persons only)."""
    person = getattr(request.user, "person", None)
    if person is None or not implementation.entry.for_companies:
        return []
    basic_code = implementation.entry.basic_code
    return [
        capacity
        for capacity in person_acting_capacities(person=person)
        if capacity.as_legal_representative or capacity.all_services or basic_code in capacity.service_codes
    ]


def _apply_choice(
    request: HttpRequest,
    implementation: Implementation,
    capacities: list[ActingCapacity],
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "portal/cases/apply.html",
        {
            "implementation": implementation,
            "capacities": capacities,
            "for_persons": implementation.entry.for_persons,
            "error": error,
            "apply_for_myself": APPLY_FOR_MYSELF,
        },
        status=status,
    )


def _apply_refused(request: HttpRequest, implementation: Implementation, refusal: CaseActionRefused) -> HttpResponse:
    """The guide again, with why the application cannot start and where to put it right."""
    guide = catalog.implementation_guide(implementation=implementation)
    if guide is None:
        raise Http404
    return render(
        request,
        "portal/cases/apply_refused.html",
        {"guide": guide, "implementation": implementation, "refusal": refusal},
        status=403,
    )


# ---------------------------------------------------------------------------------------------
# The application form


@dataclass
class EditState:
    """What one rendering of the edit page shows: the values as typed and every problem."""

    data: dict[str, Any]
    field_errors: dict[str, str]
    material_errors: dict[str, str]
    general_errors: list[str]
    correction_note: str = ""


@citizen_login_required
@require_http_methods(["GET", "POST"])
def case_edit(request: HttpRequest, reference: str) -> HttpResponseBase:
    """Fill in the form and give the materials; save a draft, submit, or answer a correction."""
    found = _case_for_applicant(request, reference)
    if not isinstance(found, Case):
        return found
    case = found
    if case.state not in EDITABLE_STATES:
        return redirect("cases_portal:detail", reference=selectors.case_reference(case))
    if request.method == "GET":
        return _edit_page(
            request, case, EditState(data=dict(case.data), field_errors={}, material_errors={}, general_errors=[])
        )
    return _edit_post(request, case)


def _edit_post(request: HttpRequest, case: Case) -> HttpResponseBase:
    action = request.POST.get("action", "save")
    if action == "submit" and case.state == CaseState.CORRECTION:
        action = "correct"  # a corrected application is handed in by answering the notice
    posted = application_form.form_data_from_post(definition=case.form_definition, post=request.POST)
    # Locked fields show what the platform supplied, read-only; what a browser sends back for
    # them is not the applicant's answer (the services restore the supplied values).
    locked = set(case.prefilled.get("locked") or [])
    data = {name: value for name, value in posted.items() if name not in locked}
    state = EditState(
        data=data,
        field_errors={},
        material_errors={},
        general_errors=[],
        correction_note=request.POST.get("correction_note", ""),
    )
    try:
        draft_errors = services.case_draft_save(case=case, user=request.user, data=data)
        state.material_errors = _materials_from_post(request, case)
    except CaseActionRefused as refusal:
        return _edit_refused(request, case, state, refusal)
    if action == "submit":
        return _edit_submit(request, case, state)
    if action == "correct":
        return _edit_correct(request, case, state)
    if action == "save":
        _errors_split(state, draft_errors)
        if state.field_errors or state.material_errors:
            return _edit_page(request, case, state, status=400)
    elif state.material_errors:
        # An upload (or reuse, or Enter pressed in a field): the form's own problems wait until
        # it is saved or submitted.
        return _edit_page(request, case, state, status=400)
    if case.state == CaseState.CORRECTION:
        messages.success(request, _("已保存，补正尚未提交。"))
    else:
        messages.success(request, _("草稿已保存，尚未提交。"))
    return redirect("cases_portal:edit", reference=selectors.case_reference(case))


def _edit_submit(request: HttpRequest, case: Case, state: EditState) -> HttpResponseBase:
    if state.material_errors:
        return _edit_page(request, case, state, status=400)
    try:
        submitted = services.case_submit(case=case, user=request.user, submit_key=request.POST.get("submit_key", ""))
    except CaseInvalid as invalid:
        _errors_split(state, invalid.errors)
        return _edit_page(request, case, state, status=400)
    except CaseActionRefused as refusal:
        return _edit_refused(request, case, state, refusal)
    messages.success(request, _("申请已提交，办件编号%(number)s。") % {"number": submitted.number})
    return redirect("cases_portal:detail", reference=selectors.case_reference(submitted))


def _edit_correct(request: HttpRequest, case: Case, state: EditState) -> HttpResponseBase:
    if state.material_errors:
        return _edit_page(request, case, state, status=400)
    try:
        answered = services.case_correction_answer(case=case, user=request.user, note=state.correction_note)
    except CaseInvalid as invalid:
        _errors_split(state, invalid.errors)
        return _edit_page(request, case, state, status=400)
    except CaseActionRefused as refusal:
        return _edit_refused(request, case, state, refusal)
    messages.success(request, _("补正材料已提交。"))
    return redirect("cases_portal:detail", reference=selectors.case_reference(answered))


def _edit_refused(request: HttpRequest, case: Case, state: EditState, refusal: CaseActionRefused) -> HttpResponseBase:
    """A refusal because the case moved on meanwhile (a second click, a decision) leads to the
    case page; any other is shown above the form with everything typed kept."""
    current = selectors.case_get_for_applicant(number=selectors.case_reference(case), user=request.user)
    if current is None or current.state not in EDITABLE_STATES:
        moved = _submitted_draft(request, case.pk) if current is None else current
        if moved is None:
            raise Http404
        messages.info(request, refusal.message)
        return redirect("cases_portal:detail", reference=selectors.case_reference(moved))
    state.general_errors.append(refusal.message)
    return _edit_page(request, current, state, status=400)


def _errors_split(state: EditState, errors: dict[str, str]) -> None:
    split = services.case_errors_split(errors=errors)
    for name, message in split.materials.items():
        state.material_errors.setdefault(name, message)
    state.general_errors.extend(split.general)
    state.field_errors.update(split.fields)


def _materials_from_post(request: HttpRequest, case: Case) -> dict[str, str]:
    """Store the files chosen in this POST (and the earlier files chosen for reuse); returns
    each material's refusal. Material inputs are numbered by the case's material list; the
    form's own file fields keep their ``f-<name>`` inputs."""
    problems: dict[str, str] = {}
    candidates = selectors.material_reuse_candidates(case=case, user=request.user)
    for index, material in enumerate(case.material_list):
        name = material["name"]
        chosen = request.POST.get(f"reuse-{index}", "")
        if chosen:
            source = next((item for item in candidates.get(name, []) if str(item.pk) == chosen), None)
            if source is None:
                problems[name] = _("没有找到可复用的材料。")
            else:
                _material_store(
                    problems, name, services.case_material_reuse, case=case, user=request.user, source=source
                )
        upload = request.FILES.get(f"material-{index}")
        if upload is not None:
            _material_store(problems, name, services.case_material_add, case=case, user=request.user, file=upload)
        elif request.POST.get(f"commit-{index}") == "1":
            _material_store(problems, name, services.case_material_commit, case=case, user=request.user)
    for name, input_name in application_form.form_file_inputs(definition=case.form_definition):
        upload = request.FILES.get(input_name)
        if upload is not None:
            _material_store(problems, name, services.case_material_add, case=case, user=request.user, file=upload)
    return problems


def _material_store(problems: dict[str, str], name: str, service: Callable[..., Any], **arguments: Any) -> None:
    """Call a material service; a refusal is kept as that material's problem, except that the
    case is no longer editable, which ends the whole request."""
    try:
        service(material_name=name, **arguments)
    except UploadRefused as refusal:
        problems[name] = refusal.message
    except CaseActionRefused as refusal:
        if refusal.code == "not_editable":
            raise
        problems[name] = refusal.message


def _edit_page(request: HttpRequest, case: Case, state: EditState, *, status: int = 200) -> HttpResponse:
    current = selectors.case_materials_current(case=case)
    present = {material.material_name for material in current}
    sections = application_form.form_sections(
        definition=case.form_definition,
        data=state.data,
        prefilled=case.prefilled,
        errors=state.field_errors,
        language=translation.get_language() or "zh-hans",
        materials_present=present,
    )
    materials = _material_rows(case, request.user, state, current)
    summary = application_form.form_error_summary(definition=case.form_definition, errors=state.field_errors)
    summary += [(row["upload_id"], row["name"], row["error"]) for row in materials if row["error"]]
    summary += [("", "", message) for message in state.general_errors]
    return render(
        request,
        "portal/cases/edit.html",
        {
            "case": case,
            "reference": selectors.case_reference(case),
            "sections": sections,
            "materials": materials,
            "error_summary": summary,
            "submit_key": uuid.uuid4().hex,
            "correction": _open_correction(case) if case.state == CaseState.CORRECTION else None,
            "correction_note": state.correction_note,
        },
        status=status,
    )


def _material_rows(case: Case, user: Any, state: EditState, current: list[CaseMaterial]) -> list[dict[str, Any]]:
    """The materials with what the applicant has given and may give, in the case's order."""
    by_name = {material.material_name: material for material in current}
    candidates = selectors.material_reuse_candidates(case=case, user=user)
    listed = services.case_materials_listed(case=case, data=state.data)
    rules = case.form_definition.get("materials") if isinstance(case.form_definition.get("materials"), dict) else {}
    commitments = {signed.material_name: signed for signed in case.commitments.filter(superseded_at__isnull=True)}
    commitment_terms = application_form.form_commitment(definition=case.form_definition)
    rows = []
    for index, material in enumerate(listed):
        rule = (rules or {}).get(material["name"]) or {}
        condition = rule.get("required_when") if isinstance(rule, dict) else None
        rows.append(
            {
                **material,
                "index": index,
                "upload_id": f"material-{index}",
                "reuse_id": f"reuse-{index}",
                "current": by_name.get(material["name"]),
                "candidates": candidates.get(material["name"], []),
                "error": state.material_errors.get(material["name"], ""),
                "show_when": _condition_json(condition),
                "commit_id": f"commit-{index}",
                "options": application_form.form_material_options(
                    definition=case.form_definition, material_name=material["name"]
                ),
                "commitment": commitments.get(material["name"]),
                "commitment_text": (commitment_terms or {}).get("text", ""),
            }
        )
    return rows


def _condition_json(condition: Any) -> str:
    return json.dumps(condition, ensure_ascii=False) if isinstance(condition, dict) else ""


def _open_correction(case: Case) -> Any:
    # The notice the case is waiting on: the latest one not yet answered.
    notices_open = [notice for notice in case.corrections.all() if notice.answered_at is None]
    return notices_open[-1] if notices_open else None


# ---------------------------------------------------------------------------------------------
# My cases


@citizen_login_required
@require_http_methods(["GET"])
def case_list(request: HttpRequest) -> HttpResponse:
    """Submitted cases with their step and days left, filtered; drafts apart, to continue."""
    state = request.GET.get("state", "")
    if state not in CaseState.values or state == CaseState.DRAFT:
        state = ""
    query = request.GET.get("q", "").strip()[:64]
    submitted_from = _date_parameter(request, "from")
    submitted_to = _date_parameter(request, "to")
    # The person's cases, drafts apart: whose cases they are is read once for both lists.
    mine = _listed(selectors.case_list_for_applicant(user=request.user))
    cases = (mine.filter(state=state) if state else mine).exclude(state=CaseState.DRAFT)
    if query:
        cases = cases.filter(Q(number__contains=query) | Q(item_name__contains=query))
    if submitted_from:
        cases = cases.filter(submitted_at__date__gte=submitted_from)
    if submitted_to:
        cases = cases.filter(submitted_at__date__lte=submitted_to)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    cases_shown = list(page.object_list)
    statuses = selectors.case_time_statuses(cases=cases_shown)
    rows = _case_rows_html(cases_shown, statuses)
    drafts = [] if (state or query) else list(mine.filter(state=CaseState.DRAFT)[:DRAFTS_SHOWN])
    return render(
        request,
        "portal/cases/list.html",
        {
            "rows": rows,
            "page_obj": page,
            "drafts": [{"case": draft, "reference": selectors.case_reference(draft)} for draft in drafts],
            "states": [(value, label) for value, label in CaseState.choices if value != CaseState.DRAFT],
            "state": state,
            "query": query,
            "submitted_from": submitted_from.isoformat() if submitted_from else "",
            "submitted_to": submitted_to.isoformat() if submitted_to else "",
            "filtered": bool(state or query or submitted_from or submitted_to),
        },
    )


def _date_parameter(request: HttpRequest, name: str) -> date | None:
    """A YYYY-MM-DD query parameter; anything else is as if it were not given."""
    try:
        return parse_date(request.GET.get(name, ""))
    except ValueError:
        return None


def _listed(cases: QuerySet[Case]) -> QuerySet[Case]:
    # A list row needs neither the form nor the data: they are the heaviest columns.
    return cases.defer("data", "prefilled")


def _case_rows_html(cases: list[Case], statuses: dict[int, selectors.TimeStatus]) -> SafeString:
    """The rows of "我的办件", written here rather than by the template's loop (an address tag,
    a date filter, a bundle lookup and a dozen variables a row; 55,398 → 43,311 function calls a
    page): the number linking to the case, the item with the bundle it was filed in, the applicant,
    the day submitted (in the current time zone, as the ``date`` filter shows it), the state,
    the step and the time left (``time_badge``). Every text is escaped (``html.escape``, as
    Django's ``escape`` does); the badge is safe markup."""
    applications = bundles.bundle_application_map(ids=[case.bundle_application_id for case in cases])
    case_address = Addresses("cases_portal:detail", "reference")
    status_address = Addresses("bundles:status", "reference")
    parts = []
    for case in cases:
        marker = applications.get(case.bundle_application_id) if case.bundle_application_id else None
        bundle = ""
        if marker is not None:
            name = _("一件事：%(name)s") % {"name": html.escape(marker.bundle.name)}
            bundle = f' <a class="badge badge-bundle" href="{html.escape(status_address(marker.number))}">{name}</a>'
        submitted = timezone.localtime(case.submitted_at).date().isoformat() if case.submitted_at else ""
        parts.append(
            f'<tr>\n<th scope="row"><a class="code" href="{html.escape(case_address(selectors.case_reference(case)))}">'
            f"{html.escape(case.number or '')}</a></th>\n"
            f"<td>{html.escape(case.item_name)}{bundle}</td>\n<td>{html.escape(case.applicant_name)}</td>\n"
            f"<td>{submitted}</td>\n<td>{html.escape(str(case.get_state_display()))}</td>\n"
            f"<td>{html.escape(_step_name(case) or '—')}</td>\n"
            f"<td>{conditional_escape(time_badge(statuses[case.pk]))}</td>\n"
            "</tr>\n"
        )
    return mark_safe("".join(parts))  # every text above is escaped


def _step_name(case: Case) -> str:
    """The step the case is at, by the name its own process gives it."""
    if case.state == CaseState.CORRECTION:
        return _("待申请人补正")
    if not case.stage:
        return ""
    step = process.step_find(case.process_definition, case.stage)
    return str(step["name"]) if step else case.stage


# ---------------------------------------------------------------------------------------------
# One case


@citizen_login_required
@require_http_methods(["GET"])
def case_detail(request: HttpRequest, reference: str) -> HttpResponseBase:
    """The case as the applicant follows it: state, step, time left, notices, decision,
    timeline, materials and the form as filed; a draft's address leads to its form."""
    found = _case_for_applicant(request, reference)
    if not isinstance(found, Case):
        return found
    case = found
    if case.state == CaseState.DRAFT:
        return redirect("cases_portal:edit", reference=selectors.case_reference(case))
    status = selectors.case_time_status(case=case)
    timeline = selectors.case_timeline(case=case, for_applicant=True)
    language = translation.get_language() or "zh-hans"
    sections = application_form.form_sections(
        definition=case.form_definition, data=case.data, prefilled=case.prefilled, errors={}, language=language
    )
    return render(
        request,
        "portal/cases/detail.html",
        {
            "case": case,
            "reference": selectors.case_reference(case),
            "step": _step_name(case),
            "time": status,
            "special_procedure": selectors.case_special_procedure_running(case=case),
            "correction": _open_correction(case) if case.state == CaseState.CORRECTION else None,
            "timeline": [
                {"event": event, "label": ACTION_LABELS.get(event.action, event.action)} for event in timeline
            ],
            "materials": selectors.case_materials_current(case=case),
            "sections": sections,
            "may_withdraw": case.state in WITHDRAWABLE_STATES,
            "deferred": list(case.deferred_materials.all()),
            "evaluation_panel": evaluation_panel(case=case, user=request.user),
        },
    )


@citizen_login_required
@require_POST
def case_deferred_material(request: HttpRequest, reference: str) -> HttpResponseBase:
    """Hand in a material accepted as missing (容缺); the result is issued once all have come."""
    found = _case_for_applicant(request, reference)
    if not isinstance(found, Case):
        return found
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择要上传的文件。"))
    else:
        try:
            services.case_deferred_material_add(
                case=found, user=request.user, material_name=request.POST.get("material_name", ""), file=upload
            )
        except (CaseActionRefused, UploadRefused) as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("容缺材料已补交。"))
    return redirect("cases_portal:detail", reference=selectors.case_reference(found))


@citizen_login_required
@require_POST
def case_withdraw(request: HttpRequest, reference: str) -> HttpResponseBase:
    """Withdraw the application (the service refuses once a decision is made)."""
    found = _case_for_applicant(request, reference)
    if not isinstance(found, Case):
        return found
    try:
        case = services.case_withdraw(case=found, user=request.user, reason=request.POST.get("reason", "")[:500])
    except CaseActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("cases_portal:detail", reference=selectors.case_reference(found))
    messages.success(request, _("申请已撤回。"))
    return redirect("cases_portal:detail", reference=selectors.case_reference(case))


@citizen_login_required
@require_http_methods(["GET"])
def material_download(request: HttpRequest, reference: str, material_id: int) -> HttpResponseBase:
    """A material file of a case the person may see, as an attachment; otherwise 404."""
    case = selectors.case_get_for_applicant(number=reference, user=request.user)
    if case is None:
        raise Http404
    material = selectors.case_material_get(case=case, material_id=material_id)
    if material is None:
        raise Http404
    return material_download_response(material=material)


def _case_for_applicant(request: HttpRequest, reference: str) -> Case | HttpResponseBase:
    """The case if the person may see it; for the address of a draft since submitted, a
    redirect to the case (a second click on 提交, a bookmark); otherwise 404."""
    case = selectors.case_get_for_applicant(number=reference, user=request.user)
    if case is not None:
        return case
    if reference.startswith("draft-") and reference[6:].isdigit():
        submitted = _submitted_draft(request, int(reference[6:]))
        if submitted is not None:
            return redirect("cases_portal:detail", reference=selectors.case_reference(submitted))
    raise Http404


def _submitted_draft(request: HttpRequest, case_id: int) -> Case | None:
    return selectors.case_list_for_applicant(user=request.user).filter(pk=case_id, number__isnull=False).first()


# ---------------------------------------------------------------------------------------------
# Message centre


@citizen_login_required
@require_http_methods(["GET"])
def message_list(request: HttpRequest) -> HttpResponse:
    """The message centre: the latest messages, unread ones first."""
    latest = notices.inbox_latest(user=request.user)
    # Unread first, each group newest first (inbox_latest's order).
    ordered = sorted(latest, key=lambda message: message.read_at is not None)
    return render(request, "portal/cases/messages.html", {"inbox": ordered})


@citizen_login_required
@require_POST
def message_read(request: HttpRequest, message_id: int) -> HttpResponseBase:
    """Mark a message read, then open what it links to (when asked and on this site)."""
    message = inbox_message_read(user=request.user, message_id=message_id)
    if message is None:
        raise Http404
    link = message.link
    if (
        request.POST.get("open")
        and link
        and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    ):
        return redirect(link)
    return redirect(reverse("cases_portal:messages"))
