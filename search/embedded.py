"""The embedded search backend: SQLite FTS5 in one file, nothing to start.

Each page is indexed twice in one FTS5 row: ``exact`` (NFC text, lower-cased by the tokenizer,
marks kept) and ``folded`` (marks removed, đ→d). A query matches a page when every query term
matches the folded column; BM25 weighs hits in the exact column higher, so an exact-accent
match ranks above a folded one. A query term written with dots or dashes (a dossier code, a
date) is matched as a phrase of its parts.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from search.folding import TOKEN, fold, nfc
from search.index import Hit, IndexedPage, SearchResult, SearchUnavailable
from search.snippets import snippet

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_meta (
    rowid INTEGER PRIMARY KEY,
    document_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    type TEXT NOT NULL,
    dossier_code TEXT,
    text TEXT NOT NULL,
    UNIQUE (document_id, page)
);
CREATE VIRTUAL TABLE IF NOT EXISTS page_fts USING fts5(
    exact, folded, tokenize = "unicode61 remove_diacritics 0"
);
"""
EXACT_WEIGHT, FOLDED_WEIGHT = 3.0, 1.0


def parse_query(query: str) -> list[list[str]]:
    """Terms of a query, each a list of NFC lower-case tokens to match as a phrase.

    ``"nguyễn văn an"`` (quoted) is one phrase; ``nguyen 000.00.01.H26-230313-0042`` is two
    terms, the second a phrase of six tokens.
    """
    terms: list[list[str]] = []
    parts = nfc(query).split('"')
    for i, part in enumerate(parts):
        if i % 2:  # inside quotes
            toks = [t.lower() for t in TOKEN.findall(part)]
            if toks:
                terms.append(toks)
        else:
            for chunk in part.split():
                toks = [t.lower() for t in TOKEN.findall(chunk)]
                if toks:
                    terms.append(toks)
    return terms


def _fts(terms: list[list[str]], *, folded: bool) -> str:
    phrases = []
    for toks in terms:
        words = [fold(t) if folded else t for t in toks]
        phrases.append('"' + " ".join(w.replace('"', "") for w in words) + '"')
    return " AND ".join(phrases)


class EmbeddedIndex:
    """SearchIndex over one SQLite file. Safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise SearchUnavailable(f"cannot open the search index at {self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def upsert(self, pages: Iterable[IndexedPage]) -> int:
        n = 0
        with self._lock, self._db:
            for p in pages:
                text = nfc(p.text)
                row = self._db.execute(
                    "SELECT rowid FROM page_meta WHERE document_id = ? AND page = ?",
                    (p.document_id, p.page)).fetchone()
                if row:
                    self._db.execute("DELETE FROM page_fts WHERE rowid = ?", row)
                    self._db.execute(
                        "UPDATE page_meta SET type = ?, dossier_code = ?, text = ? "
                        "WHERE rowid = ?", (p.type, p.dossier_code, text, row[0]))
                    rowid = row[0]
                else:
                    rowid = self._db.execute(
                        "INSERT INTO page_meta (document_id, page, type, dossier_code, text) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (p.document_id, p.page, p.type, p.dossier_code, text)).lastrowid
                self._db.execute("INSERT INTO page_fts (rowid, exact, folded) VALUES (?, ?, ?)",
                                 (rowid, text, fold(text)))
                n += 1
        return n

    def delete_document(self, document_id: str) -> int:
        with self._lock, self._db:
            rows = self._db.execute("SELECT rowid FROM page_meta WHERE document_id = ?",
                                    (document_id,)).fetchall()
            self._db.executemany("DELETE FROM page_fts WHERE rowid = ?", rows)
            self._db.execute("DELETE FROM page_meta WHERE document_id = ?", (document_id,))
        return len(rows)

    def search(self, query: str, *, type: str | None = None, limit: int = 10,
               offset: int = 0) -> SearchResult:
        terms = parse_query(query)
        if not terms:
            return SearchResult(0, [])
        match = f"(exact : ({_fts(terms, folded=False)})) OR (folded : ({_fts(terms, folded=True)}))"
        where, args = "page_fts MATCH ?", [match]
        if type:
            where += " AND m.type = ?"
            args.append(type)
        with self._lock:
            total = self._db.execute(
                f"SELECT count(*) FROM page_fts JOIN page_meta m ON m.rowid = page_fts.rowid "
                f"WHERE {where}", args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT m.document_id, m.page, m.type, m.dossier_code, m.text, "
                f"bm25(page_fts, {EXACT_WEIGHT}, {FOLDED_WEIGHT}) AS rank "
                f"FROM page_fts JOIN page_meta m ON m.rowid = page_fts.rowid "
                f"WHERE {where} ORDER BY rank, m.document_id, m.page LIMIT ? OFFSET ?",
                [*args, limit, offset]).fetchall()
        words = [fold(t) for toks in terms for t in toks]
        hits = [Hit(document_id=d, page=p, score=round(-rank, 4), snippet=snippet(text, words),
                    type=t, dossier_code=code) for d, p, t, code, text, rank in rows]
        return SearchResult(total, hits)

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM page_meta").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
