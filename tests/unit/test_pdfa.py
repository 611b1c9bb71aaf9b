"""The searchable PDF is PDF/A-2b (ocr.pdf, ocr.pdfa), on pages made here (no Tesseract).

Every file is checked twice: by pikepdf's PDF/A validator (``ocr.pdfa.validate``, the one
OCRmyPDF 17 uses; it approves only what it recognises as conforming), and by the checks below
that read the file with pikepdf and poppler, so that a rule that matters to the archive is
seen to hold even if the validator changed: the XMP declaration and its agreement with the
information dictionary, the sRGB output intent, the embedded font with its /ToUnicode, no
encryption, no LZW, a trailer /ID, the header; the images exactly as stored at 100 % scale;
the text invisible and copyable with its Vietnamese marks."""

from __future__ import annotations

import io
import re
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw

from ocr import pdfa
from ocr.engine import Word
from ocr.pdf import PdfPage, glyphless_font, searchable_pdf

WORDS = ("GIẤY KHAI SINH", "Họ và tên: NGUYỄN THỊ ĐÀO", "Nơi sinh: Đống Đa, Hà Nội")


def _page_image(mode: str, size=(1240, 1754)) -> Image.Image:
    """An A4 page at 150 dpi with a few dark bars where the words are."""
    img = Image.new("RGB", size, (250, 246, 235))
    draw = ImageDraw.Draw(img)
    for i in range(len(WORDS)):
        draw.rectangle((100, 100 + 80 * i, 900, 140 + 80 * i), fill=(30, 30, 90))
    draw.ellipse((900, 1400, 1100, 1600), outline=(200, 20, 20), width=8)  # a red seal
    return img.convert(mode)


def _words(lines=WORDS) -> list[Word]:
    words = []
    for n, line in enumerate(lines):
        x = 100
        for text in line.split():
            w = 40 * len(text)
            words.append(Word(unicodedata.normalize("NFC", text), 90.0,
                              (x, 100 + 80 * n, x + w, 140 + 80 * n), n, 0))
            x += w + 30
    return words


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _write(pages: list[PdfPage], path: Path, title: str = "Giấy khai sinh") -> Path:
    with open(path, "wb") as f:
        searchable_pdf(pages, f, title=title, creator="sohoa test")
    return path


def _poppler(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


@pytest.fixture
def colour_pdf(tmp_path):
    jpeg = _encode(_page_image("RGB"), "JPEG")
    return jpeg, _write([PdfPage(jpeg, 1240, 1754, 150, _words())], tmp_path / "colour.pdf")


def test_a_colour_page_is_valid_pdfa_2b(colour_pdf):
    _, path = colour_pdf
    result = pdfa.validate(path)
    assert result.passed, result.findings
    assert (result.flavour, result.verdict, result.findings) == ("2b", "pass", ())


def test_the_metadata_declares_pdfa_2b_and_agrees_with_the_information_dictionary(colour_pdf):
    _, path = colour_pdf
    head = path.read_bytes()[:32]
    assert re.match(rb"%PDF-1\.[4-7]\r?\n%[\x80-\xff]{4}", head), head  # version, binary line
    with pikepdf.open(path) as pdf:
        with pdf.open_metadata() as meta:
            assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
            assert meta["dc:title"] == str(pdf.docinfo.Title) == "Giấy khai sinh"
            assert meta["xmp:CreatorTool"] == str(pdf.docinfo.Creator) == "sohoa test"
            assert meta["pdf:Producer"] == str(pdf.docinfo.Producer)
            assert meta["xmp:CreateDate"] and meta["xmp:ModifyDate"]
        assert pdf.Root.Metadata.Type == "/Metadata" and pdf.Root.Metadata.Subtype == "/XML"
        assert "/Author" not in pdf.docinfo  # not reportlab's "anonymous"
        assert "/Encrypt" not in pdf.trailer and not pdf.is_encrypted
        ids = pdf.trailer.ID
        assert len(ids) == 2 and len(bytes(ids[0])) >= 16
        assert str(pdf.Root.Lang) == "vi"
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                assert "/JS" not in obj and obj.get("/S") not in ("/JavaScript", "/Launch")
            if isinstance(obj, pikepdf.Stream):
                filters = obj.get("/Filter")
                names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) \
                    else [str(filters)]
                assert "/LZWDecode" not in names


def test_the_output_intent_is_an_embedded_srgb_profile(colour_pdf):
    _, path = colour_pdf
    with pikepdf.open(path) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        profile = intent.DestOutputProfile
        assert profile.N == 3
        icc = profile.read_bytes()
        assert icc[36:40] == b"acsp" and icc[16:20] == b"RGB "  # an ICC profile, RGB data
        assert int.from_bytes(icc[:4], "big") == len(icc)
        assert "sRGB" in str(intent.OutputConditionIdentifier)


def test_the_font_is_embedded_with_widths_and_a_unicode_map(colour_pdf):
    _, path = colour_pdf
    with pikepdf.open(path) as pdf:
        fonts = list(pdf.pages[0].Resources.Font.values())
        assert fonts
        for font in fonts:
            assert font.Subtype == "/TrueType"
            assert "/FontFile2" in font.FontDescriptor
            assert "/ToUnicode" in font
            assert len(font.Widths) == int(font.LastChar) - int(font.FirstChar) + 1
        content = b"".join(c.read_bytes() for c in pdf.pages[0].obj.Contents) \
            if isinstance(pdf.pages[0].obj.Contents, pikepdf.Array) \
            else pdf.pages[0].obj.Contents.read_bytes()
        assert b" 3 Tr" in content  # render mode 3: invisible
        assert b" 0 Tr" not in content
    fonts_listed = _poppler("pdffonts", str(path)).splitlines()[2:]
    assert fonts_listed and all(" yes yes yes " in line for line in fonts_listed)  # emb sub uni
    assert len(glyphless_font()) < 2000


def test_the_text_is_copied_with_its_vietnamese_marks(colour_pdf):
    _, path = colour_pdf
    text = unicodedata.normalize("NFC", _poppler("pdftotext", str(path), "-"))
    assert text.split() == " ".join(WORDS).split()


def test_the_jpeg_is_embedded_as_stored_at_100_percent(colour_pdf, tmp_path):
    jpeg, path = colour_pdf
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        assert [float(v) for v in page.MediaBox] == pytest.approx([0, 0, 1240 * 72 / 150,
                                                                   1754 * 72 / 150])
        (image,) = page.get_images().values()
        assert image.Filter == "/DCTDecode" and image.ColorSpace == "/DeviceRGB"
        assert image.read_raw_bytes() == jpeg  # not re-encoded, not downsampled
        assert "/SMask" not in image and "/Interpolate" not in image
    listed = _poppler("pdfimages", "-list", str(path)).splitlines()[2]
    assert listed.split()[12:14] == ["150", "150"]  # x-ppi, y-ppi: 100 % scale


def test_a_grey_jpeg_page_is_valid_and_stays_grey(tmp_path):
    jpeg = _encode(_page_image("L"), "JPEG")
    path = _write([PdfPage(jpeg, 1240, 1754, 150, _words())], tmp_path / "grey.pdf")
    assert pdfa.validate(path).passed
    with pikepdf.open(path) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert image.ColorSpace == "/DeviceGray" and image.read_raw_bytes() == jpeg


def test_a_1_bit_page_is_ccitt_g4_and_decodes_to_the_same_pixels(tmp_path):
    bilevel = _page_image("L").point(lambda v: 255 if v > 128 else 0).convert("1")
    png = _encode(bilevel, "PNG")
    path = _write([PdfPage(png, 1240, 1754, 150, _words())], tmp_path / "fax.pdf")
    assert pdfa.validate(path).passed
    with pikepdf.open(path) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert image.Filter == "/CCITTFaxDecode" and image.BitsPerComponent == 1
        assert len(image.read_raw_bytes()) < len(png)
    subprocess.run(["pdfimages", "-png", str(path), str(tmp_path / "out")], check=True)
    decoded = np.asarray(Image.open(tmp_path / "out-000.png").convert("L")) > 127
    assert np.array_equal(decoded, np.asarray(bilevel))  # poppler's decoder, pixel for pixel


def test_a_lossless_colour_page_is_deflated_and_valid(tmp_path):
    img = _page_image("RGB", size=(620, 877))
    path = _write([PdfPage(_encode(img, "PNG"), 620, 877, 75, _words())], tmp_path / "png.pdf")
    assert pdfa.validate(path).passed
    with pikepdf.open(path) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert image.Filter == "/FlateDecode"
        assert np.array_equal(np.asarray(pikepdf.PdfImage(image).as_pil_image()),
                              np.asarray(img))


def test_several_pages_and_characters_beyond_the_font_stay_valid(tmp_path):
    jpeg = _encode(_page_image("RGB"), "JPEG")
    odd = _words(("Số: 12/2024 — ①②③ ✓", "emoji 😀 and a control\x07char"))
    pages = [PdfPage(jpeg, 1240, 1754, 150, _words()), PdfPage(jpeg, 1240, 1754, 150, odd),
             PdfPage(jpeg, 1240, 1754, 150, [])]  # a page with no words at all
    path = _write(pages, tmp_path / "three.pdf", title="")
    assert pdfa.validate(path).passed, pdfa.validate(path).findings
    text = _poppler("pdftotext", str(path), "-")
    assert "①②③" in text and "😀" not in text and "\ufffd" in text  # written as U+FFFD
    assert re.search(r"^Pages:\s+3$", _poppler("pdfinfo", str(path)), re.M)


def test_the_validator_refuses_a_file_that_is_not_pdfa(tmp_path):
    """Not a validator that passes everything: a plain PDF with an unembedded font fails, and
    ocr.pdfa.save writes nothing when the document cannot be made to pass."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(200, 200))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)))
    page.Contents = pdf.make_stream(b"BT /F1 12 Tf 20 100 Td (Hello) Tj ET")
    plain = tmp_path / "plain.pdf"
    pdf.save(plain)
    refused = pdfa.validate(plain)
    assert refused.verdict == "fail" and any("violation" in f for f in refused.findings)
    out = io.BytesIO()
    with pytest.raises(pdfa.NotPdfA, match="ISO_19005_2"):
        pdfa.save(pdf, out)
    assert out.getvalue() == b""
