"""Batches on the queue (see pipeline.queue): their status, retry, and the sweep that
re-sends work whose worker vanished.

The catalogue's page jobs, not the broker, are the record of what is left to do: a lost
message or a dead worker is found by the sweep and its page sent again; a page that is sent
twice is done once (the page task is idempotent, and a finished page is skipped).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.errors import NotFound
from pipeline.runtime import Runtime

log = logging.getLogger(__name__)
TERMINAL = ("done", "failed", "quarantined", "cancelled")


def repaired_key(sha256: str) -> str:
    """Where the repaired copy of a damaged PDF is kept for the workers to read."""
    return f"repairs/{sha256}.pdf"


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

