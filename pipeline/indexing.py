"""What the search index holds for a document, and keeping it equal to the catalogue.

``index_pages`` is the one place a catalogue document (with clerks' corrections laid over it)
becomes index pages: used at ingest, after a correction, and by ``sohoa reindex``.
``compare`` walks the catalogue and the index in order, in constant memory, and reports
every page that is in one and not the other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.runtime import Runtime
from search.index import IndexedPage
from storage.catalogue import CorrectionRecord, DocumentRecord

# The date a record is about, by type (the first one present).
EVENT_FIELDS = {
    "birth_certificate": ("date_of_birth", "registration_date"),
    "death_certificate": ("date_of_death", "registration_date"),
    "marriage_certificate": ("registration_date",),
    "civil_status_register": ("registration_date",),
    "marital_status_confirmation": ("registration_date",),
    "household_registration": ("registration_date",),
    "dossier_receipt": ("received_date",),
    "application_form": ("signed_date",),
    "decision": ("signed_date",),
}


def event_date(doc_type: str, fields: dict) -> str | None:
    for name in EVENT_FIELDS.get(doc_type, ("registration_date", "date_of_birth")):
        value = fields.get(name)
        if isinstance(value, str) and len(value) == 10:
            return value
    entries = fields.get("entries") or []
    dates = sorted(e.get("registration_date") or e.get("date_of_birth") or ""
                   for e in entries if isinstance(e, dict))
    return next((d for d in dates if d), None)


def personal_ids(fields: dict) -> tuple[str, ...]:
    ids = [v for k, v in fields.items() if k.endswith("personal_id") and isinstance(v, str)]
    for e in fields.get("entries") or []:
        ids += [v for k, v in e.items() if k.endswith("personal_id") and isinstance(v, str)]
    return tuple(dict.fromkeys(ids))


def index_pages(doc_id: str, doc_type: str, fields: dict, dossier_code: str | None,
                created_at: dt.datetime | None, pages: Iterable) -> list[IndexedPage]:
    """A document's pages (anything with ``number`` and ``text``) as the index holds them;
    ``fields`` are plain values, corrections laid over."""
    fields = fields or {}
    authority = fields.get("issuing_authority")
    scanned = created_at.date().isoformat() if created_at else None
    return [IndexedPage(doc_id, p.number, p.text, doc_type, dossier_code,
                        personal_ids(fields), event_date(doc_type, fields), scanned,
                        authority if isinstance(authority, str) else None)
            for p in pages]


def record_pages(doc: DocumentRecord) -> list[IndexedPage]:
    """A catalogue document's pages as the index holds them (corrections laid over)."""
    return index_pages(doc.id, doc.type, doc.fields, doc.dossier_code, doc.created_at,
                       doc.pages)


def effective(doc: DocumentRecord, corrections: list[CorrectionRecord]) -> DocumentRecord:
    """The document as clerks see it: the machine's reading with the corrections laid over
    it, later corrections winning."""
    if not corrections:
        return doc
    fields = dict(doc.fields)
    doc_type = doc.type
    for c in corrections:
        if c.field == "type":
            doc_type = c.new_value
        else:
            fields[c.field] = c.new_value
    return dataclasses.replace(doc, type=doc_type, fields=fields,
                               dossier_code=fields.get("dossier_code", doc.dossier_code))


def all_index_pages(rt: Runtime) -> Iterator[IndexedPage]:
    """Every finished document's pages, by document id, one document in memory at a time."""
    for summary in rt.catalogue.documents(order="id"):
        if summary.status == "processing":
            continue
        doc = rt.catalogue.get_document(summary.id)
        if doc is None:
            continue
        yield from record_pages(effective(doc, rt.catalogue.corrections(doc.id)))


@dataclass
class Difference:
    missing: list[tuple[str, int]]  # in the catalogue, not in the index
    extra: list[tuple[str, int]]  # in the index, not in the catalogue
    catalogue: int
    index: int

    @property
    def consistent(self) -> bool:
        return not self.missing and not self.extra


def compare(rt: Runtime, *, limit: int = 1000) -> Difference:
    """Merge-walk the catalogue's pages and the index's, both sorted; lists hold at most
    ``limit`` differences each (the counts are exact)."""
    diff = Difference([], [], 0, 0)
    a, b = rt.catalogue.page_keys(), rt.index.keys()
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x < y):
            diff.catalogue += 1
            if len(diff.missing) < limit:
                diff.missing.append(x)
            x = next(a, None)
        elif x is None or y < x:
            diff.index += 1
            if len(diff.extra) < limit:
                diff.extra.append(y)
            y = next(b, None)
        else:
            diff.catalogue += 1
            diff.index += 1
            x, y = next(a, None), next(b, None)
    return diff
