"""The embedded backend's stored layout: its SQLite schema, the rowid layout, and the rows and
term keys written for each page (see ``search.embedded`` for the design).

Rowids are laid out as ``type << 40 | decade << 32 | sequence``. Every folded word of four
letters or more is filed in ``term_deletions`` under itself and its one-letter deletions
(symmetric deletion), so the index words one edit from a query word are index lookups.
The people a page names are one row of ``name_fts`` (exact and folded, a line per name) under
the page's rowid; it stores its text (names are short), so a page's names are deleted by rowid.
"""

from __future__ import annotations

import sqlite3

from search.folding import TOKEN, fold, nfc
from search.index import codes

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
CREATE VIRTUAL TABLE IF NOT EXISTS name_fts USING fts5(
    exact, folded, tokenize = "unicode61 remove_diacritics 0"
);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT);
"""
# 2: names (``name_fts``, one row per page that names people, under the page's rowid). A
# generation written before has an empty ``name_fts``: it answers as before, ranking no
# names, until ``sohoa reindex`` writes a new generation.
SCHEMA_VERSION = 2
FUZZY_MIN = 5  # letters in a word before one edit is tolerated
TYPE_SHIFT, DECADE_SHIFT = 40, 32  # rowid layout: counts per type and decade need no lookup


def deletions(term: str) -> set[str]:
    return {term, *(term[:i] + term[i + 1:] for i in range(len(term)))}


def decade_code(year: int | None) -> int:
    """0 for no date; 1..255 for the decades from the 1500s."""
    return 0 if year is None else max(1, min(255, year // 10 - 149))


def code_decade(code: int) -> str | None:
    return None if code == 0 else str((code + 149) * 10)


def row_values(text: str) -> tuple[str, str, str]:
    text = nfc(text)
    return text, fold(text), " ".join(codes(text))


def name_values(names: tuple[str, ...]) -> tuple[str, str]:
    """The names as one exact and one folded text, a line each."""
    text = "\n".join(nfc(n) for n in names)
    return text, fold(text)


def schema_version(db: sqlite3.Connection) -> int:
    """The generation's layout; an empty generation is stamped with the current one."""
    row = db.execute("SELECT value FROM info WHERE key = 'schema'").fetchone()
    if row:
        return int(row[0])
    if db.execute("SELECT 1 FROM page_meta LIMIT 1").fetchone():
        return 1
    with db:
        db.execute("INSERT INTO info VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    return SCHEMA_VERSION


def type_id(db: sqlite3.Connection, name: str, *, create: bool) -> int | None:
    row = db.execute("SELECT id FROM types WHERE name = ?", (name,)).fetchone()
    if row is None and create:
        return db.execute("INSERT INTO types (name) VALUES (?)", (name,)).lastrowid
    return row[0] if row else None


def learn_terms(db: sqlite3.Connection, folded: str) -> None:
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
                       [(k, w) for w in new for k in deletions(w)])


def remove_row(db: sqlite3.Connection, rowid: int, text: str) -> None:
    """Contentless FTS5 forgets a row when told the values it was indexed with."""
    db.execute("INSERT INTO page_fts (page_fts, rowid, exact, folded, codes) "
               "VALUES ('delete', ?, ?, ?, ?)", (rowid, *row_values(text)))
    db.execute("DELETE FROM name_fts WHERE rowid = ?", (rowid,))
    db.execute("DELETE FROM page_ids WHERE rowid = ?", (rowid,))
    db.execute("DELETE FROM page_sort WHERE rowid = ?", (rowid,))
    db.execute("DELETE FROM page_meta WHERE rowid = ?", (rowid,))
