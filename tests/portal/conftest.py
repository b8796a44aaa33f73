import pytest

from govhall.catalog.services import theme_upsert
from govhall.org.models import Region
from govhall.org.services import hall_upsert
from tests.factories import XIHU, make_department, make_entry, make_implementation, material_example

HALL_NAME = "西湖区政务服务中心"


@pytest.fixture
def full_implementation():
    """An implementation that uses every guide element, published through the catalogue services."""
    theme_upsert(code="open-business", name="开办企业", name_en="Starting a business", audience="company")
    department = make_department(region_code=XIHU)
    hall_upsert(
        name=HALL_NAME,
        region=Region.objects.get(code=XIHU),
        address="杭州市西湖区文三路 100 号",
        opening_hours="周一至周五 8:30-12:00，13:30-17:00",
        phone="0571-88888888",
        windows=[{"number": "A08", "name": "市场监管综合窗口", "departments": [department]}],
    )
    entry = make_entry(name="食品经营许可", themes=["open-business"])
    return make_implementation(
        entry=entry,
        entrusted_agency="西湖区市场监管所",
        source_of_power="entrusted",
        statutory_time_limit_days=20,
        statutory_time_limit_unit="working",
        promised_time_limit_days=5,
        promised_time_limit_unit="calendar",
        case_type="committed",
        special_procedures="现场核查（不计入办理时限，一般 5 个工作日）",
        site_visits=1,
        address="西湖区政务服务中心二楼 A 区",
        office_hours="工作日 9:00-17:00",
        hall=HALL_NAME,
        windows=["A08"],
        charges_fee=True,
        fee_standard="每件 10 元",
        fee_basis="浙价费〔2020〕1 号",
        consultation_phone="0571-87654321",
        supervision_phone="0571-12315",
        online_depth="12345",
        online_payment=True,
        express_delivery=True,
        appointment=False,
        area_of_handling="province",
        result_type="licence",
        result_name="食品经营许可证",
        materials=[
            {
                "name": "食品经营许可申请书",
                "requirement": "required",
                "condition": "",
                "form": "original",
                "copies": 2,
                "source": "applicant",
                "notes": "用黑色墨水笔填写",
                "licence_type_code": "",
                "blank_form": "catalog/forms/application.pdf",
                "example_file": "catalog/examples/application-example.pdf",
            },
            material_example("营业执照", form="copy", source="government", licence_type_code="YYZZ"),
            material_example(
                "授权委托书", requirement="conditional", condition="委托代理人办理的", source="intermediary"
            ),
        ],
    )
