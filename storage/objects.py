"""Object stores: a protocol and the local-folder default.

Keys are relative POSIX paths ("originals/ab/cd/<sha256>", "pages/<doc>/0001.jpg"). The local
store writes atomically (a temporary file in the same folder, then ``os.replace``), so a crash
never leaves a half-written object under a real key.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from storage.errors import ObjectMissing, StorageError, StorageUnavailable

CHUNK = 1 << 20


def sharded(prefix: str, sha256: str) -> str:
    """A content-addressed key: ``prefix/ab/cd/abcd…``."""
    return f"{prefix}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str = "") -> Iterator[str]: ...

    def sha256(self, key: str) -> str:
        """The SHA-256 hex recorded for the object; may come from metadata, without a read."""

    def content_sha256(self, key: str) -> str:
        """The SHA-256 hex of the bytes actually stored, read back in full (for fixity checks)."""

    def copy(self, src: str, dst: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path to read the object from in place, when the store has one."""

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        """A URL anyone may GET the object from until ``expires`` has passed; None when the
        store cannot hand one out (the local store: serve ``local_path`` instead)."""


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create the object store at {self.root}: {exc}") from exc

    def path(self, key: str) -> Path:
        pure = PurePosixPath(key)
        if not key or pure.is_absolute() or ".." in pure.parts or "\\" in key:
            raise StorageError(f"invalid object key {key!r}")
        return self.root.joinpath(*pure.parts)

    def _write(self, key: str, fill) -> None:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.name)
            try:
                with os.fdopen(fd, "wb") as out:
                    fill(out)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageUnavailable(f"cannot write object {key}: {exc}") from exc

    def put(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def put_file(self, key: str, path: Path) -> None:
        def copy(out: BinaryIO) -> None:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
        self._write(key, copy)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(f"no object {key}") from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read object {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def copy(self, src: str, dst: str) -> None:
        source = self.path(src)
        if not source.is_file():
            raise ObjectMissing(f"no object {src}")
        self.put_file(dst, source)

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        """None: a folder has no server to sign URLs for; callers serve ``local_path``."""
        self.path(key)  # an invalid key is still an error
        return None

    def keys(self, prefix: str = "") -> Iterator[str]:
        base = self.path(prefix) if prefix else self.root
        if base.is_file():
            yield prefix
            return
        for dirpath, _, files in os.walk(base):
            for name in sorted(files):
                if name.startswith(".tmp-"):
                    continue
                yield Path(dirpath, name).relative_to(self.root).as_posix()

    def sha256(self, key: str) -> str:
        h = hashlib.sha256()
        try:
            with open(self.path(key), "rb") as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    h.update(chunk)
        except FileNotFoundError:
            raise ObjectMissing(f"no object {key}") from None
        return h.hexdigest()

    def content_sha256(self, key: str) -> str:
        """The same as ``sha256``: the local store always hashes the file's bytes."""
        return self.sha256(key)
