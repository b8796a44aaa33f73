"""Import and export of implementation lists (XLSX and CSV), through the transfer services."""

import csv
import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govhall.accounts.models import Role
from govhall.catalog import selectors, services, transfer
from govhall.catalog.models import CatalogueChange, ChangeAction, ChangeState, ChangeTarget, Implementation
from tests.factories import (
    HAISHU,
    HANGZHOU,
    XIHU,
    YUHANG,
    make_department,
    make_entry,
    make_implementation,
    make_staff,
    province_administrator,
    province_reviewer,
)

pytestmark = pytest.mark.django_db

IMPLEMENTATIONS, MATERIALS, STEPS = transfer.SHEETS


# --- helpers -----------------------------------------------------------------------------------


def export(implementations, file_format="xlsx") -> bytes:
    content, _content_type, _filename = transfer.implementation_list_export(
        implementations=Implementation.objects.filter(pk__in=[i.pk for i in implementations]).order_by(
            "implementation_code"
        ),
        file_format=file_format,
    )
    return content


def import_file(content: bytes, filename: str = "清单.xlsx", actor=None) -> transfer.ImportReport:
    return transfer.implementation_list_import(
        actor=actor or province_administrator(),
        uploaded_file=SimpleUploadedFile(filename, content),
        filename=filename,
    )


def column_of(worksheet, label: str) -> int:
    header = [cell.value for cell in worksheet[1]]
    return header.index(label) + 1


def xlsx_edit(content: bytes, edits: list[tuple[str, int, str, object]]) -> bytes:
    """Apply (sheet, row, header label, value) edits with openpyxl, as a person in Excel would."""
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    for sheet, row, label, value in edits:
        worksheet = workbook[sheet]
        worksheet.cell(row=row, column=column_of(worksheet, label), value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_rows(content: bytes, sheet: str) -> list[dict[str, object]]:
    worksheet = openpyxl.load_workbook(io.BytesIO(content))[sheet]
    header = [cell.value for cell in worksheet[1]]
    return [dict(zip(header, row, strict=True)) for row in worksheet.iter_rows(min_row=2, values_only=True)]


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=transfer.csv_header())
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def batch_changes(report: transfer.ImportReport):
    return list(CatalogueChange.objects.filter(batch=report.batch).order_by("id")) if report.batch else []


def errors_by_row(report: transfer.ImportReport) -> dict[tuple[str, int], list[str]]:
    found: dict[tuple[str, int], list[str]] = {}
    for error in report.errors:
        found.setdefault((error.sheet, error.row), []).append(f"{error.column}: {error.message}")
    return found


# --- the format ---------------------------------------------------------------------------------


def test_implementation_sheet_has_a_column_for_every_payload_element_but_materials_and_steps():
    implementation = make_implementation()

    keys = {column.key for column in transfer.implementation_columns()}

    # The form and process definitions are JSON edited in the workbench; an import keeps them.
    assert keys == set(services.implementation_payload(implementation)) - {
        "materials",
        "process_steps",
        *services.DEFINITION_FIELDS,
    }
    assert {"name", "basic_code", "kind", "legal_basis"} <= keys


def test_material_and_step_sheets_carry_every_element_in_order_keyed_by_implementation_code():
    assert [column.key for column in transfer.material_columns()] == [
        "implementation_code",
        "order",
        *services.MATERIAL_FIELDS,
    ]
    assert [column.key for column in transfer.step_columns()] == [
        "implementation_code",
        "order",
        *services.PROCESS_STEP_FIELDS,
    ]


def test_csv_header_shares_only_the_implementation_code_and_order_columns_between_tables():
    labels = [column.label for sheet in transfer.SHEETS for column in transfer._table_columns(sheet)]
    repeated = {label for label in labels if labels.count(label) > 1}

    assert repeated == {"实施编码", "顺序"}
    assert transfer.csv_header()[0] == "记录类型"
    assert len(transfer.csv_header()) == len(set(transfer.csv_header()))


def test_xlsx_export_writes_chinese_headers_choice_labels_and_yes_no():
    implementation = make_implementation(case_type="committed", charges_fee=False)

    content = export([implementation])

    assert openpyxl.load_workbook(io.BytesIO(content)).sheetnames == ["实施清单", "申请材料", "办理流程"]
    [row] = xlsx_rows(content, IMPLEMENTATIONS)
    assert row["实施编码"] == implementation.implementation_code
    assert row["事项类型"] == "行政许可"
    assert row["法定时限单位"] == "工作日"
    assert row["办件类型"] == "承诺件"
    assert row["是否收费"] == "否"
    assert row["是否网办"] == "是"
    assert row["承诺办结时限"] == 3
    materials = xlsx_rows(content, MATERIALS)
    assert [(m["实施编码"], m["顺序"], m["材料名称"]) for m in materials] == [
        (implementation.implementation_code, 1, "食品经营许可申请书"),
        (implementation.implementation_code, 2, "营业执照"),
        (implementation.implementation_code, 3, "授权委托书"),
    ]
    assert materials[2]["必要性"] == "容缺或情形必要"
    assert [step["环节名称"] for step in xlsx_rows(content, STEPS)] == ["申请", "审查", "决定"]


# --- round trips ------------------------------------------------------------------------------------


def test_reimporting_an_export_changes_nothing():
    implementations = [make_implementation(), make_implementation(region_code=YUHANG)]
    before = CatalogueChange.objects.count()

    report = import_file(export(implementations))

    assert report.errors == []
    assert (report.rows_read, report.added, report.changed, report.unchanged) == (2, 0, 0, 2)
    assert report.material_rows_read == 6
    assert report.step_rows_read == 6
    assert report.batch == ""
    assert CatalogueChange.objects.count() == before


def test_one_edited_cell_becomes_one_submitted_change_which_once_approved_shows_in_the_guide():
    implementation = make_implementation(promised_time_limit_days=3)
    other = make_implementation(region_code=YUHANG)
    content = xlsx_edit(
        export([implementation, other]),
        [
            (
                IMPLEMENTATIONS,
                2 if implementation.implementation_code < other.implementation_code else 3,
                "承诺办结时限",
                2,
            )
        ],
    )

    report = import_file(content)

    assert report.errors == []
    assert (report.added, report.changed, report.unchanged) == (0, 1, 1)
    [change] = batch_changes(report)
    assert change.action == ChangeAction.CHANGE
    assert change.state == ChangeState.SUBMITTED
    assert change.implementation_id == implementation.pk
    assert change.payload["promised_time_limit_days"] == 2
    assert change.payload["materials"] == services.implementation_payload(implementation)["materials"]

    # Given the same file again while the change waits for review: nothing new.
    assert import_file(content).changes_created == 0

    services.catalogue_change_approve(reviewer=province_reviewer(), change=change)
    implementation.refresh_from_db()
    guide = selectors.implementation_guide(implementation=implementation)
    assert guide.promised_time_limit_days == 2
    # And once it is published: still nothing new.
    again = import_file(content)
    assert (again.changes_created, again.unchanged, again.errors) == (0, 2, [])


def test_a_new_row_with_its_materials_and_steps_becomes_an_add_change():
    implementation = make_implementation()
    department = make_department(region_code=XIHU, kind="health")
    new_code = services.implementation_code_for(basic_code=implementation.entry.basic_code, department=department)
    workbook = openpyxl.load_workbook(io.BytesIO(export([implementation])))
    for sheet in transfer.SHEETS:
        worksheet = workbook[sheet]
        code_column = column_of(worksheet, "实施编码")
        for row in list(worksheet.iter_rows(min_row=2, values_only=True)):
            copied = list(row)
            copied[code_column - 1] = new_code
            if sheet == IMPLEMENTATIONS:
                copied[column_of(worksheet, "实施部门编码") - 1] = department.code
                copied[column_of(worksheet, "受理条件") - 1] = "卫生许可受理条件"
            worksheet.append(copied)
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = import_file(buffer.getvalue())

    assert report.errors == []
    assert (report.rows_read, report.added, report.changed, report.unchanged) == (2, 1, 0, 1)
    [change] = batch_changes(report)
    assert change.action == ChangeAction.ADD
    assert change.state == ChangeState.SUBMITTED
    assert change.payload["implementation_code"] == new_code
    assert change.payload["acceptance_conditions"] == "卫生许可受理条件"
    assert [m["name"] for m in change.payload["materials"]] == ["食品经营许可申请书", "营业执照", "授权委托书"]
    assert [s["name"] for s in change.payload["process_steps"]] == ["申请", "审查", "决定"]
    approved = services.catalogue_change_approve(reviewer=province_reviewer(), change=change)
    assert approved.implementation.department == department
    assert import_file(buffer.getvalue()).changes_created == 0


def test_csv_round_trip_keeps_materials_and_steps_in_order():
    implementation = make_implementation()
    content = export([implementation], "csv")
    assert content.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(content)
    assert [row["记录类型"] for row in rows] == ["实施清单"] + ["申请材料"] * 3 + ["办理流程"] * 3

    assert import_file(content, "清单.csv").changes_created == 0

    # Given materials listed in another order, with 顺序 saying the new order, and a step edited:
    materials = [row for row in rows if row["记录类型"] == "申请材料"]
    materials[0]["顺序"], materials[2]["顺序"] = "3", "1"
    steps = [row for row in rows if row["记录类型"] == "办理流程"]
    steps[1]["办理说明"] = "审查材料，必要时现场核查"
    steps[1]["环节时限（工作日）"] = "3"
    report = import_file(csv_bytes(rows), "清单.csv")

    assert report.errors == []
    assert report.changed == 1
    [change] = batch_changes(report)
    assert [m["name"] for m in change.payload["materials"]] == ["授权委托书", "营业执照", "食品经营许可申请书"]
    assert change.payload["materials"][0]["condition"] == "委托代理人办理的"
    assert change.payload["process_steps"][1] == {
        "name": "审查",
        "description": "审查材料，必要时现场核查",
        "duration_days": 3,
    }
    services.catalogue_change_approve(reviewer=province_reviewer(), change=change)
    implementation.refresh_from_db()
    exported_again = csv_rows(export([implementation], "csv"))
    assert [row["材料名称"] for row in exported_again if row["记录类型"] == "申请材料"] == [
        "授权委托书",
        "营业执照",
        "食品经营许可申请书",
    ]
    assert import_file(csv_bytes(exported_again), "清单.csv").changes_created == 0


def test_text_with_line_breaks_and_quotes_survives_both_formats():
    implementation = make_implementation(
        office_hours="周一至周五\r\n上午 9:00-12:00\r\n下午 14:00-17:00",
        special_procedures="'引号开头的说明",
        consultation_phone="+86 571 12345",
    )

    for file_format in ("xlsx", "csv"):
        report = import_file(export([implementation], file_format), f"清单.{file_format}")
        assert (report.errors, report.unchanged, report.changes_created) == ([], 1, 0)


def test_choice_codes_and_other_yes_no_spellings_are_read_like_the_labels():
    implementation = make_implementation()
    content = xlsx_edit(
        export([implementation]),
        [
            (IMPLEMENTATIONS, 2, "事项类型", "licensing"),
            (IMPLEMENTATIONS, 2, "办件类型", "committed"),
            (IMPLEMENTATIONS, 2, "是否网办", True),
            (IMPLEMENTATIONS, 2, "是否收费", "false"),
            (MATERIALS, 3, "材料形式", "copy"),
        ],
    )

    report = import_file(content)

    assert (report.errors, report.unchanged, report.changes_created) == ([], 1, 0)


# --- bad rows ---------------------------------------------------------------------------------------


def test_every_bad_row_is_reported_with_its_reason_and_nothing_is_created():
    entry = make_entry()
    kinds = ["market", "health", "transport", "housing", "education", "culture"]
    implementations = [make_implementation(entry=entry, kind=kind) for kind in kinds]
    before = CatalogueChange.objects.count()
    content = xlsx_edit(
        export(implementations),
        [
            (IMPLEMENTATIONS, 2, "受理条件", "一处正确的修改"),
            (IMPLEMENTATIONS, 3, "承诺办结时限", 30),
            (IMPLEMENTATIONS, 5, "事项名称", "食品经营许可（西湖版）"),
            (IMPLEMENTATIONS, 7, "事项类型", "行政许可证"),
        ],
    )

    report = import_file(content)

    found = errors_by_row(report)
    assert set(found) == {(IMPLEMENTATIONS, 3), (IMPLEMENTATIONS, 5), (IMPLEMENTATIONS, 7)}
    assert found[(IMPLEMENTATIONS, 3)] == ["承诺办结时限: 承诺办结时限（30日）不得超过法定办结时限（10日）。"]
    [uniform] = found[(IMPLEMENTATIONS, 5)]
    assert uniform.startswith("事项名称: “三级四同”要求事项名称与基本目录一致")
    [kind] = found[(IMPLEMENTATIONS, 7)]
    assert kind.startswith("事项类型: “事项类型”的取值“行政许可证”不在选项之内，可选：行政许可、")
    assert (report.added, report.changed, report.batch) == (0, 0, "")
    assert CatalogueChange.objects.count() == before


def test_material_of_an_unknown_implementation_and_bad_cells_are_reported_on_their_own_rows():
    implementation = make_implementation()
    content = xlsx_edit(
        export([implementation]),
        [
            (MATERIALS, 3, "实施编码", "NO-SUCH-CODE"),
            (MATERIALS, 4, "份数", "两份"),
            (STEPS, 2, "环节时限（工作日）", "=1+1"),
            (IMPLEMENTATIONS, 2, "是否收费", "可能"),
        ],
    )

    report = import_file(content)

    found = errors_by_row(report)
    assert found[(MATERIALS, 3)] == ["实施编码: 实施编码“NO-SUCH-CODE”不在“实施清单”表中。"]
    assert found[(MATERIALS, 4)] == ["份数: “份数”须为整数，此处为“两份”。"]
    assert found[(STEPS, 2)] == ["环节时限（工作日）: “环节时限（工作日）”是公式（=1+1），请改为直接填写内容。"]
    assert found[(IMPLEMENTATIONS, 2)] == ["是否收费: “是否收费”须填写“是”或“否”，此处为“可能”。"]
    assert report.changes_created == 0


def test_missing_required_column_is_reported_on_the_header_row():
    implementation = make_implementation()
    workbook = openpyxl.load_workbook(io.BytesIO(export([implementation])))
    worksheet = workbook[IMPLEMENTATIONS]
    worksheet.delete_cols(column_of(worksheet, "设定依据"))
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = import_file(buffer.getvalue())

    assert [(e.sheet, e.row, e.column) for e in report.errors] == [(IMPLEMENTATIONS, 1, "设定依据")]
    assert "缺少必需的列“设定依据”" in report.errors[0].message
    assert report.rows_read == 0


def test_city_administrator_is_refused_a_row_of_another_city_and_nothing_is_created():
    hangzhou_implementation = make_implementation(region_code=XIHU)
    ningbo_implementation = make_implementation(region_code=HAISHU)
    administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    rows = {
        code: number
        for number, code in enumerate(
            sorted([hangzhou_implementation.implementation_code, ningbo_implementation.implementation_code]), start=2
        )
    }
    content = xlsx_edit(
        export([hangzhou_implementation, ningbo_implementation]),
        [
            (IMPLEMENTATIONS, rows[hangzhou_implementation.implementation_code], "承诺办结时限", 2),
            (IMPLEMENTATIONS, rows[ningbo_implementation.implementation_code], "承诺办结时限", 2),
        ],
    )

    report = import_file(content, actor=administrator)

    assert [(e.sheet, e.row, e.message) for e in report.errors] == [
        (IMPLEMENTATIONS, rows[ningbo_implementation.implementation_code], "您无权管理宁波市海曙区的实施清单。")
    ]
    assert not CatalogueChange.objects.filter(drafted_by=administrator).exists()


def test_identical_change_already_pending_from_someone_else_is_not_drafted_again():
    implementation = make_implementation()
    payload = services.implementation_payload(implementation)
    payload["promised_time_limit_days"] = 2
    services.catalogue_change_draft(
        actor=province_administrator(),
        action=ChangeAction.CHANGE,
        target=ChangeTarget.IMPLEMENTATION,
        implementation=implementation,
        payload=payload,
        reason="缩短承诺时限",
    )
    city_administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    content = xlsx_edit(export([implementation]), [(IMPLEMENTATIONS, 2, "承诺办结时限", 2)])

    report = import_file(content, actor=city_administrator)

    assert (report.errors, report.changes_created, report.unchanged) == ([], 0, 1)


# --- safety -------------------------------------------------------------------------------------------


def test_formula_like_text_is_neutralised_in_both_formats_and_read_back_unchanged():
    implementation = make_implementation(
        special_procedures='=HYPERLINK("http://example.invalid","点击")',
        consultation_phone="@SUM(1+1)",
        entrusted_agency="-2+3",
    )

    xlsx = export([implementation])
    worksheet = openpyxl.load_workbook(io.BytesIO(xlsx))[IMPLEMENTATIONS]
    cell = worksheet.cell(row=2, column=column_of(worksheet, "特别程序"))
    assert cell.data_type == "s"
    assert cell.value == '\'=HYPERLINK("http://example.invalid","点击")'
    assert worksheet.cell(row=2, column=column_of(worksheet, "咨询电话")).value == "'@SUM(1+1)"
    [row] = [r for r in csv_rows(export([implementation], "csv")) if r["记录类型"] == "实施清单"]
    assert row["受委托机构"] == "'-2+3"
    assert row["特别程序"].startswith("'=")

    for content, name in ((xlsx, "清单.xlsx"), (export([implementation], "csv"), "清单.csv")):
        report = import_file(content, name)
        assert (report.errors, report.unchanged, report.changes_created) == ([], 1, 0)


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (PNG_BYTES, "清单.xlsx", "文件内容不是 XLSX 工作簿"),
        ("事项,名称\n".encode("gbk"), "清单.csv", "CSV 文件不是 UTF-8 编码"),
        (b"", "清单.xlsx", "文件是空的"),
        (b"anything", "清单.pdf", "只能导入 .xlsx 或 .csv 文件"),
        (b"\x00\x01binary", "清单.csv", "不是文本格式的 CSV"),
    ],
)
def test_wrong_files_are_refused_by_their_bytes_with_a_clear_message(content, filename, expected):
    report = import_file(content, filename)

    [error] = report.errors
    assert expected in error.message
    assert report.rows_read == 0


def test_zip_without_workbook_parts_is_not_taken_for_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")

    report = import_file(buffer.getvalue(), "清单.xlsx")

    assert "文件内容不是 XLSX 工作簿" in report.errors[0].message


def test_workbook_without_the_material_sheet_is_refused():
    implementation = make_implementation()
    workbook = openpyxl.load_workbook(io.BytesIO(export([implementation])))
    del workbook[MATERIALS]
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = import_file(buffer.getvalue())

    assert report.errors[0].message == "工作簿缺少工作表：申请材料。请使用导出的文件作为模板。"


def test_oversized_file_is_refused_before_it_is_read():
    report = import_file(b"a" * (transfer.IMPORT_MAX_BYTES + 1), "清单.csv")

    assert report.errors[0].message == "文件超过10 MB，请分成几个文件导入。"


def test_more_rows_than_the_limit_are_refused():
    header = ",".join(transfer.csv_header())
    body = "\n".join(f"办理流程,CODE{number},{number}" for number in range(transfer.IMPORT_MAX_ROWS + 1))
    content = f"{header}\n{body}\n".encode("utf-8-sig")

    report = import_file(content, "清单.csv")

    assert report.errors[0].message == f"“办理流程”超过{transfer.IMPORT_MAX_ROWS}行，请分成几个文件导入。"


# --- export scope and cost -----------------------------------------------------------------------------


def test_export_query_count_does_not_grow_with_implementations():
    entry = make_entry()
    first = [make_implementation(entry=entry, kind=f"k{number}") for number in range(2)]
    more = [make_implementation(entry=entry, kind=f"k{number}") for number in range(2, 10)]
    user = province_reviewer()

    def queries_for(implementations) -> int:
        codes = [implementation.implementation_code for implementation in implementations]
        with CaptureQueriesContext(connection) as captured:
            transfer.implementation_list_export(
                implementations=transfer.implementation_list_for_transfer(user=user).filter(
                    implementation_code__in=codes
                ),
                file_format="xlsx",
            )
        return len(captured.captured_queries)

    queries_for(first)  # the user's roles are read once per user object (accounts.guards.staff_assignments)
    assert queries_for(first) == queries_for(first + more)


def test_reviewer_export_covers_their_region_only():
    hangzhou = make_implementation(region_code=XIHU)
    make_implementation(region_code=HAISHU)
    reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=HANGZHOU)

    codes = list(transfer.implementation_list_for_transfer(user=reviewer).values_list("implementation_code", flat=True))

    assert codes == [hangzhou.implementation_code]


def test_moving_a_published_implementation_to_another_region_is_refused_rather_than_dropped():
    implementation = make_implementation(region_code=XIHU)

    report = import_file(xlsx_edit(export([implementation]), [(IMPLEMENTATIONS, 2, "实施区划代码", YUHANG)]))

    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "实施区划代码", f"实施区划不能变更：已发布版本为{XIHU}，此处为{YUHANG}。")
    ]


def test_csv_row_of_an_unknown_record_type_is_reported_by_its_row_number():
    implementation = make_implementation()
    rows = csv_rows(export([implementation], "csv"))
    rows[2]["记录类型"] = "附件"

    report = import_file(csv_bytes(rows), "清单.csv")

    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (4, "记录类型", "记录类型“附件”不正确，应为实施清单、申请材料或办理流程。")
    ]
    assert report.changes_created == 0
