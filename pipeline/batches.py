"""Batches on the queue: intake here, pages on the workers (workers/tasks.py), status, retry,
and the sweep that re-sends work whose worker vanished.

Intake runs where the files are (``sohoa ingest --queue``): each file is hashed, checked,
stored and recorded exactly as by the local executor; then one page job per page is written
to the catalogue and one message per page sent. The catalogue's page jobs, not the broker,
are the record of what is left to do: a lost message or a dead worker is found by the sweep
and its page sent again; a page that is sent twice is done once (the page task is
idempotent, and a finished page is skipped).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import NotFound, SohoaError
from pipeline.ingest import (
    FileReport,
    Ingestion,
    complete_document,
    document_id,
    expand,
    hash_file,
    safe_name,
)
from pipeline.runtime import Runtime
from storage.catalogue import RejectionRecord

log = logging.getLogger(__name__)
TERMINAL = ("done", "failed", "quarantined", "cancelled")


def repaired_key(sha256: str) -> str:
    """Where the repaired copy of a damaged PDF is kept for the workers to read."""
    return f"repairs/{sha256}.pdf"


# ----------------------------------------------------------------------------- intake
class QueueIngestion(Ingestion):
    """Intake of a batch for the workers: ``send(document_id, page)`` queues one page."""

    def __init__(self, runtime: Runtime, send: Callable[[str, int], None], *,
                 batch_id: str | None = None, created_by: str = "sohoa", **kwargs) -> None:
        super().__init__(runtime, **kwargs)
        self.send = send
        self.batch_id = batch_id or uuid.uuid4().hex[:12]
        if not runtime.catalogue.batch_exists(self.batch_id):
            runtime.catalogue.create_batch(self.batch_id, created_by)

    def queue(self, paths: Iterable[Path]) -> list[FileReport]:
        cat = self.rt.catalogue
        for path in expand(paths):
            display = str(path)
            try:  # a document already on the queue is not reset under its workers
                sha = hash_file(path)[0] if path.is_file() else None
            except OSError:
                sha = None
            if sha and cat.page_jobs(document_id=document_id(sha)) and (
                    (doc := cat.document_by_sha(sha)) is not None
                    and doc.status == "processing"):
                report = FileReport(display, "duplicate", doc.id, doc.page_count, None, sha,
                                    "already on the queue")
                self._report(report)
                cat.add_batch_file(self.batch_id, display, sha256=sha, document_id=doc.id,
                                   state="duplicate")
                continue
            before = len(self.reports)
            source = self._admit(path)
            if source is None:
                for r in self.reports[before:]:
                    cat.add_batch_file(self.batch_id, r.file, sha256=r.sha256,
                                       document_id=r.document_id,
                                       state="rejected" if r.status == "rejected"
                                       else "duplicate", error=r.error)
                continue
            doc_id = document_id(source.sha256)
            if source.read_path is not None and source.read_path.parent == self.work_dir:
                self.rt.store.put_file(repaired_key(source.sha256), source.read_path)
                source.read_path.unlink(missing_ok=True)
            self._docs.pop(doc_id, None)
            cat.add_batch_file(self.batch_id, display, sha256=source.sha256,
                               document_id=doc_id, state="queued")
            cat.add_page_jobs(self.batch_id, doc_id, source.page_count)
            for n in range(1, source.page_count + 1):
                self.send(doc_id, n)
            report = FileReport(display, "queued", doc_id, source.page_count, None,
                                source.sha256, source.note)
            self._seen[source.sha256] = report
            self._report(report)
        return self.reports


# ------------------------------------------------------------------------ on a worker
@contextmanager
def page_source(rt: Runtime, doc) -> Iterable[Path]:
    """A local file to read the document's pages from: the stored original in place when
    the store is a folder, else a downloaded copy (of the repaired PDF when there is one)."""
    key = repaired_key(doc.sha256) if rt.store.exists(repaired_key(doc.sha256)) \
        else doc.original_key
    local = rt.store.local_path(key)
    if local is not None and local.is_file():
        yield local
        return
    with tempfile.TemporaryDirectory(prefix="sohoa-page-") as tmp:
        path = Path(tmp) / ("source" + Path(doc.filename).suffix.lower())
        path.write_bytes(rt.store.get(key))
        yield path


def reject_document(rt: Runtime, doc_id: str, err: SohoaError) -> None:
    """A page could not be done: the file is rejected as a whole, as by the local executor
    (its original kept in quarantine with the reason, its derived objects removed)."""
    doc = rt.catalogue.get_document(doc_id)
    rt.catalogue.cancel_page_jobs(doc_id, err.message)
    rt.catalogue.set_batch_file_state(doc_id, "rejected", err.to_dict())
    if doc is None:
        return
    base = f"quarantine/{doc.sha256}"
    key = f"{base}/file/{safe_name(doc.filename)}"
    rt.store.copy(doc.original_key, key)
    rt.store.put(f"{base}/reason.json", json.dumps(
        {"file": doc.source_path, "sha256": doc.sha256, **err.to_dict(), "copy": key},
        ensure_ascii=False, indent=1).encode())
    rt.catalogue.record_rejection(RejectionRecord(
        sha256=doc.sha256, filename=doc.filename, source_path=doc.source_path, code=err.code,
        message=err.message, quarantine_key=key))
    for k in [*rt.store.keys(f"pages/{doc_id}"), doc.original_key,
              repaired_key(doc.sha256)]:
        rt.store.delete(k)
    rt.index.delete_document(doc_id)
    rt.catalogue.remove_document(doc_id)


def finish_document(rt: Runtime, doc_id: str, model) -> str | None:
    """Classify, index and file a document whose pages are all done; nothing when it is
    finished already (the finish may be sent more than once). Returns its status."""
    from ocr.engine import Word
    from pipeline.pages import _records

    doc = rt.catalogue.get_document(doc_id)
    if doc is None or doc.status != "processing":
        return None
    jobs = rt.catalogue.page_jobs(document_id=doc_id)
    if not jobs or any(j["state"] != "done" for j in jobs):
        return None
    pages = sorted(doc.pages, key=lambda p: p.number)
    records = [_records([Word.from_dict(w) for w in json.loads(rt.store.get(p.words_key))],
                        p.number) for p in pages]
    status = complete_document(
        rt, doc_id, model, texts=[p.text for p in pages], records=records,
        codes=[c for p in pages for c in p.codes],
        pages_to_review=[p.number for p in pages if p.needs_review])
    rt.catalogue.set_batch_file_state(doc_id, "done", None)
    if rt.catalogue.clear_rejection(doc.sha256) is not None:
        for key in list(rt.store.keys(f"quarantine/{doc.sha256}")):
            rt.store.delete(key)
    rt.store.delete(repaired_key(doc.sha256))
    return status


# ------------------------------------------------------------------------------ status
@dataclass
class BatchStatus:
    batch_id: str
    pages: dict[str, int]
    files: dict[str, int]
    pages_per_minute: float
    eta_minutes: float | None
    rejected: list[dict]

    @property
    def total(self) -> int:
        return sum(self.pages.values())

    @property
    def finished(self) -> bool:
        """Every page ended and every document finished (classified, indexed)."""
        return all(state in TERMINAL for state in self.pages if self.pages[state]) and \
            not self.files.get("queued")

    def to_dict(self) -> dict:
        return {"batch": self.batch_id, "pages": self.pages, "files": self.files,
                "pages_per_minute": round(self.pages_per_minute, 1),
                "eta_minutes": None if self.eta_minutes is None else round(self.eta_minutes, 1),
                "finished": self.finished, "rejected": self.rejected}


def batch_status(rt: Runtime, batch_id: str, window_minutes: float = 5.0) -> BatchStatus:
    if not rt.catalogue.batch_exists(batch_id):
        raise NotFound(f"no batch {batch_id}")
    raw = rt.catalogue.batch_summary(batch_id, dt.timedelta(minutes=window_minutes))
    pages = {s: raw["pages"].get(s, 0) for s in ("queued", "running", "done", "failed",
                                                  "quarantined", "cancelled")}
    minutes = window_minutes
    first = raw["first_done_at"]
    if first is not None:  # a batch younger than the window: rate over its own life
        if first.tzinfo is None:
            first = first.replace(tzinfo=dt.UTC)
        age = (dt.datetime.now(dt.UTC) - first).total_seconds() / 60
        minutes = max(min(window_minutes, age), 0.25)
    rate = raw["recent_done"] / minutes
    left = pages["queued"] + pages["running"]
    eta = (left / rate) if rate > 0 and left else (0.0 if not left else None)
    return BatchStatus(batch_id, pages, raw["files"], rate, eta, raw["rejected"])


def retry_batch(rt: Runtime, batch_id: str, send: Callable[[str, int], None]) -> int:
    """Send again every page of the batch still queued or running (after an outage outlasted
    the retries, say). Failed and quarantined pages are not retried: their files are in
    quarantine, to be ingested again once fixed."""
    if not rt.catalogue.batch_exists(batch_id):
        raise NotFound(f"no batch {batch_id}")
    n = 0
    for job in rt.catalogue.page_jobs(batch_id=batch_id, states=("queued", "running")):
        rt.catalogue.touch_page_job(job["document_id"], job["number"])
        send(job["document_id"], job["number"])
        n += 1
    return n


def sweep(rt: Runtime, send_page: Callable[[str, int], None],
          send_finish: Callable[[str], None], *, stale_after: float,
          queue_empty: bool) -> dict:
    """Re-send pages whose worker vanished (running for longer than ``stale_after``
    seconds) and, when the broker's queue is empty, pages queued that long (their message
    was lost); finish documents whose pages are all done but which were never finished."""
    now = dt.datetime.now(dt.UTC)
    before = now - dt.timedelta(seconds=stale_after)
    resent = 0
    for doc_id, number, _state in rt.catalogue.stale_page_jobs(
            running_before=before, queued_before=before if queue_empty else None):
        if rt.catalogue.touch_page_job(doc_id, number, older_than=before):
            send_page(doc_id, number)
            resent += 1
    finished = 0
    for doc in rt.catalogue.documents(status="processing"):
        jobs = rt.catalogue.page_jobs(document_id=doc.id)
        if jobs and all(j["state"] == "done" for j in jobs) and all(
                j["finished_at"] is not None and _aware(j["finished_at"]) < before
                for j in jobs):
            send_finish(doc.id)
            finished += 1
    return {"resent": resent, "finish_sent": finished}


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)

