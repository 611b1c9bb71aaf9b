"""Prometheus metrics of a worker: pages processed, failures by code, stage durations.

Celery's prefork children each count in their own process; with PROMETHEUS_MULTIPROC_DIR set
(``sohoa worker`` sets it) the counts go to files there and the worker's main process serves
their sum on ``--metrics-port``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PAGES = Counter("sohoa_pages_processed_total", "pages OCR'd and stored")
FAILURES = Counter("sohoa_page_failures_total", "pages that failed, by code", ["code"])
STAGE = Histogram("sohoa_stage_seconds", "time spent in a stage", ["stage"],
                  buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128))


def done() -> None:
    PAGES.inc()


def failed(code: str) -> None:
    FAILURES.labels(code=code).inc()


def stage(name: str, seconds: float) -> None:
    STAGE.labels(stage=name).observe(seconds)


def serve(port: int, *, host: str = "127.0.0.1") -> None:
    """Serve the sum over every process of this worker on host:port (SOHOA_METRICS_HOST,
    127.0.0.1 unless set)."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)
