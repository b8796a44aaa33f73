"""Electronic licences (电子证照, GB/T 36901–36905) and the seals that sign them (GB/T 38540).

A licence type (证照目录) says who issues it, to whom, for how long and which fields it carries.
A licence is issued from a case (or loaded from a department's records) to a person or a
company; each issue or renewal is a version with its own identifier and its own signed PDF. The
licence's status (valid, suspended, revoked, expired) is what every verification answers.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class HolderKind(models.TextChoices):
    PERSON = "person", _("自然人")
    COMPANY = "company", _("法人")
    # For a licence type only (食品经营许可证 goes to sole traders and companies alike).
    ANY = "any", _("自然人或法人")


class LicenceType(models.Model):
    """证照目录: one kind of licence (GB/T 36902 / 36903)."""

    code = models.CharField(_("证照类型代码"), max_length=32, unique=True)
    name = models.CharField(_("证照名称"), max_length=128)
    holder_kind = models.CharField(_("持证主体类别"), max_length=16, choices=HolderKind.choices)
    # Kinds of department (org.Department.kind) that may issue it; empty: any department.
    issuer_kinds = models.JSONField(_("颁证部门类别"), default=list, blank=True)
    # Validity in months from the day of issue; 0 means long-term (长期有效).
    validity_months = models.PositiveSmallIntegerField(_("有效期（月）"), default=0)
    # The fields the licence carries, in order: [{"name", "label", "source", "required"}]; the
    # source says where issuing takes the value from ("form.<field>", "case.<attribute>",
    # "holder.name", "holder.identifier", "decision.reasons", "officer").
    fields = models.JSONField(_("照面信息项"), default=list)
    # The layout: {"title", "subtitle", "orientation": "portrait"|"landscape", "notes"}.
    layout = models.JSONField(_("版式模板"), default=dict, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("证照类型")
        verbose_name_plural = _("证照目录")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SealAlgorithm(models.TextChoices):
    ECDSA_P256 = "ecdsa-p256", _("ECDSA P-256")
    RSA_2048 = "rsa-2048", _("RSA 2048")
    SM2 = "sm2", _("SM2（GB/T 38540）")


class Seal(models.Model):
    """电子印章: a department's signing certificate, issued by the platform's CA.

    The private key is never in the database: ``key_reference`` names where the signer finds it
    (a file path under GOVHALL_SEAL_DIR, or a PKCS#11 URI in production).
    """

    department = models.ForeignKey(
        "org.Department", verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="seals"
    )
    name = models.CharField(_("印章名称"), max_length=128)
    algorithm = models.CharField(_("算法"), max_length=16, choices=SealAlgorithm.choices)
    certificate_pem = models.TextField(_("印章证书"))
    certificate_serial = models.CharField(_("证书序列号"), max_length=64, unique=True)
    certificate_sha256 = models.CharField(_("证书指纹"), max_length=64, unique=True)
    key_reference = models.CharField(_("私钥位置"), max_length=255)
    not_before = models.DateTimeField(_("生效时间"))
    not_after = models.DateTimeField(_("失效时间"))
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("电子印章")
        verbose_name_plural = _("电子印章")
        ordering = ["department_id", "-not_after"]

    def __str__(self) -> str:
        return self.name


class LicenceStatus(models.TextChoices):
    VALID = "valid", _("有效")
    SUSPENDED = "suspended", _("暂停")
    REVOKED = "revoked", _("已注销")
    EXPIRED = "expired", _("已过期")


class Licence(models.Model):
    """One licence for its whole life; ``current_version`` holds the version now in force."""

    licence_type = models.ForeignKey(
        LicenceType, verbose_name=_("证照类型"), on_delete=models.PROTECT, related_name="licences"
    )
    issuer = models.ForeignKey(
        "org.Department", verbose_name=_("颁证部门"), on_delete=models.PROTECT, related_name="licences"
    )
    issuer_code = models.CharField(_("颁证单位统一社会信用代码"), max_length=18)
    serial = models.CharField(_("证照流水号"), max_length=16)
    number = models.CharField(_("证照编号"), max_length=64, unique=True)  # printed on the licence
    holder_kind = models.CharField(_("持证主体类别"), max_length=16, choices=HolderKind.choices)
    person = models.ForeignKey(
        "accounts.Person", verbose_name=_("持证人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    company = models.ForeignKey(
        "accounts.Company",
        verbose_name=_("持证单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="licences",
    )
    holder_name = models.CharField(_("持证主体"), max_length=255)
    # Masked identity number, or the company's credit code (public).
    holder_identifier_masked = models.CharField(_("持证主体代码"), max_length=32)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("来源办件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="licences",
    )
    status = models.CharField(_("状态"), max_length=16, choices=LicenceStatus.choices, default=LicenceStatus.VALID)
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    identifier = models.CharField(_("证照标识"), max_length=128, unique=True)  # of the current version
    fields = models.JSONField(_("照面信息"), default=dict)
    issued_on = models.DateField(_("颁证日期"))
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)  # null: long-term
    status_reason = models.TextField(_("状态原因"), blank=True)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("电子证照")
        verbose_name_plural = _("电子证照")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["licence_type", "issuer_code", "serial"], name="licence_serial_unique"),
        ]
        indexes = [
            models.Index(fields=["person", "licence_type"]),
            models.Index(fields=["company", "licence_type"]),
            models.Index(fields=["status", "valid_until"]),
        ]

    def __str__(self) -> str:
        return f"{self.licence_type.name} {self.number}"


class LicenceVersion(models.Model):
    """One issued version of a licence: its identifier, its fields and its signed PDF."""

    licence = models.ForeignKey(Licence, verbose_name=_("电子证照"), on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveSmallIntegerField(_("版本"))
    identifier = models.CharField(_("证照标识"), max_length=128, unique=True)
    fields = models.JSONField(_("照面信息"), default=dict)
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    document = models.FileField(_("版式文件"), upload_to="licences/", max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    seal = models.ForeignKey(Seal, verbose_name=_("签章"), on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(_("签章时间"))
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签发人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("证照版本")
        verbose_name_plural = _("证照版本")
        ordering = ["licence_id", "version"]
        constraints = [models.UniqueConstraint(fields=["licence", "version"], name="licence_version_unique")]

    def __str__(self) -> str:
        return self.identifier


class LicenceEvent(models.Model):
    """Issue, renew, suspend, resume, revoke, expire: each change of a licence, kept for ever."""

    licence = models.ForeignKey(Licence, verbose_name=_("电子证照"), on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=16)
    at = models.DateTimeField(_("时间"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveSmallIntegerField(_("版本"))
    reason = models.TextField(_("原因"), blank=True)

    class Meta:
        verbose_name = _("证照变更记录")
        verbose_name_plural = _("证照变更记录")
        ordering = ["licence_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.licence} · {self.action}"


class LicenceSerialSequence(models.Model):
    """The last serial given per licence type and issuer; advanced by one INSERT … ON CONFLICT."""

    type_code = models.CharField(max_length=32)
    issuer_code = models.CharField(max_length=18)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["type_code", "issuer_code"], name="licence_serial_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.type_code}.{self.issuer_code}: {self.last}"


class LicenceShare(models.Model):
    """A link the holder hands out: whoever has it sees the licence until it expires or is
    withdrawn. Only an HMAC of the token is kept."""

    licence = models.ForeignKey(Licence, verbose_name=_("电子证照"), on_delete=models.CASCADE, related_name="shares")
    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(_("用途"), max_length=128, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("分享人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("分享时间"))
    expires_at = models.DateTimeField(_("有效至"))
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    views = models.PositiveIntegerField(_("查看次数"), default=0)

    class Meta:
        verbose_name = _("证照分享")
        verbose_name_plural = _("证照分享")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.licence} · {self.expires_at:%Y-%m-%d %H:%M}"


class LicenceLookupClient(models.Model):
    """A department system allowed to look licences up by holder and type (OAuth2 client
    credentials with scope ``licences``); every look-up is in the audit trail."""

    application = models.OneToOneField(
        "oauth2_provider.Application",
        verbose_name=_("接入系统"),
        on_delete=models.CASCADE,
        related_name="licence_lookup",
    )
    department = models.ForeignKey(
        "org.Department", verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("证照查询接入系统")
        verbose_name_plural = _("证照查询接入系统")

    def __str__(self) -> str:
        return f"{self.application} · {self.department}"
