"""The embedded index's folder: which generation is live, opening one soundly, starting the
next, and telling a damaged index from one that cannot be reached (see ``search.embedded``).

``current`` names the live generation file, ``gen-NNNN.sqlite3``. Damage is: ``current``
missing beside generation files, not a generation's name, or naming a file that is gone; a
generation that is not a SQLite file, is shorter than its header says, or whose pages SQLite
finds malformed. It raises ``IndexDamaged``; a folder that cannot be read or written raises
``SearchUnavailable``. Only generation files (``gen-NNNN.sqlite3`` and its ``-wal``, ``-shm``,
``-journal``), ``current`` and ``lock`` are ever written or removed here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from search.embedded_schema import SCHEMA, SCHEMA_VERSION, schema_version
from search.index import IndexDamaged, SearchUnavailable

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock between processes
    fcntl = None

log = logging.getLogger(__name__)

POINTER = "current"
GENERATION = re.compile(r"gen-(\d{4,})\.sqlite3")
PARTS = re.compile(r"(gen-\d{4,}\.sqlite3)(-wal|-shm|-journal)?")
HEADER = b"SQLite format 3\x00"
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26  # primary result codes: the file is damaged
DAMAGE_WORDS = ("malformed", "not a database", "corrupt", "fts5 file format")


def generation(number: int) -> str:
    return f"gen-{number:04d}.sqlite3"


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether SQLite's error says the file is damaged (not busy, locked, full, unreachable
    or a query it cannot run)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return any(w in text for w in DAMAGE_WORDS)


def file_problem(path: Path) -> str | None:
    """What is wrong with a generation file at a glance: missing, not a SQLite file, shorter
    than its header says. None when nothing shows (pages garbled inside are found when
    SQLite reads them, and by ``generation_problems``)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(100)
    except FileNotFoundError:
        return f"{path.name} is missing"
    except IsADirectoryError:
        return f"{path.name} is a folder, not a database"
    if len(head) < 100 or not head.startswith(HEADER):
        return f"{path.name} is not a SQLite database ({size} bytes)"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    header_valid = head[24:28] == head[92:96]  # else SQLite counts pages from the file size
    try:  # while a WAL is being checkpointed the file may be growing: SQLite reads through
        checkpointing = Path(f"{path}-wal").stat().st_size > 0
    except OSError:
        checkpointing = False
    if header_valid and pages and size < page * pages and not checkpointing:
        return f"{path.name} is truncated: {size} bytes where its header says {page * pages}"
    return None


def generation_problems(db: sqlite3.Connection) -> list[str]:
    """What SQLite's integrity check and FTS5's, over both full-text tables, find wrong in
    an open generation (it is read whole); empty when nothing is."""
    problems = [line for (row,) in db.execute("PRAGMA integrity_check(10)") if row != "ok"
                for line in row.splitlines() if line.strip() and not line.startswith("***")]
    for table in ("page_fts", "name_fts"):
        try:
            db.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            problems.append(f"{table}: {exc}")
        finally:
            db.rollback()  # nothing was written; no transaction is left open
    return problems


def connect(path: Path) -> sqlite3.Connection:
    """A generation opened for use (made when missing), its schema in place."""
    db = sqlite3.connect(path, check_same_thread=False, timeout=30)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-65536")
        db.execute("PRAGMA mmap_size=268435456")
        db.executescript(SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def _reading(path: Path, use):
    """``use(db)`` on a generation that shows no damage at a glance; False when it cannot be
    read."""
    if file_problem(path):
        return False
    try:
        db = sqlite3.connect(path)
    except sqlite3.Error:
        return False
    try:
        return use(db)
    except sqlite3.Error:
        return False
    finally:
        db.close()


def peek(path: Path, sql: str) -> tuple | None | bool:
    """The first row of ``sql`` on a generation that shows no damage at a glance; False
    when it cannot be read."""
    return _reading(path, lambda db: db.execute(sql).fetchone())


class Folder:
    """The generations in one folder, and which one is live."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def damaged(self, problem: str) -> IndexDamaged:
        return IndexDamaged(problem, str(self.path))

    # -------------------------------------------------------------------- the live one
    def pointer(self) -> str | None:
        """The generation ``current`` names; None when there is no ``current``."""
        pointer = self.path / POINTER
        try:
            raw = pointer.read_bytes()
        except FileNotFoundError:
            return None
        except PermissionError as exc:
            raise SearchUnavailable(f"cannot read {pointer}: {exc}") from exc
        except OSError as exc:  # a folder in its place, an I/O error
            raise self.damaged(f"{POINTER} cannot be read: {exc}") from exc
        try:
            name = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            name = ""
        if not GENERATION.fullmatch(name):
            raise self.damaged(f"{POINTER} names no generation: {raw[:40]!r}")
        return name

    def live(self) -> str:
        """The live generation's name. A folder with no index yet gets its first, empty
        generation; a pointer missing beside generation files, or naming a file that is
        gone, is damage."""
        name = self.pointer()
        if name is None:
            with self._lock():
                name = self.pointer() or self._first()
        if not (self.path / name).exists():
            again = self.pointer()  # a rebuild elsewhere may have switched just now
            if again is None or again == name or not (self.path / again).exists():
                raise self.damaged(f"{POINTER} names {name}, which is missing")
            name = again
        return name

    def _first(self) -> str:
        """The first generation of a folder with none, made before ``current`` names it, so
        that ``current`` never names a file that is not there."""
        found = sorted(p.name for p in self.path.iterdir() if GENERATION.fullmatch(p.name))
        first = generation(1)
        if found == [first] and peek(self.path / first, "SELECT 1 FROM page_meta") is None:
            self.set_live(first)  # made by a process stopped before it named it: empty
            return first
        if found:
            raise self.damaged(f"{POINTER} is missing beside {', '.join(found[:5])}; which "
                               f"generation was live is unknown")
        for stale in self.path.glob(f"{first}-*"):  # a WAL left by a file since removed
            stale.unlink()
        db = connect(self.path / first)
        schema_version(db)  # stamped
        db.close()
        self.set_live(first)
        return first

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Held while a first generation is made, so that two processes starting on an
        empty folder do not take each other's half-made generation for damage."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = (self.path / "lock").open("a")
        except OSError as exc:
            raise SearchUnavailable(f"cannot open the search index in {self.path}: "
                                    f"{exc}") from exc
        with handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def set_live(self, name: str) -> None:
        pointer = self.path / POINTER
        if pointer.is_dir() and not pointer.is_symlink():
            try:
                pointer.rmdir()  # an empty folder where the pointer belongs: nothing lost
            except OSError as exc:
                raise self.damaged(f"{pointer} is a folder with files in it: move it out "
                                   f"of the way") from exc
        tmp = self.path / f"{POINTER}.tmp"
        tmp.write_text(name + "\n")
        os.replace(tmp, pointer)

    def open(self, name: str) -> sqlite3.Connection:
        """A connection to generation ``name``: IndexDamaged when the file is not a sound
        SQLite database, SearchUnavailable when it cannot be reached."""
        path = self.path / name
        problem = file_problem(path)
        if problem:
            raise self.damaged(problem)
        db = None
        try:
            db = connect(path)
            version = schema_version(db)
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            if is_damage(exc):
                raise self.damaged(f"{name}: {exc}") from exc
            raise SearchUnavailable(f"cannot open the search index {path}: {exc}") from exc
        if version < SCHEMA_VERSION:
            log.warning("the search index %s was written by an older sohoa: it ranks no "
                        "names until `sohoa reindex` rebuilds it", path)
        return db

    # ---------------------------------------------------------------------- the next one
    def target(self, resume: bool) -> str:
        """The generation a rebuild writes: the one after the live one. With no usable
        ``current``, the one after every generation there, or the highest when it is an
        interrupted rebuild to resume."""
        try:
            live = self.pointer()
        except IndexDamaged:
            live = None
        if live is not None and (self.path / live).exists():
            return generation(int(GENERATION.fullmatch(live).group(1)) + 1)
        numbers = [int(m.group(1)) for p in self.path.iterdir()
                   if (m := GENERATION.fullmatch(p.name))]
        top = max(numbers, default=0)
        if resume and top and self.resumable(generation(top)):
            return generation(top)
        return generation(top + 1)

    def resumable(self, name: str) -> bool:
        """Whether ``name`` is an interrupted rebuild in a sound state (read whole)."""
        return bool(_reading(self.path / name, lambda db: db.execute(
            "SELECT 1 FROM info WHERE key = 'rebuilt_through'").fetchone() is not None
            and not generation_problems(db)))

    def begin(self, name: str, resume: bool) -> sqlite3.Connection:
        """Generation ``name`` opened for a rebuild: an interrupted rebuild's when ``resume``
        and it is sound and of this schema, else a fresh file (any old one's parts go: one
        finished but never switched to may hold pages since removed)."""
        path = self.path / name
        if not (resume and path.exists() and self.resumable(name)):
            if path.exists():
                log.info("the search index's unfinished generation %s is started afresh", name)
            self.remove(name)
        db = connect(path)
        if schema_version(db) < SCHEMA_VERSION:  # begun by an older sohoa: start again
            db.close()
            self.remove(name)
            db = connect(path)
            schema_version(db)
        return db

    def remove(self, name: str) -> None:
        """Generation ``name``: the file, its -wal, -shm and -journal."""
        for part in self.path.iterdir():
            m = PARTS.fullmatch(part.name)
            if m and m.group(1) == name:
                part.unlink(missing_ok=True)

    def remove_all_but(self, name: str) -> None:
        """Every generation but ``name`` (readers holding one keep their open file)."""
        for part in self.path.iterdir():
            m = PARTS.fullmatch(part.name)
            if m and m.group(1) != name:
                part.unlink(missing_ok=True)
