from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from oauth2_provider import views as oauth2_views

from govhall.accounts import oidc, totp
from govhall.api import api
from govhall.health import healthz

oidc_urlpatterns = [
    path("authorize/", oidc.GovhallAuthorizationView.as_view(), name="authorize"),
    path("token/", oauth2_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", oauth2_views.IntrospectTokenView.as_view(), name="introspect"),
    re_path(
        r"^\.well-known/openid-configuration/?$",
        oauth2_views.ConnectDiscoveryInfoView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", oauth2_views.JwksInfoView.as_view(), name="jwks-info"),
    # RFC 8414 metadata, under the issuer as OpenID Connect's discovery is: the `iss` of each
    # authorization response (RFC 9207) is read from this address, so it is the same issuer.
    path(
        ".well-known/oauth-authorization-server",
        oauth2_views.OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
    path("userinfo/", oauth2_views.UserInfoView.as_view(), name="user-info"),
    path("logout/", oidc.GovhallLogoutView.as_view(), name="rp-initiated-logout"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # The benchmark's ceiling views: mounted only with GOVHALL_BENCH=1 (govhall/bench_views.py).
    path("", include("govhall.bench_views")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/login/", totp.admin_login_redirect),  # one login, with the second factor, for staff
    path("admin/", admin.site.urls),
    # OpenID Connect provider: only the protocol endpoints (no self-service client registration).
    path("o/", include((oidc_urlpatterns, "oauth2_provider"))),
    re_path(r"^\.well-known/openid-configuration/?$", oauth2_views.ConnectDiscoveryInfoView.as_view()),
    # … and where RFC 8414 §3 puts it for an issuer with a path (/o).
    path(".well-known/oauth-authorization-server/o", oauth2_views.OAuthServerMetadataView.as_view()),
    path("workbench/licences/", include("govhall.licences.urls_workbench")),
    path("workbench/supervision/", include("govhall.supervision.urls")),
    path("workbench/evaluations/", include("govhall.evaluations.urls_workbench")),
    path("workbench/figures/", include("govhall.metrics.urls")),
    path("workbench/", include("govhall.workbench.urls")),
    path("accounts/", include("govhall.accounts.urls")),
    path("dev/", include("govhall.notices.urls")),
    path("", include("govhall.licences.urls_public")),
    path("", include("govhall.licences.urls_portal")),
    path("", include("govhall.evaluations.urls_portal")),
    path("", include("govhall.portal.urls_cases")),
    path("", include("govhall.portal.urls_bundles")),
    path("", include("govhall.portal.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
