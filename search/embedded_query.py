"""The embedded backend's queries: a search as FTS5 expressions in relevance tiers, its filters
as SQL on rowids, and one page of ranked (tier, key, rowid) after a cursor.

Every query word must match ``folded``; a word of five letters or more also matches the index
words one edit away, found through ``term_deletions``. Relevance runs in tiers: first the
pages whose names (``name_fts``) hold the words, then the rest; within each, all the words as
one phrase with their exact marks, then as one folded phrase, then the words anywhere; BM25
(exact hits weighed three times) orders each tier, and only the tiers the requested page
needs are ranked.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Tier:
    """The pages matching ``match`` (on ``page_fts``) whose names match ``names`` (on
    ``name_fts``), or, when ``names`` is None, whose names do not match ``not_names``."""

    match: str
    names: str | None = None
    not_names: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    whole: str  # every page the query finds ("" for filters alone): counts, date sorts
    tiers: list[Tier]  # best first, disjoint, together ``whole``
    words: list[str]  # folded, for highlighting


def layered(levels: list[str], k: int) -> str:
    """Level ``k`` without the one before it (each level contains the ones before it)."""
    return levels[k] if k == 0 else f"({levels[k]}) NOT ({levels[k - 1]})"


def plan(db: sqlite3.Connection, query: SearchQuery) -> Plan:
    """The query's whole match and its tiers. The whole match: every word in the folded text
    (a longer word also as any index term one edit away), every code in ``codes``. The
    levels of a match, best first: all the words as one phrase with their exact marks, as
    one folded phrase, then apart. The tiers: the pages whose names match, by the level of
    the names' match (the words apart in the names: exact, never one edit away), then the
    rest, by the level of the text's match."""
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
        return Plan("", [], parsed.words)
    whole = " AND ".join(every)
    tokens = [t for phrase_ in parsed.phrases for t in phrase_]
    if not tokens:
        return Plan(whole, [Tier(whole)], parsed.words)
    folded = [fold(t) for t in tokens]
    text = [" AND ".join([f"(exact : {phrase(tokens)})", *codes_part]),
            " AND ".join([f"(folded : {phrase(folded)})", *codes_part]), whole]
    names = [f"(exact : {phrase(tokens)})", f"(folded : {phrase(folded)})"]
    if len(parsed.phrases) > 1:
        names.append(" AND ".join(f"(folded : {phrase([fold(t) for t in p])})"
                                  for p in parsed.phrases))
    tiers = [Tier(whole, names=layered(names, k)) for k in range(len(names))]
    tiers += [Tier(layered(text, k), not_names=names[-1]) for k in range(len(text))]
    return Plan(whole, tiers, parsed.words)


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


def ranked_page(db: sqlite3.Connection, q: SearchQuery, plan: Plan,
                fts_filter: tuple[str, list], sort_filter: tuple[str, list]) -> list[tuple]:
    """Up to limit + 1 (tier, key, rowid) after the cursor, in result order."""
    after = decode_cursor(q.after) if q.after else None
    if after is not None and len(after) != 3:
        raise BadQuery("a cursor from a search with another sort or backend")
    if q.sort != "relevance":
        return by_date(db, q, plan, after, fts_filter, sort_filter)
    if not plan.tiers:  # filters only: in rowid order
        scond, sargs = sort_filter
        where = [scond] if scond else []
        args = list(sargs)
        if after:
            where.append("page_sort.rowid > ?")
            args.append(after[2])
        return db.execute(
            "SELECT 0, 0.0, page_sort.rowid FROM page_sort"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY page_sort.rowid LIMIT ?", [*args, q.limit + 1]).fetchall()
    return by_relevance(db, q, plan, after, fts_filter)


def by_date(db: sqlite3.Connection, q: SearchQuery, plan: Plan, after: list | None,
            fts_filter: tuple[str, list], sort_filter: tuple[str, list]) -> list[tuple]:
    missing = "'9999'" if q.sort == "date" else "''"
    if plan.whole:
        cond, cargs = fts_filter
        extra = f" AND {cond}" if cond else ""
        source = f"SELECT page_fts.rowid AS rid FROM page_fts WHERE page_fts MATCH ?{extra}"
        args = [plan.whole, *cargs]
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
    return db.execute(
        f"SELECT 0, k, rid FROM (SELECT b.rid AS rid, coalesce(s.event_date, {missing}) "
        f"AS k FROM ({source}) b JOIN page_sort s ON s.rowid = b.rid){keyset} "
        f"ORDER BY {order} LIMIT ?", [*args, q.limit + 1]).fetchall()


def tier_condition(db: sqlite3.Connection, tier: Tier,
                   fts_filter: tuple[str, list]) -> tuple[str, list] | None:
    """SQL selecting a tier's rows of ``page_fts``; None when no page's names match a names
    tier (the + keeps SQLite from handing the name condition to FTS5 row by row)."""
    cond, cargs = fts_filter
    where, args = ["page_fts MATCH ?"], [tier.match]
    if tier.names is not None:
        if not any_names(db, tier.names):
            return None
        where.append("+page_fts.rowid IN (SELECT rowid FROM name_fts WHERE name_fts MATCH ?)")
        args.append(tier.names)
    elif tier.not_names is not None and any_names(db, tier.not_names):
        where.append("+page_fts.rowid NOT IN (SELECT rowid FROM name_fts WHERE name_fts "
                     "MATCH ?)")
        args.append(tier.not_names)
    if cond:
        where.append(cond)
    return " AND ".join(where), [*args, *cargs]


def any_names(db: sqlite3.Connection, expr: str) -> bool:
    """Whether any page's names match: most queries name nobody, and then the names tiers
    cost one index lookup each, not a pass over the text matches."""
    return db.execute("SELECT 1 FROM name_fts WHERE name_fts MATCH ? LIMIT 1",
                      (expr,)).fetchone() is not None


def by_relevance(db: sqlite3.Connection, q: SearchQuery, plan: Plan, after: list | None,
                 fts_filter: tuple[str, list]) -> list[tuple]:
    """Tier by tier, BM25 within each, as far as the page of hits needs."""
    want = q.limit + 1
    out: list[tuple] = []
    start = after[0] if after else 0
    for number in range(start, len(plan.tiers)):
        condition = tier_condition(db, plan.tiers[number], fts_filter)
        if condition is None:
            continue
        where, args = condition
        keyset = ""
        if after and number == start:
            keyset = " WHERE (k, rid) > (?, ?)"
            args += after[1:]
        out += db.execute(
            f"SELECT {number}, k, rid FROM (SELECT page_fts.rowid AS rid, bm25(page_fts, "
            f"{WEIGHTS}) AS k FROM page_fts WHERE {where}){keyset} "
            f"ORDER BY k, rid LIMIT ?", [*args, want - len(out)]).fetchall()
        if len(out) >= want:
            break
    return out
