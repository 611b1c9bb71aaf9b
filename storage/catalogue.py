"""The records catalogue: documents, pages and rejected files, in SQLAlchemy 2.

SQLite (a file under SOHOA_HOME) is the default; PostgreSQL (``postgresql+psycopg://…``) is
the catalogue for several machines. The schema is owned by the Alembic migrations in
``storage/migrations``, applied when a catalogue is opened (under an advisory lock on
PostgreSQL, so that workers starting together migrate once). The public surface takes and
returns plain dataclasses, never ORM objects, so callers cannot hold a session open by
accident.

Several processes may write at once: inserts that can race (a document, a rejection) are
single ``INSERT … ON CONFLICT`` statements, and counters are incremented in SQL, so no update
is lost and no row is duplicated on either database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    case,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    text,
    update,
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
    # SHA-256 of each derived object by role ("image", "text", "hocr", "words"): what fixity
    # checks compare the store against. Empty for pages stored before migration 0002.
    hashes: Mapped[dict | None] = mapped_column(JSON, nullable=True, default=dict)
    codes: Mapped[list | None] = mapped_column(JSON, nullable=True, default=list)  # QR payloads
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


class MetaRow(Base):
    """Facts about the archive itself, e.g. ``storage_url``: where its objects live."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class FixityRunRow(Base):
    """One ``sohoa verify`` run: what it checked and what it found."""

    __tablename__ = "fixity_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)
    since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    storage_url: Mapped[str] = mapped_column(Text, default="")
    checked: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    orphaned: Mapped[int] = mapped_column(Integer, default=0)


class FixityFindingRow(Base):
    __tablename__ = "fixity_findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("fixity_runs.id", ondelete="CASCADE"),
                                        index=True)
    problem: Mapped[str] = mapped_column(String(16))  # missing | changed | orphaned
    key: Mapped[str] = mapped_column(String(256))
    document_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    expected: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actual: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DossierRow(Base):
    """A dossier (hồ sơ) of the one-stop-shop system, by its code."""

    __tablename__ = "dossiers"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    procedure: Mapped[str | None] = mapped_column(Text, nullable=True)
    applicant_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    applicant_id: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    received_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    status: Mapped[str] = mapped_column(String(24), default="received")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class DossierLinkRow(Base):
    """A document filed under a dossier: as a record (receipt, application) or as one of its
    results, numbered ``<code>-KQ(n)``. A document can belong to several dossiers."""

    __tablename__ = "dossier_links"
    code: Mapped[str] = mapped_column(ForeignKey("dossiers.code", ondelete="CASCADE"),
                                      primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(8))  # record | result
    result_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    linked_by: Mapped[str] = mapped_column(String(16))  # manifest | receipt | qr | text | clerk
    actor: Mapped[str] = mapped_column(String(128), default="sohoa")
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class LinkConflictRow(Base):
    """Two codes for one document, or a code that fails validation: reported, not resolved."""

    __tablename__ = "link_conflicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    codes: Mapped[list] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PersonRow(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    personal_id: Mapped[str | None] = mapped_column(String(12), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(Text)
    folded_name: Mapped[str] = mapped_column(String(160), index=True)
    date_of_birth: Mapped[str | None] = mapped_column(String(10), nullable=True)
    merged_into: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PersonDocumentRow(Base):
    __tablename__ = "person_documents"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                           primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class AuditRow(Base):
    """Append-only (triggers refuse UPDATE and DELETE): who read which personal record,
    when, through which channel."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # cli | web | api | citizen
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class CopyRow(Base):
    """An electronic copy issued from a record: its hash and verification code."""

    __tablename__ = "copies"
    verification_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    result_code: Mapped[str | None] = mapped_column(String(48), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class BatchRow(Base):
    """A batch queued for the workers (``sohoa ingest --queue``)."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    created_by: Mapped[str] = mapped_column(String(128), default="sohoa")


class BatchFileRow(Base):
    """Each file of a batch and what intake made of it."""

    __tablename__ = "batch_files"
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"),
                                          primary_key=True)
    file: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    document_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | duplicate | rejected
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class PageJobRow(Base):
    """One page's work on the queue: its state, how often it started, who ran it."""

    __tablename__ = "page_jobs"
    document_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(32), index=True)
    # queued | running | done | failed (the page could not be read) | quarantined (it
    # crashed or stalled its worker too often) | cancelled (another page of it failed)
    state: Mapped[str] = mapped_column(String(16), index=True)
    starts: Mapped[int] = mapped_column(Integer, default=0)
    crashes: Mapped[int] = mapped_column(Integer, default=0)  # starts that never ended
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class UserRow(Base):
    """A staff account of the web application."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # archivist | clerk | admin
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SessionRow(Base):
    """A signed-in browser: only the SHA-256 of its cookie is kept."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


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
    hashes: dict = field(default_factory=dict)  # role -> SHA-256 of the stored object
    codes: list = field(default_factory=list)  # what QR codes and barcodes on it say


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


@dataclass(frozen=True, slots=True)
class FixityFinding:
    problem: str  # missing | changed | orphaned
    key: str
    document_id: str | None = None
    expected: str | None = None
    actual: str | None = None


@dataclass(frozen=True, slots=True)
class FixityRun:
    id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    since: dt.datetime | None
    storage_url: str
    checked: int
    missing: int
    changed: int
    orphaned: int
    findings: tuple[FixityFinding, ...] = ()


@dataclass(frozen=True, slots=True)
class DossierRecord:
    code: str
    procedure: str | None = None
    applicant_name: str | None = None
    applicant_id: str | None = None
    received_date: str | None = None
    status: str = "received"


@dataclass(frozen=True, slots=True)
class DossierLink:
    code: str
    document_id: str
    role: str  # record | result
    result_number: int | None
    linked_by: str
    actor: str
    linked_at: dt.datetime | None = None

    @property
    def result_code(self) -> str | None:
        return f"{self.code}-KQ({self.result_number})" if self.result_number else None


@dataclass(frozen=True, slots=True)
class LinkConflict:
    document_id: str | None
    codes: tuple[str, ...]
    reason: str
    source: str
    at: dt.datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class PersonRecord:
    id: int
    name: str
    folded_name: str
    personal_id: str | None = None
    date_of_birth: str | None = None
    merged_into: int | None = None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    role: str
    password_hash: str = field(repr=False, default="")
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    channel: str
    action: str
    target: str
    detail: dict = field(default_factory=dict)
    at: dt.datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CopyRecord:
    verification_code: str
    sha256: str
    document_id: str
    result_code: str | None
    channel: str
    issued_at: dt.datetime | None = None


def _user(row) -> UserRecord:
    return UserRecord(row.id, row.username, row.role, row.password_hash, row.disabled)


def _names(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _page(row: PageRow) -> PageRecord:
    values = {n: getattr(row, n) for n in _names(PageRecord)}
    values["hashes"] = dict(values["hashes"] or {})
    values["codes"] = list(values["codes"] or [])
    return PageRecord(**values)


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
            self.engine = create_engine(url, future=True, pool_pre_ping=True)
            if url.startswith("sqlite"):
                event.listen(self.engine, "connect", _sqlite_pragmas)
            migrate(self.engine)
        except OperationalError as exc:
            raise StorageUnavailable(f"cannot open the catalogue {_safe_url(url)}: "
                                     f"{exc.orig}") from exc

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _insert(self, table):
        """An INSERT that can say ON CONFLICT, in this database's dialect."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif self.engine.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover - other databases are not supported
            raise StorageError(f"unsupported catalogue database {self.engine.dialect.name}")
        return insert(table)

    # ------------------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        with self._session() as s:
            row = s.get(MetaRow, key)
            return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        stmt = self._insert(MetaRow).values(key=key, value=value)
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                                 set_={"value": value}))

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

    # -------------------------------------------------------------------------- dossiers
    def upsert_dossier(self, d: DossierRecord) -> DossierRecord:
        """Create the dossier, or fill in what it did not know yet (never overwrite a known
        value: a receipt read by OCR must not replace what a manifest or clerk gave)."""
        values = {n: getattr(d, n) for n in _names(DossierRecord)}
        stmt = self._insert(DossierRow).values(**values, created_at=_now())
        table = DossierRow.__table__
        fill = {n: func.coalesce(table.c[n], stmt.excluded[n])
                for n in ("procedure", "applicant_name", "applicant_id", "received_date")}
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=fill))
            row = s.get(DossierRow, d.code, populate_existing=True)
            return DossierRecord(**{n: getattr(row, n) for n in _names(DossierRecord)})

    def get_dossier(self, code: str) -> DossierRecord | None:
        with self._session() as s:
            row = s.get(DossierRow, code)
            return DossierRecord(**{n: getattr(row, n) for n in _names(DossierRecord)}) \
                if row else None

    def link(self, code: str, document_id: str, *, role: str, linked_by: str,
             actor: str = "sohoa") -> DossierLink:
        """File a document under a dossier (the dossier must exist); a result gets the next
        number. Linking again changes nothing and returns the existing link."""
        with self._guard(), self._session() as s, s.begin():
            if self.engine.dialect.name == "postgresql":  # numbering: one linker at a time
                s.execute(select(DossierRow.code).where(DossierRow.code == code)
                          .with_for_update())
            row = s.get(DossierLinkRow, (code, document_id))
            if row is None:
                number = None
                if role == "result":
                    number = (s.scalar(select(func.max(DossierLinkRow.result_number))
                                       .where(DossierLinkRow.code == code)) or 0) + 1
                row = DossierLinkRow(code=code, document_id=document_id, role=role,
                                     result_number=number, linked_by=linked_by, actor=actor,
                                     linked_at=_now())
                s.add(row)
                s.flush()
            return DossierLink(**{n: getattr(row, n) for n in _names(DossierLink)})

    def links(self, *, code: str | None = None,
              document_id: str | None = None) -> list[DossierLink]:
        with self._session() as s:
            q = select(DossierLinkRow).order_by(DossierLinkRow.code,
                                                DossierLinkRow.result_number,
                                                DossierLinkRow.linked_at)
            if code is not None:
                q = q.where(DossierLinkRow.code == code)
            if document_id is not None:
                q = q.where(DossierLinkRow.document_id == document_id)
            return [DossierLink(**{n: getattr(r, n) for n in _names(DossierLink)})
                    for r in s.scalars(q)]

    def add_conflict(self, c: LinkConflict) -> None:
        """Record a conflict once (the same one found again, by a re-run, is not repeated)."""
        with self._guard(), self._session() as s, s.begin():
            if s.scalar(select(LinkConflictRow.id).where(
                    LinkConflictRow.document_id.is_(None) if c.document_id is None
                    else LinkConflictRow.document_id == c.document_id,
                    LinkConflictRow.reason == c.reason).limit(1)) is not None:
                return
            s.add(LinkConflictRow(document_id=c.document_id, codes=list(c.codes),
                                  reason=c.reason, source=c.source))

    def conflicts(self, document_id: str | None = None) -> list[LinkConflict]:
        with self._session() as s:
            q = select(LinkConflictRow).order_by(LinkConflictRow.id)
            if document_id is not None:
                q = q.where(LinkConflictRow.document_id == document_id)
            return [LinkConflict(r.document_id, tuple(r.codes or ()), r.reason, r.source, r.at,
                                 r.id) for r in s.scalars(q)]

    # ---------------------------------------------------------------------------- people
    def find_or_add_person(self, *, name: str, folded_name: str, personal_id: str | None,
                           date_of_birth: str | None) -> PersonRecord | None:
        """The person with this ID number; else with this folded name and date of birth;
        else a new one. None when neither an ID nor a date of birth is known (a name
        alone does not identify anyone)."""
        if not personal_id and not date_of_birth:
            return None
        with self._guard(), self._session() as s, s.begin():
            row = None
            if personal_id:
                row = s.scalars(select(PersonRow).where(PersonRow.personal_id == personal_id)
                                ).first()
            if row is None and date_of_birth:
                q = select(PersonRow).where(PersonRow.folded_name == folded_name,
                                            PersonRow.date_of_birth == date_of_birth,
                                            PersonRow.merged_into.is_(None))
                if personal_id:  # someone else's ID number is someone else
                    q = q.where(PersonRow.personal_id.is_(None))
                row = s.scalars(q.order_by(PersonRow.id)).first()
                if row is not None and personal_id:
                    row.personal_id = personal_id
            if row is None:
                row = PersonRow(name=name, folded_name=folded_name, personal_id=personal_id,
                                date_of_birth=date_of_birth)
                s.add(row)
            elif row.date_of_birth is None and date_of_birth:
                row.date_of_birth = date_of_birth
            s.flush()
            while row.merged_into is not None:
                row = s.get(PersonRow, row.merged_into)
            return PersonRecord(**{n: getattr(row, n) for n in _names(PersonRecord)})

    def add_person_document(self, person_id: int, document_id: str, role: str) -> None:
        stmt = self._insert(PersonDocumentRow).values(person_id=person_id,
                                                      document_id=document_id, role=role)
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt.on_conflict_do_nothing())

    def person(self, key: str) -> PersonRecord | None:
        """A person by 12-digit ID number or by record number; merged records lead to the
        record they were merged into."""
        with self._session() as s:
            row = None
            if len(key) == 12 and key.isdigit():
                row = s.scalars(select(PersonRow).where(PersonRow.personal_id == key)).first()
            if row is None and key.isdigit() and len(key) < 12:
                row = s.get(PersonRow, int(key))
            while row is not None and row.merged_into is not None:
                row = s.get(PersonRow, row.merged_into)
            return PersonRecord(**{n: getattr(row, n) for n in _names(PersonRecord)}) \
                if row else None

    def person_documents(self, person_id: int) -> list[tuple[str, str]]:
        """(document id, role) of the person and of every record merged into it."""
        with self._session() as s:
            ids = [person_id]
            frontier = [person_id]
            while frontier:
                frontier = list(s.scalars(select(PersonRow.id)
                                          .where(PersonRow.merged_into.in_(frontier))))
                ids += frontier
            rows = s.execute(select(PersonDocumentRow.document_id, PersonDocumentRow.role)
                             .where(PersonDocumentRow.person_id.in_(ids))
                             .order_by(PersonDocumentRow.document_id))
            return [(d, r) for d, r in rows]

    def merge_people(self, keep: int, other: int) -> None:
        with self._guard(), self._session() as s, s.begin():
            a, b = s.get(PersonRow, keep), s.get(PersonRow, other)
            if a is None or b is None or keep == other:
                raise StorageError(f"cannot merge person {other} into {keep}")
            if a.personal_id and b.personal_id and a.personal_id != b.personal_id:
                raise StorageError(f"people {keep} and {other} have different ID numbers "
                                   f"({a.personal_id}, {b.personal_id}): not the same person")
            b.merged_into = keep
            if not a.personal_id and b.personal_id:
                pid, b.personal_id = b.personal_id, None
                s.flush()
                a.personal_id = pid
            a.date_of_birth = a.date_of_birth or b.date_of_birth

    # ----------------------------------------------------------------------- audit, copies
    def audit(self, e: AuditEntry) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.add(AuditRow(actor=e.actor, channel=e.channel, action=e.action, target=e.target,
                           detail=e.detail, at=_now()))

    def audit_entries(self, *, actor: str | None = None, target: str | None = None,
                      since: dt.datetime | None = None, limit: int = 1000) -> list[AuditEntry]:
        with self._session() as s:
            q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            if actor:
                q = q.where(AuditRow.actor == actor)
            if target:
                q = q.where(AuditRow.target == target)
            if since:
                q = q.where(AuditRow.at >= since)
            return [AuditEntry(r.actor, r.channel, r.action, r.target, dict(r.detail or {}),
                               r.at, r.id) for r in s.scalars(q)]

    def add_copy(self, c: CopyRecord) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.add(CopyRow(verification_code=c.verification_code, sha256=c.sha256,
                          document_id=c.document_id, result_code=c.result_code,
                          channel=c.channel, issued_at=_now()))

    def copies_by_sha(self, sha256: str) -> list[CopyRecord]:
        with self._session() as s:
            return [CopyRecord(r.verification_code, r.sha256, r.document_id, r.result_code,
                               r.channel, r.issued_at)
                    for r in s.scalars(select(CopyRow).where(CopyRow.sha256 == sha256))]

    # ----------------------------------------------------------------- users, sessions
    def add_user(self, username: str, password_hash: str, role: str) -> UserRecord:
        with self._guard(), self._session() as s, s.begin():
            if s.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
                raise StorageError(f"a user {username} exists already")
            row = UserRow(username=username, password_hash=password_hash, role=role)
            s.add(row)
            s.flush()
            return _user(row)

    def set_password(self, username: str, password_hash: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(UserRow).where(UserRow.username == username)
                      .values(password_hash=password_hash))

    def user(self, username: str | None = None, *, user_id: int | None = None
             ) -> UserRecord | None:
        with self._session() as s:
            row = s.get(UserRow, user_id) if user_id is not None else s.scalars(
                select(UserRow).where(UserRow.username == username)).first()
            return _user(row) if row else None

    def users(self) -> list[UserRecord]:
        with self._session() as s:
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.username))]

    def add_session(self, token_hash: str, user_id: int, csrf: str,
                    expires_at: dt.datetime) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.add(SessionRow(token_hash=token_hash, user_id=user_id, csrf=csrf,
                             expires_at=expires_at))

    def session(self, token_hash: str) -> tuple[UserRecord, str, dt.datetime] | None:
        """(user, CSRF token, expiry) of a live session of an enabled user."""
        with self._session() as s:
            row = s.get(SessionRow, token_hash)
            if row is None:
                return None
            user = s.get(UserRow, row.user_id)
            expires = row.expires_at if row.expires_at.tzinfo else \
                row.expires_at.replace(tzinfo=dt.UTC)
            if user is None or user.disabled or expires < _now():
                return None
            return _user(user), row.csrf, expires

    def delete_session(self, token_hash: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash))

    def copy_by_code(self, verification_code: str) -> CopyRecord | None:
        with self._session() as s:
            r = s.get(CopyRow, verification_code)
            return CopyRecord(r.verification_code, r.sha256, r.document_id, r.result_code,
                              r.channel, r.issued_at) if r else None

    # --------------------------------------------------------------------- batches, jobs
    def create_batch(self, batch_id: str, created_by: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.add(BatchRow(id=batch_id, created_by=created_by))

    def batch_exists(self, batch_id: str) -> bool:
        with self._session() as s:
            return s.get(BatchRow, batch_id) is not None

    def add_batch_file(self, batch_id: str, file: str, *, sha256: str | None,
                       document_id: str | None, state: str, error: dict | None = None) -> None:
        values = {"batch_id": batch_id, "file": file[:1024], "sha256": sha256,
                  "document_id": document_id, "state": state, "error": error}
        stmt = self._insert(BatchFileRow).values(**values)
        with self._guard(), self._session() as s, s.begin():
            s.execute(stmt.on_conflict_do_update(
                index_elements=["batch_id", "file"],
                set_={k: v for k, v in values.items() if k not in ("batch_id", "file")}))

    def set_batch_file_state(self, document_id: str, state: str, error: dict | None) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(BatchFileRow).where(BatchFileRow.document_id == document_id)
                      .values(state=state, error=error))

    def add_page_jobs(self, batch_id: str, document_id: str, pages: int) -> None:
        """Queue every page of a document (a page already done stays done)."""
        now = _now()
        with self._guard(), self._session() as s, s.begin():
            for n in range(1, pages + 1):
                stmt = self._insert(PageJobRow).values(
                    document_id=document_id, number=n, batch_id=batch_id, state="queued",
                    starts=0, crashes=0, queued_at=now)
                s.execute(stmt.on_conflict_do_update(
                    index_elements=["document_id", "number"],
                    set_={"batch_id": batch_id, "queued_at": now, "state": "queued",
                          "starts": 0, "crashes": 0, "error": None},
                    where=PageJobRow.__table__.c.state != "done"))

    def start_page_job(self, document_id: str, number: int, worker: str) -> int | None:
        """Mark the page running, in one statement. Returns how many earlier starts never
        ended (a worker died under it), or None when there is nothing to do (done,
        failed, quarantined, cancelled, unknown)."""
        t = PageJobRow.__table__.c
        with self._guard(), self._session() as s, s.begin():
            res = s.execute(update(PageJobRow).where(
                PageJobRow.document_id == document_id, PageJobRow.number == number,
                PageJobRow.state.in_(("queued", "running"))).values(
                crashes=t.crashes + case((t.state == "running", 1), else_=0),
                starts=t.starts + 1, state="running", started_at=_now(), worker=worker[:128]))
            if res.rowcount == 0:
                return None
            return s.scalar(select(PageJobRow.crashes).where(
                PageJobRow.document_id == document_id, PageJobRow.number == number))

    def end_page_job(self, document_id: str, number: int, state: str,
                     error: str | None = None) -> int:
        """Record how the page ended (``queued`` again: to be retried); returns how many
        pages of its document are not done yet."""
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(PageJobRow).where(
                PageJobRow.document_id == document_id, PageJobRow.number == number).values(
                state=state, error=error,
                finished_at=_now() if state != "queued" else None,
                queued_at=_now() if state == "queued" else PageJobRow.queued_at))
            return s.scalar(select(func.count()).select_from(PageJobRow).where(
                PageJobRow.document_id == document_id, PageJobRow.state != "done"))

    def cancel_page_jobs(self, document_id: str, reason: str) -> None:
        with self._guard(), self._session() as s, s.begin():
            s.execute(update(PageJobRow).where(
                PageJobRow.document_id == document_id,
                PageJobRow.state.in_(("queued", "running", "done"))).values(
                state="cancelled", error=reason, finished_at=_now()))

    def page_jobs(self, *, batch_id: str | None = None, document_id: str | None = None,
                  states: tuple[str, ...] | None = None) -> list[dict]:
        with self._session() as s:
            q = select(PageJobRow).order_by(PageJobRow.document_id, PageJobRow.number)
            if batch_id:
                q = q.where(PageJobRow.batch_id == batch_id)
            if document_id:
                q = q.where(PageJobRow.document_id == document_id)
            if states:
                q = q.where(PageJobRow.state.in_(states))
            return [{c.name: getattr(r, c.name) for c in PageJobRow.__table__.columns}
                    for r in s.scalars(q)]

    def batch_summary(self, batch_id: str, window: dt.timedelta) -> dict:
        """Pages per state, files per state, and pages finished within ``window``."""
        with self._session() as s:
            pages = dict(s.execute(select(PageJobRow.state, func.count())
                                   .where(PageJobRow.batch_id == batch_id)
                                   .group_by(PageJobRow.state)).all())
            files = dict(s.execute(select(BatchFileRow.state, func.count())
                                   .where(BatchFileRow.batch_id == batch_id)
                                   .group_by(BatchFileRow.state)).all())
            since = _now() - window
            recent = s.scalar(select(func.count()).select_from(PageJobRow).where(
                PageJobRow.batch_id == batch_id, PageJobRow.state == "done",
                PageJobRow.finished_at >= since))
            first = s.scalar(select(func.min(PageJobRow.finished_at)).where(
                PageJobRow.batch_id == batch_id, PageJobRow.state == "done"))
            rejected = [{"file": r.file, "error": r.error} for r in s.scalars(
                select(BatchFileRow).where(BatchFileRow.batch_id == batch_id,
                                           BatchFileRow.state == "rejected"))]
            return {"pages": pages, "files": files, "recent_done": recent,
                    "first_done_at": first, "rejected": rejected}

    def stale_page_jobs(self, *, running_before: dt.datetime,
                        queued_before: dt.datetime | None) -> list[tuple[str, int, str]]:
        """(document, page, state) of pages running since before ``running_before`` (their
        worker is gone) or queued since before ``queued_before``."""
        with self._session() as s:
            cond = (PageJobRow.state == "running") & (PageJobRow.started_at < running_before)
            if queued_before is not None:
                cond = cond | ((PageJobRow.state == "queued")
                               & (PageJobRow.queued_at < queued_before))
            return [(d, n, st) for d, n, st in s.execute(
                select(PageJobRow.document_id, PageJobRow.number, PageJobRow.state)
                .where(cond).order_by(PageJobRow.queued_at).limit(10000))]

    def touch_page_job(self, document_id: str, number: int, *,
                       older_than: dt.datetime | None = None) -> bool:
        """Queued again now, in one statement (so that of several sweepers, one wins). A page
        found running counts a crash: its worker is gone. With ``older_than``, only a page
        running or queued since before then."""
        t = PageJobRow.__table__.c
        cond = [PageJobRow.document_id == document_id, PageJobRow.number == number,
                PageJobRow.state.in_(("queued", "running"))]
        if older_than is not None:
            cond.append(((t.state == "running") & (t.started_at < older_than))
                        | ((t.state == "queued") & (t.queued_at < older_than)))
        with self._guard(), self._session() as s, s.begin():
            res = s.execute(update(PageJobRow).where(*cond).values(
                crashes=t.crashes + case((t.state == "running", 1), else_=0),
                state="queued", queued_at=_now()))
            return res.rowcount > 0

    # ---------------------------------------------------------------------------- fixity
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

    def document_ids(self) -> set[str]:
        with self._session() as s:
            return set(s.scalars(select(DocumentRow.id)))

    def rejected_shas(self) -> set[str]:
        with self._session() as s:
            return set(s.scalars(select(RejectionRow.sha256)))

    def dossier_documents(self, code: str) -> list[DocumentRecord]:
        """Finished documents filed under a dossier code, with their pages."""
        with self._session() as s:
            linked = select(DossierLinkRow.document_id).where(DossierLinkRow.code == code)
            rows = s.scalars(select(DocumentRow).where((DocumentRow.dossier_code == code)
                                                       | DocumentRow.id.in_(linked))
                             .where(DocumentRow.status != "processing")
                             .order_by(DocumentRow.created_at, DocumentRow.id))
            return [_document(r, with_pages=True) for r in rows]

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


HEAD = "0005"  # the newest migration in storage/migrations/versions
_LOCK = 727_105  # PostgreSQL advisory lock id: one process migrates at a time


def _alembic_config(connection):
    from alembic.config import Config

    from storage import migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine) -> str:
    """Bring the schema to the newest migration and return its revision. A catalogue made
    before migrations existed (tables, no ``alembic_version``) is stamped as 0001 first."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        current = MigrationContext.configure(conn).get_current_revision()
        if current == HEAD:
            return current
        if current is None and "documents" in inspect(conn).get_table_names():
            command.stamp(_alembic_config(conn), "0001")
        command.upgrade(_alembic_config(conn), "head")
        return MigrationContext.configure(conn).get_current_revision()


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
