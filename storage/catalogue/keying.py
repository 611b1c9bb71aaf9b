"""Keying of handwritten records (migration 0008): a task per document to key by hand, each
clerk's keying of it (two, by two different clerks, neither seeing the other's), and the
settlement of their disagreements by a third."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from storage.catalogue.rows import Base, BatchFileRow, DocumentRow, _now
from storage.catalogue.safeguards import utc


class KeyingTaskRow(Base):
    __tablename__ = "keying_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # open|disputed|accepted
    prefill: Mapped[dict] = mapped_column(JSON, default=dict)  # known without the hand
    disputed: Mapped[list] = mapped_column(JSON, default=list)  # fields the keyings differ on
    final: Mapped[dict] = mapped_column(JSON, default=dict)  # the accepted values
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    settled_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)


class KeyingRow(Base):
    __tablename__ = "keyings"
    __table_args__ = (UniqueConstraint("task_id", "keyer", name="uq_keyings_task_keyer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("keying_tasks.id", ondelete="CASCADE"),
                                         index=True)
    keyer: Mapped[str] = mapped_column(String(128), index=True)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


@dataclass(frozen=True, slots=True)
class KeyingTask:
    id: int
    document_id: str
    status: str
    created_by: str
    prefill: dict = field(default_factory=dict)
    disputed: list = field(default_factory=list)
    final: dict = field(default_factory=dict)
    created_at: dt.datetime | None = None
    settled_by: str | None = None
    accepted_at: dt.datetime | None = None
    keyers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Keying:
    task_id: int
    keyer: str
    values: dict
    seconds: float = 0.0
    submitted_at: dt.datetime | None = None
    id: int | None = None


class AlreadyKeyed(Exception):
    """This clerk keyed this task already."""


def _task(row: KeyingTaskRow, keyers=()) -> KeyingTask:
    return KeyingTask(row.id, row.document_id, row.status, row.created_by,
                      dict(row.prefill or {}), list(row.disputed or []), dict(row.final or {}),
                      utc(row.created_at), row.settled_by, utc(row.accepted_at), tuple(keyers))


def _keying(row: KeyingRow) -> Keying:
    return Keying(row.task_id, row.keyer, dict(row.values or {}), row.seconds,
                  utc(row.submitted_at), row.id)


class KeyingMixin:
    def add_keying_task(self, document_id: str, *, created_by: str,
                        prefill: dict | None = None) -> KeyingTask:
        """A task to key ``document_id``; the one already open or disputed if there is."""
        with self._guard(), self._session() as s, s.begin():
            row = s.scalars(select(KeyingTaskRow).where(
                KeyingTaskRow.document_id == document_id,
                KeyingTaskRow.status.in_(("open", "disputed"))).limit(1)).first()
            if row is None:
                row = KeyingTaskRow(document_id=document_id, status="open",
                                    prefill=prefill or {}, disputed=[], final={},
                                    created_by=created_by)
                s.add(row)
                s.flush()
            return _task(row, self._keyers(s, row.id))

    def _keyers(self, s, task_id: int) -> list[str]:
        return list(s.scalars(select(KeyingRow.keyer).where(KeyingRow.task_id == task_id)
                              .order_by(KeyingRow.id)))

    def keying_task(self, task_id: int) -> KeyingTask | None:
        with self._session() as s:
            row = s.get(KeyingTaskRow, task_id)
            return _task(row, self._keyers(s, task_id)) if row else None

    @staticmethod
    def _queue_filter(q, *, doc_type: str | None, batch: str | None, book: str | None):
        """Only tasks for documents of one type, of one intake batch, of one register book."""
        if doc_type or book:
            q = q.join(DocumentRow, DocumentRow.id == KeyingTaskRow.document_id)
        if doc_type:
            q = q.where(DocumentRow.type == doc_type)
        if book:
            q = q.where(DocumentRow.fields["book_number"].as_string() == book)
        if batch:
            q = q.where(select(BatchFileRow.file).where(
                BatchFileRow.document_id == KeyingTaskRow.document_id,
                BatchFileRow.batch_id == batch).exists())
        return q

    def keying_tasks(self, *, status: str | None = None, document_id: str | None = None,
                     doc_type: str | None = None, batch: str | None = None,
                     book: str | None = None, limit: int = 1000) -> list[KeyingTask]:
        with self._session() as s:
            q = select(KeyingTaskRow).order_by(KeyingTaskRow.id).limit(limit)
            if status:
                q = q.where(KeyingTaskRow.status == status)
            if document_id:
                q = q.where(KeyingTaskRow.document_id == document_id)
            q = self._queue_filter(q, doc_type=doc_type, batch=batch, book=book)
            rows = list(s.scalars(q))
            keyers: dict[int, list[str]] = {}
            for task_id, keyer in s.execute(  # every task's keyers in one query
                    select(KeyingRow.task_id, KeyingRow.keyer).where(
                        KeyingRow.task_id.in_([r.id for r in rows])).order_by(KeyingRow.id)):
                keyers.setdefault(task_id, []).append(keyer)
            return [_task(r, keyers.get(r.id, ())) for r in rows]

    def next_keying_task(self, keyer: str, *, doc_type: str | None = None,
                         batch: str | None = None, book: str | None = None
                         ) -> KeyingTask | None:
        """The oldest open task with fewer than two keyings, none of them ``keyer``'s (of a
        document of ``doc_type``, of intake ``batch``, of register ``book`` when given)."""
        with self._session() as s:
            count = (select(func.count(KeyingRow.id)).where(KeyingRow.task_id == KeyingTaskRow.id)
                     .scalar_subquery())
            mine = select(KeyingRow.id).where(KeyingRow.task_id == KeyingTaskRow.id,
                                              KeyingRow.keyer == keyer).exists()
            q = select(KeyingTaskRow).where(KeyingTaskRow.status == "open", count < 2, ~mine)
            q = self._queue_filter(q, doc_type=doc_type, batch=batch, book=book)
            row = s.scalars(q.order_by(KeyingTaskRow.id).limit(1)).first()
            return _task(row, self._keyers(s, row.id)) if row else None

    def keying_queue_places(self, document_ids: list[str]) -> dict[str, tuple[str, ...]]:
        """Each document's intake batches, for the queue's filters."""
        with self._session() as s:
            out: dict[str, list[str]] = {}
            for doc, batch in s.execute(
                    select(BatchFileRow.document_id, BatchFileRow.batch_id).where(
                        BatchFileRow.document_id.in_(document_ids)).order_by(
                        BatchFileRow.batch_id)):
                out.setdefault(doc, []).append(batch)
            return {d: tuple(b) for d, b in out.items()}

    def add_keying(self, k: Keying) -> Keying:
        try:
            with self._guard(), self._session() as s, s.begin():
                row = KeyingRow(task_id=k.task_id, keyer=k.keyer, values=k.values,
                                seconds=k.seconds)
                s.add(row)
                s.flush()
                return _keying(row)
        except IntegrityError as exc:
            raise AlreadyKeyed(f"{k.keyer} keyed task {k.task_id} already") from exc

    def keyings(self, task_id: int | None = None, *, keyer: str | None = None) -> list[Keying]:
        with self._session() as s:
            q = select(KeyingRow).order_by(KeyingRow.id)
            if task_id is not None:
                q = q.where(KeyingRow.task_id == task_id)
            if keyer:
                q = q.where(KeyingRow.keyer == keyer)
            return [_keying(r) for r in s.scalars(q)]

    def update_keying_task(self, task_id: int, *, status: str, disputed: list | None = None,
                           final: dict | None = None, settled_by: str | None = None) -> None:
        with self._guard(), self._session() as s, s.begin():
            row = s.get(KeyingTaskRow, task_id)
            row.status = status
            if disputed is not None:
                row.disputed = disputed
            if final is not None:
                row.final = final
            if settled_by is not None:
                row.settled_by = settled_by
            if status == "accepted":
                row.accepted_at = _now()
