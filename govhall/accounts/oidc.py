"""Single sign-on for department systems: govhall as an OpenID Connect provider.

django-oauth-toolkit does the protocol (authorization code flow with PKCE, refresh tokens, ID
tokens signed with the RSA key of settings.OAUTH2_PROVIDER, discovery, JWKS, RP-initiated
logout); this module decides what a department system learns about the person:

- ``sub`` is pairwise: an HMAC of the client id and the user id under a dedicated key
  (settings.GOVHALL_OIDC_SUBJECT_KEY), so two department systems see different subjects for the
  same person and cannot join their users by it (OpenID Connect Core §8.1).
- ``profile`` gives the name masked, ``phone`` the phone number masked: no client receives the
  full number (a client with a stated need for it is a later decision, with unmasking recorded).
- ``assurance`` gives ``assurance_level`` (1–4), ``company`` the companies the person may act for
  today, as legal representative or through an authorisation in force.

Userinfo answers with the same claims as the ID token for the scopes granted.
"""

import functools
import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import OuterRef
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse
from oauth2_provider.models import AbstractAccessToken, get_access_token_model, get_application_model
from oauth2_provider.oauth2_backends import OAuthLibCore, get_oauthlib_core
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import AuthorizationView, RPInitiatedLogoutView

from govhall.accounts import privacy
from govhall.accounts.guards import staff_assignments_known, staff_assignments_of
from govhall.accounts.models import Person
from govhall.accounts.selectors import person_acting_capacities
from govhall.audit.services import audit_record_add
from govhall.queries import unique_or_none_compiled

Application = get_application_model()


def oidc_subject(*, client_id: str, user_id: int | str) -> str:
    """The pairwise subject identifier of a user for one client."""
    key = settings.GOVHALL_OIDC_SUBJECT_KEY.encode()
    return hmac.new(key, f"{client_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


@functools.cache
def oauthlib_core() -> OAuthLibCore:
    """django-oauth-toolkit's ``OAuthLibCore``, which checks an API call's bearer token, built
    once per process instead of by ``get_oauthlib_core()`` on every call: building its server of
    endpoints and grant types took 0.09 ms of each bearer call's 0.7 ms of authentication. It
    keeps no state of a request (each ``verify_request`` makes its own oauthlib request), and is
    built again after the ``OAUTH2_PROVIDER`` setting changes."""
    return get_oauthlib_core()


@receiver(setting_changed)
def _oauthlib_core_forget(*, setting: str, **_kwargs: Any) -> None:
    if setting == "OAUTH2_PROVIDER":
        oauthlib_core.cache_clear()


def _person_of(user: Any) -> Person | None:
    return Person.objects.filter(user=user).first()


def _name_claim(person: Person | None, user: Any) -> str:
    if person is not None:
        return privacy.mask_name(person.name)
    return privacy.mask_name(user.display_name) if user.display_name else ""


def _companies_claim(person: Person | None) -> list[dict[str, Any]]:
    if person is None:
        return []
    return [
        {
            "credit_code": capacity.company.credit_code,
            "name": capacity.company.name,
            "as_legal_representative": capacity.as_legal_representative,
            "scope": "all" if capacity.all_services else list(capacity.service_codes),
            "valid_until": capacity.valid_until.isoformat() if capacity.valid_until else None,
        }
        for capacity in person_acting_capacities(person=person)
    ]


def _client_id_of(request: Any) -> str:
    client = getattr(request, "client", None)
    return client.client_id if client is not None else request.client_id


def _access_tokens_by_checksum(checksum: str) -> Any:
    # The user's person (none for staff) comes in the same statement: an applicant's filing,
    # draft or company check reads it, one round trip each (0.4 ms) before. So do a staff
    # member's roles, which every staff request's guards read (none for an applicant).
    return (
        get_access_token_model()
        .objects.select_related("application", "user", "user__person")
        .annotate(user_roles=staff_assignments_of(OuterRef("user_id")))
        .filter(token_checksum=checksum)
    )


class GovhallOAuth2Validator(OAuth2Validator):
    # Each claim is given only for its scope; "sub" always.
    oidc_claim_scope = {
        "sub": "openid",
        "name": "profile",
        "phone_number": "phone",
        "assurance_level": "assurance",
        "companies": "company",
    }

    def _load_access_token(self, token: str) -> AbstractAccessToken | None:
        # As django-oauth-toolkit reads it (by the checksum, unique), without first()'s ORDER BY,
        # and compiled once per process rather than on every API call (1.0 → 0.25 ms).
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access_token = unique_or_none_compiled("access_token", _access_tokens_by_checksum, checksum)
        if access_token is not None and access_token.user is not None:
            staff_assignments_known(user=access_token.user, rows=access_token.user_roles)
        return access_token

    def get_claim_dict(self, request: Any) -> dict[str, Any]:
        user = request.user
        person_cache: dict[str, Person | None] = {}

        def person() -> Person | None:
            # One query at most, and none when no scope asks for the person.
            if "person" not in person_cache:
                person_cache["person"] = _person_of(user)
            return person_cache["person"]

        return {
            "sub": oidc_subject(client_id=_client_id_of(request), user_id=user.pk),
            "name": lambda _request: _name_claim(person(), user),
            "phone_number": lambda _request: person().phone_masked if person() else None,  # type: ignore[union-attr]
            "assurance_level": lambda _request: person().assurance_level if person() else None,  # type: ignore[union-attr]
            "companies": lambda _request: _companies_claim(person()),
        }

    def get_discovery_claims(self, request: Any) -> list[str]:
        return list(self.oidc_claim_scope)


def oidc_login_url() -> str:
    """Where the authorization endpoint sends someone not logged in: the setting when given,
    else the citizen login when it exists, else LOGIN_URL (the workbench's)."""
    if settings.GOVHALL_OIDC_LOGIN_URL:
        return settings.GOVHALL_OIDC_LOGIN_URL
    try:
        return reverse("accounts:login")
    except NoReverseMatch:
        return reverse(settings.LOGIN_URL) if ":" in settings.LOGIN_URL else settings.LOGIN_URL


class GovhallAuthorizationView(AuthorizationView):
    """The authorization endpoint with the consent page in the portal's style."""

    template_name = "oidc/authorize.html"

    def get_login_url(self) -> str:
        return oidc_login_url()


class GovhallLogoutView(RPInitiatedLogoutView):
    """RP-initiated logout, confirmed on a page of ours."""

    template_name = "oidc/logout_confirm.html"


def oidc_client_create(*, name: str, redirect_uris: list[str], actor: Any = None) -> tuple[Any, str]:
    """Register a department system as a confidential client (authorization code flow, PKCE
    required by the settings). Returns the application and its client secret in clear: show
    it once; only its hash is stored."""
    secret = secrets.token_urlsafe(48)
    with transaction.atomic():
        application = Application.objects.create(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(redirect_uris),
            post_logout_redirect_uris=" ".join(redirect_uris),
            client_secret=secret,
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=False,
        )
        audit_record_add(
            actor=actor,
            action="oidc_client_create",
            object_type="oidc_client",
            object_id=application.client_id,
            summary=f"OIDC client {name}",
        )
    return application, secret
