"""``sohoa worker``: a Celery worker process with one child per core, its periodic sweep and
its metrics endpoint."""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile

from pipeline.config import Settings

log = logging.getLogger(__name__)


def _sidecar(settings: Settings, metrics_port: int | None) -> None:
    """The sweep loop and the metrics endpoint, in a process of its own (spawned, not
    forked: Celery forks its pool children from the main process, and a thread holding a
    lock there would leave the children a lock nobody will release)."""
    import time

    from pipeline.batches import sweep
    from pipeline.runtime import open_runtime
    from workers.app import Sender

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if metrics_port:
        from workers import metrics

        metrics.serve(metrics_port, host=settings.metrics_host)
    send = Sender(settings)
    parent = os.getppid()
    while os.getppid() == parent:  # ends with its worker
        time.sleep(settings.sweep_interval)
        try:
            rt = open_runtime(settings)
            try:
                found = sweep(rt, send.page, send.finish, stale_after=settings.stale_seconds,
                              queue_empty=send.queue_length() == 0)
            finally:
                rt.close()
            if found["resent"] or found["finish_sent"]:
                log.warning("sweep: %(resent)d page(s) sent again, %(finish_sent)d "
                            "document(s) sent to finish", found)
        except Exception as exc:  # noqa: BLE001 - a sweep that fails tries again later
            log.warning("sweep failed: %s", exc)


def run_worker(settings: Settings, *, concurrency: int, metrics_port: int | None,
               loglevel: str) -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    logging.getLogger("alembic").setLevel(logging.WARNING)  # not at every runtime opened
    if metrics_port:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                              tempfile.mkdtemp(prefix="sohoa-metrics-"))
    from workers import tasks
    from workers.app import QUEUE, app_for

    tasks.configure(settings)
    sweeper = multiprocessing.get_context("spawn").Process(
        target=_sidecar, args=(settings, metrics_port), name="sohoa-sweep", daemon=True)
    sweeper.start()
    try:
        app_for(settings).worker_main(["worker", "-Q", QUEUE, "--concurrency",
                                       str(concurrency), "-E", "--loglevel", loglevel,
                                       "-n", f"sohoa-{os.getpid()}@%h", "--without-gossip",
                                       "--without-mingle"])
    finally:
        sweeper.terminate()
