"""The document tree: document → page → line → word, with the field values read from it.

One shape from the worker to the index. A page task returns a ``Page``; the flow stores it
(objects and a catalogue row), completes the ``Document`` from its pages (type, fields) and
indexes that — what the worker produced is what is stored and indexed, never re-read or
re-extracted. hOCR, ALTO, the words file and the searchable PDF are views of it. Every node
goes to and from a plain dict (JSON-safe but for a page's image bytes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ocr.engine import Word, lines_of
from ocr.resolution import ScanQuality

__all__ = ["Document", "FieldValue", "Line", "Page", "Word"]


@dataclass(frozen=True, slots=True)
class FieldValue:
    value: object
    confidence: float
    page: int
    box: tuple[int, int, int, int] | None  # x0, y0, x1, y1 on the stored page image

    def to_dict(self) -> dict:
        return {"value": self.value, "confidence": round(self.confidence, 3),
                "page": self.page, "box": list(self.box) if self.box else None}

    @classmethod
    def from_dict(cls, d: dict) -> FieldValue:
        box = d.get("box")
        return cls(d["value"], d["confidence"], d["page"], tuple(box) if box else None)


Record = dict[str, FieldValue]  # the fields of one person or entry found on a page


def records_to_dicts(records: list[Record]) -> list[dict]:
    return [{k: v.to_dict() for k, v in r.items()} for r in records]


def records_from_dicts(records: list[dict]) -> list[Record]:
    return [{k: FieldValue.from_dict(v) for k, v in r.items()} for r in records]


def values(fields: dict) -> dict:
    """Plain name → value of shaped fields (entries as lists of such maps)."""
    return {k: ([{ek: ev.value for ek, ev in e.items()} for e in v] if k == "entries"
                else v.value) for k, v in fields.items()}


def details(fields: dict) -> dict:
    """Name → {value, confidence, page, box} (entries as lists of such maps)."""
    return {k: (records_to_dicts(v) if k == "entries" else v.to_dict())
            for k, v in fields.items()}


@dataclass(frozen=True, slots=True)
class Line:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (min(w.box[0] for w in self.words), min(w.box[1] for w in self.words),
                max(w.box[2] for w in self.words), max(w.box[3] for w in self.words))


@dataclass(frozen=True, slots=True)
class Page:
    """One page as the page stage produced it: its straightened image and what was read."""

    document_id: str
    number: int  # 1-based
    image: bytes  # the upright, straightened page
    image_ext: str  # "jpg" | "png"
    width: int
    height: int
    dpi: int
    skew_angle: float
    rotation: int
    rotation_confidence: float
    ocr_confidence: float
    text: str
    hocr: str
    words: tuple[Word, ...]
    text_source: str = "ocr"  # "ocr" | "text_layer" (the PDF page's own text, kept)
    rotation_method: str = "none"  # "layout" | "osd" | "none"
    needs_review: bool = False  # OCR confidence below the review threshold
    records: tuple[Record, ...] = ()  # fields found on the page, one record per person/entry
    codes: tuple[str, ...] = ()  # what the QR codes and barcodes on the page say
    script: str = "printed"  # "printed" | "handwritten" | "mixed" (ocr/script.py)
    script_regions: tuple[dict, ...] = ()  # {"box", "label", "score"} of each region
    index_text: str | None = None  # what search may hold of the text (None: all of it)
    alto: str = ""  # ALTO 4 XML of the words (ocr/alto.py)
    scan: ScanQuality | None = None  # resolution and colour depth as sent, and their flags

    @property
    def lines(self) -> list[Line]:
        return [Line(ws) for ws in lines_of(self.words)]

    def words_dicts(self) -> list[dict]:
        return [w.to_dict() for w in self.words]

    def scan_columns(self) -> dict:
        """The scan as sent, as the catalogue's page columns (all None when not known)."""
        q = self.scan
        return {"declared_dpi": q and q.declared_dpi, "content_dpi": q and q.content_dpi,
                "effective_dpi": q and q.effective_dpi, "dpi_source": q and q.dpi_source,
                "colour_bits": q and q.colour_bits, "colour_mode": q and q.colour_mode,
                "scan_flags": list(q.flags) if q else []}

    def to_dict(self) -> dict:
        """Everything but the image bytes."""
        return {"document_id": self.document_id, "number": self.number,
                "image_ext": self.image_ext, "width": self.width, "height": self.height,
                "dpi": self.dpi, "skew_angle": self.skew_angle, "rotation": self.rotation,
                "rotation_confidence": self.rotation_confidence,
                "rotation_method": self.rotation_method,
                "ocr_confidence": self.ocr_confidence, "text": self.text, "hocr": self.hocr,
                "words": self.words_dicts(), "text_source": self.text_source,
                "needs_review": self.needs_review,
                "records": records_to_dicts(list(self.records)), "codes": list(self.codes),
                "script": self.script, "script_regions": list(self.script_regions),
                "index_text": self.index_text, "alto": self.alto,
                "scan": self.scan.to_dict() if self.scan else None}

    @classmethod
    def from_dict(cls, d: dict, image: bytes = b"") -> Page:
        return cls(d["document_id"], d["number"], image, d["image_ext"], d["width"],
                   d["height"], d["dpi"], d["skew_angle"], d["rotation"],
                   d["rotation_confidence"], d["ocr_confidence"], d["text"], d["hocr"],
                   tuple(Word.from_dict(w) for w in d["words"]), d["text_source"],
                   d["rotation_method"], d["needs_review"],
                   tuple(records_from_dicts(d["records"])), tuple(d["codes"]),
                   d.get("script", "printed"), tuple(d.get("script_regions") or ()),
                   d.get("index_text"), d.get("alto", ""),
                   ScanQuality.from_dict(d["scan"]) if d.get("scan") else None)

    def summary(self) -> PageText:
        """What completing the document needs of this page, without image or words."""
        return PageText(self.number, self.text, self.records, self.codes, self.needs_review,
                        self.script, self.index_text)


@dataclass(frozen=True, slots=True)
class PageText:
    """What completing and indexing a document need of a stored page (no image, no words):
    the catalogue gives this back for pages done by other processes."""

    number: int
    text: str
    records: tuple[Record, ...] = ()
    codes: tuple[str, ...] = ()
    needs_review: bool = False
    script: str = "printed"
    index_text: str | None = None  # None: all of ``text``

    def to_dict(self) -> dict:
        return {"number": self.number, "text": self.text,
                "records": records_to_dicts(list(self.records)), "codes": list(self.codes),
                "needs_review": self.needs_review, "script": self.script,
                "index_text": self.index_text}

    @classmethod
    def from_dict(cls, d: dict) -> PageText:
        return cls(d["number"], d["text"], tuple(records_from_dicts(d["records"])),
                   tuple(d["codes"]), d["needs_review"], d.get("script", "printed"),
                   d.get("index_text"))


@dataclass(frozen=True, slots=True)
class Document:
    """A document as read: its pages, type and fields (shaped by type, with confidence,
    page and box)."""

    id: str
    pages: tuple[PageText, ...]
    type: str = "unknown"
    type_confidence: float = 0.0
    classified_by: str = ""
    fields: dict = field(default_factory=dict)  # name → FieldValue; "entries": [Record]
    created_at: dt.datetime | None = None

    @property
    def values(self) -> dict:
        return values(self.fields)

    @property
    def details(self) -> dict:
        return details(self.fields)

    @property
    def dossier_code(self) -> str | None:
        code = self.fields.get("dossier_code")
        return code.value if code is not None else None

    def to_dict(self) -> dict:
        return {"id": self.id, "type": self.type, "type_confidence": self.type_confidence,
                "classified_by": self.classified_by, "fields": self.details,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "pages": [p.to_dict() for p in self.pages]}

    @classmethod
    def from_dict(cls, d: dict) -> Document:
        fields = {k: (records_from_dicts(v) if k == "entries" else FieldValue.from_dict(v))
                  for k, v in d["fields"].items()}
        created = dt.datetime.fromisoformat(d["created_at"]) if d.get("created_at") else None
        return cls(d["id"], tuple(PageText.from_dict(p) for p in d["pages"]), d["type"],
                   d["type_confidence"], d["classified_by"], fields, created)
