"""Template helpers for life-event bundles (一件事): the bundles the home page lists, without
touching the view that renders it. (The bundle a case of "我的办件" belongs to is written with its
row, ``portal.views_cases._case_rows_html``.)"""

from django import template

from govhall.cases import bundles
from govhall.catalog.models import Bundle

register = template.Library()


@register.simple_tag
def active_bundles() -> list[Bundle]:
    """The bundles open for application: ``{% active_bundles as bundles %}``."""
    return list(bundles.bundle_list_active())
