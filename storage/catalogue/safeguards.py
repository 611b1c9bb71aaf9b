"""Tables and records of the archive's safeguards (migration 0007): the attempt counters that
throttle sign-ins and citizen look-ups (kept here so that every serving process sees the
same counts), and the dossier links proposed by an upload or a manifest that wait for a
clerk."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.catalogue.rows import Base, _now


class ThrottleRow(Base):
    """Attempts under one key (``login-user:lan``, ``citizen-addr:10.0.0.1``…) in the
    current window, and until when the key is held back."""

    __tablename__ = "throttles"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                              nullable=True)
    refused: Mapped[int] = mapped_column(Integer, default=0)  # attempts turned away
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                    index=True)


class LinkProposalRow(Base):
    """A link an upload or manifest asked for to a document that already existed: made only
    when a clerk confirms it."""

    __tablename__ = "link_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             index=True)
    role: Mapped[str] = mapped_column(String(8))  # record | result
    source: Mapped[str] = mapped_column(String(16))  # manifest | upload
    proposed_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending|confirmed|rejected
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


@dataclass(frozen=True, slots=True)
class Attempts:
    """A key's attempts in its current window (this one included)."""

    count: int
    window_start: dt.datetime
    blocked_until: dt.datetime | None = None
    refused: int = 0


@dataclass(frozen=True, slots=True)
class LinkProposal:
    code: str
    document_id: str
    role: str
    source: str
    proposed_by: str
    reason: str
    status: str = "pending"
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    id: int | None = None


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes (stored as UTC), PostgreSQL aware ones: always aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def proposal(row: LinkProposalRow) -> LinkProposal:
    return LinkProposal(row.code, row.document_id, row.role, row.source, row.proposed_by,
                        row.reason, row.status, row.decided_by, utc(row.decided_at),
                        utc(row.created_at), row.id)
