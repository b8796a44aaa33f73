"""Material files: what an applicant may upload, judged by the file's bytes, and how a stored
material is handed back.

Only PDF, JPEG, PNG and OFD (GB/T 33190) are accepted. The kind is decided by the content: the
uploaded name only matters when its extension names another allowed kind, which is refused as a
mismatch rather than trusted. Nothing here writes to the database or the storage; the caller
stores the file under its SHA-256 (``case_material_path``) with the returned ``CheckedUpload``.
"""

import hashlib
import posixpath
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import Final, Literal
from xml.parsers import expat

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from govhall.cases.models import CaseMaterial

RefusalCode = Literal["empty", "too_large", "type_not_allowed", "content_mismatch", "damaged"]
Kind = Literal["pdf", "png", "jpeg", "ofd"]

DEFAULT_MAX_BYTES: Final = 20 * 1024 * 1024
CHUNK_BYTES: Final = 64 * 1024
# The sniffing window: every signature checked is within the first 8 bytes.
HEAD_BYTES: Final = 16
# PDF readers look for the trailer in the last KiB or so; 2 KiB leaves room for trailing blank lines.
PDF_TAIL_BYTES: Final = 2048
# An A4 page scanned at 600 dpi is about 35 megapixels; 100 leaves room for large drawings while
# keeping one decode within a web worker's memory.
MAX_IMAGE_PIXELS: Final = 100_000_000
# Decoding a JPEG at 1/8 scale still runs every byte of it through the decoder, so truncation is
# caught, at 1/64 of the memory.
JPEG_CHECK_SCALE: Final = 8
OFD_MAX_ENTRIES: Final = 10_000
OFD_EXPANSION_FACTOR: Final = 10
# The root element of OFD.xml comes after at most an XML declaration and comments.
OFD_ROOT_READ_BYTES: Final = 64 * 1024
OFD_NAMESPACE: Final = "http://www.ofdspec.org/2016"

CONTENT_TYPES: Final[dict[Kind, str]] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "ofd": "application/ofd",
}
EXTENSIONS: Final[dict[Kind, str]] = {"pdf": ".pdf", "png": ".png", "jpeg": ".jpg", "ofd": ".ofd"}
KIND_LABELS: Final[dict[Kind, str]] = {"pdf": "PDF", "png": "PNG", "jpeg": "JPEG", "ofd": "OFD"}
NAME_EXTENSION_KINDS: Final[dict[str, Kind]] = {
    ".pdf": "pdf",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".ofd": "ofd",
}
ORIGINAL_NAME_MAX_LENGTH: Final = 255

# Pillow reports a malformed image through any of these, depending on where the parse fails.
_IMAGE_ERRORS: Final = (
    Image.DecompressionBombError,
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
)
_ZIP_ERRORS: Final = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError, EOFError)


class UploadRefused(Exception):
    """An uploaded file that is not accepted as a material.

    ``code`` is a stable machine code for API clients; ``message`` is for the person uploading.
    """

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(message)
        self.code: RefusalCode = code
        self.message = message


@dataclass(frozen=True)
class CheckedUpload:
    """What the bytes of an accepted upload are. ``original_name`` is for display only and is never
    part of a stored path."""

    content_type: str
    extension: str
    size: int
    sha256: str
    original_name: str


def upload_check(*, file: UploadedFile | File, max_bytes: int | None = None) -> CheckedUpload:
    """Decide whether ``file`` is an acceptable material by its bytes, and describe it.

    The file is read once in chunks, hashed as it is read, and refused as soon as it passes
    ``max_bytes`` (default ``settings.GOVHALL_UPLOAD_MAX_BYTES``, 20 MiB when unset); only the
    first bytes and the last 2 KiB are kept. Images and archives are then parsed from the file
    itself. The file is rewound before returning or raising.

    Raises ``UploadRefused`` with code ``empty``, ``too_large``, ``type_not_allowed`` (not PDF, PNG,
    JPEG or OFD), ``content_mismatch`` (the name's extension names another allowed kind) or
    ``damaged`` (the kind is recognised but the file is broken, or is an image or archive too large
    to expand safely).
    """
    limit = max_bytes if max_bytes is not None else getattr(settings, "GOVHALL_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)
    original_name = _clean_name(file.name or "")
    try:
        head, tail, size, sha256 = _read_and_hash(file=file, limit=limit)
        kind = _sniff(head=head)
        if kind is None:
            raise UploadRefused("type_not_allowed", _type_not_allowed_message())
        if kind == "ofd":
            _verify_ofd(file=file, limit=limit)
        _refuse_name_mismatch(original_name=original_name, kind=kind)
        if kind == "pdf":
            _verify_pdf(tail=tail)
        elif kind == "png":
            _verify_png(file=file)
        elif kind == "jpeg":
            _verify_jpeg(file=file)
    finally:
        file.seek(0)
    return CheckedUpload(
        content_type=CONTENT_TYPES[kind],
        extension=EXTENSIONS[kind],
        size=size,
        sha256=sha256,
        original_name=original_name,
    )


def material_download_response(*, material: CaseMaterial) -> FileResponse:
    """Stream a stored material as an attachment that a browser will neither sniff nor render.

    This does no permission check: the caller must have fetched ``material`` through the case
    guard for the person asking (``case_get_for_applicant`` / ``case_get_for_officer``).
    """
    stored_name = material.file.name
    if not stored_name:
        raise ValueError(f"material {material.pk} has no stored file")
    download_name = _download_name(material_name=material.material_name, extension=material.extension)
    response = FileResponse(
        material.file.storage.open(stored_name, "rb"),
        as_attachment=True,
        filename=download_name,
        content_type=material.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Should a browser still render the file inline, it runs no script and reaches nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Materials carry personal information: no shared cache and no copy left on disk.
    response["Cache-Control"] = "private, no-store"
    return response


def _read_and_hash(*, file: File, limit: int) -> tuple[bytes, bytes, int, str]:
    digest = hashlib.sha256()
    head = b""
    tail = b""
    size = 0
    for chunk in file.chunks(chunk_size=CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise UploadRefused("too_large", _("文件大小超过上限 %(limit)s。") % {"limit": filesizeformat(limit)})
        digest.update(chunk)
        if len(head) < HEAD_BYTES:
            head = (head + chunk[:HEAD_BYTES])[:HEAD_BYTES]
        tail = (tail + chunk[-PDF_TAIL_BYTES:])[-PDF_TAIL_BYTES:]
    if size == 0:
        raise UploadRefused("empty", _("文件是空的。"))
    return head, tail, size, digest.hexdigest()


def _sniff(*, head: bytes) -> Kind | None:
    """The kind a file's leading bytes claim, or None for anything not allowed. A ZIP is claimed
    as OFD here and is only confirmed by ``_verify_ofd``."""
    # At offset 0 only: readers tolerate leading junk, which is how polyglot files get through.
    if head.startswith((b"%PDF-1.", b"%PDF-2.")):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"PK\x03\x04"):
        return "ofd"
    return None


def _refuse_name_mismatch(*, original_name: str, kind: Kind) -> None:
    claimed = NAME_EXTENSION_KINDS.get(posixpath.splitext(original_name)[1].lower())
    if claimed is None or claimed == kind:
        return
    raise UploadRefused(
        "content_mismatch",
        _("文件名表明是 %(claimed)s 文件，但文件内容是 %(detected)s 文件。")
        % {"claimed": KIND_LABELS[claimed], "detected": KIND_LABELS[kind]},
    )


def _verify_pdf(*, tail: bytes) -> None:
    """A PDF ends with its trailer: ``startxref``, the cross-reference offset, then ``%%EOF``
    (ISO 32000 §7.5.5). A file cut short in transfer has none."""
    end = tail.rfind(b"%%EOF")
    start = tail.rfind(b"startxref", 0, end if end >= 0 else None)
    if end < 0 or start < 0:
        raise UploadRefused("damaged", _damaged_message("pdf"))


def _verify_png(*, file: File) -> None:
    """Chunk by chunk up to IEND, each CRC checked; the pixels are not decoded."""
    file.seek(0)
    try:
        with Image.open(file, formats=["PNG"]) as image:
            _refuse_too_many_pixels(image=image, kind="png")
            image.verify()
    except _IMAGE_ERRORS as error:
        raise UploadRefused("damaged", _damaged_message("png")) from error


def _verify_jpeg(*, file: File) -> None:
    """Pillow's verify reads only the JPEG's headers, so the image is decoded as well, which is what
    catches a truncated file."""
    file.seek(0)
    try:
        with Image.open(file, formats=["JPEG"]) as image:
            _refuse_too_many_pixels(image=image, kind="jpeg")
            image.verify()
        file.seek(0)
        with Image.open(file, formats=["JPEG"]) as image:
            width, height = image.size
            image.draft("L", (max(1, width // JPEG_CHECK_SCALE), max(1, height // JPEG_CHECK_SCALE)))
            image.load()
    except _IMAGE_ERRORS as error:
        raise UploadRefused("damaged", _damaged_message("jpeg")) from error


def _refuse_too_many_pixels(*, image: Image.Image, kind: Kind) -> None:
    # Checked on the header's dimensions, before any pixel is decoded. Pillow's own global limit
    # (Image.MAX_IMAGE_PIXELS) is left alone because other code in the process relies on it.
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise UploadRefused(
            "damaged",
            _("%(kind)s 图像尺寸过大（上限 %(limit)s 像素）。")
            % {"kind": KIND_LABELS[kind], "limit": f"{MAX_IMAGE_PIXELS:,}"},
        )


def _verify_ofd(*, file: File, limit: int) -> None:
    """An OFD file (GB/T 33190) is a ZIP package whose entry ``OFD.xml`` at the root is an
    ``ofd:OFD`` document. Any other ZIP is not allowed; a package too large to expand is refused
    as damaged, since whoever opens it later would expand it."""
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            if len(entries) > OFD_MAX_ENTRIES:
                raise UploadRefused("damaged", _ofd_too_large_message())
            if sum(entry.file_size for entry in entries) > OFD_EXPANSION_FACTOR * limit:
                raise UploadRefused("damaged", _ofd_too_large_message())
            try:
                entry = archive.getinfo("OFD.xml")
            except KeyError:
                raise UploadRefused("type_not_allowed", _type_not_allowed_message()) from None
            with archive.open(entry) as member:
                document_start = member.read(OFD_ROOT_READ_BYTES)
    except (*_ZIP_ERRORS, zlib.error) as error:
        raise UploadRefused("damaged", _damaged_message("ofd")) from error
    if _xml_root_name(document=document_start) != (OFD_NAMESPACE, "OFD"):
        raise UploadRefused("type_not_allowed", _type_not_allowed_message())


class _RootFound(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _xml_root_name(*, document: bytes) -> tuple[str, str]:
    """(namespace, local name) of the document's root element, from the document's first bytes.

    Refused as damaged when it does not parse before the root, or declares a DOCTYPE: OFD.xml has
    none, and a DOCTYPE is how entity-expansion attacks on XML parsers begin.
    """

    def refuse_doctype(*args: object) -> None:
        raise UploadRefused("damaged", _damaged_message("ofd"))

    def root_found(name: str, attributes: object) -> None:
        raise _RootFound(name)

    # The separator is a character that cannot occur in a namespace URI or an element name.
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.StartElementHandler = root_found
    try:
        parser.Parse(document, False)
    except _RootFound as found:
        namespace, _separator, local_name = found.name.rpartition(" ")
        return namespace, local_name
    except expat.ExpatError as error:
        raise UploadRefused("damaged", _damaged_message("ofd")) from error
    raise UploadRefused("damaged", _damaged_message("ofd"))


def _clean_name(name: str) -> str:
    """The last path component only, without control or format characters, at most 255
    characters with the extension kept."""
    name = posixpath.basename(name.replace("\\", "/"))
    name = _printable(name)
    if name in (".", ".."):
        return ""
    if len(name) <= ORIGINAL_NAME_MAX_LENGTH:
        return name
    stem, extension = posixpath.splitext(name)
    if len(extension) >= ORIGINAL_NAME_MAX_LENGTH:
        return name[:ORIGINAL_NAME_MAX_LENGTH]
    return stem[: ORIGINAL_NAME_MAX_LENGTH - len(extension)] + extension


def _download_name(*, material_name: str, extension: str) -> str:
    # A material name such as "营业执照/副本" is one name, not a path: its separators are kept
    # visible rather than cutting the name short.
    return _printable(material_name.replace("/", "_").replace("\\", "_")) + extension


def _printable(text: str) -> str:
    # Format characters go too: a right-to-left override makes "cod.exe" read as "exe.doc".
    text = unicodedata.normalize("NFC", text)
    return "".join(character for character in text if unicodedata.category(character) not in ("Cc", "Cf")).strip()


def _type_not_allowed_message() -> str:
    return _("只接受 PDF、JPEG、PNG 或 OFD 格式的文件。")


def _damaged_message(kind: Kind) -> str:
    return _("%(kind)s 文件已损坏或不完整。") % {"kind": KIND_LABELS[kind]}


def _ofd_too_large_message() -> str:
    return _("OFD 文件解压后过大或包含的条目过多。")
