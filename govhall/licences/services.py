"""Issuing, changing and expiring licences (电子证照).

A licence is issued to a person or a company by a department, from an approved case
(Administrative Licensing Law art. 44: the licence follows the decision to grant) or directly
(a department's existing records, the demo). Each issue or renewal is a version with its own
identifier and its own PDF signed with the department's seal; suspension, resumption,
revocation and expiry change the status every verification answers. Each change writes a
LicenceEvent and an audit record.
"""

import calendar
import datetime
import hashlib
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.audit.services import audit_record_add
from govhall.licences import seals
from govhall.licences.identifiers import licence_identifier, licence_serial_format
from govhall.licences.models import (
    HolderKind,
    Licence,
    LicenceEvent,
    LicenceStatus,
    LicenceType,
    LicenceVersion,
)
from govhall.licences.render import licence_pdf_render
from govhall.notices.services import person_notify


class LicenceRefused(Exception):
    """A licence action that the rules do not allow; ``message`` says why (zh-hans)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def licence_verify_url(identifier: str) -> str:
    """The public page the licence's QR code points at."""
    return settings.GOVHALL_PUBLIC_URL + reverse("licences_public:verify_identifier", args=[identifier])


def _serial_next(*, type_code: str, issuer_code: str) -> str:
    """The next serial per licence type and issuer: one atomic upsert (PostgreSQL and SQLite)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO licences_licenceserialsequence (type_code, issuer_code, last) VALUES (%s, %s, 1) "
            "ON CONFLICT (type_code, issuer_code) DO UPDATE SET last = licences_licenceserialsequence.last + 1 "
            "RETURNING last",
            [type_code, issuer_code],
        )
        (last,) = cursor.fetchone()
    return licence_serial_format(last)


def licence_number(*, region_code: str, type_code: str, issuer_code: str, serial: str) -> str:
    """The number printed on the licence (证照编号): the issuer's region, the whole type code, the
    organisation code within the issuer's credit code (its 9th to 17th characters, one
    organisation's nationally) and the serial, which counts per type and issuer. So it is as
    unique as (type, issuer, serial), which the table holds unique. The type code's last four
    characters alone made 营业执照 (YYZZ) and 营业执照（个体工商户） (GTGSHYYZZ) of one market
    department share numbers; the region alone, two departments of one region issuing a type."""
    return f"{region_code}{type_code}{issuer_code[8:17]}{serial}"


def _valid_until(licence_type: LicenceType, start: datetime.date) -> datetime.date | None:
    """The last day of validity: ``validity_months`` after ``start``, less one day; None: long-term."""
    if not licence_type.validity_months:
        return None
    months = start.month - 1 + licence_type.validity_months
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day) - datetime.timedelta(days=1)


def _holder(person: Any, company: Any) -> tuple[str, str, str]:
    """(kind, name, identifier shown): a person's identity number masked; a credit code is public."""
    if company is not None:
        return HolderKind.COMPANY, company.name, company.credit_code
    return HolderKind.PERSON, person.name, person.identity_number_masked


def _field_rows(licence_type: LicenceType, fields: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(spec.get("label") or spec["name"]), str(fields.get(spec["name"], ""))) for spec in licence_type.fields]


def _document_make(
    *,
    licence: Licence,
    version: int,
    identifier: str,
    fields: dict[str, Any],
    valid_from: datetime.date,
    valid_until: datetime.date | None,
    officer: Any,
    now: datetime.datetime,
) -> LicenceVersion:
    seal = seals.seal_for_department(department=licence.issuer)
    pdf = licence_pdf_render(
        title=licence.licence_type.layout.get("title") or licence.licence_type.name,
        number=licence.number,
        identifier=identifier,
        holder_name=licence.holder_name,
        holder_identifier=licence.holder_identifier_masked,
        issuer_name=licence.issuer.name,
        fields=_field_rows(licence.licence_type, fields),
        issued_on=licence.issued_on,
        valid_from=valid_from,
        valid_until=valid_until,
        verify_url=licence_verify_url(identifier),
        landscape_layout=licence.licence_type.layout.get("orientation") == "landscape",
    )
    signed = seals.signer_for(seal).sign_pdf(
        pdf=pdf, seal=seal, reason=_("电子证照签发"), location=licence.issuer.region.full_name
    )
    digest = hashlib.sha256(signed).hexdigest()
    name = default_storage.save(f"licences/{digest[:2]}/{digest}.pdf", ContentFile(signed))
    return LicenceVersion.objects.create(
        licence=licence,
        version=version,
        identifier=identifier,
        fields=fields,
        valid_from=valid_from,
        valid_until=valid_until,
        document=name,
        sha256=digest,
        seal=seal,
        signed_at=now,
        signed_by=officer,
    )


def licence_issue(
    *,
    licence_type: LicenceType,
    issuer: Any,
    fields: dict[str, Any],
    holder_person: Any = None,
    holder_company: Any = None,
    officer: Any = None,
    case: Any = None,
    issued_on: datetime.date | None = None,
) -> Licence:
    """Issue a licence of ``licence_type`` by department ``issuer`` to a person or a company."""
    if not licence_type.active:
        raise LicenceRefused("type_inactive", _("该证照类型已停用。"))
    if (holder_person is None) == (holder_company is None):
        raise LicenceRefused("holder_required", _("须指定一个持证主体（自然人或法人）。"))
    kind, holder_name, holder_identifier = _holder(holder_person, holder_company)
    if licence_type.holder_kind != HolderKind.ANY and kind != licence_type.holder_kind:
        raise LicenceRefused(
            "holder_kind",
            _("“%(type)s”只颁发给%(kind)s。")
            % {"type": licence_type.name, "kind": licence_type.get_holder_kind_display()},
        )
    if licence_type.issuer_kinds and issuer.kind not in licence_type.issuer_kinds:
        raise LicenceRefused("issuer_kind", _("“%(department)s”不是该证照的颁证部门。") % {"department": issuer.name})
    if not issuer.credit_code:
        raise LicenceRefused(
            "issuer_code_missing",
            _("颁证部门“%(department)s”没有统一社会信用代码，无法生成证照标识。") % {"department": issuer.name},
        )
    fields = dict(fields)
    for spec in licence_type.fields:  # the holder's name is known whatever the source of the rest
        if spec.get("source") == "holder.name" and not str(fields.get(spec["name"], "")).strip():
            fields[spec["name"]] = holder_name
    missing = [
        str(spec.get("label") or spec["name"])
        for spec in licence_type.fields
        if spec.get("required") and not str(fields.get(spec["name"], "")).strip()
    ]
    if missing:
        raise LicenceRefused("fields_missing", _("照面信息不完整：%(fields)s。") % {"fields": "、".join(missing)})
    now = timezone.now()
    issued_on = issued_on or timezone.localdate()
    valid_until = _valid_until(licence_type, issued_on)
    with transaction.atomic():
        serial = _serial_next(type_code=licence_type.code, issuer_code=issuer.credit_code)
        identifier = licence_identifier(
            type_code=licence_type.code, issuer_code=issuer.credit_code, serial=serial, version=1
        )
        licence = Licence.objects.create(
            licence_type=licence_type,
            issuer=issuer,
            issuer_code=issuer.credit_code,
            serial=serial,
            number=licence_number(
                region_code=issuer.region_id, type_code=licence_type.code, issuer_code=issuer.credit_code, serial=serial
            ),
            holder_kind=kind,
            person=holder_person,
            company=holder_company,
            holder_name=holder_name,
            holder_identifier_masked=holder_identifier,
            case=case,
            identifier=identifier,
            fields=fields,
            issued_on=issued_on,
            valid_from=issued_on,
            valid_until=valid_until,
        )
        _document_make(
            licence=licence,
            version=1,
            identifier=identifier,
            fields=fields,
            valid_from=issued_on,
            valid_until=valid_until,
            officer=officer,
            now=now,
        )
        _event(licence=licence, action="issue", actor=officer, now=now, reason=case.number if case is not None else "")
        user = holder_person.user if holder_person is not None else None
        if user is None and case is not None:
            user = case.applicant
        if user is not None:
            person_notify(
                user=user,
                subject=_("电子证照已签发"),
                body=_("您的%(type)s（编号%(number)s）已签发，可在“我的证照”中查看和下载。")
                % {"type": licence_type.name, "number": licence.number},
                link="/licences/",
                purpose="licence_issued",
            )
    return licence


def licence_type_for_case(case: Any) -> LicenceType | None:
    """The active licence type the case's item yields, or None when it yields none."""
    implementation = case.implementation
    if implementation.result_type != "licence" or not implementation.licence_type_code:
        return None
    return LicenceType.objects.filter(code=implementation.licence_type_code, active=True).first()


def licence_fields_from_case(*, case: Any, licence_type: LicenceType) -> dict[str, Any]:
    """The values the type's field sources take from the case (form, case, holder, decision)."""
    values: dict[str, Any] = {}
    for spec in licence_type.fields:
        source = str(spec.get("source") or "")
        value: Any = ""
        if source.startswith("form."):
            value = (case.data or {}).get(source[5:], "")
            if isinstance(value, list):
                value = "、".join(str(item) for item in value)
            elif isinstance(value, dict):
                value = _address_text(value)
        elif source.startswith("case."):
            value = getattr(case, source[5:], "")
        elif source == "holder.name":
            value = case.applicant_name
        elif source == "decision.reasons":
            value = case.decision_reasons
        elif source == "item.name":
            value = case.item_name
        values[spec["name"]] = "" if value is None else str(value)
    return values


def _address_text(value: dict[str, Any]) -> str:
    """An address field ({region, detail}) as printed: the region's full name, then the rest."""
    from govhall.org.models import Region

    parts = []
    for key, item in value.items():
        if key == "region" and item:
            region = Region.objects.filter(code=str(item)).first()
            parts.append(region.full_name if region is not None else str(item))
        elif item:
            parts.append(str(item))
    return "".join(parts)


def licence_issue_from_case(*, case: Any, officer: Any, fields: dict[str, Any] | None = None) -> Licence:
    """制证: the licence an approved case yields (art. 44); a second call returns the same one."""
    existing = Licence.objects.filter(case=case).first()
    if existing is not None:
        return existing
    if case.decision != "approve":
        raise LicenceRefused("not_approved", _("未作出准予决定，不能签发证照。"))
    licence_type = licence_type_for_case(case)
    if licence_type is None:
        raise LicenceRefused("no_licence_type", _("该事项的办理结果不是电子证照，或证照类型未启用。"))
    values = licence_fields_from_case(case=case, licence_type=licence_type)
    values.update({key: value for key, value in (fields or {}).items() if str(value).strip()})
    return licence_issue(
        licence_type=licence_type,
        issuer=case.department,
        fields=values,
        holder_person=case.person if case.company_id is None else None,
        holder_company=case.company,
        officer=officer,
        case=case,
    )


def _event(*, licence: Licence, action: str, actor: Any, now: datetime.datetime, reason: str = "") -> None:
    LicenceEvent.objects.create(
        licence=licence, action=action, at=now, actor=actor, version=licence.version, reason=reason
    )
    audit_record_add(
        actor=actor,
        action=f"licence_{action}",
        object_type="licence",
        object_id=licence.identifier,
        summary=f"{licence.licence_type.name} {licence.number}",
        data={"status": licence.status, "version": licence.version, "reason": reason[:200]},
    )


def _locked(licence: Licence) -> Licence:
    return Licence.objects.select_for_update().select_related("licence_type", "issuer__region").get(pk=licence.pk)


def _reason_required(reason: str) -> str:
    if len(reason.strip()) < 2:
        raise LicenceRefused("reason_required", _("请填写原因。"))
    return reason.strip()


def _status_change(
    *, licence: Licence, officer: Any, reason: str, allowed_from: tuple[str, ...], to: str, action: str, refused: str
) -> Licence:
    reason = _reason_required(reason)
    with transaction.atomic():
        licence = _locked(licence)
        if licence.status not in allowed_from:
            raise LicenceRefused("state", refused % {"status": licence.get_status_display()})
        now = timezone.now()
        licence.status = to
        licence.status_reason = reason
        licence.status_changed_at = now
        licence.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
        _event(licence=licence, action=action, actor=officer, now=now, reason=reason)
    return licence


def licence_suspend(*, licence: Licence, officer: Any, reason: str) -> Licence:
    return _status_change(
        licence=licence,
        officer=officer,
        reason=reason,
        allowed_from=(LicenceStatus.VALID,),
        to=LicenceStatus.SUSPENDED,
        action="suspend",
        refused=_("证照当前为“%(status)s”，不能暂停。"),
    )


def licence_resume(*, licence: Licence, officer: Any, reason: str) -> Licence:
    return _status_change(
        licence=licence,
        officer=officer,
        reason=reason,
        allowed_from=(LicenceStatus.SUSPENDED,),
        to=LicenceStatus.VALID,
        action="resume",
        refused=_("证照当前为“%(status)s”，不能恢复。"),
    )


def licence_revoke(*, licence: Licence, officer: Any, reason: str) -> Licence:
    return _status_change(
        licence=licence,
        officer=officer,
        reason=reason,
        allowed_from=(LicenceStatus.VALID, LicenceStatus.SUSPENDED, LicenceStatus.EXPIRED),
        to=LicenceStatus.REVOKED,
        action="revoke",
        refused=_("证照当前为“%(status)s”，不能注销。"),
    )


def licence_renew(
    *, licence: Licence, officer: Any, fields: dict[str, Any] | None = None, valid_until: datetime.date | None = None
) -> LicenceVersion:
    """延续 or 变更: a new version (new identifier, new signed PDF) of the same licence."""
    with transaction.atomic():
        licence = _locked(licence)
        if licence.status == LicenceStatus.REVOKED:
            raise LicenceRefused("state", _("证照已注销，不能延续或变更。"))
        now = timezone.now()
        today = timezone.localdate()
        version = licence.version + 1
        values = {**licence.fields, **{key: value for key, value in (fields or {}).items() if str(value).strip()}}
        until = valid_until if valid_until is not None else _valid_until(licence.licence_type, today)
        identifier = licence_identifier(
            type_code=licence.licence_type.code, issuer_code=licence.issuer_code, serial=licence.serial, version=version
        )
        licence.version = version
        licence.identifier = identifier
        licence.fields = values
        licence.valid_from = today
        licence.valid_until = until
        licence.status = LicenceStatus.VALID
        licence.status_reason = ""
        licence.status_changed_at = now
        licence.save()
        created = _document_make(
            licence=licence,
            version=version,
            identifier=identifier,
            fields=values,
            valid_from=today,
            valid_until=until,
            officer=officer,
            now=now,
        )
        _event(licence=licence, action="renew", actor=officer, now=now)
    return created


def licences_expire(*, today: datetime.date | None = None) -> int:
    """Valid or suspended licences whose validity has ended become expired (each recorded)."""
    today = today or timezone.localdate()
    count = 0
    for licence in Licence.objects.filter(
        status__in=(LicenceStatus.VALID, LicenceStatus.SUSPENDED), valid_until__lt=today
    ).select_related("licence_type"):
        with transaction.atomic():
            locked = _locked(licence)
            if locked.status not in (LicenceStatus.VALID, LicenceStatus.SUSPENDED):
                continue
            now = timezone.now()
            locked.status = LicenceStatus.EXPIRED
            locked.status_reason = _("有效期届满")
            locked.status_changed_at = now
            locked.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
            _event(licence=locked, action="expire", actor=None, now=now, reason=str(locked.valid_until))
            count += 1
    return count
