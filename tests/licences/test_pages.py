"""Public verification pages, the holder's wallet and share links (HTTP)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from govhall.licences.models import LicenceShare
from tests.factories import make_person
from tests.licences.factories import make_licence

pytestmark = pytest.mark.django_db


def test_the_qr_page_shows_the_status_and_masks_the_holder(client):
    person = make_person(name="张三丰")
    licence = make_licence(person=person)

    response = client.get(f"/verify/{licence.identifier}/")
    text = response.content.decode()

    assert response.status_code == 200
    assert "证照有效。" in text and licence.number in text
    assert "张三丰" not in text and "张**" in text
    assert person.identity_number_masked in text


def test_typing_an_identifier_and_uploading_pdfs(client):
    licence = make_licence()
    data = licence.versions.get().document.read()
    tampered = bytearray(data)
    tampered[len(tampered) // 3] ^= 0x01

    typed = client.get("/verify/", {"identifier": licence.identifier})
    uploaded = client.post("/verify/", {"document": _upload(data)})
    changed = client.post("/verify/", {"document": _upload(bytes(tampered))})
    not_pdf = client.post("/verify/", {"document": _upload(b"MZ\x90\x00 not a pdf")})
    malformed = client.get("/verify/", {"identifier": "1.2.3"})

    assert "证照有效。" in typed.content.decode()
    assert "证照有效。" in uploaded.content.decode()
    assert "签章无效" in changed.content.decode() or "不是本平台签发" in changed.content.decode()
    assert "上传的文件不是 PDF。" in not_pdf.content.decode()
    assert "格式或校验位不正确" in malformed.content.decode()


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("licence.pdf", data, content_type="application/pdf")


def test_the_wallet_lists_only_the_holders_licences(client):
    owner, other = make_person(), make_person(name="李四")
    licence = make_licence(person=owner)
    make_licence(person=other, licence_type=licence.licence_type, department=licence.issuer)

    client.force_login(owner.user)
    wallet = client.get("/licences/")
    detail = client.get(f"/licences/{licence.number}/")
    download = client.get(f"/licences/{licence.number}/download/")
    client.force_login(other.user)
    foreign = [
        client.get(f"/licences/{licence.number}/").status_code,
        client.get(f"/licences/{licence.number}/download/").status_code,
        client.post(f"/licences/{licence.number}/share/", {"duration": "1d"}).status_code,
    ]

    assert wallet.status_code == 200 and licence.number in wallet.content.decode()
    assert detail.status_code == 200
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert foreign == [404, 404, 404]
    client.logout()
    assert client.get("/licences/").status_code == 302  # to the login page


def test_a_share_link_works_until_it_expires_or_is_withdrawn(client):
    owner = make_person()
    licence = make_licence(person=owner)
    client.force_login(owner.user)
    client.post(f"/licences/{licence.number}/share/", {"duration": "1d", "purpose": "银行贷款"})
    page = client.get(f"/licences/{licence.number}/").content.decode()
    link = page.split("/licences/shared/")[1].split("/")[0]
    client.logout()

    assert client.get(f"/licences/shared/{link}/").status_code == 200
    assert client.get(f"/licences/shared/{link}/download/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        assert client.get(f"/licences/shared/{link}/").status_code == 410
    share = LicenceShare.objects.get(licence=licence)
    client.force_login(owner.user)
    client.post(f"/licences/{licence.number}/share/{share.pk}/withdraw/")
    client.logout()
    assert client.get(f"/licences/shared/{link}/").status_code == 410
    assert client.get("/licences/shared/not-a-token/").status_code == 404


def test_uploads_are_limited_per_address_with_a_clear_answer(client, settings):
    from govhall.licences import views_public

    licence = make_licence()
    data = licence.versions.get().document.read()
    answers = [client.post("/verify/", {"document": _upload(data)}) for _ in range(views_public.UPLOADS_PER_MINUTE + 1)]

    assert answers[0].status_code == 200
    assert answers[-1].status_code == 429
    assert "核验过于频繁" in answers[-1].content.decode()
