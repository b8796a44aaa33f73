"""People and staff.

The identity issue grows this app (identity numbers, companies, assurance levels, two factors);
the foundation needs only staff with roles bound to a department, which scope what they may do.
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.TextChoices):
    WINDOW_CLERK = "window_clerk", _("窗口人员")
    REVIEWER = "reviewer", _("审批人员")
    DECIDER = "decider", _("决定人员")
    DEPARTMENT_ADMINISTRATOR = "department_administrator", _("部门管理员")
    SUPERVISOR = "supervisor", _("监察人员")
    CATALOGUE_ADMINISTRATOR = "catalogue_administrator", _("事项管理员")
    CATALOGUE_REVIEWER = "catalogue_reviewer", _("事项审核员")
    SYSTEM_ADMINISTRATOR = "system_administrator", _("系统管理员")
    SECURITY_ADMINISTRATOR = "security_administrator", _("安全管理员")
    AUDITOR = "auditor", _("安全审计员")


class StaffAssignment(models.Model):
    """A role a staff member holds in a department; the department's region bounds its scope."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey(
        "org.Department", verbose_name=_("部门"), on_delete=models.PROTECT, related_name="staff_assignments"
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        constraints = [
            models.UniqueConstraint(fields=["user", "department", "role"], name="staff_assignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.department} · {self.get_role_display()}"


class AssuranceLevel(models.IntegerChoices):
    """Real-name assurance levels (DOMAIN.md, "Identity assurance")."""

    L1 = 1, _("L1 自行声明")
    L2 = 2, _("L2 身份信息核验")
    L3 = 3, _("L3 本人实人核验")
    L4 = 4, _("L4 数字证书或窗口核验")


class AssuranceMethod(models.TextChoices):
    SELF_DECLARED = "self_declared", _("自行声明")
    REGISTRY = "registry", _("人口库比对")
    FACE = "face", _("人脸核验")
    CERTIFICATE = "certificate", _("数字证书")
    WINDOW = "window", _("窗口核验")


class Person(models.Model):
    """A natural person's identity, bound to one login account.

    The identity number and phone are stored encrypted, with a blind index for look-up and a
    masked copy for screens (govhall/accounts/privacy.py); never in clear.
    """

    user = models.OneToOneField(User, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="person")
    name = models.CharField(_("姓名"), max_length=64)
    identity_number_encrypted = models.CharField(_("身份证号（密文）"), max_length=255)
    identity_number_index = models.CharField(_("身份证号索引"), max_length=64, unique=True)
    identity_number_masked = models.CharField(_("身份证号"), max_length=18)
    phone_encrypted = models.CharField(_("手机号（密文）"), max_length=255)
    phone_index = models.CharField(_("手机号索引"), max_length=64, unique=True)
    phone_masked = models.CharField(_("手机号"), max_length=16)
    email = models.EmailField(_("电子邮箱"), blank=True)
    assurance_level = models.PositiveSmallIntegerField(
        _("实名认证等级"), choices=AssuranceLevel.choices, default=AssuranceLevel.L1
    )
    assurance_method = models.CharField(
        _("认证方式"), max_length=16, choices=AssuranceMethod.choices, default=AssuranceMethod.SELF_DECLARED
    )
    assured_at = models.DateTimeField(_("认证时间"))
    registered_at = models.DateTimeField(_("注册时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("自然人")
        verbose_name_plural = _("自然人")

    def __str__(self) -> str:
        return f"{self.name[:1]}** {self.identity_number_masked}"


class CompanyKind(models.TextChoices):
    LIMITED_COMPANY = "limited_company", _("有限责任公司")
    JOINT_STOCK = "joint_stock", _("股份有限公司")
    SOLE_PROPRIETORSHIP = "sole_proprietorship", _("个人独资企业")
    PARTNERSHIP = "partnership", _("合伙企业")
    INDIVIDUAL_BUSINESS = "individual_business", _("个体工商户")
    SOCIAL_ORGANISATION = "social_organisation", _("社会组织")
    PUBLIC_INSTITUTION = "public_institution", _("事业单位")
    OTHER = "other", _("其他")


class Company(models.Model):
    """A legal person (法人), identified by its unified social credit code (public, not encrypted)."""

    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=255)
    kind = models.CharField(_("类型"), max_length=32, choices=CompanyKind.choices)
    legal_representative = models.ForeignKey(
        Person, verbose_name=_("法定代表人"), on_delete=models.PROTECT, related_name="represented_companies"
    )
    assurance_level = models.PositiveSmallIntegerField(
        _("认证等级"), choices=AssuranceLevel.choices, default=AssuranceLevel.L1
    )
    registered_at = models.DateTimeField(_("注册时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("法人")
        verbose_name_plural = _("法人")

    def __str__(self) -> str:
        return f"{self.name}（{self.credit_code}）"


class Agency(models.Model):
    """A legal representative's authorisation of a person to act for the company (经办人授权)."""

    company = models.ForeignKey(Company, verbose_name=_("法人"), on_delete=models.CASCADE, related_name="agencies")
    agent = models.ForeignKey(Person, verbose_name=_("经办人"), on_delete=models.CASCADE, related_name="agencies")
    all_services = models.BooleanField(_("全部事项"), default=False)
    services = models.ManyToManyField(
        "catalog.CatalogueEntry", verbose_name=_("授权事项"), blank=True, related_name="agencies"
    )
    valid_until = models.DateField(_("授权截止日期"))
    granted_by = models.ForeignKey(Person, verbose_name=_("授权人"), on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(_("授权时间"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("经办人授权")
        verbose_name_plural = _("经办人授权")
        indexes = [models.Index(fields=["agent", "company"])]

    def __str__(self) -> str:
        return f"{self.company} → {self.agent}"


class RegistryPerson(models.Model):
    """The population registry as the built-in adapter sees it (demo people); real deployments
    check against the population database through another adapter."""

    name = models.CharField(_("姓名"), max_length=64)
    identity_number_index = models.CharField(_("身份证号索引"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("人口库记录（演示）")
        verbose_name_plural = _("人口库记录（演示）")

    def __str__(self) -> str:
        return f"{self.name[:1]}**"


class RegistryCompany(models.Model):
    """The legal-person registry as the built-in adapter sees it (demo companies)."""

    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=255)
    kind = models.CharField(_("类型"), max_length=32, choices=CompanyKind.choices)
    legal_representative_index = models.CharField(_("法定代表人身份证号索引"), max_length=64)

    class Meta:
        verbose_name = _("法人库记录（演示）")
        verbose_name_plural = _("法人库记录（演示）")

    def __str__(self) -> str:
        return self.name


class OneTimeCodePurpose(models.TextChoices):
    REGISTRATION = "registration", _("注册")
    LOGIN = "login", _("登录")
    PHONE_CHANGE = "phone_change", _("更换手机号")


class OneTimeCode(models.Model):
    """A code sent by SMS: single use, valid 10 minutes, at most 10 tries; only its hash is kept."""

    phone_index = models.CharField(_("手机号索引"), max_length=64, db_index=True)
    purpose = models.CharField(_("用途"), max_length=16, choices=OneTimeCodePurpose.choices)
    code_hash = models.CharField(_("验证码摘要"), max_length=128)
    created_at = models.DateTimeField(_("发送时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)
    address = models.GenericIPAddressField(_("请求地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("一次性验证码")
        verbose_name_plural = _("一次性验证码")
        indexes = [models.Index(fields=["phone_index", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


class LoginFailure(models.Model):
    """A failed login, kept to lock accounts and throttle addresses."""

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    address = models.GenericIPAddressField(_("地址"), null=True, blank=True)
    at = models.DateTimeField(_("时间"), db_index=True)

    class Meta:
        verbose_name = _("登录失败")
        verbose_name_plural = _("登录失败")
        indexes = [models.Index(fields=["user", "-at"]), models.Index(fields=["address", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S}"


class UserSession(models.Model):
    """A signed-in session, so people can see and end their own sessions and logout ends all."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("登录时间"))
    last_seen_at = models.DateTimeField(_("最近活动"))
    address = models.GenericIPAddressField(_("地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class TotpActivationCode(models.Model):
    """A one-time code a security administrator issues so that a staff member can enrol their
    TOTP app at the login (a password alone never binds a second factor): valid 72 hours, single
    use, and only its hash is kept (govhall/accounts/totp.py)."""

    user = models.ForeignKey(
        User, verbose_name=_("工作人员"), on_delete=models.CASCADE, related_name="totp_activation_codes"
    )
    code_hash = models.CharField(_("激活码摘要"), max_length=128)
    issued_by = models.ForeignKey(
        User, verbose_name=_("签发人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("签发时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("动态口令激活码")
        verbose_name_plural = _("动态口令激活码")
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"
