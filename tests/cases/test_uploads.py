"""Material uploads are judged by their bytes; stored materials come back as inert attachments.

Every file here is built in code: a hand-written PDF with a correct cross-reference table, PNG
and JPEG images drawn by Pillow, OFD packages assembled with zipfile.
"""

import hashlib
import io
import struct
import zipfile
import zlib
from urllib.parse import quote

import pytest
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from govhall.cases.models import CaseMaterial
from govhall.cases.uploads import (
    CHUNK_BYTES,
    CheckedUpload,
    UploadRefused,
    material_download_response,
    upload_check,
)

OFD_DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD">'
    b"<ofd:DocBody><ofd:DocInfo><ofd:DocID>6f0b4b5e</ofd:DocID></ofd:DocInfo>"
    b"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
)
DOCUMENT_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData><ofd:MaxUnitID>1</ofd:MaxUnitID>'
    b"<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData>"
    b'<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>'
)


def make_pdf(*, padding: int = 0) -> bytes:
    """A one-page PDF 1.7 whose xref offsets are the real byte offsets of its objects; ``padding``
    bytes of comment make it span several read chunks."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
    ]
    pdf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    if padding:
        pdf += b"%" + b"x" * padding + b"\n"
    xref_offset = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        pdf += b"%010d 00000 n \n" % offset
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_offset)
    return bytes(pdf)


def make_image(image_format: str, *, size: tuple[int, int] = (120, 80)) -> bytes:
    # Noise, so that the compressed data is long enough to cut in the middle.
    image = Image.effect_noise(size, 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def make_ofd(*, ofd_xml: bytes = OFD_DOCUMENT, extra: dict[str, bytes] | None = None) -> bytes:
    return make_zip(
        {
            "OFD.xml": ofd_xml,
            "Doc_0/Document.xml": DOCUMENT_XML,
            "Doc_0/Pages/Page_0/Content.xml": b'<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"/>',
            **(extra or {}),
        }
    )


def png_header_only(*, width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` pixels and whose data is one empty row:
    what a decompression bomb's header looks like, built without allocating the pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def refusal(name: str, content: bytes, **kwargs: int) -> UploadRefused:
    with pytest.raises(UploadRefused) as raised:
        upload_check(file=upload(name, content), **kwargs)
    return raised.value


# Accepted kinds


def test_pdf_is_accepted_with_content_type_extension_size_and_sha256():
    pdf = make_pdf()

    checked = upload_check(file=upload("申请书.pdf", pdf))

    assert checked == CheckedUpload(
        content_type="application/pdf",
        extension=".pdf",
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        original_name="申请书.pdf",
    )


def test_pdf_spanning_several_chunks_is_hashed_over_all_its_bytes():
    pdf = make_pdf(padding=3 * CHUNK_BYTES + 17)

    checked = upload_check(file=upload("big.PDF", pdf))

    assert (checked.content_type, checked.size) == ("application/pdf", len(pdf))
    assert checked.sha256 == hashlib.sha256(pdf).hexdigest()


def test_pdf_2_header_is_accepted():
    pdf = b"%PDF-2.0" + make_pdf()[len(b"%PDF-1.7") :]

    assert upload_check(file=upload("a.pdf", pdf)).content_type == "application/pdf"


def test_png_is_accepted():
    png = make_image("PNG")

    checked = upload_check(file=upload("photo.png", png))

    assert (checked.content_type, checked.extension, checked.size) == ("image/png", ".png", len(png))
    assert checked.sha256 == hashlib.sha256(png).hexdigest()


@pytest.mark.parametrize("name", ["photo.jpg", "photo.JPEG", "photo.jpeg"])
def test_jpeg_is_accepted_under_either_extension_and_stored_as_jpg(name):
    jpeg = make_image("JPEG")

    checked = upload_check(file=upload(name, jpeg))

    assert (checked.content_type, checked.extension) == ("image/jpeg", ".jpg")
    assert checked.sha256 == hashlib.sha256(jpeg).hexdigest()


def test_ofd_is_accepted():
    ofd = make_ofd()

    checked = upload_check(file=upload("营业执照.ofd", ofd))

    assert (checked.content_type, checked.extension, checked.size) == ("application/ofd", ".ofd", len(ofd))
    assert checked.sha256 == hashlib.sha256(ofd).hexdigest()


def test_ofd_whose_root_document_has_bom_declaration_and_comment_is_accepted():
    ofd_xml = (
        b"\xef\xbb\xbf" + b"<?xml version='1.0'?>\n<!-- made by a producer -->\n" + OFD_DOCUMENT.split(b"\n", 1)[1]
    )

    checked = upload_check(file=upload("licence.ofd", make_ofd(ofd_xml=ofd_xml)))

    assert checked.content_type == "application/ofd"


@pytest.mark.parametrize("name", ["scan", "scan.bin", "扫描件.tif"])
def test_name_without_an_allowed_extension_leaves_the_kind_to_the_bytes(name):
    checked = upload_check(file=upload(name, make_image("PNG")))

    assert (checked.content_type, checked.extension, checked.original_name) == ("image/png", ".png", name)


def test_file_without_a_name_is_judged_by_its_bytes():
    checked = upload_check(file=File(io.BytesIO(make_image("JPEG"))))

    assert (checked.content_type, checked.original_name) == ("image/jpeg", "")


def test_file_opened_from_disk_is_accepted(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf())

    with path.open("rb") as handle:
        checked = upload_check(file=File(handle, name=str(path)))

    assert (checked.content_type, checked.original_name) == ("application/pdf", "scan.pdf")


# Refused kinds


def test_executable_renamed_to_pdf_is_refused_as_type_not_allowed():
    executable = (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
        + b"\x00" * 200
        + b"This program cannot be run in DOS mode"
    )

    refused = refusal("report.pdf", executable)

    # Only bytes that are an allowed kind can mismatch their name; an executable is no allowed kind.
    assert refused.code == "type_not_allowed"
    assert refused.message == "只接受 PDF、JPEG、PNG 或 OFD 格式的文件。"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("program", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56),
        ("page.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("photo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("notes.txt", "申请说明".encode()),
        ("late.pdf", b"\n%PDF-1.7\n" + make_pdf()[9:]),
    ],
)
def test_content_that_is_no_allowed_kind_is_refused_as_type_not_allowed(name, content):
    assert refusal(name, content).code == "type_not_allowed"


def test_zip_without_ofd_xml_is_refused_as_type_not_allowed():
    docx_like = make_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})

    assert refusal("材料.ofd", docx_like).code == "type_not_allowed"


def test_zip_with_ofd_xml_below_the_root_only_is_refused_as_type_not_allowed():
    nested = make_zip({"Doc_0/OFD.xml": OFD_DOCUMENT})

    assert refusal("材料.ofd", nested).code == "type_not_allowed"


def test_zip_whose_ofd_xml_is_another_vocabulary_is_refused_as_type_not_allowed():
    other = make_ofd(ofd_xml=b'<?xml version="1.0"?><OFD xmlns="http://example.com/not-ofd"/>')

    assert refusal("材料.ofd", other).code == "type_not_allowed"


def test_empty_file_is_refused_as_empty():
    refused = refusal("scan.pdf", b"")

    assert (refused.code, refused.message) == ("empty", "文件是空的。")


# Size limit


def test_file_above_the_limit_is_refused_as_too_large_naming_the_limit():
    refused = refusal("scan.pdf", make_pdf(padding=2000), max_bytes=1024)

    assert refused.code == "too_large"
    assert refused.message == "文件大小超过上限 1.0\xa0KB。"  # filesizeformat puts a no-break space before the unit


def test_file_exactly_at_the_limit_is_accepted():
    pdf = make_pdf()

    assert upload_check(file=upload("scan.pdf", pdf), max_bytes=len(pdf)).size == len(pdf)


def test_limit_defaults_to_the_setting_read_at_call_time(settings):
    settings.GOVHALL_UPLOAD_MAX_BYTES = 100

    assert refusal("scan.pdf", make_pdf()).code == "too_large"


class CountingStream(io.RawIOBase):
    """50 MiB of zeros that counts how many bytes were asked for."""

    def __init__(self) -> None:
        self.length = 50 * 1024 * 1024
        self.position = 0
        self.served = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence] + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self.length - self.position))
        buffer[:count] = b"\x00" * count
        self.position += count
        self.served += count
        return count


def test_reading_stops_as_soon_as_the_limit_is_passed():
    stream = CountingStream()

    with pytest.raises(UploadRefused) as raised:
        upload_check(file=File(stream, name="huge.pdf"), max_bytes=100_000)

    assert raised.value.code == "too_large"
    assert stream.served <= 100_000 + CHUNK_BYTES


# Bytes that lie


def test_png_named_pdf_is_refused_as_content_mismatch_naming_both_kinds():
    refused = refusal("scan.pdf", make_image("PNG"))

    assert refused.code == "content_mismatch"
    assert refused.message == "文件名表明是 PDF 文件，但文件内容是 PNG 文件。"


def test_ofd_named_jpg_is_refused_as_content_mismatch():
    refused = refusal("photo.jpg", make_ofd())

    assert (refused.code, refused.message) == ("content_mismatch", "文件名表明是 JPEG 文件，但文件内容是 OFD 文件。")


def test_pdf_header_followed_by_garbage_without_eof_is_refused_as_damaged():
    refused = refusal("scan.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 20)

    assert (refused.code, refused.message) == ("damaged", "PDF 文件已损坏或不完整。")


def test_pdf_cut_before_its_trailer_is_refused_as_damaged():
    pdf = make_pdf()

    assert refusal("scan.pdf", pdf[: pdf.index(b"xref")]).code == "damaged"


def test_pdf_with_eof_but_no_startxref_is_refused_as_damaged():
    pdf = make_pdf().replace(b"startxref", b"start")

    assert refusal("scan.pdf", pdf).code == "damaged"


def test_pdf_whose_eof_is_far_before_the_end_is_refused_as_damaged():
    pdf = make_pdf() + b"\x00" * 4096

    assert refusal("scan.pdf", pdf).code == "damaged"


def test_truncated_jpeg_is_refused_as_damaged():
    jpeg = make_image("JPEG", size=(300, 200))

    refused = refusal("photo.jpg", jpeg[: len(jpeg) // 2])

    assert (refused.code, refused.message) == ("damaged", "JPEG 文件已损坏或不完整。")


def test_jpeg_missing_only_its_end_marker_is_refused_as_damaged():
    jpeg = make_image("JPEG")
    assert jpeg.endswith(b"\xff\xd9")

    assert refusal("photo.jpg", jpeg[:-2]).code == "damaged"


def test_truncated_png_is_refused_as_damaged():
    png = make_image("PNG", size=(300, 200))

    refused = refusal("photo.png", png[: len(png) // 2])

    assert (refused.code, refused.message) == ("damaged", "PNG 文件已损坏或不完整。")


def test_png_with_a_corrupted_chunk_is_refused_as_damaged():
    png = bytearray(make_image("PNG"))
    middle = len(png) // 2
    png[middle] ^= 0xFF  # inside the image data, so only the chunk's CRC can tell

    assert refusal("photo.png", bytes(png)).code == "damaged"


def test_image_above_100_megapixels_is_refused_as_damaged_before_decoding():
    bomb = png_header_only(width=10_001, height=10_000)

    # Pillow warns above its own 89-megapixel default; the check here refuses at 100.
    with pytest.warns(Image.DecompressionBombWarning):
        refused = refusal("photo.png", bomb)

    assert (refused.code, refused.message) == ("damaged", "PNG 图像尺寸过大（上限 100,000,000 像素）。")


def test_image_that_pillow_calls_a_decompression_bomb_is_refused_as_damaged():
    refused = refusal("photo.png", png_header_only(width=20_000, height=20_000))

    assert (refused.code, refused.message) == ("damaged", "PNG 文件已损坏或不完整。")


def test_zip_that_is_not_an_archive_after_its_signature_is_refused_as_damaged():
    assert refusal("licence.ofd", b"PK\x03\x04" + b"\x17" * 500).code == "damaged"


def test_ofd_whose_root_document_declares_a_doctype_is_refused_as_damaged():
    ofd_xml = (
        b'<?xml version="1.0"?>\n<!DOCTYPE ofd:OFD [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
        + OFD_DOCUMENT.split(b"\n", 1)[1]
    )

    assert refusal("licence.ofd", make_ofd(ofd_xml=ofd_xml)).code == "damaged"


def test_ofd_whose_root_document_is_not_xml_is_refused_as_damaged():
    assert refusal("licence.ofd", make_ofd(ofd_xml=b"<ofd:OFD unclosed")).code == "damaged"


def test_ofd_with_more_than_ten_thousand_entries_is_refused_as_damaged():
    crowded = make_ofd(extra={f"Res/{index}.xml": b"" for index in range(10_000)})

    refused = refusal("licence.ofd", crowded)

    assert (refused.code, refused.message) == ("damaged", "OFD 文件解压后过大或包含的条目过多。")


def test_ofd_expanding_to_more_than_ten_times_the_limit_is_refused_as_damaged():
    bomb = make_ofd(extra={"Res/blank.bin": b"\x00" * 200_000})
    assert len(bomb) < 10_000

    assert refusal("licence.ofd", bomb, max_bytes=10_000).code == "damaged"
    assert upload_check(file=upload("licence.ofd", bomb), max_bytes=30_000).content_type == "application/ofd"


# Rewinding and names


@pytest.mark.parametrize(
    "content", [make_pdf(), make_image("PNG"), make_image("JPEG"), make_ofd(), b"MZ\x90\x00", make_pdf()[:-10]]
)
def test_file_is_rewound_after_the_check_accepted_or_refused(content):
    file = upload("upload.bin", content)
    file.read(3)

    try:
        upload_check(file=file)
    except UploadRefused:
        pass

    assert file.tell() == 0
    assert file.read() == content


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\张三\\Desktop\\身份证.pdf", "身份证.pdf"),
        ("发票\u202efdp.exe.pdf", "发票fdp.exe.pdf"),
        ("line\nbreak\x00.pdf", "linebreak.pdf"),
        ("  spaced.pdf  ", "spaced.pdf"),
        ("..", ""),
    ],
)
def test_original_name_keeps_only_a_clean_basename(name, expected):
    assert upload_check(file=File(io.BytesIO(make_pdf()), name=name)).original_name == expected


def test_long_original_name_is_cut_to_255_characters_keeping_its_extension():
    checked = upload_check(file=upload("材" * 300 + ".pdf", make_pdf()))

    assert checked.original_name == "材" * 251 + ".pdf"


# Download


# Closing a response sends request_finished, on which Django closes old database connections.
@pytest.mark.django_db
def test_download_is_an_inert_private_attachment_named_after_the_material(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pdf = make_pdf()
    sha256 = hashlib.sha256(pdf).hexdigest()
    material = CaseMaterial(
        material_name="营业执照/副本",
        sha256=sha256,
        size=len(pdf),
        content_type="application/pdf",
        extension=".pdf",
        original_name="scan.pdf",
    )
    material.file.name = default_storage.save(f"cases/{sha256[:2]}/{sha256}.pdf", ContentFile(pdf))

    response = material_download_response(material=material)
    try:
        body = b"".join(response.streaming_content)
    finally:
        response.close()

    assert body == pdf
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''" + quote("营业执照_副本.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(pdf))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"
