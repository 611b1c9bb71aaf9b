"""The second recogniser on rendered Vietnamese lines, with its bundled model (nothing is
fetched), and the re-reading engine made by the runtime's factory."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr.lines import AsterLineReader, pieces

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"


def render(text: str, size: int = 42) -> np.ndarray:
    font = ImageFont.truetype(FONT, size)
    x0, y0, x1, y1 = font.getbbox(text)
    img = Image.new("L", (x1 + 40, y1 + 30), 255)
    ImageDraw.Draw(img).text((20, 15), text, font=font, fill=0)
    return np.asarray(img)


@pytest.fixture(scope="module")
def reader():
    return AsterLineReader()


@pytest.mark.parametrize("text", ["NGUYỄN THỊ ĐẶNG", "Giấy khai sinh", "Quận Đống Đa, Hà Nội"])
def test_vietnamese_lines_are_read_with_their_marks(reader, text):
    got, prob = reader.read(render(text))
    assert got == text and 0.5 < prob <= 1.0


def test_a_long_line_is_cut_at_word_gaps_and_read_whole(reader):
    text = ("Họ, chữ đệm, tên người đã chết: Hồ Văn Hùng, sinh ngày 12/03/1937, "
            "nơi cư trú cuối cùng: phường Tràng Tiền, quận Hoàn Kiếm")
    crop = render(text)
    assert len(pieces(crop, 512, 1.5)) > 1  # it would not fit the model in one piece
    got, _ = reader.read(crop)
    from rapidfuzz.distance import Levenshtein

    # the model slips on a tone now and then (ế read as ể): at most 2 of 118 characters
    assert Levenshtein.distance(got.replace(";", ":"), text) <= 2


def test_the_factory_makes_the_rereading_engine():
    from ocr.reread import RereadingEngine
    from pipeline.runtime import EngineSpec, check_engine, open_engine

    spec = EngineSpec("tesseract+asterocr", "vie", None, 6)
    check_engine(spec)
    engine = open_engine(spec)
    assert isinstance(engine, RereadingEngine) and "asterocr" in engine.version
    engine.close()
