"""Form fields rendered by Python where Django's own form templates would render them (ADR 24).

A field on a workbench page renders four small templates: the field group, its label, its error
list and its widget, and a select one more per option. Through the template engine each costs a
context, a lookup in the cached loader and a walk of its nodes: the case page's 23 fields took
about 9 of its 25 ms of CPU (in one process), the to-do page's five filters about 4 of 24.

``FormRenderer`` renders those templates with the Python below instead, producing the same
characters: the same escaping, localisation and whitespace, by the same functions the template
engine calls (``render_value_in_context`` for a variable, ``stringformat`` for a value
attribute), stripped as ``BaseRenderer.render`` strips. Every other template (file inputs,
date selects, whole forms, formsets) goes through the templates as before. So does
any of the ported ones the moment a template of that name is found anywhere but in Django's own
directory (an app that overrides ``django/forms/widgets/input.html`` keeps its own markup).
``tests/test_form_rendering.py`` compares both renderers on fields drawn at random.
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import django.forms
from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils.safestring import SafeData, mark_safe

FORM_TEMPLATES = Path(django.forms.__file__).parent / "templates"
SELECT_OPTION = "django/forms/widgets/select_option.html"
CHOICE_OPTIONS = ("django/forms/widgets/radio_option.html", "django/forms/widgets/checkbox_option.html")

# What a template's variables render in: autoescaping on, the active language's formats and the
# current time zone, as the forms' template engine makes its contexts. Only read, never pushed.
_CONTEXT = Context()

# A port renders its template's characters before the strip, or None to leave it to the template.
Port = Callable[[Mapping[str, Any]], str | None]


def _text(value: Any) -> str:
    """``{{ value }}``."""
    return render_value_in_context(value, _CONTEXT)


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: a filter marked is_safe keeps a safe value safe."""
    formatted = stringformat(value, "s")
    return _text(mark_safe(formatted) if isinstance(value, SafeData) else formatted)


def _attrs(attrs: Mapping[str, Any] | None) -> str:
    """``django/forms/attrs.html`` and ``django/forms/widgets/attrs.html``."""
    if not attrs:
        return ""
    parts = []
    for name, value in attrs.items():
        if value is not False:
            parts.append(" " + _text(name))
            if value is not True:
                parts.append('="' + _formatted(value) + '"')
    return "".join(parts)


def _input_tag(widget: Mapping[str, Any]) -> str:
    """``django/forms/widgets/input.html`` without its closing newline."""
    value = widget.get("value")
    shown = "" if value == None else ' value="' + _formatted(value) + '"'  # noqa: E711 (the template's !=)
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'


def _input(context: Mapping[str, Any]) -> str:
    """``django/forms/widgets/input.html`` (and the widgets that only include it)."""
    return _input_tag(context["widget"])


def _choice_inputs(context: Mapping[str, Any]) -> str | None:
    """``django/forms/widgets/multiple_input.html`` (radio buttons and check boxes) with
    ``input_option.html`` for each option; None when an option names another template."""
    widget = context["widget"]
    attrs = widget["attrs"]
    own_id, css_class = attrs.get("id"), attrs.get("class")
    parts = [
        "<div",
        f' id="{_text(own_id)}"' if own_id else "",
        f' class="{_text(css_class)}"' if css_class else "",
        ">",
    ]
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{_text(group)}</label>")
        for option in options:
            if option["template_name"] not in CHOICE_OPTIONS:
                return None
            option_id = option["attrs"].get("id")
            if option["wrap_label"]:
                label_for = f' for="{_text(option_id)}"' if option_id else ""
                shown = f"<label{label_for}>{_input_tag(option)}\n {_text(option['label'])}</label>"
            else:
                shown = f"{_input_tag(option)}\n"
            parts.append(f"<div>\n    {shown}\n\n</div>")
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


def _select(context: Mapping[str, Any]) -> str | None:
    """``django/forms/widgets/select.html`` with ``select_option.html`` for each option; None
    when an option names another template."""
    widget = context["widget"]
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _group_index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != SELECT_OPTION:
                return None
            parts.append(
                f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _textarea(context: Mapping[str, Any]) -> str:
    """``django/forms/widgets/textarea.html``."""
    widget = context["widget"]
    value = widget["value"]
    return (
        f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_text(value) if value else ''}</textarea>"
    )


def _label(context: Mapping[str, Any]) -> str:
    """``django/forms/label.html``: a label or legend, or the bare text without an id."""
    if not context["use_tag"]:
        return _text(context["label"])
    tag = _text(context["tag"])
    return f"<{tag}{_attrs(context['attrs'])}>{_text(context['label'])}</{tag}>"


def _error_list(context: Mapping[str, Any]) -> str:
    """``django/forms/errors/list/ul.html`` (the default error list includes only it)."""
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    shown_id = f' id="{_text(field_id)}_error"' if field_id else ""
    items = "".join(f"<li>{_text(error)}</li>" for error in errors)
    return f'<ul class="{_text(context["error_class"])}"{shown_id}>{items}</ul>'


def _field(context: Mapping[str, Any]) -> str:
    """``django/forms/field.html``: label (or fieldset and legend), help text, errors, widget."""
    field = context["field"]
    if field.use_fieldset:
        described = field.aria_describedby
        described_by = f' aria-describedby="{_text(described)}"' if described else ""
        head = f"<fieldset{described_by}>\n  {_text(field.legend_tag()) if field.label else ''}\n"
    else:
        head = f"{_text(field.label_tag()) if field.label else ''}\n"
    help_text = ""
    if field.help_text:
        help_id = f' id="{_text(field.auto_id)}_helptext"' if field.auto_id else ""
        help_text = f'<div class="helptext"{help_id}>{mark_safe(str(field.help_text))}</div>'
    tail = "</fieldset>" if field.use_fieldset else ""
    return f"{head}\n{help_text}\n{_text(field.errors)}\n{_text(field)}{tail}"


# Each port with the templates whose Django originals it reproduces: its own and what it includes.
PORTS: dict[str, tuple[Port, tuple[str, ...]]] = {
    "django/forms/field.html": (_field, ()),
    "django/forms/label.html": (_label, ("django/forms/attrs.html",)),
    "django/forms/errors/list/default.html": (_error_list, ("django/forms/errors/list/ul.html",)),
    "django/forms/errors/list/ul.html": (_error_list, ()),
    "django/forms/widgets/input.html": (_input, ("django/forms/widgets/attrs.html",)),
    "django/forms/widgets/select.html": (_select, (SELECT_OPTION, "django/forms/widgets/attrs.html")),
    "django/forms/widgets/textarea.html": (_textarea, ("django/forms/widgets/attrs.html",)),
}
CHOICE_INCLUDES = (
    "django/forms/widgets/multiple_input.html",
    *CHOICE_OPTIONS,
    "django/forms/widgets/input_option.html",
    "django/forms/widgets/input.html",
    "django/forms/widgets/attrs.html",
)
PORTS["django/forms/widgets/radio.html"] = (_choice_inputs, CHOICE_INCLUDES)
PORTS["django/forms/widgets/checkbox_select.html"] = (_choice_inputs, CHOICE_INCLUDES)
INPUT_WIDGETS = "text number email url password hidden date datetime time search tel color checkbox".split()
for _name in INPUT_WIDGETS:
    # Each of these is only the include of input.html (tests/test_form_rendering.py compares).
    PORTS[f"django/forms/widgets/{_name}.html"] = (
        _input,
        ("django/forms/widgets/input.html", "django/forms/widgets/attrs.html"),
    )


class FormRenderer(DjangoTemplates):
    """Django's template renderer, with its commonest templates rendered by Python."""

    def __init__(self) -> None:
        super().__init__()
        # Which port each template name uses, decided at its first rendering (None: the template).
        self._ports: dict[str, Port | None] = {}

    def _own(self, name: str) -> bool:
        """Whether the template this renderer finds by that name is Django's own file."""
        template = self.get_template(name)
        return Path(template.origin.name) == FORM_TEMPLATES / name

    def _port(self, name: str) -> Port | None:
        if name not in self._ports:
            port, includes = PORTS.get(name, (None, ()))
            if port is not None and not all(self._own(each) for each in (name, *includes)):
                port = None
            self._ports[name] = port
        return self._ports[name]

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        port = self._port(template_name)
        if port is not None:
            rendered = port(context)
            if rendered is not None:
                return rendered.strip()
        return super().render(template_name, context, request=request)
