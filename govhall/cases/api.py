"""API v1: applications and cases for applicants, the to-do list and case handling for staff.

Callers authenticate with a logged-in browser session (unsafe methods then carry the CSRF token)
or an OAuth2 bearer access token issued by govhall's own OpenID Connect provider with scope
``cases`` or ``openid``. Staff endpoints take a bearer token or a session verified with the second
factor. Every look-up goes through the cases selectors, which answer "not found" for what the
caller may not see; every write is one service of govhall/cases/services.py. Service refusals
keep their stable code (``CaseActionRefused.code``, ``UploadRefused.code``) in the envelope.
"""

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.params import Form, HeaderEx, P
from ninja.security import HttpBearer, SessionAuth
from pydantic import Json

from govhall.accounts.models import Role
from govhall.accounts.oidc import oauthlib_core
from govhall.accounts.selectors import person_acting_capacities
from govhall.accounts.totp import user_is_verified
from govhall.api_errors import ApiError, ErrorDetailOut, ErrorOut, not_found
from govhall.api_schema import ResponseSchema, answer
from govhall.cases import calendar, process, selectors, services
from govhall.cases.models import (
    Case,
    CaseEvent,
    CaseState,
    CaseTask,
    Channel,
    CorrectionNotice,
    Decision,
    DeliveryMethod,
    Trust,
)
from govhall.cases.services import CaseActionRefused, CaseInvalid
from govhall.cases.uploads import UploadRefused
from govhall.catalog.api import CodeLabelOut, PlaceOut
from govhall.catalog.models import MaterialForm, MaterialRequirement
from govhall.catalog.selectors import implementation_get_for_application
from govhall.labels import choice_answer as _choice
from govhall.paths import Addresses

router = Router()

# A token for this API carries one of these scopes; "openid" alone suffices, so a department
# system that signs a person in can act for them without asking for a further scope.
API_SCOPES = ("cases", "openid")
PAGE_SIZE_MAX = 100
IDEMPOTENCY_KEY_MAX_LENGTH = 64
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"

# HTTP status of a service refusal, by its code; every other code is a conflict with the state of
# the case or task (409).
FORBIDDEN_CODES = frozenset({"not_allowed", "not_authorised", "not_a_person", "assurance_too_low", "own_request"})
INPUT_CODES = frozenset(
    {
        "cannot_return_there",
        "correction_item_incomplete",
        "correction_items_required",
        "days_invalid",
        "decision_required",
        "kind_required",
        "method_required",
        "not_immediate",
        "opinion_required",
        "reasons_required",
        "reference_required",
        "result_required",
        "submit_key_required",
        "unknown_action",
        "unknown_material",
    }
)
APPLICATION_INVALID = "application_invalid"
# Files one filing call may carry: more than any item's list of materials, few enough that one
# request stays a bounded amount of work (Django's DATA_UPLOAD_MAX_NUMBER_FILES is 100).
MATERIALS_PER_CALL_MAX = 30
MATERIAL_PREFIX = "material:"

UPLOAD_MESSAGES_EN = {
    "empty": "The file is empty.",
    "too_large": "The file is larger than the upload limit.",
    "type_not_allowed": "Only PDF, JPEG, PNG or OFD files are accepted.",
    "content_mismatch": "The file name's extension names another kind of file than its content.",
    "damaged": "The file is damaged or incomplete.",
}

EVENT_LABELS = {
    "submit": _("提交申请"),
    "prereview_pass": _("预审通过"),
    "correction_notify": _("一次性告知补正"),
    "correction_answer": _("补正后重新提交"),
    "refuse": _("不予受理"),
    "accept": _("受理"),
    "review": _("审查意见"),
    "decide": _("作出决定"),
    "result_issue": _("制作办理结果"),
    "deliver": _("送达"),
    "withdraw": _("撤回申请"),
    "claim": _("签收"),
    "transfer": _("转办"),
    "return": _("退回"),
    "special_procedure_start": _("启动特别程序"),
    "special_procedure_end": _("结束特别程序"),
    "extension_request": _("申请延期"),
    "extension_approve": _("批准延期"),
    "extension_reject": _("不批准延期"),
}

TaskAction = Literal["claim", "pass", "correct", "refuse", "accept", "opinion", "decide", "issue", "deliver", "return"]
StepKindCode = Literal["prereview", "accept", "review", "parallel", "decide", "issue_result", "deliver"]
TimeLevel = Literal["green", "yellow", "red"]

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Authentication


class OAuth2AccessToken(HttpBearer):
    """A bearer access token issued by govhall's OpenID Connect provider (/o/token/), checked by
    django-oauth-toolkit: unexpired, of a usable client, for an active user, with scope ``cases``
    or ``openid``. A browser never sends such a header on its own, so these requests need no
    CSRF token."""

    openapi_description = (
        "govhall 统一身份认证签发的访问令牌，scope 含 cases 或 openid "
        "(OAuth2 access token from govhall's OpenID Connect provider, scope cases or openid)"
    )

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        valid, oauth_request = oauthlib_core().verify_request(request, scopes=[])
        if not valid:
            return None
        access_token = oauth_request.access_token
        if not any(access_token.allow_scopes([scope]) for scope in API_SCOPES):
            return None
        user = access_token.user
        if user is None or not user.is_active:
            return None
        # The selectors and services read the user from here as for a session.
        request.user = user
        return user


class BrowserSession(SessionAuth):
    """A logged-in session. Unsafe methods must carry the CSRF token; the check runs only for a
    logged-in session, so an anonymous call answers 401 rather than a CSRF failure."""

    openapi_description = "已登录的浏览器会话；POST/PUT 须带 CSRF 令牌 (logged-in session; unsafe methods need CSRF)"

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


class StaffBrowserSession(BrowserSession):
    """A session that passed the workbench's second factor (TOTP), as staff pages demand."""

    openapi_description = (
        "工作人员经双因素验证的会话；POST 须带 CSRF 令牌 (staff session verified with the second factor; CSRF)"
    )

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or not user_is_verified(user=user):
            return None
        return user


APPLICANT_AUTH = [OAuth2AccessToken(), BrowserSession()]
STAFF_AUTH = [OAuth2AccessToken(), StaffBrowserSession()]


def _caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Errors


class CaseErrorDetailOut(ErrorDetailOut):
    field: str | None = Field(
        None,
        description=(
            "出错的申请表字段（如 business_items.0.name）或材料（material:<材料名称>） "
            "(the form field, e.g. business_items.0.name, or material:<name>)"
        ),
    )


class CaseErrorBodyOut(ResponseSchema):
    code: str = Field(
        ...,
        description=(
            "稳定的错误代码 (stable error code): not_found, unauthorized, forbidden, validation_error, "
            "application_invalid (申请表或材料有误，见 details), materials_unpaired (材料名称与文件数目不符), "
            "上传被拒 (upload refused): empty, too_large, "
            "type_not_allowed, content_mismatch, damaged; 办件操作被拒 (refused actions), e.g. not_allowed, "
            "not_authorised, assurance_too_low, action_not_allowed, task_closed, case_closed, not_editable, "
            "not_withdrawable, no_correction_pending, reasons_required, decision_required"
        ),
    )
    message: str = Field(..., description="中文说明 (message in zh-hans)")
    message_en: str = Field(..., description="英文说明 (message in English)")
    details: list[CaseErrorDetailOut] = Field(..., description="逐项说明 (one entry per problem)")


class CaseErrorOut(ResponseSchema):
    error: CaseErrorBodyOut


ERRORS: dict[int, type[ResponseSchema]] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: CaseErrorOut,
    500: ErrorOut,
}


def _english(text: str, fallback: str) -> str:
    """The English of a zh-hans message when the catalogue has it, else ``fallback`` (a message
    formatted with values before translation has no catalogue entry)."""
    with translation.override("en"):
        english = gettext(text)
    return english if english != text else fallback


def _refusal_error(refused: CaseActionRefused) -> ApiError:
    if refused.code == "not_found":
        status = 404
    elif refused.code in FORBIDDEN_CODES:
        status = 403
    elif refused.code in INPUT_CODES:
        status = 422
    else:
        status = 409
    return ApiError(
        status=status,
        code=refused.code,
        message=refused.message,
        message_en=_english(refused.message, f"The request was refused ({refused.code})."),
    )


def _field_error(field: str, message: str, code: str | None = None) -> dict[str, Any]:
    """One problem of an application; ``code`` where it is not the default (a refused file's)."""
    if field.startswith(MATERIAL_PREFIX):
        name = field[len(MATERIAL_PREFIX) :]
        loc: list[str | int] = ["materials", name]
        if code in UPLOAD_MESSAGES_EN:
            fallback = f"Material {name}: {UPLOAD_MESSAGES_EN[code]}"
        elif code == "unknown_material":
            fallback = f"The item lists no material {name}."
        else:
            code, fallback = "material_required", f"Material {name} is missing."
    else:
        loc = ["data", *(int(part) if part.isdigit() else part for part in field.split("."))]
        code, fallback = "invalid", f"{field}: this value is not valid."
    return {
        "field": field,
        "loc": loc,
        "code": code,
        "message": message,
        "message_en": _english(message, fallback),
        "input": None,
    }


def _invalid_error(errors: dict[str, str], codes: dict[str, str] | None = None) -> ApiError:
    return ApiError(
        status=422,
        code=APPLICATION_INVALID,
        message=_("申请表或材料有误，请按 details 中的说明修改；已填写的内容均已保存。"),
        message_en="The application has problems; see details. Everything entered has been kept.",
        details=[_field_error(field, message, (codes or {}).get(field)) for field, message in errors.items()],
    )


def _upload_error(refused: UploadRefused) -> ApiError:
    english = UPLOAD_MESSAGES_EN.get(refused.code, "The file was refused.")
    return ApiError(
        status=422,
        code=refused.code,
        message=refused.message,
        message_en=_english(refused.message, english),
        details=[
            {
                "field": "file",
                "loc": ["form", "file"],
                "code": refused.code,
                "message": refused.message,
                "message_en": _english(refused.message, english),
                "input": None,
            }
        ],
    )


def _call(service: Callable[..., T], /, **kwargs: Any) -> T:
    """Run one service with its messages in zh-hans (the envelope's ``message`` is always
    zh-hans, whatever the request's language), its refusals answered as API errors."""
    try:
        with translation.override("zh-hans"):
            return service(**kwargs)
    except CaseActionRefused as refused:
        raise _refusal_error(refused) from refused
    except CaseInvalid as invalid:
        raise _invalid_error(invalid.errors, invalid.codes) from invalid
    except UploadRefused as refused:
        raise _upload_error(refused) from refused


def _case_not_found(reference: str) -> ApiError:
    return not_found(
        _("没有找到办件“%(reference)s”，或您无权查看。"),
        f"No case {reference!r}, or you may not see it.",
        params={"reference": reference},
    )


# ---------------------------------------------------------------------------------------------
# Input schemas


class ApplicationStartIn(Schema):
    implementation_code: str = Field(..., min_length=1, max_length=64, description="实施编码 (implementation code)")
    company_credit_code: str | None = Field(
        None,
        pattern=CREDIT_CODE_PATTERN,
        description="代表单位申请时填写其统一社会信用代码 (credit code of the company applied for, if any)",
    )


class ApplicationSaveIn(Schema):
    data: dict[str, Any] = Field(
        ..., description="申请表内容，键为字段名 (form values by field name, as the form definition describes)"
    )


class CaseFileIn(ApplicationStartIn):
    data: dict[str, Any] = Field(..., description="申请表内容，键为字段名 (form values by field name)")


class CaseFileFormIn(ApplicationStartIn):
    data: Json[dict[str, Any]] = Field(
        ..., description="申请表内容，JSON 文本，键为字段名 (form values by field name, as JSON text)"
    )
    material_name: list[str] = Field(
        default_factory=list,
        max_length=MATERIALS_PER_CALL_MAX,
        description="每个文件对应的材料名称，与 file 按顺序一一对应 (the material each file is, in the files' order)",
    )


class CaseListQuery(Schema):
    state: CaseState | None = Field(None, description="按状态筛选 (only cases in this state)")
    page: int = Field(1, ge=1, description="页码，从 1 起 (page number, from 1)")
    page_size: int = Field(20, ge=1, le=PAGE_SIZE_MAX, description="每页条数，最多 100 (items per page, at most 100)")


class CorrectionAnswerIn(Schema):
    note: str = Field("", max_length=2000, description="补正说明 (what was corrected)")


class WithdrawIn(Schema):
    reason: str = Field("", max_length=2000, description="撤回理由 (reason for withdrawing)")


class TaskListQuery(Schema):
    kind: StepKindCode | None = Field(None, description="环节类型 (step kind)")
    basic_code: str | None = Field(None, max_length=64, description="事项基本编码 (basic code of the item)")
    level: TimeLevel | None = Field(None, description="时限状态 (time level): green, yellow 预警, red 超期")
    mine: bool = Field(False, description="只列出本人已签收的 (only tasks claimed by the caller)")
    page: int = Field(1, ge=1, description="页码，从 1 起 (page number, from 1)")
    page_size: int = Field(50, ge=1, le=PAGE_SIZE_MAX, description="每页条数，最多 100 (items per page, at most 100)")


class CorrectionItemIn(Schema):
    subject: str = Field(..., max_length=255, description="需补正的材料或表单项 (material or form field)")
    problem: str = Field(..., max_length=2000, description="问题及要求 (what is wrong and what is needed)")


class TaskActionFieldsIn(Schema):
    opinion: str | None = Field(None, max_length=4000, description="pass / accept / opinion: 意见 (opinion)")
    agree: bool | None = Field(None, description="opinion: 是否同意，缺省同意 (agree; default true)")
    items: list[CorrectionItemIn] | None = Field(None, description="correct: 一次性告知的全部补正内容 (all items)")
    note: str | None = Field(None, max_length=4000, description="correct / deliver: 说明 (note)")
    reasons: str | None = Field(
        None,
        max_length=4000,
        description="refuse / decide / accept (即办件): 理由 (reasons; needed to refuse or deny)",
    )
    legal_remedy: str | None = Field(None, max_length=2000, description="refuse: 救济途径 (legal remedy)")
    decision: Literal["approve", "deny"] | None = Field(
        None, description="decide, 或即办件的 accept: approve 准予 / deny 不予 (the decision)"
    )
    reference: str | None = Field(None, max_length=128, description="issue: 结果文书或证照编号 (result reference)")
    method: Literal["hall", "express", "electronic"] | None = Field(
        None, description="deliver: hall 窗口领取 / express 邮寄 / electronic 电子送达 (delivery method)"
    )
    to_step: str | None = Field(None, max_length=64, description="return: 退回到的环节标识 (step key to return to)")
    reason: str | None = Field(None, max_length=4000, description="return: 退回理由 (reason)")


class TaskActionIn(Schema):
    action: TaskAction = Field(
        ...,
        description=(
            "claim 签收, pass 预审通过, correct 补正告知, refuse 不予受理, accept 受理, opinion 审查意见, "
            "decide 决定, issue 制证, deliver 送达, return 退回"
        ),
    )
    fields: TaskActionFieldsIn | None = Field(None, description="该操作所需的内容 (the action's inputs)")


# ---------------------------------------------------------------------------------------------
# Output schemas


class CompanyRefOut(ResponseSchema):
    credit_code: str = Field(..., description="统一社会信用代码 (unified social credit code)")
    name: str


class StageOut(ResponseSchema):
    key: str = Field(..., description="环节标识 (step key)")
    name: str = Field(..., description="环节名称 (step name)")


class ApplicationMaterialOut(ResponseSchema):
    name: str
    requirement: CodeLabelOut = Field(..., description="required 必要 / conditional 情形必要 (as the guide lists it)")
    form: CodeLabelOut = Field(..., description="材料形式 (original, copy, electronic …)")
    notes: str
    required: bool = Field(..., description="此时须上传 (must be uploaded for the data as it stands)")
    uploaded: bool = Field(..., description="已上传 (a file is present)")


class PrefilledOut(ResponseSchema):
    values: dict[str, Any] = Field(..., description="系统自动填写的值 (values filled from what the platform knows)")
    sources: dict[str, str] = Field(..., description="各值的来源 (source of each value)")
    locked: list[str] = Field(..., description="不可修改的字段 (fields that cannot be changed)")


class ApplicationOut(ResponseSchema):
    reference: str = Field(..., description="草稿为 draft-<id>，提交后为办件编号 (draft-<id>, or the case number)")
    state: CodeLabelOut
    item_name: str
    implementation_code: str
    implementation_version: int
    company: CompanyRefOut | None
    form_definition: dict[str, Any] = Field(
        ..., description="申请表定义（JSON Schema 与布局） (the form definition: JSON Schema, layout, fields)"
    )
    data: dict[str, Any] = Field(..., description="已保存的申请表内容 (the form values saved so far)")
    prefilled: PrefilledOut
    materials: list[ApplicationMaterialOut]
    save_url: str
    materials_url: str
    submit_url: str


class FieldProblemOut(ResponseSchema):
    field: str = Field(..., description="字段名或 material:<材料名称> (field name, or material:<name>)")
    message: str = Field(..., description="中文说明 (message in zh-hans)")
    message_en: str = Field(..., description="英文说明 (message in English)")


class ApplicationSavedOut(ResponseSchema):
    reference: str
    saved: bool = Field(..., description="总是 true：有问题也会保存 (always true: kept even with problems)")
    problems: list[FieldProblemOut] = Field(
        ..., description="提交前须解决的问题 (what must be fixed before submitting)"
    )


class MaterialUploadedOut(ResponseSchema):
    id: int
    material_name: str
    original_name: str
    size: int
    content_type: str
    sha256: str
    uploaded_at: datetime


class TimeStatusOut(ResponseSchema):
    promised_due_on: date | None = Field(..., description="承诺办结期限 (promised due date)")
    statutory_due_on: date | None = Field(..., description="法定办结期限 (statutory due date)")
    days_left: int | None = Field(..., description="剩余工作日，超期为负 (working days left; negative when overdue)")
    level: str = Field(..., description="green / yellow 预警 / red 超期；未受理或已结束为空 (empty when not running)")
    paused: bool = Field(..., description="特别程序中，暂停计时 (clock stopped by a special procedure)")


class CorrectionOut(ResponseSchema):
    issued_at: datetime
    items: list[dict[str, str]] = Field(..., description="[{subject, problem}]，须补正的全部内容 (every item)")
    note: str
    late: bool = Field(..., description="超过5个工作日告知，自收到申请之日起视为受理 (notified late: deemed accepted)")
    answered_at: datetime | None
    answer_note: str


class TimelineEventOut(ResponseSchema):
    at: datetime
    action: CodeLabelOut
    step_name: str
    actor_name: str
    department: str | None
    opinion: str


class CaseMaterialOut(ResponseSchema):
    id: int
    material_name: str
    original_name: str
    size: int
    content_type: str
    trust: CodeLabelOut = Field(..., description="A 政府签发 / B 工作人员核验 / C 申请人上传 / D 承诺")
    uploaded_at: datetime


class CaseSummaryOut(ResponseSchema):
    reference: str = Field(..., description="办件编号，草稿为 draft-<id> (case number; draft-<id> for drafts)")
    number: str | None
    item_name: str
    state: CodeLabelOut
    stage: StageOut | None = Field(..., description="当前环节 (the current step)")
    department: PlaceOut = Field(..., description="承办部门 (competent department)")
    applicant_name: str
    company: CompanyRefOut | None
    submitted_at: datetime | None
    promised_due_on: date | None
    api_url: str


class CasePageOut(ResponseSchema):
    total: int
    page: int
    page_size: int
    items: list[CaseSummaryOut]


class CaseDetailOut(CaseSummaryOut):
    implementation_code: str
    implementation_version: int = Field(..., description="申报时的事项版本 (the item's version it was filed under)")
    channel: CodeLabelOut
    received_on: date | None
    accepted_at: datetime | None
    deemed_accepted: bool = Field(..., description="逾期未告知补正，视为受理 (deemed accepted, art. 32)")
    time: TimeStatusOut
    decision: CodeLabelOut | None
    decision_reasons: str
    decided_at: datetime | None
    refusal_reasons: str
    legal_remedy: str = Field(..., description="救济途径 (legal remedy, with a refusal or denial)")
    delivery_method: CodeLabelOut | None
    result_reference: str
    completed_at: datetime | None
    withdrawn_at: datetime | None
    corrections: list[CorrectionOut] = Field(..., description="补正告知 (correction notices)")
    timeline: list[TimelineEventOut] = Field(..., description="办理过程 (the timeline)")
    materials: list[CaseMaterialOut] = Field(..., description="现用材料 (current materials)")


class StaffTimelineEventOut(TimelineEventOut):
    public: bool = Field(..., description="申请人可见 (shown to the applicant)")
    data: dict[str, Any]


class OpenTaskOut(ResponseSchema):
    id: int
    name: str
    kind: CodeLabelOut
    department: PlaceOut
    role: CodeLabelOut
    lead: bool = Field(..., description="并联审批的牵头部门 (lead department of a parallel step)")
    assignee: str | None
    opened_at: datetime
    due_on: date | None
    actions: list[str] = Field(..., description="调用者此刻可执行的操作 (actions the caller may take now)")
    actions_url: str


class StaffCaseDetailOut(CaseDetailOut):
    data: dict[str, Any] = Field(..., description="申请表内容 (form values)")
    form_definition: dict[str, Any]
    events: list[StaffTimelineEventOut] = Field(..., description="全部办理记录 (every event)")
    open_tasks: list[OpenTaskOut]


class TaskCaseOut(ResponseSchema):
    number: str
    item_name: str
    applicant_name: str
    state: CodeLabelOut
    promised_due_on: date | None
    api_url: str


class TaskOut(ResponseSchema):
    id: int
    name: str
    kind: CodeLabelOut
    step_key: str
    branch_key: str
    department: PlaceOut
    role: CodeLabelOut
    lead: bool
    assignee: str | None
    opened_at: datetime
    due_on: date | None = Field(..., description="环节期限 (the step's due date)")
    case: TaskCaseOut
    actions_url: str


class TaskPageOut(ResponseSchema):
    total: int
    page: int
    page_size: int
    items: list[TaskOut]


# ---------------------------------------------------------------------------------------------
# Building the answers


def _choice_or_none(choices: type[models.Choices], value: str) -> dict[str, str] | None:
    return _choice(choices, value) if value else None


def _step_kind(kind: str, language: str | None = None) -> dict[str, str]:
    if language is None:
        language = translation.get_language()
    return {"code": kind, "label": _step_kind_label(kind, language)}


@functools.lru_cache(maxsize=256)
def _step_kind_label(kind: str, language: str | None) -> str:
    step_kind = process.STEP_KINDS.get(kind)
    return str(step_kind.label) if step_kind else kind


def _person_name(user: Any) -> str | None:
    if user is None:
        return None
    return _name_shown(display_name=user.display_name, username=user.username)


def _name_shown(*, display_name: Any, username: str | None) -> str | None:
    """How an account is named in answers: its display name, or else its username."""
    if username is None:
        return None
    return str(display_name or username)


def _place(department: Any) -> dict[str, str]:
    return {"code": department.code, "name": department.name}


def _company(case: Case) -> dict[str, str] | None:
    company = case.company
    if company is None:
        return None
    return {"credit_code": company.credit_code, "name": company.name}


def _stage(case: Case) -> dict[str, str] | None:
    if not case.stage:
        return None
    step = process.step_find(case.process_definition, case.stage)
    return {"key": case.stage, "name": step["name"] if step else _choice(CaseState, case.state)["label"]}


def _summary(case: Case) -> dict[str, Any]:
    reference = selectors.case_reference(case)
    api_url = (
        reverse("api-v1:case_detail", kwargs={"number": case.number})
        if case.number
        else reverse("api-v1:application_detail", kwargs={"reference": reference})
    )
    return {
        "reference": reference,
        "number": case.number,
        "item_name": case.item_name,
        "state": _choice(CaseState, case.state),
        "stage": _stage(case),
        "department": _place(case.department),
        "applicant_name": case.applicant_name,
        "company": _company(case),
        "submitted_at": case.submitted_at,
        "promised_due_on": case.promised_due_on,
        "api_url": api_url,
    }


def _event(event: CaseEvent) -> dict[str, Any]:
    return {
        "at": event.at,
        "action": {"code": event.action, "label": str(EVENT_LABELS.get(event.action, event.action))},
        "step_name": event.step_name,
        "actor_name": event.actor_name,
        "department": event.department.name if event.department is not None else None,
        "opinion": event.opinion,
    }


def _correction(notice: CorrectionNotice) -> dict[str, Any]:
    return {
        "issued_at": notice.issued_at,
        "items": notice.items,
        "note": notice.note,
        "late": notice.late,
        "answered_at": notice.answered_at,
        "answer_note": notice.answer_note,
    }


def _material(material: dict[str, Any]) -> dict[str, Any]:
    return {**material, "trust": _choice(Trust, material["trust"])}


def _detail(case: Case) -> dict[str, Any]:
    """What the applicant sees of a case: the public timeline only."""
    events = selectors.case_timeline(case=case, for_applicant=True)
    return {
        **_detail_common(case, events),
        "timeline": [_event(event) for event in events],
    }


def _detail_common(case: Case, events: list[CaseEvent]) -> dict[str, Any]:
    """What the applicant's and the officer's views of a case both show; ``events`` is its timeline
    as the answer lists it."""
    status = selectors.case_time_status(case=case)
    return {
        **_summary(case),
        "implementation_code": case.implementation.implementation_code,
        "implementation_version": case.implementation_version,
        "channel": _choice(Channel, case.channel),
        "received_on": case.received_on,
        "accepted_at": case.accepted_at,
        "deemed_accepted": case.deemed_accepted,
        "time": {
            "promised_due_on": status.due_on,
            "statutory_due_on": status.statutory_due_on,
            "days_left": status.days_left,
            "level": status.level,
            "paused": status.paused,
        },
        "decision": _choice_or_none(Decision, case.decision),
        "decision_reasons": case.decision_reasons,
        "decided_at": case.decided_at,
        "refusal_reasons": case.refusal_reasons,
        "legal_remedy": case.legal_remedy,
        "delivery_method": _choice_or_none(DeliveryMethod, case.delivery_method),
        "result_reference": case.result_reference,
        "completed_at": case.completed_at,
        "withdrawn_at": case.withdrawn_at,
        "corrections": [_correction(notice) for notice in selectors.case_corrections(case=case, timeline=events)],
        "materials": [_material(material) for material in selectors.case_materials_listed(case=case)],
    }


def _staff_detail(case: Case, officer: Any) -> dict[str, Any]:
    """What an officer sees: the form data, every event and the open steps with their actions."""
    events = selectors.case_timeline(case=case, for_applicant=False)
    return {
        **_detail_common(case, events),
        "timeline": [_event(event) for event in events if event.public],
        "events": [{**_event(event), "public": event.public, "data": event.data} for event in events],
        "data": case.data,
        "form_definition": case.form_definition,
        "open_tasks": [_open_task(task, officer) for task in selectors.task_list_open_for_case(case=case)],
    }


def _open_task(task: CaseTask, officer: Any) -> dict[str, Any]:
    return {
        "id": task.pk,
        "name": task.name,
        "kind": _step_kind(task.kind),
        "department": _place(task.department),
        "role": _choice(Role, task.role),
        "lead": task.lead,
        "assignee": _person_name(task.assignee),
        "opened_at": task.opened_at,
        "due_on": task.due_on,
        "actions": selectors.task_actions_for_officer(task=task, officer=officer),
        "actions_url": reverse("api-v1:task_act", kwargs={"task_id": task.pk}),
    }


class _Addresses:
    """The API addresses of a list's tasks and cases: reversed once per list, not per row."""

    def __init__(self) -> None:
        self.for_case = Addresses("api-v1:workbench_case_detail", "number")
        self.for_actions = Addresses("api-v1:task_act", "task_id", mark=987654321012345)


def _task(task: dict[str, Any], addresses: _Addresses, language: str | None) -> dict[str, Any]:
    """A to-do list row from the selector's values (``selectors.TASK_PAGE_VALUES``), its labels
    in ``language`` (the active one, read once per list: each read is a thread-local lookup,
    and a page of 50 asked 150 times, about a tenth of the list's time in one process)."""
    return {
        "id": task["id"],
        "name": task["name"],
        "kind": _step_kind(task["kind"], language),
        "step_key": task["step_key"],
        "branch_key": task["branch_key"],
        "department": {"code": task["department__code"], "name": task["department__name"]},
        "role": _choice(Role, task["role"], language),
        "lead": task["lead"],
        "assignee": _name_shown(display_name=task["assignee__display_name"], username=task["assignee__username"]),
        "opened_at": task["opened_at"],
        "due_on": task["due_on"],
        "case": {
            "number": task["case__number"],
            "item_name": task["case__item_name"],
            "applicant_name": task["case__applicant_name"],
            "state": _choice(CaseState, task["case__state"], language),
            "promised_due_on": task["case__promised_due_on"],
            "api_url": addresses.for_case(task["case__number"]),
        },
        "actions_url": addresses.for_actions(task["id"]),
    }


def _application(case: Case) -> dict[str, Any]:
    reference = selectors.case_reference(case)
    required = {material["name"] for material in services.case_materials_required(case=case)}
    uploaded = {material["material_name"] for material in selectors.case_materials_listed(case=case)}
    prefilled = case.prefilled or {}
    return {
        "reference": reference,
        "state": _choice(CaseState, case.state),
        "item_name": case.item_name,
        "implementation_code": case.implementation.implementation_code,
        "implementation_version": case.implementation_version,
        "company": _company(case),
        "form_definition": case.form_definition,
        "data": case.data,
        "prefilled": {
            "values": prefilled.get("values") or {},
            "sources": prefilled.get("sources") or {},
            "locked": prefilled.get("locked") or [],
        },
        "materials": [
            {
                "name": material["name"],
                "requirement": _choice(MaterialRequirement, material.get("requirement", "")),
                "form": _choice(MaterialForm, material.get("form", "")),
                "notes": material.get("notes", ""),
                "required": material["name"] in required,
                "uploaded": material["name"] in uploaded,
            }
            for material in case.material_list
        ],
        "save_url": reverse("api-v1:application_save", kwargs={"reference": reference}),
        "materials_url": reverse("api-v1:application_material_add", kwargs={"reference": reference}),
        "submit_url": reverse("api-v1:application_submit", kwargs={"reference": reference}),
    }


# ---------------------------------------------------------------------------------------------
# Look-ups


def _implementation(implementation_code: str) -> Any:
    implementation = implementation_get_for_application(implementation_code=implementation_code)
    if implementation is None:
        raise not_found(
            _("没有实施编码为“%(code)s”的事项，或该事项已取消。"),
            f"No implementation with code {implementation_code!r}, or it has been cancelled.",
            params={"code": implementation_code},
        )
    return implementation


def _company_for(user: Any, credit_code: str | None) -> Any:
    """The company ``user`` applies for, among those the person may act for today."""
    if not credit_code:
        return None
    person = getattr(user, "person", None)
    capacities = person_acting_capacities(person=person) if person is not None else []
    for capacity in capacities:
        if capacity.company.credit_code == credit_code:
            return capacity.company
    raise ApiError(
        status=403,
        code="not_authorised",
        message=_("您没有代表统一社会信用代码为“%(code)s”的单位办事的授权。"),
        message_en=f"You may not act for the company with credit code {credit_code}.",
        params={"code": credit_code},
    )


def _applicant_case(request: HttpRequest, reference: str) -> Case:
    case = selectors.case_get_for_applicant(number=reference, user=_caller(request))
    if case is None:
        raise _case_not_found(reference)
    return case


IdempotencyKey = HeaderEx[
    str,
    P(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description=(
            "幂等键：重试时使用同一个值，只会产生一个办件 (idempotency key: a retry with the same value "
            "answers with the case the first call made)"
        ),
    ),
]


# ---------------------------------------------------------------------------------------------
# Applicant endpoints


@router.post(
    "/applications",
    response={200: ApplicationOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="application_start",
    summary="开始申请（草稿） (start an application: a draft)",
    tags=["applications"],
)
def application_start_endpoint(request: HttpRequest, payload: ApplicationStartIn) -> HttpResponse:
    """打开某事项的申请草稿（已有草稿则返回它），申请表已按已知信息自动填写，并列出须上传的材料。

    Opens the caller's draft for an implementation (or returns the existing one), with the form
    definition, the values filled from what the platform already knows, and the materials to give.
    """
    user = _caller(request)
    case = _call(
        services.case_draft_start,
        user=user,
        implementation=_implementation(payload.implementation_code),
        company=_company_for(user, payload.company_credit_code),
        channel=Channel.API,
    )
    return answer(request, ApplicationOut, _application(case))


@router.get(
    "/applications/{reference}",
    response={200: ApplicationOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="application_detail",
    summary="申请表及材料 (an application's form and materials)",
    tags=["applications"],
)
def application_detail_endpoint(request: HttpRequest, reference: str) -> HttpResponse:
    """草稿（draft-<id>）或待补正办件（办件编号）的申请表、已填内容和材料。

    The form, the values saved and the materials of a draft (``draft-<id>``) or of a case (its
    number), e.g. to answer a correction notice.
    """
    return answer(request, ApplicationOut, _application(_applicant_case(request, reference)))


@router.put(
    "/applications/{reference}",
    response={200: ApplicationSavedOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="application_save",
    summary="保存申请表 (save the form)",
    tags=["applications"],
)
def application_save_endpoint(request: HttpRequest, reference: str, payload: ApplicationSaveIn) -> HttpResponse:
    """保存申请表内容（有问题也保存），返回提交前须解决的问题；草稿或待补正时可用。

    Keeps the values sent (even with problems) and lists what must be fixed before submitting.
    Allowed while a draft or while a correction is pending. Values the platform filled and locked
    are kept as they were.
    """
    case = _applicant_case(request, reference)
    problems = _call(services.case_draft_save, case=case, user=_caller(request), data=payload.data)
    saved = {
        "reference": reference,
        "saved": True,
        "problems": [
            {key: detail[key] for key in ("field", "message", "message_en")}
            for detail in (_field_error(field, message) for field, message in problems.items())
        ],
    }
    return answer(request, ApplicationSavedOut, saved)


@router.post(
    "/applications/{reference}/materials",
    response={201: MaterialUploadedOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="application_material_add",
    summary="上传材料 (upload a material)",
    tags=["applications"],
)
def application_material_add_endpoint(
    request: HttpRequest,
    reference: str,
    material_name: Form[str],
    file: File[UploadedFile],
) -> HttpResponse:
    """multipart/form-data：material_name 为材料名称，file 为文件（PDF、JPEG、PNG 或 OFD，按内容判断）；
    同一材料再次上传会替换之前的文件。

    multipart/form-data with ``material_name`` and ``file`` (PDF, JPEG, PNG or OFD, judged by its
    bytes). A later upload for the same material supersedes the earlier one.
    """
    case = _applicant_case(request, reference)
    material = _call(
        services.case_material_add, case=case, user=_caller(request), material_name=material_name, file=file
    )
    uploaded = {
        "id": material.pk,
        "material_name": material.material_name,
        "original_name": material.original_name,
        "size": material.size,
        "content_type": material.content_type,
        "sha256": material.sha256,
        "uploaded_at": material.uploaded_at,
    }
    return answer(request, MaterialUploadedOut, uploaded, status=201)


@router.post(
    "/applications/{reference}/submit",
    response={200: CaseDetailOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="application_submit",
    summary="提交申请 (submit an application)",
    tags=["applications"],
)
def application_submit_endpoint(request: HttpRequest, reference: str, idempotency_key: IdempotencyKey) -> HttpResponse:
    """提交草稿：校验申请表和材料，生成办件编号。用同一幂等键重试（即使草稿地址已失效）返回同一办件。

    Submits a draft: the form and materials are checked and the case gets its number. A retry
    with the same Idempotency-Key answers with the same case, even after the draft's address is gone.
    """
    user = _caller(request)
    earlier = selectors.case_filed_with_key(applicant=user, submit_key=idempotency_key)
    if earlier is not None:
        return answer(request, CaseDetailOut, _detail(earlier))
    case = _applicant_case(request, reference)
    return answer(
        request, CaseDetailOut, _detail(_call(services.case_submit, case=case, user=user, submit_key=idempotency_key))
    )


@router.post(
    "/cases",
    response={200: CaseDetailOut, 201: CaseDetailOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="case_file",
    summary="一次提交申请 (file a case in one call)",
    tags=["cases"],
)
def case_file_endpoint(request: HttpRequest, payload: CaseFileIn, idempotency_key: IdempotencyKey) -> HttpResponse:
    """填写并提交申请，一次完成（适用于无须上传材料的事项；须上传材料时用 /cases/with-materials）；
    未发送的字段保留平台按已有信息自动填写的内容。首次返回 201，同一幂等键重试返回 200 和同一办件。
    申请表有误时返回 422，已填内容保存在草稿中，可改正后用同一幂等键重试。

    Drafts and submits in one call (for items that need no uploaded material; with materials, use
    /cases/with-materials). A field not sent keeps what the platform filled in from its records.
    201 with the new case, 200 with the same case for a retry with the same Idempotency-Key.
    Problems answer 422 with each field in details; what was sent is kept in the draft, so a
    corrected retry with the same key goes on from there.
    """
    return _case_filed(request, payload, idempotency_key)


@router.post(
    "/cases/with-materials",
    response={200: CaseDetailOut, 201: CaseDetailOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="case_file_with_materials",
    summary="一次提交申请及材料 (file a case with its materials in one call)",
    tags=["cases"],
)
def case_file_with_materials_endpoint(
    request: HttpRequest,
    payload: Form[CaseFileFormIn],
    idempotency_key: IdempotencyKey,
    file: File[list[UploadedFile]] = None,  # type: ignore[assignment]  # Ninja's optional file list
) -> HttpResponse:
    """multipart/form-data：implementation_code、data（申请表内容，JSON 文本）、可选的 company_credit_code，
    以及每份材料一对 material_name 和 file（按顺序对应；PDF、JPEG、PNG 或 OFD，按内容判断）。
    未发送的字段保留平台按已有信息自动填写的内容。首次返回 201，同一幂等键重试返回 200 和同一办件。
    有问题时返回 422，逐项列出（申请表字段、被拒的文件、缺少的材料）；已填内容和通过检查的文件保存在草稿中，
    改正后用同一幂等键重试时只须再发有问题的部分。整个请求（默认）不得超过 100 MB，超过时不读取、返回 413
    request_too_large，材料可先存草稿再逐份上传。

    multipart/form-data with ``implementation_code``, ``data`` (the form values as JSON text), an
    optional ``company_credit_code``, and one ``material_name`` and one ``file`` per material, in
    the same order (PDF, JPEG, PNG or OFD, judged by its bytes). 201 with the new case, 200 with
    the same case for a retry with the same Idempotency-Key. A field not sent keeps what the
    platform filled in from its records. Problems answer 422 listing each one (form fields, files
    refused, materials missing); the values and every file that passed its check are kept in the
    draft, so a retry with the same key need only send what was wrong. A request declaring more
    than 100 MB (the default of ``GOVHALL_REQUEST_MAX_BYTES``) is refused unread with 413
    request_too_large: send the materials one by one to the draft instead.
    """
    files = file or []
    if len(payload.material_name) != len(files):
        raise ApiError(
            status=422,
            code="materials_unpaired",
            message=_(
                "每份材料须有一个 material_name 和一个 file，且按顺序对应；收到 %(names)s 个名称、%(files)s 个文件。"
            )
            % {"names": len(payload.material_name), "files": len(files)},
            message_en=(
                f"Each material needs one material_name and one file, in the same order; "
                f"{len(payload.material_name)} names and {len(files)} files were sent."
            ),
        )
    return _case_filed(
        request, payload, idempotency_key, materials=list(zip(payload.material_name, files, strict=True))
    )


def _case_filed(
    request: HttpRequest,
    payload: CaseFileIn | CaseFileFormIn,
    idempotency_key: str,
    materials: list[tuple[str, UploadedFile]] | None = None,
) -> HttpResponse:
    """Both one-call filings: 200 with the case an earlier call with the key made, else 201."""
    user = _caller(request)
    earlier = selectors.case_filed_with_key(applicant=user, submit_key=idempotency_key)
    if earlier is not None:
        return answer(request, CaseDetailOut, _detail(earlier))
    case = _call(
        services.case_file,
        user=user,
        implementation=_implementation(payload.implementation_code),
        data=payload.data,
        submit_key=idempotency_key,
        company=_company_for(user, payload.company_credit_code),
        materials=materials or (),
        key_checked=True,
    )
    return answer(request, CaseDetailOut, _detail(case), status=201)


@router.get(
    "/cases",
    response={200: CasePageOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="case_list",
    summary="我的办件 (my cases)",
    tags=["cases"],
)
def case_list_endpoint(request: HttpRequest, filters: Query[CaseListQuery]) -> HttpResponse:
    """本人的办件及所代表单位的办件（含草稿），最新的在前，分页返回。

    The caller's cases and those of companies the caller acts for (drafts included), newest first.
    """
    cases = selectors.case_list_for_applicant(
        user=_caller(request), state=filters.state.value if filters.state else None
    )
    start = (filters.page - 1) * filters.page_size
    page = {
        "total": cases.count(),
        "page": filters.page,
        "page_size": filters.page_size,
        "items": [_summary(case) for case in cases[start : start + filters.page_size]],
    }
    return answer(request, CasePageOut, page)


@router.get(
    "/cases/{number}",
    response={200: CaseDetailOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="case_detail",
    summary="办件详情 (a case)",
    tags=["cases"],
)
def case_detail_endpoint(request: HttpRequest, number: str) -> HttpResponse:
    """办件的状态、当前环节、剩余工作日和预警级别、期限、决定及理由、补正告知、办理过程和材料。

    State, current step, working days left and level, due dates, decision and reasons, correction
    notices, the public timeline and the materials.
    """
    return answer(request, CaseDetailOut, _detail(_applicant_case(request, number)))


@router.post(
    "/cases/{number}/correction",
    response={200: CaseDetailOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="case_correction_answer",
    summary="补正后重新提交 (answer a correction notice)",
    tags=["cases"],
)
def case_correction_answer_endpoint(request: HttpRequest, number: str, payload: CorrectionAnswerIn) -> HttpResponse:
    """先用 /applications/{办件编号} 修改申请表和上传材料，再调用本接口重新提交。

    After correcting the form (PUT /applications/{number}) and materials (POST
    /applications/{number}/materials), resubmits; the step that asked for the correction opens again.
    """
    case = _applicant_case(request, number)
    case = _call(services.case_correction_answer, case=case, user=_caller(request), note=payload.note)
    return answer(request, CaseDetailOut, _detail(case))


@router.post(
    "/cases/{number}/withdraw",
    response={200: CaseDetailOut, **ERRORS},
    auth=APPLICANT_AUTH,
    url_name="case_withdraw",
    summary="撤回申请 (withdraw)",
    tags=["cases"],
)
def case_withdraw_endpoint(request: HttpRequest, number: str, payload: WithdrawIn) -> HttpResponse:
    """作出决定前可撤回申请。

    Withdraws the application; possible until a decision is made.
    """
    case = _applicant_case(request, number)
    case = _call(services.case_withdraw, case=case, user=_caller(request), reason=payload.reason)
    return answer(request, CaseDetailOut, _detail(case))


# ---------------------------------------------------------------------------------------------
# Staff endpoints


@router.get(
    "/workbench/tasks",
    response={200: TaskPageOut, **ERRORS},
    auth=STAFF_AUTH,
    url_name="task_list",
    summary="待办事项 (the officer's to-do list)",
    tags=["workbench"],
)
def task_list_endpoint(request: HttpRequest, filters: Query[TaskListQuery]) -> HttpResponse:
    """调用者所在部门和岗位的待办环节（未签收的和本人签收的），最早的在前，至多500条；可按环节类型、事项、
    时限状态筛选。

    Open steps of the caller's departments and roles, unclaimed or claimed by the caller, oldest
    first, the 500 oldest at most; filters by step kind, item, time level, and the caller's own.
    """
    addresses, language = _Addresses(), translation.get_language()
    total, tasks = selectors.task_page_for_officer(
        officer=_caller(request),
        page=filters.page,
        page_size=filters.page_size,
        kind=filters.kind or "",
        basic_code=filters.basic_code or "",
        level=filters.level or "",
        mine_only=filters.mine,
    )
    body = {
        "total": total,
        "page": filters.page,
        "page_size": filters.page_size,
        "items": [_task(task, addresses, language) for task in tasks],
    }
    return answer(request, TaskPageOut, body)


@router.get(
    "/workbench/cases/{number}",
    response={200: StaffCaseDetailOut, **ERRORS},
    auth=STAFF_AUTH,
    url_name="workbench_case_detail",
    summary="办件详情（工作人员） (a case, for staff)",
    tags=["workbench"],
)
def workbench_case_detail_endpoint(request: HttpRequest, number: str) -> HttpResponse:
    """申请表内容、全部办理记录、待办环节及调用者可执行的操作；无权查看的办件答复“找不到”。

    The form data, every event, the open steps and the actions the caller may take on them.
    Cases the caller may not see answer "not found".
    """
    officer = _caller(request)
    case = selectors.case_get_for_officer(number=number, officer=officer)
    if case is None:
        raise _case_not_found(number)
    return answer(request, StaffCaseDetailOut, _staff_detail(case, officer))


@router.post(
    "/workbench/tasks/{task_id}/actions",
    response={200: StaffCaseDetailOut, **ERRORS},
    auth=STAFF_AUTH,
    url_name="task_act",
    summary="办理环节 (act on a task)",
    tags=["workbench"],
)
def task_act_endpoint(request: HttpRequest, task_id: int, payload: TaskActionIn) -> HttpResponse:
    """对待办环节执行操作（签收、预审通过、补正告知、不予受理、受理、审查意见、决定、制证、送达、退回），
    返回办件的最新状态；环节类型不支持该操作时返回 409 action_not_allowed。

    Takes an action on an open task and answers with the case as it now stands. An action the
    step does not offer answers 409 action_not_allowed; a task the caller may not see, 404.
    """
    officer = _caller(request)
    task = selectors.task_get_for_officer(task_id=task_id, officer=officer)
    if task is None:
        raise not_found(_("没有找到该办理环节，或您无权查看。"), "No such task, or you may not see it.", params=None)
    # The action's deadlines and the answer's days left come from one read of the calendar.
    with calendar.calendar_read_once():
        case = _call(
            services.case_task_act,
            task=task,
            officer=officer,
            action=payload.action,
            fields=payload.fields.model_dump(exclude_none=True) if payload.fields else {},
        )
        return answer(request, StaffCaseDetailOut, _staff_detail(case, officer))
