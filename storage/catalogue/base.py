"""The catalogue's plumbing: the engine, sessions, dialect-aware INSERTs, error translation,
archive facts (``meta``) and the Alembic migrations applied on open."""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from storage.catalogue.rows import MetaRow
from storage.errors import StorageError, StorageUnavailable


class CatalogueBase:
    """Opens (and migrates) the catalogue; the mixins of ``Catalogue`` build on its
    ``_session``, ``_insert`` and ``_guard``."""

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


HEAD = "0008"  # the newest migration in storage/migrations/versions
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


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
