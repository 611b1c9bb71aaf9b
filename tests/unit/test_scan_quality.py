"""Scan quality at intake (Circular 05/2025/TT-BNV: 200 dpi, colour as the original, 24-bit):
what the file declares and what its letters imply are both kept, the effective one is
flagged on, grey and bilevel scans are flagged softly; nothing is rejected."""

from __future__ import annotations

import io
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image

from ocr.resolution import FLAGS, MIN_DPI, ScanQuality, assess_scan, colour_depth, effective_dpi
from tests.conftest import SCANS

A4_300 = (2480, 3508)  # an A4 page at 300 dpi, in pixels
A4_150 = (1240, 1754)


def test_a_declared_resolution_below_200_dpi_is_flagged_and_kept():
    q = assess_scan(declared_dpi=150, content_dpi=170, size=A4_150, colour_bits=24,
                    colour_mode="colour")
    assert (q.effective_dpi, q.dpi_source, q.flags) == (150, "declared", ("low_resolution",))
    assert (q.declared_dpi, q.content_dpi) == (150, 170)  # both kept
    ok = assess_scan(declared_dpi=300, content_dpi=250, size=A4_300, colour_bits=24,
                     colour_mode="colour")
    assert ok.flags == () and ok.effective_dpi == 300
    assert assess_scan(declared_dpi=200, content_dpi=None, size=(1654, 2339), colour_bits=24,
                       colour_mode="colour").flags == ()  # exactly the minimum passes


def test_a_declared_resolution_that_makes_no_sheet_gives_way_to_the_letters():
    """A phone photo declaring 72 dpi for 4,032 pixels would be a 56-inch sheet."""
    q = assess_scan(declared_dpi=72, content_dpi=260, size=(3024, 4032), colour_bits=24,
                    colour_mode="colour")
    assert (q.effective_dpi, q.dpi_source, q.flags) == (260, "content", ())
    low = assess_scan(declared_dpi=None, content_dpi=120, size=A4_150, colour_bits=8,
                      colour_mode="grey")
    assert (low.effective_dpi, low.dpi_source) == (120, "content")
    assert low.flags == ("low_resolution", "not_colour")


def test_with_neither_the_page_is_taken_as_a_filled_a4_sheet():
    q = assess_scan(declared_dpi=None, content_dpi=None, size=(1000, 1414), colour_bits=24,
                    colour_mode="colour")
    assert (q.dpi_source, q.effective_dpi, q.flags) == ("page_size", 121, ("low_resolution",))


@pytest.mark.parametrize(("mode", "grey_palette", "expected"), [
    ("1", False, (1, "bilevel")), ("L", False, (8, "grey")), ("LA", False, (8, "grey")),
    ("I;16", False, (16, "grey")), ("P", False, (8, "palette")), ("P", True, (8, "grey")),
    ("RGB", False, (24, "colour")), ("RGBA", False, (24, "colour")),
    ("CMYK", False, (32, "colour")), ("YCbCr", False, (24, "colour")),
])
def test_colour_depth_is_the_original_s_bits_per_pixel(mode, grey_palette, expected):
    assert colour_depth(mode, grey_palette=grey_palette) == expected


def test_grey_and_bilevel_are_flagged_softly_and_a_palette_as_under_24_bits():
    def flags(bits, mode):
        return assess_scan(declared_dpi=300, content_dpi=None, size=A4_300, colour_bits=bits,
                           colour_mode=mode).flags

    assert flags(8, "grey") == ("not_colour",) and flags(1, "bilevel") == ("not_colour",)
    assert flags(8, "palette") == ("low_colour_depth",)
    assert flags(24, "colour") == () and flags(32, "colour") == ()
    assert flags(None, None) == ()  # unknown (a PDF page drawn, not one image): no flag
    assert set(FLAGS) == {"low_resolution", "not_colour", "low_colour_depth"}


def test_a_scan_quality_round_trips():
    q = assess_scan(declared_dpi=150, content_dpi=None, size=A4_150, colour_bits=1,
                    colour_mode="bilevel")
    assert ScanQuality.from_dict(q.to_dict()) == q
    assert q.minimum_dpi == MIN_DPI == 200


def test_the_letters_give_the_resolution_of_a_real_page_within_a_third():
    page = np.asarray(Image.open(SCANS / "birth-1987-jpeg-skew-3.2.jpg").convert("L"))  # 300
    for scale, dpi in ((1.0, 300), (0.5, 150)):
        small = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        assert abs(effective_dpi(small) - dpi) < dpi / 3
    assert effective_dpi(np.full((800, 600), 255, np.uint8)) is None  # no letters


def _file(tmp_path, name, img: Image.Image, **save) -> str:
    path = tmp_path / name
    img.save(path, **save)
    return str(path)


def test_intake_reads_declared_dpi_and_depth_of_image_files(tmp_path):
    from pipeline.imagepages import load_image_page

    grey = Image.new("L", (1240, 1754), 255)
    cases = {
        "grey-150.png": (grey, {"dpi": (150, 150)}, (150, 8, "grey")),
        "colour-300.jpg": (grey.convert("RGB"), {"dpi": (300, 300)}, (300, 24, "colour")),
        "bilevel.tif": (grey.convert("1"), {"dpi": (200, 200), "compression": "group4"},
                        (200, 1, "bilevel")),
        "palette.png": (grey.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE,
                                                    colors=16), {}, (None, 8, None)),
        "no-dpi.png": (grey, {}, (None, 8, "grey")),
    }
    for name, (img, save, (dpi, bits, mode)) in cases.items():
        page = load_image_page(_file(tmp_path, name, img, **save), 0, max_pixels=10**8)
        assert (page.declared_dpi, page.colour_bits) == (dpi, bits), name
        if mode:
            assert page.colour_mode == mode, name
    colours = Image.new("P", (64, 64))
    colours.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    page = load_image_page(_file(tmp_path, "red.png", colours), 0, max_pixels=10**8)
    assert (page.colour_bits, page.colour_mode) == (8, "palette")


def test_intake_reads_a_scanned_pdf_s_image_resolution_and_depth(tmp_path):
    from pipeline.pdfpages import load_pdf_page

    grey = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
    path = _file(tmp_path, "scan.pdf", grey, resolution=150.0)
    page = load_pdf_page(path, 0, max_pixels=10**8)
    assert (page.declared_dpi, page.colour_bits, page.colour_mode) == (150, 8, "grey")


def test_the_page_stage_measures_the_letters_on_the_page_as_sent():
    from pipeline.imagepages import LoadedPage
    from pipeline.page import scan_quality

    page = np.asarray(Image.open(SCANS / "receipt-jpeg-skew-5.3.jpg").convert("L"))
    loaded = LoadedPage(page, 300, False, None, 300, 8, "grey")
    half = cv2.resize(page, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    q = scan_quality(loaded, half)  # measured on a working copy, scaled back
    assert q.dpi_source == "declared" and q.effective_dpi == 300
    assert abs(q.content_dpi - 300) < 100
    assert q.flags == ("not_colour",)


def _stored(**scan):
    base = {"number": 1, "declared_dpi": None, "content_dpi": None, "effective_dpi": None,
            "dpi_source": None, "colour_bits": None, "colour_mode": None, "scan_flags": []}
    return SimpleNamespace(**{**base, **scan})


def test_the_report_and_the_record_say_what_falls_short():
    from pipeline.present import scan_dict, scan_problems, scan_report

    low = _stored(declared_dpi=150, content_dpi=160, effective_dpi=150, dpi_source="declared",
                  colour_bits=8, colour_mode="grey", scan_flags=["low_resolution", "not_colour"])
    assert scan_dict(_stored()) is None  # stored before scans were assessed
    assert scan_dict(low)["effective_dpi"] == 150
    assert scan_problems(low) == [
        "150 dpi (as the file declares), below the 200 dpi of Circular 05/2025/TT-BNV",
        "8-bit grey, not 24-bit colour (acceptable if the original is black and white)"]
    doc = SimpleNamespace(pages=[low, _stored(number=2, dpi_source="declared",
                                              effective_dpi=300, colour_mode="colour")])
    assert [r["page"] for r in scan_report(doc)] == [1]


def test_the_document_page_says_it_in_vietnamese():
    from api import i18n

    low = _stored(declared_dpi=150, effective_dpi=150, dpi_source="declared", colour_bits=8,
                  colour_mode="grey", scan_flags=["low_resolution", "not_colour"])
    assert i18n.scan_notes(low) == [
        "Ảnh quét 150 dpi, dưới mức 200 dpi của Thông tư 05/2025/TT-BNV",
        "Ảnh xám 8-bit, dưới 24-bit màu: vẫn đạt nếu bản gốc chỉ có đen trắng "
        "(Thông tư 05/2025/TT-BNV: màu như bản gốc)"]
    guessed = _stored(content_dpi=120, effective_dpi=120, dpi_source="content",
                      colour_bits=8, colour_mode="palette",
                      scan_flags=["low_resolution", "low_colour_depth"])
    notes = i18n.scan_notes(guessed)
    assert notes[0].startswith("Ảnh quét khoảng 120 dpi (ước tính")
    assert notes[1] == "Ảnh màu 8-bit, dưới 24-bit màu của Thông tư 05/2025/TT-BNV"
    bilevel = _stored(declared_dpi=300, effective_dpi=300, dpi_source="declared",
                      colour_bits=1, colour_mode="bilevel", scan_flags=["not_colour"])
    assert i18n.scan_notes(bilevel)[0].startswith("Ảnh đen trắng 1-bit")
    assert i18n.scan_notes(_stored()) == []


def test_every_scan_note_has_its_vietnamese_text():
    from api import i18n

    for key in ("low_resolution", "low_resolution_estimated", "not_colour_grey",
                "not_colour_bilevel", "low_colour_depth"):
        text = i18n.term("scan_quality", key)
        assert text != key and "TT-BNV" in text


def test_an_image_saved_with_a_fractional_dpi_is_read_as_its_rounded_value():
    from pipeline.imagepages import declared_dpi

    buf = io.BytesIO()
    Image.new("L", (100, 100)).save(buf, format="PNG", dpi=(200, 200))  # 7874 px/m
    assert declared_dpi(Image.open(io.BytesIO(buf.getvalue())).info) == 200
