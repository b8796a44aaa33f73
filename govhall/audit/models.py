"""An append-only record of who did what to which record, chained by hash (govhall/audit/chain.py)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    REFUSED = "refused", _("拒绝")


class AuditRecord(models.Model):
    # Set by the service before the hash is computed (not auto_now_add, which would overwrite it).
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acting_for = models.CharField(_("代表"), max_length=64, blank=True, default="")
    action = models.CharField(_("操作"), max_length=64)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象标识"), max_length=64)
    summary = models.CharField(_("摘要"), max_length=255)
    data = models.JSONField(_("详情"), default=dict, blank=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    address = models.CharField(_("来源地址"), max_length=45, blank=True, default="")
    # Which of the chain's lanes the record belongs to (ADR 29): each lane is a chain of its own,
    # ordered by id, whose first record follows GENESIS_HASH.
    lane = models.PositiveSmallIntegerField(_("分链"), default=0)
    previous_hash = models.CharField(_("前一条哈希"), max_length=64, blank=True, default="")
    record_hash = models.CharField(_("本条哈希"), max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        # Written under a lane's lock on every audited change: only the indexes lookups use
        # (an indexed text field would also get a LIKE index no lookup uses; ADR 17).
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action"], name="audit_record_action"),
            models.Index(fields=["outcome"], name="audit_record_outcome"),
            # A lane's last record, read under the lane's lock by every audited write.
            models.Index(fields=["lane", "id"], name="audit_record_lane_tip"),
        ]
        constraints = [
            # Two writers chaining to the same predecessor would fork a lane; the lane's advisory
            # lock prevents it, and this refuses it should the lock ever be bypassed.
            models.UniqueConstraint(fields=["lane", "previous_hash"], name="audit_record_one_successor"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"
