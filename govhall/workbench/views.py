"""The staff workbench: catalogue administration and review.

Views parse a form, call one guard and one service, and render. Access is the guards' and the
services' to decide (catalog.selectors, accounts.guards): an object outside someone's scope
answers 404, the same as one that does not exist, so ids cannot be probed.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LogoutView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import RedirectView

from govhall.accounts import authentication
from govhall.accounts.guards import staff_has_role, staff_may_act_at_province_level, staff_regions_for_role
from govhall.accounts.models import Role
from govhall.catalog import selectors, services
from govhall.catalog.change_diff import change_diff, change_diff_prefetch, payload_elements, payload_rows
from govhall.catalog.models import CatalogueChange, ChangeAction, ChangeState, ChangeTarget
from govhall.workbench import forms

PAGE_SIZE = 20
STATE_ACTIONS = {ChangeAction.SUSPEND, ChangeAction.RESUME, ChangeAction.CANCEL}
OPEN_STATES = (ChangeState.DRAFT, ChangeState.RETURNED, ChangeState.SUBMITTED)


def _page(request: HttpRequest, template: str, context: dict[str, Any] | None = None) -> HttpResponse:
    """Render a workbench page with what its navigation needs to know about the user."""
    user = request.user
    navigation = {
        "nav_entries": staff_may_act_at_province_level(user=user, role=Role.CATALOGUE_ADMINISTRATOR),
        "nav_reviews": staff_has_role(user=user, role=Role.CATALOGUE_REVIEWER),
    }
    # Imported here: views_cases renders through this function.
    from govhall.workbench.views_cases import case_navigation

    navigation.update(case_navigation(user=user))
    return render(request, template, {**navigation, **(context or {})})


def _paginate(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


# ---------------------------------------------------------------------------------------------
# Login: one login page for everyone (/accounts/login/, govhall/accounts/totp.py)


class StaffLoginView(RedirectView):
    """The old staff login address: sends to the one login page, keeping ``next``."""

    pattern_name = "accounts:login"
    query_string = True
    permanent = False


class StaffLogoutView(LogoutView):
    """Logout ends every session of the account (the issue's rule), not only this one."""

    next_page = "accounts:login"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        authentication.user_logout(request=request)
        return HttpResponseRedirect(self.get_success_url())


# ---------------------------------------------------------------------------------------------
# Home


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    roles = []
    for role in Role:
        regions = staff_regions_for_role(user=user, role=role)
        if regions:
            roles.append({"label": role.label, "regions": sorted({region.full_name for region in regions})})
    return _page(
        request,
        "workbench/index.html",
        {"roles": roles, "counts": selectors.change_counts_for_staff(user=user)},
    )


# ---------------------------------------------------------------------------------------------
# Implementations


@login_required
def implementation_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filters = forms.ImplementationFilterForm(
        request.GET,
        regions=selectors.region_list_for_staff(user=user),
        departments=selectors.department_list_for_staff(user=user),
    )
    criteria = filters.cleaned_data if filters.is_valid() else {}
    implementations = selectors.implementation_list_for_staff(
        user=user,
        region_code=criteria.get("region") or None,
        department_code=criteria.get("department") or None,
        text=criteria.get("q") or None,
    )
    page = _paginate(request, implementations)
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request,
        "workbench/implementation_list.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "may_add": staff_has_role(user=user, role=Role.CATALOGUE_ADMINISTRATOR),
        },
    )


def _implementation_for_staff(request: HttpRequest, implementation_code: str) -> Any:
    implementation = selectors.implementation_get_for_staff(user=request.user, implementation_code=implementation_code)
    if implementation is None:
        raise Http404
    return implementation


def _implementation_for_administrator(request: HttpRequest, implementation_code: str) -> Any:
    implementation = selectors.implementation_get_for_administrator(
        user=request.user, implementation_code=implementation_code
    )
    if implementation is None:
        raise Http404
    return implementation


@login_required
def implementation_detail(request: HttpRequest, implementation_code: str) -> HttpResponse:
    implementation = _implementation_for_staff(request, implementation_code)
    payload = services.implementation_payload(implementation)
    may_administer = (
        selectors.implementation_get_for_administrator(user=request.user, implementation_code=implementation_code)
        is not None
    )
    return _page(
        request,
        "workbench/implementation_detail.html",
        {
            "implementation": implementation,
            "elements": payload_elements(payload),
            "materials": payload_rows(payload["materials"], fields=services.MATERIAL_FIELDS),
            "process_steps": payload_rows(payload["process_steps"], fields=services.PROCESS_STEP_FIELDS),
            "may_administer": may_administer,
        },
    )


@login_required
def implementation_history(request: HttpRequest, implementation_code: str) -> HttpResponse:
    implementation = _implementation_for_staff(request, implementation_code)
    return _page(
        request,
        "workbench/implementation_history.html",
        {
            "implementation": implementation,
            "versions": selectors.implementation_version_list(implementation=implementation),
        },
    )


def _implementation_choices(request: HttpRequest, *, region_code: str | None = None) -> dict[str, Any]:
    """What the implementation form offers: regions, departments and halls in the user's scope
    (only the departments of ``region_code`` when the region is fixed)."""
    user = request.user
    departments = list(selectors.department_list_for_staff(user=user, role=Role.CATALOGUE_ADMINISTRATOR))
    if region_code is not None:
        departments = [department for department in departments if department.region_id == region_code]
    return {
        "regions": list(selectors.region_list_for_staff(user=user, role=Role.CATALOGUE_ADMINISTRATOR)),
        "departments": departments,
        "halls": list(selectors.hall_list_for_administrator(user=user)),
    }


def _draft(
    request: HttpRequest,
    editor: Any,
    *,
    action: str,
    target: str,
    payload: dict[str, Any],
    entry: Any = None,
    implementation: Any = None,
) -> CatalogueChange | None:
    """Draft the change; None when the services refused it and the editor now shows why."""
    try:
        return services.catalogue_change_draft(
            actor=request.user,
            action=action,
            target=target,
            payload=payload,
            reason=editor.reason,
            entry=entry,
            implementation=implementation,
            submit=editor.submits,
        )
    except ValidationError as error:
        editor.add_service_error(error)
        return None
    except PermissionDenied:
        # Outside the user's scope: the same answer as for something that does not exist.
        raise Http404 from None


def _drafted(request: HttpRequest, change: CatalogueChange) -> HttpResponse:
    if change.state == ChangeState.SUBMITTED:
        messages.success(request, _("变更已提交审核。"))
    else:
        messages.success(request, _("变更已保存为草稿，提交审核后才会生效。"))
    return redirect("workbench:change_detail", change_id=change.pk)


@login_required
def implementation_change(request: HttpRequest, implementation_code: str) -> HttpResponse:
    implementation = _implementation_for_administrator(request, implementation_code)
    editor = forms.ImplementationEditor(
        payload=services.implementation_payload(implementation),
        data=request.POST if request.method == "POST" else None,
        is_new=False,
        **_implementation_choices(request, region_code=implementation.region_id),
    )
    if request.method == "POST" and editor.is_valid():
        change = _draft(
            request,
            editor,
            action=ChangeAction.CHANGE,
            target=ChangeTarget.IMPLEMENTATION,
            payload=editor.payload(),
            implementation=implementation,
        )
        if change is not None:
            return _drafted(request, change)
    return _page(
        request,
        "workbench/implementation_form.html",
        {
            "editor": editor,
            "heading": _("变更实施清单：%(name)s") % {"name": implementation.entry.name},
            "implementation": implementation,
            "cancel_url": reverse("workbench:implementation_detail", args=[implementation_code]),
        },
    )


@login_required
def implementation_add(request: HttpRequest) -> HttpResponse:
    """A new implementation: first the entry, region and department, then every element."""
    if not staff_has_role(user=request.user, role=Role.CATALOGUE_ADMINISTRATOR):
        raise Http404
    choices = _implementation_choices(request)
    if request.method == "POST":
        editor = forms.ImplementationEditor(payload={}, data=request.POST, is_new=True, **choices)
        if editor.is_valid():
            payload = _with_default_implementation_code(editor.payload(), choices["departments"])
            change = _draft(
                request, editor, action=ChangeAction.ADD, target=ChangeTarget.IMPLEMENTATION, payload=payload
            )
            if change is not None:
                return _drafted(request, change)
        return _implementation_add_page(request, editor)
    start = forms.ImplementationStartForm(
        request.GET or None, regions=choices["regions"], departments=choices["departments"]
    )
    if start.is_valid():
        entry = selectors.entry_get(basic_code=start.cleaned_data["basic_code"].strip())
        if entry is None:
            start.add_error("basic_code", _("基本目录中没有此编码的事项。"))
        else:
            department = next(d for d in choices["departments"] if d.code == start.cleaned_data["department_code"])
            payload = forms.implementation_initial_payload(
                entry=entry, region_code=start.cleaned_data["region_code"], department=department
            )
            return _implementation_add_page(
                request, forms.ImplementationEditor(payload=payload, is_new=True, **choices)
            )
    return _page(request, "workbench/implementation_start.html", {"start": start})


def _with_default_implementation_code(payload: dict[str, Any], departments: list[Any]) -> dict[str, Any]:
    """A new implementation left without a code gets the standard one (basic code + department code)."""
    if not payload.get("implementation_code"):
        department = next((d for d in departments if d.code == payload.get("department_code")), None)
        if department is not None:
            payload["implementation_code"] = services.implementation_code_for(
                basic_code=payload["basic_code"], department=department
            )
    return payload


def _implementation_add_page(request: HttpRequest, editor: forms.ImplementationEditor) -> HttpResponse:
    return _page(
        request,
        "workbench/implementation_form.html",
        {
            "editor": editor,
            "heading": _("新增实施清单"),
            "form_action": reverse("workbench:implementation_add"),
            "cancel_url": reverse("workbench:implementation_list"),
        },
    )


@login_required
def implementation_state(request: HttpRequest, implementation_code: str, action: str) -> HttpResponse:
    """Suspend, resume or cancel an implementation (a change like any other, reviewed)."""
    implementation = _implementation_for_administrator(request, implementation_code)
    editor = forms.StateEditor(data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and editor.is_valid():
        change = _draft(
            request,
            editor,
            action=action,
            target=ChangeTarget.IMPLEMENTATION,
            payload={},
            implementation=implementation,
        )
        if change is not None:
            return _drafted(request, change)
    return _page(
        request,
        "workbench/state_form.html",
        {
            "editor": editor,
            "heading": _("%(action)s实施清单：%(name)s")
            % {"action": ChangeAction(action).label, "name": implementation.entry.name},
            "subject": implementation,
            "cancel_url": reverse("workbench:implementation_detail", args=[implementation_code]),
        },
    )


# ---------------------------------------------------------------------------------------------
# Catalogue entries (the province's)


def _entries_guard(request: HttpRequest) -> None:
    if not staff_may_act_at_province_level(user=request.user, role=Role.CATALOGUE_ADMINISTRATOR):
        raise Http404


def _entry_for_administrator(request: HttpRequest, basic_code: str) -> Any:
    entry = selectors.entry_get_for_administrator(user=request.user, basic_code=basic_code)
    if entry is None:
        raise Http404
    return entry


@login_required
def entry_list(request: HttpRequest) -> HttpResponse:
    _entries_guard(request)
    filters = forms.EntryFilterForm(request.GET)
    text = filters.cleaned_data.get("q") if filters.is_valid() else None
    page = _paginate(request, selectors.entry_list_for_administrator(user=request.user, text=text or None))
    query = request.GET.copy()
    query.pop("page", None)
    return _page(request, "workbench/entry_list.html", {"filters": filters, "page": page, "query": query.urlencode()})


@login_required
def entry_detail(request: HttpRequest, basic_code: str) -> HttpResponse:
    entry = _entry_for_administrator(request, basic_code)
    return _page(
        request,
        "workbench/entry_detail.html",
        {
            "entry": entry,
            "elements": payload_elements(services.entry_payload(entry), kind="entry"),
            "versions": selectors.entry_version_list(entry=entry),
        },
    )


def _entry_form_page(request: HttpRequest, editor: Any, *, template: str, heading: str, cancel_url: str) -> Any:
    return _page(request, template, {"editor": editor, "heading": heading, "cancel_url": cancel_url})


@login_required
def entry_add(request: HttpRequest) -> HttpResponse:
    _entries_guard(request)
    editor = forms.EntryEditor(
        payload={}, data=request.POST if request.method == "POST" else None, themes=selectors.theme_list(), is_new=True
    )
    if request.method == "POST" and editor.is_valid():
        change = _draft(request, editor, action=ChangeAction.ADD, target=ChangeTarget.ENTRY, payload=editor.payload())
        if change is not None:
            return _drafted(request, change)
    return _entry_form_page(
        request,
        editor,
        template="workbench/entry_form.html",
        heading=_("新增基本目录事项"),
        cancel_url=reverse("workbench:entry_list"),
    )


@login_required
def entry_change(request: HttpRequest, basic_code: str) -> HttpResponse:
    entry = _entry_for_administrator(request, basic_code)
    editor = forms.EntryEditor(
        payload=services.entry_payload(entry),
        data=request.POST if request.method == "POST" else None,
        themes=selectors.theme_list(),
        is_new=False,
    )
    if request.method == "POST" and editor.is_valid():
        change = _draft(
            request,
            editor,
            action=ChangeAction.CHANGE,
            target=ChangeTarget.ENTRY,
            payload=editor.payload(),
            entry=entry,
        )
        if change is not None:
            return _drafted(request, change)
    return _entry_form_page(
        request,
        editor,
        template="workbench/entry_form.html",
        heading=_("变更基本目录事项：%(name)s") % {"name": entry.name},
        cancel_url=reverse("workbench:entry_detail", args=[basic_code]),
    )


@login_required
def entry_split(request: HttpRequest, basic_code: str) -> HttpResponse:
    entry = _entry_for_administrator(request, basic_code)
    template_entry = {**services.entry_payload(entry), "basic_code": ""}
    editor = forms.SplitEditor(
        payload={"entries": [template_entry, template_entry]},
        data=request.POST if request.method == "POST" else None,
        themes=selectors.theme_list(),
    )
    if request.method == "POST" and editor.is_valid():
        change = _draft(
            request, editor, action=ChangeAction.SPLIT, target=ChangeTarget.ENTRY, payload=editor.payload(), entry=entry
        )
        if change is not None:
            return _drafted(request, change)
    return _entry_form_page(
        request,
        editor,
        template="workbench/entry_split.html",
        heading=_("拆分基本目录事项：%(name)s") % {"name": entry.name},
        cancel_url=reverse("workbench:entry_detail", args=[basic_code]),
    )


@login_required
def entry_merge(request: HttpRequest, basic_code: str) -> HttpResponse:
    entry = _entry_for_administrator(request, basic_code)
    editor = forms.MergeEditor(
        payload={"sources": [entry.basic_code], "entry": {**services.entry_payload(entry), "basic_code": ""}},
        data=request.POST if request.method == "POST" else None,
        themes=selectors.theme_list(),
    )
    if request.method == "POST" and editor.is_valid():
        change = _draft(
            request, editor, action=ChangeAction.MERGE, target=ChangeTarget.ENTRY, payload=editor.payload(), entry=entry
        )
        if change is not None:
            return _drafted(request, change)
    return _entry_form_page(
        request,
        editor,
        template="workbench/entry_merge.html",
        heading=_("合并基本目录事项：%(name)s") % {"name": entry.name},
        cancel_url=reverse("workbench:entry_detail", args=[basic_code]),
    )


@login_required
def entry_state(request: HttpRequest, basic_code: str, action: str) -> HttpResponse:
    entry = _entry_for_administrator(request, basic_code)
    editor = forms.StateEditor(data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and editor.is_valid():
        change = _draft(request, editor, action=action, target=ChangeTarget.ENTRY, payload={}, entry=entry)
        if change is not None:
            return _drafted(request, change)
    return _page(
        request,
        "workbench/state_form.html",
        {
            "editor": editor,
            "heading": _("%(action)s基本目录事项：%(name)s")
            % {"action": ChangeAction(action).label, "name": entry.name},
            "subject": entry,
            "cancel_url": reverse("workbench:entry_detail", args=[basic_code]),
        },
    )


# ---------------------------------------------------------------------------------------------
# Changes: the drafter's


@login_required
def change_list_mine(request: HttpRequest) -> HttpResponse:
    changes = selectors.change_list_for_drafter(user=request.user)
    open_changes = list(changes.filter(state__in=OPEN_STATES))
    return _page(
        request,
        "workbench/change_list_mine.html",
        {
            "drafts": [change for change in open_changes if change.state == ChangeState.DRAFT],
            "returned": [change for change in open_changes if change.state == ChangeState.RETURNED],
            "submitted": [change for change in open_changes if change.state == ChangeState.SUBMITTED],
            "closed": _paginate(request, changes.exclude(state__in=OPEN_STATES)),
        },
    )


def _change_page(
    request: HttpRequest, change: CatalogueChange, *, review_form: forms.ReviewForm | None = None
) -> HttpResponse:
    may_review = selectors.change_get_for_reviewer(user=request.user, change_id=change.pk) is not None
    return _page(
        request,
        "workbench/change_detail.html",
        {
            "change": change,
            "diff": change_diff(change=change),
            "is_drafter": change.drafted_by_id == request.user.pk,
            "is_open": change.state in OPEN_STATES,
            "is_editable": change.state in (ChangeState.DRAFT, ChangeState.RETURNED),
            "may_review": may_review,
            "review_form": review_form or (forms.ReviewForm() if may_review else None),
        },
    )


@login_required
def change_detail(request: HttpRequest, change_id: int) -> HttpResponse:
    change = selectors.change_get_for_staff(user=request.user, change_id=change_id)
    if change is None:
        raise Http404
    return _change_page(request, change)


def _change_for_drafter(request: HttpRequest, change_id: int) -> CatalogueChange:
    change = selectors.change_get_for_drafter(user=request.user, change_id=change_id)
    if change is None:
        raise Http404
    return change


def _change_editor(request: HttpRequest, change: CatalogueChange, data: Any) -> tuple[Any, str]:
    """The editor of a change of this kind, filled with what the change holds."""
    action, payload, reason = change.action, change.payload, change.reason
    if action in STATE_ACTIONS:
        return forms.StateEditor(reason=reason, data=data), "workbench/state_form.html"
    if change.target == ChangeTarget.ENTRY:
        themes = selectors.theme_list()
        if action == ChangeAction.SPLIT:
            return forms.SplitEditor(payload=payload, reason=reason, data=data, themes=themes), (
                "workbench/entry_split.html"
            )
        if action == ChangeAction.MERGE:
            return forms.MergeEditor(payload=payload, reason=reason, data=data, themes=themes), (
                "workbench/entry_merge.html"
            )
        entry_editor = forms.EntryEditor(
            payload=payload, reason=reason, data=data, themes=themes, is_new=action == ChangeAction.ADD
        )
        return entry_editor, "workbench/entry_form.html"
    is_new = action == ChangeAction.ADD
    choices = _implementation_choices(request, region_code=None if is_new else change.region_id)
    editor = forms.ImplementationEditor(payload=payload, reason=reason, data=data, is_new=is_new, **choices)
    return editor, "workbench/implementation_form.html"


@login_required
def change_edit(request: HttpRequest, change_id: int) -> HttpResponse:
    """Edit a draft or a returned change, and resubmit it."""
    change = _change_for_drafter(request, change_id)
    if change.state not in (ChangeState.DRAFT, ChangeState.RETURNED):
        messages.error(request, _("只有草稿或被退回的变更可以修改。"))
        return redirect("workbench:change_detail", change_id=change.pk)
    editor, template = _change_editor(request, change, request.POST if request.method == "POST" else None)
    if request.method == "POST" and editor.is_valid():
        try:
            payload = editor.payload()
            if change.target == ChangeTarget.IMPLEMENTATION and change.action == ChangeAction.ADD:
                payload = _with_default_implementation_code(payload, editor.departments)
            change = services.catalogue_change_update(
                actor=request.user, change=change, payload=payload, reason=editor.reason
            )
            if editor.submits:
                change = services.catalogue_change_submit(actor=request.user, change=change)
        except ValidationError as error:
            editor.add_service_error(error)
        except PermissionDenied:
            raise Http404 from None
        else:
            return _drafted(request, change)
    return _page(
        request,
        template,
        {
            "editor": editor,
            "change": change,
            "heading": _("修改变更 #%(number)s：%(change)s") % {"number": change.pk, "change": change},
            "cancel_url": reverse("workbench:change_detail", args=[change.pk]),
        },
    )


def _change_step(request: HttpRequest, change_id: int, step: Any, done: str) -> HttpResponse:
    change = _change_for_drafter(request, change_id)
    try:
        step(actor=request.user, change=change)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except PermissionDenied:
        raise Http404 from None
    else:
        messages.success(request, done)
    return redirect("workbench:change_detail", change_id=change.pk)


@require_POST
@login_required
def change_submit(request: HttpRequest, change_id: int) -> HttpResponse:
    return _change_step(request, change_id, services.catalogue_change_submit, _("变更已提交审核。"))


@require_POST
@login_required
def change_withdraw(request: HttpRequest, change_id: int) -> HttpResponse:
    return _change_step(request, change_id, services.catalogue_change_withdraw, _("变更已撤回。"))


# ---------------------------------------------------------------------------------------------
# Review


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    if not staff_has_role(user=request.user, role=Role.CATALOGUE_REVIEWER):
        raise Http404
    page = _paginate(request, change_diff_prefetch(selectors.change_list_for_reviewer(user=request.user)))
    return _page(
        request,
        "workbench/review_queue.html",
        {"page": page, "items": [(change, change_diff(change=change)) for change in page]},
    )


@require_POST
@login_required
def change_review(request: HttpRequest, change_id: int) -> HttpResponse:
    """Approve (publishing a new version) or return a submitted change."""
    change = selectors.change_get_for_reviewer(user=request.user, change_id=change_id)
    if change is None:
        raise Http404
    form = forms.ReviewForm(request.POST)
    if form.is_valid():
        note = form.cleaned_data["review_note"]
        try:
            if form.cleaned_data["decision"] == forms.ReviewForm.DECISION_APPROVE:
                change = services.catalogue_change_approve(reviewer=request.user, change=change, note=note)
                messages.success(request, _("变更已审核通过并发布。"))
            else:
                change = services.catalogue_change_return(reviewer=request.user, change=change, note=note)
                messages.success(request, _("变更已退回起草人。"))
        except ValidationError as error:
            form.add_service_error(error)
        except PermissionDenied:
            raise Http404 from None
        else:
            return HttpResponseRedirect(reverse("workbench:review_queue"))
    return _change_page(request, change, review_form=form)
