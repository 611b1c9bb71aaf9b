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

A damaged index (``current`` missing beside generation files, garbled, or naming a file that
is gone; a generation that is not a SQLite file, is shorter than its header says, or whose
pages SQLite finds malformed) raises ``IndexDamaged`` from the call that needs it, never from
the constructor: what does not search or index goes on without it. ``rebuild`` writes a
new generation whatever state the folder is in, and removes only generation files.
``check`` reads the live generation whole (SQLite's and FTS5's integrity checks).

The schema, rowid layout and term keys are in ``search.embedded_schema``; the query tiers,
filters and ranking in ``search.embedded_query``; the folder (which generation is live,
opening one soundly, what damage is) in ``search.embedded_folder``.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from search.embedded_folder import Folder, generation_problems, is_damage
from search.embedded_query import filters, plan, ranked_page
from search.embedded_schema import (
    DECADE_SHIFT,
    TYPE_SHIFT,
    code_decade,
    decade_code,
    learn_terms,
    name_values,
    remove_row,
    row_values,
    type_id,
)
from search.folding import nfc
from search.index import (
    SORTS,
    BadQuery,
    Hit,
    IndexDamaged,
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
    """SearchIndex over SQLite files in one folder. Safe to share between threads.

    Made without touching a damaged index: the live generation is opened here when it can
    be (an older schema is reported now), else at first use, which raises what is wrong."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._files = Folder(self.folder)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._generation: str | None = None
        try:
            with self._lock:
                self._open()
        except SearchUnavailable as exc:  # IndexDamaged among them: raised again when used
            log.info("%s", exc)

    def _open(self) -> None:
        """The live generation open (again, when a rebuild elsewhere switched it)."""
        try:
            name = self._files.live()
            if self._db is not None and name == self._generation:
                return
            self._drop()
            self._db = self._files.open(name)
        except (OSError, sqlite3.Error) as exc:  # unreadable, not writable, out of space…
            raise SearchUnavailable(f"cannot open the search index in {self.folder}: "
                                    f"{exc}") from exc
        self._generation = name

    def _drop(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None
        self._generation = None

    def _conn(self) -> sqlite3.Connection:
        self._open()
        assert self._db is not None
        return self._db

    @contextlib.contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """The live generation, under the lock. SQLite finding it malformed raises
        IndexDamaged (and the connection is dropped: the next call opens what ``current``
        then names, a rebuilt generation say)."""
        with self._lock:
            db = self._conn()
            try:
                yield db
            except sqlite3.DatabaseError as exc:
                if not is_damage(exc):
                    raise
                name = self._generation
                self._drop()
                raise self._files.damaged(f"{name}: {exc}") from exc

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
        with self._using() as db, db:
            db.execute("BEGIN IMMEDIATE")  # another process's writes wait: seq and types
            return self._write(db, pages)

    def delete_document(self, document_id: str) -> int:
        with self._using() as db, db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute("SELECT rowid, text FROM page_meta WHERE document_id = ?",
                              (document_id,)).fetchall()
            for rowid, text in rows:
                remove_row(db, rowid, text)
        return len(rows)

    def rebuild(self, pages: Iterable[IndexedPage], *, resume: bool = True,
                batch: int = 500) -> int:
        """Write a new generation from ``pages`` (sorted by document id), then switch to it.
        An interrupted rebuild is resumed from the last document it committed. The live
        generation is never read: a damaged index is rebuilt like a sound one."""
        with self._lock:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                name = self._files.target(resume)
                db = self._files.begin(name, resume)
            except (OSError, sqlite3.Error) as exc:
                raise SearchUnavailable(f"cannot write a new search index in "
                                        f"{self.folder}: {exc}") from exc
            try:
                written = self._fill(db, pages, batch)
            except sqlite3.DatabaseError as exc:
                db.close()
                if not is_damage(exc):
                    raise
                self._files.remove(name)
                raise self._files.damaged(f"the new generation {name} was found damaged "
                                          f"while it was written ({exc}); it was "
                                          f"removed") from exc
            except BaseException:
                db.close()
                raise
            db.close()
            self._files.set_live(name)
            self._drop()
            self._open()
            self._files.remove_all_but(name)
            return written

    def _fill(self, db: sqlite3.Connection, pages: Iterable[IndexedPage], batch: int) -> int:
        """Write ``pages`` after the last document a previous run committed, ``batch`` at a
        time and never splitting a document, then mark the generation complete."""
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
        return written

    def check(self) -> list[str]:
        """What is wrong with the index, reading the live generation whole: its pointer and
        file, SQLite's integrity check, FTS5's integrity check of both full-text tables.
        Empty when it is sound. Slow on a large index (``sohoa check-index`` runs it)."""
        try:
            with self._using() as db:
                return generation_problems(db)
        except IndexDamaged as exc:
            return [exc.problem]

    # ---------------------------------------------------------------------------- reads
    def count(self) -> int:
        with self._using() as db:
            return db.execute("SELECT count(*) FROM page_meta").fetchone()[0]

    def keys(self) -> Iterator[tuple[str, int]]:
        last = ("", 0)
        while True:
            with self._using() as db:
                rows = db.execute(
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
        with self._using() as db:
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
                if is_damage(exc):
                    raise  # IndexDamaged (self._using)
                if "fts5" in str(exc) or "syntax" in str(exc):
                    raise BadQuery(f"the query cannot be searched: {exc}") from exc
                raise SearchUnavailable(f"search failed: {exc}") from exc
            names = dict(db.execute("SELECT id, name FROM types").fetchall()) if counts else {}
        hits = []
        for tier, key, rid in shown:
            d, p, t, code, ev, text = rows[rid]
            score = round(len(found.tiers) - tier - 1 - key / 100, 4) \
                if q.sort == "relevance" and found.tiers else 0.0
            hits.append(Hit(d, p, score, snippet(text, found.words), t, code, ev))
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
            self._drop()

