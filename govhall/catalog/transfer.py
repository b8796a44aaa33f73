"""Import and export of implementation lists (实施清单) as XLSX and CSV, the way provinces exchange them.

File format
-----------
Both formats carry the same three tables. Header cells are always the zh-hans element names (the
model verbose names), whatever the interface language, so a file reads the same everywhere.

``实施清单``
    One row per implementation, one column per element of ``services.implementation_payload()``
    except materials and process steps. The uniform elements (事项名称, 基本编码, 事项类型, 设定依据)
    are included so "三级四同" is checked on import. 实施区划代码 and 实施部门编码 hold codes,
    政务服务中心 the hall's name, 办理窗口 window numbers separated by "、", 网上办理深度 the
    digits of the levels offered (e.g. 123456).
``申请材料``
    One row per material: 实施编码 (which implementation it belongs to), 顺序, then every material
    element in the order of ``services.MATERIAL_FIELDS``.
``办理流程``
    One row per process step: 实施编码, 顺序, 环节名称, 办理说明, 环节时限（工作日）.

Choices are written as their zh-hans labels (行政许可, 工作日, 承诺件 …) and flags as 是/否; the
reader accepts the labels and the stored codes (licensing, working …) and for flags also
true/false, 1/0. Materials and steps are kept in the order of 顺序 (rows without one follow the
numbered ones), ties in the order of the rows. An implementation's materials and steps are exactly
the rows given for it: a file without them removes them. Every column is required except 顺序;
unknown columns are ignored.

XLSX: one workbook, one sheet per table, named as above, header in row 1.

CSV: one UTF-8 file with a byte-order mark (so Excel opens it as UTF-8), comma separated. The
first column, 记录类型, says which table a row belongs to: 实施清单, 申请材料 or 办理流程. There is
one header row: 记录类型, 实施编码, the other implementation columns, then the material columns,
then the step columns (实施编码 and 顺序 are shared). A row fills the columns of its own table;
the others are ignored. Row numbers in reports are record numbers counted from the header as row
1, which is what Excel shows when it opens the file.

Safety
------
Export: a text cell starting with = + - @, a tab or a carriage return is prefixed with a single
quote so a spreadsheet does not run it as a formula (OWASP "CSV injection"); a cell starting with
a quote gets one more, so the reader can strip exactly one and the round trip stays exact. Control
characters that XML cannot hold are dropped.

Import: the file may not exceed ``IMPORT_MAX_BYTES``; its format is decided by its name and then
checked by its bytes (an XLSX must be a zip holding the workbook parts, within
``IMPORT_MAX_UNCOMPRESSED_BYTES`` unpacked; a CSV must decode as UTF-8 and hold no NUL byte);
each table may hold at most ``IMPORT_MAX_ROWS`` data rows. Cells holding formulas are refused.

Import is a way of drafting changes, not a way around review: every row that differs from the
published version becomes a submitted change (ADD or CHANGE) with the batch id of the import, for
a catalogue reviewer to approve. All rows or none: if any row is bad, nothing is created and every
bad row is reported.
"""

import csv
import functools
import io
import re
import secrets
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from govhall.accounts.guards import staff_regions_for_role
from govhall.accounts.models import Role
from govhall.audit.services import audit_record_add
from govhall.catalog import rules, services
from govhall.catalog.models import (
    CatalogueChange,
    CatalogueEntry,
    ChangeAction,
    ChangeState,
    ChangeTarget,
    Implementation,
    ItemKind,
    ItemState,
    Material,
    ProcessStep,
)
from govhall.org.models import Department, Hall, Region

FORMAT_XLSX = "xlsx"
FORMAT_CSV = "csv"
CONTENT_TYPES = {
    FORMAT_XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FORMAT_CSV: "text/csv; charset=utf-8",
}

IMPORT_MAX_BYTES = 10 * 1024 * 1024
IMPORT_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
IMPORT_MAX_ROWS = 5000

SHEET_IMPLEMENTATIONS = "实施清单"
SHEET_MATERIALS = "申请材料"
SHEET_STEPS = "办理流程"
SHEETS = (SHEET_IMPLEMENTATIONS, SHEET_MATERIALS, SHEET_STEPS)
RECORD_TYPE_COLUMN = "记录类型"
RECORD_TYPES = {
    SHEET_IMPLEMENTATIONS: SHEET_IMPLEMENTATIONS,
    SHEET_MATERIALS: SHEET_MATERIALS,
    SHEET_STEPS: SHEET_STEPS,
    "implementation": SHEET_IMPLEMENTATIONS,
    "material": SHEET_MATERIALS,
    "process_step": SHEET_STEPS,
}
LIST_SEPARATOR = "、"
YES, NO = "是", "否"
FLAG_VALUES = {
    YES: True,
    NO: False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
}

# Cells a spreadsheet could take for a formula (OWASP CSV injection), and the escape's own quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPE_QUOTE = "'"

XLSX_REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")

TEXT, CHOICE, NUMBER, FLAG, LIST, DEPTH, PATH = "text", "choice", "number", "flag", "list", "depth", "path"

MISSING = object()


class TransferFileError(Exception):
    """The file as a whole cannot be read (wrong kind, too big, missing sheet or column)."""


@dataclass(frozen=True)
class Column:
    """One column of a table: the payload key it carries, its header and how its cells read."""

    key: str
    label: str
    kind: str = TEXT
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False
    max_length: int | None = None
    optional_column: bool = False


@dataclass
class ImportRowError:
    sheet: str
    row: int
    column: str
    message: str


@dataclass
class ImportReport:
    """What an import did: rows read, changes created per kind, rows unchanged, and every bad row."""

    filename: str
    file_format: str = ""
    rows_read: int = 0
    material_rows_read: int = 0
    step_rows_read: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    batch: str = ""
    errors: list[ImportRowError] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return not self.errors

    @property
    def changes_created(self) -> int:
        return self.added + self.changed

    def error_add(self, *, sheet: str, row: int, column: str = "", message: str) -> None:
        self.errors.append(ImportRowError(sheet=sheet, row=row, column=column, message=message))


# ---------------------------------------------------------------------------------------------
# Columns, built from the models so a new element shows up in the files by itself.


def _verbose_name(model: type[models.Model], name: str) -> str:
    return str(getattr(model._meta.get_field(name), "verbose_name", name))


def _choices(choices: Any) -> tuple[tuple[str, str], ...]:
    """(stored value, zh-hans label) pairs of a Choices class; call under the zh-hans override."""
    return tuple((str(value), str(label)) for value, label in choices.choices)


def _max_length(model: type[models.Model], name: str) -> int | None:
    return getattr(model._meta.get_field(name), "max_length", None)


@functools.cache
def implementation_columns() -> tuple[Column, ...]:
    """The columns of 实施清单: every key of ``implementation_payload()`` but materials and steps."""
    with translation.override("zh-hans"):
        columns = [
            Column(
                "implementation_code",
                _verbose_name(Implementation, "implementation_code"),
                required=True,
                max_length=_max_length(Implementation, "implementation_code"),
            ),
            Column(
                "basic_code",
                _verbose_name(CatalogueEntry, "basic_code"),
                required=True,
                max_length=_max_length(CatalogueEntry, "basic_code"),
            ),
            Column(
                "name",
                _verbose_name(CatalogueEntry, "name"),
                required=True,
                max_length=_max_length(CatalogueEntry, "name"),
            ),
            Column("kind", _verbose_name(CatalogueEntry, "kind"), CHOICE, _choices(ItemKind), required=True),
            Column("legal_basis", _verbose_name(CatalogueEntry, "legal_basis"), required=True),
            Column("region_code", _("实施区划代码"), required=True, max_length=_max_length(Region, "code")),
            Column("department_code", _("实施部门编码"), required=True, max_length=_max_length(Department, "code")),
        ]
        elements = set(services.IMPLEMENTATION_PAYLOAD_FIELDS) | {"hall", "windows"}
        model_fields = sorted(
            (*Implementation._meta.fields, *Implementation._meta.many_to_many), key=lambda f: f.creation_counter
        )
        for model_field in model_fields:
            if model_field.name not in elements:
                continue
            columns.append(_implementation_column(model_field.name, str(model_field.verbose_name)))
    return tuple(columns)


def _implementation_column(name: str, label: str) -> Column:
    if name in rules.IMPLEMENTATION_CHOICE_FIELDS:
        return Column(name, label, CHOICE, _choices(rules.IMPLEMENTATION_CHOICE_FIELDS[name]), required=True)
    if name in rules.IMPLEMENTATION_NUMBER_FIELDS:
        return Column(name, label, NUMBER, required=True)
    if name in rules.IMPLEMENTATION_FLAG_FIELDS:
        return Column(name, label, FLAG, required=True)
    if name == "online_depth":
        return Column(name, label, DEPTH)
    if name == "windows":
        return Column(name, label, LIST)
    if name == "hall":
        return Column(name, label, max_length=_max_length(Hall, "name"))
    return Column(name, label, max_length=_max_length(Implementation, name))


@functools.cache
def material_columns() -> tuple[Column, ...]:
    with translation.override("zh-hans"):
        columns = [
            Column("implementation_code", _verbose_name(Implementation, "implementation_code"), required=True),
            Column("order", _verbose_name(Material, "order"), NUMBER, optional_column=True),
        ]
        for name in services.MATERIAL_FIELDS:
            label = _verbose_name(Material, name)
            if name in rules.MATERIAL_CHOICE_FIELDS:
                columns.append(Column(name, label, CHOICE, _choices(rules.MATERIAL_CHOICE_FIELDS[name]), required=True))
            elif name == "copies":
                columns.append(Column(name, label, NUMBER, required=True))
            elif name in ("blank_form", "example_file"):
                columns.append(Column(name, label, PATH, max_length=_max_length(Material, name)))
            else:
                columns.append(Column(name, label, max_length=_max_length(Material, name)))
    return tuple(columns)


@functools.cache
def step_columns() -> tuple[Column, ...]:
    with translation.override("zh-hans"):
        columns = [
            Column("implementation_code", _verbose_name(Implementation, "implementation_code"), required=True),
            Column("order", _verbose_name(ProcessStep, "order"), NUMBER, optional_column=True),
        ]
        for name in services.PROCESS_STEP_FIELDS:
            label = _verbose_name(ProcessStep, name)
            if name == "duration_days":
                columns.append(Column(name, label, NUMBER, required=True))
            else:
                columns.append(Column(name, label, max_length=_max_length(ProcessStep, name)))
    return tuple(columns)


def _table_columns(sheet: str) -> tuple[Column, ...]:
    return {
        SHEET_IMPLEMENTATIONS: implementation_columns,
        SHEET_MATERIALS: material_columns,
        SHEET_STEPS: step_columns,
    }[sheet]()


@functools.cache
def csv_header() -> tuple[str, ...]:
    """记录类型 then the columns of the three tables, each label once (实施编码 and 顺序 are shared)."""
    header = [RECORD_TYPE_COLUMN]
    for sheet in SHEETS:
        for column in _table_columns(sheet):
            if column.label not in header:
                header.append(column.label)
    return tuple(header)


# ---------------------------------------------------------------------------------------------
# Cells: writing


# openpyxl (about 20 MB) is imported where a workbook is read or written, not by every web
# worker that imports this module through the URL configuration.
def _text_for_file(value: str) -> str:
    """Neutralise formula injection reversibly, and drop what XML cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith((*FORMULA_PREFIXES, ESCAPE_QUOTE)):
        return ESCAPE_QUOTE + value
    return value


def _text_from_file(value: str) -> str:
    if value.startswith(ESCAPE_QUOTE) and value[1:].startswith((*FORMULA_PREFIXES, ESCAPE_QUOTE)):
        return value[1:]
    return value


def _cell_render(column: Column, value: Any) -> Any:
    if column.kind == FLAG:
        return YES if value else NO
    if column.kind == NUMBER:
        return value
    if column.kind == CHOICE:
        labels = dict(column.choices)
        return labels.get(str(value), _text_for_file(str(value)))
    if column.kind == LIST:
        return _text_for_file(LIST_SEPARATOR.join(str(item) for item in value))
    return _text_for_file(str(value if value is not None else ""))


def _tables_build(payloads: list[dict[str, Any]]) -> dict[str, list[list[Any]]]:
    """Rows of the three tables (without headers), cells rendered for a file."""
    tables: dict[str, list[list[Any]]] = {sheet: [] for sheet in SHEETS}
    for payload in payloads:
        code = payload["implementation_code"]
        tables[SHEET_IMPLEMENTATIONS].append(
            [_cell_render(column, payload[column.key]) for column in implementation_columns()]
        )
        for sheet, items in ((SHEET_MATERIALS, payload["materials"]), (SHEET_STEPS, payload["process_steps"])):
            for order, item in enumerate(items, start=1):
                values = {**item, "implementation_code": code, "order": order}
                tables[sheet].append([_cell_render(column, values[column.key]) for column in _table_columns(sheet)])
    return tables


def _xlsx_write(tables: dict[str, list[list[Any]]]) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for sheet in SHEETS:
        worksheet = workbook.create_sheet(sheet)
        worksheet.append([column.label for column in _table_columns(sheet)])
        for cell in worksheet[1]:
            cell.font = bold
        worksheet.freeze_panes = "A2"
        for row in tables[sheet]:
            worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_write(tables: dict[str, list[list[Any]]]) -> bytes:
    header = csv_header()
    position = {label: index for index, label in enumerate(header)}
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for sheet in SHEETS:
        columns = _table_columns(sheet)
        for values in tables[sheet]:
            row: list[Any] = [""] * len(header)
            row[0] = sheet
            for column, value in zip(columns, values, strict=True):
                row[position[column.label]] = value
            writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------------------------------
# Export


def implementation_list_export(
    *, implementations: Iterable[Implementation], file_format: str
) -> tuple[bytes, str, str]:
    """The implementations as an XLSX or CSV file: (content, content type, file name).

    Related rows are fetched in a fixed number of queries, however many implementations there are.
    """
    if file_format not in CONTENT_TYPES:
        raise ValueError(file_format)
    payloads = [services.implementation_payload(implementation) for implementation in _export_prefetch(implementations)]
    tables = _tables_build(payloads)
    content = _xlsx_write(tables) if file_format == FORMAT_XLSX else _csv_write(tables)
    filename = f"{SHEET_IMPLEMENTATIONS}-{timezone.localtime():%Y%m%d-%H%M}.{file_format}"
    return content, CONTENT_TYPES[file_format], filename


_EXPORT_PREFETCHES = (
    "windows",
    Prefetch("process_steps", queryset=ProcessStep.objects.order_by("order")),
    Prefetch("materials", queryset=Material.objects.order_by("order")),
)


def _export_prefetch(implementations: Iterable[Implementation]) -> list[Implementation]:
    if isinstance(implementations, QuerySet):
        return list(
            implementations.select_related("entry", "region", "department", "hall").prefetch_related(
                *_EXPORT_PREFETCHES
            )
        )
    listed = list(implementations)
    models.prefetch_related_objects(listed, "entry", "department", "hall", *_EXPORT_PREFETCHES)
    return listed


# ---------------------------------------------------------------------------------------------
# Selectors and guards for the transfer pages


def implementation_list_may_import(*, user: Any) -> bool:
    """Guard: importing drafts changes, which only catalogue administrators may."""
    return bool(staff_regions_for_role(user=user, role=Role.CATALOGUE_ADMINISTRATOR))


def implementation_list_may_export(*, user: Any) -> bool:
    """Guard: catalogue administrators and reviewers export the implementations in their scope."""
    return implementation_list_may_import(user=user) or bool(
        staff_regions_for_role(user=user, role=Role.CATALOGUE_REVIEWER)
    )


def implementation_list_for_transfer(
    *, user: Any, region_code: str = "", department_code: str = "", basic_code: str = ""
) -> QuerySet[Implementation]:
    """Implementations the user may export, optionally narrowed; cancelled ones are left out.

    A region or department outside the user's scope is answered as not found, so codes cannot be
    probed; raises ``ValidationError`` keyed by the filter.
    """
    scopes = [
        *staff_regions_for_role(user=user, role=Role.CATALOGUE_ADMINISTRATOR),
        *staff_regions_for_role(user=user, role=Role.CATALOGUE_REVIEWER),
    ]
    implementations = (
        Implementation.objects.filter(_prefix_filter([scope.prefix for scope in scopes]))
        .exclude(state=ItemState.CANCELLED)
        .exclude(entry__state=ItemState.CANCELLED)
    )
    violations = rules.Violations()
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        if region is None or not any(scope.contains(region) for scope in scopes):
            violations.add("region_code", _("区划“%(code)s”不存在或不在您的管理范围内。") % {"code": region_code})
        else:
            implementations = implementations.filter(region__code__startswith=region.prefix)
    if department_code:
        department = Department.objects.filter(code=department_code).select_related("region").first()
        if department is None or not any(scope.contains(department.region) for scope in scopes):
            violations.add(
                "department_code", _("部门“%(code)s”不存在或不在您的管理范围内。") % {"code": department_code}
            )
        else:
            implementations = implementations.filter(department=department)
    if basic_code:
        if not CatalogueEntry.objects.filter(basic_code=basic_code).exists():
            violations.add("basic_code", _("基本目录中没有编码为“%(code)s”的事项。") % {"code": basic_code})
        implementations = implementations.filter(entry__basic_code=basic_code)
    violations.raise_if_any()
    return implementations.select_related("entry", "region", "department").order_by("region_id", "implementation_code")


def _prefix_filter(prefixes: list[str]) -> Q:
    condition = Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(region__code__startswith=prefix)
    return condition


# ---------------------------------------------------------------------------------------------
# Import: reading the file into tables of raw cells


@dataclass
class _Cell:
    value: Any
    is_formula: bool = False


@dataclass
class _Table:
    sheet: str
    header: list[str]
    rows: list[tuple[int, list[_Cell]]]


def _upload_read(uploaded_file: Any) -> bytes:
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > IMPORT_MAX_BYTES:
        raise TransferFileError(_file_too_large_message())
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(IMPORT_MAX_BYTES + 1)
    if len(data) > IMPORT_MAX_BYTES:
        raise TransferFileError(_file_too_large_message())
    if not data:
        raise TransferFileError(_("文件是空的。"))
    return data


def _file_too_large_message() -> str:
    return _("文件超过%(megabytes)s MB，请分成几个文件导入。") % {"megabytes": IMPORT_MAX_BYTES // (1024 * 1024)}


def _format_detect(*, filename: str, data: bytes) -> str:
    """The format named by the file's extension, confirmed by the file's bytes."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension == FORMAT_XLSX:
        _xlsx_bytes_check(data)
        return FORMAT_XLSX
    if extension == FORMAT_CSV:
        if data.startswith(b"PK\x03\x04"):
            raise TransferFileError(_("文件名是 .csv，内容却是压缩包（可能是 XLSX 工作簿），请改用 .xlsx 文件名。"))
        return FORMAT_CSV
    raise TransferFileError(_("只能导入 .xlsx 或 .csv 文件，“%(filename)s”不是。") % {"filename": filename})


def _xlsx_bytes_check(data: bytes) -> None:
    not_a_workbook = _(
        "文件内容不是 XLSX 工作簿（可能是改了扩展名的其他文件），请上传由 Excel 或 WPS 保存的 .xlsx 文件。"
    )
    if not data.startswith(b"PK\x03\x04"):
        raise TransferFileError(not_a_workbook)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TransferFileError(not_a_workbook) from None
    names = {member.filename for member in members}
    if not all(part in names for part in XLSX_REQUIRED_PARTS):
        raise TransferFileError(not_a_workbook)
    if sum(member.file_size for member in members) > IMPORT_MAX_UNCOMPRESSED_BYTES:
        raise TransferFileError(_("工作簿解压后过大，请分成几个文件导入。"))


def _xlsx_tables(data: bytes) -> list[_Table]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, ParseError):
        raise TransferFileError(_("工作簿已损坏，无法读取，请在 Excel 或 WPS 中重新保存后再导入。")) from None
    try:
        missing = [sheet for sheet in SHEETS if sheet not in workbook.sheetnames]
        if missing:
            raise TransferFileError(
                _("工作簿缺少工作表：%(sheets)s。请使用导出的文件作为模板。") % {"sheets": "、".join(missing)}
            )
        return [_xlsx_table(workbook[sheet], sheet) for sheet in SHEETS]
    except (KeyError, ValueError, TypeError, ParseError):
        raise TransferFileError(_("工作簿已损坏，无法读取，请在 Excel 或 WPS 中重新保存后再导入。")) from None
    finally:
        workbook.close()


def _xlsx_table(worksheet: Any, sheet: str) -> _Table:
    header: list[str] | None = None
    rows: list[tuple[int, list[_Cell]]] = []
    for number, cells in enumerate(worksheet.iter_rows(), start=1):
        row = [_Cell(cell.value, getattr(cell, "data_type", None) == "f") for cell in cells]
        if header is None:
            header = [_header_text(cell.value) for cell in row]
            continue
        if _row_is_empty(row):
            continue
        rows.append((number, row))
        if len(rows) > IMPORT_MAX_ROWS:
            raise TransferFileError(_too_many_rows_message(sheet))
    if header is None:
        raise TransferFileError(_("工作表“%(sheet)s”是空的，缺少表头。") % {"sheet": sheet})
    return _Table(sheet=sheet, header=header, rows=rows)


def _csv_tables(data: bytes, report: ImportReport) -> list[_Table]:
    """The three tables of a CSV file; rows of an unknown record type are reported and left out."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TransferFileError(
            _("CSV 文件不是 UTF-8 编码。请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”后再导入。")
        ) from None
    if "\x00" in text:
        raise TransferFileError(_("文件内容不是文本格式的 CSV。"))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header_row = next(reader, None)
        if header_row is None:
            raise TransferFileError(_("CSV 文件是空的，缺少表头。"))
        header = [_header_text(value) for value in header_row]
        if RECORD_TYPE_COLUMN not in header:
            raise TransferFileError(
                _("CSV 文件缺少“%(column)s”列，无法区分实施清单、申请材料和办理流程。") % {"column": RECORD_TYPE_COLUMN}
            )
        type_position = header.index(RECORD_TYPE_COLUMN)
        tables = {sheet: _Table(sheet=sheet, header=header, rows=[]) for sheet in SHEETS}
        unknown_types: list[tuple[int, str]] = []
        for number, values in enumerate(reader, start=2):
            row = [_Cell(value) for value in values]
            if _row_is_empty(row):
                continue
            record_type = values[type_position].strip() if type_position < len(values) else ""
            sheet = RECORD_TYPES.get(record_type) or RECORD_TYPES.get(record_type.lower())
            if sheet is None:
                unknown_types.append((number, record_type))
                continue
            tables[sheet].rows.append((number, row))
            if len(tables[sheet].rows) > IMPORT_MAX_ROWS:
                raise TransferFileError(_too_many_rows_message(sheet))
    except csv.Error:
        raise TransferFileError(_("CSV 文件格式有误（引号不配对等），无法读取。")) from None
    for number, record_type in unknown_types:
        report.error_add(
            sheet="",
            row=number,
            column=RECORD_TYPE_COLUMN,
            message=_("记录类型“%(value)s”不正确，应为实施清单、申请材料或办理流程。") % {"value": _shown(record_type)},
        )
    return [tables[sheet] for sheet in SHEETS]


def _too_many_rows_message(sheet: str) -> str:
    return _("“%(sheet)s”超过%(limit)s行，请分成几个文件导入。") % {"sheet": sheet, "limit": IMPORT_MAX_ROWS}


def _header_text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _row_is_empty(row: list[_Cell]) -> bool:
    return all(cell.value is None or (isinstance(cell.value, str) and not cell.value.strip()) for cell in row)


# ---------------------------------------------------------------------------------------------
# Import: cells into payloads


def _cell_parse(column: Column, cell: _Cell) -> tuple[Any, str | None]:
    """The payload value of a cell, or an error message naming the column and keeping the value."""
    if cell.is_formula:
        return MISSING, _("“%(column)s”是公式（%(value)s），请改为直接填写内容。") % {
            "column": column.label,
            "value": _shown(cell.value),
        }
    raw = cell.value
    if isinstance(raw, str):
        raw = _text_from_file(raw.replace("\r\n", "\n").replace("\r", "\n"))
    blank = raw is None or (isinstance(raw, str) and not raw.strip())
    if blank:
        if column.required:
            return MISSING, _("“%(column)s”必须填写。") % {"column": column.label}
        return (MISSING if column.kind == NUMBER else [] if column.kind == LIST else ""), None
    if column.kind == NUMBER:
        return _number_parse(column, raw)
    if column.kind == FLAG:
        return _flag_parse(column, raw)
    if column.kind == CHOICE:
        return _choice_parse(column, raw)
    text = _text(raw)
    if column.kind == LIST:
        return [item.strip() for item in re.split(r"[、,，;；]", text) if item.strip()], None
    if column.kind == DEPTH:
        return re.sub(r"[\s、,，;；]", "", text), None
    if column.max_length is not None and len(text.strip()) > column.max_length:
        return MISSING, _("“%(column)s”不能超过%(limit)s个字，此处为%(length)s个字。") % {
            "column": column.label,
            "limit": column.max_length,
            "length": len(text.strip()),
        }
    if column.kind == PATH and not _path_is_safe(text.strip()):
        return MISSING, _("“%(column)s”应为文件库中的相对路径，“%(value)s”不是。") % {
            "column": column.label,
            "value": _shown(text),
        }
    return text, None


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return YES if raw else NO
    if isinstance(raw, float) and raw.is_integer():
        # A code or phone number typed into Excel as a number comes back as a float.
        return str(int(raw))
    return str(raw)


def _number_parse(column: Column, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw, None
    if isinstance(raw, float) and raw.is_integer():
        return int(raw), None
    text = str(raw).strip()
    if re.fullmatch(r"\d{1,6}", text):
        return int(text), None
    return MISSING, _("“%(column)s”须为整数，此处为“%(value)s”。") % {"column": column.label, "value": _shown(raw)}


def _flag_parse(column: Column, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, bool):
        return raw, None
    value = FLAG_VALUES.get(_text(raw).strip().lower())
    if value is None:
        return MISSING, _("“%(column)s”须填写“是”或“否”，此处为“%(value)s”。") % {
            "column": column.label,
            "value": _shown(raw),
        }
    return value, None


def _choice_parse(column: Column, raw: Any) -> tuple[Any, str | None]:
    text = _text(raw).strip()
    for value, label in column.choices:
        if text in (label, value):
            return value, None
    return MISSING, _("“%(column)s”的取值“%(value)s”不在选项之内，可选：%(labels)s。") % {
        "column": column.label,
        "value": _shown(raw),
        "labels": "、".join(label for _value, label in column.choices),
    }


def _path_is_safe(path: str) -> bool:
    """A stored file name as the storage wrote it: relative, no parent steps, no scheme."""
    if not path:
        return True
    return not (path.startswith(("/", "\\")) or ".." in path.split("/") or "\\" in path or ":" in path)


def _shown(value: Any, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _ParsedRow:
    row: int
    values: dict[str, Any]
    is_bad: bool


@dataclass
class _ImplementationRow:
    row: int
    payload: dict[str, Any]
    is_bad: bool
    materials: list[tuple[tuple[int, int, int], dict[str, Any]]] = field(default_factory=list)
    process_steps: list[tuple[tuple[int, int, int], dict[str, Any]]] = field(default_factory=list)


def _header_positions(table: _Table, report: ImportReport) -> dict[str, int] | None:
    """Column key → position in the table; reports missing and repeated columns."""
    columns = _table_columns(table.sheet)
    positions: dict[str, int] = {}
    is_complete = True
    for column in columns:
        found = [index for index, label in enumerate(table.header) if label == column.label]
        if len(found) > 1:
            report.error_add(
                sheet=table.sheet,
                row=1,
                column=column.label,
                message=_("列“%(column)s”出现了%(count)s次，只能有一列。")
                % {"column": column.label, "count": len(found)},
            )
            is_complete = False
        elif found:
            positions[column.key] = found[0]
        elif not column.optional_column:
            report.error_add(
                sheet=table.sheet,
                row=1,
                column=column.label,
                message=_("缺少必需的列“%(column)s”。请使用导出的文件作为模板。") % {"column": column.label},
            )
            is_complete = False
    return positions if is_complete else None


def _rows_parse(table: _Table, positions: dict[str, int], report: ImportReport) -> list[_ParsedRow]:
    parsed = []
    for number, cells in table.rows:
        values: dict[str, Any] = {}
        is_bad = False
        for column in _table_columns(table.sheet):
            position = positions.get(column.key)
            if position is None:
                continue
            cell = cells[position] if position < len(cells) else _Cell(None)
            value, error = _cell_parse(column, cell)
            if error:
                report.error_add(sheet=table.sheet, row=number, column=column.label, message=error)
                is_bad = True
            elif value is not MISSING:
                values[column.key] = value
        parsed.append(_ParsedRow(row=number, values=values, is_bad=is_bad))
    return parsed


def _tables_parse(tables: list[_Table], report: ImportReport) -> list[_ImplementationRow] | None:
    """The implementation rows with their materials and steps attached; None if a table is unusable."""
    by_sheet = {table.sheet: table for table in tables}
    positions = {table.sheet: _header_positions(table, report) for table in tables}
    if any(found is None for found in positions.values()):
        return None
    parsed = {sheet: _rows_parse(by_sheet[sheet], positions[sheet] or {}, report) for sheet in SHEETS}
    report.rows_read = len(parsed[SHEET_IMPLEMENTATIONS])
    report.material_rows_read = len(parsed[SHEET_MATERIALS])
    report.step_rows_read = len(parsed[SHEET_STEPS])
    code_label = implementation_columns()[0].label
    implementations: dict[str, _ImplementationRow] = {}
    for row in parsed[SHEET_IMPLEMENTATIONS]:
        code = row.values.get("implementation_code", "").strip()
        if code and code in implementations:
            report.error_add(
                sheet=SHEET_IMPLEMENTATIONS,
                row=row.row,
                column=code_label,
                message=_("实施编码“%(code)s”与第%(row)s行重复。") % {"code": code, "row": implementations[code].row},
            )
            continue
        implementation = _ImplementationRow(row=row.row, payload=row.values, is_bad=row.is_bad)
        if code:
            implementations[code] = implementation
    for sheet, attribute in ((SHEET_MATERIALS, "materials"), (SHEET_STEPS, "process_steps")):
        for row in parsed[sheet]:
            code = row.values.get("implementation_code", "").strip()
            owner = implementations.get(code)
            if owner is None:
                if code:
                    report.error_add(
                        sheet=sheet,
                        row=row.row,
                        column=code_label,
                        message=_("实施编码“%(code)s”不在“%(sheet)s”表中。")
                        % {"code": _shown(code), "sheet": SHEET_IMPLEMENTATIONS},
                    )
                continue
            owner.is_bad = owner.is_bad or row.is_bad
            order = row.values.pop("order", None)
            row.values.pop("implementation_code", None)
            # Numbered rows first in the order of their numbers, the rest after them as they come.
            sort_key = (0, order, row.row) if order is not None else (1, 0, row.row)
            getattr(owner, attribute).append((sort_key, row.values))
    rows = list(implementations.values())
    for implementation in rows:
        implementation.payload["materials"] = [item for _key, item in sorted(implementation.materials)]
        implementation.payload["process_steps"] = [item for _key, item in sorted(implementation.process_steps)]
    return rows


# ---------------------------------------------------------------------------------------------
# Import: deciding and drafting the changes


def _comparable(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload as compared for "nothing changed": normalised, without its base version, and with
    line breaks written one way (XLSX keeps \\n only, browsers submit \\r\\n)."""
    normalised = services.implementation_payload_normalise(payload)
    normalised.pop("base_version", None)
    return _line_breaks_unified(normalised)


def _line_breaks_unified(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(value, dict):
        return {key: _line_breaks_unified(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_line_breaks_unified(item) for item in value]
    return value


def _pending_payloads(codes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Comparable payloads of changes waiting for review (drafted or submitted, by anyone), by code."""
    pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
    changes = CatalogueChange.objects.filter(
        target=ChangeTarget.IMPLEMENTATION,
        action__in=[ChangeAction.ADD, ChangeAction.CHANGE],
        state__in=[ChangeState.DRAFT, ChangeState.SUBMITTED],
        payload__implementation_code__in=codes,
    ).only("payload")
    for change in changes:
        pending[change.payload.get("implementation_code")].append(_comparable(change.payload))
    return pending


def _validation_messages(error: ValidationError) -> list[tuple[str, str]]:
    if not hasattr(error, "error_dict"):
        return [("", message) for message in error.messages]
    by_element = dict(error.message_dict)
    if set(by_element) & set(rules.UNIFORM_ELEMENTS):
        # A change compares the implementation without its entry's elements, so a row differing only
        # there is also told "nothing changed"; the 三级四同 message is the one that explains it.
        by_element.pop(NON_FIELD_ERRORS, None)
    return [(element, message) for element, messages in by_element.items() for message in messages]


def _element_label(element: str) -> str:
    labels = {column.key: column.label for column in implementation_columns()}
    labels.update({"materials": SHEET_MATERIALS, "process_steps": SHEET_STEPS})
    return labels.get(element, "")


class _ImportRolledBack(Exception):
    """Raised inside the import's transaction so that nothing of a failed import is kept."""


def implementation_list_import(*, actor: Any, uploaded_file: Any, filename: str) -> ImportReport:
    """Draft and submit a change for every row of the file that differs from what is published.

    New implementation codes become ADD changes, differing ones CHANGE changes, all under one
    batch id and submitted for review. Rows identical to the published version, or to a change
    already waiting for review, create nothing, so importing the same file twice changes nothing.
    Rows outside the actor's scope are refused (PermissionDenied from the services, answered per
    row). One transaction: if any row is bad, nothing is created and the report lists every bad
    row with its sheet, row number and reason.
    """
    report = ImportReport(filename=filename)
    try:
        data = _upload_read(uploaded_file)
        report.file_format = _format_detect(filename=filename, data=data)
        tables = _xlsx_tables(data) if report.file_format == FORMAT_XLSX else _csv_tables(data, report)
    except TransferFileError as error:
        report.error_add(sheet="", row=0, message=str(error))
        return report
    rows = _tables_parse(tables, report)
    if rows is None:
        return report
    batch = f"import-{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    try:
        with transaction.atomic():
            _changes_draft(actor=actor, rows=rows, report=report, batch=batch)
            if report.errors:
                raise _ImportRolledBack
            audit_record_add(
                actor=actor,
                action="implementation_list_import",
                object_type="catalogue_import",
                object_id=batch,
                summary=_shown(f"{filename}: +{report.added} ~{report.changed}", 255),
                data={
                    "filename": filename,
                    "rows": report.rows_read,
                    "added": report.added,
                    "changed": report.changed,
                    "unchanged": report.unchanged,
                },
            )
    except _ImportRolledBack:
        report.added = report.changed = 0
    else:
        if report.changes_created:
            report.batch = batch
    report.errors.sort(key=lambda error: (SHEETS.index(error.sheet) if error.sheet in SHEETS else -1, error.row))
    return report


def _changes_draft(*, actor: Any, rows: list[_ImplementationRow], report: ImportReport, batch: str) -> None:
    codes = [row.payload["implementation_code"] for row in rows if row.payload.get("implementation_code")]
    # Two imports of the same file at once would each see the other's changes as not yet pending;
    # locking the published rows (in a fixed order) makes the second wait and then find them.
    list(
        Implementation.objects.select_for_update()
        .filter(implementation_code__in=codes)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    published = {
        implementation.implementation_code: implementation
        for implementation in _export_prefetch(Implementation.objects.filter(implementation_code__in=codes))
    }
    pending = _pending_payloads(codes)
    regions = Region.objects.in_bulk([row.payload.get("region_code") for row in rows if row.payload.get("region_code")])
    scopes = staff_regions_for_role(user=actor, role=Role.CATALOGUE_ADMINISTRATOR)
    reason = _("批量导入：%(filename)s") % {"filename": _shown(report.filename, 100)}
    for row in rows:
        if row.is_bad:
            continue
        code = row.payload["implementation_code"]
        implementation = published.get(code)
        refusal = _row_refusal(row=row, implementation=implementation, regions=regions, scopes=scopes)
        if refusal:
            column, message = refusal
            report.error_add(sheet=SHEET_IMPLEMENTATIONS, row=row.row, column=column, message=message)
            continue
        comparable = _comparable(row.payload)
        if implementation is not None and comparable == _comparable(services.implementation_payload(implementation)):
            report.unchanged += 1
            continue
        if comparable in pending.get(code, []):
            report.unchanged += 1
            continue
        action = ChangeAction.ADD if implementation is None else ChangeAction.CHANGE
        try:
            # A savepoint per row: a refused row leaves the others' work intact for the report.
            with transaction.atomic():
                services.catalogue_change_draft(
                    actor=actor,
                    action=action,
                    target=ChangeTarget.IMPLEMENTATION,
                    implementation=implementation,
                    payload=row.payload,
                    reason=reason,
                    batch=batch,
                    submit=True,
                )
        except ValidationError as error:
            for element, message in _validation_messages(error):
                report.error_add(
                    sheet=SHEET_IMPLEMENTATIONS, row=row.row, column=_element_label(element), message=message
                )
            continue
        except PermissionDenied as error:
            report.error_add(sheet=SHEET_IMPLEMENTATIONS, row=row.row, message=str(error))
            continue
        if action == ChangeAction.ADD:
            report.added += 1
        else:
            report.changed += 1


def _row_refusal(
    *,
    row: _ImplementationRow,
    implementation: Implementation | None,
    regions: dict[str, Region],
    scopes: list[Region],
) -> tuple[str, str] | None:
    """Why a row cannot be imported before it is compared or drafted: (column, message), or None.

    The scope is checked for every row, unchanged ones included, so an import cannot be used to
    learn what is pending review in someone else's region.
    """
    columns = {column.key: column.label for column in implementation_columns()}
    region_code = row.payload.get("region_code")
    if implementation is not None:
        if implementation.state == ItemState.CANCELLED:
            return columns["implementation_code"], _("实施清单“%(code)s”已取消，不能再变更。") % {
                "code": implementation.implementation_code
            }
        if region_code != implementation.region_id:
            # Publishing never moves an implementation to another region; say so rather than drop the edit.
            return columns["region_code"], _("实施区划不能变更：已发布版本为%(code)s，此处为%(given)s。") % {
                "code": implementation.region_id,
                "given": region_code,
            }
        region: Region | None = implementation.region
    else:
        region = regions.get(region_code or "")
        if region is None:
            return columns["region_code"], _("区划代码“%(code)s”不存在。") % {"code": _shown(region_code)}
    assert region is not None
    if not any(scope.contains(region) for scope in scopes):
        return "", _("您无权管理%(region)s的实施清单。") % {"region": region.full_name}
    return None
