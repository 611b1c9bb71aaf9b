"""Documents, their pages, clerks' corrections and rejected files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import delete, select

from storage.catalogue.records import (
    CorrectionRecord,
    DocumentRecord,
    PageRecord,
    RejectionRecord,
    _document,
    _names,
)
from storage.catalogue.rows import CorrectionRow, DocumentRow, PageRow, RejectionRow, _now
from storage.errors import StorageError


class DocumentsMixin:
    def document_by_sha(self, sha256: str) -> DocumentRecord | None:
        with self._session() as s:
            row = s.scalars(select(DocumentRow).where(DocumentRow.sha256 == sha256)).first()
            return _document(row, with_pages=False) if row else None

    def get_document(self, document_id: str) -> DocumentRecord | None:
        with self._session() as s:
            row = s.get(DocumentRow, document_id)
            return _document(row, with_pages=True) if row else None

    def start_document(self, doc: DocumentRecord) -> None:
        """Insert the document as ``processing``; an unfinished earlier attempt (same id) is
        reset, its pages dropped, so a re-run redoes it instead of duplicating it."""
        values = {n: getattr(doc, n) for n in _names(DocumentRecord)
                  if n not in ("pages", "created_at", "updated_at")}
        values["status"] = "processing"
        values["review_reasons"] = list(values["review_reasons"])
        now = _now()
        stmt = self._insert(DocumentRow).values(**values, created_at=now, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={**{k: v for k, v in values.items() if k != "id"}, "updated_at": now})
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt)
            s.execute(delete(PageRow).where(PageRow.document_id == doc.id))

    def save_page(self, page: PageRecord) -> None:
        values = {n: getattr(page, n) for n in _names(PageRecord)}
        stmt = self._insert(PageRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["document_id", "number"],
            set_={k: v for k, v in values.items() if k not in ("document_id", "number")})
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt)

    def finish_document(self, document_id: str, *, type: str, type_confidence: float,
                        fields: dict, dossier_code: str | None, page_count: int,
                        status: str = "done", field_details: dict | None = None,
                        classified_by: str | None = None,
                        review_reasons: list[str] | None = None) -> None:
        """Record what the machine read. Clerks' corrections are kept in their own table and
        are never touched here, so a re-run cannot overwrite them."""
        with self._guard(), self._session() as s, s.begin():
            row = s.get(DocumentRow, document_id)
            if row is None:
                raise StorageError(f"no document {document_id} to finish")
            row.type, row.type_confidence = type, type_confidence
            row.fields, row.dossier_code = fields, dossier_code
            row.field_details, row.classified_by = field_details or {}, classified_by
            row.review_reasons = list(review_reasons or [])
            row.page_count, row.status = page_count, status

    def set_status(self, document_id: str, status: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            row = s.get(DocumentRow, document_id)
            if row is None:
                raise StorageError(f"no document {document_id}")
            row.status = status

    def add_correction(self, rec: CorrectionRecord) -> CorrectionRecord:
        with self._guard(), self._session() as s, s.begin():
            row = CorrectionRow(document_id=rec.document_id, field=rec.field,
                                old_value={"value": rec.old_value},
                                new_value={"value": rec.new_value},
                                corrected_by=rec.corrected_by)
            s.add(row)
            s.flush()
            return CorrectionRecord(row.document_id, row.field, rec.old_value, rec.new_value,
                                    row.corrected_by, row.corrected_at, row.id)

    def corrections(self, document_id: str | None = None) -> list[CorrectionRecord]:
        """Corrections in the order they were made (of one document, or all)."""
        with self._session() as s:
            q = select(CorrectionRow).order_by(CorrectionRow.id)
            if document_id is not None:
                q = q.where(CorrectionRow.document_id == document_id)
            return [CorrectionRecord(r.document_id, r.field, r.old_value.get("value"),
                                     r.new_value.get("value"), r.corrected_by, r.corrected_at,
                                     r.id) for r in s.scalars(q)]

    def remove_document(self, document_id: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(delete(PageRow).where(PageRow.document_id == document_id))
            s.execute(delete(DocumentRow).where(DocumentRow.id == document_id))

    def record_rejection(self, rej: RejectionRecord) -> RejectionRecord:
        """Remember a rejected file once per content; a re-run counts another attempt (in
        SQL, so that two processes rejecting the same file at once count two)."""
        now = _now()
        values = {n: getattr(rej, n) for n in _names(RejectionRecord)
                  if n not in ("first_seen", "last_seen", "attempts")}
        stmt = self._insert(RejectionRow).values(**values, attempts=1, first_seen=now,
                                                 last_seen=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["sha256"],
            set_={**{k: v for k, v in values.items() if k != "sha256"}, "last_seen": now,
                  "attempts": RejectionRow.__table__.c.attempts + 1})
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt)
            row = s.get(RejectionRow, rej.sha256, populate_existing=True)
            return RejectionRecord(**{n: getattr(row, n) for n in _names(RejectionRecord)})

    def clear_rejection(self, sha256: str) -> RejectionRecord | None:
        """Forget a rejection (the file has since been processed); returns what was removed."""
        with self._guard(), self._session() as s, s.begin():
            row = s.get(RejectionRow, sha256)
            if row is None:
                return None
            rec = RejectionRecord(**{n: getattr(row, n) for n in _names(RejectionRecord)})
            s.delete(row)
            return rec

    def rejections(self) -> list[RejectionRecord]:
        with self._session() as s:
            rows = s.scalars(select(RejectionRow).order_by(RejectionRow.last_seen.desc()))
            return [RejectionRecord(**{n: getattr(r, n) for n in _names(RejectionRecord)})
                    for r in rows]

    def documents(self, *, status: str | None = None,
                  order: str = "created") -> Iterator[DocumentRecord]:
        """Documents without their pages, oldest first (or by id), read in batches."""
        last: tuple | None = None
        while True:
            with self._session() as s:
                if order == "id":
                    q = select(DocumentRow).order_by(DocumentRow.id)
                    if last:
                        q = q.where(DocumentRow.id > last[0])
                else:
                    q = select(DocumentRow).order_by(DocumentRow.created_at, DocumentRow.id)
                    if last:
                        q = q.where((DocumentRow.created_at > last[0]) | (
                            (DocumentRow.created_at == last[0]) & (DocumentRow.id > last[1])))
                if status:
                    q = q.where(DocumentRow.status == status)
                rows = [_document(r, with_pages=False) for r in s.scalars(q.limit(500))]
            if not rows:
                return
            yield from rows
            last = (rows[-1].id,) if order == "id" else (rows[-1].created_at, rows[-1].id)

    def page_keys(self) -> Iterator[tuple[str, int]]:
        """(document id, page) of every page of every finished document, sorted."""
        last = ("", 0)
        while True:
            with self._session() as s:
                q = (select(PageRow.document_id, PageRow.number)
                     .join(DocumentRow, DocumentRow.id == PageRow.document_id)
                     .where(DocumentRow.status != "processing")
                     .where((PageRow.document_id > last[0]) | (
                         (PageRow.document_id == last[0]) & (PageRow.number > last[1])))
                     .order_by(PageRow.document_id, PageRow.number).limit(1000))
                rows = [(d, n) for d, n in s.execute(q)]
            if not rows:
                return
            yield from rows
            last = rows[-1]

    def rejected_shas(self) -> set[str]:
        with self._session() as s:
            return set(s.scalars(select(RejectionRow.sha256)))

    def documents_with_pages(self, *, since: dt.datetime | None = None
                             ) -> Iterator[DocumentRecord]:
        """Every document with its pages (changed since a time, if given), in id order,
        read in batches."""
        last = ""
        while True:
            with self._session() as s:
                q = select(DocumentRow).where(DocumentRow.id > last).order_by(DocumentRow.id)
                if since is not None:
                    q = q.where(DocumentRow.updated_at >= since)
                rows = [_document(r, with_pages=True) for r in s.scalars(q.limit(200))]
            if not rows:
                return
            yield from rows
            last = rows[-1].id
