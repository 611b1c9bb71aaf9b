"""The embedded search backend: SQLite FTS5, nothing to start.

Each page is one contentless FTS5 row with three columns: ``exact`` (NFC text; the tokenizer
lower-cases, marks kept), ``folded`` (marks removed, đ→d) and ``codes`` (numbers, IDs and
dossier codes normalised to letters and digits); the text itself is kept once, in
``page_meta``, with the filter columns. Every query word must match ``folded`` (or, for a
word of five letters or more, a term of the index one edit away, found in the index's own
vocabulary); BM25 weighs ``exact`` hits three times, so exact accents rank first.

The index lives in a folder: ``current`` names the live generation file. A rebuild writes a
new generation beside it (resumable: it records the last document written) and switches by
rewriting ``current`` atomically; a process that had the old generation open finishes its
queries on it and picks up the new one at its next query.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from search.folding import fold, nfc
from search.index import (
    SORTS,
    BadQuery,
    Hit,
    IndexedPage,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    as_query,
    codes,
    decade,
    decode_cursor,
    encode_cursor,
    parse_query,
)
from search.snippets import snippet

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_meta (
    rowid INTEGER PRIMARY KEY,
    document_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    type TEXT NOT NULL,
    dossier_code TEXT,
    event_date TEXT,
    event_year INTEGER,
    scanned_at TEXT,
    authority TEXT,
    text TEXT NOT NULL,
    UNIQUE (document_id, page)
);
CREATE INDEX IF NOT EXISTS page_meta_type ON page_meta (type);
CREATE INDEX IF NOT EXISTS page_meta_event ON page_meta (event_date);
CREATE INDEX IF NOT EXISTS page_meta_scanned ON page_meta (scanned_at);
CREATE INDEX IF NOT EXISTS page_meta_code ON page_meta (dossier_code);
CREATE TABLE IF NOT EXISTS page_ids (rowid INTEGER NOT NULL, pid TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS page_ids_pid ON page_ids (pid);
CREATE INDEX IF NOT EXISTS page_ids_row ON page_ids (rowid);
CREATE VIRTUAL TABLE IF NOT EXISTS page_fts USING fts5(
    exact, folded, codes, content = '', tokenize = "unicode61 remove_diacritics 0"
);
CREATE VIRTUAL TABLE IF NOT EXISTS page_vocab USING fts5vocab(page_fts, 'col');
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT);
"""
WEIGHTS = "3.0, 1.0, 5.0"  # exact, folded, codes
FUZZY_MIN = 5  # letters in a word before one edit is tolerated
FUZZY_MAX_TERMS = 20


def _row_values(text: str) -> tuple[str, str, str]:
    text = nfc(text)
    return text, fold(text), " ".join(codes(text))


def _phrase(tokens: list[str]) -> str:
    return '"' + " ".join(t.replace('"', "") for t in tokens) + '"'


class EmbeddedIndex:
    """SearchIndex over SQLite files in one folder. Safe to share between threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.RLock()
        self._vocab: list[str] | None = None
        self._vocab_version: int | None = None
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
        self._vocab = None

    def _conn(self) -> sqlite3.Connection:
        self._open()  # a rebuild elsewhere may have switched the generation
        assert self._db is not None
        return self._db

    # --------------------------------------------------------------------------- writes
    @staticmethod
    def _write(db: sqlite3.Connection, pages: Iterable[IndexedPage]) -> int:
        n = 0
        for p in pages:
            row = db.execute("SELECT rowid, text FROM page_meta WHERE document_id = ? AND "
                             "page = ?", (p.document_id, p.page)).fetchone()
            if row:
                _remove_row(db, row[0], row[1])
            text = nfc(p.text)
            rowid = db.execute(
                "INSERT INTO page_meta (document_id, page, type, dossier_code, event_date, "
                "event_year, scanned_at, authority, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (p.document_id, p.page, p.type, p.dossier_code, p.event_date, p.event_year,
                 p.scanned_at, p.authority, text)).lastrowid
            db.execute("INSERT INTO page_fts (rowid, exact, folded, codes) VALUES (?, ?, ?, ?)",
                       (rowid, *_row_values(text)))
            db.executemany("INSERT INTO page_ids (rowid, pid) VALUES (?, ?)",
                           [(rowid, pid) for pid in dict.fromkeys(p.personal_ids)])
            n += 1
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
                    _remove_row(db, rowid, text)
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

    def _fuzzy(self, db: sqlite3.Connection, word: str) -> list[str]:
        version = db.execute("SELECT count(*), max(rowid) FROM page_meta").fetchone()
        key = hash(version)
        if self._vocab is None or self._vocab_version != key:
            self._vocab = [t for (t,) in db.execute(
                "SELECT term FROM page_vocab WHERE col = 'folded' AND length(term) >= ?",
                (FUZZY_MIN - 1,))]
            self._vocab_version = key
        found = process.extract(word, self._vocab, scorer=Levenshtein.distance,
                                score_cutoff=1, limit=FUZZY_MAX_TERMS)
        return [term for term, _, _ in found if term != word]

    def _match(self, db: sqlite3.Connection, query: SearchQuery) -> tuple[str | None, list[str]]:
        parsed = parse_query(query.text)
        parts = []
        for tokens in parsed.phrases:
            if len(tokens) == 1:
                word = fold(tokens[0])
                variants = [word]
                if len(word) >= FUZZY_MIN and word.isalpha():
                    variants += self._fuzzy(db, word)
                folded = " OR ".join(_phrase([v]) for v in variants)
                parts.append(f"((folded : ({folded})) OR (exact : {_phrase(tokens)}))")
            else:
                parts.append(f"((folded : {_phrase([fold(t) for t in tokens])}) OR "
                             f"(exact : {_phrase(tokens)}))")
        parts += [f"(codes : {_phrase([c])})" for c in parsed.codes]
        return (" AND ".join(parts) if parts else None), parsed.words

    @staticmethod
    def _filters(query: SearchQuery) -> tuple[str, list]:
        where, args = [], []
        for column, value in (("type", query.type), ("dossier_code", query.dossier_code),
                              ("authority", query.authority)):
            if value:
                where.append(f"m.{column} = ?")
                args.append(value)
        for column, lo, hi in (("event_date", query.event_from, query.event_to),
                               ("scanned_at", query.scanned_from, query.scanned_to)):
            if lo:
                where.append(f"m.{column} >= ?")
                args.append(lo)
            if hi:
                where.append(f"m.{column} <= ?")
                args.append(hi)
        if query.personal_id:
            where.append("m.rowid IN (SELECT rowid FROM page_ids WHERE pid = ?)")
            args.append(query.personal_id)
        return " AND ".join(where), args

    def search(self, query: SearchQuery | str, *, type: str | None = None,
               limit: int = 10) -> SearchResult:
        q = as_query(query, type=type, limit=limit)
        if q.sort not in SORTS:
            raise BadQuery(f"sort must be one of {', '.join(SORTS)}")
        with self._lock:
            db = self._conn()
            match, words = self._match(db, q)
            filters, args = self._filters(q)
            if match:
                source = (f"SELECT m.*, bm25(page_fts, {WEIGHTS}) AS rank FROM page_fts "
                          f"JOIN page_meta m ON m.rowid = page_fts.rowid WHERE page_fts MATCH ?"
                          + (f" AND {filters}" if filters else ""))
                args = [match, *args]
            elif q.text.strip():
                return SearchResult(0, [], {"type": {}, "decade": {}})  # only punctuation
            else:
                source = ("SELECT m.*, 0.0 AS rank FROM page_meta m"
                          + (f" WHERE {filters}" if filters else ""))
            if q.sort == "relevance":
                key = ["rank", "document_id", "page"]
                order = "rank, document_id, page"
            elif q.sort == "date":
                key = ["coalesce(event_date, '9999')", "document_id", "page"]
                order = ", ".join(key)
            else:
                key = ["coalesce(event_date, '')", "document_id", "page"]
                order = f"{key[0]} DESC, document_id DESC, page DESC"
            page_args = list(args)
            after = ""
            if q.after:
                values = decode_cursor(q.after)
                if len(values) != 3:
                    raise BadQuery("a cursor from a search with another sort")
                op = "<" if q.sort == "-date" else ">"
                after = f" WHERE ({', '.join(key)}) {op} (?, ?, ?)"
                page_args += values
            try:
                rows = db.execute(
                    f"SELECT document_id, page, type, dossier_code, event_date, text, rank, "
                    f"{key[0]} FROM ({source}){after} ORDER BY {order} LIMIT ?",
                    [*page_args, q.limit + 1]).fetchall()
                facets = db.execute(  # the total and both facets in one pass
                    f"SELECT type, event_year, count(*) FROM ({source}) GROUP BY type, "
                    f"event_year", args).fetchall()
            except sqlite3.OperationalError as exc:
                if "fts5" in str(exc) or "syntax" in str(exc):
                    raise BadQuery(f"the query cannot be searched: {exc}") from exc
                raise SearchUnavailable(f"search failed: {exc}") from exc
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        hits = [Hit(d, p, round(-rank, 4), snippet(text, words), t, code, ev)
                for d, p, t, code, ev, text, rank, _ in rows]
        by_type: dict[str, int] = {}
        by_decade: dict[str, int] = {}
        total = 0
        for t, year, n in facets:
            total += n
            by_type[t] = by_type.get(t, 0) + n
            dec = decade(year)
            if dec:
                by_decade[dec] = by_decade.get(dec, 0) + n
        nxt = encode_cursor([rows[-1][7], rows[-1][0], rows[-1][1]]) if more and rows else None
        return SearchResult(total, hits, {"type": by_type, "decade": dict(sorted(
            by_decade.items()))}, nxt)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _remove_row(db: sqlite3.Connection, rowid: int, text: str) -> None:
    """Contentless FTS5 forgets a row when told the values it was indexed with."""
    db.execute("INSERT INTO page_fts (page_fts, rowid, exact, folded, codes) "
               "VALUES ('delete', ?, ?, ?, ?)", (rowid, *_row_values(text)))
    db.execute("DELETE FROM page_ids WHERE rowid = ?", (rowid,))
    db.execute("DELETE FROM page_meta WHERE rowid = ?", (rowid,))
