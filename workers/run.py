"""``sohoa worker``: a Celery worker process with one child per core, its periodic sweep and
its metrics endpoint."""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile

log = logging.getLogger(__name__)


def queue_length(app) -> int | None:
    from workers.app import QUEUE

    try:
        with app.connection_for_read() as conn:
            return conn.default_channel.queue_declare(QUEUE, passive=True).message_count
    except Exception:  # noqa: BLE001 - the broker may be down: then nothing is "empty"
        return None


def _sidecar(interval: float, metrics_port: int | None) -> None:
    """The sweep loop and the metrics endpoint, in a process of its own (spawned, not
    forked: Celery forks its pool children from the main process, and a thread holding a
    lock there would leave the children a lock nobody will release)."""
    import time

    from pipeline.batches import sweep
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime
    from workers.app import app
    from workers.tasks import send_finish, send_page

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if metrics_port:
        from workers import metrics

        metrics.serve(metrics_port)
    parent = os.getppid()
    while os.getppid() == parent:  # ends with its worker
        time.sleep(interval)
        try:
            rt = open_runtime(Settings())
            try:
                found = sweep(rt, send_page, send_finish, stale_after=rt.settings.stale_seconds,
                              queue_empty=queue_length(app) == 0)
            finally:
                rt.close()
            if found["resent"] or found["finish_sent"]:
                log.warning("sweep: %(resent)d page(s) sent again, %(finish_sent)d "
                            "document(s) sent to finish", found)
        except Exception as exc:  # noqa: BLE001 - a sweep that fails tries again later
            log.warning("sweep failed: %s", exc)


def run_worker(*, concurrency: int, metrics_port: int | None, loglevel: str) -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    logging.getLogger("alembic").setLevel(logging.WARNING)  # not at every runtime opened
    if metrics_port:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                              tempfile.mkdtemp(prefix="sohoa-metrics-"))
    from pipeline.config import Settings
    from workers.app import QUEUE, app

    settings = Settings()
    sweeper = multiprocessing.get_context("spawn").Process(
        target=_sidecar, args=(settings.sweep_interval, metrics_port), name="sohoa-sweep",
        daemon=True)
    sweeper.start()
    try:
        app.worker_main(["worker", "-Q", QUEUE, "--concurrency", str(concurrency), "-E",
                         "--loglevel", loglevel, "-n", f"sohoa-{os.getpid()}@%h",
                         "--without-gossip", "--without-mingle"])
    finally:
        sweeper.terminate()
