"""The catalogue's tables as SQLAlchemy ORM rows (the schema itself is owned by the Alembic
migrations in ``storage/migrations``; ``tests/contract`` checks that both agree)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


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
    # printed | handwritten | mixed, the handwritten regions, and the text search may hold
    # (without what was "read" from handwriting; None: all of ``text``): migration 0008
    script: Mapped[str] = mapped_column(String(12), default="printed")
    script_regions: Mapped[list | None] = mapped_column(JSON, nullable=True, default=list)
    index_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The field records extracted from this page (dicts). Empty for pages before 0006.
    fields: Mapped[list | None] = mapped_column(JSON, nullable=True, default=list)
    # Migration 0009. The page's ALTO XML object (None for pages stored before: it is made
    # from the words object when asked), and the scan as sent (ocr/resolution.py): the dpi
    # the file declares and the one its letters imply, the effective one (and which it is),
    # colour depth, and what falls short of Circular 05/2025/TT-BNV ("low_resolution",
    # "not_colour", "low_colour_depth"). None where not known (pages stored before 0009,
    # born-digital pages).
    alto_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    declared_dpi: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_dpi: Mapped[int | None] = mapped_column(Integer, nullable=True)
    effective_dpi: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dpi_source: Mapped[str | None] = mapped_column(String(12), nullable=True)
    colour_bits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    colour_mode: Mapped[str | None] = mapped_column(String(12), nullable=True)
    scan_flags: Mapped[list | None] = mapped_column(JSON, nullable=True, default=list)
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
