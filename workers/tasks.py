"""Thin tasks over the pipeline's flow: a page, and a document's finish.

Each task takes ids; pipeline.queue reads what it needs from the catalogue and the store and
writes its outputs under fixed keys, so running it twice changes nothing. This is an entry
point: errors are translated here. Those a retry can fix (storage, catalogue or search
unreachable) are retried with exponential backoff and jitter; a page that kills or stalls
its worker ``SOHOA_MAX_CRASHES`` times is quarantined; a page that cannot be read rejects its
file, as the local executor does.

The settings are given once, by ``configure`` in the worker's main process before Celery
forks its children; each child opens its runtime, engine and model on first use.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import time

from celery.exceptions import SoftTimeLimitExceeded

from pipeline.config import Settings
from pipeline.errors import translate
from workers import metrics

log = logging.getLogger(__name__)
QUEUE = "sohoa"
PAGE_TASK, FINISH_TASK = "sohoa.page", "sohoa.finish"  # the wire contract: never renamed
_state: dict = {}


def configure(settings: Settings) -> None:
    """The settings this worker's tasks run with (set before the pool forks)."""
    _state.clear()
    _state["settings"] = settings


def _settings() -> Settings:
    if "settings" not in _state:
        raise RuntimeError("the worker's settings were not given: start workers with "
                           "`sohoa worker`")
    return _state["settings"]


def _runtime():
    """One runtime, engine and model per worker process, made on first use."""
    if "rt" not in _state:
        from pipeline.runtime import open_runtime

        os.environ["OMP_THREAD_LIMIT"] = "1"
        _state["rt"] = open_runtime(_settings())
    return _state["rt"]


def _engine():
    if "engine" not in _state:
        import cv2

        from pipeline.runtime import EngineSpec, open_engine

        cv2.setNumThreads(1)  # one process per core: OpenCV's own threads would compete
        _state["engine"] = open_engine(EngineSpec.from_settings(_settings()))
    return _state["engine"]


def _model():
    if "model" not in _state:
        from pipeline.doctype import load_model

        _state["model"] = load_model(_settings().home)
    return _state["model"]


def _backoff(retries: int) -> float:
    return min(300.0, 2.0 * 2 ** retries) * random.uniform(0.5, 1.0)


def _connection_error(exc: BaseException) -> bool:
    """A broker, database or network failure that waiting may cure."""
    from kombu.exceptions import OperationalError as KombuError
    from sqlalchemy.exc import OperationalError as DatabaseError

    return isinstance(exc, KombuError | DatabaseError | ConnectionError | TimeoutError)


def page(task, document_id: str, number: int) -> str:
    from pipeline.queue import fail_page, run_page_job

    try:
        rt = _runtime()
    except Exception as exc:  # noqa: BLE001 - the catalogue or store is not there yet
        raise task.retry(exc=exc, countdown=_backoff(task.request.retries)) from None
    worker = f"{task.request.hostname or socket.gethostname()}:{os.getpid()}"
    clock = {"page": time.perf_counter()}

    def page_done(_page) -> None:
        now = time.perf_counter()
        metrics.stage("page", now - clock["page"])
        clock["store"] = now

    try:
        outcome, left = run_page_job(rt, _engine(), document_id, number, worker=worker,
                                     after_page=page_done)
    except SoftTimeLimitExceeded:
        raise  # the hard limit follows; the next start counts it as a crash
    except Exception as exc:  # noqa: BLE001 - sorted below
        err = translate(exc)
        if err.retryable or _connection_error(exc):
            metrics.failed("backend_unavailable")
            log.warning("page %s/%d waits: %s", document_id, number, err)
            with contextlib.suppress(Exception):  # the catalogue may be what is down
                rt.catalogue.end_page_job(document_id, number, "queued", err.message)
            if task.request.retries >= rt.settings.backend_retries:
                raise  # left queued: `sohoa batch retry` sends it again
            raise task.retry(exc=exc, countdown=_backoff(task.request.retries)) from None
        metrics.failed(fail_page(rt, document_id, number, exc).code)
        return "failed"
    if outcome == "quarantined":
        metrics.failed("engine_crash")
    if outcome == "done":
        metrics.stage("store", time.perf_counter() - clock["store"])
        metrics.done()
        if left == 0:
            _send_finish(task, document_id)
    return outcome


def _send_finish(task, document_id: str) -> None:
    try:
        task.app.send_task(FINISH_TASK, (document_id,), queue=QUEUE)
    except Exception as exc:  # noqa: BLE001 - the broker is down: the page is done
        log.warning("could not send the finish of %s (%s); the sweep will", document_id, exc)


def finish(task, document_id: str) -> str:
    from pipeline.queue import finish_job

    try:
        rt = _runtime()
    except Exception as exc:  # noqa: BLE001
        raise task.retry(exc=exc, countdown=_backoff(task.request.retries)) from None
    started = time.perf_counter()
    try:
        status = finish_job(rt, document_id, _model())
    except Exception as exc:  # noqa: BLE001
        err = translate(exc)
        if (err.retryable or _connection_error(exc)) and \
                task.request.retries < rt.settings.backend_retries:
            raise task.retry(exc=exc, countdown=_backoff(task.request.retries)) from None
        raise err from exc
    metrics.stage("finish", time.perf_counter() - started)
    return status or "skipped"


def register(app) -> None:
    """Register the two tasks on ``app``."""
    app.task(name=PAGE_TASK, bind=True, max_retries=None)(page)
    app.task(name=FINISH_TASK, bind=True, max_retries=None)(finish)
