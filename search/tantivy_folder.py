"""The Tantivy index's folder: which generation is live, the locks between processes, starting
the next generation, and telling a damaged index from one that cannot be reached (see
``search.tantivy_index``).

``current`` names the live generation, a Tantivy index in the folder ``gen-NNNN``. Damage is:
``current`` missing beside generations, not a generation's name, or naming one that is gone;
a generation whose ``meta.json`` is missing or garbled, or whose segment files are missing,
truncated or garbled (every Tantivy file ends in a footer holding the CRC32 of its body, which
is checked here). It raises ``IndexDamaged``; a folder that cannot be read or written raises
``SearchUnavailable``. Only generation folders (``gen-NNNN``), ``current``, ``current.tmp``
and the lock files are ever written or removed here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import tantivy

from search.index import IndexDamaged, SearchUnavailable
from search.tantivy_schema import FIELDS, build_schema

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock between processes
    fcntl = None

log = logging.getLogger(__name__)

POINTER = "current"
GENERATION = re.compile(r"gen-(\d{4,})")
MARKER = "sohoa-rebuild.json"  # in a generation being rebuilt: how far it got
WRITE_LOCK, REBUILD_LOCK = "write.lock", "rebuild.lock"
FOOTER_MAGIC = 1337
PARTS = ("idx", "pos", "term", "store", "fast", "fieldnorm")  # every segment has these


def generation(number: int) -> str:
    return f"gen-{number:04d}"


def is_panic(exc: BaseException) -> bool:
    """A Rust panic inside Tantivy (pyo3 raises it as a BaseException)."""
    return type(exc).__name__ == "PanicException"


def file_problem(path: Path, *, whole: bool) -> str | None:
    """What is wrong with one Tantivy file: missing, no footer (truncated, overwritten), and
    with ``whole``, a body whose CRC32 is not the footer's. None when nothing is."""
    name = f"{path.parent.name}/{path.name}"
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            if size < 8:
                return f"{name} is truncated ({size} bytes)"
            f.seek(size - 8)
            length, magic = struct.unpack("<II", f.read(8))
            if magic != FOOTER_MAGIC or length + 8 > size or length > 4096:
                return f"{name} has no Tantivy footer: truncated or overwritten"
            f.seek(size - 8 - length)
            crc = int(json.loads(f.read(length))["crc"])
            if whole:
                f.seek(0)
                left, value = size - 8 - length, 0
                while left > 0:
                    chunk = f.read(min(left, 1 << 20))
                    if not chunk:
                        return f"{name} is shorter than it was written"
                    value = zlib.crc32(chunk, value)
                    left -= len(chunk)
                if value != crc:
                    return f"{name} is garbled: its checksum does not match its content"
    except FileNotFoundError:
        return f"{name} is missing"
    except IsADirectoryError:
        return f"{name} is a folder, not an index file"
    except PermissionError as exc:
        raise SearchUnavailable(f"cannot read {path}: {exc}") from exc
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return f"{name} has a garbled footer"
    return None


def segment_files(path: Path) -> tuple[list[str], list[Path]]:
    """(problems, files) of the generation at ``path`` as its ``meta.json`` lists them."""
    meta = path / "meta.json"
    try:
        data = json.loads(meta.read_bytes())
        fields = {f["name"] for f in data["schema"]}
        segments = data["segments"]
    except FileNotFoundError:
        return [f"{path.name}/meta.json is missing"], []
    except PermissionError as exc:
        raise SearchUnavailable(f"cannot read {meta}: {exc}") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{path.name}/meta.json is garbled ({type(exc).__name__})"], []
    if not set(FIELDS) <= fields:
        return [f"{path.name} is not a sohoa Tantivy index (fields {sorted(fields)[:8]})"], []
    files = []
    try:
        for seg in segments:
            sid = str(seg["segment_id"]).replace("-", "")
            files += [path / f"{sid}.{part}" for part in PARTS]
            if seg.get("deletes"):
                files.append(path / f"{sid}.{int(seg['deletes']['opstamp'])}.del")
    except (KeyError, TypeError, ValueError) as exc:
        return [f"{path.name}/meta.json is garbled ({type(exc).__name__})"], []
    return [], files


def meta_stamp(path: Path) -> tuple | None:
    try:
        st = (path / "meta.json").stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def generation_problems(path: Path, seen: dict | None = None) -> list[str]:
    """Everything wrong with a generation's files, each read whole once (``seen`` remembers
    the files found sound, by name, size and time, so that a reload reads only new ones)."""
    if not path.is_dir():
        return [f"{path.name} is missing" if not path.exists() else f"{path.name} is not a folder"]
    problems, files = segment_files(path)
    for file in files:
        try:
            st = file.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None
        if seen is not None and stamp is not None and seen.get(file.name) == stamp:
            continue
        problem = file_problem(file, whole=True)
        if problem:
            problems.append(problem)
        elif seen is not None and stamp is not None:
            seen[file.name] = stamp
    return problems


def open_index(path: Path) -> tantivy.Index:
    """A generation's Tantivy index; ValueError when Tantivy cannot open it."""
    index = tantivy.Index.open(str(path))
    index.config_reader("manual")  # reloaded when meta.json changes (tantivy_index)
    return index


class Folder:
    """The generations in one folder, and which one is live."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._held: dict[str, int] = {}  # the locks this folder holds (used under one RLock)

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

    def generations(self) -> list[str]:
        try:
            return sorted(p.name for p in self.path.iterdir()
                          if GENERATION.fullmatch(p.name) and p.is_dir())
        except FileNotFoundError:
            return []

    def live(self) -> str:
        """The live generation's name. A folder with no index yet gets its first, empty
        generation; a pointer missing beside generations, or naming one that is gone, is
        damage."""
        name = self.pointer()
        if name is None:
            with self.lock(WRITE_LOCK):
                name = self.pointer() or self._first()
        if not (self.path / name).is_dir():
            again = self.pointer()  # a rebuild elsewhere may have switched just now
            if again is None or again == name or not (self.path / again).is_dir():
                raise self.damaged(f"{POINTER} names {name}, which is missing")
            name = again
        return name

    def _first(self) -> str:
        """The first generation of a folder with none, made before ``current`` names it."""
        found = self.generations()
        first = generation(1)
        if found == [first] and self._empty(first):
            self.set_live(first)  # made by a process stopped before it named it
            return first
        if found:
            raise self.damaged(f"{POINTER} is missing beside {', '.join(found[:5])}; which "
                               f"generation was live is unknown")
        self.create(first)
        self.set_live(first)
        return first

    def _empty(self, name: str) -> bool:
        if generation_problems(self.path / name):
            return False
        try:
            return open_index(self.path / name).searcher().num_docs == 0
        except ValueError:
            return False

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock between processes (and between indexes of one process), waited
        for: ``write.lock`` around every write to the live generation and every switch,
        ``rebuild.lock`` around a rebuild. Taken again while held, it is not waited for."""
        if self._held.get(name):
            self._held[name] += 1
            try:
                yield
            finally:
                self._held[name] -= 1
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = (self.path / name).open("a")
        except OSError as exc:
            raise SearchUnavailable(f"cannot open the search index in {self.path}: "
                                    f"{exc}") from exc
        with handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            self._held[name] = 1
            try:
                yield
            finally:
                self._held[name] = 0

    def set_live(self, name: str) -> None:
        pointer = self.path / POINTER
        if pointer.is_dir() and not pointer.is_symlink():
            try:
                pointer.rmdir()  # an empty folder where the pointer belongs: nothing lost
            except OSError as exc:
                raise self.damaged(f"{pointer} is a folder with files in it: move it out "
                                   f"of the way") from exc
        tmp = self.path / f"{POINTER}.tmp"
        with tmp.open("w") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, pointer)

    # ---------------------------------------------------------------------- the next one
    def create(self, name: str) -> tantivy.Index:
        """A new, empty generation (any old folder of that name removed first)."""
        self.remove(name)
        (self.path / name).mkdir(parents=True)
        index = tantivy.Index(build_schema(), path=str(self.path / name), reuse=False)
        index.config_reader("manual")
        return index

    def target(self, resume: bool) -> str:
        """The generation a rebuild writes: the one after the live one. With no usable
        ``current``, the one after every generation there, or the highest when it is an
        interrupted rebuild to resume."""
        try:
            live = self.pointer()
        except IndexDamaged:
            live = None
        if live is not None and (self.path / live).is_dir():
            return generation(int(GENERATION.fullmatch(live).group(1)) + 1)
        numbers = [int(GENERATION.fullmatch(n).group(1)) for n in self.generations()]
        top = max(numbers, default=0)
        if resume and top and self.marker(generation(top)) is not None:
            return generation(top)
        return generation(top + 1)

    def marker(self, name: str) -> dict | None:
        """How far an interrupted rebuild of ``name`` got, when it is sound enough to go on
        from: {"through": last document id committed, "chunk": last chunk committed}."""
        try:
            data = json.loads((self.path / name / MARKER).read_text())
            through, chunk = str(data["through"]), int(data["chunk"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if generation_problems(self.path / name):
            return None
        return {"through": through, "chunk": chunk}

    def set_marker(self, name: str, through: str, chunk: int) -> None:
        tmp = self.path / name / f"{MARKER}.tmp"
        tmp.write_text(json.dumps({"through": through, "chunk": chunk}))
        os.replace(tmp, self.path / name / MARKER)

    def clear_marker(self, name: str) -> None:
        (self.path / name / MARKER).unlink(missing_ok=True)

    def remove(self, name: str) -> None:
        """Generation ``name``'s folder (only a generation's)."""
        path = self.path / name
        if not GENERATION.fullmatch(name):
            return
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()

    def remove_all_but(self, name: str) -> None:
        """Every generation but ``name`` (readers holding one keep their open files)."""
        for other in self.generations():
            if other != name:
                self.remove(other)
