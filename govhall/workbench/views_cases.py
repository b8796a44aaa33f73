"""The officers' case pages (办件): the to-do list with its batch actions, the case page with
the application form and materials side by side and a form for every action the officer may
take, material downloads, and the jump to a case by number.

Views parse a form, call one service or selector of ``govhall.cases`` and render. Who may see a
case is decided by the selectors (``case_get_for_officer``, ``task_get_for_officer``): a case
outside an officer's departments, roles or region answers 404, the same as one that does not
exist, so numbers cannot be probed. Whether an action is allowed is decided by the services: a
refusal (``CaseActionRefused``) is shown with its message. A refused action the officer was
offered is shown again with what was typed; one the officer was never offered (someone else's
step, a supervisor's click) redirects back with the refusal and changes nothing.
"""

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import formset_factory
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from govhall.accounts.models import Role, StaffAssignment
from govhall.cases import application_form, calendar, guards, process, selectors, services
from govhall.cases.models import (
    Case,
    CaseState,
    CaseTask,
    Decision,
    DeliveryMethod,
    Extension,
    ExtensionState,
    SpecialProcedure,
    SpecialProcedureKind,
)
from govhall.cases.services import CaseActionRefused
from govhall.cases.uploads import material_download_response
from govhall.catalog.models import CaseType
from govhall.paths import Addresses
from govhall.queries import list_compiled
from govhall.workbench.views import _page

# Labels of the timeline's action codes (CaseEvent.action), as officers read them.
EVENT_LABELS = {
    "submit": _lazy("申报"),
    "forward": _lazy("收件转办"),
    "claim": _lazy("签收"),
    "transfer": _lazy("转办"),
    "prereview_pass": _lazy("预审通过"),
    "correction_notify": _lazy("补正告知"),
    "correction_answer": _lazy("申请人补正"),
    "refuse": _lazy("不予受理"),
    "accept": _lazy("受理"),
    "review": _lazy("审查意见"),
    "decide": _lazy("决定"),
    "result_issue": _lazy("制证"),
    "deliver": _lazy("送达"),
    "return": _lazy("退回"),
    "withdraw": _lazy("申请人撤回"),
    "special_procedure_start": _lazy("特别程序开始"),
    "special_procedure_end": _lazy("特别程序结束"),
    "extension_request": _lazy("申请延期"),
    "extension_approve": _lazy("批准延期"),
    "extension_reject": _lazy("不批准延期"),
    "auto_approve": _lazy("自动审批准予"),
    "auto_handover": _lazy("自动审批转人工"),
    "commitment_verified": _lazy("承诺核查属实"),
    "commitment_false": _lazy("承诺不实，撤销准予"),
    "deferred_material_add": _lazy("补交容缺材料"),
}

# Labels of the actions offered on a task (selectors.task_actions_for_officer), in page order.
ACTION_LABELS = {
    "claim": _lazy("签收"),
    "forward": _lazy("核验无误，转办承办部门"),
    "verify": _lazy("承诺核查"),
    "pass": _lazy("预审通过"),
    "correct": _lazy("一次性告知补正"),
    "refuse": _lazy("不予受理"),
    "accept": _lazy("受理"),
    "opinion": _lazy("审查意见"),
    "decide": _lazy("作出决定"),
    "issue": _lazy("制证"),
    "deliver": _lazy("送达"),
    "return": _lazy("退回"),
    "transfer": _lazy("转办"),
}

LEVEL_LABELS = {"green": _lazy("正常"), "yellow": _lazy("黄牌预警"), "red": _lazy("红牌超期")}
# The site stylesheet's badge colours: green, amber, red.
LEVEL_CLASSES = {
    "green": "badge badge-fully_online",
    "yellow": "badge badge-at_most_one_visit",
    "red": "status-suspended",
}

BATCH_ACTIONS = ("claim", "deliver")
# Tasks on a page of the to-do list (the API's default page size too).
TODO_PAGE_SIZE = 50
CORRECTION_ROWS = 6


# ---------------------------------------------------------------------------------------------
# Navigation


def case_navigation(*, user: Any) -> dict[str, Any]:
    """What the workbench navigation shows about cases: the 办件 link for officers and
    supervisors, and the number of open tasks on the officer's to-do list."""
    has_handling_role = bool(guards.staff_department_ids(user=user))
    supervises = bool(selectors.case_supervisor_regions(officer=user))
    return {
        "nav_cases": has_handling_role or supervises,
        "nav_case_todo": selectors.task_count_for_officer(officer=user) if has_handling_role else None,
        "nav_intake": bool(guards.staff_department_ids(user=user, roles=(Role.WINDOW_CLERK,))),
    }


def _render(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    response = _page(request, template, context)
    response.status_code = status
    return response


# ---------------------------------------------------------------------------------------------
# Reads the brief allows here: the officer's own and colleagues' staff assignments


# Both are read on every to-do list and case page, by statements compiled once per process
# (ADR 11): the officer's 45 assignments in 15 departments took 1.14 ms of CPU with the ORM
# building the statement, 0.55 ms so (in one process).


def _officer_departments(officer: Any) -> list[Any]:
    """The departments in which the officer holds a case-handling role."""
    departments: dict[int, Any] = {}
    for assignment in list_compiled("officer_departments", _handling_assignments, int(officer.pk)):
        departments.setdefault(assignment.department_id, assignment.department)
    return list(departments.values())


def _handling_assignments(officer_id: int) -> QuerySet[StaffAssignment]:
    return (
        StaffAssignment.objects.filter(user_id=officer_id, role__in=process.HANDLING_ROLES)
        .select_related("department")
        .order_by("department__code")
    )


def _colleagues(*, task: CaseTask, officer: Any) -> list[Any]:
    """Active officers other than ``officer`` who hold the task's role in its department: who
    a task may be transferred to."""
    assignments = list_compiled(
        "transfer_colleagues", _colleague_assignments, int(task.department_id), str(task.role), int(officer.pk)
    )
    return [assignment.user for assignment in assignments]


def _colleague_assignments(department_id: int, role: str, officer_id: int) -> QuerySet[StaffAssignment]:
    return (
        StaffAssignment.objects.filter(department_id=department_id, role=role, user__is_active=True)
        .exclude(user_id=officer_id)
        .select_related("user")
        .order_by("user__username")
    )


# ---------------------------------------------------------------------------------------------
# The to-do list


class TaskFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_lazy("环节"), required=False)
    item = forms.CharField(label=_lazy("事项基本编码"), required=False, max_length=32)
    department = forms.TypedChoiceField(label=_lazy("部门"), required=False, coerce=int, empty_value=None)
    level = forms.ChoiceField(
        label=_lazy("剩余时间"),
        required=False,
        choices=[("", _lazy("全部")), ("yellow", LEVEL_LABELS["yellow"]), ("red", LEVEL_LABELS["red"])],
    )
    mine = forms.BooleanField(label=_lazy("只看我已签收的"), required=False)

    def __init__(self, *args: Any, departments: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = [("", _("全部环节")), *((key, kind.label) for key, kind in process.STEP_KINDS.items())]
        department_field = self.fields["department"]
        assert isinstance(department_field, forms.ChoiceField)
        department_field.choices = [("", _("全部部门")), *((item.pk, item.name) for item in departments)]


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    """The officer's to-do list: open tasks of the officer's departments and roles."""
    officer = request.user
    filters = TaskFilterForm(request.GET or None, departments=_officer_departments(officer))
    criteria = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
    ids = selectors.task_ids_for_officer(
        officer=officer,
        kind=criteria.get("kind") or "",
        basic_code=(criteria.get("item") or "").strip(),
        level=criteria.get("level") or "",
        mine_only=bool(criteria.get("mine")),
        department_id=criteria.get("department"),
    )
    # A page of the list at a time: all of its 500 oldest tasks on one page took 170 ms of the
    # worker's CPU for an officer with 2,421 open tasks (10 million cases).
    page = Paginator(ids, TODO_PAGE_SIZE).get_page(request.GET.get("page"))
    tasks = selectors.task_list_of_page(ids=list(page.object_list))
    statuses = _time_statuses([task.case for task in tasks])
    rows = _task_rows_html(tasks, statuses)
    others = request.GET.copy()
    others.pop("page", None)
    return _render(
        request,
        "workbench/cases/list.html",
        {
            "filters": filters,
            "rows": rows,
            "page": page,
            "capped": len(ids) >= selectors.TODO_LIST_MAX,
            "list_max": selectors.TODO_LIST_MAX,
            # The filters, for the pages' links; the batch actions come back to this very page.
            "query": others.urlencode(),
            "this_page": request.GET.urlencode(),
            "delivery_methods": DeliveryMethod.choices,
        },
    )


def _time_statuses(cases: list[Case]) -> dict[int, selectors.TimeStatus]:
    return selectors.case_time_statuses(cases=cases)


def _task_rows_html(tasks: list[CaseTask], statuses: dict[int, selectors.TimeStatus]) -> SafeString:
    """The to-do list's rows, written here rather than by the template: its loop, a dozen
    lookups and conditions a row, was the most of the page's rendering (the twenty-sixth session
    moved the rows' texts here, which had taken 10 of the 13 ms that rendering 50 rows took).
    Every text is escaped (``html.escape``, as Django's ``escape`` does); the time shown is
    safe markup."""
    case_address = Addresses("workbench:case_detail", "number")
    unclaimed = html.escape(_("未签收"))
    parts = []
    for task in tasks:
        case = task.case
        status = statuses[task.case_id]
        number = case.number or ""  # a task's case is submitted, so numbered
        name = html.escape(task.name)
        kind = process.STEP_KINDS[task.kind].label if task.kind in process.STEP_KINDS else task.kind
        step_due = " · " + html.escape(_("环节期限 %(day)s") % {"day": task.due_on.isoformat()}) if task.due_on else ""
        label = html.escape(_("选择 %(number)s %(step)s") % {"number": case.number, "step": task.name})
        assignee = html.escape(str(task.assignee)) if task.assignee else unclaimed
        parts.append(
            f'<tr>\n<td><input type="checkbox" name="task" value="{task.pk}" id="task-{task.pk}"'
            f' aria-label="{label}"></td>\n'
            f'<th scope="row"><a href="{html.escape(case_address(number))}">{html.escape(number)}</a></th>\n'
            f"<td>{html.escape(case.item_name)}</td>\n<td>{html.escape(case.applicant_name)}</td>\n"
            f"<td>{name}<br><small>{html.escape(str(kind))}{step_due}</small></td>\n"
            f"<td>{html.escape(task.department.name)}</td>\n"
            f"<td>{case.received_on.isoformat() if case.received_on else '—'}</td>\n"
            f"<td>{status.due_on.isoformat() if status.due_on else '—'}</td>\n"
            f"<td>{conditional_escape(_time_shown(status))}</td>\n<td>{assignee}</td>\n</tr>\n"
        )
    return mark_safe("".join(parts))  # every text above is escaped


def _time_view(status: selectors.TimeStatus) -> dict[str, Any]:
    """The time status as the pages show it: the level's words and colour next to the days."""
    return {"status": status, "shown": _time_shown(status)}


def _time_shown(status: selectors.TimeStatus) -> str:
    """Days left (or overdue) with the level in words and colour, or paused. Made here, not by a
    template: the to-do list shows one per row, and an include for each took about a tenth of
    the page's CPU."""
    if status.paused:
        paused = _("暂停计时（剩 %(days)s 个工作日）") % {"days": status.days_left}
        return format_html('<span class="badge">{}</span>', paused)
    if status.days_left is None:
        return "—"
    level = LEVEL_LABELS.get(status.level, "")
    if status.days_left < 0:
        text = _("%(level)s：超期 %(days)s 个工作日") % {"level": level, "days": -status.days_left}
    else:
        text = _("%(level)s：剩 %(days)s 个工作日") % {"level": level, "days": status.days_left}
    return format_html('<span class="{}">{}</span>', LEVEL_CLASSES.get(status.level, ""), text)


@login_required
@require_POST
def case_batch(request: HttpRequest) -> HttpResponse:
    """Claim the selected tasks, or deliver the selected delivery tasks with one method: each
    task is its own transaction (its own service call); the page reports how many succeeded and
    every refusal with its message."""
    officer = request.user
    action = request.POST.get("action", "")
    method = request.POST.get("method", "")
    back = reverse("workbench:case_list")
    query = QueryDict(request.POST.get("query", "")).urlencode()
    if query:
        back = f"{back}?{query}"
    if action not in BATCH_ACTIONS:
        messages.error(request, _("请选择批量操作。"))
        return redirect(back)
    task_ids = [int(value) for value in request.POST.getlist("task") if value.isdigit()]
    if not task_ids:
        messages.error(request, _("请先勾选要办理的环节。"))
        return redirect(back)
    succeeded = 0
    refusals: list[tuple[str, str]] = []
    for task_id in dict.fromkeys(task_ids):
        task = selectors.task_get_for_officer(task_id=task_id, officer=officer)
        if task is None:
            refusals.append((str(task_id), _("没有找到该环节。")))
            continue
        try:
            if action == "claim":
                services.case_task_claim(task=task, officer=officer)
            else:
                services.case_deliver(task=task, officer=officer, method=method)
        except CaseActionRefused as refused:
            refusals.append((task.case.number or str(task_id), refused.message))
        else:
            succeeded += 1
    label = _("批量签收") if action == "claim" else _("批量送达")
    if succeeded:
        messages.success(request, _("%(action)s：%(count)s 件办理成功。") % {"action": label, "count": succeeded})
    if refusals:
        messages.warning(request, _("%(action)s：%(count)s 件未能办理：") % {"action": label, "count": len(refusals)})
        for number, message in refusals:
            messages.warning(request, _("%(number)s：%(message)s") % {"number": number, "message": message})
    return redirect(back)


# ---------------------------------------------------------------------------------------------
# Finding a case by number


@login_required
@require_GET
def case_find(request: HttpRequest) -> HttpResponse:
    """Jump to a case by its number; a number the officer may not see is "not found"."""
    number = request.GET.get("number", "").strip()
    if not number:
        return _render(request, "workbench/cases/find.html", {"number": ""})
    case = selectors.case_get_for_officer(number=number, officer=request.user)
    if case is None:
        return _render(request, "workbench/cases/find.html", {"number": number, "not_found": True}, status=404)
    return redirect("workbench:case_detail", number=case.number)


# ---------------------------------------------------------------------------------------------
# Forms of the case page: one per action. Text fields are optional here because the services
# state what an action needs (reasons for a refusal, an opinion...) and their message is shown.


def _text(label: Any, *, rows: int = 3, initial: str = "") -> forms.CharField:
    return forms.CharField(
        label=label, required=False, initial=initial, widget=forms.Textarea(attrs={"rows": rows}), strip=True
    )


class CaseActionForm(forms.Form):
    """A form acting on ``case`` (and ``task`` when it acts on a step) for ``officer``."""

    def __init__(self, *args: Any, case: Case, task: CaseTask | None, officer: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.task = task
        self.officer = officer

    def _choices(self, name: str, choices: list[tuple[Any, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


class ClaimForm(CaseActionForm):
    pass


class TransferForm(CaseActionForm):
    to_officer = forms.ChoiceField(label=_lazy("转给"))
    note = _text(_lazy("说明"), rows=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.task is not None
        self.colleagues = {str(user.pk): user for user in _colleagues(task=self.task, officer=self.officer)}
        self._choices(
            "to_officer",
            [("", _("请选择同岗位的同事")), *((key, str(user)) for key, user in self.colleagues.items())],
        )

    def clean_to_officer(self) -> Any:
        return self.colleagues[self.cleaned_data["to_officer"]]


class PassForm(CaseActionForm):
    opinion = _text(_lazy("预审意见"), rows=2)


class ForwardForm(CaseActionForm):
    """收受分离: the receiving office has checked identity and formal completeness."""

    opinion = _text(_lazy("核验意见（身份及材料形式审查）"), rows=2)


class CorrectionItemForm(forms.Form):
    subject = forms.ChoiceField(label=_lazy("补正对象"), required=False)
    other = forms.CharField(label=_lazy("其他对象（自行填写）"), required=False, max_length=128)
    problem = forms.CharField(label=_lazy("问题及补正要求"), required=False, max_length=500)

    def __init__(self, *args: Any, subjects: list[tuple[Any, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["subject"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = subjects


CorrectionItemFormSet = formset_factory(CorrectionItemForm, extra=CORRECTION_ROWS, max_num=50)


class CorrectionForm(CaseActionForm):
    """一次性告知: every item on one notice, each a subject (a material or a form field, listed
    from the case) and its problem."""

    note = _text(_lazy("告知说明"), rows=2)

    def __init__(self, *args: Any, subjects: list[tuple[Any, Any]] | None = None, **kwargs: Any) -> None:
        """``subjects`` as ``_correction_subjects`` lists them, when the caller has them already."""
        super().__init__(*args, **kwargs)
        self.item_rows = CorrectionItemFormSet(
            data=self.data if self.is_bound else None,
            prefix=f"{self.prefix}-items" if self.prefix else "items",
            form_kwargs={"subjects": _correction_subjects(self.case) if subjects is None else subjects},
        )

    def is_valid(self) -> bool:
        return bool(super().is_valid() and self.item_rows.is_valid())

    def item_list(self) -> list[dict[str, str]]:
        rows = []
        for row in self.item_rows.cleaned_data:
            subject = (row.get("subject") or row.get("other") or "").strip()
            problem = (row.get("problem") or "").strip()
            if subject or problem:
                rows.append({"subject": subject, "problem": problem})
        return rows


def _correction_subjects(
    case: Case, *, materials: list[dict[str, Any]] | None = None, sections: list[dict] | None = None
) -> list[tuple[Any, Any]]:
    """What a correction item may name: the materials and form fields the applicant was shown.
    ``materials`` and ``sections`` as ``case_materials_listed`` and ``form_sections`` give them,
    when the caller has read them already (the case page: the wallet's reads are not repeated)."""
    if materials is None:
        materials = services.case_materials_listed(case=case)
    if sections is None:
        sections = _case_sections(case)
    fields = [field["label"] for section in sections for field in section["fields"] if field["visible"]]
    return [
        ("", _("（选择材料或表单项）")),
        (_("申请材料"), [(item["name"], item["name"]) for item in materials if item["visible"]]),
        (_("申请表"), [(label, label) for label in dict.fromkeys(fields)]),
    ]


def _case_sections(case: Case, *, materials_present: set[str] | None = None) -> list[dict]:
    """The case's form as filed, in the page's language (``application_form.form_sections``)."""
    return application_form.form_sections(
        definition=case.form_definition,
        data=case.data,
        prefilled=case.prefilled,
        errors={},
        language=get_language() or "zh-hans",
        materials_present=materials_present,
    )


class RefuseForm(CaseActionForm):
    reasons = _text(_lazy("不予受理理由"))
    legal_remedy = _text(_lazy("救济途径"), initial=str(services.LEGAL_REMEDY_DEFAULT))


class AcceptForm(CaseActionForm):
    """受理; an immediate case (即办件) is decided here as well."""

    opinion = _text(_lazy("受理意见"), rows=2)
    decision = forms.ChoiceField(
        label=_lazy("决定"), required=False, choices=Decision.choices, widget=forms.RadioSelect
    )
    reasons = _text(_lazy("决定理由"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.case.case_type != CaseType.IMMEDIATE:
            del self.fields["decision"]
            del self.fields["reasons"]


class OpinionForm(CaseActionForm):
    agree = forms.ChoiceField(
        label=_lazy("审查结论"),
        choices=[("agree", _lazy("同意")), ("disagree", _lazy("不同意"))],
        initial="agree",
        widget=forms.RadioSelect,
    )
    opinion = _text(_lazy("审查意见"))


class VerifyForm(CaseActionForm):
    """告知承诺制: the department's verification of the commitments behind an approval."""

    truthful = forms.ChoiceField(
        label=_lazy("核查结论"),
        choices=[("yes", _lazy("承诺属实")), ("no", _lazy("承诺不实（撤销准予并记入失信）"))],
        initial="yes",
        widget=forms.RadioSelect,
    )
    note = _text(_lazy("核查情况"))


class DecideForm(CaseActionForm):
    decision = forms.ChoiceField(
        label=_lazy("决定"), required=False, choices=Decision.choices, widget=forms.RadioSelect
    )
    reasons = _text(_lazy("理由（不予许可时必填）"))


class IssueForm(CaseActionForm):
    reference = forms.CharField(label=_lazy("结果文书或证照编号"), required=False, max_length=128)


class DeliverForm(CaseActionForm):
    method = forms.ChoiceField(
        label=_lazy("送达方式"), required=False, choices=DeliveryMethod.choices, widget=forms.RadioSelect
    )
    note = _text(_lazy("说明"), rows=2)


class ReturnForm(CaseActionForm):
    to_step = forms.ChoiceField(label=_lazy("退回到"), required=False)
    reason = _text(_lazy("退回理由"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.task is not None
        targets = selectors.case_return_targets(case=self.case, task=self.task)
        self._choices("to_step", [("", _("请选择环节")), *((step["key"], step["name"]) for step in targets)])


class SpecialStartForm(CaseActionForm):
    kind = forms.ChoiceField(label=_lazy("种类"), required=False, choices=[("", "—"), *SpecialProcedureKind.choices])
    reason = _text(_lazy("理由"))
    expected_days = forms.IntegerField(label=_lazy("预计时长（工作日）"), required=False)


class RevealForm(CaseActionForm):
    reason = _text(_lazy("查看理由"), rows=2)


class SpecialEndForm(CaseActionForm):
    result = _text(_lazy("结果"))


class ExtensionRequestForm(CaseActionForm):
    reason = _text(_lazy("延期理由"))


class ExtensionAnswerForm(CaseActionForm):
    approve = forms.ChoiceField(
        label=_lazy("审批"),
        choices=[("approve", _lazy("批准延期")), ("reject", _lazy("不批准"))],
        widget=forms.RadioSelect,
    )
    note = _text(_lazy("意见"), rows=2)


# ---------------------------------------------------------------------------------------------
# What each task action does: its form and the one service it calls (returning the success line)


def _claim(task: CaseTask, officer: Any, form: Any) -> str:
    services.case_task_claim(task=task, officer=officer)
    return _("已签收“%(step)s”。") % {"step": task.name}


def _transfer(task: CaseTask, officer: Any, form: Any) -> str:
    to_officer = form.cleaned_data["to_officer"]
    services.case_task_transfer(task=task, officer=officer, to_officer=to_officer, note=form.cleaned_data["note"])
    return _("已将“%(step)s”转给%(name)s。") % {"step": task.name, "name": to_officer}


def _forward(task: CaseTask, officer: Any, form: Any) -> str:
    case = services.case_forward(task=task, officer=officer, opinion=form.cleaned_data["opinion"])
    return _("已转办%(department)s。") % {"department": case.department.name}


def _verify(task: CaseTask, officer: Any, form: Any) -> str:
    truthful = form.cleaned_data["truthful"] == "yes"
    services.case_commitment_verify(task=task, officer=officer, truthful=truthful, note=form.cleaned_data["note"])
    return _("核查属实，已记录。") if truthful else _("承诺不实：准予决定已撤销，申请人已记入告知承诺失信名单。")


def _pass(task: CaseTask, officer: Any, form: Any) -> str:
    services.case_prereview_pass(task=task, officer=officer, opinion=form.cleaned_data["opinion"])
    return _("预审通过，已转入受理。")


def _correct(task: CaseTask, officer: Any, form: Any) -> str:
    items = form.item_list()
    services.case_correction_notify(task=task, officer=officer, items=items, note=form.cleaned_data["note"])
    return _("已一次性告知申请人补正 %(count)s 项内容。") % {"count": len(items)}


def _refuse(task: CaseTask, officer: Any, form: Any) -> str:
    data = form.cleaned_data
    services.case_refuse(task=task, officer=officer, reasons=data["reasons"], legal_remedy=data["legal_remedy"])
    return _("已作出不予受理决定。")


def _accept(task: CaseTask, officer: Any, form: Any) -> str:
    data = form.cleaned_data
    services.case_accept(
        task=task,
        officer=officer,
        opinion=data["opinion"],
        decision=data.get("decision") or "",
        decision_reasons=data.get("reasons") or "",
    )
    return _("已受理，办理时限开始计算。")


def _opinion(task: CaseTask, officer: Any, form: Any) -> str:
    data = form.cleaned_data
    services.case_review(task=task, officer=officer, agree=data["agree"] == "agree", opinion=data["opinion"])
    return _("已提交“%(step)s”的审查意见。") % {"step": task.name}


def _decide(task: CaseTask, officer: Any, form: Any) -> str:
    data = form.cleaned_data
    services.case_decide(task=task, officer=officer, decision=data["decision"], reasons=data["reasons"])
    return _("已作出决定。")


def _issue(task: CaseTask, officer: Any, form: Any) -> str:
    services.case_result_issue(task=task, officer=officer, reference=form.cleaned_data["reference"])
    return _("办理结果已制作。")


def _deliver(task: CaseTask, officer: Any, form: Any) -> str:
    data = form.cleaned_data
    services.case_deliver(task=task, officer=officer, method=data["method"], note=data["note"])
    return _("已送达，办件已办结。")


def _return(task: CaseTask, officer: Any, form: Any) -> str:
    data = form.cleaned_data
    services.case_return(task=task, officer=officer, to_step=data["to_step"], reason=data["reason"])
    return _("已退回。")


@dataclass(frozen=True)
class TaskAction:
    form: type[CaseActionForm]
    perform: Callable[[CaseTask, Any, Any], str]


TASK_ACTIONS: dict[str, TaskAction] = {
    "claim": TaskAction(ClaimForm, _claim),
    "transfer": TaskAction(TransferForm, _transfer),
    "forward": TaskAction(ForwardForm, _forward),
    "pass": TaskAction(PassForm, _pass),
    "correct": TaskAction(CorrectionForm, _correct),
    "refuse": TaskAction(RefuseForm, _refuse),
    "accept": TaskAction(AcceptForm, _accept),
    "opinion": TaskAction(OpinionForm, _opinion),
    "decide": TaskAction(DecideForm, _decide),
    "issue": TaskAction(IssueForm, _issue),
    "deliver": TaskAction(DeliverForm, _deliver),
    "return": TaskAction(ReturnForm, _return),
    "verify": TaskAction(VerifyForm, _verify),
}


def _task_prefix(task: CaseTask, action: str) -> str:
    return f"task{task.pk}-{action}"


# ---------------------------------------------------------------------------------------------
# The case page


def _case_or_404(request: HttpRequest, number: str) -> Case:
    case = selectors.case_get_for_officer(number=number, officer=request.user)
    if case is None:
        raise Http404
    return case


@login_required
@require_GET
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    """The case: form and materials side by side, open steps with their action forms, time
    status, correction notices, special procedures, extensions and the full timeline."""
    return _case_page(request, _case_or_404(request, number))


def _case_page(
    request: HttpRequest,
    case: Case,
    *,
    bound: dict[str, CaseActionForm] | None = None,
    refusal: dict[str, str] | None = None,
    status: int = 200,
    revealed: dict[str, str] | None = None,
) -> HttpResponse:
    """Render the case page; ``bound`` replaces the form of that key with the one just posted
    (values kept) and ``refusal`` shows the service's message at it."""
    officer = request.user
    bound = bound or {}
    refusal = refusal or {}
    materials = selectors.case_materials_current(case=case)
    present = {material.material_name for material in materials}
    sections = _case_sections(case, materials_present=present)
    may_handle = guards.staff_may_handle_case(user=officer, case=case)
    may_answer_extension = guards.staff_holds_role_in(user=officer, role=Role.DECIDER, department_id=case.department_id)
    status_now = selectors.case_time_status(case=case)
    timeline = selectors.case_timeline(case=case, for_applicant=False)
    procedures = selectors.case_special_procedures(case=case, timeline=timeline)
    extensions = selectors.case_extensions(case=case, timeline=timeline)

    material_list = services.case_materials_listed(case=case)
    # The correction forms' subjects from what the page reads anyway (the file fields' state,
    # which materials_present changes, is not among them).
    subjects = _correction_subjects(case, materials=material_list, sections=sections)

    def form_for(
        key: str, form_class: type[CaseActionForm], *, url: str, label: Any, task: CaseTask | None = None
    ) -> dict[str, Any]:
        extra = {"subjects": subjects} if form_class is CorrectionForm else {}
        form = bound.get(key) or form_class(case=case, task=task, officer=officer, prefix=key, **extra)
        return {"key": key, "form": form, "refusal": refusal.get(key, ""), "url": url, "label": label}

    def case_url(name: str, *args: Any) -> str:
        return reverse(f"workbench:{name}", args=[case.number, *args])

    tasks = []
    for task in selectors.task_list_open_for_case(case=case):
        task.case = case
        actions = [
            {
                "name": action,
                **form_for(
                    _task_prefix(task, action),
                    TASK_ACTIONS[action].form,
                    url=case_url("case_task_action", task.pk, action),
                    label=ACTION_LABELS[action],
                    task=task,
                ),
            }
            for action in selectors.task_actions_for_officer(task=task, officer=officer)
            if action in TASK_ACTIONS
        ]
        # A transfer needs someone to transfer to.
        actions = [item for item in actions if item["name"] != "transfer" or item["form"].colleagues]
        tasks.append({"task": task, "actions": actions})

    context = {
        "case": case,
        "time": _time_view(status_now),
        "refusals": [(key, message) for key, message in refusal.items()],
        "sections": _readonly_sections(sections),
        "materials": materials,
        "material_list": material_list,
        "present": present,
        "tasks": tasks,
        "timeline": [{"event": event, "label": _event_label(event)} for event in timeline],
        "corrections": selectors.case_corrections(case=case, timeline=timeline),
        "procedures": [
            {
                "procedure": procedure,
                "end": form_for(
                    f"special{procedure.pk}-end",
                    SpecialEndForm,
                    url=case_url("case_special_end", procedure.pk),
                    label=_("结束特别程序"),
                )
                if may_handle and procedure.ended_on is None
                else None,
            }
            for procedure in procedures
        ],
        "special_start": form_for(
            "special-start", SpecialStartForm, url=case_url("case_special_start"), label=_("启动特别程序")
        )
        if may_handle and case.state == CaseState.ACCEPTED and case.paused_since is None
        else None,
        "extensions": [
            {
                "extension": extension,
                "answer": form_for(
                    f"extension{extension.pk}-answer",
                    ExtensionAnswerForm,
                    url=case_url("case_extension_answer", extension.pk),
                    label=_("提交审批"),
                )
                if may_answer_extension
                and extension.state == ExtensionState.REQUESTED
                and extension.requested_by_id != officer.pk
                else None,
            }
            for extension in extensions
        ],
        "extension_request": form_for(
            "extension-request", ExtensionRequestForm, url=case_url("case_extension_request"), label=_("申请延期")
        )
        if may_handle and case.state == CaseState.ACCEPTED
        else None,
        "window_rating": may_handle
        and case.state in (CaseState.COMPLETED, CaseState.REFUSED)
        and not case.evaluations.exists(),
        "revealed": revealed,
        "reveal": form_for("reveal", RevealForm, url=case_url("case_reveal"), label=_("查看完整信息"))
        if may_handle and case.person_id and not revealed
        else None,
        "receive": _receive_task(case),
        "decision_label": Decision(case.decision).label if case.decision else "",
        "delivery_label": DeliveryMethod(case.delivery_method).label if case.delivery_method else "",
    }
    return _render(request, "workbench/cases/detail.html", context, status=status)


def _receive_task(case: Case) -> CaseTask | None:
    """The receiving office's receive-and-forward step (收受分离), open or done: its own limit is
    shown apart from the competent department's."""
    if case.receiving_department_id is None:
        return None
    return case.tasks.filter(kind="receive").select_related("department", "closed_by").order_by("id").first()


def _event_label(event: Any) -> str:
    label = str(EVENT_LABELS.get(event.action, event.action))
    if event.action == "review" and "agree" in event.data:
        return _("%(label)s（%(conclusion)s）") % {
            "label": label,
            "conclusion": _("同意") if event.data["agree"] else _("不同意"),
        }
    return label


def _readonly_sections(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form's sections as the officer reads them: visible fields only, each with the text
    to show (choice labels, the region's name, table rows that were filled)."""
    readable = []
    for section in sections:
        fields = []
        for field in section["fields"]:
            if not field.get("visible"):
                continue
            fields.append({**field, "display": _field_display(field), "filled_rows": _filled_rows(field)})
        if fields:
            readable.append({"title": section["title"], "fields": fields})
    return readable


def _field_display(field: dict[str, Any]) -> str:
    widget = field["widget"]
    if widget == "choice":
        return str(field.get("value_label") or field.get("value") or "")
    if widget == "multichoice":
        labels = dict(field.get("choices") or [])
        return _("、").join(str(labels.get(value, value)) for value in field.get("selected") or [])
    if widget == "address":
        code = field["region"]["value"]
        region = next(
            (
                f"{city}{name}"
                for city, counties in field.get("regions") or []
                for value, name in counties
                if value == code
            ),
            code,
        )
        return f"{region} {field['detail']['value']}".strip()
    if widget == "file":
        return str(field.get("material") or "")
    return str(field.get("value") or "")


def _filled_rows(field: dict[str, Any]) -> list[dict[str, Any]]:
    if field["widget"] != "table":
        return []
    return [row for row in field.get("rows") or [] if any(cell["value"] for cell in row["cells"])]


# ---------------------------------------------------------------------------------------------
# Acting: every POST calls one service


def _act(
    request: HttpRequest,
    case: Case,
    *,
    key: str,
    form: CaseActionForm,
    perform: Callable[[], str],
    offered: Callable[[], bool],
) -> HttpResponseBase:
    """Run ``perform`` (one service call) when the form parses. Success redirects back with a
    success line. A refusal of something the officer was offered shows the page again with the
    message at the form and what was typed; otherwise it redirects back with the message."""
    message = _("您不能办理此环节，或已由他人签收。")
    if form.is_valid():
        try:
            success = perform()
        except CaseActionRefused as refused:
            message = refused.message
        else:
            messages.success(request, success)
            return redirect("workbench:case_detail", number=case.number)
        if offered():
            return _case_page(request, case, bound={key: form}, refusal={key: message}, status=400)
    elif offered():
        return _case_page(request, case, bound={key: form}, status=400)
    messages.error(request, message)
    return redirect("workbench:case_detail", number=case.number)


@login_required
@require_POST
def case_task_action(request: HttpRequest, number: str, task_id: int, action: str) -> HttpResponseBase:
    """One action on one open step of the case."""
    case = _case_or_404(request, number)
    task = selectors.task_get_for_officer(task_id=task_id, officer=request.user)
    if task is None or task.case_id != case.pk or action not in TASK_ACTIONS:
        raise Http404
    officer = request.user
    key = _task_prefix(task, action)
    handler = TASK_ACTIONS[action]
    form = handler.form(request.POST, case=case, task=task, officer=officer, prefix=key)
    # The action's dates (and the page shown again after a refusal) from one read of the calendar.
    with calendar.calendar_read_once():
        return _act(
            request,
            case,
            key=key,
            form=form,
            perform=lambda: handler.perform(task, officer, form),
            offered=lambda: action in selectors.task_actions_for_officer(task=task, officer=officer),
        )


@login_required
@require_POST
def case_reveal(request: HttpRequest, number: str) -> HttpResponse:
    """The applicant's full identity number and phone, for the officer handling the case, with
    the reason recorded (services.case_applicant_reveal). Shown in this response only: never put
    in a message or the session, and not cached."""
    case = _case_or_404(request, number)
    form = RevealForm(request.POST, case=case, task=None, officer=request.user, prefix="reveal")
    form.is_valid()
    try:
        revealed = services.case_applicant_reveal(
            case=case, officer=request.user, reason=form.cleaned_data.get("reason") or ""
        )
    except services.CaseActionRefused as refused:
        return _case_page(request, case, bound={"reveal": form}, refusal={"reveal": refused.message}, status=400)
    response = _case_page(request, case, revealed=revealed)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def case_special_start(request: HttpRequest, number: str) -> HttpResponseBase:
    """Start a special procedure (art. 45): the clock stops until it ends."""
    case = _case_or_404(request, number)
    officer = request.user
    form = SpecialStartForm(request.POST, case=case, task=None, officer=officer, prefix="special-start")

    def perform() -> str:
        data = form.cleaned_data
        procedure = services.case_special_procedure_start(
            case=case,
            officer=officer,
            kind=data["kind"],
            reason=data["reason"],
            expected_days=data["expected_days"] or 0,
        )
        return _("特别程序“%(kind)s”已开始，办理时限暂停计算。") % {"kind": procedure.get_kind_display()}

    return _act(
        request,
        case,
        key="special-start",
        form=form,
        perform=perform,
        offered=lambda: guards.staff_may_handle_case(user=officer, case=case),
    )


@login_required
@require_POST
def case_special_end(request: HttpRequest, number: str, procedure_id: int) -> HttpResponseBase:
    """End a special procedure; the deadlines move by the working days it took."""
    case = _case_or_404(request, number)
    procedure = _procedure_or_404(case, procedure_id)
    officer = request.user
    key = f"special{procedure.pk}-end"
    form = SpecialEndForm(request.POST, case=case, task=None, officer=officer, prefix=key)

    def perform() -> str:
        ended = services.case_special_procedure_end(
            procedure=procedure, officer=officer, result=form.cleaned_data["result"]
        )
        return _("特别程序已结束，用时 %(days)s 个工作日不计入办理时限。") % {"days": ended.days_paused}

    return _act(
        request,
        case,
        key=key,
        form=form,
        perform=perform,
        offered=lambda: guards.staff_may_handle_case(user=officer, case=case),
    )


def _procedure_or_404(case: Case, procedure_id: int) -> SpecialProcedure:
    procedure = case.special_procedures.filter(pk=procedure_id).first()
    if procedure is None:
        raise Http404
    return procedure


@login_required
@require_POST
def case_extension_request(request: HttpRequest, number: str) -> HttpResponseBase:
    """Ask for the one extension of the time limit the law allows (art. 42)."""
    case = _case_or_404(request, number)
    officer = request.user
    form = ExtensionRequestForm(request.POST, case=case, task=None, officer=officer, prefix="extension-request")

    def perform() -> str:
        extension = services.case_extension_request(case=case, officer=officer, reason=form.cleaned_data["reason"])
        return _("已申请延期 %(days)s 个工作日，待决定人员批准。") % {"days": extension.days}

    return _act(
        request,
        case,
        key="extension-request",
        form=form,
        perform=perform,
        offered=lambda: guards.staff_may_handle_case(user=officer, case=case),
    )


@login_required
@require_POST
def case_extension_answer(request: HttpRequest, number: str, extension_id: int) -> HttpResponseBase:
    """A decider of the case's department approves or rejects an extension request."""
    case = _case_or_404(request, number)
    extension = _extension_or_404(case, extension_id)
    officer = request.user
    key = f"extension{extension.pk}-answer"
    form = ExtensionAnswerForm(request.POST, case=case, task=None, officer=officer, prefix=key)

    def perform() -> str:
        approve = form.cleaned_data["approve"] == "approve"
        services.case_extension_answer(
            extension=extension, officer=officer, approve=approve, note=form.cleaned_data["note"]
        )
        return _("已批准延期。") if approve else _("已不批准延期。")

    return _act(
        request,
        case,
        key=key,
        form=form,
        perform=perform,
        offered=lambda: guards.staff_holds_role_in(user=officer, role=Role.DECIDER, department_id=case.department_id),
    )


def _extension_or_404(case: Case, extension_id: int) -> Extension:
    extension = case.extensions.filter(pk=extension_id).first()
    if extension is None:
        raise Http404
    return extension


# ---------------------------------------------------------------------------------------------
# Materials


@login_required
@require_GET
def case_material_download(request: HttpRequest, number: str, material_id: int) -> HttpResponseBase:
    """A material of a case the officer may see, as an attachment."""
    case = _case_or_404(request, number)
    material = selectors.case_material_get(case=case, material_id=material_id)
    if material is None:
        raise Http404
    return material_download_response(material=material)
