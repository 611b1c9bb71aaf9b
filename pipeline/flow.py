"""The flow both executors share: admit a file, store a page, quarantine, complete a document.

The local process pool (pipeline.local) and the Celery workers (pipeline.queue, run by
workers/tasks.py) call these same functions; only where the page stage runs differs.

For each file: hash it; a file whose content is already a finished document is a duplicate;
validate it (a bad file is quarantined with its reason and the batch goes on); store the
original content-addressed and record the document as ``processing``. Each finished page is
written to the object store and the catalogue as it arrives. When a document's last page is
in, it is classified, its fields shaped, indexed, marked done and filed under its dossier.
A document left ``processing`` by an interrupted run is redone, not duplicated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ocr.engine import EngineFailed as OcrFailed
from ocr.engine import EngineUnavailable
from pipeline import records
from pipeline.classify import Classification, classify_document
from pipeline.dossiers import link_document
from pipeline.errors import BadInput, SohoaError, WorkerCrashed
from pipeline.fields import shape
from pipeline.indexing import index_delete, index_pages, index_upsert
from pipeline.intake import Source, hash_file, inspect, special_file
from pipeline.model import Document, Page, PageText, records_from_dicts, records_to_dicts
from pipeline.runtime import Runtime
from search.index import SearchUnavailable
from storage.catalogue import DocumentRecord, PageRecord, RejectionRecord
from storage.errors import ObjectMissing, StorageError
from storage.objects import sharded

log = logging.getLogger(__name__)


@dataclass
class FileReport:
    file: str
    status: str  # done | duplicate | rejected | queued (| processing, inside a run)
    document_id: str | None = None
    pages: int = 0
    error: dict | None = None
    sha256: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        out = {"file": self.file, "status": self.status, "document_id": self.document_id,
               "pages": self.pages, "error": self.error, "sha256": self.sha256}
        if self.note:
            out["note"] = self.note
        return out


def document_id(sha256: str) -> str:
    return sha256[:16]


def page_key(doc_id: str, number: int, ext: str) -> str:
    return f"pages/{doc_id}/{number:04d}.{ext}"


def repaired_key(sha256: str) -> str:
    """Where the repaired copy of a damaged PDF is kept for the workers to read."""
    return f"repairs/{sha256}.pdf"


_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._") or "file"
    return cleaned[:200]


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and files under folders named (recursively, sorted, hidden ones skipped;
    a linked folder is followed once). A folder that cannot be read, or a link to a folder
    read already (a loop), is yielded itself, so that it is reported, not skipped."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        unreadable: list[Path] = []
        found: list[Path] = []
        seen = {os.path.realpath(path)}  # folders read: a link back to one is a loop
        on_error = unreadable.append
        for folder, dirs, files in os.walk(path, followlinks=True, onerror=lambda e,
                                           add=on_error: add(Path(e.filename))):
            kept = []
            for d in sorted(d for d in dirs if not d.startswith(".")):
                real = os.path.realpath(os.path.join(folder, d))
                if real in seen:  # a linked folder read already: reported, not read again
                    unreadable.append(Path(folder, d))
                else:
                    seen.add(real)
                    kept.append(d)
            dirs[:] = kept
            found += [Path(folder, f) for f in files if not f.startswith(".")]
        yield from sorted(found)
        yield from sorted(unreadable)


# ------------------------------------------------------------------------------ errors
_SYSTEM = (EngineUnavailable, StorageError, SearchUnavailable, OSError)


def page_error(number: int, exc: BaseException, *, system_stops: bool = True) -> BadInput:
    """The one place a page's failure becomes the file's rejection (BadInput with a code).
    A failure of the system rather than of the page (a missing dependency, a backend down)
    is raised again when ``system_stops``: the local run stops; the workers retry it."""
    if isinstance(exc, BadInput):
        return BadInput(f"page {number}: {exc.message}", code=exc.code)
    if isinstance(exc, WorkerCrashed):
        return BadInput(f"page {number}: {exc}",
                        code="page_timeout" if exc.timed_out else "engine_crash")
    if isinstance(exc, OcrFailed):
        return BadInput(f"page {number}: {exc}", code="ocr_failed")
    system = isinstance(exc, _SYSTEM) or (isinstance(exc, SohoaError)
                                          and type(exc) is not SohoaError)
    if system and system_stops:
        raise exc
    log.error("page %d failed", number, exc_info=exc)
    message = exc.message if isinstance(exc, SohoaError) else f"{type(exc).__name__}: {exc}"
    return BadInput(f"page {number} could not be processed: {message}", code="page_failed")


# -------------------------------------------------------------------------- quarantine
def quarantine(rt: Runtime, *, sha256: str, filename: str, display: str, err: SohoaError,
               source: Path | None = None, stored: str | None = None) -> str:
    """Keep the file as it was sent under quarantine/<sha256>/file/, with reason.json beside
    it: copied from ``source``, or from the stored original when the source is gone. Records
    the rejection; returns where its copy (or, failing any copy, its reason) is."""
    base = f"quarantine/{sha256}"
    key: str | None = f"{base}/file/{safe_name(filename)}"
    try:
        if source is None:
            raise OSError("no source file")
        rt.store.put_file(key, source)
    except (OSError, StorageError):
        try:
            if stored is None:
                raise ObjectMissing("no stored copy") from None
            rt.store.copy(stored, key)
        except StorageError:
            key = None
    rt.store.put(f"{base}/reason.json", json.dumps(
        {"file": display, "sha256": sha256, **err.to_dict(),
         "copy": key or "none: the file could no longer be read"},
        ensure_ascii=False, indent=1).encode())
    kept = key or f"{base}/reason.json"
    rt.catalogue.record_rejection(RejectionRecord(
        sha256=sha256, filename=filename, source_path=display, code=err.code,
        message=err.message, quarantine_key=kept))
    records.save_rejection_record(rt, sha256)
    return kept


def discard_document(rt: Runtime, doc_id: str, sha256: str) -> None:
    """Remove every object and row derived from a rejected document (its original is in
    quarantine by now), including what an earlier interrupted attempt left."""
    for key in [*rt.store.keys(f"pages/{doc_id}"), sharded("originals", sha256),
                repaired_key(sha256)]:
        rt.store.delete(key)
    index_delete(rt, doc_id)
    rt.catalogue.remove_document(doc_id)
    records.delete_record(rt, doc_id)


def clear_quarantine(rt: Runtime, sha256: str) -> None:
    """A file rejected before and processed now: its rejection and quarantined copy go."""
    if rt.catalogue.clear_rejection(sha256) is not None:
        for key in list(rt.store.keys(f"quarantine/{sha256}")):
            rt.store.delete(key)
        records.delete_rejection_record(rt, sha256)
    rt.store.delete(repaired_key(sha256))


# ----------------------------------------------------------------------------- intake
class Intake:
    """Admitting the files of one run: each file is reported once (done, duplicate, queued
    or rejected), a copy met while its twin is still processing gets the twin's outcome."""

    def __init__(self, rt: Runtime, *, on_report: Callable[[FileReport], None] | None = None,
                 work_dir: Path) -> None:
        self.rt = rt
        self.on_report = on_report or (lambda report: None)
        self.work_dir = work_dir  # scratch: repaired copies of damaged PDFs
        self.reports: list[FileReport] = []
        self._seen: dict[str, FileReport] = {}
        self._waiting: dict[str, list[str]] = {}  # sha256 -> copies met while it processes

    def report(self, report: FileReport) -> FileReport:
        self.reports.append(report)
        self.on_report(report)
        if report.sha256 and report.status != "duplicate":
            self._seen[report.sha256] = report
            self._settle(report.sha256)
        return report

    def reject(self, path: Path, display: str, sha256: str | None, err: SohoaError,
               pages: int = 0, *, stored: str | None = None) -> FileReport:
        if sha256 is not None:
            quarantine(self.rt, sha256=sha256, filename=path.name, display=display, err=err,
                       source=path, stored=stored)
        log.info("rejected %s: %s (%s)", display, err.message, err.code)
        return self.report(FileReport(display, "rejected", None, pages, err.to_dict(), sha256))

    def _settle(self, sha256: str) -> None:
        final = self._seen[sha256]
        if final.status == "processing":
            return
        for display in self._waiting.pop(sha256, []):
            if final.status == "rejected":
                self.report(FileReport(display, "rejected", None, 0, final.error, sha256))
            else:
                self.report(FileReport(display, "duplicate", final.document_id, final.pages,
                                       None, sha256))

    def _refuse(self, display: str, message: str, code: str) -> None:
        self.report(FileReport(display, "rejected", error=BadInput(message, code=code)
                               .to_dict()))

    def admit(self, path: Path) -> Source | None:
        """Hash and check one file. A duplicate or a rejected file is reported and None
        returned; otherwise the original is stored (and checked to be the content that was
        hashed), the document recorded as processing, and its Source returned."""
        display = str(path)
        if path.is_dir():  # an unreadable folder, or a link back to one read (see expand)
            if path.is_symlink() and os.access(path, os.R_OK | os.X_OK):
                return self._refuse(display, "a link to a folder that was read already (a "
                                    "loop, or two links to one folder): skipped, its files "
                                    "are ingested once", "folder_link_loop")
            return self._refuse(display, "the folder cannot be read (permissions?): its "
                                "files were not ingested", "unreadable_folder")
        if not path.exists():
            return self._refuse(display, "no such file or folder", "missing_file")
        if kind := special_file(path):  # opening a FIFO would wait for a writer forever
            return self._refuse(display, f"{kind}, not a file: it was not opened; copy the "
                                "scan into a regular file", "not_a_file")
        try:
            sha256, size = hash_file(path)
        except OSError as exc:
            return self._refuse(display, f"the file cannot be read: {exc.strerror or exc}",
                                "unreadable_file")
        if self._known(display, sha256):
            return None
        try:
            source = inspect(path, sha256=sha256, size=size,
                             max_pixels=self.rt.settings.max_pixels, work_dir=self.work_dir)
        except BadInput as err:
            self.reject(path, display, sha256, err)
            return None
        except (OSError, ValueError, RuntimeError, EOFError) as exc:  # a reader gave up
            self.reject(path, display, sha256, BadInput(
                f"the file could not be read: {exc}", code="unreadable_content"))
            return None
        return self._store_original(path, display, source)

    def _known(self, display: str, sha256: str) -> bool:
        """Whether the content was met earlier in this run or is a finished document."""
        first = self._seen.get(sha256)
        if first is not None:
            if first.status == "processing":
                self._waiting.setdefault(sha256, []).append(display)
            elif first.status == "rejected":
                self.report(FileReport(display, "rejected", None, 0, first.error, sha256))
            else:
                self.report(FileReport(display, "duplicate", first.document_id, first.pages,
                                       None, sha256))
            return True
        existing = self.rt.catalogue.document_by_sha(sha256)
        if existing is not None and existing.status != "processing":  # done or in review
            self._seen[sha256] = self.report(FileReport(
                display, "duplicate", existing.id, existing.page_count, None, sha256))
            return True
        return False

    def _store_original(self, path: Path, display: str, source: Source) -> Source | None:
        sha256 = source.sha256
        original = sharded("originals", sha256)
        self.rt.store.put_file(original, path)
        if self.rt.store.sha256(original) != sha256:
            self.rt.store.delete(original)
            self.reject(path, display, sha256, BadInput(
                "the file changed while it was being read (still being written or copied?): "
                "ingest it again once it is complete", code="file_changed"))
            return None
        # Pages are read from the stored copy (the content that was hashed), or from the
        # repaired copy of a damaged PDF; from the source only when the store is remote.
        stored = self.rt.store.local_path(original)
        if source.read_path is None and stored is not None:
            source = replace(source, read_path=stored)
        self.rt.catalogue.start_document(DocumentRecord(
            id=document_id(sha256), sha256=sha256, filename=path.name, source_path=display,
            media_type=source.media_type, size=source.size, original_key=original,
            page_count=source.page_count, note=source.note))
        self._seen[sha256] = FileReport(display, "processing", document_id(sha256),
                                        source.page_count, None, sha256, source.note)
        return source


# ------------------------------------------------------------------------------- pages
def store_page(rt: Runtime, page: Page) -> list[str]:
    """Write one finished page (image, text, hOCR, ALTO, words) to the object store, then its
    row (each object's SHA-256, the fields read on it, its scan quality) to the catalogue.
    Idempotent: writing it again replaces the same keys and row. Returns the keys written."""
    doc_id, n = page.document_id, page.number
    blobs = {"image": (page.image_ext, page.image), "text": ("txt", page.text.encode()),
             "hocr": ("hocr", page.hocr.encode()), "alto": ("alto.xml", page.alto.encode()),
             "words": ("words.json", json.dumps(page.words_dicts(),
                                                ensure_ascii=False).encode())}
    keys = {role: page_key(doc_id, n, ext) for role, (ext, _) in blobs.items()}
    for role, (_, data) in blobs.items():
        rt.store.put(keys[role], data)
    rt.catalogue.save_page(PageRecord(
        document_id=doc_id, number=n, width=page.width, height=page.height, dpi=page.dpi,
        skew_angle=page.skew_angle, rotation=page.rotation,
        rotation_confidence=page.rotation_confidence, ocr_confidence=page.ocr_confidence,
        text=page.text, image_key=keys["image"], text_key=keys["text"],
        hocr_key=keys["hocr"], words_key=keys["words"], text_source=page.text_source,
        needs_review=page.needs_review, rotation_method=page.rotation_method,
        hashes={role: hashlib.sha256(data).hexdigest() for role, (_, data) in blobs.items()},
        codes=list(page.codes), fields=records_to_dicts(list(page.records)),
        script=page.script, script_regions=list(page.script_regions),
        index_text=page.index_text, alto_key=keys.get("alto"), **page.scan_columns()))
    return list(keys.values())


def stored_pages(record: DocumentRecord) -> list[PageText]:
    """What completing needs of pages stored by other processes (the catalogue's rows)."""
    return [PageText(p.number, p.text, tuple(records_from_dicts(p.fields)), tuple(p.codes),
                     p.needs_review, p.script, p.index_text)
            for p in sorted(record.pages, key=lambda p: p.number)]


# ---------------------------------------------------------------------------- complete
def review_reasons(result: Classification, pages_to_review: Sequence[int],
                   settings) -> list[str]:
    """Why a clerk should look at a document (none: it is done)."""
    reasons = []
    if result.confidence < settings.type_review_confidence:
        reasons.append(f"type {result.type} at confidence {result.confidence:.2f}, below "
                       f"{settings.type_review_confidence:.2f}")
    if "disagrees" in result.method:
        reasons.append("the title reads as another type")
    if pages_to_review:
        reasons.append(f"poorly read page{'s' if len(pages_to_review) > 1 else ''} "
                       f"{', '.join(map(str, sorted(pages_to_review)))} (low OCR confidence or "
                       f"words that cannot be Vietnamese)")
    return reasons


def read_document(doc_id: str, pages: Sequence[PageText], model,
                  created_at: dt.datetime | None = None) -> tuple[Document, Classification]:
    """Classify a document from its pages and shape its fields by type."""
    texts = [p.text for p in pages]
    result = classify_document(texts, model)
    fields = shape(result.type, [list(p.records) for p in pages], texts)
    return Document(doc_id, tuple(pages), result.type, result.confidence,
                    f"{result.method} {model.version}" if model else "rules", fields,
                    created_at), result


def complete(rt: Runtime, record: DocumentRecord, pages: Sequence[PageText], model) -> str:
    """Classify a document whose pages are all stored, shape its fields, index it, mark it
    done (or for review) and file it under its dossier. Index first, then mark done: a crash
    in between leaves it processing, and it is redone (the index upserts by page). Returns
    the status."""
    pages = sorted(pages, key=lambda p: p.number)
    doc, result = read_document(record.id, pages, model, record.created_at)
    reasons = review_reasons(result, [p.number for p in pages if p.needs_review], rt.settings)
    index_upsert(rt, index_pages(doc.id, doc.type, doc.values, doc.dossier_code,
                                 doc.created_at, doc.pages))
    status = "needs_review" if reasons else "done"
    rt.catalogue.finish_document(
        doc.id, type=doc.type, type_confidence=doc.type_confidence, fields=doc.values,
        dossier_code=doc.dossier_code, page_count=len(pages), field_details=doc.details,
        classified_by=doc.classified_by, status=status, review_reasons=reasons)
    link_document(rt, replace(record, type=doc.type, fields=doc.values,
                              dossier_code=doc.dossier_code, status=status),
                  tuple(c for p in pages for c in p.codes))
    handwritten = [p.number for p in pages if p.script != "printed"]
    if handwritten:  # what no machine reads is keyed by hand (pipeline/keying.py)
        rt.catalogue.add_keying_task(doc.id, created_by="sohoa", prefill={
            k: doc.values[k] for k in ("book_number", "issuing_authority", "dossier_code")
            if isinstance(doc.values.get(k), str)})
    records.save_record(rt, doc.id)  # what the catalogue now knows of it, beside its objects
    clear_quarantine(rt, record.sha256)
    return status
