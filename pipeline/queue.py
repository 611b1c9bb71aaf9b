"""Batches on the queue: intake here, pages on the Celery workers.

Intake runs where the files are (``sohoa ingest --queue``): each file is admitted exactly as
by the local executor (pipeline.flow); then one page job per page is written to the
catalogue and one message per page sent. On a worker, ``run_page_job`` runs one page with
the worker's engine and stores it, and ``finish_job`` completes the document from the pages
its workers stored — the same flow functions the local executor calls. The catalogue's page
jobs, not the broker, are the record of what is left to do (see pipeline.batches for status,
retry and the sweep); a page sent twice is done once.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline import flow
from pipeline.errors import BadInput, SohoaError, WorkerCrashed
from pipeline.flow import FileReport
from pipeline.intake import hash_file
from pipeline.model import Page
from pipeline.page import PageTask, run_page
from pipeline.records import save_record
from pipeline.runtime import Runtime


def new_batch(rt: Runtime, created_by: str, batch_id: str | None = None) -> str:
    batch_id = batch_id or uuid.uuid4().hex[:12]
    if not rt.catalogue.batch_exists(batch_id):
        rt.catalogue.create_batch(batch_id, created_by)
    return batch_id


def _on_queue(rt: Runtime, path: Path) -> FileReport | None:
    """A document of this file already on the queue is not reset under its workers."""
    try:
        sha = hash_file(path)[0] if path.is_file() else None
    except OSError:
        return None
    if not sha or not rt.catalogue.page_jobs(document_id=flow.document_id(sha)):
        return None
    doc = rt.catalogue.document_by_sha(sha)
    if doc is None or doc.status != "processing":
        return None
    return FileReport(str(path), "duplicate", doc.id, doc.page_count, None, sha,
                      "already on the queue")


def queue_files(rt: Runtime, batch_id: str, paths: Iterable[Path],
                send: Callable[[str, int], None], *,
                on_report: Callable[[FileReport], None] | None = None) -> list[FileReport]:
    """Admit each file here, record one page job per page and ``send(document_id, page)``
    each; returns a FileReport per file (status queued, duplicate or rejected)."""
    cat = rt.catalogue
    intake = flow.Intake(rt, on_report=on_report, work_dir=rt.settings.home / "work")
    for path in flow.expand(paths):
        queued = _on_queue(rt, path)
        if queued is not None:
            intake.report(queued)
            cat.add_batch_file(batch_id, queued.file, sha256=queued.sha256,
                               document_id=queued.document_id, state="duplicate")
            continue
        before = len(intake.reports)
        source = intake.admit(path)
        if source is None:
            for r in intake.reports[before:]:
                cat.add_batch_file(batch_id, r.file, sha256=r.sha256,
                                   document_id=r.document_id,
                                   state="rejected" if r.status == "rejected" else "duplicate",
                                   error=r.error)
            continue
        doc_id = flow.document_id(source.sha256)
        if source.read_path is not None and source.read_path.parent == intake.work_dir:
            rt.store.put_file(flow.repaired_key(source.sha256), source.read_path)
            source.read_path.unlink(missing_ok=True)
        cat.add_batch_file(batch_id, str(path), sha256=source.sha256, document_id=doc_id,
                           state="queued")
        cat.add_page_jobs(batch_id, doc_id, source.page_count)
        for n in range(1, source.page_count + 1):
            send(doc_id, n)
        intake.report(FileReport(str(path), "queued", doc_id, source.page_count, None,
                                 source.sha256, source.note))
    return intake.reports


# ------------------------------------------------------------------------ on a worker
@contextmanager
def page_source(rt: Runtime, doc) -> Iterator[Path]:
    """A local file to read the document's pages from: the stored original in place when
    the store is a folder, else a downloaded copy (of the repaired PDF when there is one)."""
    repaired = flow.repaired_key(doc.sha256)
    key = repaired if rt.store.exists(repaired) else doc.original_key
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
    flow.quarantine(rt, sha256=doc.sha256, filename=doc.filename, display=doc.source_path,
                    err=err, stored=doc.original_key)
    flow.discard_document(rt, doc_id, doc.sha256)


def fail_page(rt: Runtime, doc_id: str, number: int, exc: BaseException,
              state: str = "failed") -> BadInput:
    """Record a page that cannot be done and reject its file; returns the reason."""
    bad = flow.page_error(number, exc, system_stops=False)
    rt.catalogue.end_page_job(doc_id, number, state, bad.message)
    reject_document(rt, doc_id, bad)
    return bad


def run_page_job(rt: Runtime, engine, doc_id: str, number: int, *, worker: str,
                 before_page: Callable[[], None] | None = None,
                 after_page: Callable[[Page], None] | None = None) -> tuple[str, int | None]:
    """Run and store one queued page. Returns (outcome, pages left) with outcome ``done``,
    ``skipped`` (done already, or its file rejected), ``cancelled`` (no such document) or
    ``quarantined`` (it stopped its worker SOHOA_MAX_CRASHES times). Raises what the page
    stage raised: the caller sorts retryable from not (``fail_page``)."""
    s = rt.settings
    crashes = rt.catalogue.start_page_job(doc_id, number, worker)
    if crashes is None:
        return "skipped", None
    if crashes >= s.max_crashes:
        fail_page(rt, doc_id, number, WorkerCrashed(
            f"it stopped its worker {crashes} times (an engine crash or a page over "
            f"SOHOA_PAGE_TIMEOUT={s.page_timeout:.0f} s)"), state="quarantined")
        return "quarantined", None
    doc = rt.catalogue.get_document(doc_id)
    if doc is None:
        rt.catalogue.end_page_job(doc_id, number, "cancelled", "no such document")
        return "cancelled", None
    if before_page:
        before_page()
    with page_source(rt, doc) as path:
        page = run_page(PageTask(doc_id, str(path), doc.media_type, number - 1,
                                 s.max_pixels, s.review_confidence), engine)
    if after_page:
        after_page(page)
    flow.store_page(rt, page)
    return "done", rt.catalogue.end_page_job(doc_id, number, "done")


def finish_job(rt: Runtime, doc_id: str, model) -> str | None:
    """Complete a document whose pages are all done, from what its workers stored; nothing
    when it is finished already (the finish may be sent more than once). Returns its
    status."""
    doc = rt.catalogue.get_document(doc_id)
    if doc is None or doc.status != "processing":
        return None
    jobs = rt.catalogue.page_jobs(document_id=doc_id)
    if not jobs or any(j["state"] != "done" for j in jobs):
        return None
    status = flow.complete(rt, doc, flow.stored_pages(doc), model)
    rt.catalogue.set_batch_file_state(doc_id, "done", None)
    save_record(rt, doc_id)  # with its batch file done
    return status
