"""Template helpers for the applicant's case pages: the header's message count, whether a guide
offers online application, a case's time badge, an application form's fields to fill in, and
read-only display of an application form's values."""

from typing import Any

from django import template
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from govhall.cases.application_form_html import form_fields_html
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


@register.simple_tag
def application_form_fields(sections: list[dict[str, Any]]) -> str:
    """``{% application_form_fields sections %}``: the fields of ``application_form.form_sections``
    to fill in (ADR 27)."""
    return form_fields_html(sections)


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


@register.simple_tag
def time_badge(time: Any) -> str:
    """A case's time status (``selectors.TimeStatus``) as the applicant's pages show it: the
    working days left or overdue in the colour of its level, with "due soon" and "paused" in
    words; a dash where no time limit runs. ``{% time_badge time %}``.

    Made here rather than by an included template, which "我的办件" rendered anew on each of
    its 20 rows, as the workbench's to-do list did before 483caf0 (docs/performance.md)."""
    days = getattr(time, "days_left", None)
    if days is None:
        return "—"
    if days < 0:
        text = ngettext("已超期 %(days)s 个工作日", "已超期 %(days)s 个工作日", -days) % {"days": -days}
    else:
        text = ngettext("剩余 %(days)s 个工作日", "剩余 %(days)s 个工作日", days) % {"days": days}
    # Chinese sets the full-width brackets against the words; English needs a space before them.
    space = " " if get_language() == "en" else ""
    if time.level == "yellow":
        text += space + _("（即将到期）")
    if time.paused:
        text += space + _("（暂停计时）")
    return format_html('<span class="badge badge-time badge-time-{}">{}</span>', time.level, text)


@register.filter
def local_link(link: str) -> str:
    """A link stored with a message, only when it is a path on this site (never another host
    or a javascript: address)."""
    if isinstance(link, str) and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return ""
