"""Thin tasks over the pipeline's stage functions: a page, and a document's finish.

Each task takes ids, reads what it needs from the catalogue and the store, and writes its
outputs under fixed keys, so running it twice changes nothing. Errors a retry can fix
(storage, catalogue or search unreachable) are retried with exponential backoff and jitter;
a page that kills or stalls its worker ``SOHOA_MAX_CRASHES`` times is quarantined; a page
that cannot be read rejects its file, as the local executor does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import socket
import time

from celery.exceptions import SoftTimeLimitExceeded

from pipeline.errors import BackendUnavailable, BadInput, SohoaError, translate
from workers import metrics
from workers.app import app

log = logging.getLogger(__name__)
_state: dict = {}


def _runtime():
    """One runtime, engine and model per worker process, made on first use."""
    if "rt" not in _state:
        from pipeline.config import Settings
        from pipeline.runtime import open_runtime

        os.environ["OMP_THREAD_LIMIT"] = "1"
        _state["rt"] = open_runtime(Settings())
    return _state["rt"]


def _engine():
    if "engine" not in _state:
        from pathlib import Path

        import cv2

        from ocr.engine import TesseractEngine

        cv2.setNumThreads(1)  # one process per core: OpenCV's own threads would compete
        s = _runtime().settings
        _state["engine"] = TesseractEngine(languages=s.languages,
                                           tessdata=Path(s.tessdata) if s.tessdata else None,
                                           psm=s.psm)
    return _state["engine"]


def _model():
    if "model" not in _state:
        from pipeline.doctype import load_model

        _state["model"] = load_model(_runtime().settings.home)
    return _state["model"]


def _backoff(retries: int) -> float:
    return min(300.0, 2.0 * 2 ** retries) * random.uniform(0.5, 1.0)


def _fault_injection(filename: str) -> None:
    """For the fault tests only: SOHOA_TEST_KILL_ON=<text> makes a worker die, as from an
    engine crash, on every page of a file whose name contains that text."""
    marker = os.environ.get("SOHOA_TEST_KILL_ON")
    if marker and marker in filename:
        os.kill(os.getpid(), signal.SIGKILL)


def _connection_error(exc: BaseException) -> bool:
    """A broker, database or network failure that waiting may cure."""
    from kombu.exceptions import OperationalError as KombuError
    from sqlalchemy.exc import OperationalError as DatabaseError

    return isinstance(exc, KombuError | DatabaseError | ConnectionError | TimeoutError)


def send_page(document_id: str, number: int) -> None:
    page.apply_async((document_id, number))


def send_finish(document_id: str) -> None:
    finish.apply_async((document_id,))


@app.task(name="sohoa.page", bind=True, max_retries=None)
def page(self, document_id: str, number: int) -> str:
    from pipeline.batches import page_source, reject_document
    from pipeline.ingest import store_page
    from pipeline.pages import PageTask, run_page

    try:
        rt = _runtime()
    except Exception as exc:  # noqa: BLE001 - the catalogue or store is not there yet
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
    s = rt.settings
    worker = f"{self.request.hostname or socket.gethostname()}:{os.getpid()}"
    try:
        crashes = rt.catalogue.start_page_job(document_id, number, worker)
        if crashes is None:
            return "skipped"  # done already, or its file was rejected
        if crashes >= s.max_crashes:
            err = BadInput(f"page {number} stopped its worker {crashes} times (an engine "
                           f"crash or a page over SOHOA_PAGE_TIMEOUT={s.page_timeout:.0f} s)",
                           code="engine_crash")
            rt.catalogue.end_page_job(document_id, number, "quarantined", err.message)
            reject_document(rt, document_id, err)
            metrics.failed(err.code)
            return "quarantined"
        doc = rt.catalogue.get_document(document_id)
        if doc is None:
            rt.catalogue.end_page_job(document_id, number, "cancelled", "no such document")
            return "cancelled"
        _fault_injection(doc.filename)
        started = time.perf_counter()
        with page_source(rt, doc) as path:
            out = run_page(PageTask(document_id, str(path), doc.media_type, number - 1,
                                    s.max_pixels, s.review_confidence), _engine())
        metrics.stage("page", time.perf_counter() - started)
        started = time.perf_counter()
        store_page(rt, out)
        metrics.stage("store", time.perf_counter() - started)
        left = rt.catalogue.end_page_job(document_id, number, "done")
        metrics.done()
        if left == 0:
            try:
                send_finish(document_id)
            except Exception as exc:  # noqa: BLE001 - the broker is down: the page is done
                log.warning("could not send the finish of %s (%s); the sweep will", document_id,
                            exc)
        return "done"
    except SoftTimeLimitExceeded:
        raise  # the hard limit follows; the next start counts it as a crash
    except Exception as exc:  # noqa: BLE001 - sorted below
        err = translate(exc)
        if isinstance(err, BackendUnavailable) or err.retryable or _connection_error(exc):
            metrics.failed("backend_unavailable")
            log.warning("page %s/%d waits: %s", document_id, number, err)
            with contextlib.suppress(Exception):  # the catalogue may be what is down
                rt.catalogue.end_page_job(document_id, number, "queued", err.message)
            if self.request.retries >= s.backend_retries:
                raise  # left queued: `sohoa batch retry` sends it again
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
        if not isinstance(err, BadInput | SohoaError) or type(err) is SohoaError:
            log.error("page %s/%d failed", document_id, number, exc_info=exc)
        bad = BadInput(f"page {number}: {err.message}", code=err.code
                       if isinstance(err, BadInput) else "page_failed")
        rt.catalogue.end_page_job(document_id, number, "failed", bad.message)
        reject_document(rt, document_id, bad)
        metrics.failed(bad.code)
        return "failed"


@app.task(name="sohoa.finish", bind=True, max_retries=None)
def finish(self, document_id: str) -> str:
    from pipeline.batches import finish_document

    try:
        rt = _runtime()
    except Exception as exc:  # noqa: BLE001
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
    started = time.perf_counter()
    try:
        status = finish_document(rt, document_id, _model())
    except Exception as exc:  # noqa: BLE001
        err = translate(exc)
        if (err.retryable or _connection_error(exc)) and \
                self.request.retries < rt.settings.backend_retries:
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
        raise
    metrics.stage("finish", time.perf_counter() - started)
    return status or "skipped"
