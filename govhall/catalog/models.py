"""The unified service catalogue (事项管理).

A catalogue entry (基本目录) is one service item for the whole province; an implementation
(实施清单) is one region + department carrying it out. The rows here always hold the published
version; drafts live in ``CatalogueChange.payload`` until a reviewer approves them, and every
published version is kept as a snapshot so earlier versions stay readable.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from govhall.accounts.models import AssuranceLevel


class ItemKind(models.TextChoices):
    LICENSING = "licensing", _("行政许可")
    PENALTY = "penalty", _("行政处罚")
    ENFORCEMENT = "enforcement", _("行政强制")
    LEVY = "levy", _("行政征收")
    BENEFIT = "benefit", _("行政给付")
    INSPECTION = "inspection", _("行政检查")
    CONFIRMATION = "confirmation", _("行政确认")
    REWARD = "reward", _("行政奖励")
    ADJUDICATION = "adjudication", _("行政裁决")
    OTHER_POWER = "other_power", _("其他行政权力")
    PUBLIC_SERVICE = "public_service", _("公共服务")


class ItemState(models.TextChoices):
    ACTIVE = "active", _("在用")
    SUSPENDED = "suspended", _("暂停办理")
    CANCELLED = "cancelled", _("已取消")


class Audience(models.TextChoices):
    PERSON = "person", _("个人")
    COMPANY = "company", _("法人")
    BOTH = "both", _("个人和法人")


class DayUnit(models.TextChoices):
    WORKING = "working", _("工作日")
    CALENDAR = "calendar", _("自然日")


class SourceOfPower(models.TextChoices):
    STATUTORY = "statutory", _("法定本级行使")
    DELEGATED = "delegated", _("上级下放")
    ENTRUSTED = "entrusted", _("上级委托")
    OTHER = "other", _("其他")


class CaseType(models.TextChoices):
    IMMEDIATE = "immediate", _("即办件")
    COMMITTED = "committed", _("承诺件")


class AreaOfHandling(models.TextChoices):
    LOCAL = "local", _("本地办理")
    CITY = "city", _("全市通办")
    PROVINCE = "province", _("全省通办")
    NATIONWIDE = "nationwide", _("跨省通办")


class ResultType(models.TextChoices):
    LICENCE = "licence", _("证照")
    DOCUMENT = "document", _("批文")
    OTHER = "other", _("其他")


class OnlineDepth(models.IntegerChoices):
    """Online depth levels; an implementation stores the levels it offers as sorted digits."""

    CONSULTATION = 1, _("网上咨询")
    RECEIPT = 2, _("网上收件")
    PREREVIEW = 3, _("网上预审")
    ACCEPTANCE = 4, _("网上受理")
    HANDLING = 5, _("网上办理")
    RESULT_FEEDBACK = 6, _("网上反馈结果")
    ELECTRONIC_LICENCE = 7, _("电子证照结果")


class MaterialRequirement(models.TextChoices):
    REQUIRED = "required", _("必要")
    CONDITIONAL = "conditional", _("容缺或情形必要")


class MaterialForm(models.TextChoices):
    ORIGINAL = "original", _("原件")
    COPY = "copy", _("复印件")
    ORIGINAL_AND_COPY = "original_and_copy", _("原件和复印件")
    ELECTRONIC = "electronic", _("电子件")


class MaterialSource(models.TextChoices):
    APPLICANT = "applicant", _("申请人自备")
    GOVERNMENT = "government", _("政府部门核发")
    INTERMEDIARY = "intermediary", _("中介机构出具")


class Theme(models.Model):
    """A life event or topic to browse services by (出生, 开办企业 ...)."""

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=32)
    name_en = models.CharField(_("英文名称"), max_length=64, blank=True)
    audience = models.CharField(_("服务对象"), max_length=16, choices=Audience.choices)
    description = models.CharField(_("说明"), max_length=255, blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("主题")
        verbose_name_plural = _("主题")

    def __str__(self) -> str:
        return self.name


class CatalogueEntry(models.Model):
    """The unified item (基本目录): name, code, kind and legal basis are the same at every level."""

    basic_code = models.CharField(_("基本编码"), max_length=32, unique=True)
    name = models.CharField(_("事项名称"), max_length=128)
    kind = models.CharField(_("事项类型"), max_length=32, choices=ItemKind.choices)
    legal_basis = models.TextField(_("设定依据"))
    description = models.TextField(_("事项说明"), blank=True)
    for_persons = models.BooleanField(_("面向个人"), default=False)
    for_companies = models.BooleanField(_("面向法人"), default=False)
    themes = models.ManyToManyField(Theme, verbose_name=_("主题"), related_name="entries", blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=ItemState.choices, default=ItemState.ACTIVE)
    version = models.PositiveIntegerField(_("版本"), default=1)
    published_at = models.DateTimeField(_("发布时间"))
    successors = models.ManyToManyField(
        "self", verbose_name=_("拆分或合并后的事项"), symmetrical=False, related_name="predecessors", blank=True
    )

    class Meta:
        ordering = ["basic_code"]
        verbose_name = _("基本目录事项")
        verbose_name_plural = _("基本目录事项")

    def __str__(self) -> str:
        return f"{self.name}（{self.basic_code}）"


class Implementation(models.Model):
    """One region + department carrying out a catalogue entry (实施清单), with its guide elements."""

    implementation_code = models.CharField(_("实施编码"), max_length=48, unique=True)
    entry = models.ForeignKey(
        CatalogueEntry, verbose_name=_("基本目录事项"), on_delete=models.PROTECT, related_name="implementations"
    )
    region = models.ForeignKey(
        "org.Region", verbose_name=_("实施区划"), on_delete=models.PROTECT, related_name="implementations"
    )
    department = models.ForeignKey(
        "org.Department", verbose_name=_("实施部门"), on_delete=models.PROTECT, related_name="implementations"
    )
    entrusted_agency = models.CharField(_("受委托机构"), max_length=128, blank=True)
    source_of_power = models.CharField(
        _("权力来源"), max_length=16, choices=SourceOfPower.choices, default=SourceOfPower.STATUTORY
    )
    acceptance_conditions = models.TextField(_("受理条件"))
    statutory_time_limit_days = models.PositiveSmallIntegerField(_("法定办结时限"))
    statutory_time_limit_unit = models.CharField(
        _("法定时限单位"), max_length=16, choices=DayUnit.choices, default=DayUnit.WORKING
    )
    promised_time_limit_days = models.PositiveSmallIntegerField(_("承诺办结时限"))
    promised_time_limit_unit = models.CharField(
        _("承诺时限单位"), max_length=16, choices=DayUnit.choices, default=DayUnit.WORKING
    )
    site_visits = models.PositiveSmallIntegerField(_("到办事现场次数"), default=0)
    address = models.CharField(_("办理地点"), max_length=255, blank=True)
    office_hours = models.TextField(_("办理时间"), blank=True)
    hall = models.ForeignKey(
        "org.Hall",
        verbose_name=_("政务服务中心"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="implementations",
    )
    windows = models.ManyToManyField(
        "org.Window", verbose_name=_("办理窗口"), related_name="implementations", blank=True
    )
    charges_fee = models.BooleanField(_("是否收费"), default=False)
    fee_standard = models.TextField(_("收费标准"), blank=True)
    fee_basis = models.TextField(_("收费依据"), blank=True)
    case_type = models.CharField(_("办件类型"), max_length=16, choices=CaseType.choices, default=CaseType.COMMITTED)
    special_procedures = models.TextField(_("特别程序"), blank=True)
    consultation_phone = models.CharField(_("咨询电话"), max_length=64, blank=True)
    supervision_phone = models.CharField(_("监督投诉电话"), max_length=64, blank=True)
    online_available = models.BooleanField(_("是否网办"), default=True)
    online_depth = models.CharField(_("网上办理深度"), max_length=7, blank=True)
    assurance_level = models.PositiveSmallIntegerField(
        _("实名认证等级要求"), choices=AssuranceLevel.choices, default=AssuranceLevel.L2
    )
    online_payment = models.BooleanField(_("支持网上支付"), default=False)
    express_delivery = models.BooleanField(_("支持物流快递"), default=False)
    appointment = models.BooleanField(_("支持预约办理"), default=False)
    handled_in_hall = models.BooleanField(_("是否进驻政务服务中心"), default=True)
    area_of_handling = models.CharField(
        _("通办范围"), max_length=16, choices=AreaOfHandling.choices, default=AreaOfHandling.LOCAL
    )
    result_type = models.CharField(
        _("审批结果类型"), max_length=16, choices=ResultType.choices, default=ResultType.OTHER
    )
    result_name = models.CharField(_("审批结果名称"), max_length=128, blank=True)
    licence_type_code = models.CharField(_("结果证照类型代码"), max_length=32, blank=True)
    # Defined as data and versioned with the item: {} means the standard form / process built from
    # the other elements (govhall/cases/application_form.py, govhall/cases/process.py).
    application_form = models.JSONField(_("申请表定义"), default=dict, blank=True)
    process_definition = models.JSONField(_("办理流程定义"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=ItemState.choices, default=ItemState.ACTIVE)
    version = models.PositiveIntegerField(_("版本"), default=1)
    published_at = models.DateTimeField(_("发布时间"))
    view_count = models.PositiveIntegerField(_("浏览次数"), default=0)

    class Meta:
        ordering = ["implementation_code"]
        verbose_name = _("实施清单")
        verbose_name_plural = _("实施清单")
        indexes = [
            models.Index(fields=["state", "region"]),
            models.Index(fields=["state", "department"]),
            models.Index(fields=["state", "-view_count"]),
            # A region's list (the API's, the portal's browsing, a filtered search) reads its
            # rows' state, entry, code and id from this index alone instead of the heap pages of
            # these wide rows: the API's list of a county went from 3.4 to 2.2 ms of PostgreSQL
            # for a page's ids and 2.7 to 1.9 for their count, and from 0.028–0.034 to
            # 0.039–0.043 × C_json under load (docs/performance.md, thirteenth session).
            # PostgreSQL only; a plain index of the region elsewhere.
            models.Index(
                fields=["region"],
                include=["state", "entry", "implementation_code", "id"],
                name="catalog_impl_region_listed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.implementation_code}"

    @property
    def depth_levels(self) -> list[int]:
        return [int(digit) for digit in self.online_depth]


class ProcessStep(models.Model):
    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="process_steps")
    order = models.PositiveSmallIntegerField(_("顺序"))
    name = models.CharField(_("环节名称"), max_length=64)
    description = models.TextField(_("办理说明"), blank=True)
    duration_days = models.PositiveSmallIntegerField(_("环节时限（工作日）"), default=0)

    class Meta:
        ordering = ["implementation_id", "order"]
        verbose_name = _("办理流程环节")
        verbose_name_plural = _("办理流程环节")

    def __str__(self) -> str:
        return self.name


class Material(models.Model):
    """A material the applicant hands in (申请材料), with all its elements."""

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="materials")
    order = models.PositiveSmallIntegerField(_("顺序"))
    name = models.CharField(_("材料名称"), max_length=255)
    requirement = models.CharField(
        _("必要性"), max_length=16, choices=MaterialRequirement.choices, default=MaterialRequirement.REQUIRED
    )
    condition = models.CharField(_("情形"), max_length=255, blank=True)
    form = models.CharField(_("材料形式"), max_length=24, choices=MaterialForm.choices, default=MaterialForm.ORIGINAL)
    copies = models.PositiveSmallIntegerField(_("份数"), default=1)
    source = models.CharField(
        _("来源渠道"), max_length=16, choices=MaterialSource.choices, default=MaterialSource.APPLICANT
    )
    blank_form = models.FileField(_("空白表格"), upload_to="catalog/forms/", blank=True)
    example_file = models.FileField(_("示例样表"), upload_to="catalog/examples/", blank=True)
    notes = models.TextField(_("填报须知"), blank=True)
    licence_type_code = models.CharField(_("可替代的电子证照类型"), max_length=32, blank=True)

    class Meta:
        ordering = ["implementation_id", "order"]
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")

    def __str__(self) -> str:
        return self.name


class ChangeAction(models.TextChoices):
    ADD = "add", _("新增")
    CHANGE = "change", _("变更")
    SPLIT = "split", _("拆分")
    MERGE = "merge", _("合并")
    SUSPEND = "suspend", _("暂停")
    RESUME = "resume", _("恢复")
    CANCEL = "cancel", _("取消")


class ChangeTarget(models.TextChoices):
    # Shown after the action ("新增实施清单"), so English needs its own, lower-case wording.
    ENTRY = "entry", pgettext_lazy("change target", "基本目录")
    IMPLEMENTATION = "implementation", pgettext_lazy("change target", "实施清单")


class ChangeState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    APPROVED = "approved", _("已发布")
    RETURNED = "returned", _("已退回")
    WITHDRAWN = "withdrawn", _("已撤回")


class CatalogueChange(models.Model):
    """A proposed change to the catalogue, drafted by an administrator and reviewed by another."""

    action = models.CharField(_("变更类型"), max_length=16, choices=ChangeAction.choices)
    target = models.CharField(_("对象"), max_length=16, choices=ChangeTarget.choices)
    entry = models.ForeignKey(
        CatalogueEntry,
        verbose_name=_("基本目录事项"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="changes",
    )
    implementation = models.ForeignKey(
        Implementation,
        verbose_name=_("实施清单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="changes",
    )
    # The region whose administrators may draft and review this change (scope of the change).
    region = models.ForeignKey("org.Region", verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+")
    payload = models.JSONField(_("变更内容"), default=dict)
    reason = models.TextField(_("变更理由"))
    state = models.CharField(_("状态"), max_length=16, choices=ChangeState.choices, default=ChangeState.DRAFT)
    batch = models.CharField(_("导入批次"), max_length=64, blank=True, db_index=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("起草人"), on_delete=models.PROTECT, related_name="+"
    )
    drafted_at = models.DateTimeField(_("起草时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.TextField(_("审核意见"), blank=True)

    class Meta:
        ordering = ["-drafted_at", "-id"]
        verbose_name = _("事项变更")
        verbose_name_plural = _("事项变更")
        indexes = [models.Index(fields=["state", "region"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.get_target_display()} #{self.pk}"


class CatalogueEntryVersion(models.Model):
    entry = models.ForeignKey(CatalogueEntry, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    snapshot = models.JSONField(_("内容"))
    change = models.ForeignKey(CatalogueChange, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("发布时间"))

    class Meta:
        ordering = ["entry_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["entry", "number"], name="entry_version_unique")]

    def __str__(self) -> str:
        return f"{self.entry_id} v{self.number}"


class ImplementationVersion(models.Model):
    """A published version of an implementation, as it was: cases point at the one they were filed under."""

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    snapshot = models.JSONField(_("内容"))
    change = models.ForeignKey(CatalogueChange, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("发布时间"))

    class Meta:
        ordering = ["implementation_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["implementation", "number"], name="implementation_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.implementation_id} v{self.number}"


class GuideBody(models.Model):
    """A guide's body as the portal rendered it for one version, language and layout (the
    ``key``, ``portal.views.guide_body_key``): derived data, kept in the database so that a
    reading after the shared cache was emptied or evicted is a read, not a rendering (which is
    about 60 % of such a reading's time). Written the first time a body is rendered; a new
    version, state or layout has a new key, and writing it removes the implementation's earlier
    bodies in that language."""

    implementation = models.ForeignKey(Implementation, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=16)
    key = models.CharField(max_length=255, unique=True)
    name = models.TextField()
    html = models.TextField()
    rendered_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key


class SearchSynonym(models.Model):
    """A colloquial term and the catalogue words it stands for (开公司 → 企业设立登记)."""

    term = models.CharField(_("用语"), max_length=64, unique=True)
    expansion = models.CharField(_("对应规范用语"), max_length=255)

    class Meta:
        ordering = ["term"]
        verbose_name = _("同义词")
        verbose_name_plural = _("同义词")

    def __str__(self) -> str:
        return f"{self.term} → {self.expansion}"


class SearchDocument(models.Model):
    """The search index row of a published implementation: jieba tokens, space-joined, by weight.

    Written only by ``catalog.search``. The full-text index itself is vendor-specific and lives
    beside this table (added by migrations, not declared here): on PostgreSQL a GIN index over the
    weighted tsvector of the four token groups and a generated ``rank_vector`` of the name and
    result groups (see ``catalog.search``), on SQLite an FTS5 table ``catalog_searchdocument_fts``
    whose rowid is the implementation id.
    """

    implementation = models.OneToOneField(
        Implementation, primary_key=True, on_delete=models.CASCADE, related_name="search_document"
    )
    # Weight A: the entry name.
    name_tokens = models.TextField(_("名称分词"), blank=True)
    # Weight B: the result name and the theme names.
    result_theme_tokens = models.TextField(_("结果与主题分词"), blank=True)
    # Weight C: the department name and the materials' names.
    department_material_tokens = models.TextField(_("部门与材料分词"), blank=True)
    # Weight D: acceptance conditions, legal basis and the entry's description.
    condition_basis_tokens = models.TextField(_("条件与依据分词"), blank=True)
    # The original text a result snippet is cut from, one passage per line.
    snippet_text = models.TextField(_("摘要原文"), blank=True)
    # What orders otherwise equal hits, kept here so that ranking reads this table alone: the
    # implementation's guide views as their binary order of magnitude (search.popularity_level,
    # moved by the job search_popularity_move, ADR 14) and the entry's name (written at each
    # publication, which re-indexes).
    popularity = models.PositiveIntegerField(_("热度等级"), default=0)
    sort_name = models.CharField(_("排序名称"), max_length=128, blank=True)
    refreshed_at = models.DateTimeField(_("索引时间"), auto_now=True)

    class Meta:
        verbose_name = _("检索文档")
        verbose_name_plural = _("检索文档")

    def __str__(self) -> str:
        return f"{self.implementation_id}"


class RealField(models.FloatField):
    """A single-precision float on PostgreSQL (``real``, what ts_rank returns), so a value kept
    reads back exactly as the function gives it; double precision elsewhere."""

    def db_type(self, connection: Any) -> str | None:
        return "real" if connection.vendor == "postgresql" else super().db_type(connection)


class SearchPosting(models.Model):
    """One word of one search document, with what orders that word's matches (ADR 14): a query
    of one word reads its page and its count from the index on these rows alone, in order,
    instead of visiting every match's document.

    PostgreSQL only (SQLite's FTS5 ranks the demo's few documents at once; the table stays empty
    there). Written only by ``catalog.search``, in the statement after the document's own, for
    the words a query can look up this way (``search.POSTING_WORD``); ``in_name``, ``score`` and
    ``sort_name`` are the document's for that word, ``popularity`` the document's, moved with it.
    """

    pk = models.CompositePrimaryKey("document_id", "word")
    document = models.ForeignKey(
        SearchDocument,
        on_delete=models.CASCADE,
        related_name="postings",
        db_column="implementation_id",
        # The primary key starts with it.
        db_index=False,
        # Rows written only from their document, in the same transaction, and deleted with it
        # (search.py, and Django's cascade); a checked constraint would queue a check per row,
        # 14 million of them when a catalogue of 100,000 is indexed at once.
        db_constraint=False,
    )
    word = models.TextField(_("词"))
    in_name = models.BooleanField(_("名称含此词"))
    # ts_rank of the document's rank_vector for the word alone, exactly as the query computes it.
    score = RealField(_("相关度"))
    popularity = models.PositiveIntegerField(_("热度等级"))
    sort_name = models.CharField(_("排序名称"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("检索倒排项")
        verbose_name_plural = _("检索倒排项")
        indexes = [
            # The ranking of search._ranked_page for one word, so a page is a range of this
            # index (and a synonym query's count an index-only scan of it).
            models.Index(
                fields=["word", "-in_name", "-score", "-popularity", "sort_name", "document"],
                name="catalog_posting_ranked",
            )
        ]

    def __str__(self) -> str:
        return f"{self.word} {self.document_id}"


class SearchGroupPosting(models.Model):
    """The postings of the words of a synonym query taken together, one row per document holding
    any of them (ADR 18): 社保 searches 社保 or 社会保险, and its matches are ranked by what each
    document holds of both, so a page is a range of this index instead of a grouping and sort of
    both words' 26,000 postings.

    PostgreSQL only, like ``SearchPosting``, from whose rows these are summed (``catalog.search``):
    ``words`` is the query's key (``search.group_key``: its words, then the longest of them),
    ``in_name`` how many of the words the name holds, ``held`` how many of the longest words the
    document holds, ``score`` the words' mean ts_rank in float8, as the query sums it."""

    pk = models.CompositePrimaryKey("document_id", "words")
    document = models.ForeignKey(
        SearchDocument,
        on_delete=models.CASCADE,
        related_name="group_postings",
        db_column="implementation_id",
        db_index=False,
        db_constraint=False,  # as SearchPosting's: written and deleted with the document
    )
    words = models.TextField(_("词组"))
    in_name = models.PositiveSmallIntegerField(_("名称所含词数"))
    held = models.PositiveSmallIntegerField(_("所含最长词数"))
    score = models.FloatField(_("相关度"))
    popularity = models.PositiveIntegerField(_("热度等级"))
    sort_name = models.CharField(_("排序名称"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("同义词组检索倒排项")
        verbose_name_plural = _("同义词组检索倒排项")
        indexes = [
            models.Index(
                fields=["words", "-in_name", "-held", "-score", "-popularity", "sort_name", "document"],
                name="catalog_groupposting_ranked",
            )
        ]

    def __str__(self) -> str:
        return f"{self.words} {self.document_id}"


class SearchWord(models.Model):
    """How many search documents hold a word that has postings (ADR 14): the number of matches
    of a one-word query, kept with the postings in the same transaction, so that a page of a
    broad word needs no count of its 59,000 postings. PostgreSQL only, like the postings."""

    word = models.TextField(_("词"), primary_key=True)
    documents = models.IntegerField(_("文档数"), default=0)

    class Meta:
        verbose_name = _("检索词")
        verbose_name_plural = _("检索词")

    def __str__(self) -> str:
        return f"{self.word} {self.documents}"


class Bundle(models.Model):
    """一件事: a life event served as one application over several catalogue entries.

    Each entry is carried out by the implementation of the applicant's chosen region; the form
    merges the items' fields (a field of the same name is asked once) and the material list
    merges their materials (a material of the same name is uploaded once).
    """

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    description = models.TextField(_("说明"), blank=True)
    audience = models.CharField(_("服务对象"), max_length=16, choices=Audience.choices)
    theme = models.ForeignKey(
        Theme, verbose_name=_("主题"), null=True, blank=True, on_delete=models.SET_NULL, related_name="bundles"
    )
    state = models.CharField(_("状态"), max_length=16, choices=ItemState.choices, default=ItemState.ACTIVE)

    class Meta:
        verbose_name = _("一件事")
        verbose_name_plural = _("一件事")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class BundleItem(models.Model):
    bundle = models.ForeignKey(Bundle, verbose_name=_("一件事"), on_delete=models.CASCADE, related_name="items")
    entry = models.ForeignKey(
        CatalogueEntry, verbose_name=_("事项"), on_delete=models.PROTECT, related_name="bundle_items"
    )
    order = models.PositiveSmallIntegerField(_("顺序"))
    department_kind = models.CharField(_("实施部门类别"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("一件事事项")
        verbose_name_plural = _("一件事事项")
        ordering = ["bundle", "order"]
        constraints = [models.UniqueConstraint(fields=["bundle", "entry"], name="bundle_item_unique")]

    def __str__(self) -> str:
        return f"{self.bundle} · {self.entry}"
