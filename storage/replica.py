"""A second copy of every object: the ObjectStore protocol over a primary and a replica store.

Writes (``put``, ``put_file``, ``copy``, ``delete``) go to the primary, then to the replica.
The primary's write is the one that counts: when it fails the call fails and the replica is
not touched. When the replica's write fails (its disk is full, its server unreachable) the
call still succeeds; the failure is logged and recorded in the primary as a small JSON entry
under ``replica-pending/<key>`` (the *journal*), which ``sohoa verify`` reads, checks and,
with ``--repair``, settles by copying the object to the replica. After a replica that could
not be reached, the replica is left alone for ``pause`` seconds (writes are journalled
straight away), so that an unreachable server costs ingest one round of retries, not one per
object. A replica delete that fails is logged only: the object left behind is found by
``verify``'s listing of the replica as orphaned.

Reads: ``get`` and ``exists`` ask the primary and, when its object is missing or cannot be
read, the replica (with a warning). ``sha256``, ``content_sha256``, ``keys``, ``local_path``
and ``presigned_url`` are the primary's own: hashes are what a caller checks a write or a
copy against, and a fixity check must see the primary as it is (``verify`` checks each copy
on its own through ``primary_copy`` and ``replica``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from storage.errors import ObjectMissing, StorageError, StorageUnavailable
from storage.objects import ObjectStore

log = logging.getLogger(__name__)

T = TypeVar("T")

JOURNAL = "replica-pending"  # in the primary: one entry per object the replica may lack


class ReplicatedStore:
    """Every object in two stores; see the module docstring for what goes where."""

    def __init__(self, primary: ObjectStore, replica: ObjectStore, *, replica_url: str = "",
                 pause: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.primary = primary
        self.replica = replica
        self.replica_url = replica_url or repr(replica)  # for messages and fixity runs
        self.pause = pause
        self._clock = clock
        self._down_until = 0.0
        self._down_reason = ""
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ReplicatedStore({self.primary!r}, replica={self.replica_url!r})"

    # -- writes ----------------------------------------------------------------------------

    def _replicate(self, op: str, key: str, write: Callable[[], None]) -> None:
        """Write ``key`` to the replica; on failure log it and journal it, never raise."""
        with self._lock:
            down, reason = self._clock() < self._down_until, self._down_reason
        if down:
            self._journal(op, key, f"replica unavailable: {reason}")
            return
        try:
            write()
        except (StorageError, OSError) as exc:
            if isinstance(exc, StorageUnavailable):
                with self._lock:
                    self._down_until, self._down_reason = self._clock() + self.pause, str(exc)
            log.warning("the replica %s did not take %s of %s (%s); the primary has it, "
                        "recorded for `sohoa verify --repair`", self.replica_url, op, key, exc)
            self._journal(op, key, str(exc))

    def _journal(self, op: str, key: str, error: str) -> None:
        entry = {"op": op, "key": key, "error": error,
                 "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        try:
            self.primary.put(f"{JOURNAL}/{key}", json.dumps(entry, ensure_ascii=False).encode())
        except (StorageError, OSError) as exc:
            log.error("%s of %s reached the primary only, and that could not be recorded "
                      "(%s): run `sohoa verify --repair`", op, key, exc)

    def put(self, key: str, data: bytes) -> None:
        self.primary.put(key, data)
        self._replicate("put", key, lambda: self.replica.put(key, data))

    def put_file(self, key: str, path: Path) -> None:
        self.primary.put_file(key, path)
        # From the primary's stored bytes when it has a file for them: the two copies then
        # hold the same bytes even if ``path`` changes between the two writes.
        stored = self.primary.local_path(key)
        self._replicate("put", key, lambda: self.replica.put_file(
            key, stored if stored is not None and stored.is_file() else path))

    def copy(self, src: str, dst: str) -> None:
        self.primary.copy(src, dst)

        def replicate() -> None:
            try:
                self.replica.copy(src, dst)
            except ObjectMissing:  # the replica lacks the source: send the primary's copy
                self._send(dst)

        self._replicate("copy", dst, replicate)

    def _send(self, key: str) -> None:
        stored = self.primary.local_path(key)
        if stored is not None and stored.is_file():
            self.replica.put_file(key, stored)
        else:
            self.replica.put(key, self.primary.get(key))

    def delete(self, key: str) -> None:
        self.primary.delete(key)
        try:
            with self._lock:
                if self._clock() < self._down_until:
                    raise StorageUnavailable(f"replica unavailable: {self._down_reason}")
            self.replica.delete(key)
        except (StorageError, OSError) as exc:
            log.warning("the replica %s did not delete %s (%s): `sohoa verify` will list it "
                        "as orphaned", self.replica_url, key, exc)

    # -- reads -----------------------------------------------------------------------------

    def _read(self, what: str, key: str, read: Callable[[ObjectStore], T]) -> T:
        try:
            return read(self.primary)
        except (ObjectMissing, StorageUnavailable) as exc:
            first = exc
        try:
            found = read(self.replica)
        except (ObjectMissing, StorageUnavailable) as exc:
            if isinstance(first, ObjectMissing) and not isinstance(exc, ObjectMissing):
                raise exc from first  # it may be there, unreachable: a retry may help
            raise first from None
        log.warning("%s of %s: the primary failed (%s), the replica %s answered; run "
                    "`sohoa verify --repair`", what, key, first, self.replica_url)
        return found

    def get(self, key: str) -> bytes:
        return self._read("read", key, lambda store: store.get(key))

    def exists(self, key: str) -> bool:
        def check(store: ObjectStore) -> bool:
            if not store.exists(key):
                raise ObjectMissing(f"no object {key}")
            return True

        try:
            return self._read("existence check", key, check)
        except ObjectMissing:
            return False  # in neither copy

    def keys(self, prefix: str = "") -> Iterator[str]:
        return self.primary_copy.keys(prefix)

    def sha256(self, key: str) -> str:
        return self.primary.sha256(key)

    def content_sha256(self, key: str) -> str:
        return self.primary.content_sha256(key)

    def local_path(self, key: str) -> Path | None:
        return self.primary.local_path(key)

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        return self.primary.presigned_url(key, expires)

    # -- the two copies, for fixity checks and repairs ------------------------------------

    @property
    def primary_copy(self) -> ObjectStore:
        """The primary as one copy: its objects without the journal."""
        return _WithoutJournal(self.primary)

    def pending(self) -> Iterator[str]:
        """The keys of the objects the replica may lack (a write to it failed)."""
        for name in self.primary.keys(JOURNAL):
            yield name.removeprefix(f"{JOURNAL}/")

    def journal_entry(self, key: str) -> dict:
        """What was recorded of the failure: ``op``, ``key``, ``error``, ``at`` (UTC)."""
        return json.loads(self.primary.get(f"{JOURNAL}/{key}"))

    def settle(self, key: str) -> None:
        """The replica's copy of ``key`` was checked or restored: drop its journal entry."""
        self.primary.delete(f"{JOURNAL}/{key}")


class _WithoutJournal:
    """A store seen without the replication journal (everything else passes through)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def __repr__(self) -> str:
        return repr(self._store)

    def keys(self, prefix: str = "") -> Iterator[str]:
        for key in self._store.keys(prefix):
            if key != JOURNAL and not key.startswith(f"{JOURNAL}/"):
                yield key


class UnreachableStore:
    """A store that could not be opened (a replica folder that cannot be made, say): every
    call raises ``StorageUnavailable`` with the reason, so a replica that is not there is a
    recorded failure of each write, not a reason to stop."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason

    def __repr__(self) -> str:
        return f"UnreachableStore({self.where!r})"

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def fail(*_args, **_kw):
            raise StorageUnavailable(f"the store {self.where} could not be opened: {self.reason}")

        return fail
