"""The embedded search backend: SQLite FTS5, nothing to start.

Each page is one contentless FTS5 row with three columns: ``exact`` (NFC text; the tokenizer
lower-cases, marks kept), ``folded`` (marks removed, đ→d) and ``codes`` (numbers, IDs and
dossier codes normalised to letters and digits); the text itself is kept once, in
``page_meta``. The people a page names are a row of ``name_fts`` under the same rowid.
Rowids are laid out as ``type << 40 | decade << 32 | sequence``, so the counts per type and
decade are read off the matched rowids with no table lookup, and a type filter is a rowid
range FTS5 serves itself.

Every query word must match ``folded``; a word of five letters or more also matches the index
words one edit away, found through ``term_deletions`` (symmetric deletion), kept up to date as
pages are written. Relevance runs in tiers: all the words as one phrase with their exact
marks, then as one folded phrase, then the words anywhere, first among the pages whose names
match (in ``name_fts``), then among the rest; BM25 (exact hits weighed three times) orders
each tier, and only the tiers the requested page needs are ranked.

The index lives in a folder: ``current`` names the live generation file. A rebuild writes a
new generation beside it (resumable: it records the last document written) and switches by
rewriting ``current`` atomically; a process that had the old generation open finishes its
queries on it and picks up the new one at its next query.

The schema, rowid layout and term keys are in ``search.embedded_schema``; the query tiers,
filters and ranking in ``search.embedded_query``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from search.embedded_query import filters, plan, ranked_page
from search.embedded_schema import (
    DECADE_SHIFT,
    SCHEMA,
    SCHEMA_VERSION,
    TYPE_SHIFT,
    code_decade,
    decade_code,
    learn_terms,
    name_values,
    remove_row,
    row_values,
    schema_version,
    type_id,
)
from search.folding import nfc
from search.index import (
    SORTS,
    BadQuery,
    Hit,
    IndexedPage,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    as_query,
    encode_cursor,
)
from search.snippets import snippet

log = logging.getLogger(__name__)


class EmbeddedIndex:
    """SearchIndex over SQLite files in one folder. Safe to share between threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._generation: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._open()
        except (sqlite3.Error, OSError) as exc:
            raise SearchUnavailable(f"cannot open the search index in {self.folder}: {exc}") \
                from exc

    # ---------------------------------------------------------------------- generations
    def _current(self) -> str:
        pointer = self.folder / "current"
        if pointer.is_file():
            return pointer.read_text().strip()
        name = "gen-0001.sqlite3"
        self._set_current(name)
        return name

    def _set_current(self, name: str) -> None:
        tmp = self.folder / "current.tmp"
        tmp.write_text(name + "\n")
        os.replace(tmp, self.folder / "current")

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-65536")
        db.execute("PRAGMA mmap_size=268435456")
        db.executescript(SCHEMA)
        return db

    def _open(self) -> None:
        name = self._current()
        if self._db is not None and name == self._generation:
            return
        if self._db is not None:
            self._db.close()
        self._db = self._connect(self.folder / name)
        self._generation = name
        if schema_version(self._db) < SCHEMA_VERSION:
            log.warning("the search index %s was written by an older sohoa: it ranks no "
                        "names until `sohoa reindex` rebuilds it", self.folder / name)

    def _conn(self) -> sqlite3.Connection:
        self._open()  # a rebuild elsewhere may have switched the generation
        assert self._db is not None
        return self._db

    # --------------------------------------------------------------------------- writes
    @classmethod
    def _write(cls, db: sqlite3.Connection, pages: Iterable[IndexedPage]) -> int:
        n = 0
        seq_row = db.execute("SELECT value FROM info WHERE key = 'seq'").fetchone()
        seq = int(seq_row[0]) if seq_row else 0
        for p in pages:
            row = db.execute("SELECT rowid, text FROM page_meta WHERE document_id = ? AND "
                             "page = ?", (p.document_id, p.page)).fetchone()
            if row:
                remove_row(db, row[0], row[1])
            text = nfc(p.text)
            seq += 1
            rowid = (type_id(db, p.type, create=True) << TYPE_SHIFT
                     | decade_code(p.event_year) << DECADE_SHIFT | (seq & 0xFFFFFFFF))
            db.execute(
                "INSERT INTO page_meta (rowid, document_id, page, type, dossier_code, "
                "event_date, event_year, scanned_at, authority, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rowid, p.document_id, p.page, p.type, p.dossier_code, p.event_date,
                 p.event_year, p.scanned_at, p.authority, text))
            values = row_values(text)
            db.execute("INSERT INTO page_fts (rowid, exact, folded, codes) VALUES (?, ?, ?, ?)",
                       (rowid, *values))
            if p.names:
                db.execute("INSERT INTO name_fts (rowid, exact, folded) VALUES (?, ?, ?)",
                           (rowid, *name_values(p.names)))
            learn_terms(db, values[1])
            db.execute("INSERT INTO page_sort (rowid, event_date) VALUES (?, ?)",
                       (rowid, p.event_date))
            db.executemany("INSERT INTO page_ids (rowid, pid) VALUES (?, ?)",
                           [(rowid, pid) for pid in dict.fromkeys(p.personal_ids)])
            n += 1
        db.execute("INSERT OR REPLACE INTO info VALUES ('seq', ?)", (str(seq),))
        return n

    def upsert(self, pages: Iterable[IndexedPage]) -> int:
        with self._lock:
            db = self._conn()
            with db:
                return self._write(db, pages)

    def delete_document(self, document_id: str) -> int:
        with self._lock:
            db = self._conn()
            with db:
                rows = db.execute("SELECT rowid, text FROM page_meta WHERE document_id = ?",
                                  (document_id,)).fetchall()
                for rowid, text in rows:
                    remove_row(db, rowid, text)
            return len(rows)

    def rebuild(self, pages: Iterable[IndexedPage], *, resume: bool = True,
                batch: int = 500) -> int:
        """Write a new generation from ``pages`` (sorted by document id), then switch to it.
        An interrupted rebuild is resumed from the last document it committed."""
        with self._lock:
            live = self._current()
            number = int(live.split("-")[1].split(".")[0])
            name = f"gen-{number + 1:04d}.sqlite3"
            path = self.folder / name
            if path.exists() and not resume:
                path.unlink()
            db = self._connect(path)
            if schema_version(db) < SCHEMA_VERSION:  # begun by an older sohoa: start again
                db.close()
                for part in self.folder.glob(f"{name}*"):
                    part.unlink()
                db = self._connect(path)
            done = db.execute("SELECT value FROM info WHERE key = 'rebuilt_through'").fetchone()
            last = done[0] if done else ""
            written = 0
            chunk: list[IndexedPage] = []

            def flush() -> None:
                nonlocal written
                if not chunk:
                    return
                with db:
                    written += self._write(db, chunk)
                    db.execute("INSERT OR REPLACE INTO info VALUES ('rebuilt_through', ?)",
                               (chunk[-1].document_id,))
                chunk.clear()

            current_doc = None
            for p in pages:
                if p.document_id <= last:
                    continue  # written before the interruption
                if p.document_id != current_doc and len(chunk) >= batch:
                    flush()  # commit between documents, never inside one
                current_doc = p.document_id
                chunk.append(p)
            flush()
            with db:
                db.execute("DELETE FROM info WHERE key = 'rebuilt_through'")
                db.execute("INSERT INTO page_fts (page_fts) VALUES ('optimize')")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            self._set_current(name)
            self._open()
            for old in self.folder.glob("gen-*.sqlite3*"):
                if not old.name.startswith(name):
                    old.unlink(missing_ok=True)  # readers holding it keep their open file
            return written

    # ---------------------------------------------------------------------------- reads
    def count(self) -> int:
        with self._lock:
            return self._conn().execute("SELECT count(*) FROM page_meta").fetchone()[0]

    def keys(self) -> Iterator[tuple[str, int]]:
        last = ("", 0)
        while True:
            with self._lock:
                rows = self._conn().execute(
                    "SELECT document_id, page FROM page_meta WHERE (document_id, page) > (?, ?) "
                    "ORDER BY document_id, page LIMIT 1000", last).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1]

    def search(self, query: SearchQuery | str, *, type: str | None = None,
               limit: int = 10) -> SearchResult:
        """Counts per type and decade come from the matched rowids alone; ranking runs tier
        by tier (names, then text; each exact phrase, folded phrase, every word) and only
        as far as the page of hits asked for needs; the wide rows (text, for snippets) are
        read for the hits returned. Cursors are [tier, sort key, rowid]."""
        q = as_query(query, type=type, limit=limit)
        if q.sort not in SORTS:
            raise BadQuery(f"sort must be one of {', '.join(SORTS)}")
        empty = SearchResult(0, [], {"type": {}, "decade": {}})
        with self._lock:
            db = self._conn()
            found = plan(db, q)
            if q.text.strip() and not found.whole:
                return empty  # only punctuation
            fts_filter = filters(db, q, "page_fts.rowid")
            sort_filter = filters(db, q, "page_sort.rowid")
            if fts_filter is None or sort_filter is None:
                return empty
            try:
                if found.whole:
                    cond, cargs = fts_filter
                    extra = f" AND {cond}" if cond else ""
                    counts = db.execute(
                        f"SELECT page_fts.rowid >> {DECADE_SHIFT}, count(*) FROM page_fts "
                        f"WHERE page_fts MATCH ?{extra} GROUP BY 1", [found.whole, *cargs]
                    ).fetchall()
                else:
                    cond, cargs = sort_filter
                    counts = db.execute(
                        f"SELECT page_sort.rowid >> {DECADE_SHIFT}, count(*) FROM page_sort"
                        + (f" WHERE {cond}" if cond else "") + " GROUP BY 1", cargs).fetchall()
                top = ranked_page(db, q, found, fts_filter, sort_filter)
                shown = top[: q.limit]
                rows = {r[0]: r[1:] for r in db.execute(
                    "SELECT rowid, document_id, page, type, dossier_code, event_date, text "
                    f"FROM page_meta WHERE rowid IN ({','.join('?' * len(shown))})",
                    [rid for _, _, rid in shown]).fetchall()} if shown else {}
            except sqlite3.OperationalError as exc:
                if "fts5" in str(exc) or "syntax" in str(exc):
                    raise BadQuery(f"the query cannot be searched: {exc}") from exc
                raise SearchUnavailable(f"search failed: {exc}") from exc
        hits = []
        for tier, key, rid in shown:
            d, p, t, code, ev, text = rows[rid]
            score = round(len(found.tiers) - tier - 1 - key / 100, 4) \
                if q.sort == "relevance" and found.tiers else 0.0
            hits.append(Hit(d, p, score, snippet(text, found.words), t, code, ev))
        names = dict(db.execute("SELECT id, name FROM types").fetchall()) if counts else {}
        by_type: dict[str, int] = {}
        by_decade: dict[str, int] = {}
        for group, n in counts:
            t = names.get(group >> (TYPE_SHIFT - DECADE_SHIFT), "unknown")
            by_type[t] = by_type.get(t, 0) + n
            dec = code_decade(group & 0xFF)
            if dec:
                by_decade[dec] = by_decade.get(dec, 0) + n
        nxt = encode_cursor(list(shown[-1])) if len(top) > q.limit else None
        return SearchResult(sum(n for _, n in counts), hits,
                            {"type": by_type, "decade": dict(sorted(by_decade.items()))}, nxt)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

