"""Citizen login, registration, sessions and password pages. Views parse, call a service, render."""

from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from govhall.accounts import authentication, registration
from govhall.accounts.authentication import LoginRefused, client_address
from govhall.accounts.forms import CodeLoginForm, PasswordChangeForm, PasswordLoginForm, RegistrationForm
from govhall.accounts.one_time_codes import CodeSendRefused


def citizen_login_required(view):
    """Like login_required, but sends people to the citizen login rather than the workbench's."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?next={request.get_full_path()}")
        return view(request, *args, **kwargs)

    return wrapper


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("portal:home")


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
        "next": _next_url(request) if (request.POST.get("next") or request.GET.get("next")) else "",
    }
    return render(request, "accounts/login.html", context, status=status)


@require_http_methods(["GET", "POST"])
def login_by_password(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _login_page(request)
    form = PasswordLoginForm(request.POST)
    if not form.is_valid():
        return _login_page(request, password_form=form, status=400)
    try:
        user = authentication.citizen_authenticate_by_password(
            login_name=form.cleaned_data["login_name"],
            password=form.cleaned_data["password"],
            address=client_address(request),
        )
    except LoginRefused as refused:
        form.add_error(None, refused.message)
        return _login_page(request, password_form=form, status=400)
    authentication.session_start(request=request, user=user, method="password")
    return redirect(_next_url(request))


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
