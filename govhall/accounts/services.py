"""Writes to people and staff. (The identity issue adds registration, login and companies.)"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts import privacy
from govhall.accounts.guards import staff_has_role, staff_may_grant_roles_to, staff_roles_are_separated
from govhall.accounts.models import (
    Agency,
    AssuranceLevel,
    AssuranceMethod,
    Company,
    Person,
    Role,
    StaffAssignment,
    User,
)
from govhall.accounts.registry import identity_registry
from govhall.accounts.selectors import person_get_by_identity_number
from govhall.audit.services import audit_record_add
from govhall.org.identifiers import identity_number_normalise, identity_number_problem, uscc_is_valid
from govhall.org.models import Department


class StaffRolesRefused(Exception):
    """A grant or withdrawal of roles that the actor may not make; ``message`` is for the actor."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def staff_user_upsert(
    *,
    username: str,
    display_name: str,
    password: str | None,
    assignments: Iterable[tuple[Department, Role]],
    is_superuser: bool = False,
    actor: User | None = None,
) -> User:
    """Create or update a staff member and set exactly the given roles; the password is set only
    when the account is new (an existing member keeps the password they chose).

    With an ``actor`` (a person, not the demo loader or a migration) the actor must be a security
    administrator and not the member themselves; no one may hold two of the three separated
    administrator roles. The audit record lists the roles granted and withdrawn.
    """
    assignments = list(assignments)
    if not staff_roles_are_separated(roles={role for _department, role in assignments}):
        raise StaffRolesRefused(_("系统管理员、安全管理员和安全审计员三个角色不能由同一人兼任。"))
    if actor is not None:
        target = User.objects.filter(username=username).first()
        if not staff_may_grant_roles_to(user=actor, target=target):
            raise StaffRolesRefused(_("只有安全管理员可以授予或撤销角色，且不能给自己授权。"))
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"display_name": display_name})
        user.display_name = display_name
        user.is_staff = True
        user.is_superuser = is_superuser
        if created and password:
            user.set_password(password)
        user.save()
        wanted = {(department.pk, role) for department, role in assignments}
        current = {(a.department_id, a.role): a for a in StaffAssignment.objects.filter(user=user)}
        for key, assignment in current.items():
            if key not in wanted:
                assignment.delete()
        for department_id, role in wanted - set(current):
            StaffAssignment.objects.create(user=user, department_id=department_id, role=role)
        if created or wanted != set(current):
            audit_record_add(
                actor=actor,
                action="staff_roles_set",
                object_type="user",
                object_id=user.pk,
                summary=f"{username}: {', '.join(sorted(role for _department, role in wanted))}",
                data={
                    "granted": sorted([department_id, role] for department_id, role in wanted - set(current)),
                    "withdrawn": sorted([department_id, role] for department_id, role in set(current) - wanted),
                },
            )
    return user


# ---------------------------------------------------------------------------------------------
# Assurance, companies and agents


class IdentityRefused(Exception):
    """A request about identity that cannot be granted; ``message`` is for the person."""

    def __init__(self, message: str, *, field: str = "__all__") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def person_assurance_raise_by_registry(*, person: Person, name: str, address: str | None = None) -> Person:
    """Raise a person to L2 by checking name + identity number against the population registry.

    The identity number is the one the person registered with (decrypted here, passed to the
    registry adapter only); the name is typed again by the person.
    """
    if person.assurance_level >= AssuranceLevel.L2:
        return person
    identity_number = privacy.decrypt(person.identity_number_encrypted, purpose="identity_number")
    matched = identity_registry().person_matches(name=name.strip(), identity_number=identity_number)
    with transaction.atomic():
        audit_record_add(
            actor=person.user,
            action="assurance_raise",
            object_type="person",
            object_id=person.pk,
            summary=f"L2 {'matched' if matched else 'not matched'} {person.identity_number_masked}",
            outcome="success" if matched else "refused",
            address=address,
        )
        if matched:
            person.name = name.strip()
            person.assurance_level = AssuranceLevel.L2
            person.assurance_method = AssuranceMethod.REGISTRY
            person.assured_at = timezone.now()
            person.save(update_fields=["name", "assurance_level", "assurance_method", "assured_at"])
    # Raised after the transaction, so the record of the refused check is kept.
    if not matched:
        raise IdentityRefused(_("姓名与身份证号在人口库中核验不一致，请检查后重试。"), field="name")
    return person


def person_find_or_register_at_window(*, clerk: User, identity_number: str, name: str, phone: str) -> Person:
    """A window clerk checks in the applicant present (一窗受理): the identity number is checked
    (GB 11643) and looked up; a registered person's name must match it, an unregistered one is
    registered here (with an unusable password: they log in later by phone and one-time code).
    Either way the clerk has seen the identity document in person, which is assurance L4 with
    method "window" (DOMAIN.md, "Identity assurance"); recorded with the clerk as actor.

    Only a user holding the window clerk role somewhere may call it. Raises ``IdentityRefused``
    naming the field concerned.
    """
    from govhall.accounts.registration import (
        identity_number_problem_message,
        person_create,
        phone_is_registered,
        phone_problem_message,
    )

    if not staff_has_role(user=clerk, role=Role.WINDOW_CLERK):
        raise IdentityRefused(_("只有窗口人员可以在窗口核验或登记申请人。"))
    identity_number = identity_number_normalise(identity_number)
    problem = identity_number_problem(identity_number)
    if problem is not None:
        raise IdentityRefused(identity_number_problem_message(problem), field="identity_number")
    name = name.strip()
    if not name or len(name) > 64:
        raise IdentityRefused(_("请按身份证件填写姓名（不超过 64 个字）。"), field="name")
    person = person_get_by_identity_number(identity_number=identity_number)
    registered = person is None
    if person is not None and person.name != name:
        raise IdentityRefused(_("姓名与该身份证号已登记的姓名不一致，请核对申请人的身份证件。"), field="name")
    if person is None:
        phone = phone.strip()
        phone_problem = phone_problem_message(phone)
        if phone_problem:
            raise IdentityRefused(phone_problem, field="phone")
        if phone_is_registered(phone=phone):
            raise IdentityRefused(_("该手机号已被其他账号使用，请申请人提供本人的其他手机号。"), field="phone")
        try:
            person = person_create(identity_number=identity_number, name=name, phone=phone, password=None).person
        except IntegrityError as duplicate:
            # Registered online (or at another window) between the look-up and the insert.
            raise IdentityRefused(_("该身份证号或手机号刚刚完成登记，请重新核验。")) from duplicate
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        person.assurance_level = AssuranceLevel.L4
        person.assurance_method = AssuranceMethod.WINDOW
        person.assured_at = timezone.now()
        person.save(update_fields=["assurance_level", "assurance_method", "assured_at"])
        audit_record_add(
            actor=clerk,
            action="assurance_raise",
            object_type="person",
            object_id=person.pk,
            summary=f"L4 window {person.identity_number_masked}",
            data={"method": AssuranceMethod.WINDOW, "registered_at_window": registered},
        )
    return person


def company_register(*, representative: Person, credit_code: str, address: str | None = None) -> Company:
    """Register a company by its legal representative (who must be L2 or above); the legal-person
    registry must hold the credit code with this person as legal representative."""
    credit_code = credit_code.strip().upper()
    if not uscc_is_valid(credit_code):
        raise IdentityRefused(_("统一社会信用代码不正确，请核对18位代码及校验位。"), field="credit_code")
    if representative.assurance_level < AssuranceLevel.L2:
        raise IdentityRefused(_("请先完成实名核验（L2）再登记法人。"))
    if Company.objects.filter(credit_code=credit_code).exists():
        raise IdentityRefused(_("该法人已登记。"), field="credit_code")
    identity_number = privacy.decrypt(representative.identity_number_encrypted, purpose="identity_number")
    found = identity_registry().company_find(
        credit_code=credit_code, legal_representative_identity_number=identity_number
    )
    if found is None or not found.legal_representative_matches:
        raise IdentityRefused(_("法人库中没有此统一社会信用代码，或您不是登记的法定代表人。"), field="credit_code")
    with transaction.atomic():
        company = Company.objects.create(
            credit_code=credit_code,
            name=found.name,
            kind=found.kind,
            legal_representative=representative,
            assurance_level=AssuranceLevel.L2,
        )
        audit_record_add(
            actor=representative.user,
            action="company_register",
            object_type="company",
            object_id=company.pk,
            summary=f"{company.name} {credit_code}",
            address=address,
        )
    return company


def agency_grant(
    *,
    company: Company,
    granted_by: Person,
    agent_identity_number: str,
    agent_name: str,
    valid_until: date,
    all_services: bool,
    services: Iterable[Any] = (),
    address: str | None = None,
) -> Agency:
    """The legal representative authorises a registered person (found by identity number and
    name) to act for the company, for all services or the named ones, until a date."""
    if company.legal_representative_id != granted_by.pk:
        raise IdentityRefused(_("只有法定代表人可以授权经办人。"))
    if valid_until <= timezone.localdate():
        raise IdentityRefused(_("授权截止日期须晚于今天。"), field="valid_until")
    services = list(services)
    if not all_services and not services:
        raise IdentityRefused(_("请选择授权的事项，或授权全部事项。"), field="services")
    index = privacy.blind_index(identity_number_normalise(agent_identity_number), purpose="identity_number")
    agent = Person.objects.filter(identity_number_index=index, name=agent_name.strip()).first()
    if agent is None:
        raise IdentityRefused(
            _("没有找到姓名与身份证号一致的注册用户，请经办人先注册。"), field="agent_identity_number"
        )
    with transaction.atomic():
        agency = Agency.objects.create(
            company=company, agent=agent, all_services=all_services, valid_until=valid_until, granted_by=granted_by
        )
        agency.services.set(services)
        audit_record_add(
            actor=granted_by.user,
            action="agency_grant",
            object_type="agency",
            object_id=agency.pk,
            summary=f"{company.credit_code} → {agent.identity_number_masked} until {valid_until}",
            acting_for=f"company:{company.credit_code}",
            address=address,
        )
    return agency


def agency_withdraw(*, agency: Agency, by: Person, address: str | None = None) -> Agency:
    """Withdraw an authorisation; only the company's legal representative may."""
    with transaction.atomic():
        agency = Agency.objects.select_for_update().select_related("company").get(pk=agency.pk)
        if agency.company.legal_representative_id != by.pk:
            raise IdentityRefused(_("只有法定代表人可以撤销授权。"))
        if agency.withdrawn_at is not None:
            return agency
        agency.withdrawn_at = timezone.now()
        agency.save(update_fields=["withdrawn_at"])
        audit_record_add(
            actor=by.user,
            action="agency_withdraw",
            object_type="agency",
            object_id=agency.pk,
            summary=f"{agency.company.credit_code} → {agency.agent_id}",
            acting_for=f"company:{agency.company.credit_code}",
            address=address,
        )
    return agency
