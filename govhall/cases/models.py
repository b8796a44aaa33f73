"""Applications and cases (办件): the case, its open steps, timeline, materials, correction
notices, special procedures, extensions, case numbers, and the working-day calendar.

Every write goes through govhall/cases/services.py; the process a case follows is the copy of its
implementation's process definition taken when it was filed (govhall/cases/process.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DayKind(models.TextChoices):
    WORKDAY = "workday", _("工作日")
    WEEKEND = "weekend", _("周末")
    HOLIDAY = "holiday", _("法定节假日")
    MAKEUP = "makeup", _("调休上班")


class CalendarSource(models.TextChoices):
    PACKAGE = "package", _("chinese-calendar")
    ADMINISTRATOR = "administrator", _("管理员录入")


class CalendarDay(models.Model):
    """One day of the working-day calendar (weekends, public holidays and 调休 make-up days).

    Years the chinese-calendar package knows are seeded from it after every migrate; later years
    are entered by administrators when the State Council publishes them. A day not in the table
    counts Monday–Friday as working (and the calendar reports its year as provisional).
    """

    date = models.DateField(_("日期"), primary_key=True)
    working = models.BooleanField(_("是否工作日"))
    kind = models.CharField(_("类别"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("节日"), max_length=32, blank=True)
    source = models.CharField(_("来源"), max_length=16, choices=CalendarSource.choices, default=CalendarSource.PACKAGE)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("修改人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class CaseState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已申报")
    CORRECTION = "correction", _("待补正")
    ACCEPTED = "accepted", _("办理中")
    DECIDED = "decided", _("已决定")
    COMPLETED = "completed", _("已办结")
    REFUSED = "refused", _("不予受理")
    WITHDRAWN = "withdrawn", _("已撤回")


# States in which nothing more happens to a case.
CLOSED_STATES = (CaseState.COMPLETED, CaseState.REFUSED, CaseState.WITHDRAWN)


class Channel(models.TextChoices):
    ONLINE = "online", _("网上申报")
    WINDOW = "window", _("窗口受理")
    API = "api", _("接口申报")


class Decision(models.TextChoices):
    APPROVE = "approve", _("准予")
    DENY = "deny", _("不予")
    # 告知承诺制: an approval on a commitment later found false is revoked.
    REVOKED = "revoked", _("撤销准予")


class DeliveryMethod(models.TextChoices):
    HALL = "hall", _("窗口领取")
    EXPRESS = "express", _("邮寄送达")
    ELECTRONIC = "electronic", _("电子送达")


class CaseDefinition(models.Model):
    """What a case was filed under: the effective form, the material list and the process, as
    they were at filing time, so that a later catalogue change never alters a running case.

    Stored once per distinct content (``sha256`` of the canonical JSON) and shared by every
    case filed under it: thousands of cases of one published version carry one row instead of
    four kilobytes each (ADR 0005, "Definitions shared by content").
    """

    sha256 = models.CharField(_("内容摘要"), max_length=64, unique=True)
    form = models.JSONField(_("申请表定义"), default=dict)
    materials = models.JSONField(_("材料清单"), default=list)
    process = models.JSONField(_("流程定义"), default=dict)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("办件定义")
        verbose_name_plural = _("办件定义")

    def __str__(self) -> str:
        return self.sha256[:12]


class Case(models.Model):
    """An application from the moment it is drafted; a case (办件) once submitted.

    The number is given at submission and never changes. ``definition`` holds the form, the
    material list and the process as they were at filing time (shared by content with other
    cases), so a later catalogue change never alters a running case; ``implementation_version``
    names the version it was filed under.
    """

    # Unique by a constraint (Meta): a unique field would also get a pattern index (LIKE 'x%')
    # that no lookup uses, case numbers being matched whole.
    number = models.CharField(_("办件编号"), max_length=32, null=True, blank=True)
    # The implementation, definition, region and person are never deleted (the catalogue and
    # the regions are read-only in the admin, definitions are shared by content, people's
    # records are kept), and no page reads cases by them but a draft by its implementation
    # (a partial index of drafts, Meta): no index of their own (ADR 17).
    implementation = models.ForeignKey(
        "catalog.Implementation",
        verbose_name=_("实施清单"),
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    implementation_version = models.PositiveIntegerField(_("事项版本"))
    item_name = models.CharField(_("事项名称"), max_length=128)
    case_type = models.CharField(_("办件类型"), max_length=16)
    definition = models.ForeignKey(
        CaseDefinition, verbose_name=_("办件定义"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    region = models.ForeignKey(
        "org.Region", verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Foreign keys that lead a composite index (Meta.indexes) or are mostly empty (a partial
    # index there) get no index of their own: every index is written on every insert.
    department = models.ForeignKey(
        "org.Department", verbose_name=_("承办部门"), on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请账号"),
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    person = models.ForeignKey(
        "accounts.Person",
        verbose_name=_("申请人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    company = models.ForeignKey(
        "accounts.Company",
        verbose_name=_("申请单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    applicant_name = models.CharField(_("申请人名称"), max_length=255)
    channel = models.CharField(_("申报渠道"), max_length=16, choices=Channel.choices, default=Channel.ONLINE)
    # One-window intake (一窗受理) and accept-anywhere (收受分离): where and by whom the application
    # was received; a receiving department other than the competent one transfers the file.
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收件人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    receiving_department = models.ForeignKey(
        "org.Department",
        verbose_name=_("收件部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="received_cases",
        db_index=False,
    )
    hall = models.ForeignKey(
        "org.Hall",
        verbose_name=_("收件大厅"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    bundle_application = models.ForeignKey(
        "BundleApplication",
        verbose_name=_("一件事申请"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    data = models.JSONField(_("申请表内容"), default=dict)
    prefilled = models.JSONField(_("自动填写项"), default=dict)
    prefill_hash = models.CharField(_("自动填写校验值"), max_length=64, blank=True)
    submit_key = models.CharField(_("提交幂等键"), max_length=64, blank=True)

    state = models.CharField(_("状态"), max_length=16, choices=CaseState.choices, default=CaseState.DRAFT)
    stage = models.CharField(_("当前环节"), max_length=64, blank=True)
    decision = models.CharField(_("决定"), max_length=8, choices=Decision.choices, blank=True)
    decision_reasons = models.TextField(_("决定理由"), blank=True)
    refusal_reasons = models.TextField(_("不予受理理由"), blank=True)
    legal_remedy = models.TextField(_("救济途径"), blank=True)
    delivery_method = models.CharField(_("送达方式"), max_length=16, choices=DeliveryMethod.choices, blank=True)
    result_reference = models.CharField(_("结果文书编号"), max_length=128, blank=True)

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("申报时间"), null=True, blank=True)
    received_on = models.DateField(_("收件日期"), null=True, blank=True)
    correction_due_on = models.DateField(_("补正告知期限"), null=True, blank=True)
    deemed_accepted = models.BooleanField(_("逾期未告知视为受理"), default=False)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    clock_start_on = models.DateField(_("计时起始日"), null=True, blank=True)
    statutory_limit_days = models.PositiveSmallIntegerField(_("法定时限"), default=0)
    statutory_limit_unit = models.CharField(_("法定时限单位"), max_length=16, blank=True)
    promised_limit_days = models.PositiveSmallIntegerField(_("承诺时限"), default=0)
    promised_limit_unit = models.CharField(_("承诺时限单位"), max_length=16, blank=True)
    statutory_due_on = models.DateField(_("法定办结期限"), null=True, blank=True)
    promised_due_on = models.DateField(_("承诺办结期限"), null=True, blank=True)
    paused_since = models.DateField(_("暂停计时起始"), null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(_("延长天数"), default=0)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("办件")
        verbose_name_plural = _("办件")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="case_number_unique"),
            models.UniqueConstraint(
                fields=["applicant", "submit_key"], condition=~Q(submit_key=""), name="case_submit_key_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["department", "state"]),
            # "My cases" in creation order; with the state in the index, the count of a person's
            # submitted cases reads the index alone, not a table page for each case (a person's
            # cases lie apart in the table: 806 pages read for 817 cases; docs/performance.md).
            models.Index(fields=["applicant", "-created_at", "state"], name="case_applicant_created"),
            # The draft an application resumes (services._draft_existing): drafts only, a few of
            # an applicant's cases (ADR 17).
            models.Index(
                fields=["applicant", "implementation"], condition=Q(state="draft"), name="case_draft_of_applicant"
            ),
            models.Index(
                fields=["company", "-created_at"], condition=Q(company__isnull=False), name="case_company_created"
            ),
            # Most cases are filed online by their applicant: these stay as small as the rest.
            models.Index(fields=["received_by"], condition=Q(received_by__isnull=False), name="case_received_by"),
            models.Index(
                fields=["receiving_department"],
                condition=Q(receiving_department__isnull=False),
                name="case_receiving_department",
            ),
            models.Index(fields=["hall"], condition=Q(hall__isnull=False), name="case_hall"),
            models.Index(
                fields=["bundle_application"], condition=Q(bundle_application__isnull=False), name="case_bundle"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"{_('草稿')} {self.pk}"

    @property
    def form_definition(self) -> dict:
        return self.definition.form

    @property
    def material_list(self) -> list:
        return self.definition.materials

    @property
    def process_definition(self) -> dict:
        return self.definition.process


class BundleApplication(models.Model):
    """One application for a life-event bundle: one form and one material list, and on submission
    one linked case per item, each with its own department, process and time limit."""

    bundle = models.ForeignKey(
        "catalog.Bundle", verbose_name=_("一件事"), on_delete=models.PROTECT, related_name="applications"
    )
    number = models.CharField(_("一件事编号"), max_length=32, unique=True, null=True, blank=True)
    region = models.ForeignKey("org.Region", verbose_name=_("办理区划"), on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请账号"),
        on_delete=models.PROTECT,
        related_name="bundle_applications",
    )
    company = models.ForeignKey(
        "accounts.Company",
        verbose_name=_("申请单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bundle_applications",
    )
    data = models.JSONField(_("申请表内容"), default=dict)
    submit_key = models.CharField(_("提交幂等键"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("申报时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("一件事申请")
        verbose_name_plural = _("一件事申请")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number or f"{self.bundle} {self.pk}"


class AutoDecision(models.Model):
    """秒批: what an automatic step decided, from which rules (and their version) and which facts,
    so that every automatic decision can be explained and audited. It never denies."""

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="auto_decisions")
    step_key = models.CharField(_("环节标识"), max_length=64)
    rules_version = models.PositiveIntegerField(_("规则版本"))
    rules = models.JSONField(_("规则"))
    facts = models.JSONField(_("依据事实"))
    matched_rule = models.CharField(_("命中规则"), max_length=64, blank=True)
    approved = models.BooleanField(_("自动准予"))
    decided_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("自动审批记录")
        verbose_name_plural = _("自动审批记录")
        ordering = ["decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.step_key} {'approve' if self.approved else 'handover'}"


class TaskState(models.TextChoices):
    OPEN = "open", _("待办")
    DONE = "done", _("已办")
    CANCELLED = "cancelled", _("已取消")


class CaseTask(models.Model):
    """A step of a case that a department (and role) has to act on: the officer's to-do item.

    A sequential step has one task; a parallel step opens one task per branch, each for its own
    department, and the case moves on when every branch is done (the lead department's branch is
    marked ``lead``).
    """

    case = models.ForeignKey(
        Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    step_key = models.CharField(_("环节标识"), max_length=64)
    branch_key = models.CharField(_("分支标识"), max_length=64, blank=True)
    kind = models.CharField(_("环节类型"), max_length=32)
    name = models.CharField(_("环节名称"), max_length=64)
    department = models.ForeignKey(
        "org.Department",
        verbose_name=_("办理部门"),
        on_delete=models.PROTECT,
        related_name="case_tasks",
        db_index=False,
    )
    role = models.CharField(_("办理岗位"), max_length=32)
    lead = models.BooleanField(_("牵头"), default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_tasks",
        db_index=False,
    )
    state = models.CharField(_("状态"), max_length=16, choices=TaskState.choices, default=TaskState.OPEN)
    opened_at = models.DateTimeField(_("开始时间"))
    due_on = models.DateField(_("环节期限"), null=True, blank=True)
    closed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # Accounts are disabled, never deleted, and no page reads steps by who holds or closed them
    # (open steps through the to-do index): no index (ADR 17). The same for the other history
    # rows' accounts below.
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("办理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    outcome = models.CharField(_("办理结果"), max_length=32, blank=True)
    opinion = models.TextField(_("办理意见"), blank=True)

    class Meta:
        verbose_name = _("办理环节")
        verbose_name_plural = _("办理环节")
        ordering = ["opened_at", "id"]
        indexes = [
            # Open steps are read through the to-do index below; this one serves the check that
            # refuses to delete a department that has steps (ADR 17). By department alone: a
            # key of (department, role, state) took 84 s of a 10 million case load to build,
            # for no lookup. Steps are not read by their assignee but through the open ones.
            models.Index(fields=["department"], name="casetask_department"),
            # A case's steps, read by case (and then by state among its few rows): with the
            # state the index took 41 s to build at 10 million cases and 656 MB, without it
            # 25 s and 563 MB (migration cases 0015).
            models.Index(fields=["case"], name="casetask_case"),
            # The to-do lists: only open steps, in the order they are shown. With millions of
            # closed steps this index stays as small as the work waiting.
            # The to-do list reads its ids from this index alone (an index-only scan): with the
            # assignee included it need not visit each open task's row to see whether someone
            # else has claimed it (2,567 open tasks of a county, 10 million cases: 7–10 ms
            # against 1 ms).
            models.Index(
                fields=["department", "role", "opened_at", "id"],
                include=["assignee"],
                condition=Q(state="open"),
                name="casetask_open_todo_assignee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.name}"


class CaseEvent(models.Model):
    """One line of a case's timeline: one per action, never changed."""

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("时间"))
    action = models.CharField(_("动作"), max_length=32)
    step_key = models.CharField(_("环节标识"), max_length=64, blank=True)
    step_name = models.CharField(_("环节"), max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("办理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    actor_name = models.CharField(_("办理人名称"), max_length=128, blank=True)
    acting_for = models.CharField(_("代表"), max_length=64, blank=True)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opinion = models.TextField(_("意见"), blank=True)
    data = models.JSONField(_("内容"), default=dict, blank=True)
    public = models.BooleanField(_("申请人可见"), default=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.action} {self.at:%Y-%m-%d %H:%M}"


class Trust(models.TextChoices):
    """Trust of a material (DOMAIN.md, "Reused materials")."""

    A = "A", _("A 政府部门签发")
    B = "B", _("B 工作人员核验")
    C = "C", _("C 申请人上传")
    D = "D", _("D 申请人承诺")


def case_material_path(instance: "CaseMaterial", filename: str) -> str:
    # The stored name never contains what the uploader called the file.
    return f"cases/{instance.sha256[:2]}/{instance.sha256}{instance.extension}"


class CaseMaterial(models.Model):
    """A file given for one of the implementation's materials (by name), or reused from an
    earlier case of the same applicant. A corrected upload supersedes the earlier one."""

    case = models.ForeignKey(
        Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="materials", db_index=False
    )
    material_name = models.CharField(_("材料名称"), max_length=255)
    file = models.FileField(_("文件"), upload_to=case_material_path, max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("大小"))
    content_type = models.CharField(_("文件类型"), max_length=64)
    extension = models.CharField(_("扩展名"), max_length=8)
    original_name = models.CharField(_("原文件名"), max_length=255)
    trust = models.CharField(_("可信等级"), max_length=1, choices=Trust.choices, default=Trust.C)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    uploaded_at = models.DateTimeField(_("上传时间"))
    reused_from = models.ForeignKey(
        "self",
        verbose_name=_("复用自"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    superseded_at = models.DateTimeField(_("被替换时间"), null=True, blank=True)
    # Filled from the applicant's wallet: the licence version whose signed PDF this is.
    licence_version = models.ForeignKey(
        "licences.LicenceVersion",
        verbose_name=_("电子证照"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核验人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    checked_at = models.DateTimeField(_("核验时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("办件材料")
        verbose_name_plural = _("办件材料")
        ordering = ["case_id", "material_name", "uploaded_at"]
        indexes = [
            # A case's materials, read by case (and then by name among its few rows): by the
            # case alone the index is a quarter of its size with the name (466 MB against
            # 1,814 MB at 10 million cases, built in 15 s against 28; migration cases 0015).
            models.Index(fields=["case"], name="casematerial_case"),
            models.Index(
                fields=["reused_from"], condition=Q(reused_from__isnull=False), name="casematerial_reused_from"
            ),
            models.Index(
                fields=["licence_version"], condition=Q(licence_version__isnull=False), name="casematerial_licence"
            ),
            models.Index(fields=["checked_by"], condition=Q(checked_by__isnull=False), name="casematerial_checked_by"),
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.material_name}"


class CaseCommitment(models.Model):
    """告知承诺: the applicant's signed written commitment standing in for a proof (trust D).
    The text signed is kept as it was shown."""

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="commitments")
    material_name = models.CharField(_("材料名称"), max_length=255)
    text = models.TextField(_("承诺内容"))
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("承诺人"), on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(_("承诺时间"))
    superseded_at = models.DateTimeField(_("被替换时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("告知承诺")
        verbose_name_plural = _("告知承诺")
        ordering = ["case_id", "material_name", "signed_at"]

    def __str__(self) -> str:
        return f"{self.case} · {self.material_name}"


class CommitmentExclusion(models.Model):
    """An applicant whose commitment was found false may not use commitments until ``until``."""

    person = models.ForeignKey(
        "accounts.Person", verbose_name=_("自然人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    company = models.ForeignKey(
        "accounts.Company", verbose_name=_("法人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("理由"))
    since = models.DateField(_("起始日期"))
    until = models.DateField(_("截止日期"))

    class Meta:
        verbose_name = _("告知承诺失信记录")
        verbose_name_plural = _("告知承诺失信记录")
        ordering = ["-since", "-id"]

    def __str__(self) -> str:
        return f"{self.person or self.company} → {self.until}"


class DeferredMaterial(models.Model):
    """容缺受理: a secondary material accepted as missing, with the date it is due; the result is
    withheld until it arrives."""

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="deferred_materials")
    material_name = models.CharField(_("材料名称"), max_length=255)
    days = models.PositiveSmallIntegerField(_("补交期限（工作日）"))
    due_on = models.DateField(_("补交截止日期"), null=True, blank=True)
    received_at = models.DateTimeField(_("补交时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("容缺材料")
        verbose_name_plural = _("容缺材料")
        ordering = ["case_id", "material_name"]
        constraints = [
            models.UniqueConstraint(fields=["case", "material_name"], name="deferred_material_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.material_name}"


class CorrectionNotice(models.Model):
    """补正告知: one notice listing everything missing or faulty (Administrative Licensing Law
    art. 32). ``late`` records that it came after the 5 working days, in which case the
    application counted as accepted from receipt."""

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="corrections")
    step_key = models.CharField(_("告知环节"), max_length=64)
    items = models.JSONField(_("补正内容"))
    note = models.TextField(_("说明"), blank=True)
    issued_at = models.DateTimeField(_("告知时间"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("告知人"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    late = models.BooleanField(_("逾期告知"), default=False)
    answered_at = models.DateTimeField(_("补正时间"), null=True, blank=True)
    answer_note = models.TextField(_("补正说明"), blank=True)

    class Meta:
        verbose_name = _("补正告知")
        verbose_name_plural = _("补正告知")
        ordering = ["issued_at", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.issued_at:%Y-%m-%d}"


class SpecialProcedureKind(models.TextChoices):
    HEARING = "hearing", _("听证")
    INSPECTION = "inspection", _("现场核查")
    TESTING = "testing", _("检验检测")
    EXPERT_REVIEW = "expert_review", _("专家评审")
    PUBLIC_NOTICE = "public_notice", _("公示")
    OTHER = "other", _("其他")


class SpecialProcedure(models.Model):
    """特别程序 (art. 45): its time does not count toward the limit."""

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="special_procedures")
    kind = models.CharField(_("类别"), max_length=16, choices=SpecialProcedureKind.choices)
    reason = models.TextField(_("理由"))
    expected_days = models.PositiveSmallIntegerField(_("预计时长（工作日）"))
    started_on = models.DateField(_("开始日期"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("启动人"), on_delete=models.PROTECT, related_name="+"
    )
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结束人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    result = models.TextField(_("结果"), blank=True)
    days_paused = models.PositiveSmallIntegerField(_("暂停工作日数"), default=0)

    class Meta:
        verbose_name = _("特别程序")
        verbose_name_plural = _("特别程序")
        ordering = ["started_on", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()}"


class ExtensionState(models.TextChoices):
    REQUESTED = "requested", _("待批准")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("未批准")


class Extension(models.Model):
    """延期 (art. 42): 10 more working days (15 for joint handling), approved by a decider."""

    case = models.ForeignKey(Case, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("延长工作日"))
    reason = models.TextField(_("理由"))
    state = models.CharField(_("状态"), max_length=16, choices=ExtensionState.choices, default=ExtensionState.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("申请时间"))
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批准人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    answer_note = models.TextField(_("批准意见"), blank=True)

    class Meta:
        verbose_name = _("延期")
        verbose_name_plural = _("延期")
        ordering = ["requested_at", "id"]

    def __str__(self) -> str:
        return f"{self.case} +{self.days}"


class CaseNumberSequence(models.Model):
    """The last sequence number given in one region on one day (case numbers are
    region code + date + sequence); incremented by one atomic upsert."""

    region_code = models.CharField(_("区划代码"), max_length=12)
    day = models.DateField(_("日期"))
    last = models.PositiveIntegerField(_("已用序号"), default=0)

    class Meta:
        verbose_name = _("办件编号序列")
        verbose_name_plural = _("办件编号序列")
        constraints = [models.UniqueConstraint(fields=["region_code", "day"], name="case_number_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.region_code} {self.day} {self.last}"
