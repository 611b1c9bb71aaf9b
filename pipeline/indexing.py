"""What the search index holds for a document, and keeping it equal to the catalogue.

``index_pages`` is the one place a catalogue document (with clerks' corrections laid over it)
becomes index pages: used at ingest, after a correction, and by ``sohoa reindex``. The names
its fields give (``name``, ``subject_name``, every ``*_name``, the entries') go to the pages
that hold them, and rank those pages first for a search of the name.
``compare`` walks the catalogue and the index in order, in constant memory, and reports
every page that is in one and not the other.

A damaged index (``search.index.IndexDamaged``) never costs a document: ``index_upsert`` and
``index_delete`` (ingest, a page's completion, a discarded document, a clerk's correction)
skip the index with a warning saying to run ``sohoa reindex``, which rebuilds it from the
catalogue, the document included. A search on it raises ``IndexDamaged`` below (exit 6,
HTTP 503, code ``index_damaged``); ``index_problems`` is what ``sohoa check-index`` reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.errors import BackendUnavailable
from pipeline.runtime import Runtime
from search.folding import folded_tokens
from search.index import IndexDamaged as SearchIndexDamaged
from search.index import IndexedPage
from storage.catalogue import CorrectionRecord, DocumentRecord

log = logging.getLogger(__name__)


class IndexDamaged(BackendUnavailable):
    """The search index's files are damaged: searching cannot work until ``sohoa reindex``
    rebuilds it (exit 6, HTTP 503); a retry cannot help. Nothing else is affected."""

    code = "index_damaged"
    retryable = False


_warned: weakref.WeakSet = weakref.WeakSet()  # indexes whose damage was told already


def _told(index) -> bool:
    """Whether this index's damage was told already (and from now on, it is)."""
    try:
        if index in _warned:
            return True
        _warned.add(index)
    except TypeError:  # an index that cannot be weakly referenced: told every time
        pass
    return False


def _skipped(rt: Runtime, exc: SearchIndexDamaged, document_id: str, what: str) -> None:
    """Say once per index, as a warning, that it is damaged and what to do; later skips
    are logged (-v)."""
    if _told(rt.index):
        log.info("document %s: %s (the search index is damaged)", document_id, what)
        return
    log.warning("document %s is stored and catalogued, but %s: %s. Until then searches do "
                "not work; `sohoa reindex` indexes every catalogued document, this one "
                "included", document_id, what, exc)


def index_upsert(rt: Runtime, pages: Iterable[IndexedPage]) -> int:
    """Write a document's pages to the index; pages written. A damaged index is skipped
    with a warning (the document is in the catalogue, which ``sohoa reindex`` reads)."""
    pages = list(pages)
    try:
        written = rt.index.upsert(pages)
    except SearchIndexDamaged as exc:
        _skipped(rt, exc, pages[0].document_id if pages else "?", "it was not indexed")
        return 0
    if _warned:  # sound again (rebuilt): a new damage is told again
        with contextlib.suppress(TypeError):
            _warned.discard(rt.index)
    return written


def index_delete(rt: Runtime, document_id: str) -> int:
    """Remove a document's pages from the index; pages removed. A damaged index is skipped
    with a warning (``sohoa reindex`` leaves out what the catalogue does not hold)."""
    try:
        return rt.index.delete_document(document_id)
    except SearchIndexDamaged as exc:
        _skipped(rt, exc, document_id, "its pages could not be removed from the index")
        return 0


def index_problems(rt: Runtime) -> list[str]:
    """What is wrong with the index's own files (a backend that keeps none here, such as
    Elasticsearch, reports nothing); empty when it is sound. Reads the whole index."""
    check = getattr(rt.index, "check", None)
    return list(check()) if check is not None else []

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


def is_name(key: str) -> bool:
    """A field holding a person's name: ``name``, ``subject_name``, ``mother_name``…"""
    return key == "name" or key.endswith("_name")


def person_names(fields: dict) -> tuple[str, ...]:
    """The people a document's fields name, its register entries' included, once each."""
    found = [v for k, v in fields.items() if is_name(k) and isinstance(v, str)]
    for e in fields.get("entries") or []:
        if isinstance(e, dict):
            found += [v for k, v in e.items() if is_name(k) and isinstance(v, str)]
    return tuple(dict.fromkeys(" ".join(v.split()) for v in found if v.strip()))


def page_names(names: tuple[str, ...], texts: list[str]) -> list[tuple[str, ...]]:
    """Each page's share of the names: a name goes to the pages whose text holds it (folded,
    word for word), or to the first page when none does (a name a clerk corrected), so a
    register's page ranks for its own entries, not for every entry of the book."""
    if len(texts) <= 1:
        return [names] * len(texts)
    pages = [f" {' '.join(folded_tokens(t))} " for t in texts]
    shares: list[list[str]] = [[] for _ in texts]
    for name in names:
        key = f" {' '.join(folded_tokens(name))} "
        holders = [i for i, page in enumerate(pages) if key in page] or [0]
        for i in holders:
            shares[i].append(name)
    return [tuple(share) for share in shares]


def with_names(text: str, names: tuple[str, ...]) -> str:
    """A page's text as indexed: what was read, and below it the names the record gives that
    the text does not hold (keyed by hand from a handwritten page, or corrected by a clerk),
    so that every word of them is found."""
    folded = f" {' '.join(folded_tokens(text or ''))} "
    extra = [n for n in names if f" {' '.join(folded_tokens(n))} " not in folded]
    return "\n".join([text or "", *extra]) if extra else text


def index_pages(doc_id: str, doc_type: str, fields: dict, dossier_code: str | None,
                created_at: dt.datetime | None, pages: Iterable) -> list[IndexedPage]:
    """A document's pages (anything with ``number`` and ``text``) as the index holds them;
    ``fields`` are plain values, corrections laid over."""
    fields = fields or {}
    pages = list(pages)
    authority = fields.get("issuing_authority")
    scanned = created_at.date().isoformat() if created_at else None
    texts = [p.text if getattr(p, "index_text", None) is None else p.index_text
             for p in pages]  # never what was "read" from handwriting
    names = page_names(person_names(fields), texts)
    return [IndexedPage(doc_id, p.number, with_names(texts[i], names[i]), doc_type, dossier_code,
                        personal_ids(fields), event_date(doc_type, fields), scanned,
                        authority if isinstance(authority, str) else None, names[i])
            for i, p in enumerate(pages)]


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
        elif c.field.startswith("entries."):  # "entries.3.subject_name": one entry's field
            _, index, attr = c.field.split(".", 2)
            entries = [dict(e) for e in fields.get("entries") or []]
            if int(index) == len(entries):  # an entry the machine did not find
                entries.append({})
            if int(index) < len(entries):
                entries[int(index)][attr] = c.new_value
            fields["entries"] = entries
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
