"""What the catalogue takes and returns: plain frozen dataclasses, never ORM objects, so
callers cannot hold a session open by accident; and the helpers that turn rows into them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace

from storage.catalogue.rows import DocumentRow, PageRow


@dataclass(frozen=True, slots=True)
class PageRecord:
    document_id: str
    number: int
    width: int
    height: int
    dpi: int
    skew_angle: float
    rotation: int
    rotation_confidence: float
    ocr_confidence: float
    text: str
    image_key: str
    text_key: str
    hocr_key: str
    words_key: str
    text_source: str = "ocr"  # "ocr" | "text_layer"
    needs_review: bool = False
    rotation_method: str = "none"  # "layout" (text shape) | "osd" (Tesseract) | "none"
    hashes: dict = field(default_factory=dict)  # role -> SHA-256 of the stored object
    codes: list = field(default_factory=list)  # what QR codes and barcodes on it say
    script: str = "printed"  # "printed" | "handwritten" | "mixed"
    script_regions: list = field(default_factory=list)
    index_text: str | None = None  # what search may hold of the text (None: all of it)
    alto_key: str | None = None  # None: stored before ALTO was kept (migration 0009)
    # the scan as sent (ocr/resolution.py ScanQuality); None where not known
    declared_dpi: int | None = None
    content_dpi: int | None = None
    effective_dpi: int | None = None
    dpi_source: str | None = None  # "declared" | "content" | "page_size" | "none"
    colour_bits: int | None = None
    colour_mode: str | None = None  # "bilevel" | "grey" | "palette" | "colour"
    scan_flags: list = field(default_factory=list)  # "low_resolution", "not_colour", …
    fields: list = field(default_factory=list)  # the field records extracted from it (dicts)


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: str
    sha256: str
    filename: str
    source_path: str
    media_type: str
    size: int
    original_key: str
    status: str = "processing"  # processing | done
    type: str = "unknown"
    type_confidence: float = 0.0
    fields: dict = field(default_factory=dict)
    dossier_code: str | None = None
    page_count: int = 0
    field_details: dict = field(default_factory=dict)
    classified_by: str | None = None
    review_reasons: tuple[str, ...] = ()
    note: str | None = None  # what intake noticed: a repair, a misleading extension
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    pages: tuple[PageRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class CorrectionRecord:
    document_id: str
    field: str
    old_value: object
    new_value: object
    corrected_by: str
    corrected_at: dt.datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RejectionRecord:
    sha256: str
    filename: str
    source_path: str
    code: str
    message: str
    quarantine_key: str
    attempts: int = 1
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class FixityFinding:
    problem: str  # missing | changed | orphaned
    key: str
    document_id: str | None = None
    expected: str | None = None
    actual: str | None = None


@dataclass(frozen=True, slots=True)
class FixityRun:
    id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    since: dt.datetime | None
    storage_url: str
    checked: int
    missing: int
    changed: int
    orphaned: int
    findings: tuple[FixityFinding, ...] = ()


@dataclass(frozen=True, slots=True)
class DossierRecord:
    code: str
    procedure: str | None = None
    applicant_name: str | None = None
    applicant_id: str | None = None
    received_date: str | None = None
    status: str = "received"


@dataclass(frozen=True, slots=True)
class DossierLink:
    code: str
    document_id: str
    role: str  # record | result
    result_number: int | None
    linked_by: str
    actor: str
    linked_at: dt.datetime | None = None

    @property
    def result_code(self) -> str | None:
        return f"{self.code}-KQ({self.result_number})" if self.result_number else None


@dataclass(frozen=True, slots=True)
class LinkConflict:
    document_id: str | None
    codes: tuple[str, ...]
    reason: str
    source: str
    at: dt.datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class PersonRecord:
    id: int
    name: str
    folded_name: str
    personal_id: str | None = None
    date_of_birth: str | None = None
    merged_into: int | None = None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    role: str
    password_hash: str = field(repr=False, default="")
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    channel: str
    action: str
    target: str
    detail: dict = field(default_factory=dict)
    at: dt.datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CopyRecord:
    verification_code: str
    sha256: str
    document_id: str
    result_code: str | None
    channel: str
    issued_at: dt.datetime | None = None


def _user(row) -> UserRecord:
    return UserRecord(row.id, row.username, row.role, row.password_hash, row.disabled)


def _names(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _page(row: PageRow) -> PageRecord:
    values = {n: getattr(row, n) for n in _names(PageRecord)}
    values["hashes"] = dict(values["hashes"] or {})
    values["codes"] = list(values["codes"] or [])
    values["fields"] = list(values["fields"] or [])
    values["script_regions"] = list(values["script_regions"] or [])
    values["script"] = values["script"] or "printed"
    values["scan_flags"] = list(values["scan_flags"] or [])
    return PageRecord(**values)


def _document(row: DocumentRow, *, with_pages: bool) -> DocumentRecord:
    values = {n: getattr(row, n) for n in _names(DocumentRecord) if n != "pages"}
    values["fields"] = dict(values["fields"] or {})
    values["field_details"] = dict(values["field_details"] or {})
    values["review_reasons"] = tuple(values["review_reasons"] or ())
    doc = DocumentRecord(**values)
    return replace(doc, pages=tuple(_page(p) for p in row.pages)) if with_pages else doc
