"""Forms of the citizen login, registration and account pages. They check presence and shape;
the rules (identity numbers, duplicates, codes, lockout) live in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _


class PasswordLoginForm(forms.Form):
    """The one login form: citizens give an identity number or phone, staff their username."""

    login_name = forms.CharField(
        label=_("身份证号或手机号（工作人员填用户名）"),
        max_length=150,
        error_messages={"required": _("请填写身份证号、手机号或用户名。")},
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("密码"),
        max_length=128,
        strip=False,
        error_messages={"required": _("请填写密码。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeLoginForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"),
        max_length=11,
        error_messages={"required": _("请填写手机号。")},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "numeric"}),
    )
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class TotpCodeForm(forms.Form):
    """A staff member's code from the authenticator app (the login's second step, and the
    confirmation of a newly enrolled app)."""

    code = forms.CharField(
        label=_("动态口令"),
        max_length=6,
        min_length=6,
        help_text=_("请输入验证器（TOTP）应用当前显示的 6 位数字。"),
        error_messages={"required": _("请填写动态口令。")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ActivationCodeForm(forms.Form):
    """The activation code a security administrator issued, for a staff member's first login."""

    activation_code = forms.CharField(
        label=_("激活码"),
        max_length=32,
        help_text=_("安全管理员签发给您的 16 位激活码，72 小时内有效，只能使用一次。"),
        error_messages={"required": _("请填写激活码。")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class RegistrationForm(forms.Form):
    identity_number = forms.CharField(
        label=_("身份证号"), max_length=18, error_messages={"required": _("请填写身份证号。")}
    )
    name = forms.CharField(label=_("姓名"), max_length=64, error_messages={"required": _("请填写姓名。")})
    phone = forms.CharField(
        label=_("手机号"),
        max_length=11,
        error_messages={"required": _("请填写手机号。")},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "numeric"}),
    )
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        required=False,
        help_text=_("先填写手机号并点击“获取验证码”，验证码见短信。"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    password1 = forms.CharField(
        label=_("密码"),
        strip=False,
        required=False,
        help_text=_("至少 10 位，不能全是数字，不能过于常见。"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("确认密码"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    KEPT_ON_RESEND = ("identity_number", "name", "phone")

    def clean(self):
        cleaned = super().clean() or {}
        if not cleaned.get("password1"):
            self.add_error("password1", _("请设置密码。"))
        elif cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        if not cleaned.get("code"):
            self.add_error("code", _("请填写短信验证码。"))
        return cleaned


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("当前密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1 = forms.CharField(
        label=_("新密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_old_password(self) -> str:
        value = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise forms.ValidationError(_("当前密码不正确。"))
        return value

    def clean(self):
        from django.contrib.auth.password_validation import validate_password

        cleaned = super().clean() or {}
        new = cleaned.get("new_password1")
        if new and new != cleaned.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        elif new:
            try:
                validate_password(new, user=self.user)
            except forms.ValidationError as invalid:
                self.add_error("new_password1", invalid)
        return cleaned
