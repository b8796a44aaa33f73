"""好差评 (GB/T 39734 / 39735): the applicant rates the service of a closed case; a bad review
(the bottom two levels) must name a reason and opens a follow-up for the responsible department:
a call back within 1 working day, a rectification within 15, after which the applicant may rate
once more."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    VERY_SATISFIED = 5, _("非常满意")
    SATISFIED = 4, _("满意")
    BASICALLY_SATISFIED = 3, _("基本满意")
    DISSATISFIED = 2, _("不满意")
    VERY_DISSATISFIED = 1, _("非常不满意")


BAD_LEVELS = (Level.DISSATISFIED, Level.VERY_DISSATISFIED)


class Reason(models.TextChoices):
    GUIDE_INACCURATE = "guide_inaccurate", _("办事指南不准确")
    MANY_VISITS = "many_visits", _("多次跑动")
    MATERIALS_AGAIN = "materials_again", _("材料重复提交")
    OVERDUE = "overdue", _("办理超时")
    ATTITUDE = "attitude", _("服务态度差")
    SYSTEM = "system", _("系统不好用")
    FEES = "fees", _("收费不合理")
    OTHER = "other", _("其他")


class Channel(models.TextChoices):
    ONLINE = "online", _("网上评价")
    WINDOW = "window", _("窗口评价")
    SMS = "sms", _("短信评价")


class Evaluation(models.Model):
    case = models.ForeignKey("cases.Case", verbose_name=_("办件"), on_delete=models.CASCADE, related_name="evaluations")
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("评价人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    level = models.PositiveSmallIntegerField(_("评价等级"), choices=Level.choices)
    indicators = models.JSONField(_("分项评价"), default=dict, blank=True)
    reasons = models.JSONField(_("差评原因"), default=list, blank=True)
    comment = models.TextField(_("评价内容"), blank=True)
    channel = models.CharField(_("评价渠道"), max_length=16, choices=Channel.choices)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("被评价部门"), on_delete=models.PROTECT, related_name="+"
    )
    region_id = models.CharField(_("区划代码"), max_length=12, db_index=True)
    implementation = models.ForeignKey(
        "catalog.Implementation", verbose_name=_("事项"), on_delete=models.PROTECT, related_name="+"
    )
    hall_id = models.IntegerField(_("大厅"), null=True, blank=True)
    follow_up_of = models.OneToOneField(
        "self", verbose_name=_("追评对象"), null=True, blank=True, on_delete=models.CASCADE, related_name="follow_up"
    )
    created_at = models.DateTimeField(_("评价时间"))

    class Meta:
        verbose_name = _("评价")
        verbose_name_plural = _("评价")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(follow_up_of__isnull=True), name="evaluation_one_per_case"
            ),
        ]
        indexes = [models.Index(fields=["department", "created_at"])]

    def __str__(self) -> str:
        return f"{self.case} · {self.get_level_display()}"

    @property
    def is_bad(self) -> bool:
        return self.level in BAD_LEVELS


class FollowUpState(models.TextChoices):
    OPEN = "open", _("待回访")
    CALLED_BACK = "called_back", _("已回访，待整改")
    RECTIFIED = "rectified", _("已整改")


class BadReviewFollowUp(models.Model):
    evaluation = models.OneToOneField(
        Evaluation, verbose_name=_("差评"), on_delete=models.CASCADE, related_name="followup"
    )
    department = models.ForeignKey(
        "org.Department", verbose_name=_("整改部门"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=16, choices=FollowUpState.choices, default=FollowUpState.OPEN)
    callback_due_on = models.DateField(_("回访期限"))
    called_back_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    called_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回访人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    callback_note = models.TextField(_("回访情况"), blank=True)
    rectify_due_on = models.DateField(_("整改期限"))
    rectified_at = models.DateTimeField(_("整改时间"), null=True, blank=True)
    rectified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("整改人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rectification_note = models.TextField(_("整改情况"), blank=True)

    class Meta:
        verbose_name = _("差评整改")
        verbose_name_plural = _("差评整改")
        ordering = ["callback_due_on", "id"]
        indexes = [models.Index(fields=["department", "state"])]

    def __str__(self) -> str:
        return f"{self.evaluation} · {self.get_state_display()}"


class Invitation(models.Model):
    """An invitation to rate a closed case without signing in: the link of an SMS sent when the
    case closes (and of the one reminder), or the screen a window clerk hands the applicant. The
    link carries a signature of this row's id; the row says until when and whether it was used."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("办件"), on_delete=models.CASCADE, related_name="rating_invitations"
    )
    channel = models.CharField(_("评价渠道"), max_length=16, choices=Channel.choices)
    created_at = models.DateTimeField(_("邀请时间"))
    expires_at = models.DateTimeField(_("有效期至"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("窗口人员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    used_at = models.DateTimeField(_("评价时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("评价邀请")
        verbose_name_plural = _("评价邀请")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(channel="sms", reminded_at__isnull=True, used_at__isnull=True),
                name="invitation_to_remind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.get_channel_display()}"
