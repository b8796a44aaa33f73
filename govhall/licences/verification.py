"""Verifying a licence by its identifier or by its signed PDF (anyone may).

A PDF passes when its signature is intact, covers the whole file, was made by a seal that the
platform's CA certified (pyHanko's validator, the platform root as the only trust anchor, no
network), and the file is a version on record; the answer then is that licence's status.
"""

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from govhall.accounts.privacy import mask_name
from govhall.licences import seals
from govhall.licences.identifiers import licence_identifier_check
from govhall.licences.models import HolderKind, Licence, LicenceStatus, LicenceVersion
from govhall.licences.selectors import licence_by_identifier


@dataclass
class VerifyResult:
    ok: bool
    code: str
    message: str
    message_en: str
    licence: Licence | None = None
    version: LicenceVersion | None = None
    status: str = ""
    public: dict[str, Any] = field(default_factory=dict)


MESSAGES = {
    "valid": ("证照有效。", "The licence is valid."),
    "suspended": ("证照已暂停使用。", "The licence is suspended."),
    "revoked": ("证照已注销。", "The licence has been revoked."),
    "expired": ("证照已过有效期。", "The licence has expired."),
    "superseded": (
        "这是该证照的旧版本，已被新版本取代。",
        "This is an earlier version of the licence; a newer one replaces it.",
    ),
    "unknown": ("没有找到该证照。", "No licence with this identifier is on record."),
    "malformed": ("证照标识格式或校验位不正确。", "The identifier is malformed or its check character is wrong."),
    "not_pdf": ("上传的文件不是 PDF。", "The file is not a PDF."),
    "unsigned": ("文件中没有电子签章。", "The file carries no signature."),
    "signature_invalid": (
        "签章无效：文件在签章后被修改过或签章已损坏。",
        "The signature is not valid: the file was changed after signing.",
    ),
    "untrusted_signer": (
        "签章不是由本平台认证的电子印章做出的。",
        "The signature was not made by a seal this platform certified.",
    ),
    "not_on_record": (
        "签章有效，但该文件不是本平台签发的证照版本。",
        "The signature is valid but the file is not a licence version on record.",
    ),
}


def _result(code: str, *, licence: Licence | None = None, version: LicenceVersion | None = None) -> VerifyResult:
    zh, en = MESSAGES[code]
    with override("zh-hans"):
        message = _(zh)
    return VerifyResult(
        ok=code == "valid",
        code=code,
        message=message,
        message_en=en,
        licence=licence,
        version=version,
        status=licence.status if licence is not None else "",
        public=_public(licence, version) if licence is not None else {},
    )


def _public(licence: Licence, version: LicenceVersion | None) -> dict[str, Any]:
    """What anyone may see: never a person's full name or identity number."""
    person = licence.holder_kind == HolderKind.PERSON
    shown = version or licence
    return {
        "type": licence.licence_type.name,
        "type_code": licence.licence_type.code,
        "number": licence.number,
        "identifier": shown.identifier,
        "issuer": licence.issuer.name,
        "holder": mask_name(licence.holder_name) if person else licence.holder_name,
        "holder_identifier": licence.holder_identifier_masked,
        "issued_on": licence.issued_on,
        "valid_from": shown.valid_from,
        "valid_until": shown.valid_until,
        "status": licence.status,
        "status_label": licence.get_status_display(),
        "version": shown.version if version else licence.version,
        "current_identifier": licence.identifier,
        "fields": [
            (
                str(spec.get("label") or spec["name"]),
                _public_value(spec, (shown.fields or {}).get(spec["name"], ""), person),
            )
            for spec in licence.licence_type.fields
            if spec.get("public", True)
        ],
    }


def _public_value(spec: dict[str, Any], value: Any, person: bool) -> str:
    """A person's name printed as a field (经营者名称 of a sole trader) is masked like the holder."""
    text = str(value or "")
    if person and spec.get("source") == "holder.name":
        return mask_name(text)
    return text


def _status_code(licence: Licence, version: LicenceVersion, today: date) -> str:
    if version.version != licence.version:
        return "superseded"
    if licence.status == LicenceStatus.VALID and licence.valid_until is not None and licence.valid_until < today:
        return "expired"
    return str(licence.status)


def licence_verify_identifier(identifier: str) -> VerifyResult:
    identifier = (identifier or "").strip().upper()
    if not licence_identifier_check(identifier):
        return _result("malformed")
    version = licence_by_identifier(identifier)
    if version is None:
        return _result("unknown")
    licence = version.licence
    return _result(_status_code(licence, version, timezone.localdate()), licence=licence, version=version)


def licence_verify_pdf(data: bytes) -> VerifyResult:
    if not data.startswith(b"%PDF-"):
        return _result("not_pdf")
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - a damaged upload is an unverifiable file, never a server error
        return _result("signature_invalid")
    if not signatures:
        return _result("unsigned")
    try:
        root = load_cert_from_pemder_data(seals.ca_certificate_pem())
    except seals.SealUnavailable:
        return _result("untrusted_signer")
    context = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = validate_pdf_signature(signatures[-1], context)
    except Exception:  # noqa: BLE001 - same: a malformed signature answers "invalid"
        return _result("signature_invalid")
    if not (status.intact and status.valid) or status.coverage is None or status.coverage.name != "ENTIRE_FILE":
        return _result("signature_invalid")
    if not status.trusted:
        return _result("untrusted_signer")
    import hashlib

    version = (
        LicenceVersion.objects.filter(sha256=hashlib.sha256(data).hexdigest())
        .select_related("licence__licence_type", "licence__issuer")
        .first()
    )
    if version is None:
        return _result("not_on_record")
    licence = version.licence
    return _result(_status_code(licence, version, timezone.localdate()), licence=licence, version=version)


def load_cert_from_pemder_data(pem: bytes) -> Any:
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509

    _kind, _headers, der = asn1_pem.unarmor(pem)
    return asn1_x509.Certificate.load(der)
