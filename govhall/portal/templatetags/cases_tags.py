"""Template helpers for the applicant's case pages: the header's message count, whether a guide
offers online application, and read-only display of an application form's values."""

from typing import Any

from django import template
from django.http import HttpRequest

from govhall.notices.selectors import inbox_unread_count

register = template.Library()

# Online depth levels from which an application can be made online: 2 online receipt of
# documents and beyond (1 is online consultation only).
APPLY_DEPTHS = frozenset("23456")


@register.simple_tag(takes_context=True)
def citizen_header(context: template.Context) -> dict[str, Any]:
    """For a logged-in citizen, ``{"citizen": True, "unread": n}``; otherwise citizen is False
    (staff and visitors have no cases or messages here)."""
    known = context.get("citizen_known")
    if known is not None:  # site_header read it to choose the header kept for it
        return dict(known)
    request: HttpRequest | None = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "person", None) is None:
        return {"citizen": False, "unread": 0}
    return {"citizen": True, "unread": inbox_unread_count(user=user)}


@register.filter
def offers_online_application(guide: Any) -> bool:
    """The current version of a guide in force whose online depth includes submitting online."""
    if not getattr(guide, "is_current", False):
        return False
    if not guide.online_available or guide.state != "active" or guide.entry_state != "active":
        return False
    return bool(APPLY_DEPTHS & set(guide.online_depth or ""))


@register.filter
def field_display(field: dict[str, Any]) -> Any:
    """The value of a render-ready form field (application_form.form_sections) as read-only
    text: choice labels instead of codes, region names instead of codes. Tables and file fields
    are shown by the template itself."""
    widget = field.get("widget")
    if widget in ("choice", "multichoice"):
        labels = dict(field.get("choices") or [])
        return "、".join(str(labels.get(value, value)) for value in field.get("selected") or [])
    if widget == "address":
        region = field["region"]["value"]
        names = {code: name for _city, counties in field.get("regions") or [] for code, name in counties}
        return " ".join(part for part in (names.get(region, region), field["detail"]["value"]) if part)
    return field.get("value", "")


@register.filter
def filled_rows(field: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a table field that hold anything (form_sections adds empty rows to fill in)."""
    return [row for row in field.get("rows") or [] if any(cell.get("value") for cell in row["cells"])]


@register.filter
def cell_display(cell: dict[str, Any]) -> Any:
    """A table cell's value as text, a choice shown by its label."""
    labels = dict(cell["column"].get("choices") or [])
    return labels.get(cell.get("value"), cell.get("value", ""))


@register.filter
def absolute(number: int) -> int:
    return abs(number)


@register.filter
def local_link(link: str) -> str:
    """A link stored with a message, only when it is a path on this site (never another host
    or a javascript: address)."""
    if isinstance(link, str) and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return ""
