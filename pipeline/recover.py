"""Rebuilding a lost or damaged catalogue from the records in the object store, then the
search index from the catalogue (issue 19; ``sohoa recover``). And writing every record
again from a whole catalogue (``sohoa write-records``: once after upgrading to a sohoa that
keeps records, or to bring them up to date after a crash).

What comes back: every document the records hold, with its pages, fields, corrections,
review state, dossier and person links (the dossiers and people themselves), keying tasks
and keyings, link conflicts and proposals, issued copies and its intake batch; rejected
files; staff accounts (``records/users.json``). What does not: the audit log, sign-in
sessions and throttles, the history of fixity runs (the hashes they check are in the page
rows), conflicts of manifest rows that named no document, and documents still being
processed when the catalogue was lost (ingest their files again).

Safe to run again: rows are written by their primary keys, so a second run changes nothing.
It refuses to write over a catalogue that is healthy and holds documents unless forced. A
damaged SQLite file is moved aside (``catalogue.sqlite3.damaged-<UTC time>``), never
deleted. A record that cannot be read or restored is reported and skipped; the rest go on.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import records
from pipeline.config import Settings
from pipeline.errors import SohoaError
from pipeline.runtime import Runtime, open_runtime
from storage.catalogue import _safe_url, sqlite_damage, sqlite_file
from storage.errors import ObjectMissing

log = logging.getLogger(__name__)

NOT_RESTORED = ("audit", "sessions", "throttles", "fixity_runs", "fixity_findings")


class RecoveryRefused(SohoaError):
    """The catalogue is healthy and holds documents: recovering would write over it."""

    code = "catalogue_not_empty"
    exit_status = 2


@dataclass
class RecoveryReport:
    catalogue: str
    found: str  # missing | damaged | empty | in use (forced)
    problem: str | None = None  # what was wrong with a damaged one
    kept_aside: list[str] = field(default_factory=list)
    restored: dict[str, int] = field(default_factory=dict)  # records by kind
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (key, why)
    unknown: list[str] = field(default_factory=list)  # tables/columns this catalogue lacks
    rows: dict[str, int] = field(default_factory=dict)  # per table, afterwards
    pages_indexed: int = 0
    index_consistent: bool = False
    seconds: float = 0.0
    index_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def not_restored(self) -> list[str]:
        return [*NOT_RESTORED, *(["users"] if not self.restored.get("users") else [])]

    def to_dict(self) -> dict:
        return {"catalogue": self.catalogue, "found": self.found, "problem": self.problem,
                "kept_aside": self.kept_aside, "restored": self.restored,
                "skipped": [{"key": k, "reason": r} for k, r in self.skipped],
                "unknown": self.unknown, "rows": self.rows, "not_restored": self.not_restored,
                "pages_indexed": self.pages_indexed, "index_consistent": self.index_consistent,
                "seconds": round(self.seconds, 2), "index_seconds": round(self.index_seconds, 2),
                "warnings": self.warnings}


# --------------------------------------------------------------------------- the catalogue
def examine_sqlite(path: Path) -> tuple[str, str | None]:
    """(missing | damaged | healthy, what is wrong) of a SQLite catalogue file, read in full
    (``PRAGMA quick_check``): recovery is rare, a wrong "healthy" is costly."""
    if not path.exists() or path.stat().st_size == 0:
        return "missing", None
    if problem := sqlite_damage(path):
        return "damaged", problem
    try:
        conn = sqlite3.connect(path)
        try:
            result = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return "damaged", str(exc)
    if result != ["ok"]:
        return "damaged", "; ".join(result[:3])
    return "healthy", None


def set_aside(path: Path, when: dt.datetime | None = None) -> list[str]:
    """Move a SQLite file and its -wal and -shm to ``<file>.damaged-<UTC time>`` (the -wal
    and -shm named after it, so that SQLite still reads them together); returns the new
    names. Nothing is deleted."""
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    aside, n = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while any(Path(f"{aside}{s}").exists() for s in ("", "-wal", "-shm")):  # never over one
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    moved = []
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            dst = Path(f"{aside}{suffix}")
            src.rename(dst)
            moved.append(str(dst))
    return moved


def _prepare(settings: Settings, report: RecoveryReport) -> None:
    """Examine a SQLite catalogue; set a damaged one (or the leftovers of a lost one) aside."""
    path = sqlite_file(settings.catalogue_url)
    if path is None:
        return
    state, report.problem = examine_sqlite(path)
    report.found = state
    if state == "damaged" or (state == "missing" and (
            Path(f"{path}-wal").exists() or Path(f"{path}-shm").exists())):
        report.kept_aside = set_aside(path)  # a stale -wal must not be replayed into the new


# ------------------------------------------------------------------------------- recovery
def recover(settings: Settings, *, force: bool = False,
            on_record: Callable[[str], None] = lambda key: None) -> RecoveryReport:
    """Rebuild the catalogue from the records in the object store, then the search index."""
    started = time.monotonic()
    where = sqlite_file(settings.catalogue_url) or _safe_url(settings.catalogue_url)
    report = RecoveryReport(str(where), "empty")
    _prepare(settings, report)
    rt = open_runtime(settings, recovering=True)
    try:
        if report.found in ("healthy", "empty"):
            holds = next(iter(rt.catalogue.documents(order="id")), None) is not None
            if holds and not force:
                raise RecoveryRefused(
                    f"the catalogue {report.catalogue} is healthy and holds documents: "
                    f"nothing to recover. `sohoa recover --force` writes the records over it "
                    f"(rows they hold are replaced, others kept); to rebuild it from "
                    f"nothing, move it away first")
            report.found = "in use (forced)" if holds else "empty"
        restore_all(rt, report, on_record)
        if not report.restored.get("document") and next(iter(rt.store.keys("originals")),
                                                         None) is not None:
            report.warnings.append(
                f"the object store {rt.storage_url or settings.home / 'objects'} holds "
                f"originals but no document records (an archive from before sohoa kept "
                f"them?): none of its documents could be restored; restore the catalogue "
                f"from a backup, or ingest the originals again")
        report.rows = rt.catalogue.row_counts()
        index_started = time.monotonic()
        report.pages_indexed, report.index_consistent = reindex(rt)
        report.index_seconds = time.monotonic() - index_started
    finally:
        rt.close()
    report.seconds = time.monotonic() - started
    return report


BATCH = 200  # records per transaction (one by one when a batch fails)


def restore_all(rt: Runtime, report: RecoveryReport,
                on_record: Callable[[str], None]) -> None:
    """Every record under records/, in one pass, a batch of them per transaction; a record
    that cannot be read is reported; one that cannot be restored is tried once more at the
    end (a row another record had to bring first), then reported."""
    restorer = rt.catalogue.restorer()
    failed: list[tuple[str, str]] = []
    unread: list[tuple[str, str]] = []
    batch: list[tuple[str, records.Record]] = []
    for key in rt.store.keys(records.PREFIX.rstrip("/")):
        on_record(key)
        found = _read(rt, key)
        if isinstance(found, str):
            unread.append((key, found))
            continue
        batch.append((key, found))
        if len(batch) >= BATCH:
            failed += _restore(restorer, batch, report)
            batch = []
    failed += _restore(restorer, batch, report)
    retry, failed = failed, []
    for key, _ in retry:
        rec = _read(rt, key)
        failed += [(key, rec)] if isinstance(rec, str) else _restore(restorer, [(key, rec)],
                                                                     report)
    restorer.finish()
    report.skipped = sorted(unread + failed)
    report.unknown = sorted(restorer.unknown)
    for key, why in report.skipped:
        log.warning("record %s skipped: %s", key, why)


def _read(rt: Runtime, key: str) -> records.Record | str:
    """The record under ``key``, or why it cannot be read."""
    owner = records.owner(key)
    if owner is None:
        return "not a record's key (records/documents/…, records/rejections/…, " \
               "records/users.json)"
    try:
        rec = records.parse(rt.store.get(key))
    except ObjectMissing:
        return "gone while recovering"
    except records.BadRecord as exc:
        return str(exc)
    if (rec.kind, rec.id) != owner:
        return f"a {rec.kind} record {rec.id!r} under the key of {owner[0]} {owner[1]!r}"
    return rec


def _restore(restorer, batch: list[tuple[str, records.Record]],
             report: RecoveryReport) -> list[tuple[str, str]]:
    """Restore a batch in one transaction; when it fails, each record alone. Returns the
    (key, why) of those that could not be restored."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    if not batch:
        return []
    try:
        restorer.restore_many([(rec.tables, rec.written_at) for _, rec in batch])
    except OperationalError:
        raise  # the database, not the records: stop
    except (SQLAlchemyError, ValueError, TypeError, KeyError) as exc:
        if len(batch) == 1:
            detail = getattr(exc, "orig", None) or exc
            return [(batch[0][0], f"cannot be restored: {type(detail).__name__}: "
                                  f"{str(detail)[:300]}")]
        failed = []  # find the records at fault
        for item in batch:
            failed += _restore(restorer, [item], report)
        return failed
    for _, rec in batch:
        report.restored[rec.kind] = report.restored.get(rec.kind, 0) + 1
    return []


def reindex(rt: Runtime) -> tuple[int, bool]:
    """The search index rebuilt from the catalogue, as ``sohoa reindex`` does it; (pages
    indexed, whether the index now matches the catalogue)."""
    from pipeline.indexing import all_index_pages, compare

    n = rt.index.rebuild(all_index_pages(rt), resume=False)
    return n, compare(rt).consistent


# ---------------------------------------------------------------------------- write-records
def write_records(rt: Runtime, on_record: Callable[[str], None] = lambda key: None
                  ) -> dict[str, int]:
    """Every record written again from the catalogue: each document's, each rejected file's
    and the users'. Returns how many of each."""
    counts = {"document": 0, "rejection": 0, "users": 0}
    for doc in rt.catalogue.documents(order="id"):
        if doc.status == "processing":
            continue  # written when it is complete
        records.save_record(rt, doc.id)
        on_record(records.document_key(doc.id))
        counts["document"] += 1
    for rej in rt.catalogue.rejections():
        records.save_rejection_record(rt, rej.sha256)
        on_record(records.rejection_key(rej.sha256))
        counts["rejection"] += 1
    records.save_users_record(rt)
    on_record(records.USERS)
    counts["users"] = 1
    return counts
