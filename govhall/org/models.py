"""Regions (GB/T 2260), departments, service halls and their windows."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.IntegerChoices):
    PROVINCE = 1, _("省级")
    CITY = 2, _("市级")
    COUNTY = 3, _("县级")
    TOWN = 4, _("乡镇级")
    VILLAGE = 5, _("村级")


# How many leading digits of a code identify a region at each level (GB/T 2260 and its
# extensions): 33 (province), 3301 (city), 330106 (county), 330106001 (town).
REGION_PREFIX_LENGTH = {
    RegionLevel.PROVINCE: 2,
    RegionLevel.CITY: 4,
    RegionLevel.COUNTY: 6,
    RegionLevel.TOWN: 9,
    RegionLevel.VILLAGE: 12,
}


class Region(models.Model):
    """An administrative division, identified by its GB/T 2260 code (towns: 9 digits)."""

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.PositiveSmallIntegerField(_("层级"), choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    full_name = models.CharField(_("全称"), max_length=128)

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def prefix(self) -> str:
        """The leading digits shared by this region and every region below it."""
        return self.code[: REGION_PREFIX_LENGTH[RegionLevel(self.level)]]

    def contains(self, other: "Region") -> bool:
        return other.code.startswith(self.prefix) and other.level >= self.level


class Department(models.Model):
    """A government department (or agency) of one region."""

    code = models.CharField(_("部门编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    short_name = models.CharField(_("简称"), max_length=64, blank=True)
    kind = models.CharField(_("部门类别"), max_length=32, blank=True, db_index=True)
    region = models.ForeignKey(Region, verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="departments")
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)

    class Meta:
        ordering = ["region_id", "code"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="department_unique_name_in_region")]

    def __str__(self) -> str:
        return self.name


class Hall(models.Model):
    """A service hall (政务服务中心 / 便民服务中心) where applicants come in person."""

    name = models.CharField(_("名称"), max_length=128, unique=True)
    region = models.ForeignKey(Region, verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="halls")
    address = models.CharField(_("地址"), max_length=255)
    opening_hours = models.TextField(_("办公时间"))
    phone = models.CharField(_("咨询电话"), max_length=32, blank=True)

    class Meta:
        ordering = ["region_id", "name"]
        verbose_name = _("政务服务中心")
        verbose_name_plural = _("政务服务中心")

    def __str__(self) -> str:
        return self.name


class Window(models.Model):
    """A counter in a hall, staffed for the departments that sit there."""

    hall = models.ForeignKey(Hall, verbose_name=_("政务服务中心"), on_delete=models.CASCADE, related_name="windows")
    number = models.CharField(_("窗口号"), max_length=16)
    name = models.CharField(_("名称"), max_length=128)
    departments = models.ManyToManyField(Department, verbose_name=_("入驻部门"), related_name="windows", blank=True)

    class Meta:
        ordering = ["hall_id", "number"]
        verbose_name = _("窗口")
        verbose_name_plural = _("窗口")
        constraints = [models.UniqueConstraint(fields=["hall", "number"], name="window_unique_number_in_hall")]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"
