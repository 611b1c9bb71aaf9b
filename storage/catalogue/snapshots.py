"""A document's rows as plain JSON-ready values, and back (issue 19): what the object store
keeps of the catalogue, so that a lost or damaged catalogue can be rebuilt from the store
(``pipeline.records`` writes these, ``pipeline.recover`` reads them back).

Generic on purpose: tables and columns are read from the database itself, so every column a
migration adds rides along without a change here, and a document's rows are found by the
schema's own links:

- *its rows*: ``documents`` by id, and every table with a ``document_id`` column or a foreign
  key to ``documents.id`` (pages, corrections, dossier and person links, keying tasks,
  conflicts, proposals, copies, page jobs, batch files…);
- the rows that hang from those by a foreign key (a keying task's keyings);
- the rows they point at, shared with other documents (the dossiers of its links, the
  people it names and the people those were merged into, its intake batch).

Left out: what is not about one document (the audit log, sessions, throttles, meta, the
fixity history; users are kept in a record of their own, ``snapshot_rows``).

Values: dates and times as ISO 8601 in UTC, JSON as it is, bytes as base64. Restoring writes
each row by its primary key (insert, or update the row there), so restoring twice changes
nothing; a shared row is taken from the newest record that holds it.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import MetaData, Table, func, or_, select, text
from sqlalchemy.sql import sqltypes

# Tables that are no document's: the audit log and sign-in state stay with the catalogue;
# users and rejected files have records of their own; fixity runs are the history of checks.
NOT_A_DOCUMENT = frozenset({"alembic_version", "audit", "sessions", "throttles", "meta",
                            "users", "rejections", "fixity_runs", "fixity_findings"})
# References the schema holds without a foreign key: (table, column) -> (table, column).
REFERENCES = {("people", "merged_into"): ("people", "id")}
_CHUNK = 500  # values per IN (…) list


@dataclass
class Plan:
    """How to find a document's rows in this database (read from its schema once)."""

    tables: dict[str, Table]
    order: list[str]  # parents before the rows that point at them
    own: dict[str, list[str]]  # table -> the columns that name the document
    below: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # table -> (its column, the table it hangs from, that table's column): keyings of tasks
    shared: set[str] = field(default_factory=set)  # rows other documents may hold too


def plan_for(metadata: MetaData) -> Plan:
    tables = {t.name: t for t in metadata.sorted_tables}
    order = [t.name for t in metadata.sorted_tables]
    own: dict[str, list[str]] = {}
    for name, t in tables.items():
        if name in NOT_A_DOCUMENT:
            continue
        cols = [c.name for c in t.columns if c.name == "document_id" or any(
            fk.column.table.name == "documents" and fk.column.name == "id"
            for fk in c.foreign_keys)]
        if name == "documents":
            cols = ["id"]
        if cols:
            own[name] = cols
    plan = Plan(tables, order, own)
    held = set(own)
    grew = True
    while grew:  # rows hanging from a document's rows (but not from the document itself)
        grew = False
        for name, t in tables.items():
            if name in held or name in NOT_A_DOCUMENT:
                continue
            links = [(fk.parent.name, fk.column.table.name, fk.column.name)
                     for fk in t.foreign_keys
                     if fk.column.table.name in held and fk.column.table.name != "documents"]
            if links:
                plan.below[name] = links
                held.add(name)
                grew = True
    for name in list(held):  # what they point at, and what that points at
        plan.shared |= _pointed_at(tables, name, held)
    return plan


def _pointed_at(tables: dict[str, Table], name: str, held: set[str]) -> set[str]:
    out: set[str] = set()
    todo = [name]
    while todo:
        t = tables[todo.pop()]
        targets = {fk.column.table.name for fk in t.foreign_keys}
        targets |= {dst for (src, _), (dst, _) in REFERENCES.items() if src == t.name}
        for target in targets - held - out - NOT_A_DOCUMENT:
            if target in tables:
                out.add(target)
                todo.append(target)
    return out


# -------------------------------------------------------------------------------- values
def to_json(value):
    """A column value as JSON: times in UTC (SQLite keeps them naive, in UTC), bytes as
    base64; the rest as it is."""
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def from_json(column, value):
    """A JSON value back to what the column holds (by the column's type, never by the
    value's look)."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, sqltypes.DateTime) and isinstance(value, str):
        when = dt.datetime.fromisoformat(value)
        if when.tzinfo is not None and not kind.timezone:  # a naive column holds UTC
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
        return when
    if isinstance(kind, sqltypes.Date) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(kind, sqltypes.Time) and isinstance(value, str):
        return dt.time.fromisoformat(value)
    if isinstance(kind, sqltypes._Binary) and isinstance(value, str):
        return base64.b64decode(value)
    return value


def _row(t: Table, row) -> dict:
    return {c.name: to_json(row._mapping[c]) for c in t.columns}


def _pk(t: Table, row: dict) -> tuple:
    return tuple(row.get(c.name) for c in t.primary_key.columns)


# ------------------------------------------------------------------------------ the mixin
class SnapshotsMixin:
    _plan_lock = threading.Lock()

    def snapshot_plan(self) -> Plan:
        """The tables as they are in this database (reflected once per catalogue)."""
        plan = getattr(self, "_snapshot_plan", None)
        if plan is None:
            with self._plan_lock:
                plan = getattr(self, "_snapshot_plan", None)
                if plan is None:
                    metadata = MetaData()
                    metadata.reflect(bind=self.engine)
                    for t in metadata.tables.values():
                        for c in t.columns:  # None is SQL NULL, as the rows hold it
                            if isinstance(c.type, sqltypes.JSON):
                                c.type.none_as_null = True
                    plan = self._snapshot_plan = plan_for(metadata)
        return plan

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def document_snapshot(self, document_id: str) -> dict[str, list[dict]] | None:
        """Every row of the document, the rows hanging from them and the rows they point
        at, by table (each table's rows in primary-key order); None when there is no such
        document. About fifteen small queries on one connection."""
        plan = self.snapshot_plan()
        out: dict[str, list[dict]] = {}
        with self.engine.connect() as conn, conn.begin():
            for name, cols in plan.own.items():
                t = plan.tables[name]
                rows = [_row(t, r) for r in conn.execute(
                    select(t).where(or_(*(t.c[c] == document_id for c in cols)))
                    .order_by(*t.primary_key.columns))]
                if name == "documents" and not rows:
                    return None
                if rows:
                    out[name] = rows
            for name in plan.order:  # parents first: keyings after their tasks
                for col, parent, parent_col in plan.below.get(name, ()):
                    values = {r[parent_col] for r in out.get(parent, ())}
                    self._fetch(conn, plan.tables[name], col, values, out)
            self._fetch_shared(conn, plan, out)
        return out

    def _fetch_shared(self, conn, plan: Plan, out: dict[str, list[dict]]) -> None:
        """The rows the document's rows point at (and what those point at), until no new
        one is found."""
        grew = True
        while grew:
            grew = False
            for name in list(out):
                t = plan.tables[name]
                pointers = [(fk.parent.name, fk.column.table.name, fk.column.name)
                            for fk in t.foreign_keys]
                pointers += [(src_col, dst, dst_col) for (src, src_col), (dst, dst_col)
                             in REFERENCES.items() if src == name]
                for col, target, target_col in pointers:
                    if target not in plan.shared:
                        continue
                    want = {r[col] for r in out[name] if r.get(col) is not None}
                    have = {r[target_col] for r in out.get(target, ())}
                    if want - have:
                        self._fetch(conn, plan.tables[target], target_col, want - have, out)
                        grew = True

    @staticmethod
    def _fetch(conn, t: Table, col: str, values: Iterable, out: dict[str, list[dict]]) -> None:
        values = sorted(values, key=str)
        known = {_pk(t, r) for r in out.get(t.name, ())}
        for i in range(0, len(values), _CHUNK):
            for r in conn.execute(select(t).where(t.c[col].in_(values[i:i + _CHUNK]))
                                  .order_by(*t.primary_key.columns)):
                row = _row(t, r)
                if _pk(t, row) not in known:
                    known.add(_pk(t, row))
                    out.setdefault(t.name, []).append(row)

    def snapshot_rows(self, table: str, **equal) -> list[dict]:
        """Every row of ``table`` (with the columns given equal to their values), in
        primary-key order: what the records of users and of rejected files hold."""
        t = self.snapshot_plan().tables[table]
        q = select(t).where(*(t.c[k] == v for k, v in equal.items()))
        with self.engine.connect() as conn:
            return [_row(t, r) for r in conn.execute(q.order_by(*t.primary_key.columns))]

    def row_counts(self) -> dict[str, int]:
        """Rows per table (alembic's own excepted)."""
        plan = self.snapshot_plan()
        with self.engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for name, t in sorted(plan.tables.items()) if name != "alembic_version"}

    def documents_of_people(self, person_ids: Iterable[int]) -> set[str]:
        """The documents that name these people or anyone merged into or from them."""
        plan = self.snapshot_plan()
        people, links = plan.tables.get("people"), plan.tables.get("person_documents")
        if people is None or links is None:
            return set()
        ids, frontier = set(person_ids), set(person_ids)
        with self.engine.connect() as conn:
            while frontier:
                found = set(conn.execute(select(people.c.id).where(
                    people.c.merged_into.in_(frontier))).scalars())
                found |= {m for m in conn.execute(select(people.c.merged_into).where(
                    people.c.id.in_(frontier))).scalars() if m is not None}
                frontier = found - ids
                ids |= frontier
            return set(conn.execute(select(links.c.document_id).where(
                links.c.person_id.in_(ids))).scalars())

    def restorer(self) -> Restorer:
        return Restorer(self)


class Restorer:
    """Writes snapshots back, a batch of records per transaction (a batch that fails leaves
    nothing behind; the caller then tries its records one by one). Shared rows (a dossier,
    a person) met in several records are taken from the newest record; the rest of a
    record's rows are written as they are, by primary key."""

    def __init__(self, catalogue) -> None:
        self.catalogue = catalogue
        self.plan = catalogue.snapshot_plan()
        self.newest: dict[tuple, str] = {}  # (table, primary key) of a shared row -> when
        self.unknown: set[str] = set()  # tables or columns the records hold, this one not

    def restore(self, tables: dict[str, list[dict]], *, written_at: str = "") -> None:
        """Write one record's rows (all or none)."""
        self.restore_many([(tables, written_at)])

    def restore_many(self, batch: list[tuple[dict[str, list[dict]], str]]) -> None:
        """Write several records' rows, each with when it was written, in one transaction
        (all or none: on failure the caller tries them one by one)."""
        pending: dict[tuple, str] = {}  # shared rows taken by this transaction
        with self.catalogue.engine.begin() as conn:
            for tables, written_at in batch:
                self._write(conn, tables, written_at or "\x01", pending)
        self.newest.update(pending)  # only once they are in

    def _write(self, conn, tables: dict[str, list[dict]], when: str,
               pending: dict[tuple, str]) -> None:
        plan = self.plan
        for name in tables:
            if name not in plan.tables or name == "alembic_version":
                self.unknown.add(name)
        for name in plan.order:
            rows = tables.get(name)
            if not rows or name == "alembic_version":
                continue
            t = plan.tables[name]
            if name in plan.shared:  # from the newest record that holds it
                fresh = []
                for row in rows:
                    key = (name, _pk(t, row))
                    if (pending.get(key) or self.newest.get(key, "\x00")) < when:
                        fresh.append(row)
                        pending[key] = when
                rows = fresh
            self._upsert(conn, t, rows)

    def _upsert(self, conn, t: Table, rows: list[dict]) -> int:
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row in rows:
            values = {}
            for name, value in row.items():
                if name in t.c:
                    values[name] = from_json(t.c[name], value)
                else:
                    self.unknown.add(f"{t.name}.{name}")
            groups.setdefault(tuple(sorted(values)), []).append(values)
        pk = [c.name for c in t.primary_key.columns]
        for names, group in groups.items():
            stmt = self.catalogue._insert(t)
            rest = [n for n in names if n not in pk]
            stmt = stmt.on_conflict_do_update(
                index_elements=pk, set_={n: stmt.excluded[n] for n in rest}) if rest \
                else stmt.on_conflict_do_nothing(index_elements=pk)
            conn.execute(stmt, group)
        return len(rows)

    def finish(self) -> None:
        """PostgreSQL: move each id sequence past the ids restored (SQLite needs nothing:
        a new row takes the highest id plus one)."""
        engine = self.catalogue.engine
        if engine.dialect.name != "postgresql":
            return
        with engine.begin() as conn:
            for name, t in self.plan.tables.items():
                cols = list(t.primary_key.columns)
                if len(cols) != 1 or not isinstance(cols[0].type, sqltypes.Integer):
                    continue
                seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                   {"t": name, "c": cols[0].name}).scalar()
                if seq:
                    top = conn.execute(select(func.max(cols[0]))).scalar()
                    conn.execute(text("SELECT setval(:s, :v, :called)"),
                                 {"s": seq, "v": top or 1, "called": top is not None})


__all__ = ["NOT_A_DOCUMENT", "Plan", "Restorer", "SnapshotsMixin", "from_json", "plan_for",
           "to_json"]
