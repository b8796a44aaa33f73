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
# What an item's month row counts: the case figures an item is compared by (GB/T 39735's
# indicators per 事项) and its ratings.
ITEM_COUNTERS = (
    "received",
    "received_online",
    "accepted",
    "refused",
    "completed",
    "completed_on_time",
    "completed_late",
    "zero_visit",
    "handling_days",
    "ratings",
    "ratings_sum",
    "ratings_bad",
)


class ItemCounters(models.Model):
    """The counters of ``ITEM_COUNTERS``, which every counter table has."""

    received = models.PositiveIntegerField(_("收件"), default=0)
    received_online = models.PositiveIntegerField(_("网上收件"), default=0)
    accepted = models.PositiveIntegerField(_("受理"), default=0)
    refused = models.PositiveIntegerField(_("不予受理"), default=0)
    completed = models.PositiveIntegerField(_("办结"), default=0)
    completed_on_time = models.PositiveIntegerField(_("按时办结"), default=0)
    completed_late = models.PositiveIntegerField(_("超期办结"), default=0)
    zero_visit = models.PositiveIntegerField(_("零跑动办结"), default=0)
    handling_days = models.PositiveIntegerField(_("办理工作日合计"), default=0)
    ratings = models.PositiveIntegerField(_("评价数"), default=0)
    ratings_sum = models.PositiveIntegerField(_("评价分合计"), default=0)
    ratings_bad = models.PositiveIntegerField(_("差评数"), default=0)

    class Meta:
        abstract = True


class Counters(ItemCounters):
    """Every counter of ``COUNTERS``."""

    corrections = models.PositiveIntegerField(_("补正告知"), default=0)
    approved = models.PositiveIntegerField(_("准予"), default=0)
    denied = models.PositiveIntegerField(_("不予许可"), default=0)
    withdrawn = models.PositiveIntegerField(_("撤回"), default=0)
    rectified = models.PositiveIntegerField(_("差评整改数"), default=0)
    started = models.PositiveIntegerField(_("开始填写的申请"), default=0)

    class Meta:
        abstract = True


class DepartmentCounters(Counters):
    """Every counter of ``COUNTERS`` for one department, with its region codes copied on."""

    # Indexed by the subclasses' (department, day or month), which a lookup by department uses.
    department = models.ForeignKey(
        "org.Department", verbose_name=_("部门"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    region_code = models.CharField(_("区划代码"), max_length=12)
    city_code = models.CharField(_("市级区划代码"), max_length=12)
    province_code = models.CharField(_("省级区划代码"), max_length=12)

    class Meta:
        abstract = True


class DepartmentDay(DepartmentCounters):
    day = models.DateField(_("日期"))

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


class DepartmentMonth(DepartmentCounters):
    """The same counters per calendar month and department, kept by the same call as the day's
    row: a period's figures sum its whole months here and only the days of its partial months in
    ``DepartmentDay`` (a province's year is some 12,000 rows instead of 365,000)."""

    month = models.DateField(_("月份"))

    class Meta:
        verbose_name = _("部门月统计")
        verbose_name_plural = _("部门月统计")
        constraints = [models.UniqueConstraint(fields=["month", "department"], name="department_month_unique")]
        indexes = [
            models.Index(fields=["province_code", "month"]),
            models.Index(fields=["city_code", "month"]),
            models.Index(fields=["region_code", "month"]),
            models.Index(fields=["department", "month"]),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.department_id}"


class RegionMonth(Counters):
    """A closed month's sums for one region (a province, a city or a county), summed from the
    department month rows the first time a dashboard asks for them (``selectors.closed_months``),
    so that a province's year is eleven of these and one month of department rows instead of
    some 14,500 department rows. A month is closed once the month after it has passed too: no
    action that counts into it is still open. A row holds while its generation is
    ``FiguresGeneration``'s: anything that writes into a closed month (a rebuild, a load, a
    count dated back) moves that on, and every row made before it is made again when next read.
    Only sums of the department rows are kept here, never anything they do not hold."""

    month = models.DateField(_("月份"))
    region_code = models.CharField(_("区划代码"), max_length=12)
    generation = models.BigIntegerField(_("统计代次"))

    class Meta:
        verbose_name = _("地区已结月统计")
        verbose_name_plural = _("地区已结月统计")
        constraints = [models.UniqueConstraint(fields=["region_code", "month"], name="region_month_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.region_code}"


class RegionEntryMonth(ItemCounters):
    """A closed month's item counters for one catalogue entry in a whole province or city,
    summed from the entry-and-city month rows (``EntryMonth``) the first time the item ranking
    asks for that month (``selectors.region_items``): a province's year to date is then
    some 12,000 of these and two open months of entry-and-city rows instead of some 148,000 of
    those. Each kept month has a row with ``entry_id`` 0, which says the month was kept, whatever
    entries it had. Rows hold while their generation is ``FiguresGeneration``'s, as
    ``RegionMonth``'s do; only sums of ``EntryMonth`` rows are kept here."""

    month = models.DateField(_("月份"))
    region_code = models.CharField(_("区划代码"), max_length=12)
    # The entry's id without a foreign key: derived rows, and 0 marks the month as kept.
    entry_id = models.BigIntegerField(_("事项目录"))
    generation = models.BigIntegerField(_("统计代次"))

    class Meta:
        verbose_name = _("地区已结月事项统计")
        verbose_name_plural = _("地区已结月事项统计")
        constraints = [
            models.UniqueConstraint(fields=["region_code", "month", "entry_id"], name="region_entry_month_unique")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.region_code} · {self.entry_id}"


class FiguresGeneration(models.Model):
    """One row (id 1): how many times closed months' department rows have been written since
    the figures began. ``RegionMonth`` rows of an earlier generation are not read. No row reads
    as generation 0."""

    generation = models.BigIntegerField(_("统计代次"), default=0)

    class Meta:
        verbose_name = _("统计代次")
        verbose_name_plural = _("统计代次")

    def __str__(self) -> str:
        return str(self.generation)


class ItemMonth(ItemCounters):
    """One row per month and implementation (an item as one department carries it out in one
    region): the figures by item. A month, not a day, so that a province's year is a few hundred
    thousand rows at most; the catalogue entry is copied on so that items group without joins."""

    month = models.DateField(_("月份"))
    implementation = models.ForeignKey(
        "catalog.Implementation", verbose_name=_("实施清单"), on_delete=models.CASCADE, related_name="+"
    )
    entry = models.ForeignKey(
        "catalog.CatalogueEntry", verbose_name=_("事项"), on_delete=models.CASCADE, related_name="+"
    )
    # Indexed by (department, month) below.
    department = models.ForeignKey(
        "org.Department", verbose_name=_("部门"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    region_code = models.CharField(_("区划代码"), max_length=12)
    city_code = models.CharField(_("市级区划代码"), max_length=12)
    province_code = models.CharField(_("省级区划代码"), max_length=12)

    class Meta:
        verbose_name = _("事项月统计")
        verbose_name_plural = _("事项月统计")
        constraints = [models.UniqueConstraint(fields=["month", "implementation"], name="item_month_unique")]
        indexes = [
            models.Index(fields=["province_code", "month"]),
            models.Index(fields=["city_code", "month"]),
            models.Index(fields=["region_code", "month"]),
            models.Index(fields=["department", "month"]),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.implementation_id}"


class EntryMonth(ItemCounters):
    """Items by month and city (the catalogue entry, whichever county or department carries it
    out): the ranking of items of a province or a city reads these, some 12 × entries × cities
    rows a year, instead of every implementation's month row."""

    month = models.DateField(_("月份"))
    entry = models.ForeignKey(
        "catalog.CatalogueEntry", verbose_name=_("事项"), on_delete=models.CASCADE, related_name="+"
    )
    city_code = models.CharField(_("市级区划代码"), max_length=12)
    province_code = models.CharField(_("省级区划代码"), max_length=12)

    class Meta:
        verbose_name = _("事项分市月统计")
        verbose_name_plural = _("事项分市月统计")
        constraints = [
            models.UniqueConstraint(fields=["month", "entry", "city_code"], name="entry_month_unique"),
        ]
        indexes = [models.Index(fields=["province_code", "month"]), models.Index(fields=["city_code", "month"])]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.entry_id} · {self.city_code}"


class ReportState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已生成")
    FAILED = "failed", _("生成失败")


class Report(models.Model):
    """A monthly operation report of a region (运行情况月报), made as XLSX and PDF by a background
    task; the person who asked follows its progress and alone downloads it."""

    region = models.ForeignKey("org.Region", verbose_name=_("地区"), on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("月份"))
    requested_by = models.ForeignKey(
        "accounts.User", verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("申请时间"))
    state = models.CharField(_("状态"), max_length=8, choices=ReportState.choices, default=ReportState.QUEUED)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    step = models.CharField(_("当前步骤"), max_length=64, blank=True)
    xlsx_file = models.CharField(_("XLSX 文件"), max_length=255, blank=True)
    pdf_file = models.CharField(_("PDF 文件"), max_length=255, blank=True)
    error = models.CharField(_("错误"), max_length=255, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("运行月报")
        verbose_name_plural = _("运行月报")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.region_id} {self.month:%Y-%m}"
