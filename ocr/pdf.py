"""Searchable PDF: each page is its stored image with an invisible text layer (render mode 3)
placed on the recognised words, as OCRmyPDF does, so text can be selected and searched and
``pdftotext`` returns it in reading order."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ocr.engine import EngineUnavailable, Word

FONT_NAME = "SohoaText"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
)


@dataclass(frozen=True, slots=True)
class PdfPage:
    image: bytes  # JPEG or PNG of the upright page the words were found on
    width: int  # pixels
    height: int
    dpi: int
    words: Sequence[Word]


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont(FONT_NAME, path))
            return
    raise EngineUnavailable("no TrueType font with Vietnamese glyphs for the PDF text layer: "
                            "`apt-get install fonts-dejavu-core`")


def _lines(words: Sequence[Word]) -> list[list[Word]]:
    lines: dict[int, list[Word]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    return [lines[k] for k in sorted(lines)]


def searchable_pdf(pages: Iterable[PdfPage], out: BinaryIO, *, title: str = "") -> int:
    """Write the PDF to ``out``; returns the number of pages."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    _register_font()
    c = canvas.Canvas(out, pageCompression=1)
    c.setTitle(title)
    c.setSubject("scanned record with OCR text layer")
    c.setAuthor("sohoa")
    c.setCreator("sohoa")
    n = 0
    for page in pages:
        scale = 72.0 / page.dpi
        w_pt, h_pt = page.width * scale, page.height * scale
        c.setPageSize((w_pt, h_pt))
        c.drawImage(ImageReader(io.BytesIO(page.image)), 0, 0, width=w_pt, height=h_pt)
        text = c.beginText()
        text.setTextRenderMode(3)  # invisible: neither filled nor stroked
        for line in _lines(page.words):
            top = min(w.box[1] for w in line)
            bottom = max(w.box[3] for w in line)
            size = max(1.0, (bottom - top) * scale * 0.85)
            baseline = h_pt - bottom * scale + (bottom - top) * scale * 0.18
            for w in line:
                natural = stringWidth(w.text, FONT_NAME, size)
                if natural <= 0:
                    continue
                target = (w.box[2] - w.box[0]) * scale
                text.setFont(FONT_NAME, size)
                text.setHorizScale(max(1.0, 100.0 * target / natural))
                text.setTextOrigin(w.box[0] * scale, baseline)
                text.textOut(w.text + " ")
        c.drawText(text)
        c.showPage()
        n += 1
    c.save()
    return n
