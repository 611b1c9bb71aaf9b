"""The embedded search backend: SQLite FTS5, nothing to start.

Each page is one contentless FTS5 row with three columns: ``exact`` (NFC text; the tokenizer
lower-cases, marks kept), ``folded`` (marks removed, đ→d) and ``codes`` (numbers, IDs and
dossier codes normalised to letters and digits); the text itself is kept once, in
``page_meta``. Rowids are laid out as ``type << 40 | decade << 32 | sequence``, so the counts
per type and decade are read off the matched rowids with no table lookup, and a type filter
is a rowid range FTS5 serves itself.

Every query word must match ``folded``; a word of five letters or more also matches the index
words one edit away, found through ``term_deletions`` (symmetric deletion), kept up to date as
pages are written. Relevance runs in tiers: all the words as one phrase with their exact
marks, then as one folded phrase, then the words anywhere; BM25 (exact hits weighed three
times) orders each tier, and only the tiers the requested page needs are ranked.

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

from rapidfuzz.distance import Levenshtein

from search.folding import TOKEN, fold, nfc
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
    decode_cursor,
    encode_cursor,
    parse_query,
)
from search.snippets import snippet

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_meta (
    rowid INTEGER PRIMARY KEY,  -- type_id << 40 | decade << 32 | sequence (see _rowid)
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
CREATE INDEX IF NOT EXISTS page_meta_scanned ON page_meta (scanned_at);
CREATE INDEX IF NOT EXISTS page_meta_code ON page_meta (dossier_code);
CREATE INDEX IF NOT EXISTS page_meta_authority ON page_meta (authority);
CREATE TABLE IF NOT EXISTS page_sort (rowid INTEGER PRIMARY KEY, event_date TEXT);
CREATE INDEX IF NOT EXISTS page_sort_event ON page_sort (event_date);
CREATE TABLE IF NOT EXISTS page_ids (rowid INTEGER NOT NULL, pid TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS page_ids_pid ON page_ids (pid);
CREATE INDEX IF NOT EXISTS page_ids_row ON page_ids (rowid);
CREATE TABLE IF NOT EXISTS types (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS term_deletions (
    key TEXT NOT NULL, term TEXT NOT NULL, PRIMARY KEY (key, term)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS page_fts USING fts5(
    exact, folded, codes, content = '', tokenize = "unicode61 remove_diacritics 0"
);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT);
"""
WEIGHTS = "3.0, 1.0, 5.0"  # exact, folded, codes
FUZZY_MIN = 5  # letters in a word before one edit is tolerated
FUZZY_MAX_TERMS = 20
TYPE_SHIFT, DECADE_SHIFT = 40, 32  # rowid layout: counts per type and decade need no lookup


def _deletions(term: str) -> set[str]:
    return {term, *(term[:i] + term[i + 1:] for i in range(len(term)))}


def _decade_code(year: int | None) -> int:
    """0 for no date; 1..255 for the decades from the 1500s."""
    return 0 if year is None else max(1, min(255, year // 10 - 149))


def _code_decade(code: int) -> str | None:
    return None if code == 0 else str((code + 149) * 10)


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

    def _conn(self) -> sqlite3.Connection:
        self._open()  # a rebuild elsewhere may have switched the generation
        assert self._db is not None
        return self._db

    # --------------------------------------------------------------------------- writes
    @staticmethod
    def _type_id(db: sqlite3.Connection, name: str, *, create: bool) -> int | None:
        row = db.execute("SELECT id FROM types WHERE name = ?", (name,)).fetchone()
        if row is None and create:
            return db.execute("INSERT INTO types (name) VALUES (?)", (name,)).lastrowid
        return row[0] if row else None

    @classmethod
    def _write(cls, db: sqlite3.Connection, pages: Iterable[IndexedPage]) -> int:
        n = 0
        seq_row = db.execute("SELECT value FROM info WHERE key = 'seq'").fetchone()
        seq = int(seq_row[0]) if seq_row else 0
        for p in pages:
            row = db.execute("SELECT rowid, text FROM page_meta WHERE document_id = ? AND "
                             "page = ?", (p.document_id, p.page)).fetchone()
            if row:
                _remove_row(db, row[0], row[1])
            text = nfc(p.text)
            seq += 1
            rowid = (cls._type_id(db, p.type, create=True) << TYPE_SHIFT
                     | _decade_code(p.event_year) << DECADE_SHIFT | (seq & 0xFFFFFFFF))
            db.execute(
                "INSERT INTO page_meta (rowid, document_id, page, type, dossier_code, "
                "event_date, event_year, scanned_at, authority, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rowid, p.document_id, p.page, p.type, p.dossier_code, p.event_date,
                 p.event_year, p.scanned_at, p.authority, text))
            values = _row_values(text)
            db.execute("INSERT INTO page_fts (rowid, exact, folded, codes) VALUES (?, ?, ?, ?)",
                       (rowid, *values))
            cls._learn_terms(db, values[1])
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

    @staticmethod
    def _learn_terms(db: sqlite3.Connection, folded: str) -> None:
        """File every new folded word (4+ letters) under itself and its one-letter deletions:
        two words one edit apart share a key (symmetric deletion), so the words near a query
        word are found by index lookups, with nothing to load at start."""
        words = {w for w in TOKEN.findall(folded) if len(w) >= FUZZY_MIN - 1 and w.isalpha()}
        if not words:
            return
        known = {t for (t,) in db.execute(
            f"SELECT term FROM terms WHERE term IN ({','.join('?' * len(words))})",
            list(words))}
        new = words - known
        if new:
            db.executemany("INSERT INTO terms (term) VALUES (?)", [(w,) for w in new])
            db.executemany("INSERT OR IGNORE INTO term_deletions (key, term) VALUES (?, ?)",
                           [(k, w) for w in new for k in _deletions(w)])

    def _fuzzy(self, db: sqlite3.Connection, word: str) -> list[str]:
        """Index words one edit from ``word`` (they may no longer occur: they then match
        nothing)."""
        keys = list(_deletions(word))
        found = {t for (t,) in db.execute(
            f"SELECT DISTINCT term FROM term_deletions WHERE key IN ({','.join('?' * len(keys))})",
            keys)}
        found.discard(word)
        return sorted(t for t in found if Levenshtein.distance(t, word) <= 1)[:FUZZY_MAX_TERMS]

    def _tiers(self, db: sqlite3.Connection, query: SearchQuery) -> tuple[list[str], list[str]]:
        """FTS5 expressions for the query, best tier first, and the folded words (for
        highlighting). The last tier is the whole match: every word in the folded text
        (a longer word also as any index term one edit away). Before it, when there are
        words: all of them as one phrase in the folded text, and before that in the exact
        text. Each tier contains the ones before it."""
        parsed = parse_query(query.text)
        codes_part = [f"(codes : {_phrase([c])})" for c in parsed.codes]
        every = []
        for tokens in parsed.phrases:
            if len(tokens) == 1:
                word = fold(tokens[0])
                variants = [word]
                if len(word) >= FUZZY_MIN and word.isalpha():
                    variants += self._fuzzy(db, word)
                every.append(f"(folded : ({' OR '.join(_phrase([v]) for v in variants)}))")
            else:
                every.append(f"(folded : {_phrase([fold(t) for t in tokens])})")
        every += codes_part
        if not every:
            return [], parsed.words
        tokens = [t for phrase in parsed.phrases for t in phrase]
        tiers = []
        if tokens:
            tiers.append(" AND ".join([f"(exact : {_phrase(tokens)})", *codes_part]))
            tiers.append(" AND ".join([f"(folded : {_phrase([fold(t) for t in tokens])})",
                                       *codes_part]))
        tiers.append(" AND ".join(every))
        return tiers, parsed.words

    def _filters(self, db: sqlite3.Connection, query: SearchQuery,
                 rowid: str) -> tuple[str, list] | None:
        """SQL conditions on ``rowid`` for the query's filters (None: nothing can match).
        A type is a rowid range, which FTS5 serves itself; the rest are checked on the
        matched rows (the + keeps SQLite from handing them to FTS5 row by row)."""
        where, args = [], []
        if query.type:
            tid = self._type_id(db, query.type, create=False)
            if tid is None:
                return None
            where.append(f"{rowid} >= ? AND {rowid} < ?")
            args += [tid << TYPE_SHIFT, (tid + 1) << TYPE_SHIFT]
        meta, margs = [], []
        for column, value in (("dossier_code", query.dossier_code),
                              ("authority", query.authority)):
            if value:
                meta.append(f"{column} = ?")
                margs.append(value)
        if query.scanned_from:
            meta.append("scanned_at >= ?")
            margs.append(query.scanned_from)
        if query.scanned_to:
            meta.append("scanned_at <= ?")
            margs.append(query.scanned_to)
        if meta:
            where.append(f"+{rowid} IN (SELECT rowid FROM page_meta WHERE {' AND '.join(meta)})")
            args += margs
        dates = []
        if query.event_from:
            dates.append("event_date >= ?")
            args_dates = [query.event_from]
        else:
            args_dates = []
        if query.event_to:
            dates.append("event_date <= ?")
            args_dates.append(query.event_to)
        if dates:
            where.append(f"+{rowid} IN (SELECT rowid FROM page_sort WHERE {' AND '.join(dates)})")
            args += args_dates
        if query.personal_id:
            where.append(f"+{rowid} IN (SELECT rowid FROM page_ids WHERE pid = ?)")
            args.append(query.personal_id)
        return " AND ".join(where), args

    def search(self, query: SearchQuery | str, *, type: str | None = None,
               limit: int = 10) -> SearchResult:
        """Counts per type and decade come from the matched rowids alone; ranking runs tier
        by tier (exact phrase, folded phrase, every word) and only as far as the page of
        hits asked for needs; the wide rows (text, for snippets) are read for the hits
        returned. Cursors are [tier, sort key, rowid]."""
        q = as_query(query, type=type, limit=limit)
        if q.sort not in SORTS:
            raise BadQuery(f"sort must be one of {', '.join(SORTS)}")
        empty = SearchResult(0, [], {"type": {}, "decade": {}})
        with self._lock:
            db = self._conn()
            tiers, words = self._tiers(db, q)
            if q.text.strip() and not tiers:
                return empty  # only punctuation
            fts_filter = self._filters(db, q, "page_fts.rowid")
            sort_filter = self._filters(db, q, "page_sort.rowid")
            if fts_filter is None or sort_filter is None:
                return empty
            try:
                if tiers:
                    cond, cargs = fts_filter
                    extra = f" AND {cond}" if cond else ""
                    counts = db.execute(
                        f"SELECT page_fts.rowid >> {DECADE_SHIFT}, count(*) FROM page_fts "
                        f"WHERE page_fts MATCH ?{extra} GROUP BY 1", [tiers[-1], *cargs]
                    ).fetchall()
                else:
                    cond, cargs = sort_filter
                    counts = db.execute(
                        f"SELECT page_sort.rowid >> {DECADE_SHIFT}, count(*) FROM page_sort"
                        + (f" WHERE {cond}" if cond else "") + " GROUP BY 1", cargs).fetchall()
                top = self._page(db, q, tiers, fts_filter, sort_filter)
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
            score = round(len(tiers) - tier - 1 - key / 100, 4) if q.sort == "relevance" \
                and tiers else 0.0
            hits.append(Hit(d, p, score, snippet(text, words), t, code, ev))
        names = dict(db.execute("SELECT id, name FROM types").fetchall()) if counts else {}
        by_type: dict[str, int] = {}
        by_decade: dict[str, int] = {}
        for group, n in counts:
            t = names.get(group >> (TYPE_SHIFT - DECADE_SHIFT), "unknown")
            by_type[t] = by_type.get(t, 0) + n
            dec = _code_decade(group & 0xFF)
            if dec:
                by_decade[dec] = by_decade.get(dec, 0) + n
        nxt = encode_cursor(list(shown[-1])) if len(top) > q.limit else None
        return SearchResult(sum(n for _, n in counts), hits,
                            {"type": by_type, "decade": dict(sorted(by_decade.items()))}, nxt)

    def _page(self, db: sqlite3.Connection, q: SearchQuery, tiers: list[str],
              fts_filter: tuple[str, list], sort_filter: tuple[str, list]) -> list[tuple]:
        """Up to limit + 1 (tier, key, rowid) after the cursor, in result order."""
        want = q.limit + 1
        after = decode_cursor(q.after) if q.after else None
        if after is not None and len(after) != 3:
            raise BadQuery("a cursor from a search with another sort or backend")
        cond, cargs = fts_filter
        extra = f" AND {cond}" if cond else ""
        if q.sort != "relevance":
            missing = "'9999'" if q.sort == "date" else "''"
            if tiers:
                source = (f"SELECT page_fts.rowid AS rid FROM page_fts WHERE page_fts MATCH "
                          f"?{extra}")
                args = [tiers[-1], *cargs]
            else:
                scond, sargs = sort_filter
                source = "SELECT page_sort.rowid AS rid FROM page_sort" + (
                    f" WHERE {scond}" if scond else "")
                args = list(sargs)
            op, order = (">", "k, rid") if q.sort == "date" else ("<", "k DESC, rid DESC")
            keyset = ""
            if after:
                keyset = f" WHERE (k, rid) {op} (?, ?)"
                args += after[1:]
            rows = db.execute(
                f"SELECT 0, k, rid FROM (SELECT b.rid AS rid, coalesce(s.event_date, {missing}) "
                f"AS k FROM ({source}) b JOIN page_sort s ON s.rowid = b.rid){keyset} "
                f"ORDER BY {order} LIMIT ?", [*args, want]).fetchall()
            return rows
        if not tiers:  # filters only: in rowid order
            scond, sargs = sort_filter
            where = [scond] if scond else []
            args = list(sargs)
            if after:
                where.append("page_sort.rowid > ?")
                args.append(after[2])
            return db.execute(
                "SELECT 0, 0.0, page_sort.rowid FROM page_sort"
                + (f" WHERE {' AND '.join(where)}" if where else "")
                + " ORDER BY page_sort.rowid LIMIT ?", [*args, want]).fetchall()
        out: list[tuple] = []
        start = after[0] if after else 0
        for tier in range(start, len(tiers)):
            expr = tiers[tier] if tier == 0 else f"({tiers[tier]}) NOT ({tiers[tier - 1]})"
            args = [expr, *cargs]
            keyset = ""
            if after and tier == start:
                keyset = " WHERE (k, rid) > (?, ?)"
                args += after[1:]
            out += db.execute(
                f"SELECT {tier}, k, rid FROM (SELECT page_fts.rowid AS rid, bm25(page_fts, "
                f"{WEIGHTS}) AS k FROM page_fts WHERE page_fts MATCH ?{extra}){keyset} "
                f"ORDER BY k, rid LIMIT ?", [*args, want - len(out)]).fetchall()
            if len(out) >= want:
                break
        return out

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
    db.execute("DELETE FROM page_sort WHERE rowid = ?", (rowid,))
    db.execute("DELETE FROM page_meta WHERE rowid = ?", (rowid,))
