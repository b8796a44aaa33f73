"""Figures kept current as cases move (ADR 0007): one row per day and department with counters,
the department's region codes (county, city, province) copied onto the row so that a region's
figures are sums over an indexed prefix without joins."""

from django.db import models
from django.utils.translation import gettext_lazy as _

COUNTERS = (
    "received",
    "received_online",
    "accepted",
    "refused",
    "corrections",
    "approved",
    "denied",
    "withdrawn",
    "completed",
    "completed_on_time",
    "completed_late",
    "zero_visit",
    "handling_days",
    "ratings",
    "ratings_sum",
    "ratings_bad",
    "rectified",
    "started",
)


class DepartmentDay(models.Model):
    day = models.DateField(_("日期"))
    department = models.ForeignKey("org.Department", verbose_name=_("部门"), on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(_("区划代码"), max_length=12)
    city_code = models.CharField(_("市级区划代码"), max_length=12)
    province_code = models.CharField(_("省级区划代码"), max_length=12)
    received = models.PositiveIntegerField(_("收件"), default=0)
    received_online = models.PositiveIntegerField(_("网上收件"), default=0)
    accepted = models.PositiveIntegerField(_("受理"), default=0)
    refused = models.PositiveIntegerField(_("不予受理"), default=0)
    corrections = models.PositiveIntegerField(_("补正告知"), default=0)
    approved = models.PositiveIntegerField(_("准予"), default=0)
    denied = models.PositiveIntegerField(_("不予许可"), default=0)
    withdrawn = models.PositiveIntegerField(_("撤回"), default=0)
    completed = models.PositiveIntegerField(_("办结"), default=0)
    completed_on_time = models.PositiveIntegerField(_("按时办结"), default=0)
    completed_late = models.PositiveIntegerField(_("超期办结"), default=0)
    zero_visit = models.PositiveIntegerField(_("零跑动办结"), default=0)
    handling_days = models.PositiveIntegerField(_("办理工作日合计"), default=0)
    ratings = models.PositiveIntegerField(_("评价数"), default=0)
    ratings_sum = models.PositiveIntegerField(_("评价分合计"), default=0)
    ratings_bad = models.PositiveIntegerField(_("差评数"), default=0)
    rectified = models.PositiveIntegerField(_("差评整改数"), default=0)
    started = models.PositiveIntegerField(_("开始填写的申请"), default=0)

    class Meta:
        verbose_name = _("部门日统计")
        verbose_name_plural = _("部门日统计")
        constraints = [models.UniqueConstraint(fields=["day", "department"], name="department_day_unique")]
        indexes = [
            models.Index(fields=["province_code", "day"]),
            models.Index(fields=["city_code", "day"]),
            models.Index(fields=["region_code", "day"]),
            models.Index(fields=["department", "day"]),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.department_id}"
