"""The real Tesseract engine (tesserocr) on rendered text: words, boxes, orientation, PDF."""

import io
import random
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr.engine import EngineUnavailable, TesseractEngine, find_tessdata, words_text
from ocr.page import process_page, quarter_turn
from ocr.pdf import PdfPage, searchable_pdf
from samples import generate
from search.folding import fold

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
LINES = ["Họ, chữ đệm, tên: NGUYỄN VĂN AN", "Ngày, tháng, năm sinh: 12/03/1987",
         "Nơi sinh: Bệnh viện Phụ sản Hà Nội"]


@pytest.fixture(scope="module")
def engine():
    eng = TesseractEngine()
    yield eng
    eng.close()


def _text_image() -> np.ndarray:
    img = Image.new("L", (1800, 500), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 48)
    for i, line in enumerate(LINES):
        draw.text((80, 60 + i * 120), line, font=font, fill=0)
    return np.asarray(img)


def test_words_come_back_with_boxes_confidence_lines_and_hocr(engine):
    rec = engine.recognize(_text_image(), dpi=300)
    assert fold(rec.text).split() == fold("\n".join(LINES)).split()
    assert rec.confidence > 80
    assert {w.line for w in rec.words} == {0, 1, 2}
    an = next(w for w in rec.words if w.text == "AN")
    x0, y0, x1, y1 = an.box
    assert 80 < x0 < x1 < 1800 and 60 <= y0 < y1 <= 60 + 120
    assert "ocrx_word" in rec.hocr and "NGUYỄN" in rec.hocr
    assert words_text(rec.words) == rec.text


def test_blank_page_has_no_words(engine):
    rec = engine.recognize(np.full((600, 400), 255, np.uint8), dpi=300)
    assert rec.words == () and rec.text == "" and rec.confidence == 0.0


@pytest.mark.parametrize("quarter", [0, 90, 180, 270])
def test_quarter_turns_are_found_and_undone(engine, quarter):
    rng = random.Random(5)
    doc = generate.make_document(rng, "death_certificate", dpi=200,
                                 degradations=[generate.Degradation(skew=1.5, rotation=quarter)])
    out = process_page(doc.images[0], dpi=200, engine=engine)
    assert out.rotation == quarter
    assert abs(out.skew_angle - 1.5) < 0.1
    assert "TRÍCH LỤC KHAI TỬ" in out.recognized.text
    assert out.image.shape[0] > out.image.shape[1]  # portrait again


def test_quarter_turn_inverse():
    a = np.arange(6).reshape(2, 3)
    for k in (90, 180, 270):
        assert np.array_equal(quarter_turn(np.rot90(a, k // 90), k), a)


def test_missing_language_data_names_the_package_to_install(tmp_path):
    with pytest.raises(EngineUnavailable, match="apt-get install tesseract-ocr-xyz"):
        find_tessdata("vie+xyz")


def test_searchable_pdf_text_layer_lies_on_the_words(engine, tmp_path):
    image = _text_image()
    rec = engine.recognize(image, dpi=300)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=80)
    out = tmp_path / "x.pdf"
    with open(out, "wb") as f:
        searchable_pdf([PdfPage(buf.getvalue(), image.shape[1], image.shape[0], 300, rec.words)],
                       f, title="test")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert fold(text).split() == fold("\n".join(LINES)).split()
    # The word "AN" is found where it is on the image: pdftotext's bounding boxes (points).
    bbox = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    an = next(w for w in rec.words if w.text == "AN")
    line = next(line for line in bbox.splitlines() if ">AN<" in line)
    x_min = float(line.split('xMin="')[1].split('"')[0])
    assert abs(x_min - an.box[0] * 72 / 300) < 2.0
