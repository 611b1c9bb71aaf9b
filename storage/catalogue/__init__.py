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

One module per aggregate: ``rows`` (the tables), ``records`` (the dataclasses), ``base``
(engine, sessions, meta, migrations), then ``documents``, ``dossiers`` (with people and
copies), ``batches``, ``users``, ``audit`` and ``fixity``, composed here into ``Catalogue``;
``snapshots`` reads a document's rows out as plain values and writes them back (what the
object store keeps so that a lost catalogue can be rebuilt: ``sohoa recover``).
"""

from __future__ import annotations

from storage.catalogue.audit import AuditMixin
from storage.catalogue.base import _LOCK as _LOCK
from storage.catalogue.base import (
    HEAD,
    CatalogueBase,
    CatalogueDamaged,
    migrate,
    sqlite_damage,
    sqlite_file,
)
from storage.catalogue.base import _alembic_config as _alembic_config
from storage.catalogue.base import _safe_url as _safe_url
from storage.catalogue.base import _sqlite_pragmas as _sqlite_pragmas
from storage.catalogue.batches import BatchesMixin
from storage.catalogue.documents import DocumentsMixin
from storage.catalogue.dossiers import DossiersMixin
from storage.catalogue.fixity import FixityMixin
from storage.catalogue.keying import AlreadyKeyed, Keying, KeyingMixin, KeyingTask
from storage.catalogue.records import (
    AuditEntry,
    CopyRecord,
    CorrectionRecord,
    DocumentRecord,
    DossierLink,
    DossierRecord,
    FixityFinding,
    FixityRun,
    LinkConflict,
    PageRecord,
    PersonRecord,
    RejectionRecord,
    UserRecord,
)
from storage.catalogue.records import _document as _document
from storage.catalogue.records import _names as _names
from storage.catalogue.records import _page as _page
from storage.catalogue.records import _user as _user
from storage.catalogue.rows import (
    AuditRow,
    Base,
    BatchFileRow,
    BatchRow,
    CopyRow,
    CorrectionRow,
    DocumentRow,
    DossierLinkRow,
    DossierRow,
    FixityFindingRow,
    FixityRunRow,
    LinkConflictRow,
    MetaRow,
    PageJobRow,
    PageRow,
    PersonDocumentRow,
    PersonRow,
    RejectionRow,
    SessionRow,
    UserRow,
)
from storage.catalogue.rows import _now as _now
from storage.catalogue.snapshots import Restorer, SnapshotsMixin
from storage.catalogue.users import UsersMixin


class Catalogue(DocumentsMixin, DossiersMixin, BatchesMixin, UsersMixin, AuditMixin,
                FixityMixin, KeyingMixin, SnapshotsMixin, CatalogueBase):
    """The catalogue, behind one interface: see the mixins for each aggregate."""


__all__ = [
    "HEAD",
    "AlreadyKeyed",
    "Keying",
    "KeyingTask",
    "AuditEntry",
    "AuditRow",
    "Base",
    "BatchFileRow",
    "BatchRow",
    "Catalogue",
    "CatalogueBase",
    "CatalogueDamaged",
    "CopyRecord",
    "CopyRow",
    "CorrectionRecord",
    "CorrectionRow",
    "DocumentRecord",
    "DocumentRow",
    "DossierLink",
    "DossierLinkRow",
    "DossierRecord",
    "DossierRow",
    "FixityFinding",
    "FixityFindingRow",
    "FixityRun",
    "FixityRunRow",
    "LinkConflict",
    "LinkConflictRow",
    "MetaRow",
    "PageJobRow",
    "PageRecord",
    "PageRow",
    "PersonDocumentRow",
    "PersonRecord",
    "PersonRow",
    "RejectionRecord",
    "RejectionRow",
    "Restorer",
    "SessionRow",
    "UserRecord",
    "UserRow",
    "migrate",
    "sqlite_damage",
    "sqlite_file",
]
