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
    create_engine,
    delete,
    event,
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


def _names(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _page(row: PageRow) -> PageRecord:
    values = {n: getattr(row, n) for n in _names(PageRecord)}
    values["hashes"] = dict(values["hashes"] or {})
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
            rows = s.scalars(select(DocumentRow).where(DocumentRow.dossier_code == code)
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


HEAD = "0002"  # the newest migration in storage/migrations/versions
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
