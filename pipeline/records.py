"""The catalogue's knowledge kept in the object store (issue 19: the object store is the
source of truth): a small JSON record per document, per rejected file and one of the users,
written as the catalogue changes, from which ``sohoa recover`` rebuilds a lost or damaged
catalogue (pipeline.recover).

Keys, beside the objects they describe, under one prefix (so that "is there anything to
recover?" is one listing of one key):

    records/documents/ab/cd/<document id>.json   every row of the document (storage snapshot)
    records/rejections/ab/cd/<sha256>.json       a rejected file's row
    records/users.json                           the staff accounts (with password hashes)

A record: ``{"record_version": 1, "kind", "id", "written_at", "schema", "tables"}``;
``tables`` maps each table to its rows, every column (whatever migration added it), dates
as ISO 8601 in UTC; ``schema`` is the catalogue's migration when it was written.

``save_record(rt, document_id)`` is called after each change of a document (completion,
corrections, review, keying, links, proposals, copies) and writes the document's record
again, whole; for a document no longer in the catalogue it removes the record. It costs one
read of the document's rows and one object write (a few milliseconds). A record is written
after its change is committed: a crash in between (or two processes changing one document
at the same moment, whose writes may land in either order) leaves it one change behind
until the document changes again or ``sohoa write-records`` runs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from storage.catalogue import Catalogue
from storage.objects import ObjectStore


class Runtime(Protocol):
    """What records need of pipeline.runtime.Runtime (which imports this module)."""

    catalogue: Catalogue
    store: ObjectStore


RECORD_VERSION = 1
PREFIX = "records/"
DOCUMENTS = "records/documents"
REJECTIONS = "records/rejections"
USERS = "records/users.json"
_KEY = re.compile(r"^records/(documents|rejections)/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]+)\.json$")


def _sharded(prefix: str, name: str) -> str:
    return f"{prefix}/{name[:2]}/{name[2:4]}/{name}.json"


def document_key(document_id: str) -> str:
    return _sharded(DOCUMENTS, document_id)


def rejection_key(sha256: str) -> str:
    return _sharded(REJECTIONS, sha256)


def owner(key: str) -> tuple[str, str] | None:
    """(``document`` | ``rejection`` | ``users``, id) of a record's key; None for another key."""
    if key == USERS:
        return "users", ""
    m = _KEY.match(key)
    return (m.group(1)[:-1], m.group(2)) if m else None


def has_records(store: ObjectStore) -> bool:
    """Whether the store holds any record (one key listed, at most)."""
    return next(iter(store.keys(PREFIX.rstrip("/"))), None) is not None


# ------------------------------------------------------------------------------ writing
def _encode(rt: Runtime, kind: str, ident: str, tables: dict) -> bytes:
    return json.dumps({"record_version": RECORD_VERSION, "kind": kind, "id": ident,
                       "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                       "schema": _schema(rt), "tables": tables},
                      ensure_ascii=False, separators=(",", ":")).encode()


def _schema(rt: Runtime) -> str | None:
    cached = getattr(rt.catalogue, "_record_schema", None)
    if cached is None:
        cached = rt.catalogue._record_schema = rt.catalogue.schema_revision()
    return cached


def save_record(rt: Runtime, document_id: str) -> None:
    """Write the document's record again from the catalogue (remove it when the document
    is gone)."""
    tables = rt.catalogue.document_snapshot(document_id)
    if tables is None:
        rt.store.delete(document_key(document_id))
        return
    rt.store.put(document_key(document_id), _encode(rt, "document", document_id, tables))


def save_records(rt: Runtime, document_ids: Iterable[str | None]) -> None:
    for document_id in sorted({d for d in document_ids if d}):
        save_record(rt, document_id)


def save_people_records(rt: Runtime, person_ids: Iterable[int]) -> None:
    """The records of every document naming these people (merged ones included): after a
    change of the people themselves, e.g. a merge."""
    save_records(rt, rt.catalogue.documents_of_people(person_ids))


def delete_record(rt: Runtime, document_id: str) -> None:
    rt.store.delete(document_key(document_id))


def save_rejection_record(rt: Runtime, sha256: str) -> None:
    rows = rt.catalogue.snapshot_rows("rejections", sha256=sha256)
    if not rows:
        rt.store.delete(rejection_key(sha256))
        return
    rt.store.put(rejection_key(sha256), _encode(rt, "rejection", sha256, {"rejections": rows}))


def delete_rejection_record(rt: Runtime, sha256: str) -> None:
    rt.store.delete(rejection_key(sha256))


def save_users_record(rt: Runtime) -> None:
    """The staff accounts, whole (roles, disabled, password hashes: Argon2id), after any
    change of them. Sessions are not kept: after a recovery everyone signs in again."""
    rt.store.put(USERS, _encode(rt, "users", "", {"users": rt.catalogue.snapshot_rows("users")}))


# ------------------------------------------------------------------------------ reading
class BadRecord(ValueError):
    """A record that cannot be restored: not JSON, another version, not a record."""


@dataclass(frozen=True)
class Record:
    kind: str  # document | rejection | users
    id: str
    written_at: str
    schema: str | None
    tables: dict[str, list[dict]]


def parse(data: bytes) -> Record:
    """A record from its bytes; BadRecord says what is wrong with it."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRecord(f"not JSON ({exc})") from None
    if not isinstance(obj, dict) or "record_version" not in obj:
        raise BadRecord("not a sohoa record (no record_version)")
    if obj["record_version"] != RECORD_VERSION:
        raise BadRecord(f"record_version {obj['record_version']!r}: this sohoa reads "
                        f"version {RECORD_VERSION}; upgrade sohoa")
    tables = obj.get("tables")
    if obj.get("kind") not in ("document", "rejection", "users") or not isinstance(tables, dict) \
            or not all(isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
                       for rows in tables.values()):
        raise BadRecord("not a sohoa record (no kind, or tables that are not lists of rows)")
    if obj["kind"] == "document" and not any(
            r.get("id") == obj.get("id") for r in tables.get("documents", [])):
        raise BadRecord("a document record without its document's row")
    return Record(obj["kind"], str(obj.get("id", "")), str(obj.get("written_at") or ""),
                  obj.get("schema"), tables)
