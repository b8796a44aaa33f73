"""Demo licence catalogue and the licences demo holders already have (as a department's records
would load them): the 营业执照 of the demo company and the e-licences the walk-through uses."""

from typing import Any

from django.db import transaction

from govhall.accounts.models import Company
from govhall.licences.models import HolderKind, Licence, LicenceType
from govhall.licences.seals import seal_for_department
from govhall.licences.services import licence_issue
from govhall.org.models import Department

DEMO_TYPES: list[dict[str, Any]] = [
    {
        "code": "SPJYXK",
        "name": "食品经营许可证",
        "holder_kind": HolderKind.ANY,
        "issuer_kinds": ["market"],
        "validity_months": 60,
        "fields": [
            {"name": "business_name", "label": "经营者名称", "source": "form.business_name", "required": True},
            {"name": "premises", "label": "经营场所", "source": "form.premises", "required": True},
            {"name": "business_items", "label": "经营项目", "source": "form.business_items", "required": True},
            {"name": "food_safety_manager", "label": "食品安全管理人员", "source": "form.food_safety_manager"},
        ],
        "layout": {"title": "食品经营许可证"},
    },
    {
        "code": "YYZZ",
        "name": "营业执照",
        "holder_kind": HolderKind.COMPANY,
        "issuer_kinds": ["market"],
        "validity_months": 0,
        "fields": [
            {"name": "company_name", "label": "名称", "source": "holder.name", "required": True},
            {"name": "company_kind", "label": "类型", "source": "form.company_kind"},
            {"name": "registered_capital", "label": "注册资本", "source": "form.registered_capital"},
            {"name": "address", "label": "住所", "source": "form.address"},
        ],
        "layout": {"title": "营业执照", "orientation": "landscape"},
    },
    {
        "code": "GTGSHYYZZ",
        "name": "营业执照（个体工商户）",
        "holder_kind": HolderKind.PERSON,
        "issuer_kinds": ["market"],
        "validity_months": 0,
        "fields": [
            {"name": "trade_name", "label": "名称", "source": "form.trade_name"},
            {"name": "operator", "label": "经营者", "source": "holder.name", "required": True},
            {"name": "premises", "label": "经营场所", "source": "form.premises"},
            {"name": "scope", "label": "经营范围", "source": "form.business_scope"},
        ],
        "layout": {"title": "营业执照", "orientation": "landscape"},
    },
    {
        "code": "GGCSWSXK",
        "name": "公共场所卫生许可证",
        "holder_kind": HolderKind.ANY,
        "issuer_kinds": ["health"],
        "validity_months": 48,
        "fields": [
            {"name": "unit_name", "label": "单位名称", "source": "holder.name", "required": True},
            {"name": "item", "label": "许可项目", "source": "item.name", "required": True},
        ],
        "layout": {"title": "公共场所卫生许可证"},
    },
    {
        "code": "JSGCGHXK",
        "name": "建设工程规划许可证",
        "holder_kind": HolderKind.COMPANY,
        "issuer_kinds": ["natural_resources"],
        "validity_months": 0,
        "fields": [
            {"name": "developer", "label": "建设单位", "source": "holder.name", "required": True},
            {"name": "project", "label": "建设项目名称", "source": "form.project_name"},
            {"name": "location", "label": "建设位置", "source": "form.project_address"},
        ],
        "layout": {"title": "建设工程规划许可证"},
    },
    {
        "code": "CSYXZM",
        "name": "出生医学证明",
        "holder_kind": HolderKind.PERSON,
        "issuer_kinds": ["health"],
        "validity_months": 0,
        "fields": [
            {"name": "newborn_name", "label": "新生儿姓名", "source": "form.newborn_name"},
            {"name": "birth_date", "label": "出生日期", "source": "form.birth_date"},
            {"name": "parent", "label": "申领人", "source": "holder.name", "required": True},
        ],
        "layout": {"title": "出生医学证明"},
    },
]


def licence_demo_load(*, company_credit_code: str, region_code: str) -> int:
    """The demo licence types (idempotent), seals for the issuing departments of the demo region,
    and the demo company's 营业执照 (so its applications are not asked for it). Returns the
    number of licences issued now."""
    issued = 0
    with transaction.atomic():
        for spec in DEMO_TYPES:
            LicenceType.objects.update_or_create(
                code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"}
            )
        for kind in ("market", "health", "natural_resources"):
            department = Department.objects.filter(region_id=region_code, kind=kind).first()
            if department is not None:
                seal_for_department(department=department, create=True)
    company = Company.objects.filter(credit_code=company_credit_code).select_related("legal_representative").first()
    market = Department.objects.filter(region_id=region_code, kind="market").first()
    if company is not None and market is not None and not Licence.objects.filter(company=company).exists():
        licence_issue(
            licence_type=LicenceType.objects.get(code="YYZZ"),
            issuer=market,
            fields={
                "company_kind": "有限责任公司（自然人投资或控股）",
                "registered_capital": "100 万元",
                "address": "浙江省杭州市西湖区龙井路 1 号",
            },
            holder_company=company,
        )
        issued += 1
    return issued
