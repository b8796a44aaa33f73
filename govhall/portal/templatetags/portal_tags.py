"""Template helpers for the portal: labels of stored codes, badges, file links and dates.

A guide is rendered from a version snapshot (plain codes and strings), so the labels of its
choices are looked up here rather than through model instances.
"""

import functools
import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.core.files.storage import default_storage
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from govhall.catalog import models as catalog_models
from govhall.catalog.selectors import (
    BADGE_AT_MOST_ONE_VISIT,
    BADGE_FULLY_ONLINE,
    BADGE_ZERO_VISIT,
    badges_for,
)
from govhall.paths import Addresses

register = template.Library()

CHOICES = {
    "kind": catalog_models.ItemKind,
    "state": catalog_models.ItemState,
    "audience": catalog_models.Audience,
    "day_unit": catalog_models.DayUnit,
    "source_of_power": catalog_models.SourceOfPower,
    "case_type": catalog_models.CaseType,
    "area_of_handling": catalog_models.AreaOfHandling,
    "result_type": catalog_models.ResultType,
    "requirement": catalog_models.MaterialRequirement,
    "material_form": catalog_models.MaterialForm,
    "material_source": catalog_models.MaterialSource,
    "change_action": catalog_models.ChangeAction,
}

BADGE_LABELS = {
    BADGE_FULLY_ONLINE: _("全程网办"),
    BADGE_AT_MOST_ONE_VISIT: _("最多跑一次"),
    BADGE_ZERO_VISIT: _("零跑动"),
}


@functools.cache
def _choice_labels(choices_name: str) -> dict[Any, Any]:
    # The labels are lazy: translated into the active language when the page shows them.
    return dict(CHOICES[choices_name].choices)


@register.filter
def choice_label(value: Any, choices_name: str) -> Any:
    """The display label of a stored choice code, e.g. ``{{ guide.kind|choice_label:"kind" }}``."""
    return _choice_labels(choices_name).get(value, value)


@register.filter
def badge_label(badge: str) -> Any:
    return BADGE_LABELS.get(badge, badge)


@functools.cache
def _badges_markup(badges: tuple[str, ...], language: str | None) -> SafeString:
    return format_html(
        '<ul class="badges">{}</ul>',
        format_html_join("", '<li class="badge badge-{}">{}</li>', ((badge, badge_label(badge)) for badge in badges)),
    )


@register.filter
def badges_html(badges: Any) -> SafeString:
    """The badges as the list pages and guides show them. Made once per set of badges and
    language in a process: a search page shows 20 lists of one to three of the same three
    badges, and an included template for each cost about a sixth of rendering the page."""
    if not badges:
        return SafeString("")
    return _badges_markup(tuple(badges), translation.get_language())


@register.filter
def implementation_badges(implementation: Any) -> list[str]:
    """The online-depth badges of a listed implementation (computed from its fields, no query)."""
    return badges_for(site_visits=implementation.site_visits, online_depth=implementation.online_depth)


@register.filter
def depth_labels(online_depth: str) -> list[Any]:
    """Labels of the online depth levels stored as digits ("1246")."""
    labels = dict(catalog_models.OnlineDepth.choices)
    return [labels[int(digit)] for digit in online_depth or "" if digit.isdigit() and int(digit) in labels]


@register.filter
def file_url(name: str) -> str:
    """The address of a stored file (blank form, filled example), or "" when there is none."""
    return default_storage.url(name) if name else ""


@register.filter
def iso_datetime(value: str | datetime | None) -> datetime | None:
    """A snapshot keeps times as ISO strings; the template's date filter needs a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value)


@register.filter
def theme_name(theme: Any) -> str:
    """A theme's name in the current language (snapshots hold themes as dicts with a name only)."""
    if isinstance(theme, dict):
        return theme.get("name", "")
    if translation.get_language() == "en" and theme.name_en:
        return theme.name_en
    return theme.name


def _service_items(items: Iterable[tuple[Any, str, str]]) -> SafeString:
    """The list items of listed implementations, as _implementation_list.html used to loop over
    them: the name (a link to the guide), region, department and kind, an optional snippet, the
    badges and a suspended notice. Made in Python: the template loop took about 1.2 ms of the 7
    ms of CPU a search page costs (20 hits); this takes a fifth of that. Every text is escaped;
    the highlighted name and snippet are already safe markup. Texts are escaped as Django's
    ``escape`` does (``html.escape``), without its check for lazy strings on every call."""
    # The guide's address once per list, with the request's script prefix, then each code in it.
    guide_address = Addresses("portal:guide", "implementation_code")
    kinds = _choice_labels("kind")
    suspended = None
    parts = []
    for implementation, name_html, snippet_html in items:
        entry = implementation.entry
        address = html.escape(guide_address(implementation.implementation_code))
        parts.append(
            f'<li class="service-item"><a class="service-name" href="{address}">{conditional_escape(name_html)}</a>'
            f'<p class="service-meta">{html.escape(implementation.region.full_name)} · '
            f"{html.escape(implementation.department.name)} · {html.escape(str(kinds.get(entry.kind, entry.kind)))}</p>"
        )
        if snippet_html:
            parts.append(f'<p class="snippet">{conditional_escape(snippet_html)}</p>')
        parts.append(badges_html(implementation_badges(implementation)))
        if implementation.state == "suspended" or entry.state == "suspended":
            if suspended is None:
                suspended = html.escape(gettext("暂停办理"))
            parts.append(f'<p class="status status-suspended">{suspended}</p>')
        parts.append("</li>")
    return mark_safe("".join(parts))  # every part above is escaped or safe markup


@register.simple_tag
def service_items(implementations: Iterable[Any]) -> SafeString:
    """``{% service_items implementations %}``: implementations listed by their entry's name."""
    return _service_items((implementation, implementation.entry.name, "") for implementation in implementations)


@register.simple_tag
def search_hit_items(hits: Iterable[Any]) -> SafeString:
    """``{% search_hit_items result.hits %}``: search hits, with their highlighted names and snippets."""
    return _service_items((hit.implementation, hit.name_highlighted, hit.snippet_highlighted) for hit in hits)
