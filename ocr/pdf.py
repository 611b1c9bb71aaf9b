"""Searchable PDF/A-2b: each page is its stored image with an invisible text layer (render
mode 3) placed on the recognised words, as OCRmyPDF does, so text can be selected, copied
(Vietnamese marks included) and searched, and ``pdftotext`` returns it in reading order.

Circular 05/2025/TT-BNV asks for a two-layer PDF/A, colour as the original, at 100 % scale:
- the image is the stored page image, not re-encoded: a JPEG passes through as DCT (its
  colour and quality as stored); a 1-bit page is encoded CCITT G4 (lossless, about a third
  smaller than deflate); anything else is deflated losslessly. Never downsampled;
- the page is the image's size at its resolution (``width / dpi`` inches);
- the text uses a glyphless font (every character an empty glyph of one width, like
  Tesseract's GlyphLessFont), made here with fontTools and embedded by reportlab with a
  /ToUnicode map: under 1 KB a document instead of a ~21 KB subset of a system font, and no
  glyph a reader could ever draw;
- ``ocr.pdfa`` makes the file PDF/A-2b and validates every file before it is written.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

from ocr import pdfa
from ocr.engine import EngineUnavailable, Word

FONT_NAME = "SohoaGlyphless"
FONT_EM, FONT_ADVANCE = 1000, 500
# Every character of the Basic Multilingual Plane has the one empty glyph: a character the
# font lacked would show .notdef, which PDF/A-2 forbids even in invisible text. Characters
# beyond it (none in Vietnamese or English OCR) are written as U+FFFD.
COVERED = ((0x20, 0xD7FF), (0xE000, 0xFFFD))


@dataclass(frozen=True, slots=True)
class PdfPage:
    image: bytes  # JPEG or PNG of the upright page the words were found on
    width: int  # pixels
    height: int
    dpi: int
    words: Sequence[Word]


@lru_cache(maxsize=1)
def glyphless_font() -> bytes:
    """A TrueType font whose every character is one empty glyph, FONT_ADVANCE wide."""
    try:
        from fontTools.fontBuilder import FontBuilder
        from fontTools.pens.ttGlyphPen import TTGlyphPen
        from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
    except ImportError as exc:
        raise EngineUnavailable("the PDF text layer's font needs fontTools: "
                                f"pip install 'pikepdf[pdfa]' ({exc})") from exc
    fb = FontBuilder(FONT_EM, isTTF=True)
    fb.setupGlyphOrder([".notdef", "blank"])
    fb.setupCharacterMap({0x20: "blank"})
    many_to_one = CmapSubtable.newSubtable(13)  # format 13: many characters, one glyph
    many_to_one.platformID, many_to_one.platEncID, many_to_one.language = 3, 10, 0
    many_to_one.cmap = {c: "blank" for lo, hi in COVERED for c in range(lo, hi + 1)}
    fb.font["cmap"].tables = [many_to_one]
    empty = TTGlyphPen(None).glyph()
    fb.setupGlyf({".notdef": empty, "blank": empty})
    fb.setupHorizontalMetrics({".notdef": (FONT_ADVANCE, 0), "blank": (FONT_ADVANCE, 0)})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular",
                       "psName": f"{FONT_NAME}-Regular"})
    fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200,
                fsType=0)  # installable embedding
    fb.setupPost()
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue()


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, io.BytesIO(glyphless_font())))


def _covered(text: str) -> str:
    return "".join(ch if any(lo <= ord(ch) <= hi for lo, hi in COVERED) else "\ufffd"
                   for ch in text)


def _lines(words: Sequence[Word]) -> list[list[Word]]:
    lines: dict[int, list[Word]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    return [lines[k] for k in sorted(lines)]


def _g4(img) -> bytes | None:
    """A 1-bit image as one CCITT G4 strip (Pillow's TIFF writer), or None if the strip
    cannot be had. The TIFF is written black-is-zero, so 1 bits are white."""
    from PIL import Image

    buf = io.BytesIO()
    img.save(buf, format="TIFF", compression="group4", tiffinfo={278: img.height})
    with Image.open(buf) as tif:
        offsets, counts = tif.tag_v2.get(273, ()), tif.tag_v2.get(279, ())
        if len(offsets) != 1 or tif.tag_v2.get(262) != 1 or tif.tag_v2.get(266, 1) != 1:
            return None
    return buf.getvalue()[offsets[0]:offsets[0] + counts[0]]


def _image_xobject(pdf, data: bytes, width: int, height: int):
    """The stored page image as a PDF image, without re-encoding a JPEG: JPEG passes through
    as DCT; a 1-bit image is CCITT G4 (or packed one bit a pixel and deflated); anything else
    deflated."""
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
            bits, space = 1, "/DeviceGray"
            if (g4 := _g4(img)) is not None:
                stream = pikepdf.Stream(pdf, g4)
                stream.Filter = pikepdf.Name.CCITTFaxDecode
                stream.DecodeParms = pikepdf.Dictionary(K=-1, Columns=w, Rows=h,
                                                        BlackIs1=True)
            else:
                packed = np.packbits(np.asarray(img, dtype=bool), axis=1)  # 1 = white
                stream = pikepdf.Stream(pdf, zlib.compress(packed.tobytes(), 9))
                stream.Filter = pikepdf.Name.FlateDecode
        else:
            arr = np.asarray(img.convert("L" if mode in ("L", "LA", "I;16") else "RGB"))
            stream = pikepdf.Stream(pdf, zlib.compress(arr.tobytes(), 6))
            stream.Filter = pikepdf.Name.FlateDecode
            bits, space = 8, "/DeviceGray" if arr.ndim == 2 else "/DeviceRGB"
    stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    stream.Width, stream.Height, stream.BitsPerComponent = w, h, bits
    stream.ColorSpace = pikepdf.Name(space)
    return stream


def _text_layer(pages: Iterable[PdfPage], out: BinaryIO, *, title: str,
                creator: str) -> list[tuple[bytes, int, int, float, float]]:
    """reportlab writes the pages' invisible text; returns what the images need."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    _register_font()
    c = canvas.Canvas(out, pageCompression=1, initialFontName=FONT_NAME)
    c.setTitle(title)
    c.setSubject("scanned record with OCR text layer")
    c.setCreator(creator)
    images: list[tuple[bytes, int, int, float, float]] = []
    for page in pages:
        scale = 72.0 / page.dpi  # 100 %: one image pixel is 1/dpi inch
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
                word = _covered(w.text)
                natural = stringWidth(word, FONT_NAME, size)
                if natural <= 0:
                    continue
                target = (w.box[2] - w.box[0]) * scale
                text.setFont(FONT_NAME, size)
                text.setHorizScale(max(1.0, 100.0 * target / natural))
                text.setTextOrigin(w.box[0] * scale, baseline)
                text.textOut(word + " ")
        c.drawText(text)
        c.showPage()
        images.append((page.image, page.width, page.height, w_pt, h_pt))
    c.save()
    return images


def searchable_pdf(pages: Iterable[PdfPage], out: BinaryIO, *, title: str = "",
                   creator: str = "sohoa") -> int:
    """Write the PDF/A-2b file to ``out`` (a seekable binary file at its start); returns the
    number of pages. reportlab writes the invisible text layer, pikepdf puts each stored page
    image beneath it unchanged, and ``ocr.pdfa`` declares, writes and validates the PDF/A
    (raising ``ocr.pdfa.NotPdfA``, having written nothing, should it not pass)."""
    import pikepdf

    text_layer = io.BytesIO()
    images = _text_layer(pages, text_layer, title=title, creator=creator)
    text_layer.seek(0)
    with pikepdf.open(text_layer) as pdf:
        for pdf_page, (data, width, height, w_pt, h_pt) in zip(pdf.pages, images, strict=True):
            name = pdf_page.add_resource(_image_xobject(pdf, data, width, height),
                                         pikepdf.Name.XObject, prefix="Scan")
            draw = f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm {name} Do Q\n".encode()
            pdf_page.contents_add(pdf.make_stream(draw), prepend=True)
            if "/Trans" in pdf_page.obj and not pdf_page.obj.Trans.keys():
                del pdf_page.obj.Trans  # reportlab's empty page transition
        if "/Author" in pdf.docinfo:
            del pdf.docinfo.Author  # reportlab's "anonymous"; the issuer is not known here
        pdf.Root.Lang = pikepdf.String("vi")
        pdfa.save(pdf, out)
    return len(images)
