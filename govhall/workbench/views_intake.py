"""One-window intake (一窗受理) and accept anywhere (跨域通办, 收受分离): the window clerk's pages.

A clerk serves the applicant standing at the window in three steps:

1. find or register the applicant (identity number typed, or typed by a card reader; name;
   phone for a new registration), optionally acting for a company the person may act for
   (``accounts.services.person_find_or_register_at_window``: the person is then L4, checked in
   person at a window);
2. choose the item: the clerk's own region's implementations, and other regions'
   implementations whose area of handling lets this hall receive them (marked 异地受理); the
   competent one is that of the applicant's household region or the region the applicant chooses;
3. fill the same application form with the applicant, scan the materials as uploads, submit
   (``cases.services``: the case enters its process marked as received at this window, with
   the receiving office's receive-and-forward step first when another office is competent),
   then print the receipt.

The applicant checked in is kept in the clerk's session (one applicant at a window at a time),
never in an address, so person ids cannot be probed. Drafts are found by their receiving clerk.
Every page answers 404 to anyone who is not a window clerk. Views parse, call one service or
selector and render; whether an intake is allowed is decided by ``cases.services``.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from govhall.accounts import privacy
from govhall.accounts.models import Person, Role, StaffAssignment, User
from govhall.accounts.selectors import person_acting_capacities
from govhall.accounts.services import IdentityRefused, person_find_or_register_at_window
from govhall.cases import application_form, selectors, services
from govhall.cases.models import Case, CaseState, CaseTask, Channel
from govhall.cases.services import CaseActionRefused, CaseInvalid
from govhall.cases.uploads import UploadRefused
from govhall.catalog import selectors as catalog
from govhall.catalog.models import DayUnit, Implementation
from govhall.catalog.search import implementation_search
from govhall.org.models import Department, Hall, RegionLevel
from govhall.org.selectors import hall_list, region_get, region_list
from govhall.workbench.views import _page

SESSION_KEY = "govhall_intake_applicant"
DRAFTS_SHOWN = 20
SEARCH_PAGE_SIZE = 20
AUTOMATIC_DEPARTMENT = ""


def _render(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    response = _page(request, template, context)
    response.status_code = status
    return response


# ---------------------------------------------------------------------------------------------
# Reads these pages need that no selector offers yet: the clerk's own window-clerk departments,
# the clerk's unsubmitted window drafts, the applicant kept in the session.


def _clerk_departments(user: Any) -> list[Department]:
    """The departments in which ``user`` holds the window clerk role, by code."""
    assignments = (
        StaffAssignment.objects.filter(user=user, role=Role.WINDOW_CLERK, user__is_active=True)
        .select_related("department__region")
        .order_by("department__code")
    )
    return [assignment.department for assignment in assignments]


def _clerk(request: HttpRequest) -> User:
    # login_required stands before every view of this module.
    assert isinstance(request.user, User)
    return request.user


def _clerk_departments_or_404(request: HttpRequest) -> list[Department]:
    departments = _clerk_departments(request.user)
    if not departments:
        raise Http404
    return departments


def _clerk_drafts(user: Any) -> list[dict[str, Any]]:
    """The clerk's window applications not yet submitted, newest first, to take up again."""
    drafts = (
        Case.objects.filter(received_by=user, state=CaseState.DRAFT, channel=Channel.WINDOW)
        .select_related("department", "person", "company")
        .order_by("-created_at", "-id")[:DRAFTS_SHOWN]
    )
    return [
        {
            "case": draft,
            "reference": selectors.case_reference(draft),
            "person_name": privacy.mask_name(draft.person.name) if draft.person else "",
        }
        for draft in drafts
    ]


def _draft_for_clerk(request: HttpRequest, reference: str) -> Case | None:
    """A window application ``request.user`` received, by ``draft-<id>``; None for anything else."""
    if not reference.startswith("draft-") or not reference[6:].isdigit():
        return None
    return (
        Case.objects.select_related(
            "implementation__entry", "department", "region", "person", "company", "hall", "receiving_department"
        )
        .filter(pk=int(reference[6:]), received_by=request.user.pk, channel=Channel.WINDOW)
        .first()
    )


@dataclass(frozen=True)
class Applicant:
    """The applicant checked in at the window, as kept in the clerk's session."""

    person: Person
    company: Any
    department: Department
    region_code: str


def _applicant_current(request: HttpRequest, departments: list[Department]) -> Applicant | None:
    kept = request.session.get(SESSION_KEY)
    if not isinstance(kept, dict) or not isinstance(kept.get("person"), int):
        return None
    person = Person.objects.select_related("user").filter(pk=kept["person"]).first()
    if person is None:
        return None
    company = None
    if kept.get("company"):
        company = next(
            (
                capacity.company
                for capacity in person_acting_capacities(person=person)
                if capacity.company.pk == kept["company"]
            ),
            None,
        )
        if company is None:
            # The authorisation ended since the check-in: the applicant is checked in again.
            return None
    chosen = next((item for item in departments if item.pk == kept.get("department")), departments[0])
    return Applicant(person=person, company=company, department=chosen, region_code=str(kept.get("region") or ""))


# ---------------------------------------------------------------------------------------------
# Step 1: find or register the applicant


class ApplicantForm(forms.Form):
    identity_number = forms.CharField(
        label=_lazy("身份证号"),
        max_length=18,
        help_text=_lazy("用身份证阅读器读入，或按证件手工输入 18 位号码。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True, "spellcheck": "false"}),
    )
    name = forms.CharField(label=_lazy("姓名"), max_length=64, help_text=_lazy("与身份证件上的姓名一致。"))
    phone = forms.CharField(
        label=_lazy("手机号"),
        required=False,
        max_length=11,
        help_text=_lazy("首次登记的申请人必填：以后用手机号加验证码登录，查看办理进度。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    credit_code = forms.CharField(
        label=_lazy("代表单位办理（统一社会信用代码）"),
        required=False,
        max_length=18,
        help_text=_lazy("为单位办理时填写；申请人须为该单位的法定代表人或有效授权的经办人。"),
    )
    department = forms.ChoiceField(label=_lazy("收件部门"), required=False)

    def __init__(self, *args: Any, departments: list[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = {str(department.pk): department for department in departments}
        if len(departments) < 2:
            del self.fields["department"]
            return
        field = self.fields["department"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (AUTOMATIC_DEPARTMENT, _("自动：与事项承办部门同类的本窗口部门")),
            *((key, department.name) for key, department in self.departments.items()),
        ]

    def clean_credit_code(self) -> str:
        return str(self.cleaned_data.get("credit_code") or "").strip().upper()

    def chosen_department(self) -> Department | None:
        return self.departments.get(str(self.cleaned_data.get("department") or ""))


@login_required
@require_http_methods(["GET", "POST"])
def intake_applicant(request: HttpRequest) -> HttpResponse:
    """Step 1: check in the applicant present (find by identity number, or register)."""
    departments = _clerk_departments_or_404(request)
    if request.method == "GET":
        return _applicant_page(request, departments, ApplicantForm(departments=departments))
    form = ApplicantForm(request.POST, departments=departments)
    if not form.is_valid():
        return _applicant_page(request, departments, form, status=400)
    data = form.cleaned_data
    try:
        person = person_find_or_register_at_window(
            clerk=_clerk(request), identity_number=data["identity_number"], name=data["name"], phone=data["phone"]
        )
    except IdentityRefused as refusal:
        form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        return _applicant_page(request, departments, form, status=400)
    company = None
    if data["credit_code"]:
        company = next(
            (
                capacity.company
                for capacity in person_acting_capacities(person=person)
                if capacity.company.credit_code == data["credit_code"]
            ),
            None,
        )
        if company is None:
            form.add_error(
                "credit_code", _("该申请人不是此单位的法定代表人，也没有该单位有效的经办授权，不能代表其办理。")
            )
            return _applicant_page(request, departments, form, status=400)
    chosen = form.chosen_department()
    home = chosen or departments[0]
    household = region_get(code=data["identity_number"].strip()[:6])
    request.session[SESSION_KEY] = {
        "person": person.pk,
        "company": company.pk if company is not None else None,
        "department": chosen.pk if chosen is not None else None,
        "region": household.code if household is not None else home.region_id,
    }
    messages.success(
        request,
        _("已核验申请人 %(name)s（%(number)s），实名等级 L4（窗口核验）。")
        % {"name": privacy.mask_name(person.name), "number": person.identity_number_masked},
    )
    return redirect("workbench:intake_items")


def _applicant_page(
    request: HttpRequest, departments: list[Department], form: ApplicantForm, *, status: int = 200
) -> HttpResponse:
    current = _applicant_current(request, departments)
    return _render(
        request,
        "workbench/intake/applicant.html",
        {
            "form": form,
            "current": current,
            "current_name": privacy.mask_name(current.person.name) if current else "",
            "drafts": _clerk_drafts(request.user),
        },
        status=status,
    )


@login_required
@require_POST
def intake_reset(request: HttpRequest) -> HttpResponse:
    """End the service of the applicant at the window (the next one is checked in anew)."""
    _clerk_departments_or_404(request)
    request.session.pop(SESSION_KEY, None)
    messages.success(request, _("已结束本次接待。"))
    return redirect("workbench:intake_applicant")


# ---------------------------------------------------------------------------------------------
# Step 2: choose the item


def _region_choices() -> tuple[list[tuple[str, Any]], set[str]]:
    """The cities and their counties, grouped by city, and the set of their codes."""
    cities = list(region_list(level=RegionLevel.CITY))
    counties = list(region_list(level=RegionLevel.COUNTY))
    choices: list[tuple[str, Any]] = [
        (city.name, [(city.code, city.name)] + [(c.code, c.name) for c in counties if c.parent_id == city.code])
        for city in cities
    ]
    return choices, {city.code for city in cities} | {county.code for county in counties}


class ItemSearchForm(forms.Form):
    q = forms.CharField(label=_lazy("事项名称或关键词"), required=False, max_length=64)
    region = forms.ChoiceField(
        label=_lazy("办理地（户籍地或申请人选择的地区）"),
        required=False,
        help_text=_lazy("默认按身份证号前 6 位确定；申请人在其他地区办理时可改选。"),
    )

    def __init__(self, *args: Any, region_choices: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["region"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = region_choices


@dataclass(frozen=True)
class ItemRow:
    """One implementation offered to the clerk, with where it would be received and how."""

    implementation: Implementation
    receiving: Department
    forwarded: bool
    cross_region: bool
    refusal: str


def _receiving_department(
    *, implementation: Implementation, departments: list[Department], home: Department
) -> Department:
    """Which of the clerk's departments receives: the item's own department when the clerk
    holds the window clerk role there; else the clerk's department of the same kind in the
    hall's region (the home department's region); else the home department (chosen at check-in,
    or the first)."""
    for department in departments:
        if department.pk == implementation.department_id:
            return department
    for department in departments:
        if department.region_id == home.region_id and department.kind == implementation.department.kind:
            return department
    return home


def _intake_status(*, implementation: Implementation, clerk: Any, receiving: Department) -> tuple[bool, str]:
    """(forwarded, refusal): the very check ``case_draft_start`` makes, so the list never offers
    an intake the service would refuse, and states the reason for one it would."""
    try:
        # The rule is written once, in the service; asking it here keeps the list honest.
        forwarded = services._intake_check(
            implementation=implementation, received_by=clerk, receiving_department=receiving
        )
    except CaseActionRefused as refusal:
        return False, refusal.message
    return forwarded, ""


def _item_rows(*, query: str, applicant: Applicant, departments: list[Department], clerk: Any) -> list[ItemRow]:
    """The hits of the hall's own region (and above it), then those of the applicant's region
    that another region's office may receive here; each implementation once."""
    home = applicant.department
    audience = "company" if applicant.company is not None else "person"
    regions = [home.region_id]
    if applicant.region_code and applicant.region_code != home.region_id:
        regions.append(applicant.region_code)
    seen: set[int] = set()
    rows: list[ItemRow] = []
    for region_code in regions:
        result = implementation_search(
            query=query, region_code=region_code, audience=audience, page_size=SEARCH_PAGE_SIZE
        )
        for hit in result.hits:
            implementation = hit.implementation
            if implementation.pk in seen:
                continue
            seen.add(implementation.pk)
            receiving = _receiving_department(implementation=implementation, departments=departments, home=home)
            forwarded, refusal = _intake_status(implementation=implementation, clerk=clerk, receiving=receiving)
            rows.append(
                ItemRow(
                    implementation=implementation,
                    receiving=receiving,
                    forwarded=forwarded,
                    cross_region=receiving.region_id != implementation.region_id,
                    refusal=refusal,
                )
            )
    # Receivable first (local before cross-region), refused last.
    rows.sort(key=lambda row: (bool(row.refusal), row.cross_region))
    return rows


@login_required
@require_GET
def intake_items(request: HttpRequest) -> HttpResponseBase:
    """Step 2: search the items this window may receive for the applicant checked in."""
    departments = _clerk_departments_or_404(request)
    applicant = _applicant_current(request, departments)
    if applicant is None:
        messages.info(request, _("请先核验申请人身份。"))
        return redirect("workbench:intake_applicant")
    return _items_page(request, departments, applicant, request.GET)


def _items_page(
    request: HttpRequest,
    departments: list[Department],
    applicant: Applicant,
    parameters: Any,
    *,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    choices, codes = _region_choices()
    region = str(parameters.get("region") or applicant.region_code)
    if region not in codes:
        # A household region outside the regions served here: the hall's own region.
        region = applicant.department.region_id
    form = ItemSearchForm({"q": parameters.get("q", ""), "region": region}, region_choices=choices)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    applicant = Applicant(
        person=applicant.person, company=applicant.company, department=applicant.department, region_code=region
    )
    rows = _item_rows(query=query, applicant=applicant, departments=departments, clerk=request.user) if query else []
    return _render(
        request,
        "workbench/intake/items.html",
        {
            "form": form,
            "applicant": applicant,
            "applicant_name": privacy.mask_name(applicant.person.name),
            "query": query,
            "rows": rows,
            "refusal": refusal,
        },
        status=status,
    )


def _hall_for(department: Department) -> Hall | None:
    """The hall where the department takes applications: one with a window of the department,
    else the first hall of its region."""
    halls = list(hall_list(region_code=department.region_id))
    for hall in halls:
        if any(item.pk == department.pk for window in hall.windows.all() for item in window.departments.all()):
            return hall
    return halls[0] if halls else None


@login_required
@require_POST
def intake_start(request: HttpRequest) -> HttpResponseBase:
    """Open (or resume) the window application for the chosen implementation."""
    departments = _clerk_departments_or_404(request)
    applicant = _applicant_current(request, departments)
    if applicant is None:
        messages.info(request, _("请先核验申请人身份。"))
        return redirect("workbench:intake_applicant")
    implementation = catalog.implementation_get_public(implementation_code=request.POST.get("implementation", ""))
    if implementation is None:
        raise Http404
    receiving = _receiving_department(implementation=implementation, departments=departments, home=applicant.department)
    try:
        case = services.case_draft_start(
            user=applicant.person.user,
            implementation=implementation,
            company=applicant.company,
            channel=Channel.WINDOW,
            received_by=request.user,
            receiving_department=receiving,
            hall=_hall_for(receiving),
        )
    except CaseActionRefused as refusal:
        return _items_page(request, departments, applicant, request.POST, refusal=refusal.message, status=400)
    return redirect("workbench:intake_form", reference=selectors.case_reference(case))


# ---------------------------------------------------------------------------------------------
# Step 3: the form and the scanned materials


@dataclass
class FormState:
    """What one rendering of the form page shows: the values as typed and every problem."""

    data: dict[str, Any]
    field_errors: dict[str, str]
    material_errors: dict[str, str]
    general_errors: list[str]


@login_required
@require_http_methods(["GET", "POST"])
def intake_form(request: HttpRequest, reference: str) -> HttpResponseBase:
    """Fill in the applicant's form, scan the materials, submit; a submitted one leads to its
    case page."""
    _clerk_departments_or_404(request)
    case = _draft_for_clerk(request, reference)
    if case is None:
        raise Http404
    if case.state != CaseState.DRAFT:
        return _after_draft(case)
    if request.method == "GET":
        return _form_page(request, case, FormState(dict(case.data), {}, {}, []))
    action = request.POST.get("action", "save")
    posted = application_form.form_data_from_post(definition=case.form_definition, post=request.POST)
    # Locked fields show what the platform supplied; what comes back for them is not an answer.
    locked = set(case.prefilled.get("locked") or [])
    state = FormState({name: value for name, value in posted.items() if name not in locked}, {}, {}, [])
    try:
        draft_errors = services.case_draft_save(case=case, user=request.user, data=state.data)
        state.material_errors = _materials_from_post(request, case)
    except CaseActionRefused as refusal:
        return _form_refused(request, case, state, refusal)
    if action == "submit":
        return _form_submit(request, case, state)
    if action == "save":
        _errors_split(state, draft_errors)
        if state.field_errors or state.material_errors:
            return _form_page(request, case, state, status=400)
    elif state.material_errors:
        return _form_page(request, case, state, status=400)
    messages.success(request, _("已保存，尚未提交。"))
    return redirect("workbench:intake_form", reference=selectors.case_reference(case))


def _after_draft(case: Case) -> HttpResponseBase:
    if case.number:
        return redirect("workbench:case_detail", number=case.number)
    raise Http404


def _form_submit(request: HttpRequest, case: Case, state: FormState) -> HttpResponseBase:
    if state.material_errors:
        return _form_page(request, case, state, status=400)
    try:
        submitted = services.case_submit(case=case, user=request.user, submit_key=request.POST.get("submit_key", ""))
    except CaseInvalid as invalid:
        _errors_split(state, invalid.errors)
        return _form_page(request, case, state, status=400)
    except CaseActionRefused as refusal:
        return _form_refused(request, case, state, refusal)
    messages.success(
        request,
        _("已收件，办件编号 %(number)s。请打印受理回执交给申请人。") % {"number": submitted.number},
    )
    return redirect("workbench:case_detail", number=submitted.number)


def _form_refused(request: HttpRequest, case: Case, state: FormState, refusal: CaseActionRefused) -> HttpResponseBase:
    """A refusal because the application moved on meanwhile (a second click) leads to its case
    page; any other is shown above the form with everything typed kept."""
    current = _draft_for_clerk(request, selectors.case_reference(case))
    if current is None or current.state != CaseState.DRAFT:
        messages.info(request, refusal.message)
        return _after_draft(current or case)
    state.general_errors.append(refusal.message)
    return _form_page(request, current, state, status=400)


def _errors_split(state: FormState, errors: dict[str, str]) -> None:
    split = services.case_errors_split(errors=errors)
    for name, message in split.materials.items():
        state.material_errors.setdefault(name, message)
    state.general_errors.extend(split.general)
    state.field_errors.update(split.fields)


def _materials_from_post(request: HttpRequest, case: Case) -> dict[str, str]:
    """Store the scans chosen in this POST; returns each material's refusal. Material inputs are
    numbered by the case's material list; the form's own file fields keep their inputs."""
    uploads = [
        (material["name"], request.FILES.get(f"material-{index}")) for index, material in enumerate(case.material_list)
    ]
    uploads += [
        (name, request.FILES.get(input_name))
        for name, input_name in application_form.form_file_inputs(definition=case.form_definition)
    ]
    problems: dict[str, str] = {}
    for name, upload in uploads:
        if upload is None:
            continue
        try:
            services.case_material_add(case=case, user=request.user, material_name=name, file=upload)
        except UploadRefused as refusal:
            problems[name] = refusal.message
        except CaseActionRefused as refusal:
            if refusal.code == "not_editable":
                raise
            problems[name] = refusal.message
    return problems


def _form_page(request: HttpRequest, case: Case, state: FormState, *, status: int = 200) -> HttpResponse:
    current = selectors.case_materials_current(case=case)
    by_name = {material.material_name: material for material in current}
    sections = application_form.form_sections(
        definition=case.form_definition,
        data=state.data,
        prefilled=case.prefilled,
        errors=state.field_errors,
        language=translation.get_language() or "zh-hans",
        materials_present=set(by_name),
    )
    listed = services.case_materials_listed(case=case, data=state.data)
    materials = [
        {
            **material,
            "upload_id": f"material-{index}",
            "current": by_name.get(material["name"]),
            "error": state.material_errors.get(material["name"], ""),
        }
        for index, material in enumerate(listed)
    ]
    summary = application_form.form_error_summary(definition=case.form_definition, errors=state.field_errors)
    summary += [(row["upload_id"], row["name"], row["error"]) for row in materials if row["error"]]
    summary += [("", "", message) for message in state.general_errors]
    return _render(
        request,
        "workbench/intake/form.html",
        {
            "case": case,
            "reference": selectors.case_reference(case),
            "applicant_name": privacy.mask_name(case.person.name) if case.person else "",
            "sections": sections,
            "materials": materials,
            "summary": summary,
            "submit_key": uuid.uuid4().hex,
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# The receipt (受理回执)


@login_required
@require_GET
def intake_receipt(request: HttpRequest, number: str) -> HttpResponse:
    """A printable receipt of a window application: its number, the applicant masked, the
    item, the materials received, the competent department and the limits, and where to
    follow it online."""
    _clerk_departments_or_404(request)
    case = selectors.case_get_for_officer(number=number, officer=request.user)
    if case is None or case.channel != Channel.WINDOW:
        raise Http404
    receive = _receive_task(case)
    return _render(
        request,
        "workbench/intake/receipt.html",
        {
            "case": case,
            "applicant_name": privacy.mask_name(case.person.name) if case.person else "",
            "materials": selectors.case_materials_current(case=case),
            "receive": receive,
            "promised_unit": _unit_label(case.promised_limit_unit),
            "statutory_unit": _unit_label(case.statutory_limit_unit),
            "follow_url": request.build_absolute_uri(reverse("cases_portal:detail", args=[case.number])),
        },
    )


def _receive_task(case: Case) -> CaseTask | None:
    """The receiving office's receive-and-forward step (收受分离), open or done."""
    return case.tasks.filter(kind="receive").select_related("department").order_by("id").first()


def _unit_label(unit: str) -> str:
    return str(DayUnit(unit).label) if unit in DayUnit.values else ""
