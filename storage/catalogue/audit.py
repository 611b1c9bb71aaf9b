"""The append-only audit trail: who read which personal record, when, through which channel."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.catalogue.records import AuditEntry
from storage.catalogue.rows import AuditRow, _now


class AuditMixin:
    def audit(self, e: AuditEntry) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.add(AuditRow(actor=e.actor, channel=e.channel, action=e.action, target=e.target,
                           detail=e.detail, at=_now()))

    def audit_entries(self, *, actor: str | None = None, target: str | None = None,
                      since: dt.datetime | None = None, until: dt.datetime | None = None,
                      action: str | None = None, before_id: int | None = None,
                      limit: int = 1000) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages back through the log."""
        with self._session() as s:
            q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            if actor:
                q = q.where(AuditRow.actor == actor)
            if target:
                q = q.where(AuditRow.target == target)
            if action:
                q = q.where(AuditRow.action == action)
            if since:
                q = q.where(AuditRow.at >= since)
            if until:
                q = q.where(AuditRow.at < until)
            if before_id:
                q = q.where(AuditRow.id < before_id)
            return [AuditEntry(r.actor, r.channel, r.action, r.target, dict(r.detail or {}),
                               r.at, r.id) for r in s.scalars(q)]
