"""The embedded backend's queries: a search as FTS5 expressions in relevance tiers, its filters
as SQL on rowids, and one page of ranked (tier, key, rowid) after a cursor.

Every query word must match ``folded``; a word of five letters or more also matches the index
words one edit away, found through ``term_deletions``. Relevance runs in tiers: all the words
as one phrase with their exact marks, then as one folded phrase, then the words anywhere;
BM25 (exact hits weighed three times) orders each tier, and only the tiers the requested page
needs are ranked.
"""

from __future__ import annotations

import sqlite3

from rapidfuzz.distance import Levenshtein

from search.embedded_schema import FUZZY_MIN, TYPE_SHIFT, deletions, type_id
from search.folding import fold
from search.index import BadQuery, SearchQuery, decode_cursor, parse_query

WEIGHTS = "3.0, 1.0, 5.0"  # exact, folded, codes
FUZZY_MAX_TERMS = 20


def phrase(tokens: list[str]) -> str:
    return '"' + " ".join(t.replace('"', "") for t in tokens) + '"'


def fuzzy(db: sqlite3.Connection, word: str) -> list[str]:
    """Index words one edit from ``word`` (they may no longer occur: they then match
    nothing)."""
    keys = list(deletions(word))
    found = {t for (t,) in db.execute(
        f"SELECT DISTINCT term FROM term_deletions WHERE key IN ({','.join('?' * len(keys))})",
        keys)}
    found.discard(word)
    return sorted(t for t in found if Levenshtein.distance(t, word) <= 1)[:FUZZY_MAX_TERMS]


def tiers(db: sqlite3.Connection, query: SearchQuery) -> tuple[list[str], list[str]]:
    """FTS5 expressions for the query, best tier first, and the folded words (for
    highlighting). The last tier is the whole match: every word in the folded text
    (a longer word also as any index term one edit away). Before it, when there are
    words: all of them as one phrase in the folded text, and before that in the exact
    text. Each tier contains the ones before it."""
    parsed = parse_query(query.text)
    codes_part = [f"(codes : {phrase([c])})" for c in parsed.codes]
    every = []
    for tokens in parsed.phrases:
        if len(tokens) == 1:
            word = fold(tokens[0])
            variants = [word]
            if len(word) >= FUZZY_MIN and word.isalpha():
                variants += fuzzy(db, word)
            every.append(f"(folded : ({' OR '.join(phrase([v]) for v in variants)}))")
        else:
            every.append(f"(folded : {phrase([fold(t) for t in tokens])})")
    every += codes_part
    if not every:
        return [], parsed.words
    tokens = [t for phrase_ in parsed.phrases for t in phrase_]
    found = []
    if tokens:
        found.append(" AND ".join([f"(exact : {phrase(tokens)})", *codes_part]))
        found.append(" AND ".join([f"(folded : {phrase([fold(t) for t in tokens])})",
                                   *codes_part]))
    found.append(" AND ".join(every))
    return found, parsed.words


def filters(db: sqlite3.Connection, query: SearchQuery, rowid: str) -> tuple[str, list] | None:
    """SQL conditions on ``rowid`` for the query's filters (None: nothing can match).
    A type is a rowid range, which FTS5 serves itself; the rest are checked on the
    matched rows (the + keeps SQLite from handing them to FTS5 row by row)."""
    where, args = [], []
    if query.type:
        tid = type_id(db, query.type, create=False)
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


def ranked_page(db: sqlite3.Connection, q: SearchQuery, tiers: list[str],
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
