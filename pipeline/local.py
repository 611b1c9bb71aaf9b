"""Ingest on this machine: files in, records out, pages on a local process pool.

Intake of the next file overlaps OCR of the current one; each finished page is stored as it
arrives (memory stays flat in the number of pages); a document is completed when its last
page is in. The flow itself (admit, store, quarantine, complete) is pipeline.flow, shared
with the Celery workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline import flow
from pipeline.doctype import load_model
from pipeline.dossiers import apply_manifest
from pipeline.errors import SohoaError
from pipeline.executor import LocalExecutor, WorkerInitFailed
from pipeline.flow import FileReport
from pipeline.intake import Source, quick_page_count
from pipeline.model import Page, PageText
from pipeline.page import PageTask
from pipeline.runtime import EngineSpec, Runtime, check_engine
from storage.objects import sharded


class Progress(Protocol):
    def add_total(self, pages: int) -> None: ...

    def advance(self, pages: int = 1) -> None: ...


class _NoProgress:
    def add_total(self, pages: int) -> None:
        pass

    def advance(self, pages: int = 1) -> None:
        pass


@dataclass
class IngestOutcome:
    reports: list[FileReport]  # one per input file (and per copy of one)
    manifest: list = field(default_factory=list)  # ManifestOutcome, one per manifest row


@dataclass
class _Doc:
    source: Source
    display: str
    outstanding: int
    pages: dict[int, PageText] = field(default_factory=dict)
    error: SohoaError | None = None


class _Run:
    def __init__(self, rt: Runtime, intake: flow.Intake, progress: Progress) -> None:
        self.rt, self.intake, self.progress = rt, intake, progress
        self.model = load_model(rt.settings.home)
        self.docs: dict[str, _Doc] = {}

    def tasks(self, files: list[Path]) -> Iterator[PageTask]:
        """Page tasks of every file in turn. The progress total starts from a cheap page
        count of every file and is corrected once a file's real count is known."""
        s = self.rt.settings
        estimates = [quick_page_count(path) for path in files]
        self.progress.add_total(sum(estimates))
        for path, estimate in zip(files, estimates, strict=True):
            source = self.intake.admit(path)
            if source is None:  # a duplicate or rejected file: nothing to run
                self.progress.advance(estimate)
                continue
            self.progress.add_total(source.page_count - estimate)
            doc_id = flow.document_id(source.sha256)
            self.docs[doc_id] = _Doc(source, str(path), source.page_count)
            for index in range(source.page_count):
                yield PageTask(doc_id, str(source.pages_path.resolve()), source.media_type,
                               index, s.max_pixels, s.review_confidence)

    def on_result(self, task: PageTask, outcome: Page | BaseException) -> None:
        doc = self.docs[task.document_id]
        doc.outstanding -= 1
        if isinstance(outcome, BaseException):
            doc.error = doc.error or flow.page_error(task.number, outcome)
        elif doc.error is None:
            flow.store_page(self.rt, outcome)
            doc.pages[outcome.number] = outcome.summary()
        self.progress.advance(1)
        if doc.outstanding == 0:
            del self.docs[task.document_id]
            self.finish(task.document_id, doc)

    def finish(self, doc_id: str, doc: _Doc) -> None:
        src = doc.source
        if src.read_path is not None and src.read_path.parent == self.intake.work_dir:
            src.read_path.unlink(missing_ok=True)
        if doc.error is not None:
            # Quarantine first (from the stored original if the source is gone), then clear
            # every derived object, including any left by an earlier interrupted attempt.
            self.intake.reject(src.path, doc.display, src.sha256, doc.error, src.page_count,
                               stored=sharded("originals", src.sha256))
            flow.discard_document(self.rt, doc_id, src.sha256)
            return
        record = self.rt.catalogue.document_by_sha(src.sha256)
        flow.complete(self.rt, record, list(doc.pages.values()), self.model)
        self.intake.report(FileReport(doc.display, "done", doc_id, len(doc.pages), None,
                                      src.sha256, src.note))


def ingest(rt: Runtime, paths: Iterable[Path], *, rows: Sequence = (),
           on_report: Callable[[FileReport], None] | None = None,
           progress: Progress | None = None, workers: int | None = None) -> IngestOutcome:
    """Ingest ``paths`` (files or folders) and file the documents the manifest ``rows``
    name under their dossiers. ``on_report`` gets each file's FileReport as it is settled;
    ``progress`` (add_total, advance) follows the pages."""
    s = rt.settings
    spec = EngineSpec.from_settings(s)
    check_engine(spec)
    intake = flow.Intake(rt, on_report=on_report, work_dir=s.home / "work")
    run = _Run(rt, intake, progress or _NoProgress())
    executor = LocalExecutor(workers=workers or s.worker_count, engine=spec,
                             page_timeout=s.page_timeout)
    try:
        executor.run(run.tasks(list(flow.expand(paths))), run.on_result)
    except WorkerInitFailed as exc:
        if exc.error is None:
            raise SohoaError(str(exc)) from exc
        raise type(exc.error)(str(exc), code=exc.error.code) from exc
    outcomes = []
    if rows:
        docs = {str(Path(r.file).resolve()): (r.document_id if r.status != "rejected" else None)
                for r in intake.reports}
        outcomes = apply_manifest(rt, list(rows), docs)
    return IngestOutcome(intake.reports, outcomes)
