"""Single sign-on: a real authorization-code flow with PKCE over HTTP against the live server,
driven by an independent OpenID Connect client (Authlib), as a department system would run it."""

import hashlib
import io
import re
import secrets
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet
from oauth2_provider.models import AccessToken, RefreshToken

from govhall.accounts import services
from govhall.accounts.models import AssuranceLevel
from govhall.accounts.oidc import oidc_client_create, oidc_login_url, oidc_subject
from tests.accounts.test_companies import registry_company
from tests.factories import identity_number_for, make_person

REDIRECT_URI = "http://department.example/callback"
SCOPE = "openid profile phone assurance company"
PASSWORD = "a-long-test-password"


class _Forms(HTMLParser):
    """Each form of a page: its attributes and the name/value pairs of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[dict, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append((attributes, {}))
        if tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1][1][attributes["name"]] = attributes.get("value") or ""


def form_inputs(html: str, **wanted: str) -> dict[str, str]:
    """The inputs of the form whose attributes match ``wanted`` (the page has other forms: the
    language switch in the header)."""
    parser = _Forms()
    parser.feed(html)
    return next(fields for attributes, fields in parser.forms if wanted.items() <= attributes.items())


def citizen_logs_in(browser: requests.Session, base: str, login_name: str) -> None:
    page = browser.get(f"{base}/accounts/login/")
    token = form_inputs(page.text, action="/accounts/login/")["csrfmiddlewaretoken"]
    response = browser.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "login_name": login_name, "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text


def person_with_companies():
    """An L2 person who represents one company and is the agent of another."""
    number = identity_number_for("330106", "19850101", 21)
    person = make_person(name="李四", identity_number=number, phone="13900001111", level=AssuranceLevel.L2)
    own = services.company_register(representative=person, credit_code=registry_company(representative_number=number))
    other_number = identity_number_for("330106", "19700101", 23)
    other = make_person(name="王五", identity_number=other_number, level=AssuranceLevel.L2)
    represented = services.company_register(
        representative=other,
        credit_code=registry_company(representative_number=other_number, serial=2, name="宁波海曙贸易有限公司"),
    )
    services.agency_grant(
        company=represented,
        granted_by=other,
        agent_identity_number=number,
        agent_name="李四",
        valid_until=timezone.localdate() + timedelta(days=30),
        all_services=True,
    )
    return person, own, represented


def authorization_code_flow(base: str, browser: requests.Session, client_id: str, secret: str):
    """Authorize with PKCE and a nonce, consent, and exchange the code; returns the Authlib
    session holding the token, and the nonce."""
    rp = OAuth2Session(
        client_id,
        secret,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(f"{base}/o/authorize/", code_verifier=verifier, nonce=nonce)
    assert "code_challenge=" in url

    consent = browser.get(url, allow_redirects=False)
    assert consent.status_code == 200, consent.text
    fields = form_inputs(consent.text, id="authorization-form")
    fields["allow"] = "1"
    answer = browser.post(url, data=fields, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    query = parse_qs(urlparse(location).query)
    assert query["state"] == [state]
    # RFC 9207: the answer names who gave it, so that a client talking to two providers cannot
    # be handed the other's code (mix-up attacks).
    issuer = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()["issuer"]
    assert query["iss"] == [issuer] == [f"{base}/o"]

    rp.fetch_token(f"{base}/o/token/", authorization_response=location, code_verifier=verifier)
    return rp, nonce, consent.text


def verified_id_token(base: str, id_token: str, client_id: str, nonce: str) -> dict:
    discovery = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    keys = KeySet.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())
    token = jwt.decode(id_token, keys)
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": discovery["issuer"]},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    ).validate(token.claims)
    claims = token.claims
    return dict(claims)


@pytest.mark.django_db(transaction=True)
def test_department_system_logs_a_citizen_in_with_pkce_and_reads_the_same_claims_from_userinfo(live_server):
    base = live_server.url
    person, own, represented = person_with_companies()
    application, secret = oidc_client_create(name="市场监管业务系统", redirect_uris=[REDIRECT_URI])
    browser = requests.Session()

    # Not logged in: the authorization endpoint sends the person to the citizen login.
    first = browser.get(f"{base}/o/authorize/?client_id={application.client_id}", allow_redirects=False)
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/accounts/login/?next=/o/authorize/")

    citizen_logs_in(browser, base, "13900001111")
    rp, nonce, consent_page = authorization_code_flow(base, browser, application.client_id, secret)

    # The consent page names the system and every scope in plain words.
    assert "市场监管业务系统" in consent_page
    for description in ("您的姓名（部分隐去）", "您的手机号（部分隐去）", "您的实名认证等级", "可代为办事的企业"):
        assert description in consent_page

    discovery = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["authorization_endpoint"] == f"{base}/o/authorize/"
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert discovery["end_session_endpoint"] == f"{base}/o/logout/"
    assert discovery["authorization_response_iss_parameter_supported"] is True
    # The OAuth metadata (RFC 8414), at the issuer and where §3 puts it, names the same issuer
    # and offers no grant RFC 9700 forbids.
    for address in (
        f"{base}/o/.well-known/oauth-authorization-server",
        f"{base}/.well-known/oauth-authorization-server/o",
    ):
        metadata = requests.get(address, timeout=10).json()
        assert metadata["issuer"] == discovery["issuer"], address
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        assert not {"implicit", "password"} & set(metadata["grant_types_supported"])
        assert metadata["authorization_response_iss_parameter_supported"] is True

    claims = verified_id_token(base, rp.token["id_token"], application.client_id, nonce)
    assert claims["sub"] == oidc_subject(client_id=application.client_id, user_id=person.user.pk)
    assert claims["sub"] != str(person.user.pk)
    assert claims["name"] == "李*"
    assert claims["phone_number"] == "139****1111"
    assert claims["assurance_level"] == 2
    companies = {company["credit_code"]: company for company in claims["companies"]}
    assert companies[own.credit_code]["as_legal_representative"] is True
    assert companies[represented.credit_code] == {
        "credit_code": represented.credit_code,
        "name": "宁波海曙贸易有限公司",
        "as_legal_representative": False,
        "scope": "all",
        "valid_until": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }

    userinfo = rp.get(discovery["userinfo_endpoint"]).json()
    for claim in ("sub", "name", "phone_number", "assurance_level", "companies"):
        assert userinfo[claim] == claims[claim], claim

    # RFC 9700 §4.14: tokens are kept as their SHA-256 only; a copy of the database holds none.
    stored = AccessToken.objects.get(token_checksum=hashlib.sha256(rp.token["access_token"].encode()).hexdigest())
    assert stored.token == ""
    assert not AccessToken.objects.exclude(token="").filter(user=person.user).exists()
    assert not RefreshToken.objects.exclude(token="").filter(user=person.user).exists()

    old_refresh_token = rp.token["refresh_token"]
    refreshed = rp.refresh_token(f"{base}/o/token/")
    assert refreshed["access_token"]
    assert refreshed["refresh_token"] != old_refresh_token  # rotated
    assert rp.get(discovery["userinfo_endpoint"]).json()["sub"] == claims["sub"]

    # The old refresh token used again (a thief's copy): refused, and the family it began,
    # the new tokens included, is revoked.
    replay = requests.post(
        f"{base}/o/token/",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh_token},
        auth=(application.client_id, secret),
        timeout=10,
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert rp.get(discovery["userinfo_endpoint"]).status_code == 401

    # A second department system sees another subject for the same person.
    second, second_secret = oidc_client_create(name="人社业务系统", redirect_uris=[REDIRECT_URI])
    rp2, nonce2, _page = authorization_code_flow(base, browser, second.client_id, second_secret)
    second_claims = verified_id_token(base, rp2.token["id_token"], second.client_id, nonce2)
    assert second_claims["sub"] != claims["sub"]


@pytest.mark.django_db(transaction=True)
def test_authorization_without_pkce_is_refused(live_server):
    base = live_server.url
    make_person(phone="13900002222", level=AssuranceLevel.L2)
    application, _secret = oidc_client_create(name="测试系统", redirect_uris=[REDIRECT_URI])
    browser = requests.Session()
    citizen_logs_in(browser, base, "13900002222")

    response = browser.get(
        f"{base}/o/authorize/",
        params={
            "client_id": application.client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": REDIRECT_URI,
        },
        allow_redirects=False,
    )

    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["Location"]


@pytest.mark.django_db(transaction=True)
def test_the_provider_refuses_what_the_oauth_security_practice_forbids(live_server):
    """RFC 9700: no PKCE "plain" (§2.1.1), no password grant (§2.4), no implicit grant (§2.1.2)."""
    base = live_server.url
    person = make_person(phone="13900003333", level=AssuranceLevel.L2)
    application, secret = oidc_client_create(name="测试系统", redirect_uris=[REDIRECT_URI])
    browser = requests.Session()
    citizen_logs_in(browser, base, "13900003333")
    verifier = secrets.token_urlsafe(48)

    plain_request = {
        "client_id": application.client_id,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": REDIRECT_URI,
        "code_challenge": verifier,
        "code_challenge_method": "plain",
    }
    consent = browser.get(f"{base}/o/authorize/", params=plain_request, allow_redirects=False)
    fields = {**form_inputs(consent.text, id="authorization-form"), "allow": "1"}
    plain = browser.post(consent.url, data=fields, allow_redirects=False)
    assert plain.status_code == 302
    assert "error=invalid_request" in plain.headers["Location"]
    assert "code=" not in plain.headers["Location"]

    implicit = browser.get(
        f"{base}/o/authorize/",
        params={"client_id": application.client_id, "response_type": "token", "redirect_uri": REDIRECT_URI},
        allow_redirects=False,
    )
    assert implicit.status_code in (302, 400)
    assert "access_token=" not in implicit.headers.get("Location", "")

    password = requests.post(
        f"{base}/o/token/",
        data={"grant_type": "password", "username": person.user.username, "password": PASSWORD},
        auth=(application.client_id, secret),
        timeout=10,
    )
    assert password.status_code in (400, 401)
    assert "access_token" not in password.json()


@pytest.mark.django_db
def test_a_scope_not_granted_gives_no_claim():
    from govhall.accounts.oidc import GovhallOAuth2Validator

    person = make_person(level=AssuranceLevel.L2)
    application, _secret = oidc_client_create(name="测试系统", redirect_uris=[REDIRECT_URI])

    class _Request:
        user = person.user
        client = application
        client_id = application.client_id
        scopes = ["openid", "assurance"]

    claims = GovhallOAuth2Validator().get_oidc_claims(None, None, _Request())

    assert set(claims) == {"sub", "assurance_level"}


@pytest.mark.django_db
def test_the_command_registers_a_client_and_prints_its_secret_once():
    out = io.StringIO()

    call_command("oidc_client_add", "--name", "不动产登记系统", "--redirect-uri", REDIRECT_URI, stdout=out)

    from oauth2_provider.models import Application

    client_id = re.search(r"client_id: (\S+)", out.getvalue()).group(1)
    secret = re.search(r"client_secret: (\S+)", out.getvalue()).group(1)
    application = Application.objects.get(client_id=client_id)
    assert application.name == "不动产登记系统"
    assert application.redirect_uris == REDIRECT_URI
    assert application.client_secret != secret  # stored hashed


def test_oidc_login_goes_to_the_one_login_page_unless_a_setting_says_otherwise():
    assert oidc_login_url() == "/accounts/login/"
    with override_settings(GOVHALL_OIDC_LOGIN_URL="/sso/login/"):
        assert oidc_login_url() == "/sso/login/"


@pytest.mark.django_db
def test_a_staff_member_sent_by_a_department_system_logs_in_with_totp_and_returns_to_it(client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from govhall.accounts.models import Role
    from govhall.accounts.totp import staff_totp_device_create, totp_code_now
    from tests.factories import HANGZHOU, make_staff

    staff = make_staff(role=Role.REVIEWER, region_code=HANGZHOU)
    staff_totp_device_create(user=staff)
    application, _secret = oidc_client_create(name="市场监管业务系统", redirect_uris=[REDIRECT_URI])
    authorize = f"/o/authorize/?{urlencode({'client_id': application.client_id, 'response_type': 'code'})}"

    # The authorization endpoint sends the anonymous visitor to the one login page, keeping next
    landed = client.get(authorize, follow=True)
    [(login_url, status)] = landed.redirect_chain
    assert (status, urlparse(login_url).path, parse_qs(urlparse(login_url).query)["next"]) == (
        302,
        "/accounts/login/",
        [authorize],
    )
    assert 'name="login_name"' in landed.content.decode()

    # The staff member's password leads to the second factor, and the code back to the system
    step = client.post("/accounts/login/", {"login_name": staff.username, "password": PASSWORD, "next": authorize})
    assert step["Location"] == f"/accounts/login/verify/?{urlencode({'next': authorize})}"
    code = totp_code_now(device=TOTPDevice.objects.get(user=staff))
    done = client.post("/accounts/login/verify/", {"code": code, "next": authorize})
    assert done["Location"] == authorize


@pytest.mark.django_db(transaction=True)
def test_a_department_system_ends_the_single_sign_on_session_after_the_person_confirms(live_server):
    base = live_server.url
    make_person(phone="13900003333", level=AssuranceLevel.L2)
    application, secret = oidc_client_create(name="市场监管业务系统", redirect_uris=[REDIRECT_URI])
    browser = requests.Session()
    citizen_logs_in(browser, base, "13900003333")
    rp, _nonce, _page = authorization_code_flow(base, browser, application.client_id, secret)
    logout_url = f"{base}/o/logout/"
    params = {"id_token_hint": rp.token["id_token"], "post_logout_redirect_uri": REDIRECT_URI, "state": "s1"}

    # The system sends the person to the end-session endpoint: a page of ours asks first.
    confirm = browser.get(logout_url, params=params, allow_redirects=False)
    assert confirm.status_code == 200
    assert "“市场监管业务系统”请求退出您的统一身份登录" in confirm.text
    assert browser.get(f"{base}/accounts/", allow_redirects=False).status_code == 200

    # Confirming ends the session and returns to the system's registered address with its state.
    fields = form_inputs(confirm.text, id="logout-form")
    fields["allow"] = "1"
    done = browser.post(f"{logout_url}?{urlencode(params)}", data=fields, allow_redirects=False)
    assert done.status_code == 302
    assert done.headers["Location"].startswith(REDIRECT_URI)
    assert parse_qs(urlparse(done.headers["Location"]).query)["state"] == ["s1"]
    assert browser.get(f"{base}/accounts/", allow_redirects=False).status_code == 302

    # An address the system did not register is refused.
    citizen_logs_in(browser, base, "13900003333")
    rp, _nonce, _page = authorization_code_flow(base, browser, application.client_id, secret)
    stranger = browser.get(
        logout_url,
        params={"id_token_hint": rp.token["id_token"], "post_logout_redirect_uri": "https://elsewhere.invalid/"},
        allow_redirects=False,
    )
    assert stranger.status_code in (200, 400)
    assert "该退出请求无效" in stranger.text
