"""The one login page (citizens and staff), registration, sessions and password pages. Views
parse, call a service, render."""

from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from govhall.accounts import authentication, registration, totp
from govhall.accounts.authentication import LoginRefused, client_address
from govhall.accounts.forms import (
    ActivationCodeForm,
    CodeLoginForm,
    PasswordChangeForm,
    PasswordLoginForm,
    RegistrationForm,
    TotpCodeForm,
)
from govhall.accounts.one_time_codes import CodeSendRefused


def citizen_login_required(view):
    """Like login_required, but always to the login page of this app, whatever LOGIN_URL says."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?next={request.get_full_path()}")
        return view(request, *args, **kwargs)

    return wrapper


def _safe_next(request: HttpRequest) -> str:
    """The ``next`` of this request when it stays on this site, else ""."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _next_url(request: HttpRequest, *, default: str = "accounts:account") -> str:
    """Where to go after login: ``next`` when safe, else ``default`` (citizens their account
    page, staff the workbench)."""
    return _safe_next(request) or reverse(default)


def _with_next(request: HttpRequest, url: str) -> str:
    """``url`` carrying this request's ``next`` on to the following step."""
    next_url = _safe_next(request)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _login_page(
    request: HttpRequest,
    *,
    password_form: PasswordLoginForm | None = None,
    code_form: CodeLoginForm | None = None,
    code_sent: bool = False,
    status: int = 200,
) -> HttpResponse:
    context = {
        "password_form": password_form or PasswordLoginForm(),
        "code_form": code_form or CodeLoginForm(),
        "code_sent": code_sent,
        "next": _safe_next(request),
    }
    return render(request, "accounts/login.html", context, status=status)


@require_http_methods(["GET", "POST"])
def login_by_password(request: HttpRequest) -> HttpResponse:
    """Everyone's login: a citizen is logged in here; a staff member goes on to the second step."""
    if request.method == "GET":
        return _login_page(request)
    form = PasswordLoginForm(request.POST)
    if not form.is_valid():
        return _login_page(request, password_form=form, status=400)
    try:
        accepted = totp.account_authenticate_by_password(
            login_name=form.cleaned_data["login_name"],
            password=form.cleaned_data["password"],
            address=client_address(request),
        )
    except LoginRefused as refused:
        form.add_error(None, refused.message)
        return _login_page(request, password_form=form, status=400)
    if accepted.pending is not None:
        totp.staff_login_pending_start(request=request, pending=accepted.pending)
        return redirect(_with_next(request, reverse("accounts:login_verify")))
    authentication.session_start(request=request, user=accepted.user, method="password")
    return redirect(_next_url(request))


@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """A staff member's second step: the code from the app; or, without a device yet, the
    activation code, then the new secret to scan and a first code to confirm it."""
    pending = totp.staff_login_pending_get(request=request)
    if pending is None:
        return redirect(_with_next(request, reverse("accounts:login")))
    if pending.step == totp.PendingStep.ACTIVATION:
        return _login_activation(request, pending)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if pending.step == totp.PendingStep.ENROLMENT:
                totp.staff_enrolment_complete(request=request, pending=pending, code=form.cleaned_data["code"])
            else:
                totp.staff_login_complete(request=request, pending=pending, code=form.cleaned_data["code"])
        except LoginRefused as refused:
            form.add_error("code" if refused.field == "code" else None, refused.message)
        else:
            return redirect(_next_url(request, default="workbench:index"))
    context = {"form": form, "step": pending.step.value, "next": _safe_next(request)}
    if pending.step == totp.PendingStep.ENROLMENT:
        secret = totp.staff_totp_enrolment_secret(pending=pending)
        # The SVG is drawn by segno from the otpauth URI; nothing in it comes from the request.
        context.update(secret=secret.secret, otpauth_uri=secret.uri, qr_svg=mark_safe(secret.qr_svg))
    return render(request, "accounts/login_verify.html", context, status=400 if form.errors else 200)


def _login_activation(request: HttpRequest, pending: totp.PendingLogin) -> HttpResponse:
    form = ActivationCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            totp.staff_enrolment_start(
                request=request, pending=pending, activation_code=form.cleaned_data["activation_code"]
            )
        except LoginRefused as refused:
            form.add_error("activation_code" if refused.field == "activation_code" else None, refused.message)
        else:
            # The secret is shown on a GET of the same page, so a reload does not resubmit the code.
            return redirect(_with_next(request, reverse("accounts:login_verify")))
    context = {"form": form, "step": pending.step.value, "next": _safe_next(request)}
    return render(request, "accounts/login_verify.html", context, status=400 if form.errors else 200)


@require_POST
def login_by_code(request: HttpRequest) -> HttpResponse:
    """Two steps on one form: "send" sends the code, "login" checks it."""
    form = CodeLoginForm(request.POST)
    if not form.is_valid():
        return _login_page(request, code_form=form, status=400)
    phone = form.cleaned_data["phone"]
    if request.POST.get("action") == "send":
        problem = registration.phone_problem_message(phone)
        if problem:
            form.add_error("phone", problem)
            return _login_page(request, code_form=form, status=400)
        try:
            sent = authentication.citizen_login_code_send(phone=phone, address=client_address(request))
        except CodeSendRefused as refused:
            form.add_error("phone", refused.message)
            return _login_page(request, code_form=form, status=400)
        messages.info(
            request, _("如该手机号已注册，验证码已发送至 %(phone)s，10 分钟内有效。") % {"phone": sent.phone_masked}
        )
        return _login_page(request, code_form=CodeLoginForm(initial={"phone": phone}), code_sent=True)
    if not form.cleaned_data["code"]:
        form.add_error("code", _("请填写短信验证码。"))
        return _login_page(request, code_form=form, code_sent=True, status=400)
    try:
        user = authentication.citizen_authenticate_by_code(
            phone=phone, code=form.cleaned_data["code"], address=client_address(request)
        )
    except LoginRefused as refused:
        form.add_error("code" if refused.field == "code" else None, refused.message)
        return _login_page(request, code_form=form, code_sent=True, status=400)
    authentication.session_start(request=request, user=user, method="one_time_code")
    return redirect(_next_url(request))


@require_POST
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    authentication.user_logout(request=request)
    messages.info(request, _("您已退出登录，所有设备上的登录均已结束。"))
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "accounts/register.html", {"form": RegistrationForm()})
    if request.POST.get("action") == "send_code":
        kept = {name: request.POST.get(name, "") for name in RegistrationForm.KEPT_ON_RESEND}
        form = RegistrationForm(initial=kept)
        try:
            sent = registration.registration_code_send(phone=kept["phone"], address=client_address(request))
        except CodeSendRefused as refused:
            form = RegistrationForm(request.POST)
            form.errors.clear()
            form.add_error("phone", refused.message)
            return render(request, "accounts/register.html", {"form": form}, status=400)
        messages.info(request, _("验证码已发送至 %(phone)s，10 分钟内有效。") % {"phone": sent.phone_masked})
        return render(request, "accounts/register.html", {"form": form, "code_sent": True})
    form = RegistrationForm(request.POST)
    if not form.is_valid():
        _add_registration_problems(form)
    else:
        try:
            user = registration.person_register(
                identity_number=form.cleaned_data["identity_number"],
                name=form.cleaned_data["name"],
                phone=form.cleaned_data["phone"],
                password=form.cleaned_data["password1"],
                code=form.cleaned_data["code"],
                address=client_address(request),
            )
        except registration.RegistrationRefused as refused:
            _add_errors(form, refused.errors)
        else:
            authentication.session_start(request=request, user=user, method="registration")
            messages.success(request, _("注册成功，您已登录。当前实名认证等级为 L1。"))
            return redirect("accounts:sessions")
    return render(request, "accounts/register.html", {"form": form}, status=400)


def _add_errors(form: RegistrationForm, errors: dict[str, list[str]]) -> None:
    for field, field_messages in errors.items():
        target = None if field == "__all__" else ("password1" if field == "password" else field)
        for message in field_messages:
            if target is None or target not in form.errors:
                form.add_error(target, message)


def _add_registration_problems(form: RegistrationForm) -> None:
    """The form lacks something (say, the code); still tell every other field's problem at once."""
    data = form.data
    problems = registration.registration_problems(
        identity_number=data.get("identity_number", "").strip().upper(),
        name=data.get("name", ""),
        phone=data.get("phone", ""),
        password=data.get("password1", ""),
    )
    _add_errors(form, problems)


@citizen_login_required
def session_list(request: HttpRequest) -> HttpResponse:
    sessions = authentication.user_sessions_current(user=request.user)
    return render(
        request,
        "accounts/sessions.html",
        {"sessions": sessions, "current_key": request.session.session_key},
    )


@require_POST
@citizen_login_required
def session_end_view(request: HttpRequest, session_id: int) -> HttpResponse:
    user_session = authentication.user_session_get_for_owner(session_id=session_id, user=request.user)
    if user_session is None:
        raise Http404
    is_current = user_session.session_key == request.session.session_key
    authentication.session_end(request=request, user_session=user_session)
    if is_current:
        return redirect("accounts:login")
    messages.success(request, _("已结束该登录会话。"))
    return redirect("accounts:sessions")


@require_http_methods(["GET", "POST"])
@citizen_login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        authentication.user_password_change(
            request=request,
            user=request.user,  # type: ignore[arg-type]  # citizen_login_required: never anonymous here
            new_password=form.cleaned_data["new_password1"],
        )
        messages.success(request, _("密码已修改，所有设备上的登录均已结束，请用新密码登录。"))
        return redirect("accounts:login")
    return render(request, "accounts/password_change.html", {"form": form}, status=400 if form.errors else 200)
