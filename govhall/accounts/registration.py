"""Registration of a natural person: identity number + name + phone confirmed by a one-time code
(DOMAIN.md: the identity number plus at least one more check), assurance L1 self-declared."""

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.accounts import privacy
from govhall.accounts.authentication import PHONE_PATTERN
from govhall.accounts.models import AssuranceLevel, AssuranceMethod, OneTimeCodePurpose, Person, User
from govhall.accounts.one_time_codes import (
    CodeCheck,
    CodeSent,
    code_check_message,
    one_time_code_check,
    one_time_code_send,
)
from govhall.audit.services import audit_record_add
from govhall.org.identifiers import IdentityNumberProblem, identity_number_normalise, identity_number_problem


class RegistrationRefused(Exception):
    """Registration cannot go ahead; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(message for messages in errors.values() for message in messages))
        self.errors = errors


def identity_number_problem_message(problem: IdentityNumberProblem) -> str:
    messages = {
        IdentityNumberProblem.LENGTH: _("身份证号应为 18 位。"),
        IdentityNumberProblem.CHARACTERS: _("身份证号前 17 位应为数字，最后一位为数字或字母 X。"),
        IdentityNumberProblem.REGION: _("身份证号前 6 位不是有效的行政区划代码。"),
        IdentityNumberProblem.BIRTH_DATE: _("身份证号第 7 至 14 位不是有效的出生日期。"),
        IdentityNumberProblem.CHECK_CHARACTER: _("身份证号校验位（最后一位）不正确，请核对。"),
    }
    return messages[problem]


def phone_problem_message(phone: str) -> str | None:
    if not PHONE_PATTERN.match(phone.strip()):
        return _("手机号应为 11 位中国大陆手机号码（1 开头，第二位为 3 至 9）。")
    return None


def phone_is_registered(*, phone: str) -> bool:
    return Person.objects.filter(phone_index=privacy.blind_index(phone.strip(), purpose="phone")).exists()


def registration_code_send(*, phone: str, address: str | None) -> CodeSent:
    """Send the registration code. The phone must be well formed and not yet registered (the
    refusal says only that the number is taken, not by whom)."""
    from govhall.accounts.one_time_codes import CodeSendRefused

    problem = phone_problem_message(phone)
    if problem:
        raise CodeSendRefused(problem)
    if phone_is_registered(phone=phone):
        raise CodeSendRefused(_("该手机号已注册，请直接登录或更换手机号。"))
    return one_time_code_send(phone=phone, purpose=OneTimeCodePurpose.REGISTRATION, address=address)


def registration_problems(*, identity_number: str, name: str, phone: str, password: str) -> dict[str, list[str]]:
    """Every problem with the typed values, per field (the code aside), so one round shows them all."""
    errors: dict[str, list[str]] = {}
    problem = identity_number_problem(identity_number)
    if problem is not None:
        errors["identity_number"] = [identity_number_problem_message(problem)]
    else:
        index = privacy.blind_index(identity_number_normalise(identity_number), purpose="identity_number")
        if Person.objects.filter(identity_number_index=index).exists():
            errors["identity_number"] = [_("该身份证号已注册。如忘记密码，请使用手机验证码登录。")]
    if not name.strip():
        errors["name"] = [_("请填写姓名。")]
    elif len(name.strip()) > 64:
        errors["name"] = [_("姓名不能超过 64 个字。")]
    phone_problem = phone_problem_message(phone)
    if phone_problem:
        errors["phone"] = [phone_problem]
    elif phone_is_registered(phone=phone):
        errors["phone"] = [_("该手机号已注册，请直接登录或更换手机号。")]
    try:
        validate_password(password, user=User(display_name=name.strip()))
    except ValidationError as invalid:
        errors["password"] = list(invalid.messages)
    return errors


def person_register(
    *, identity_number: str, name: str, phone: str, password: str, code: str, address: str | None
) -> User:
    """Create the account and the person (identity number and phone encrypted, indexed, masked;
    L1 self-declared) once every field is valid and the phone's code is right; one transaction
    with its audit record. Raises ``RegistrationRefused`` with the errors per field."""
    identity_number = identity_number_normalise(identity_number)
    phone = phone.strip()
    name = name.strip()
    errors = registration_problems(identity_number=identity_number, name=name, phone=phone, password=password)
    if errors:
        raise RegistrationRefused(errors)
    # The code is checked last, so a typo elsewhere does not spend one of its tries.
    check = one_time_code_check(phone=phone, purpose=OneTimeCodePurpose.REGISTRATION, code=code)
    if check != CodeCheck.ACCEPTED:
        raise RegistrationRefused({"code": [code_check_message(check)]})
    try:
        return person_create(
            identity_number=identity_number, name=name, phone=phone, password=password, address=address
        )
    except IntegrityError as duplicate:
        # Someone registered the same number between the check and the insert.
        raise RegistrationRefused({"__all__": [_("该身份证号或手机号已注册。")]}) from duplicate


def person_create(
    *, identity_number: str, name: str, phone: str, password: str | None, address: str | None = None
) -> User:
    """Create an account and its person (L1, self-declared) from values already checked: the
    identity number and phone encrypted, indexed and masked; one transaction with its audit
    record. Registration calls it after the phone's code; the demo loader calls it directly."""
    now = timezone.now()
    with transaction.atomic():
        user = User(username=f"p{secrets.token_hex(8)}", display_name=name)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        person = Person.objects.create(
            user=user,
            name=name,
            identity_number_encrypted=privacy.encrypt(identity_number, purpose="identity_number"),
            identity_number_index=privacy.blind_index(identity_number, purpose="identity_number"),
            identity_number_masked=privacy.mask_identity_number(identity_number),
            phone_encrypted=privacy.encrypt(phone, purpose="phone"),
            phone_index=privacy.blind_index(phone, purpose="phone"),
            phone_masked=privacy.mask_phone(phone),
            assurance_level=AssuranceLevel.L1,
            assurance_method=AssuranceMethod.SELF_DECLARED,
            assured_at=now,
        )
        audit_record_add(
            actor=user,
            action="person_register",
            object_type="person",
            object_id=person.pk,
            summary=f"L1 {person.identity_number_masked} {person.phone_masked}",
            address=address,
        )
    return user
