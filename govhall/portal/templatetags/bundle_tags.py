"""Template helpers for life-event bundles (一件事): the bundles the home page lists, and the
bundle a case of "我的办件" belongs to, without touching the views that render those pages."""

from typing import Any

from django import template

from govhall.cases import bundles
from govhall.cases.models import BundleApplication
from govhall.catalog.models import Bundle

register = template.Library()


@register.simple_tag
def active_bundles() -> list[Bundle]:
    """The bundles open for application: ``{% active_bundles as bundles %}``."""
    return list(bundles.bundle_list_active())


@register.simple_tag
def bundle_applications_of(rows: Any) -> dict[int, BundleApplication]:
    """The bundle applications of the cases in a list's rows (each a dict with ``case``), by
    id, read in one query: ``{% bundle_applications_of rows as bundle_map %}``."""
    return bundles.bundle_application_map(ids=[row["case"].bundle_application_id for row in rows])


@register.simple_tag
def bundle_application_in(bundle_map: dict[int, BundleApplication], application_id: int | None) -> Any:
    """The bundle application with ``application_id`` from a map made by
    ``bundle_applications_of``, or None: ``{% bundle_application_in bundle_map id as marker %}``."""
    return bundle_map.get(application_id) if application_id else None
