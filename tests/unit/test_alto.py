"""ALTO 4 of a page (ocr/alto.py) is valid against the ALTO 4.2 schema kept in ocr/schemas
(nothing downloaded), says what the words said where they were, and marks handwriting."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from lxml import etree

from ocr.alto import HANDWRITTEN, NS, SCHEMA, Provenance, Software, validate, words_to_alto
from ocr.engine import Word

A = f"{{{NS}}}"
TESSERACT = Provenance(Software("Tesseract", "5.5.4", settings="5.5.4 vie psm 6"),
                       Software("sohoa", "0.1.0"))
# two blocks; XML's special characters, Vietnamese marks, đ, a control character
WORDS = (
    Word("Họ,", 91.0, (100, 80, 160, 110), 0, 0), Word("chữ", 88.4, (170, 80, 230, 110), 0, 0),
    Word("đệm:", 75.0, (240, 80, 320, 110), 0, 0),
    Word("ĐỖ", 96.0, (100, 130, 150, 160), 1, 0), Word("<THỊ>", 64.2, (160, 130, 250, 160), 1, 0),
    Word('"Lê"&\'Lễ\'', 51.0, (260, 130, 400, 160), 1, 0),
    Word("Số\x0c:", 12.5, (100, 300, 170, 330), 2, 1), Word("123/2024", 100.0, (180, 300, 300, 330), 2, 1),
)


def parse(xml: str):
    return etree.fromstring(xml.encode("utf-8"))


def alto(words=WORDS, **kw) -> str:
    kw = {"width": 1240, "height": 1754, "page_number": 3, "image_name": "0003.jpg",
          "provenance": TESSERACT, "document_id": "abcdef0123456789", "confidence": 80.5,
          **kw}
    return words_to_alto(words, **kw)


def test_a_page_of_vietnamese_with_xml_special_characters_is_valid_alto():
    xml = alto()
    assert validate(xml) == []
    root = parse(xml)
    assert root.get("SCHEMAVERSION") == "4.2"
    assert root.findtext(f"{A}Description/{A}MeasurementUnit") == "pixel"
    assert root.findtext(f"{A}Description/{A}sourceImageInformation/{A}fileName") == "0003.jpg"
    ocr = root.find(f"{A}Description/{A}OCRProcessing")
    soft = ocr.find(f"{A}ocrProcessingStep/{A}processingSoftware")
    assert soft.findtext(f"{A}softwareName") == "Tesseract"
    assert soft.findtext(f"{A}softwareVersion") == "5.5.4"
    assert ocr.findtext(f"{A}preProcessingStep/{A}processingSoftware/{A}softwareName") == "sohoa"
    page = root.find(f"{A}Layout/{A}Page")
    assert (page.get("WIDTH"), page.get("HEIGHT"), page.get("PHYSICAL_IMG_NR")) == \
        ("1240", "1754", "3")
    assert page.get("PC") == "0.805"
    space = page.find(f"{A}PrintSpace")
    assert [space.get(k) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")] == \
        ["100", "80", "300", "250"]


def test_every_word_keeps_its_text_box_and_confidence_in_reading_order():
    root = parse(alto())
    strings = root.findall(f".//{A}String")
    # the control character XML 1.0 cannot hold is dropped, everything else kept exactly
    assert [s.get("CONTENT") for s in strings] == [
        "Họ,", "chữ", "đệm:", "ĐỖ", "<THỊ>", '"Lê"&\'Lễ\'', "Số:", "123/2024"]
    first = strings[0]
    assert [first.get(k) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT", "WC")] == \
        ["100", "80", "60", "30", "0.91"]
    assert [s.get("WC") for s in strings][-2:] == ["0.12", "1.00"]
    assert len({s.get("ID") for s in strings}) == len(strings)


def test_lines_and_blocks_follow_the_engine_with_a_space_between_words():
    root = parse(alto())
    blocks = root.findall(f".//{A}TextBlock")
    assert [len(b.findall(f"{A}TextLine")) for b in blocks] == [2, 1]
    lines = root.findall(f".//{A}TextLine")
    assert [len(ln.findall(f"{A}String")) for ln in lines] == [3, 3, 2]
    assert [len(ln.findall(f"{A}SP")) for ln in lines] == [2, 2, 1]
    first = lines[0]
    assert [etree.QName(e).localname for e in first] == ["String", "SP", "String", "SP", "String"]
    sp = first.find(f"{A}SP")
    assert (sp.get("HPOS"), sp.get("WIDTH")) == ("160", "10")  # the gap between the words
    assert [blocks[1].get(k) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")] == \
        ["100", "300", "200", "30"]


def test_an_empty_page_is_valid_alto_with_no_text():
    xml = alto(words=(), confidence=0.0)
    assert validate(xml) == []
    root = parse(xml)
    assert root.find(f".//{A}PrintSpace") is not None
    assert root.findall(f".//{A}TextBlock") == [] and root.find(f"{A}Tags") is None
    # words of blanks only are no words
    assert validate(alto(words=(Word(" ", 10.0, (1, 1, 2, 2), 0, 0),))) == []


def test_handwritten_regions_are_tagged_unreliable():
    xml = alto(handwritten=[(90, 290, 320, 340)])  # the third line, the second block
    assert validate(xml) == []
    root = parse(xml)
    tag = root.find(f"{A}Tags/{A}OtherTag")
    assert tag.get("ID") == HANDWRITTEN and tag.get("LABEL") == "handwritten"
    assert "unreliable" in tag.get("DESCRIPTION")
    tagged = [s.get("CONTENT") for s in root.iter(f"{A}String") if s.get("TAGREFS")]
    assert tagged == ["Số:", "123/2024"]
    blocks = root.findall(f".//{A}TextBlock")
    assert [b.get("TAGREFS") for b in blocks] == [None, HANDWRITTEN]
    assert [ln.get("TAGREFS") for ln in root.iter(f"{A}TextLine")] == [None, None, HANDWRITTEN]
    # the engine's confidence is kept as it was: the tag says what it is worth
    assert [s.get("WC") for s in root.iter(f"{A}String")][-2:] == ["0.12", "1.00"]


def test_a_line_half_handwritten_tags_only_its_handwritten_words():
    root = parse(alto(handwritten=[(155, 125, 410, 165)]))  # "<THỊ>" and the next word
    assert [s.get("CONTENT") for s in root.iter(f"{A}String") if s.get("TAGREFS")] == \
        ["<THỊ>", '"Lê"&\'Lễ\'']
    assert all(e.get("TAGREFS") is None for e in root.iter(f"{A}TextLine", f"{A}TextBlock"))


def test_a_handwritten_page_tags_everything():
    root = parse(alto(handwritten=True))
    assert all(s.get("TAGREFS") == HANDWRITTEN for s in root.iter(f"{A}String"))
    assert all(b.get("TAGREFS") == HANDWRITTEN for b in root.iter(f"{A}TextBlock"))


def test_the_schema_is_kept_here_and_rejects_what_is_not_alto():
    text = SCHEMA.read_text(encoding="utf-8")
    assert 'schemaLocation="xlink.xsd"' in text and "http://www.loc.gov/standards/xlink" not in text
    assert (SCHEMA.parent / "xlink.xsd").is_file()
    bad = alto().replace('WC="0.91"', 'WC="1.5"')
    assert any("WC" in e for e in validate(bad))
    assert validate(alto().replace(' CONTENT="chữ"', "")) != []
    assert validate("<alto") != []


def test_the_pipeline_makes_alto_for_ocr_and_text_layer_pages():
    from pipeline.page import TEXT_LAYER, make_alto

    xml = make_alto(document_id="d1", number=1, words=WORDS, width=1240, height=1754,
                    image_ext="png", engine="tesseract+asterocr",
                    engine_version="5.5.4 vie psm 6 + asterocr 1.0.2", confidence=70.0,
                    script="mixed", script_regions=[
                        {"box": [90, 290, 320, 340], "label": "handwritten", "score": 0.9},
                        {"box": [0, 0, 1240, 200], "label": "printed", "score": 0.8}])
    assert validate(xml) == []
    root = parse(xml)
    assert root.findtext(f".//{A}fileName") == "0001.png"
    step = root.find(f".//{A}ocrProcessingStep")
    assert step.findtext(f"{A}processingSoftware/{A}softwareVersion") == "5.5.4"
    assert "asterocr 1.0.2" in step.findtext(f"{A}processingStepSettings")
    assert [s.get("CONTENT") for s in root.iter(f"{A}String") if s.get("TAGREFS")] == \
        ["Số:", "123/2024"]
    layer = parse(make_alto(document_id="d1", number=2, words=WORDS[:2], width=10, height=10,
                            image_ext="jpg", engine=TEXT_LAYER))
    assert layer.findtext(f".//{A}ocrProcessingStep//{A}softwareName") == "pdftotext"
    assert layer.find(f".//{A}preProcessingStep") is None


class _Store:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get(self, key: str) -> bytes:
        return self.objects[key]


def test_a_page_stored_before_alto_was_kept_gets_it_from_its_words():
    from pipeline.present import page_alto

    rt = SimpleNamespace(store=_Store({"pages/d1/0001.words.json": json.dumps(
        [w.to_dict() for w in WORDS], ensure_ascii=False).encode()}))
    old = SimpleNamespace(number=1, alto_key=None, words_key="pages/d1/0001.words.json",
                          image_key="pages/d1/0001.jpg", width=1240, height=1754,
                          text_source="ocr", ocr_confidence=77.0, script="handwritten",
                          script_regions=[])
    xml = page_alto(rt, "d1", old)
    assert validate(xml) == []
    root = parse(xml.decode())
    assert len(root.findall(f".//{A}String")) == len(WORDS)
    assert all(s.get("TAGREFS") == HANDWRITTEN for s in root.iter(f"{A}String"))
    step = root.find(f".//{A}ocrProcessingStep")
    assert step.find(f".//{A}softwareVersion") is None  # not recorded then: not made up
    assert "not recorded" in step.findtext(f"{A}processingStepDescription")
    stored = SimpleNamespace(alto_key="pages/d1/0001.alto.xml")
    rt.store.objects["pages/d1/0001.alto.xml"] = b"<alto/>"
    assert page_alto(rt, "d1", stored) == b"<alto/>"  # a kept object is served as kept


@pytest.mark.parametrize("name", ["Tesseract", "tesseract+asterocr", "faulty"])
def test_any_engine_name_gives_valid_alto(name):
    from pipeline.page import provenance

    xml = words_to_alto(WORDS, width=1240, height=1754, image_name="0001.jpg",
                        provenance=provenance(name.lower(), "test"))
    assert validate(xml) == []
