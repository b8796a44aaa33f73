"""Identifiers, issuing, signing and verifying licences (DOMAIN.md "E-licences")."""

import shutil
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from govhall.licences import services
from govhall.licences.identifiers import licence_check_character, licence_identifier, licence_identifier_check
from govhall.licences.models import LicenceEvent, LicenceStatus
from govhall.licences.verification import licence_verify_identifier, licence_verify_pdf
from tests.licences.factories import make_licence

pytestmark = pytest.mark.django_db


def test_check_character_is_iso_7064_mod_37_36():
    # ISO 7064's own example string for MOD 37,36: A12425GABC1234002 → check M.
    assert licence_check_character(type_code="A12425GABC", issuer_code="1234", serial="", version=2) == "M"
    identifier = licence_identifier(type_code="11100000", issuer_code="11330106002494880Y", serial="0000001", version=1)
    assert identifier.startswith("1.2.156.3005.2.11100000.11330106002494880Y.0000001.001.")
    assert licence_identifier_check(identifier)
    wrong = identifier[:-1] + ("0" if identifier[-1] != "0" else "1")
    assert not licence_identifier_check(wrong)
    assert not licence_identifier_check("1.2.156.3005.2.x")


def test_an_issued_licence_is_signed_and_verifies_as_valid():
    licence = make_licence()
    version = licence.versions.get()
    data = version.document.read()

    by_identifier = licence_verify_identifier(licence.identifier)
    by_pdf = licence_verify_pdf(data)

    assert (by_identifier.code, by_pdf.code) == ("valid", "valid")
    assert by_pdf.licence == licence
    assert by_identifier.public["holder"] != licence.holder_name  # a person's name is masked
    assert b"/FontFile2" in data  # the Chinese font is embedded
    assert LicenceEvent.objects.filter(licence=licence, action="issue").exists()


def test_one_changed_byte_fails_verification():
    licence = make_licence()
    data = bytearray(licence.versions.get().document.read())
    index = data.index(b"/Title") + 8
    data[index] = (data[index] + 1) % 256

    assert licence_verify_pdf(bytes(data)).code in ("signature_invalid",)
    assert licence_verify_pdf(b"not a pdf").code == "not_pdf"


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) is not installed; make installs it")
def test_poppler_pdfsig_finds_the_signature_valid(tmp_path):
    licence = make_licence()
    path = tmp_path / "licence.pdf"
    path.write_bytes(licence.versions.get().document.read())
    from govhall.licences.seals import ca_certificate_pem

    # With NSS's certutil the platform root is trusted in a database of the test's own, so
    # pdfsig checks the chain as well as the signature.
    trusted = False
    if shutil.which("certutil"):
        (tmp_path / "nss").mkdir()
        ca = tmp_path / "ca.pem"
        ca.write_bytes(ca_certificate_pem())
        database = f"sql:{tmp_path / 'nss'}"
        subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
        subprocess.run(["certutil", "-A", "-d", database, "-n", "govhall", "-t", "CT,C,C", "-i", str(ca)], check=True)
        trusted = True
    arguments = ["pdfsig", *(["-nssdir", f"sql:{tmp_path / 'nss'}"] if trusted else []), str(path)]
    output = subprocess.run(arguments, capture_output=True, text=True, check=False).stdout
    assert "Signature is Valid" in output
    if trusted:
        assert "Certificate is Trusted" in output


def test_revoked_suspended_expired_and_superseded_answer_so():
    licence = make_licence()
    first_identifier = licence.identifier
    services.licence_suspend(licence=licence, officer=None, reason="整改期间")
    assert licence_verify_identifier(first_identifier).code == "suspended"
    services.licence_resume(licence=licence, officer=None, reason="整改完成")
    renewed = services.licence_renew(licence=licence, officer=None)
    assert renewed.version == 2 and renewed.identifier != first_identifier
    assert licence_verify_identifier(first_identifier).code == "superseded"
    assert licence_verify_identifier(renewed.identifier).code == "valid"
    services.licence_revoke(licence=licence, officer=None, reason="以欺骗手段取得")
    assert licence_verify_identifier(renewed.identifier).code == "revoked"
    assert licence_verify_pdf(renewed.document.read()).code == "revoked"
    with pytest.raises(services.LicenceRefused):
        services.licence_resume(licence=licence, officer=None, reason="恢复")


def test_licences_expire_after_their_validity():
    licence = make_licence()
    with time_machine.travel(timezone.now() + timedelta(days=365 * 5 + 2)):
        assert services.licences_expire() == 1
        assert licence_verify_identifier(licence.identifier).code == "expired"
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.EXPIRED


def test_serials_follow_each_other_per_type_and_issuer():
    first = make_licence()
    second = make_licence(licence_type=first.licence_type, department=first.issuer)
    assert int(second.serial) == int(first.serial) + 1


def test_types_whose_codes_end_alike_give_each_licence_its_own_number():
    """营业执照 (YYZZ) and 营业执照（个体工商户） (GTGSHYYZZ) from one market department: the
    numbers once took the type code's last four characters, so the second type's first licence
    had the first type's number and could not be issued."""
    from tests.licences.factories import issuing_department, make_licence_type

    department = issuing_department()
    company_type = make_licence_type(code="YYZZ")
    person_type = make_licence_type(code="GTGSHYYZZ")
    first = make_licence(licence_type=company_type, department=department)
    second = make_licence(licence_type=person_type, department=department)

    assert first.serial == second.serial  # each type counts on its own
    assert first.number != second.number
    assert first.number == f"{department.region_id}YYZZ{department.credit_code[8:17]}{first.serial}"
    assert second.number == f"{department.region_id}GTGSHYYZZ{department.credit_code[8:17]}{second.serial}"


def test_two_departments_of_a_region_issuing_one_type_give_distinct_numbers():
    from tests.factories import make_department
    from tests.licences.factories import issuing_department

    market = issuing_department()
    other = make_department(region_code=market.region_id, kind="market")
    other.credit_code = "11330106MB0000001X"
    other.save(update_fields=["credit_code"])
    first = make_licence(department=market)
    second = make_licence(licence_type=first.licence_type, department=other)

    assert first.serial == second.serial and first.number != second.number
