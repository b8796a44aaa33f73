"""The platform's certificate authority and the departments' electronic seals (电子印章).

Keys live in files under ``settings.GOVHALL_SEAL_DIR`` (mode 0600), never in the database; a
Seal row keeps the certificate and where its key is (``key_reference``: a file name in the seal
directory, or a ``pkcs11:`` URI for a hardware module in production). Signing goes through one
interface (``SealSigner``) so that a seal service using SM2 (GB/T 38540) can take its place;
docs/licences-crypto.md says what a production deployment needs.
"""

import datetime
import io
import os
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govhall.licences.models import Seal, SealAlgorithm

CA_KEY_FILE = "platform-ca.key.pem"
CA_CERT_FILE = "platform-ca.cert.pem"
CA_YEARS = 10
SEAL_YEARS = 3


class SealUnavailable(Exception):
    """No seal can sign for this department (no CA, no key, an algorithm not supported here)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def seal_dir() -> Path:
    return Path(settings.GOVHALL_SEAL_DIR)


def _private_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ca_exists() -> bool:
    return (seal_dir() / CA_KEY_FILE).exists() and (seal_dir() / CA_CERT_FILE).exists()


def ca_init(*, force: bool = False) -> x509.Certificate:
    """Create the platform's root key and self-signed certificate (ECDSA P-256, ten years)."""
    if ca_exists() and not force:
        raise SealUnavailable("ca_exists", _("平台根证书已存在；如确需重建请加 --force（已签发的印章将失效）。"))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.GOVHALL_PLATFORM_NAME),
            x509.NameAttribute(NameOID.COMMON_NAME, "govhall 平台电子印章根证书"),
        ]
    )
    now = timezone.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _private_write(seal_dir() / CA_KEY_FILE, _key_pem(key))
    _private_write(seal_dir() / CA_CERT_FILE, certificate.public_bytes(serialization.Encoding.PEM))
    return certificate


def ca_certificate() -> x509.Certificate:
    path = seal_dir() / CA_CERT_FILE
    if not path.exists():
        raise SealUnavailable("no_ca", _("平台根证书尚未创建（manage.py licence_ca_init）。"))
    return x509.load_pem_x509_certificate(path.read_bytes())


def ca_certificate_pem() -> bytes:
    return ca_certificate().public_bytes(serialization.Encoding.PEM)


def seal_issue(*, department: Any, algorithm: str = SealAlgorithm.ECDSA_P256) -> Seal:
    """A new seal for ``department``: a key in the seal directory and a certificate from the CA."""
    if algorithm == SealAlgorithm.SM2:
        raise SealUnavailable(
            "sm2_unsupported",
            _(
                "本部署未接入国密（SM2）签章服务；SM2 印章须由经国家密码管理局认证的签章服务器签发，"
                "见 docs/licences-crypto.md。"
            ),
        )
    if algorithm != SealAlgorithm.ECDSA_P256:
        raise SealUnavailable("algorithm_unsupported", _("不支持的印章算法。"))
    ca_key = serialization.load_pem_private_key((seal_dir() / CA_KEY_FILE).read_bytes(), password=None)
    ca_cert = ca_certificate()
    key = ec.generate_private_key(ec.SECP256R1())
    code = getattr(department, "credit_code", "") or getattr(department, "code", "")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(department)),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, code),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{department}电子印章"),
        ]
    )
    now = timezone.now()
    not_after = min(now + datetime.timedelta(days=365 * SEAL_YEARS), ca_cert.not_valid_after_utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    key_file = f"seal-{getattr(department, 'code', 'dept')}-{fingerprint[:16]}.key.pem"
    _private_write(seal_dir() / key_file, _key_pem(key))
    with transaction.atomic():
        Seal.objects.filter(department=department, active=True).update(active=False)
        return Seal.objects.create(
            department=department,
            name=f"{department}电子印章",
            algorithm=algorithm,
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            certificate_serial=format(certificate.serial_number, "x"),
            certificate_sha256=fingerprint,
            key_reference=key_file,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )


def seal_for_department(*, department: Any, create: bool | None = None) -> Seal:
    """The department's active seal in its validity; made on demand where the settings allow
    (GOVHALL_SEAL_AUTO_CREATE: the demo and the tests, never production) or ``create`` says so
    (the demo loader)."""
    now = timezone.now()
    seal = (
        Seal.objects.filter(department=department, active=True, not_before__lte=now, not_after__gt=now)
        .order_by("-not_after")
        .first()
    )
    if seal is not None and (seal.key_reference.startswith("pkcs11:") or (seal_dir() / seal.key_reference).exists()):
        return seal
    if not (settings.GOVHALL_SEAL_AUTO_CREATE if create is None else create):
        raise SealUnavailable("no_seal", _("颁证部门“%(name)s”没有可用的电子印章。") % {"name": department})
    if not ca_exists():
        ca_init()
    return seal_issue(department=department)


class SealSigner(Protocol):
    def sign_pdf(self, *, pdf: bytes, seal: Seal, reason: str, location: str) -> bytes: ...


class PyHankoSigner:
    """PAdES (B-B) signature with the seal's key file; the CA certificate travels with it."""

    def sign_pdf(self, *, pdf: bytes, seal: Seal, reason: str, location: str) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        key_path = seal_dir() / seal.key_reference
        if not key_path.exists():
            raise SealUnavailable("no_key", _("电子印章的私钥不可用。"))
        signer = _simple_signer(seal, key_path)
        metadata = signers.PdfSignatureMetadata(
            field_name="Seal",
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason,
            location=location,
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        output = signers.sign_pdf(writer, metadata, signer=signer)
        return output.getvalue()


def _simple_signer(seal: Seal, key_path: Path) -> Any:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.keys import load_private_key_from_pemder_data
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def certificate(pem: bytes) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER))

    return signers.SimpleSigner(
        signing_cert=certificate(seal.certificate_pem.encode()),
        signing_key=load_private_key_from_pemder_data(key_path.read_bytes(), passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs([certificate(ca_certificate_pem())]),
    )


class Pkcs11Signer:
    """A seal whose key is in a hardware module (``pkcs11:`` key reference), through pyHanko's
    PKCS#11 support; needs python-pkcs11 and the module named by GOVHALL_PKCS11_MODULE."""

    def sign_pdf(self, *, pdf: bytes, seal: Seal, reason: str, location: str) -> bytes:
        try:
            import pkcs11  # type: ignore[import-not-found]  # noqa: F401
        except ImportError as error:
            raise SealUnavailable(
                "pkcs11_unavailable", _("该印章的私钥在硬件密码模块中，但本部署未安装 PKCS#11 支持（python-pkcs11）。")
            ) from error
        raise SealUnavailable("pkcs11_unconfigured", _("PKCS#11 模块未配置（GOVHALL_PKCS11_MODULE）。"))


def signer_for(seal: Seal) -> SealSigner:
    if seal.algorithm == SealAlgorithm.SM2:
        raise SealUnavailable("sm2_unsupported", _("本部署未接入国密（SM2）签章服务。"))
    if seal.key_reference.startswith("pkcs11:"):
        return Pkcs11Signer()
    return PyHankoSigner()
