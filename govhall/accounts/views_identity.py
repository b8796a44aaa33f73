"""The citizen's own account: identity and assurance level, companies and their agents."""

from datetime import date

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from govhall.accounts import selectors, services
from govhall.accounts.authentication import client_address
from govhall.accounts.models import Agency, AssuranceLevel, Company, Person
from govhall.accounts.views import citizen_login_required
from govhall.catalog.selectors import entry_list_active


class AssuranceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("姓名"), max_length=64)


class CompanyRegisterForm(forms.Form):
    credit_code = forms.CharField(label=gettext_lazy("统一社会信用代码"), max_length=18, min_length=18)


class AgencyGrantForm(forms.Form):
    agent_name = forms.CharField(label=gettext_lazy("经办人姓名"), max_length=64)
    agent_identity_number = forms.CharField(label=gettext_lazy("经办人身份证号"), max_length=18, min_length=18)
    valid_until = forms.DateField(label=gettext_lazy("授权截止日期"), widget=forms.DateInput(attrs={"type": "date"}))
    all_services = forms.BooleanField(label=gettext_lazy("授权办理全部事项"), required=False)
    services = forms.MultipleChoiceField(label=gettext_lazy("或只授权以下事项"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        services_field = self.fields["services"]
        assert isinstance(services_field, forms.MultipleChoiceField)
        services_field.choices = [(entry.basic_code, entry.name) for entry in entry_list_active()]


def _person_of(request: HttpRequest) -> Person:
    """Guard: the signed-in person's own identity (staff accounts have none: not found)."""
    # The reverse one-to-one raises an AttributeError subclass when there is no person.
    person = getattr(request.user, "person", None)
    if person is None:
        raise Http404
    return person


def _company_for(person: Person, credit_code: str) -> Company:
    """Guard: a company the person may act for, else not found (codes cannot be probed)."""
    for capacity in selectors.person_acting_capacities(person=person):
        if capacity.company.credit_code == credit_code:
            return capacity.company
    raise Http404


@citizen_login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    person = _person_of(request)
    form = AssuranceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_assurance_raise_by_registry(
                person=person, name=form.cleaned_data["name"], address=client_address(request)
            )
        except services.IdentityRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(request, _("实名核验通过，您的认证等级已提升到L2。"))
            return redirect("accounts:account")
    return render(
        request,
        "accounts/account.html",
        {
            "person": person,
            "form": form,
            "may_raise": person.assurance_level < AssuranceLevel.L2,
            "capacities": selectors.person_acting_capacities(person=person),
        },
    )


@citizen_login_required
@require_http_methods(["GET", "POST"])
def company_register(request: HttpRequest) -> HttpResponse:
    person = _person_of(request)
    form = CompanyRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            company = services.company_register(
                representative=person, credit_code=form.cleaned_data["credit_code"], address=client_address(request)
            )
        except services.IdentityRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(request, _("法人登记成功。"))
            return redirect("accounts:company", credit_code=company.credit_code)
    return render(request, "accounts/company_register.html", {"form": form, "person": person})


@citizen_login_required
@require_http_methods(["GET", "POST"])
def company(request: HttpRequest, credit_code: str) -> HttpResponse:
    person = _person_of(request)
    company = _company_for(person, credit_code)
    is_representative = company.legal_representative_id == person.pk
    form = AgencyGrantForm(request.POST or None) if is_representative else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            chosen = form.cleaned_data["services"]
            try:
                services.agency_grant(
                    company=company,
                    granted_by=person,
                    agent_identity_number=form.cleaned_data["agent_identity_number"],
                    agent_name=form.cleaned_data["agent_name"],
                    valid_until=form.cleaned_data["valid_until"],
                    all_services=form.cleaned_data["all_services"],
                    services=[entry for entry in entry_list_active() if entry.basic_code in chosen],
                    address=client_address(request),
                )
            except services.IdentityRefused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                messages.success(request, _("已授权经办人。"))
                return redirect("accounts:company", credit_code=company.credit_code)
    return render(
        request,
        "accounts/company.html",
        {
            "company": company,
            "is_representative": is_representative,
            "agencies": selectors.company_agencies(company=company) if is_representative else [],
            "form": form,
            "today": date.today(),  # noqa: DTZ011 - compared with calendar dates
        },
    )


@citizen_login_required
@require_POST
def agency_withdraw(request: HttpRequest, credit_code: str, agency_id: int) -> HttpResponse:
    person = _person_of(request)
    company = _company_for(person, credit_code)
    agency = Agency.objects.filter(pk=agency_id, company=company).first()
    if agency is None or company.legal_representative_id != person.pk:
        raise Http404
    services.agency_withdraw(agency=agency, by=person, address=client_address(request))
    messages.success(request, _("已撤销授权。"))
    return redirect(reverse("accounts:company", kwargs={"credit_code": credit_code}))
