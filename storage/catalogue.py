"""The records catalogue: documents, pages and rejected files, in SQLAlchemy 2.

SQLite (a file under SOHOA_HOME) is the default; any SQLAlchemy URL works. The public surface
takes and returns plain dataclasses, never ORM objects, so callers cannot hold a session open
by accident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from storage.errors import StorageError, StorageUnavailable


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Base(DeclarativeBase):
    pass


class DocumentRow(Base):
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    filename: Mapped[str] = mapped_column(String(512))
    source_path: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    original_key: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), index=True)
    type: Mapped[str] = mapped_column(String(48), default="unknown", index=True)
    type_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    field_details: Mapped[dict] = mapped_column(JSON, default=dict)
    classified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_reasons: Mapped[list] = mapped_column(JSON, default=list)
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                    onupdate=_now)
    pages: Mapped[list[PageRow]] = relationship(back_populates="document",
                                                cascade="all, delete-orphan",
                                                order_by="PageRow.number")


class PageRow(Base):
    __tablename__ = "pages"
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    dpi: Mapped[int] = mapped_column(Integer)
    skew_angle: Mapped[float] = mapped_column(Float)
    rotation: Mapped[int] = mapped_column(Integer)
    rotation_confidence: Mapped[float] = mapped_column(Float)
    ocr_confidence: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    image_key: Mapped[str] = mapped_column(String(256))
    text_key: Mapped[str] = mapped_column(String(256))
    hocr_key: Mapped[str] = mapped_column(String(256))
    words_key: Mapped[str] = mapped_column(String(256))
    text_source: Mapped[str] = mapped_column(String(16), default="ocr")
    rotation_method: Mapped[str] = mapped_column(String(16), default="none")
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[DocumentRow] = relationship(back_populates="pages")


class CorrectionRow(Base):
    """A clerk's correction: kept apart from what the machine read, never overwritten by a
    re-run, and the audit trail of who changed what."""

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             index=True)
    field: Mapped[str] = mapped_column(String(64))  # "type" or a field name
    old_value: Mapped[dict] = mapped_column(JSON)  # {"value": …}
    new_value: Mapped[dict] = mapped_column(JSON)
    corrected_by: Mapped[str] = mapped_column(String(128))
    corrected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class RejectionRow(Base):
    __tablename__ = "rejections"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(512))
    source_path: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(48), index=True)
    message: Mapped[str] = mapped_column(Text)
    quarantine_key: Mapped[str] = mapped_column(String(256))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


@dataclass(frozen=True, slots=True)
class PageRecord:
    document_id: str
    number: int
    width: int
    height: int
    dpi: int
    skew_angle: float
    rotation: int
    rotation_confidence: float
    ocr_confidence: float
    text: str
    image_key: str
    text_key: str
    hocr_key: str
    words_key: str
    text_source: str = "ocr"  # "ocr" | "text_layer"
    needs_review: bool = False
    rotation_method: str = "none"  # "layout" (text shape) | "osd" (Tesseract) | "none"


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: str
    sha256: str
    filename: str
    source_path: str
    media_type: str
    size: int
    original_key: str
    status: str = "processing"  # processing | done
    type: str = "unknown"
    type_confidence: float = 0.0
    fields: dict = field(default_factory=dict)
    dossier_code: str | None = None
    page_count: int = 0
    field_details: dict = field(default_factory=dict)
    classified_by: str | None = None
    review_reasons: tuple[str, ...] = ()
    note: str | None = None  # what intake noticed: a repair, a misleading extension
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    pages: tuple[PageRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class CorrectionRecord:
    document_id: str
    field: str
    old_value: object
    new_value: object
    corrected_by: str
    corrected_at: dt.datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RejectionRecord:
    sha256: str
    filename: str
    source_path: str
    code: str
    message: str
    quarantine_key: str
    attempts: int = 1
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None


def _names(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _page(row: PageRow) -> PageRecord:
    return PageRecord(**{n: getattr(row, n) for n in _names(PageRecord)})


def _document(row: DocumentRow, *, with_pages: bool) -> DocumentRecord:
    values = {n: getattr(row, n) for n in _names(DocumentRecord) if n != "pages"}
    values["fields"] = dict(values["fields"] or {})
    values["field_details"] = dict(values["field_details"] or {})
    values["review_reasons"] = tuple(values["review_reasons"] or ())
    doc = DocumentRecord(**values)
    return replace(doc, pages=tuple(_page(p) for p in row.pages)) if with_pages else doc


class Catalogue:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = create_engine(url, future=True)
            if url.startswith("sqlite"):
                event.listen(self.engine, "connect", _sqlite_pragmas)
            Base.metadata.create_all(self.engine)
        except OperationalError as exc:
            raise StorageUnavailable(f"cannot open the catalogue {url}: {exc.orig}") from exc

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

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
        with self._guard(), self._session() as s, s.begin():
            s.execute(delete(PageRow).where(PageRow.document_id == doc.id))
            row = s.get(DocumentRow, doc.id)
            values = {n: getattr(doc, n) for n in _names(DocumentRecord)
                      if n not in ("pages", "created_at", "updated_at")}
            values["status"] = "processing"
            if row is None:
                s.add(DocumentRow(**values))
            else:
                for k, v in values.items():
                    setattr(row, k, v)

    def save_page(self, page: PageRecord) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.merge(PageRow(**{n: getattr(page, n) for n in _names(PageRecord)}))

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
        """Remember a rejected file once per content; a re-run counts another attempt."""
        with self._guard(), self._session() as s, s.begin():
            row = s.get(RejectionRow, rej.sha256)
            if row is None:
                row = RejectionRow(**{n: getattr(rej, n) for n in _names(RejectionRecord)
                                      if n not in ("first_seen", "last_seen", "attempts")})
                s.add(row)
            else:
                row.attempts += 1
                row.last_seen = _now()
                row.filename, row.source_path = rej.filename, rej.source_path
                row.code, row.message = rej.code, rej.message
                row.quarantine_key = rej.quarantine_key
            s.flush()
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

    def close(self) -> None:
        self.engine.dispose()

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            if isinstance(exc, OperationalError):
                raise StorageUnavailable(f"catalogue write failed: {exc.orig}") from exc
            if isinstance(exc, SQLAlchemyError):
                raise StorageError(f"catalogue error: {exc}") from exc
            return False

    def _guard(self) -> _Guard:
        return self._Guard()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
