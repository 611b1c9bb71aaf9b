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


def _image_xobject(pdf, data: bytes, width: int, height: int):
    """The stored page image as a PDF image, without re-encoding a JPEG: JPEG passes through
    as DCT; a 1-bit image is packed one bit a pixel and deflated; anything else deflated."""
    import zlib

    import numpy as np
    import pikepdf
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        mode, (w, h) = img.mode, img.size
        if (w, h) != (width, height):
            raise ValueError(f"page image is {w}x{h}, the words were found on {width}x{height}")
        if img.format == "JPEG" and mode in ("L", "RGB"):
            stream = pikepdf.Stream(pdf, data)
            stream.Filter = pikepdf.Name.DCTDecode
            bits, space = 8, "/DeviceGray" if mode == "L" else "/DeviceRGB"
        elif mode == "1":
            packed = np.packbits(np.asarray(img, dtype=bool), axis=1)  # 1 = white in DeviceGray
            stream = pikepdf.Stream(pdf, zlib.compress(packed.tobytes(), 9))
            stream.Filter = pikepdf.Name.FlateDecode
            bits, space = 1, "/DeviceGray"
        else:
            arr = np.asarray(img.convert("L" if mode in ("L", "LA", "I;16") else "RGB"))
            stream = pikepdf.Stream(pdf, zlib.compress(arr.tobytes(), 6))
            stream.Filter = pikepdf.Name.FlateDecode
            bits, space = 8, "/DeviceGray" if arr.ndim == 2 else "/DeviceRGB"
    stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    stream.Width, stream.Height, stream.BitsPerComponent = w, h, bits
    stream.ColorSpace = pikepdf.Name(space)
    return stream


def searchable_pdf(pages: Iterable[PdfPage], out: BinaryIO, *, title: str = "") -> int:
    """Write the PDF to ``out``; returns the number of pages. reportlab writes the invisible
    text layer, pikepdf puts each stored page image beneath it unchanged."""
    import pikepdf
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    _register_font()
    text_layer = io.BytesIO()
    c = canvas.Canvas(text_layer, pageCompression=1)
    c.setTitle(title)
    c.setSubject("scanned record with OCR text layer")
    c.setAuthor("sohoa")
    c.setCreator("sohoa")
    images: list[tuple[bytes, int, int, float, float]] = []
    for page in pages:
        scale = 72.0 / page.dpi
        w_pt, h_pt = page.width * scale, page.height * scale
        c.setPageSize((w_pt, h_pt))
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
        images.append((page.image, page.width, page.height, w_pt, h_pt))
    c.save()
    text_layer.seek(0)
    with pikepdf.open(text_layer) as pdf:
        for pdf_page, (data, width, height, w_pt, h_pt) in zip(pdf.pages, images, strict=True):
            name = pdf_page.add_resource(_image_xobject(pdf, data, width, height),
                                         pikepdf.Name.XObject, prefix="Scan")
            draw = f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm {name} Do Q\n".encode()
            pdf_page.contents_add(pdf.make_stream(draw), prepend=True)
        pdf.save(out)
    return len(images)
