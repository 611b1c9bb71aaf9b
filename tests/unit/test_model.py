"""The document tree goes to a dict and back unchanged, and gives its lines and fields."""

import datetime as dt
import json

from ocr.engine import Word
from pipeline.model import Document, FieldValue, Page, PageText

WORDS = (Word("Họ", 91.0, (10, 10, 40, 30), 0, 0), Word("tên:", 88.5, (45, 10, 90, 30), 0, 0),
         Word("NGUYỄN", 75.0, (10, 40, 80, 60), 1, 0), Word("VĂN", 80.0, (85, 40, 120, 60), 1, 0))
NAME = FieldValue("NGUYỄN VĂN", 0.71, 1, (10, 40, 120, 60))


def _page() -> Page:
    return Page("d1", 1, b"jpeg bytes", "jpg", 1240, 1754, 150, -2.4, 90, 0.9, 83.6,
                "Họ tên:\nNGUYỄN VĂN", "<hocr/>", WORDS, rotation_method="layout",
                needs_review=False, records=({"name": NAME},), codes=("000.00.01.H26-230313-0042",))


def test_a_page_round_trips_through_json_and_keeps_its_lines():
    page = _page()
    again = Page.from_dict(json.loads(json.dumps(page.to_dict())), image=page.image)
    assert again == page
    assert [line.text for line in page.lines] == ["Họ tên:", "NGUYỄN VĂN"]
    assert page.lines[1].box == (10, 40, 120, 60)


def test_a_document_round_trips_and_gives_plain_values_and_details():
    doc = Document("d1", (_page().summary(), PageText(2, "trang hai")), "birth_certificate",
                   0.93, "model v1", {"subject_name": NAME, "entries": [{"name": NAME}]},
                   dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC))
    again = Document.from_dict(json.loads(json.dumps(doc.to_dict())))
    assert again == doc
    assert doc.values == {"subject_name": "NGUYỄN VĂN", "entries": [{"name": "NGUYỄN VĂN"}]}
    assert doc.details["subject_name"] == {"value": "NGUYỄN VĂN", "confidence": 0.71,
                                           "page": 1, "box": [10, 40, 120, 60]}
    assert doc.dossier_code is None
