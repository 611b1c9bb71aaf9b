"""The re-reading engine: which lines it reads again, what it keeps, where the boxes go.
The second recogniser here is a stand-in returning set text (the real one is exercised by
tests/integration/test_lines.py)."""

import numpy as np

from ocr.engine import Recognized, Word
from ocr.reread import RereadingEngine, bad_words


class Tess:
    version = "t"

    def __init__(self, words):
        self.words = words

    def recognize(self, image, *, dpi, local_threshold=False):
        return Recognized("", tuple(self.words), 80.0, "")


class Reader:
    version = "r"

    def __init__(self, text):
        self.text, self.calls = text, 0

    def read(self, grey):
        self.calls += 1
        return self.text, 0.97


IMAGE = np.full((200, 600), 255, np.uint8)


def _line(texts, conf=95.0, line=0):
    return [Word(t, conf, (10 + 60 * i, 20 + 50 * line, 60 + 60 * i, 40 + 50 * line), line, 0)
            for i, t in enumerate(texts)]


def test_bad_words_counts_impossible_syllables_but_not_acronyms_or_numbers():
    assert bad_words("Họ và tên NGUYỄN VĂN AN 001087012345 UBND 696/XNTTHN") == 0
    assert bad_words("Ho va ten NGUYEN VAN AN") == 1
    assert bad_words("Ngu0i chết") == 1
    assert bad_words("NGỜKỸ TRCHLC") == 1  # marked capitals are no acronym; TRCHLC could be


def test_a_good_line_is_not_read_again():
    reader = Reader("x")
    out = RereadingEngine(Tess(_line(["Họ", "và", "tên"])), reader).recognize(IMAGE, dpi=300)
    assert reader.calls == 0 and [w.text for w in out.words] == ["Họ", "và", "tên"]


def test_a_weak_line_takes_the_better_reading_with_tesseracts_boxes():
    words = _line(["NGUYEN", "VAN", "AN"])
    out = RereadingEngine(Tess(words), Reader("NGUYỄN VĂN AN")).recognize(IMAGE, dpi=300)
    assert out.text == "NGUYỄN VĂN AN"
    assert [w.box for w in out.words] == [w.box for w in words]
    assert "NGUYỄN" in out.hocr


def test_a_worse_second_reading_is_refused():
    words = _line(["Họ", "tên"], conf=40.0)  # low confidence: read again
    out = RereadingEngine(Tess(words), Reader("Hq tcn")).recognize(IMAGE, dpi=300)
    assert [w.text for w in out.words] == ["Họ", "tên"]


def test_another_word_count_shares_the_line_box_in_order():
    words = _line(["Ngu0i", "đãchết"])
    out = RereadingEngine(Tess(words), Reader("Người đã chết")).recognize(IMAGE, dpi=300)
    boxes = [w.box for w in out.words]
    assert [w.text for w in out.words] == ["Người", "đã", "chết"]
    assert boxes[0][0] == 10 and boxes[-1][2] == 120
    assert all(a[2] <= b[0] for a, b in zip(boxes, boxes[1:], strict=False))


def test_a_second_reading_that_lost_text_is_refused():
    # a line under a seal: Tesseract's reading keeps most of the text, the second loses half
    words = _line(["SO:", "242", "Quyển", "số;", "nh", "ÁU"], conf=60.0)
    out = RereadingEngine(Tess(words), Reader("số 22 au")).recognize(IMAGE, dpi=300)
    assert [w.text for w in out.words] == ["SO:", "242", "Quyển", "số;", "nh", "ÁU"]


def test_a_signature_is_dropped_but_a_line_either_reader_reads_is_kept():
    signature = _line(["T52."], conf=34.0, line=1)
    name = _line(["Vũ", "Công", "Cường"], line=2)
    out = RereadingEngine(Tess(signature + name), Reader("_//Y")).recognize(IMAGE, dpi=300)
    assert out.text == "Vũ Công Cường"
    # Tesseract read noise, the second reader a name: kept
    out = RereadingEngine(Tess(signature + name), Reader("Ngô Bá")).recognize(IMAGE, dpi=300)
    assert out.text.splitlines()[0] == "Ngô Bá"
