"""The catalogue's plumbing: the engine, sessions, dialect-aware INSERTs, error translation,
archive facts (``meta``) and the Alembic migrations applied on open."""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from storage.catalogue.rows import MetaRow
from storage.errors import StorageError, StorageUnavailable


class CatalogueDamaged(StorageError):
    """The catalogue's SQLite file is not a database, or a damaged one: nothing but
    ``sohoa recover`` (which rebuilds it from the object store) helps."""

    code = "catalogue_damaged"

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"the catalogue {where} is damaged ({problem}): run `sohoa recover` "
                         f"to rebuild it from the records in the object store (the damaged "
                         f"file is kept aside, never deleted)")
        self.where, self.problem = where, problem


class CatalogueBase:
    """Opens (and migrates) the catalogue; the mixins of ``Catalogue`` build on its
    ``_session``, ``_insert`` and ``_guard``.

    ``if_new`` is called when the catalogue is about to be made (no SQLite file yet, or an
    empty one; a PostgreSQL database without sohoa's tables), before anything is written:
    it may refuse (raise) when a catalogue should already exist."""

    def __init__(self, url: str, *, if_new: Callable[[], None] | None = None) -> None:
        self.url = url
        path = sqlite_file(url)
        if path is not None and (problem := sqlite_damage(path)):
            raise CatalogueDamaged(str(path), problem)
        try:
            self.engine = create_engine(url, future=True, pool_pre_ping=True)
            if url.startswith("sqlite"):
                event.listen(self.engine, "connect", _sqlite_pragmas)
                event.listen(self.engine, "handle_error", _sqlite_damage_error(url))
            if if_new is not None and self.is_new(path):
                if_new()
            migrate(self.engine)
        except OperationalError as exc:
            self._dispose()
            raise StorageUnavailable(f"cannot open the catalogue {_safe_url(url)}: "
                                     f"{exc.orig}") from exc
        except BaseException:
            self._dispose()
            raise

    def _dispose(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.dispose()

    def is_new(self, path: Path | None = None) -> bool:
        """Whether no catalogue exists here yet (checked before migrating: a SQLite file
        missing or empty, a database without sohoa's tables)."""
        if path is not None:
            return not path.exists() or path.stat().st_size == 0
        if self.url.startswith("sqlite"):
            return False  # in memory, or a URI: made on the spot
        with self.engine.connect() as conn:
            names = inspect(conn).get_table_names()
        return "documents" not in names and "alembic_version" not in names

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


HEAD = "0009"  # the newest migration in storage/migrations/versions
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
    before migrations existed (tables, no ``alembic_version``) is stamped as 0001 first.
    One process migrates at a time: PostgreSQL's advisory lock; for a SQLite file, a lock
    file beside it (two first runs on a new home would otherwise both create the tables)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        with _file_lock(Path(f"{database}.migrate-lock")):
            return _migrate(engine)
    return _migrate(engine)


@contextlib.contextmanager
def _file_lock(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _migrate(engine) -> str:
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


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite catalogue URL (None: not SQLite, in memory, or a URI)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


_HEADER = b"SQLite format 3\x00"


def sqlite_damage(path: Path) -> str | None:
    """What is wrong with a SQLite file, from its 100-byte header and its size alone (no
    read of the rest: cheap on every open); None when nothing is seen (or no file yet).
    Damage further in is met when the pages are read (``_sqlite_damage_error``)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return None  # an empty file is an empty database
        with open(path, "rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"it cannot be read: {exc.strerror or exc}"
    if len(header) < 100 or not header.startswith(_HEADER):
        return "it is not a SQLite database"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack(">I", header[28:32])[0]
    valid = header[24:28] == header[92:96]  # the in-header size is current (SQLite 3.7.0+)
    wal = Path(f"{path}-wal")
    unfinished_wal = wal.exists() and wal.stat().st_size > 0  # a checkpoint may complete it
    if valid and pages and not unfinished_wal and size < pages * page_size:
        return f"it is cut short: {size} bytes of {pages * page_size}"
    return None


def _sqlite_damage_error(url: str):
    """A ``handle_error`` hook: SQLite's "not a database" and "malformed" become
    CatalogueDamaged, wherever they are met, which says what to do."""
    where = str(sqlite_file(url) or url)

    def hook(context) -> None:
        exc = context.original_exception
        if not isinstance(exc, sqlite3.DatabaseError):
            return
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (11, 26) or "malformed" in str(exc) or "not a database" in str(exc):
            raise CatalogueDamaged(where, str(exc)) from exc  # SQLITE_CORRUPT, SQLITE_NOTADB

    return hook


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
