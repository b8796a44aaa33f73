"""The public portal (门户): find a service, read its guide. Views parse, call selectors, render."""

import functools
import hashlib
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from govhall.catalog import selectors as catalog
from govhall.catalog import services as catalog_services
from govhall.catalog.models import Implementation
from govhall.catalog.search import SUMMARY_DEFERRED, catalogue_version
from govhall.org.models import RegionLevel
from govhall.org.selectors import department_get, department_list, region_get, region_list, region_with_ancestors
from govhall.portal.forms import CHOICES_CACHE_SECONDS, SearchForm
from govhall.portal.middleware import ELDER_MODE_COOKIE
from govhall.portal.page_cache import visitor_page_context, visitor_page_get, visitor_page_keep, visitor_page_key

PAGE_SIZE = 20
DEPARTMENTS_PAGE_SIZE = 60
ELDER_MODE_COOKIE_AGE = timedelta(days=365)
AUDIENCES = ("person", "company")
GOVHALL_PACKAGE = Path(__file__).resolve().parent.parent


def _page(request: HttpRequest, items: QuerySet | catalog.ImplementationPages, per_page: int = PAGE_SIZE) -> Page:
    """One page of a list; a page number out of range shows the nearest page rather than an error."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _implementations_page(request: HttpRequest, **filters: Any) -> Page:
    """One page of the published implementations ``filters`` select: the page's ids are sorted
    from narrow rows, then only its rows are read, without the guide's long texts
    (``catalog.implementation_page``)."""
    return _page(request, catalog.ImplementationPages.public(deferred=SUMMARY_DEFERRED, **filters))


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The lists below the search box are the same for everyone: the template keeps them as one
    fragment for a minute per language and mode, keyed by the catalogue's version so that a
    publication shows at once; the values are callables and querysets, read only on a miss."""
    return render(
        request,
        "portal/home.html",
        {
            "home_cache_key": f"{get_language()}:{catalogue_version()}",
            "themes": catalog.theme_list(),
            "most_used": lambda: catalog.implementation_most_used(limit=8),
            "cities": region_list(level=RegionLevel.CITY),
            "province": lambda: region_get(code=settings.GOVHALL_PROVINCE_CODE),
            "province_departments": department_list(
                region_code=settings.GOVHALL_PROVINCE_CODE, with_implementations=True
            ),
        },
    )


def _filters_cache_key(form: SearchForm) -> str:
    """The filter fields (a hundred regions, a region's departments) render the same for the same
    chosen values, language and catalogue: the template keeps them as one fragment."""
    chosen = "\x1f".join(str(form.data.get(name) or "")[:64] for name in ("region", "department", "audience", "badge"))
    return f"{get_language()}:{catalogue_version()}:{hashlib.sha256(chosen.encode()).hexdigest()[:32]}"


# The search page's query parameters: the form's fields and the page number.
SEARCH_PARAMETERS = frozenset({*SearchForm.base_fields, "page"})


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Words are searched (ranked, highlighted); filters alone list what meets them, as browsing does.
    Visitors who are not signed in get a page asked for lately from the cache (page_cache)."""
    page_key = visitor_page_key(request, "search", parameters=SEARCH_PARAMETERS)
    kept = visitor_page_get(page_key)
    if kept is not None:
        return kept.response(request)
    form = SearchForm(request.GET)
    filters = form.filters()
    query = filters.pop("query") or ""
    result = None
    browse_page = None
    if query:
        result = catalog.implementation_search_listed(
            query=query, **filters, page=_page_number(request), page_size=PAGE_SIZE
        )
    elif any(filters.values()):
        browse_page = _implementations_page(request, **filters)
    suggested_themes = list(result.suggested_themes) if result is not None else []
    if result is not None and not result.total and not suggested_themes:
        suggested_themes = list(catalog.theme_list()[:8])
    response = render(
        request,
        "portal/search.html",
        {
            **visitor_page_context(page_key),
            "form": form,
            "filters_cache_key": _filters_cache_key(form),
            "filters_cache_seconds": CHOICES_CACHE_SECONDS,
            "query": query,
            "result": result,
            "page_obj": browse_page,
            "num_pages": math.ceil(result.total / result.page_size) if result and result.total else 0,
            "suggested_themes": suggested_themes,
        },
    )
    return visitor_page_keep(request, page_key, response)


@require_GET
def themes(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/themes.html",
        {
            "person_themes": catalog.theme_list(audience="person"),
            "company_themes": catalog.theme_list(audience="company"),
        },
    )


@require_GET
def theme(request: HttpRequest, code: str) -> HttpResponse:
    found = catalog.theme_get(code=code)
    if found is None:
        raise Http404
    page = _implementations_page(request, theme_code=code)
    return render(request, "portal/theme.html", {"theme": found, "page_obj": page})


@require_GET
def departments(request: HttpRequest) -> HttpResponse:
    page = _page(request, department_list(with_implementations=True), per_page=DEPARTMENTS_PAGE_SIZE)
    return render(request, "portal/departments.html", {"page_obj": page})


@require_GET
def department(request: HttpRequest, code: str) -> HttpResponse:
    found = department_get(code=code)
    if found is None:
        raise Http404
    page = _implementations_page(request, department_code=code)
    return render(request, "portal/department.html", {"department": found, "page_obj": page})


@require_GET
def regions(request: HttpRequest) -> HttpResponse:
    counties: dict[str | None, list] = {}
    for county in region_list(level=RegionLevel.COUNTY):
        counties.setdefault(county.parent_id, []).append(county)
    cities = [(city, counties.get(city.code, [])) for city in region_list(level=RegionLevel.CITY)]
    return render(
        request,
        "portal/regions.html",
        {"province": region_get(code=settings.GOVHALL_PROVINCE_CODE), "cities": cities},
    )


@require_GET
def region(request: HttpRequest, code: str) -> HttpResponse:
    found = region_get(code=code)
    if found is None:
        raise Http404
    page = _implementations_page(request, region_code=code)
    return render(
        request,
        "portal/region.html",
        {
            "region": found,
            "ancestors": region_with_ancestors(region=found)[:-1],
            "children": region_list(parent_code=code),
            "page_obj": page,
        },
    )


@require_GET
def audience(request: HttpRequest, audience: str) -> HttpResponse:
    if audience not in AUDIENCES:
        raise Http404
    page = _implementations_page(request, audience=audience)
    return render(
        request,
        "portal/audience.html",
        {"audience": audience, "themes": catalog.theme_list(audience=audience), "page_obj": page},
    )


def _published_or_404(implementation_code: str) -> Implementation:
    """A published implementation, or "not found" for unknown and cancelled codes alike."""
    implementation = catalog.implementation_get_public(implementation_code=implementation_code)
    if implementation is None:
        raise Http404
    return implementation


def _guide_or_404(implementation: Implementation, version: int | None = None) -> catalog.Guide:
    guide = catalog.implementation_guide(implementation=implementation, version=version)
    if guide is None:
        raise Http404
    return guide


# What a guide's body is rendered with besides its version's snapshot and the language: its
# template, the template tags and filters it uses, the English catalogue and the hotline.
_GUIDE_BODY_SOURCES = (
    "templates/portal/_guide_body.html",
    "portal/templatetags/portal_tags.py",
    "portal/templatetags/cases_tags.py",
    "portal/templatetags/kept_i18n.py",
    "portal/context_processors.py",
    "locale/en/LC_MESSAGES/django.mo",
)


@functools.cache
def _guide_body_layout() -> str:
    """A digest of what the body's rendering depends on besides the guide, read once per process:
    a deployment that changes any of it has new keys, so no body kept from before is served."""
    digest = hashlib.sha256()
    for name in _GUIDE_BODY_SOURCES:
        digest.update((GOVHALL_PACKAGE / name).read_bytes())
    digest.update(reverse("cases_portal:apply", args=["CODE"]).encode())
    return digest.hexdigest()[:16]


def guide_body_key(implementation: Implementation, language: str) -> str:
    """Where an implementation's current guide body is kept: its version, its and its entry's
    state (a suspension shows on the page) and the entry's version, the language and the layout."""
    return (
        f"{implementation.pk}:{implementation.version}:{implementation.state}:{implementation.entry.state}:"
        f"{implementation.entry.version}:{language}:{_guide_body_layout()}"
    )


@require_GET
def guide(request: HttpRequest, implementation_code: str) -> HttpResponse:
    """The current guide. Its body is made from the published version's snapshot, which never
    changes, so it is rendered once per version, language and layout and kept in the database
    (``GuideBody``, under ``guide_body_key``); a new version has a new key. Visitors who are not
    signed in get the whole page from the cache while the catalogue has not changed (page_cache)."""
    page_key = visitor_page_key(request, "guide")
    kept = visitor_page_get(page_key)
    if kept is not None:
        catalog_services.implementation_view_count(implementation_id=kept.extra["implementation"])
        return kept.response(request)
    implementation = catalog.implementation_get_public_brief(implementation_code=implementation_code)
    if implementation is None:
        raise Http404
    language = get_language()
    key = guide_body_key(implementation, language)
    kept_body = catalog.guide_body_get(key=key)
    if kept_body is None:
        current = _guide_or_404(implementation)
        rendered = render_to_string("portal/_guide_body.html", {"guide": current, "show_apply": True}, request=request)
        catalog_services.guide_body_keep(
            implementation_id=implementation.pk, language=language, key=key, name=current.name, html=rendered
        )
        kept_body = (current.name, rendered)
    name, body = kept_body
    catalog_services.implementation_view_count(implementation_id=implementation.pk)
    summary = {
        "name": name,
        "implementation_code": implementation.implementation_code,
        "version": implementation.version,
        "is_current": True,
    }
    # The body is our own template's output, escaped when it was rendered.
    response = render(
        request,
        "portal/guide.html",
        {
            "guide": summary,
            "guide_body": mark_safe(body),
            "implementation": implementation,
            **visitor_page_context(page_key),
        },
    )
    return visitor_page_keep(request, page_key, response, extra={"implementation": implementation.pk})


@require_GET
def guide_print(request: HttpRequest, implementation_code: str) -> HttpResponse:
    implementation = _published_or_404(implementation_code)
    current = _guide_or_404(implementation)
    return render(request, "portal/guide_print.html", {"guide": current, "implementation": implementation})


@require_GET
def guide_history(request: HttpRequest, implementation_code: str) -> HttpResponse:
    implementation = _published_or_404(implementation_code)
    versions = catalog.implementation_version_list(implementation=implementation)
    return render(
        request,
        "portal/guide_history.html",
        {"implementation": implementation, "versions": versions, "guide": _guide_or_404(implementation)},
    )


@require_GET
def guide_version(request: HttpRequest, implementation_code: str, number: int) -> HttpResponse:
    implementation = _published_or_404(implementation_code)
    earlier = _guide_or_404(implementation, version=number)
    return render(request, "portal/guide.html", {"guide": earlier, "implementation": implementation})


@require_POST
def elder_mode(request: HttpRequest) -> HttpResponse:
    """Switch elder mode on or off (a cookie) and go back to the page the switch was pressed on.

    ``next`` comes from the form, so it is checked to be a same-site address: anything else
    (another host, a scheme like javascript:) sends the person to the home page instead.
    """
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("portal:home")
    response = redirect(next_url)
    if request.POST.get("elder") == "1":
        response.set_cookie(
            ELDER_MODE_COOKIE,
            "1",
            max_age=int(ELDER_MODE_COOKIE_AGE.total_seconds()),
            samesite="Lax",
            httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
        )
    else:
        response.delete_cookie(ELDER_MODE_COOKIE, samesite="Lax")
    return response
