"""Electronic supervision (电子监察): warnings on time limits and procedure, and urging (督办).

A warning names its rule, its level (yellow before a limit runs out, red once passed or for a
breach), the case (or another subject) and the department and region responsible, so that
supervisors see those of their region and below. It stays open until its condition ends (the job
or the case's own action clears it) or a supervisor clears it with a note; at most one warning
is open per rule and subject.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class WarningLevel(models.TextChoices):
    YELLOW = "yellow", _("黄牌预警")
    RED = "red", _("红牌警告")


class WarningRule(models.TextChoices):
    TIME_LIMIT = "time_limit", _("办件承诺时限")
    STEP_OVERDUE = "step_overdue", _("环节超时")
    REFUSAL_WITHOUT_REASONS = "refusal_without_reasons", _("不予受理未说明理由或救济途径")
    LATE_CORRECTION_NOTICE = "late_correction_notice", _("补正告知超过5个工作日")
    URGE_ANSWER_OVERDUE = "urge_answer_overdue", _("督办逾期未回复")
    EVALUATION_CALLBACK_OVERDUE = "evaluation_callback_overdue", _("差评逾期未回访")
    EVALUATION_RECTIFY_OVERDUE = "evaluation_rectify_overdue", _("差评逾期未整改")


class Warning(models.Model):
    rule = models.CharField(_("规则"), max_length=40, choices=WarningRule.choices)
    level = models.CharField(_("级别"), max_length=8, choices=WarningLevel.choices)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("办件"), null=True, blank=True, on_delete=models.CASCADE, related_name="warnings"
    )
    subject_type = models.CharField(_("对象类型"), max_length=32)
    subject_id = models.BigIntegerField(_("对象"))
    department = models.ForeignKey(
        "org.Department", verbose_name=_("责任部门"), on_delete=models.PROTECT, related_name="warnings"
    )
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    detail = models.CharField(_("说明"), max_length=255, blank=True)
    raised_at = models.DateTimeField(_("预警时间"))
    level_changed_at = models.DateTimeField(_("级别变更时间"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    cleared_how = models.CharField(_("解除方式"), max_length=64, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("解除人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_type", "subject_id"],
                condition=Q(cleared_at__isnull=True),
                name="warning_one_open_per_rule_and_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["region_code", "level"], condition=Q(cleared_at__isnull=True), name="warning_open"),
            models.Index(fields=["department", "cleared_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} · {self.get_level_display()}"


class UrgeState(models.TextChoices):
    OPEN = "open", _("待回复")
    ANSWERED = "answered", _("已回复")


class Urge(models.Model):
    """督办: a supervisor asks a department about one or more cases; it must answer by a date."""

    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("督办人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        "org.Department", verbose_name=_("被督办部门"), on_delete=models.PROTECT, related_name="urges"
    )
    cases = models.ManyToManyField("cases.Case", verbose_name=_("督办办件"), related_name="urges")
    message = models.TextField(_("督办意见"))
    created_at = models.DateTimeField(_("督办时间"))
    answer_due_on = models.DateField(_("回复期限"))
    state = models.CharField(_("状态"), max_length=16, choices=UrgeState.choices, default=UrgeState.OPEN)
    answer = models.TextField(_("回复内容"), blank=True)
    answered_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回复人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_late = models.BooleanField(_("逾期回复"), default=False)

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["department", "state"])]

    def __str__(self) -> str:
        return f"{self.department} · {self.created_at:%Y-%m-%d}"
