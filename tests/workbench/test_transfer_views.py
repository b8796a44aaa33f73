"""The workbench pages to import and export implementation lists, through the HTTP test client."""

import io

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from govhall.accounts.models import Role
from govhall.catalog import transfer
from govhall.catalog.models import CatalogueChange, ChangeAction, ChangeState
from tests.factories import (
    HAISHU,
    HANGZHOU,
    NINGBO,
    PROVINCE,
    XIHU,
    force_login_verified,
    make_entry,
    make_implementation,
    make_staff,
)

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("workbench:transfer_import")
EXPORT_URL = reverse("workbench:transfer_export")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def logged_in(user) -> Client:
    client = Client()
    force_login_verified(client, user)
    return client


def download(client: Client, **fields) -> bytes:
    response = client.post(EXPORT_URL, {"file_format": "xlsx", **fields})
    assert response.status_code == 200, response.content.decode()
    return response.content


def upload(client: Client, content: bytes, filename: str = "实施清单.xlsx"):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(filename, content)})


def implementation_codes(content: bytes) -> list[str]:
    worksheet = openpyxl.load_workbook(io.BytesIO(content))["实施清单"]
    return [row[0] for row in worksheet.iter_rows(min_row=2, values_only=True)]


def edit_cell(content: bytes, *, row: int, label: str, value) -> bytes:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    worksheet = workbook["实施清单"]
    header = [cell.value for cell in worksheet[1]]
    worksheet.cell(row=row, column=header.index(label) + 1, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- who may use the pages -----------------------------------------------------------------------


@pytest.mark.parametrize("url", [IMPORT_URL, EXPORT_URL])
def test_anonymous_visitor_is_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))


@pytest.mark.parametrize(
    ("role", "url", "status", "refusal"),
    [
        (Role.WINDOW_CLERK, IMPORT_URL, 403, "只有事项管理员可以导入实施清单。"),
        (Role.WINDOW_CLERK, EXPORT_URL, 403, "只有事项管理员或事项审核员可以导出实施清单。"),
        (Role.CATALOGUE_REVIEWER, IMPORT_URL, 403, "只有事项管理员可以导入实施清单。"),
        (Role.CATALOGUE_REVIEWER, EXPORT_URL, 200, None),
        (Role.CATALOGUE_ADMINISTRATOR, IMPORT_URL, 200, None),
        (Role.CATALOGUE_ADMINISTRATOR, EXPORT_URL, 200, None),
    ],
)
def test_pages_answer_each_role(role, url, status, refusal):
    client = logged_in(make_staff(role=role, region_code=HANGZHOU))

    response = client.get(url)

    assert response.status_code == status
    if refusal:
        assert refusal in response.content.decode()
    else:
        assert 'type="submit"' in response.content.decode()


def test_reviewer_cannot_import_even_by_posting_a_file():
    implementation = make_implementation()
    province_reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=PROVINCE)
    content = edit_cell(download(logged_in(province_reviewer)), row=2, label="承诺办结时限", value=2)

    response = upload(logged_in(province_reviewer), content)

    assert response.status_code == 403
    assert not CatalogueChange.objects.filter(implementation=implementation, action=ChangeAction.CHANGE).exists()


def test_import_needs_the_csrf_token():
    administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    client = Client(enforce_csrf_checks=True)
    force_login_verified(client, administrator)

    def file():
        return SimpleUploadedFile("实施清单.csv", "名称\n".encode())

    refused = client.post(IMPORT_URL, {"file": file()})
    client.get(IMPORT_URL)
    accepted = client.post(IMPORT_URL, {"file": file(), "csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert "CSV 文件缺少“记录类型”列" in accepted.content.decode()


def test_export_needs_the_csrf_token():
    reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=HANGZHOU)
    client = Client(enforce_csrf_checks=True)
    force_login_verified(client, reviewer)

    assert client.post(EXPORT_URL, {"file_format": "csv"}).status_code == 403


# --- export ------------------------------------------------------------------------------------------


def test_export_holds_the_implementations_in_the_users_scope_only():
    hangzhou = make_implementation(region_code=XIHU)
    make_implementation(region_code=HAISHU)
    city_administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)

    response = logged_in(city_administrator).post(EXPORT_URL, {"file_format": "xlsx"})

    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"].startswith("attachment;")
    assert ".xlsx" in response["Content-Disposition"]
    assert implementation_codes(response.content) == [hangzhou.implementation_code]


def test_export_as_csv_is_utf8_with_a_byte_order_mark():
    implementation = make_implementation()
    reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=PROVINCE)

    response = logged_in(reviewer).post(EXPORT_URL, {"file_format": "csv", "region_code": XIHU})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(
        b"\xef\xbb\xbf\xe8\xae\xb0\xe5\xbd\x95\xe7\xb1\xbb\xe5\x9e\x8b"
    )  # BOM + 记录类型
    assert implementation.implementation_code in response.content.decode("utf-8-sig")


def test_export_filters_narrow_by_region_department_and_entry():
    entry = make_entry()
    market = make_implementation(entry=entry, region_code=XIHU)
    make_implementation(entry=entry, region_code=XIHU, kind="health")
    make_implementation(region_code=XIHU)
    ningbo = make_implementation(entry=entry, region_code=HAISHU)
    reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=PROVINCE)
    client = logged_in(reviewer)

    assert implementation_codes(download(client, region_code=NINGBO)) == [ningbo.implementation_code]
    assert implementation_codes(
        download(client, basic_code=entry.basic_code, department_code=market.department.code)
    ) == [market.implementation_code]


def test_export_filter_outside_the_scope_is_answered_as_not_found_and_keeps_the_input():
    make_implementation(region_code=HAISHU)
    ningbo_department = make_implementation(region_code=HAISHU, kind="health").department
    city_reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=HANGZHOU)

    response = logged_in(city_reviewer).post(
        EXPORT_URL, {"file_format": "xlsx", "department_code": ningbo_department.code, "region_code": "339999"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert f"部门“{ningbo_department.code}”不存在或不在您的管理范围内。" in page
    assert "区划“339999”不存在或不在您的管理范围内。" in page
    assert f'value="{ningbo_department.code}"' in page


def test_export_query_count_does_not_grow_with_rows():
    entry = make_entry()
    reviewer = make_staff(role=Role.CATALOGUE_REVIEWER, region_code=PROVINCE)
    client = logged_in(reviewer)
    for number in range(2):
        make_implementation(entry=entry, kind=f"q{number}")

    with CaptureQueriesContext(connection) as two:
        assert len(implementation_codes(download(client, basic_code=entry.basic_code))) == 2
    for number in range(2, 10):
        make_implementation(entry=entry, kind=f"q{number}")
    with CaptureQueriesContext(connection) as ten:
        assert len(implementation_codes(download(client, basic_code=entry.basic_code))) == 10

    assert len(ten.captured_queries) == len(two.captured_queries)


# --- import ------------------------------------------------------------------------------------------


def test_importing_an_edited_export_submits_one_change_and_shows_the_counts():
    implementation = make_implementation(region_code=XIHU, promised_time_limit_days=3)
    administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    client = logged_in(administrator)
    content = edit_cell(download(client), row=2, label="承诺办结时限", value=2)

    response = upload(client, content)

    page = response.content.decode()
    [change] = CatalogueChange.objects.filter(drafted_by=administrator)
    assert (change.action, change.state, change.implementation_id) == (
        ChangeAction.CHANGE,
        ChangeState.SUBMITTED,
        implementation.pk,
    )
    assert change.payload["promised_time_limit_days"] == 2
    assert "已提交 1 项变更待审核。" in page
    assert change.batch in page

    again = upload(client, content).content.decode()
    assert "没有产生新的变更" in again
    assert CatalogueChange.objects.filter(drafted_by=administrator).count() == 1


def test_importing_a_file_with_bad_rows_lists_them_and_creates_nothing():
    entry = make_entry()
    make_implementation(entry=entry, kind="market")
    make_implementation(entry=entry, kind="health")
    administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)
    client = logged_in(administrator)
    content = edit_cell(download(client), row=2, label="承诺办结时限", value=99)
    content = edit_cell(content, row=3, label="审批结果类型", value="执照")

    response = upload(client, content)

    page = response.content.decode()
    assert "发现 2 处错误，未导入任何内容。" in page
    assert "<td>2</td>" in page
    assert "承诺办结时限（99日）不得超过法定办结时限（10日）。" in page
    assert "<td>3</td>" in page
    assert "“审批结果类型”的取值“执照”不在选项之内" in page
    assert not CatalogueChange.objects.filter(drafted_by=administrator).exists()


def test_png_renamed_to_xlsx_is_refused_with_a_clear_message():
    administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)

    response = upload(logged_in(administrator), b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "照片.xlsx")

    assert response.status_code == 200
    assert "文件内容不是 XLSX 工作簿" in response.content.decode()


def test_oversized_upload_is_cut_off_and_refused_on_the_file_field():
    administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)

    response = upload(logged_in(administrator), b"a" * (transfer.IMPORT_MAX_BYTES + 1), "实施清单.csv")

    assert response.status_code == 200
    assert "文件超过10 MB，请分成几个文件导入。" in response.content.decode()
    assert not CatalogueChange.objects.filter(drafted_by=administrator).exists()


def test_posting_without_a_file_asks_for_one():
    administrator = make_staff(role=Role.CATALOGUE_ADMINISTRATOR, region_code=HANGZHOU)

    response = logged_in(administrator).post(IMPORT_URL, {})

    assert "请选择要导入的文件。" in response.content.decode()
