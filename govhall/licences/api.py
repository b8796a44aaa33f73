"""Licence API: verification for anyone, look-up by holder and type for department systems.

Verification answers the same stable codes as the public page (valid, suspended, revoked,
expired, superseded, unknown, malformed; for a file also not_pdf, unsigned, signature_invalid,
untrusted_signer, not_on_record). Look-ups need an OAuth2 access token that a registered
department system obtained with the client-credentials grant and scope ``licences``
(``manage.py licence_client_add``); each look-up is recorded in the audit trail with the
holder's blind index, never the identity number.
"""

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from ninja.security import HttpBearer

from govhall.accounts import privacy
from govhall.accounts.models import Company, Person
from govhall.accounts.oidc import oauthlib_core
from govhall.api_errors import ApiError, ErrorOut
from govhall.api_schema import ResponseSchema, answer
from govhall.audit.services import audit_record_add
from govhall.licences.models import HolderKind, Licence, LicenceLookupClient
from govhall.licences.verification import VerifyResult, licence_verify_identifier, licence_verify_pdf
from govhall.org.identifiers import identity_number_normalise

router = Router(tags=["licences"])
UPLOAD_MAX_BYTES = 20 * 1024 * 1024


class LicencePublicOut(ResponseSchema):
    type: str
    type_code: str
    number: str
    identifier: str
    issuer: str
    holder: str
    holder_identifier: str
    issued_on: date
    valid_from: date
    valid_until: date | None
    status: str
    status_label: str
    version: int
    current_identifier: str


class VerifyOut(ResponseSchema):
    ok: bool
    code: str
    message: str
    message_en: str
    licence: LicencePublicOut | None


class VerifyIn(Schema):
    identifier: str


def _verify_out(result: VerifyResult) -> dict[str, Any]:
    public = dict(result.public)
    public.pop("fields", None)
    return {
        "ok": result.ok,
        "code": result.code,
        "message": result.message,
        "message_en": result.message_en,
        "licence": public or None,
    }


@router.post(
    "/licences/verify",
    response={200: VerifyOut, 404: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="核验电子证照标识 (verify a licence identifier)",
)
def licence_verify_endpoint(request: HttpRequest, payload: VerifyIn) -> HttpResponse:
    """按证照标识核验：答复证照状态和公开信息（持证人姓名部分隐去）。

    Verifies a licence by its identifier: its status and public facts (a person's name masked).
    """
    return answer(request, VerifyOut, _verify_out(licence_verify_identifier(payload.identifier)))


@router.post(
    "/licences/verify-file",
    response={200: VerifyOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="核验电子证照文件的签章 (verify a licence PDF's signature)",
)
def licence_verify_file_endpoint(request: HttpRequest, document: File[UploadedFile]) -> HttpResponse:
    """上传证照 PDF：核验签章完整、由本平台认证的印章所签、且为本平台签发的证照版本。

    Checks that the PDF's signature is intact, made by a seal the platform certified, and that
    the file is a licence version on record; then answers by the licence's status.
    """
    if document.size is not None and document.size > UPLOAD_MAX_BYTES:
        raise ApiError(
            status=413,
            code="too_large",
            message=_("文件超过 20 MB，不是本平台签发的证照文件。"),
            message_en="The file is larger than 20 MB; it is not a licence this platform issued.",
        )
    return answer(request, VerifyOut, _verify_out(licence_verify_pdf(document.read())))


class DepartmentSystemToken(HttpBearer):
    """An access token of a registered department system (client credentials, scope licences)."""

    openapi_description = (
        "部门系统以客户端凭证方式取得、scope 含 licences 的访问令牌 "
        "(client-credentials access token of a registered department system, scope licences)"
    )

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        valid, oauth_request = oauthlib_core().verify_request(request, scopes=["licences"])
        if not valid:
            return None
        client = (
            LicenceLookupClient.objects.select_related("application", "department")
            .filter(application=oauth_request.access_token.application, active=True)
            .first()
        )
        return client


class LookupItemOut(ResponseSchema):
    identifier: str
    number: str
    type: str
    type_code: str
    status: str
    issuer: str
    holder: str
    holder_identifier: str
    valid_from: date
    valid_until: date | None


class LookupOut(ResponseSchema):
    items: list[LookupItemOut]


@router.get(
    "/licences/lookup",
    response={200: LookupOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    auth=DepartmentSystemToken(),
    summary="部门系统按持证主体和证照类型查询 (department look-up by holder and type)",
)
def licence_lookup_endpoint(request: HttpRequest, holder: str, type: str) -> HttpResponse:
    """持证主体为统一社会信用代码或公民身份号码；每次查询都记入审计日志。

    ``holder`` is a unified social credit code or a citizen identity number; every look-up is
    written to the audit trail (the identity number only as its blind index).
    """
    client: LicenceLookupClient = request.auth  # type: ignore[attr-defined]
    holder = holder.strip().upper()
    licences = Licence.objects.filter(licence_type__code=type.strip()).select_related("licence_type", "issuer")
    if len(holder) == 18 and not holder[:17].isdigit():
        company = Company.objects.filter(credit_code=holder).first()
        licences = licences.filter(company=company) if company is not None else licences.none()
        recorded = holder
    else:
        index = privacy.blind_index(identity_number_normalise(holder), purpose="identity_number")
        person = Person.objects.filter(identity_number_index=index).first()
        licences = licences.filter(person=person, company__isnull=True) if person is not None else licences.none()
        recorded = f"index:{index[:16]}"
    found = list(licences.order_by("-issued_on")[:50])
    audit_record_add(
        actor=None,
        action="licence_lookup",
        object_type="licence_lookup",
        object_id=client.application.client_id,
        summary=f"{client.department.name} {client.application.name}",
        data={"holder": recorded, "type": type.strip()[:32], "found": len(found)},
    )
    listed = {
        "items": [
            {
                "identifier": licence.identifier,
                "number": licence.number,
                "type": licence.licence_type.name,
                "type_code": licence.licence_type.code,
                "status": licence.status,
                "issuer": licence.issuer.name,
                "holder": privacy.mask_name(licence.holder_name)
                if licence.holder_kind == HolderKind.PERSON
                else licence.holder_name,
                "holder_identifier": licence.holder_identifier_masked,
                "valid_from": licence.valid_from,
                "valid_until": licence.valid_until,
            }
            for licence in found
        ]
    }
    return answer(request, LookupOut, listed)
