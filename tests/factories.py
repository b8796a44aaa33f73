"""Test data made through the real services, so every fixture obeys the catalogue's rules."""

import itertools
from typing import Any

from govhall.accounts.models import Role, StaffAssignment, User
from govhall.catalog import services
from govhall.catalog.models import CatalogueEntry, ChangeAction, ChangeTarget, Implementation
from govhall.org.models import Department, Region
from govhall.org.services import department_upsert

_sequence = itertools.count(1)

PROVINCE = "330000"
HANGZHOU = "330100"
NINGBO = "330200"
XIHU = "330106"
YUHANG = "330110"
HAISHU = "330203"


def unique(prefix: str) -> str:
    return f"{prefix}{next(_sequence):05d}"


def make_department(*, region_code: str, kind: str = "market", name: str | None = None) -> Department:
    region = Region.objects.get(code=region_code)
    code = f"{region_code}{kind.upper()}"
    existing = Department.objects.filter(code=code).first()
    if existing:
        return existing
    return department_upsert(code=code, name=name or f"{region.full_name}{kind}局", region=region, kind=kind)


def make_staff(*, role: Role, region_code: str, username: str | None = None, kind: str = "data") -> User:
    user = User.objects.create_user(username=username or unique("staff"), password="a-long-test-password")
    StaffAssignment.objects.create(user=user, department=make_department(region_code=region_code, kind=kind), role=role)
    return user


def province_administrator() -> User:
    user = User.objects.filter(username="factory-province-admin").first()
    return user or make_staff(
        role=Role.CATALOGUE_ADMINISTRATOR, region_code=PROVINCE, username="factory-province-admin"
    )


def province_reviewer() -> User:
    user = User.objects.filter(username="factory-province-reviewer").first()
    return user or make_staff(role=Role.CATALOGUE_REVIEWER, region_code=PROVINCE, username="factory-province-reviewer")


def material_example(name: str, **overrides: Any) -> dict[str, Any]:
    """A required original material with every element filled; override what a test is about."""
    return {
        "name": name,
        "requirement": "required",
        "condition": "",
        "form": "original",
        "copies": 1,
        "source": "applicant",
        "notes": "",
        "licence_type_code": "",
        "blank_form": "",
        "example_file": "",
        **overrides,
    }


def entry_payload_example(**overrides: Any) -> dict[str, Any]:
    payload = {
        "basic_code": unique("0001720"),
        "name": "食品经营许可",
        "kind": "licensing",
        "legal_basis": "《中华人民共和国食品安全法》第三十五条",
        "description": "从事食品销售和餐饮服务活动，应当依法取得许可。",
        "for_persons": True,
        "for_companies": True,
        "themes": [],
    }
    payload.update(overrides)
    return payload


def implementation_payload_example(
    *, entry: CatalogueEntry, department: Department, **overrides: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "implementation_code": services.implementation_code_for(basic_code=entry.basic_code, department=department),
        "basic_code": entry.basic_code,
        "name": entry.name,
        "kind": entry.kind,
        "legal_basis": entry.legal_basis,
        "region_code": department.region_id,
        "department_code": department.code,
        "source_of_power": "statutory",
        "entrusted_agency": "",
        "acceptance_conditions": "申请人应当具有与经营的食品品种、数量相适应的经营场所。",
        "statutory_time_limit_days": 10,
        "statutory_time_limit_unit": "working",
        "promised_time_limit_days": 3,
        "promised_time_limit_unit": "working",
        "site_visits": 0,
        "address": "",
        "office_hours": "周一至周五 9:00-17:00",
        "hall": "",
        "windows": [],
        "charges_fee": False,
        "fee_standard": "不收费",
        "fee_basis": "",
        "case_type": "committed",
        "special_procedures": "",
        "consultation_phone": "0571-12345",
        "supervision_phone": "12345",
        "online_available": True,
        "online_depth": "123456",
        "online_payment": False,
        "express_delivery": True,
        "appointment": True,
        "handled_in_hall": True,
        "area_of_handling": "city",
        "result_type": "licence",
        "result_name": "食品经营许可证",
        "licence_type_code": "SPJYXK",
        "process_steps": [
            {"name": "申请", "description": "网上提交申请", "duration_days": 0},
            {"name": "审查", "description": "审查材料", "duration_days": 2},
            {"name": "决定", "description": "作出许可决定", "duration_days": 1},
        ],
        "materials": [
            {
                "name": "食品经营许可申请书",
                "requirement": "required",
                "condition": "",
                "form": "original",
                "copies": 1,
                "source": "applicant",
                "notes": "",
                "licence_type_code": "",
                "blank_form": "",
                "example_file": "",
            },
            {
                "name": "营业执照",
                "requirement": "required",
                "condition": "",
                "form": "copy",
                "copies": 1,
                "source": "government",
                "notes": "",
                "licence_type_code": "YYZZ",
                "blank_form": "",
                "example_file": "",
            },
            {
                "name": "授权委托书",
                "requirement": "conditional",
                "condition": "委托代理人办理的",
                "form": "original",
                "copies": 1,
                "source": "applicant",
                "notes": "",
                "licence_type_code": "",
                "blank_form": "",
                "example_file": "",
            },
        ],
    }
    payload.update(overrides)
    return payload


def publish(
    *,
    action: str,
    target: str,
    payload: dict | None = None,
    entry=None,
    implementation=None,
    drafter=None,
    reviewer=None,
    reason: str = "测试",
) -> Any:
    """Draft, submit and approve a change through the services; returns the approved change."""
    change = services.catalogue_change_draft(
        actor=drafter or province_administrator(),
        action=action,
        target=target,
        payload=payload,
        entry=entry,
        implementation=implementation,
        reason=reason,
        submit=True,
    )
    return services.catalogue_change_approve(reviewer=reviewer or province_reviewer(), change=change)


def make_entry(**overrides: Any) -> CatalogueEntry:
    change = publish(action=ChangeAction.ADD, target=ChangeTarget.ENTRY, payload=entry_payload_example(**overrides))
    return change.entry


def make_implementation(
    *, entry: CatalogueEntry | None = None, region_code: str = XIHU, kind: str = "market", **overrides: Any
) -> Implementation:
    entry = entry or make_entry()
    department = make_department(region_code=region_code, kind=kind)
    payload = implementation_payload_example(entry=entry, department=department, **overrides)
    change = publish(action=ChangeAction.ADD, target=ChangeTarget.IMPLEMENTATION, payload=payload)
    return change.implementation


def identity_number_for(region_code: str, birth: str, sequence: int) -> str:
    """A well-formed identity number (GB 11643) for test people; not a real person's."""
    from govhall.org.identifiers import identity_number_check_character

    first = f"{region_code}{birth}{sequence:03d}"
    return first + identity_number_check_character(first)


def make_person(
    *,
    name: str = "张三",
    identity_number: str | None = None,
    phone: str | None = None,
    level: int = 1,
    in_registry: bool = True,
):
    """A registered person (and, by default, the population registry's record of them), raised
    to L2 through the registry check when ``level`` is 2."""
    from govhall.accounts.registration import person_create
    from govhall.accounts.registry import demo_registry_person_add
    from govhall.accounts.services import person_assurance_raise_by_registry

    number = next(_sequence)
    identity_number = identity_number or identity_number_for("330106", "19900101", number % 1000)
    phone = phone or f"139{number:08d}"
    if in_registry:
        demo_registry_person_add(name=name, identity_number=identity_number)
    user = person_create(identity_number=identity_number, name=name, phone=phone, password="a-long-test-password")
    person = user.person
    if level >= 2:
        person_assurance_raise_by_registry(person=person, name=name)
    return person


def force_login_verified(client: Any, user: User) -> None:
    """Log ``user`` in on a test client with the session verified by a TOTP device, as the
    workbench's two-step login leaves it; staff pages and the admin demand that mark."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from govhall.accounts.totp import staff_totp_device_create

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = staff_totp_device_create(user=user)[0]
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
