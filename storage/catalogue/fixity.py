"""Fixity runs (``sohoa verify``) and what they found."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from storage.catalogue.records import FixityFinding, FixityRun
from storage.catalogue.rows import FixityFindingRow, FixityRunRow, _now


class FixityMixin:
    def start_fixity_run(self, *, since: dt.datetime | None, storage_url: str) -> int:
        with self._guard(), self._session() as s, s.begin():
            row = FixityRunRow(since=since, storage_url=storage_url)
            s.add(row)
            s.flush()
            return row.id

    def add_fixity_findings(self, run_id: int, findings: list[FixityFinding]) -> None:
        if not findings:
            return
        with self._guard(), self._session() as s, s.begin():
            s.add_all(FixityFindingRow(run_id=run_id, problem=f.problem, key=f.key,
                                       document_id=f.document_id, expected=f.expected,
                                       actual=f.actual) for f in findings)

    def finish_fixity_run(self, run_id: int, *, checked: int, missing: int, changed: int,
                          orphaned: int) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(FixityRunRow).where(FixityRunRow.id == run_id).values(
                checked=checked, missing=missing, changed=changed, orphaned=orphaned,
                finished_at=_now()))

    def fixity_runs(self, limit: int = 20) -> list[FixityRun]:
        """The latest runs first, each with its findings."""
        with self._session() as s:
            rows = s.scalars(select(FixityRunRow).order_by(FixityRunRow.id.desc())
                             .limit(limit)).all()
            out = []
            for r in rows:
                found = s.scalars(select(FixityFindingRow).where(FixityFindingRow.run_id == r.id)
                                  .order_by(FixityFindingRow.id))
                out.append(FixityRun(r.id, r.started_at, r.finished_at, r.since, r.storage_url,
                                     r.checked, r.missing, r.changed, r.orphaned,
                                     tuple(FixityFinding(f.problem, f.key, f.document_id,
                                                         f.expected, f.actual) for f in found)))
            return out
