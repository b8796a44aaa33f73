"""The licence's layout document: a PDF (reportlab) with the Chinese font embedded and a QR code
pointing at its public verification page. The seal's signature is added afterwards
(govhall/licences/seals.py); the PDF interoperates with every reader, where the standard's OFD
(GB/T 33190) would need a dedicated one (DOMAIN.md, "E-licences")."""

import io
import threading
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

FONT_NAME = "GovhallCJK"
_font_lock = threading.Lock()
_font_registered = [False]


class FontMissing(Exception):
    pass


def _font_register() -> None:
    with _font_lock:
        if _font_registered[0]:
            return
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        path = Path(settings.GOVHALL_PDF_FONT)
        if not path.exists():
            raise FontMissing(
                f"the font {path} is missing: install Debian's fonts-wqy-microhei (make does) or set GOVHALL_PDF_FONT"
            )
        options: dict[str, Any] = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), **options))
        _font_registered[0] = True


def pdf_font_name() -> str:
    """The registered font for PDFs with Chinese text (reports use it too)."""
    _font_register()
    return FONT_NAME


def licence_pdf_render(
    *,
    title: str,
    number: str,
    identifier: str,
    holder_name: str,
    holder_identifier: str,
    issuer_name: str,
    fields: list[tuple[str, str]],
    issued_on: date,
    valid_from: date,
    valid_until: date | None,
    verify_url: str,
    landscape_layout: bool = False,
) -> bytes:
    """One A4 page: title, number, holder, the type's fields, validity, issuer, identifier, QR."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = pdf_font_name()
    size = landscape(A4) if landscape_layout else A4
    width, height = size
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=size, invariant=True)
    page.setTitle(f"{title} {number}")
    page.setAuthor(issuer_name)
    page.setSubject(identifier)
    page.setCreator(settings.GOVHALL_PLATFORM_NAME)
    page.setStrokeColor(colors.HexColor("#a61b1b"))
    page.setLineWidth(2)
    page.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    page.setFillColor(colors.HexColor("#a61b1b"))
    page.setFont(font, 26)
    page.drawCentredString(width / 2, height - 40 * mm, title)
    page.setFillColor(colors.black)
    page.setFont(font, 11)
    page.drawCentredString(width / 2, height - 50 * mm, _("编号：%(number)s") % {"number": number})
    rows = [
        (_("持证主体"), holder_name),
        (_("主体代码"), holder_identifier),
        *fields,
        (_("有效期"), _validity(valid_from, valid_until)),
        (_("颁证单位"), issuer_name),
        (_("颁证日期"), issued_on.isoformat()),
    ]
    y = height - 68 * mm
    for label, value in rows:
        page.setFont(font, 12)
        page.drawString(28 * mm, y, f"{label}：")
        page.setFont(font, 12)
        for line in _wrap(str(value), 30 if not landscape_layout else 48):
            page.drawString(62 * mm, y, line)
            y -= 8 * mm
        y -= 2 * mm
    qr = QrCodeWidget(verify_url)
    bounds = qr.getBounds()
    side = 32 * mm
    drawing = Drawing(
        side, side, transform=[side / (bounds[2] - bounds[0]), 0, 0, side / (bounds[3] - bounds[1]), 0, 0]
    )
    drawing.add(qr)
    renderPDF.draw(drawing, page, 24 * mm, 22 * mm)
    page.setFont(font, 8)
    page.drawString(
        24 * mm, 18 * mm, _("扫码或访问 %(url)s 核验") % {"url": verify_url.split("/verify/")[0] + "/verify/"}
    )
    page.drawString(24 * mm, 14 * mm, _("证照标识：%(identifier)s") % {"identifier": identifier})
    # Where the seal's visible mark goes (the signature itself is the PAdES one).
    page.setStrokeColor(colors.HexColor("#c0392b"))
    page.circle(width - 50 * mm, 45 * mm, 20 * mm)
    page.setFillColor(colors.HexColor("#c0392b"))
    page.setFont(font, 9)
    page.drawCentredString(width - 50 * mm, 45 * mm, issuer_name[:12])
    page.drawCentredString(width - 50 * mm, 40 * mm, _("电子印章"))
    page.showPage()
    page.save()
    return buffer.getvalue()


def _validity(valid_from: date, valid_until: date | None) -> str:
    if valid_until is None:
        return _("%(start)s 起长期有效") % {"start": valid_from.isoformat()}
    return _("%(start)s 至 %(end)s") % {"start": valid_from.isoformat(), "end": valid_until.isoformat()}


def _wrap(text: str, width: int) -> list[str]:
    lines = []
    for paragraph in text.splitlines() or [""]:
        while len(paragraph) > width:
            lines.append(paragraph[:width])
            paragraph = paragraph[width:]
        lines.append(paragraph)
    return lines
