"""An application form's fields as HTML, from the sections ``application_form.form_sections``
makes (ADR 27).

Inputs are named f-<name> (address: f-<name>-region / f-<name>-detail; table cells:
f-<name>-<row>-<column>). A field hidden by its show_when condition is written with the hidden
attribute and its condition in data-show-when (JSON naming the controlling field, whose inputs
are named f-<field>), for a script to toggle; nothing here needs JavaScript. Every value is
written back from the data, so nothing typed is lost when the form comes back with errors.

This was the template ``cases/_form_fields.html``; written by Python it costs a fraction of the
template's work (the 新生儿出生 bundle page's fields: 1.8 → 0.22 ms of CPU, about a third of the
page's function calls before). The HTML is the template's, element for element and attribute for
attribute, with a newline wherever the template left a run of spaces and newlines: what a browser
shows is the same. Everything that comes from the data is escaped here, as the template escaped
it; the fixed texts are this module's own and their translations.
"""

import html
from typing import Any

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

Field = dict[str, Any]
REQUIRED_MARK = '<span class="required-mark" aria-hidden="true">*</span>'


def form_fields_html(sections: list[dict[str, Any]]) -> SafeString:
    """Each section as a fieldset of its fields, in order."""
    return mark_safe("".join(_section(section) for section in sections))  # every value escaped below


def _e(value: Any) -> str:
    """A value escaped as the template engine escapes it: a plain string by ``html.escape``, as
    Django's ``escape`` does, without the lazy-string wrapper that was three quarters of this
    module's time; anything else by ``conditional_escape`` (a safe string as it is, a lazy
    translation, a number)."""
    if type(value) is str:
        return html.escape(value)
    return conditional_escape(value)


def _section(section: dict[str, Any]) -> str:
    fields = "".join(_field(field) for field in section["fields"])
    return (
        f'\n<fieldset class="form-section"{_shown_when(section)}>\n'
        f"<legend>{_e(section['title'])}</legend>{fields}\n</fieldset>\n"
    )


def _shown_when(part: dict[str, Any]) -> str:
    """The condition a script toggles the part by, and hidden while it does not hold."""
    condition = f' data-show-when="{_e(part["show_when"])}"' if part["show_when"] else ""
    return condition + ("" if part["visible"] else " hidden")


def _field(field: Field) -> str:
    widget = field["widget"]
    invalid = " form-field-invalid" if field["error"] else ""
    if field["locked"] and widget == "choice":
        body = _locked_choice(field)
    elif (widget == "choice" and field["as_radios"]) or widget == "multichoice":
        body = _choice_list(field)
    elif widget == "choice":
        body = _select(field)
    elif widget == "address":
        body = _address(field)
    elif widget == "table":
        body = _table(field)
    elif widget == "file":
        body = _file(field)
    else:
        body = _text(field)
    return (
        f'\n<div class="field form-field form-field-{_e(widget)}{invalid}" id="{_e(field["id"])}-field"'
        f"{_shown_when(field)}>\n{body}\n</div>"
    )


# --- the parts every field has ------------------------------------------------------------------


def _caption(field: Field) -> str:
    """The field's name, its required mark and where a prefilled value came from."""
    mark = REQUIRED_MARK if field["required"] else ""
    badge = ""
    if field["prefilled"]:
        source = _("已自动填写（%(source)s）") % {"source": _e(field["source_label"])}
        badge = f' <span class="badge badge-prefilled">{source}</span>'
    return f"{_e(field['label'])}{mark}{badge}"


def _label(field: Field) -> str:
    return f'<label for="{_e(field["id"])}">{_caption(field)}</label>'


def _help(field: Field) -> str:
    return f'<div class="helptext" id="{_e(field["help_id"])}">{_e(field["help"])}</div>' if field["help"] else ""


def _error(part: dict[str, Any]) -> str:
    if not part["error"]:
        return ""
    return f'<ul class="errorlist" id="{_e(part["error_id"])}"><li>{_e(part["error"])}</li></ul>'


def _described(part: dict[str, Any]) -> str:
    """aria-describedby and aria-invalid of an input."""
    described = f' aria-describedby="{_e(part["described_by"])}"' if part["described_by"] else ""
    return described + (' aria-invalid="true"' if part["error"] else "")


def _lines(*lines: str) -> str:
    return "\n".join(lines)


# --- the widgets ---------------------------------------------------------------------------------


def _locked_choice(field: Field) -> str:
    """A prefilled choice that may not change: its value sent hidden, its label shown read-only."""
    return _lines(
        _label(field),
        f'<input type="hidden" name="{_e(field["input_name"])}" value="{_e(field["value"])}">',
        f'<input type="text" id="{_e(field["id"])}" value="{_e(field["value_label"])}" readonly{_described(field)}>',
        _help(field),
        _error(field),
    )


def _choice_list(field: Field) -> str:
    """Radio buttons for a choice among a few, check boxes for a multiple choice."""
    kind = "checkbox" if field["widget"] == "multichoice" else "radio"
    required = " required" if field["required"] and field["widget"] == "choice" else ""
    invalid = ' aria-invalid="true"' if field["error"] else ""
    described = f' aria-describedby="{_e(field["described_by"])}"' if field["described_by"] else ""
    choices = []
    for index, (value, label) in enumerate(field["choices"]):
        option_id = f"{_e(field['id'])}-{index}"
        checked = " checked" if value in field["selected"] else ""
        choices.append(
            _lines(
                '<div class="form-choice">',
                f'<input type="{kind}" id="{option_id}" name="{_e(field["input_name"])}" value="{_e(value)}"'
                f"{checked}{required}{invalid}>",
                f'<label for="{option_id}">{_e(label)}</label>',
                "</div>",
            )
        )
    return _lines(
        f'<fieldset class="form-choices"{described}>',
        f"<legend>{_caption(field)}</legend>",
        _help(field),
        _error(field),
        *choices,
        "</fieldset>",
    )


def _options(choices: list[tuple[str, str]], selected: Any) -> str:
    """A select's options after its empty one; ``selected`` is the chosen value or values."""
    chosen = selected if isinstance(selected, list) else [selected]
    options = "".join(
        f'<option value="{_e(value)}"{" selected" if value in chosen else ""}>{_e(label)}</option>'
        for value, label in choices
    )
    return f'<option value="">{_("请选择")}</option>\n{options}'


def _select(field: Field) -> str:
    required = " required" if field["required"] else ""
    return _lines(
        _label(field),
        f'<select id="{_e(field["id"])}" name="{_e(field["input_name"])}"{required}{_described(field)}>',
        _options(field["choices"], field["selected"]),
        "</select>",
        _help(field),
        _error(field),
    )


def _address(field: Field) -> str:
    """The county chosen from the province's, under their cities, and the street address."""
    region, detail = field["region"], field["detail"]
    required = " required" if field["required"] else ""
    return _lines(
        '<fieldset class="form-address">',
        f"<legend>{_caption(field)}</legend>",
        _help(field),
        _error(field),
        '<div class="field">',
        f'<label for="{_e(region["id"])}">{_e(region["label"])}</label>',
        f'<select id="{_e(region["id"])}" name="{_e(region["id"])}"{required}{_described(region)}>',
        f'<option value="">{_("请选择")}</option>',
        _counties(field["regions"], selected=region["value"]),
        "</select>",
        _error(region),
        "</div>",
        '<div class="field">',
        f'<label for="{_e(detail["id"])}">{_e(detail["label"])}</label>',
        f'<input type="text" id="{_e(detail["id"])}" name="{_e(detail["id"])}" value="{_e(detail["value"])}"'
        f' autocomplete="street-address"{required}{_described(detail)}>',
        _error(detail),
        "</div>",
        "</fieldset>",
    )


def _counties(regions: list[tuple[str, list[tuple[str, str]]]], *, selected: str) -> str:
    """The county options under their cities. Ninety a field in this province, three address
    fields on the 新生儿出生 bundle's page: as the template's loop, they were 23 % of the page's
    Python function calls (95,808 → 73,717 a page when they were first written here)."""
    return "\n".join(
        f'<optgroup label="{_e(city)}">\n'
        + "".join(
            f'<option value="{_e(code)}"{" selected" if code == selected else ""}>{_e(name)}</option>'
            for code, name in counties
        )
        + "\n</optgroup>"
        for city, counties in regions
    )


def _table(field: Field) -> str:
    """A table's rows entered so far and empty ones to add more, each cell an input of its
    column's kind, labelled by its column and row."""
    limit = field["max_rows"]
    if limit:
        hint = _("最多 %(limit)s 行；空白行不会保存。") % {"limit": _e(limit)}
    else:
        hint = _("空白行不会保存。")
    headers = "".join(
        f'<th scope="col" id="{_e(column["id"])}">{_e(column["label"])}'
        f"{REQUIRED_MARK if column['required'] else ''}</th>"
        for column in field["columns"]
    )
    described = f' aria-describedby="{_e(field["described_by"])}"' if field["described_by"] else ""
    return _lines(
        f'<fieldset class="form-table"{described}>',
        f"<legend>{_caption(field)}</legend>",
        _help(field),
        _error(field),
        f'<p class="hint">{hint}</p>',
        '<div class="table-scroll">',
        "<table>",
        "<thead>",
        "<tr>",
        f'<th scope="col">{_("序号")}</th>',
        headers,
        "</tr>",
        "</thead>",
        "<tbody>",
        *(_table_row(row) for row in field["rows"]),
        "</tbody>",
        "</table>",
        "</div>",
        "</fieldset>",
    )


def _table_row(row: dict[str, Any]) -> str:
    number = _("第 %(number)s 行") % {"number": _e(row["number"])}
    row_error = f'<ul class="errorlist"><li>{_e(row["error"])}</li></ul>' if row["error"] else ""
    cells = [_lines("<td>", _cell(cell, header_id=row["header_id"]), _error(cell), "</td>") for cell in row["cells"]]
    return _lines("<tr>", f'<th scope="row" id="{_e(row["header_id"])}">{number}{row_error}</th>', *cells, "</tr>")


def _cell(cell: dict[str, Any], *, header_id: str) -> str:
    column = cell["column"]
    names = f'id="{_e(cell["id"])}" name="{_e(cell["id"])}"'
    labelled = f' aria-labelledby="{_e(column["id"])} {_e(header_id)}"'
    if column["widget"] == "choice":
        return _lines(
            f"<select {names}{labelled}{_described(cell)}>",
            _options(column["choices"], cell["value"]),
            "</select>",
        )
    mode = f' inputmode="{_e(column["input_mode"])}"' if column["widget"] == "number" else ""
    placeholder = ' placeholder="YYYY-MM-DD"' if cell["input_type"] == "text" and column["widget"] == "date" else ""
    return (
        f'<input type="{_e(cell["input_type"])}" {names} value="{_e(cell["value"])}"{labelled}'
        f"{mode}{placeholder}{_described(cell)}>"
    )


def _file(field: Field) -> str:
    uploaded = ""
    if field["uploaded"]:
        uploaded = _("已上传：%(material)s（重新选择文件将替换它）") % {"material": _e(field["material"])}
        uploaded = f'<p class="form-file-uploaded">{uploaded}</p>'
    required = " required" if field["required"] and not field["uploaded"] else ""
    return _lines(
        _label(field),
        uploaded,
        f'<input type="file" id="{_e(field["id"])}" name="{_e(field["input_name"])}"{required}{_described(field)}>',
        _help(field),
        _error(field),
    )


def _text(field: Field) -> str:
    """Text, a number, a date or several lines; a locked one read-only."""
    names = f'id="{_e(field["id"])}" name="{_e(field["input_name"])}"'
    required = " required" if field["required"] else ""
    readonly = " readonly" if field["locked"] else ""
    if field["widget"] == "textarea":
        control = f'<textarea {names} rows="4"{required}{readonly}{_described(field)}>{_e(field["value"])}</textarea>'
    else:
        date = field["widget"] == "date"
        kind = field["input_type"] if date else "text"
        mode = f' inputmode="{_e(field["input_mode"])}"' if field["widget"] == "number" else ""
        placeholder = ' placeholder="YYYY-MM-DD"' if date and field["input_type"] == "text" else ""
        control = (
            f'<input type="{_e(kind)}" {names} value="{_e(field["value"])}"{mode}{placeholder}'
            f"{required}{readonly}{_described(field)}>"
        )
    return _lines(_label(field), control, _help(field), _error(field))
