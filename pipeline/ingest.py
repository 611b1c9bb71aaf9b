"""Ingest: files in, records out.

For each file: hash it; a file whose content is already a finished document is a duplicate;
validate it (a bad file is quarantined with its reason and the batch goes on); store the
original content-addressed; then its pages run on the executor, and each finished page is
written to the object store and the catalogue as it arrives, so memory stays flat in the
number of pages. When a document's last page is in, it is classified and indexed and marked
done. A document left ``processing`` by an interrupted run is redone, not duplicated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ocr.engine import EngineFailed as OcrFailed
from ocr.engine import find_tessdata
from pipeline.classify import Classification, classify_document
from pipeline.doctype import load_model
from pipeline.dossiers import link_document
from pipeline.errors import BadInput, DependencyMissing, SohoaError, translate
from pipeline.executor import EngineOptions, LocalExecutor, WorkerCrashed, WorkerInitFailed
from pipeline.fields import FieldValue, details, shape, values
from pipeline.indexing import index_pages
from pipeline.intake import Source, hash_file, inspect, quick_page_count
from pipeline.pages import PageOutput, PageTask
from pipeline.runtime import Runtime
from storage.catalogue import DocumentRecord, PageRecord, RejectionRecord
from storage.errors import ObjectMissing, StorageError
from storage.objects import sharded

log = logging.getLogger(__name__)


@dataclass
class FileReport:
    file: str
    status: str  # done | duplicate | rejected
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


class Progress(Protocol):
    def add_total(self, pages: int) -> None: ...

    def advance(self, pages: int = 1) -> None: ...


class _NoProgress:
    def add_total(self, pages: int) -> None:
        pass

    def advance(self, pages: int = 1) -> None:
        pass


@dataclass
class _Doc:
    source: Source
    display: str
    outstanding: int
    texts: dict[int, str] = field(default_factory=dict)
    records: dict[int, list[dict]] = field(default_factory=dict)
    pages_to_review: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # QR/barcode payloads found on its pages
    error: SohoaError | None = None


def review_reasons(result: Classification, pages_to_review: list[int], settings) -> list[str]:
    """Why a clerk should look at a document (none: it is done)."""
    reasons = []
    if result.confidence < settings.type_review_confidence:
        reasons.append(f"type {result.type} at confidence {result.confidence:.2f}, below "
                       f"{settings.type_review_confidence:.2f}")
    if "disagrees" in result.method:
        reasons.append("the title reads as another type")
    if pages_to_review:
        reasons.append(f"low OCR confidence on page{'s' if len(pages_to_review) > 1 else ''} "
                       f"{', '.join(map(str, sorted(pages_to_review)))}")
    return reasons


def document_id(sha256: str) -> str:
    return sha256[:16]


def page_key(doc_id: str, number: int, ext: str) -> str:
    return f"pages/{doc_id}/{number:04d}.{ext}"


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and files under folders named (recursively, sorted, hidden ones skipped).
    A folder that cannot be read is yielded itself, so that it is reported, not skipped."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        unreadable: list[Path] = []
        found: list[Path] = []
        on_error = unreadable.append
        for folder, dirs, files in os.walk(path, onerror=lambda e, add=on_error: add(
                Path(e.filename))):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [Path(folder, f) for f in files if not f.startswith(".")]
        yield from sorted(found)
        yield from sorted(unreadable)


def check_engine(options: EngineOptions) -> None:
    """Fail before any work when Tesseract or its models are missing."""
    try:
        import tesserocr  # noqa: F401

        tessdata = find_tessdata(options.languages,
                                 Path(options.tessdata) if options.tessdata else None)
        find_tessdata("osd", tessdata)
    except ImportError as exc:
        raise DependencyMissing(f"tesserocr is not installed ({exc}): pip install tesserocr") from exc
    except Exception as exc:
        raise translate(exc) from exc


_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._") or "file"
    return cleaned[:200]


def store_page(rt: Runtime, out: PageOutput) -> list[str]:
    """Write one finished page: its image, text, hOCR and words to the object store, then its
    row (with each object's SHA-256) to the catalogue. Idempotent: writing it again replaces
    the same keys and row. Returns the keys written."""
    doc_id, n = out.document_id, out.number
    keys = {
        "image": page_key(doc_id, n, out.image_ext),
        "text": page_key(doc_id, n, "txt"),
        "hocr": page_key(doc_id, n, "hocr"),
        "words": page_key(doc_id, n, "words.json"),
    }
    blobs = {"image": out.image, "text": out.text.encode("utf-8"),
             "hocr": out.hocr.encode("utf-8"),
             "words": json.dumps(out.words, ensure_ascii=False).encode("utf-8")}
    for role, data in blobs.items():
        rt.store.put(keys[role], data)
    rt.catalogue.save_page(PageRecord(
        document_id=doc_id, number=n, width=out.width, height=out.height, dpi=out.dpi,
        skew_angle=out.skew_angle, rotation=out.rotation,
        rotation_confidence=out.rotation_confidence, ocr_confidence=out.ocr_confidence,
        text=out.text, image_key=keys["image"], text_key=keys["text"],
        hocr_key=keys["hocr"], words_key=keys["words"], text_source=out.text_source,
        needs_review=out.needs_review, rotation_method=out.rotation_method,
        hashes={role: hashlib.sha256(data).hexdigest() for role, data in blobs.items()},
        codes=list(out.codes)))
    return list(keys.values())


def complete_document(rt: Runtime, doc_id: str, model, *, texts: list[str],
                      records: list[list[dict]], codes: list[str],
                      pages_to_review: list[int]) -> str:
    """Classify a document whose pages are all stored, read its fields, index it, mark it
    done (or for review) and file it under its dossier. Index first, then mark done: a crash
    in between leaves it processing, and it is redone (the index upserts by page). Returns
    the status."""
    result = classify_document(texts, model)
    shaped = shape(result.type, [[{k: FieldValue(**v) for k, v in r.items()} for r in page]
                                 for page in records], texts)
    plain = values(shaped)
    code = plain.get("dossier_code")
    reasons = review_reasons(result, pages_to_review, rt.settings)
    record = rt.catalogue.get_document(doc_id)
    rt.index.upsert(index_pages(replace(record, type=result.type, fields=plain,
                                        dossier_code=code)))
    status = "needs_review" if reasons else "done"
    rt.catalogue.finish_document(
        doc_id, type=result.type, type_confidence=result.confidence, fields=plain,
        dossier_code=code, page_count=len(texts), field_details=details(shaped),
        classified_by=f"{result.method} {model.version}" if model else "rules",
        status=status, review_reasons=reasons)
    link_document(rt, rt.catalogue.get_document(doc_id), tuple(codes))
    return status


class Ingestion:
    def __init__(self, runtime: Runtime, *, on_report: Callable[[FileReport], None] | None = None,
                 progress: Progress | None = None, workers: int | None = None) -> None:
        self.rt = runtime
        self.on_report = on_report or (lambda report: None)
        self.progress = progress or _NoProgress()
        s = runtime.settings
        self.options = EngineOptions(s.languages, str(s.tessdata) if s.tessdata else None, s.psm)
        self.workers = workers or s.worker_count
        self.reports: list[FileReport] = []
        self.work_dir = s.home / "work"  # scratch: repaired copies, removed when done
        self.model = load_model(s.home)
        self._docs: dict[str, _Doc] = {}
        self._seen: dict[str, FileReport] = {}
        self._waiting: dict[str, list[str]] = {}  # sha256 -> copies met while it processes

    # -------------------------------------------------------------------------- reporting
    def _report(self, report: FileReport) -> None:
        self.reports.append(report)
        self.on_report(report)

    def _quarantine(self, path: Path, sha256: str, display: str, err: SohoaError, *,
                    stored: str | None = None) -> str | None:
        """Keep the file as it was sent under quarantine/<sha256>/file/, with reason.json
        beside it: copied from the source, or from the stored original when the source is
        gone. Returns the copy's key (None when no copy could be made, which reason.json
        then says)."""
        base = f"quarantine/{sha256}"
        key: str | None = f"{base}/file/{safe_name(path.name)}"
        try:
            self.rt.store.put_file(key, path)
        except (OSError, StorageError):
            try:
                if stored is None:
                    raise ObjectMissing("no stored copy")
                self.rt.store.copy(stored, key)
            except StorageError:
                key = None
        self.rt.store.put(f"{base}/reason.json", json.dumps(
            {"file": display, "sha256": sha256, **err.to_dict(),
             "copy": key or "none: the file could no longer be read"},
            ensure_ascii=False, indent=1).encode())
        self.rt.catalogue.record_rejection(RejectionRecord(
            sha256=sha256, filename=path.name, source_path=display, code=err.code,
            message=err.message, quarantine_key=key or f"{base}/reason.json"))
        return key

    def _reject(self, path: Path, display: str, sha256: str | None, err: SohoaError,
                pages: int = 0, *, stored: str | None = None) -> FileReport:
        if sha256 is not None:
            self._quarantine(path, sha256, display, err, stored=stored)
        report = FileReport(display, "rejected", None, pages, err.to_dict(), sha256)
        log.info("rejected %s: %s (%s)", display, err.message, err.code)
        self._report(report)
        return report

    def _settle_waiting(self, sha256: str) -> None:
        """Copies of a file met while it was still processing get its final outcome now."""
        final = self._seen[sha256]
        for display in self._waiting.pop(sha256, []):
            if final.status == "rejected":
                self._report(FileReport(display, "rejected", None, 0, final.error, sha256))
            else:
                self._report(FileReport(display, "duplicate", final.document_id, final.pages,
                                        None, sha256))

    # ------------------------------------------------------------------------------ intake
    def _tasks(self, files: list[Path]) -> Iterator[PageTask]:
        """Page tasks of every file in turn. The progress total starts from a cheap page
        count of every file and is corrected once a file's real count is known."""
        estimates = [quick_page_count(path) for path in files]
        self.progress.add_total(sum(estimates))
        for path, estimate in zip(files, estimates, strict=True):
            source = self._admit(path)
            if source is None:  # a duplicate or rejected file: nothing to run
                self.progress.advance(estimate)
                continue
            self.progress.add_total(source.page_count - estimate)
            doc_id, resolved = document_id(source.sha256), str(source.pages_path.resolve())
            for index in range(source.page_count):
                yield PageTask(doc_id, resolved, source.media_type, index,
                               self.rt.settings.max_pixels,
                               self.rt.settings.review_confidence)

    def _admit(self, path: Path) -> Source | None:
        """Hash and check one file. A duplicate or a rejected file is reported and None
        returned; otherwise the original is stored (and checked to be the content that was
        hashed), the document recorded as processing, and its Source returned."""
        display = str(path)
        if path.is_dir():  # only an unreadable folder comes here (see expand)
            self._report(FileReport(display, "rejected", error=BadInput(
                "the folder cannot be read (permissions?): its files were not ingested",
                code="unreadable_folder").to_dict()))
            return None
        if not path.exists():
            self._report(FileReport(display, "rejected", error=BadInput(
                "no such file or folder", code="missing_file").to_dict()))
            return None
        try:
            sha256, size = hash_file(path)
        except OSError as exc:
            self._report(FileReport(display, "rejected", error=BadInput(
                f"the file cannot be read: {exc.strerror or exc}",
                code="unreadable_file").to_dict()))
            return None
        first = self._seen.get(sha256)
        if first is not None:  # the same content earlier in this batch
            if first.status == "processing":
                self._waiting.setdefault(sha256, []).append(display)
            elif first.status == "rejected":
                self._report(FileReport(display, "rejected", None, 0, first.error, sha256))
            else:
                self._report(FileReport(display, "duplicate", first.document_id, first.pages,
                                        None, sha256))
            return None
        existing = self.rt.catalogue.document_by_sha(sha256)
        if existing is not None and existing.status != "processing":  # done or in review
            self._seen[sha256] = FileReport(display, "duplicate", existing.id,
                                            existing.page_count, None, sha256)
            self._report(self._seen[sha256])
            return None
        try:
            source = inspect(path, sha256=sha256, size=size,
                             max_pixels=self.rt.settings.max_pixels, work_dir=self.work_dir)
        except BadInput as err:
            self._seen[sha256] = self._reject(path, display, sha256, err)
            return None
        except (OSError, ValueError, RuntimeError, EOFError) as exc:  # a reader gave up
            err = BadInput(f"the file could not be read: {exc}", code="unreadable_content")
            self._seen[sha256] = self._reject(path, display, sha256, err)
            return None
        doc_id = document_id(sha256)
        original = sharded("originals", sha256)
        self.rt.store.put_file(original, path)
        if self.rt.store.sha256(original) != sha256:
            self.rt.store.delete(original)
            err = BadInput("the file changed while it was being read (still being written or "
                           "copied?): ingest it again once it is complete", code="file_changed")
            self._seen[sha256] = self._reject(path, display, sha256, err)
            return None
        # Pages are read from the stored copy (the content that was hashed), or from the
        # repaired copy of a damaged PDF; from the source only when the store is remote.
        stored = self.rt.store.local_path(original)
        if source.read_path is None and stored is not None:
            source = replace(source, read_path=stored)
        self.rt.catalogue.start_document(DocumentRecord(
            id=doc_id, sha256=sha256, filename=path.name, source_path=display,
            media_type=source.media_type, size=size, original_key=original,
            page_count=source.page_count, note=source.note))
        self._docs[doc_id] = _Doc(source, display, source.page_count)
        self._seen[sha256] = FileReport(display, "processing", doc_id, source.page_count,
                                        None, sha256, source.note)
        return source

    # ----------------------------------------------------------------------------- results
    def _page_error(self, number: int, exc: BaseException) -> SohoaError:
        if isinstance(exc, BadInput):
            return BadInput(f"page {number}: {exc.message}", code=exc.code)
        if isinstance(exc, WorkerCrashed):
            return BadInput(f"page {number}: {exc}",
                            code="page_timeout" if exc.timed_out else "engine_crash")
        if isinstance(exc, OcrFailed):
            return BadInput(f"page {number}: {exc}", code="ocr_failed")
        err = translate(exc)
        if isinstance(err, BadInput) or type(err) is SohoaError:
            log.error("page %d failed", number, exc_info=exc)
            return BadInput(f"page {number} could not be processed: {err.message}",
                            code="page_failed")
        raise err from exc  # the system failed (a dependency, a backend): stop the batch

    def _store_page(self, doc: _Doc, out: PageOutput) -> None:
        doc.keys += store_page(self.rt, out)
        doc.texts[out.number] = out.text
        doc.records[out.number] = out.records
        doc.codes += out.codes
        if out.needs_review:
            doc.pages_to_review.append(out.number)

    def _on_result(self, task: PageTask, outcome: PageOutput | BaseException) -> None:
        doc = self._docs[task.document_id]
        doc.outstanding -= 1
        if isinstance(outcome, BaseException):
            doc.error = doc.error or self._page_error(task.number, outcome)
        elif doc.error is None:
            self._store_page(doc, outcome)
        self.progress.advance(1)
        if doc.outstanding == 0:
            del self._docs[task.document_id]
            self._finish(task.document_id, doc)

    def _finish(self, doc_id: str, doc: _Doc) -> None:
        src = doc.source
        original = sharded("originals", src.sha256)
        if src.read_path is not None and src.read_path.parent == self.work_dir:
            src.read_path.unlink(missing_ok=True)
        if doc.error is not None:
            # Quarantine first (from the stored original if the source is gone), then clear
            # every derived object, including any left by an earlier interrupted attempt.
            self._seen[src.sha256] = self._reject(src.path, doc.display, src.sha256, doc.error,
                                                  src.page_count, stored=original)
            for key in [*self.rt.store.keys(f"pages/{doc_id}"), original]:
                self.rt.store.delete(key)
            self.rt.index.delete_document(doc_id)
            self.rt.catalogue.remove_document(doc_id)
            self._settle_waiting(src.sha256)
            return
        numbers = sorted(doc.texts)
        texts = [doc.texts[n] for n in numbers]
        complete_document(self.rt, doc_id, self.model, texts=texts,
                          records=[doc.records[n] for n in numbers], codes=doc.codes,
                          pages_to_review=doc.pages_to_review)
        if self.rt.catalogue.clear_rejection(src.sha256) is not None:
            for key in list(self.rt.store.keys(f"quarantine/{src.sha256}")):
                self.rt.store.delete(key)  # rejected before, processed now
        report = FileReport(doc.display, "done", doc_id, len(texts), None, src.sha256, src.note)
        self._seen[src.sha256] = report
        self._report(report)
        self._settle_waiting(src.sha256)

    # --------------------------------------------------------------------------------- run
    def run(self, paths: Iterable[Path]) -> list[FileReport]:
        check_engine(self.options)
        executor = LocalExecutor(workers=self.workers, options=self.options,
                                 page_timeout=self.rt.settings.page_timeout)
        try:
            executor.run(self._tasks(list(expand(paths))), self._on_result)
        except SohoaError:
            raise
        except WorkerInitFailed as exc:
            err = translate(exc.error) if exc.error is not None else SohoaError(str(exc))
            raise type(err)(str(exc), code=err.code) from exc
        except Exception as exc:
            raise translate(exc) from exc
        return self.reports


def ingest(runtime: Runtime, paths: Iterable[Path], **kwargs) -> list[FileReport]:
    return Ingestion(runtime, **kwargs).run(paths)
