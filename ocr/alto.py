"""ALTO 4 XML of one page from its words: what libraries and archives exchange OCR as.

One ``Page`` with its ``PrintSpace``; a ``TextBlock`` per block of the engine, a ``TextLine``
per line, a ``String`` per word (HPOS/VPOS/WIDTH/HEIGHT in pixels of the page image the words
were read on, WC the word's confidence 0..1, CONTENT its text) with an ``SP`` between words.
``Description`` says the unit (pixel), the image (its file name) and who made the text
(``OCRProcessing``: sohoa's preparation of the image, then the engine and its version).

Handwriting: Tesseract does not read it, so what it made of a hand is not evidence. Words in
handwritten regions (``handwritten``: boxes from ocr/script.py, or the whole page) refer by
``TAGREFS`` to an ``OtherTag`` ``ID="handwritten"`` (``TYPE="script"``, a ``DESCRIPTION``
saying the text is unreliable); so do a ``TextLine`` or ``TextBlock`` all of whose words are
handwritten. WC stays what the engine said: the tag, not a made-up confidence, carries it.

Validated against the ALTO 4.2 schema kept in ``ocr/schemas`` (no download): ``validate``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ocr.engine import Word, lines_of

NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_VERSION = "4.2"
SCHEMA_URL = "http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"
SCHEMA = Path(__file__).parent / "schemas" / "alto-4-2.xsd"
HANDWRITTEN = "handwritten"  # the OtherTag's ID
HANDWRITTEN_NOTE = ("Handwriting: the OCR engine does not read handwriting, so this text is "
                    "unreliable; such entries are keyed by hand (double keying).")

Box = tuple[int, int, int, int]
# what XML 1.0 cannot hold (control characters, lone surrogates, non-characters)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Software:
    name: str  # "Tesseract", "sohoa"
    version: str = ""  # empty: not known
    creator: str = ""
    settings: str = ""  # e.g. "vie psm 6": what someone needs to redo the step
    description: str = ""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who made the text: the engine (``ocrProcessingStep``) and what prepared the image
    for it (``preProcessingStep``, optional)."""

    engine: Software
    preparation: Software | None = None


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def _place(el: ET.Element, box: Box) -> None:
    x0, y0, x1, y1 = box
    el.set("HPOS", _num(x0))
    el.set("VPOS", _num(y0))
    el.set("WIDTH", _num(max(0, x1 - x0)))
    el.set("HEIGHT", _num(max(0, y1 - y0)))


def _union(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def in_regions(word: Word, regions: Sequence[Box]) -> bool:
    """Whether the word's centre lies in one of the regions."""
    x, y = (word.box[0] + word.box[2]) / 2, (word.box[1] + word.box[3]) / 2
    return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in regions)


def _step(parent: ET.Element, tag: str, sw: Software, category: str) -> None:
    step = ET.SubElement(parent, _q(tag))
    ET.SubElement(step, _q("processingCategory")).text = category
    if sw.description:
        ET.SubElement(step, _q("processingStepDescription")).text = _clean(sw.description)
    if sw.settings:
        ET.SubElement(step, _q("processingStepSettings")).text = _clean(sw.settings)
    soft = ET.SubElement(step, _q("processingSoftware"))
    for name, value in (("softwareCreator", sw.creator), ("softwareName", sw.name),
                        ("softwareVersion", sw.version)):
        if value:
            ET.SubElement(soft, _q(name)).text = _clean(value)


def words_to_alto(words: Sequence[Word], *, width: int, height: int, page_number: int = 1,
                  image_name: str, provenance: Provenance, document_id: str | None = None,
                  confidence: float | None = None,
                  handwritten: Sequence[Box] | bool = ()) -> str:
    """The page as ALTO 4.2 XML (a str, UTF-8 declared). ``confidence``: the page's mean
    word confidence 0..100 (``PC``); ``handwritten``: the handwritten regions' boxes, or
    True when the whole page is handwriting."""
    ET.register_namespace("", NS)
    ET.register_namespace("xsi", XSI)
    root = ET.Element(_q("alto"), {"SCHEMAVERSION": SCHEMA_VERSION,
                                   f"{{{XSI}}}schemaLocation": f"{NS} {SCHEMA_URL}"})
    desc = ET.SubElement(root, _q("Description"))
    ET.SubElement(desc, _q("MeasurementUnit")).text = "pixel"
    source = ET.SubElement(desc, _q("sourceImageInformation"))
    ET.SubElement(source, _q("fileName")).text = _clean(image_name)
    if document_id:
        ident = ET.SubElement(source, _q("documentIdentifier"),
                              {"documentIdentifierLocation": "sohoa"})
        ident.text = _clean(document_id)
    ocr = ET.SubElement(desc, _q("OCRProcessing"), {"ID": "ocr_1"})
    if provenance.preparation is not None:
        _step(ocr, "preProcessingStep", provenance.preparation, "preOperation")
    _step(ocr, "ocrProcessingStep", provenance.engine, "contentGeneration")

    words = [w for w in words if _clean(w.text).strip()]

    def in_hand(w: Word) -> bool:
        return handwritten is True or (bool(handwritten) and in_regions(w, handwritten))

    if any(in_hand(w) for w in words):
        tags = ET.SubElement(root, _q("Tags"))
        ET.SubElement(tags, _q("OtherTag"), {"ID": HANDWRITTEN, "TYPE": "script",
                                             "LABEL": "handwritten",
                                             "DESCRIPTION": HANDWRITTEN_NOTE})

    layout = ET.SubElement(root, _q("Layout"))
    page = ET.SubElement(layout, _q("Page"), {
        "ID": f"page_{page_number}", "PHYSICAL_IMG_NR": str(page_number),
        "WIDTH": str(int(width)), "HEIGHT": str(int(height)), "PROCESSING": "ocr_1"})
    if confidence is not None:
        page.set("PC", f"{min(1.0, max(0.0, confidence / 100)):.3f}")
    space = ET.SubElement(page, _q("PrintSpace"), {"ID": f"printspace_{page_number}"})
    _place(space, _union([w.box for w in words]) if words else (0, 0, width, height))

    blocks: list[list[tuple[Word, ...]]] = []
    for line in lines_of(words):
        if not blocks or blocks[-1][-1][0].block != line[0].block:
            blocks.append([])
        blocks[-1].append(line)
    n_line = n_word = 0
    for b, lines in enumerate(blocks, 1):
        block = ET.SubElement(space, _q("TextBlock"), {"ID": f"p{page_number}_block_{b}"})
        _place(block, _union([w.box for ln in lines for w in ln]))
        if all(in_hand(w) for ln in lines for w in ln):
            block.set("TAGREFS", HANDWRITTEN)
        for line in lines:
            n_line += 1
            el = ET.SubElement(block, _q("TextLine"), {"ID": f"p{page_number}_line_{n_line}"})
            _place(el, _union([w.box for w in line]))
            if all(in_hand(w) for w in line):
                el.set("TAGREFS", HANDWRITTEN)
            for i, w in enumerate(line):
                n_word += 1
                s = ET.SubElement(el, _q("String"), {"ID": f"p{page_number}_word_{n_word}"})
                _place(s, w.box)
                s.set("WC", f"{min(1.0, max(0.0, w.confidence / 100)):.2f}")
                s.set("CONTENT", _clean(w.text))
                if in_hand(w):
                    s.set("TAGREFS", HANDWRITTEN)
                if i + 1 < len(line):
                    gap = ET.SubElement(el, _q("SP"))
                    nxt = line[i + 1]
                    gap.set("HPOS", _num(w.box[2]))
                    gap.set("VPOS", _num(min(w.box[1], nxt.box[1])))
                    gap.set("WIDTH", _num(max(0, nxt.box[0] - w.box[2])))
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


@lru_cache(maxsize=1)
def _schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def validate(xml: str | bytes) -> list[str]:
    """What makes ``xml`` invalid ALTO 4.2 (empty when it is valid), by the schema kept in
    ocr/schemas (nothing is downloaded)."""
    from lxml import etree

    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        doc = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False,
                                                            no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = _schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
