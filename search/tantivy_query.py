"""The Tantivy backend's queries: a search as Tantivy queries in relevance tiers, its filters,
and its cursors (the same tiers as the embedded backend, see ``search.embedded_query``).

Every query word must match ``folded``; a word of five letters or more also matches the index
words one (Levenshtein) edit away. Those are found once per search (``variants``: every word
one edit away over the letters a-z, the digits and the word's own letters, kept if the index
holds it, the 20 commonest) and matched as plain terms: Tantivy's own fuzzy query reads every
posting of every variant into a bitset each time it is evaluated, and a search evaluates the
whole match once for its counts and again in each tier it ranks (at 1,000,000 pages that made
a common first name cost 25–40 ms more). Relevance runs in tiers: first the pages whose names hold
the words, then the rest; within each, all the words as one phrase with their exact marks,
then as one folded phrase, then the words anywhere. BM25 orders each tier (exact words weigh
three times, codes five), and only the tiers the requested page needs are searched.

Cursors: ``["r", tier, n]`` resumes relevance after the first ``n`` hits of ``tier``;
``["k", key]`` resumes an order by a fast field (``seq`` for filters alone, ``date_up`` or
``date_down`` for dates) after ``key``, which is unique.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

import tantivy
from tantivy import FieldType, Occur, Query

from search.folding import fold
from search.index import BadQuery, SearchQuery, decode_cursor, parse_query
from search.tantivy_schema import NO_DATE_UP, SEQ_BITS, SEQ_MASK, digits

FUZZY_MIN = 5  # letters in a word before one edit is tolerated (as the embedded backend)
FUZZY_MAX_TERMS = 20  # variants of a word searched for, at most (as the embedded backend)
EDIT_LETTERS = string.ascii_lowercase + string.digits  # what a folded word is mostly made of
EXACT_WEIGHT, CODE_WEIGHT = 3.0, 5.0
MUST, SHOULD, MUST_NOT = Occur.Must, Occur.Should, Occur.MustNot


@dataclass(frozen=True, slots=True)
class Plan:
    whole: Query | None  # every page the query finds (None: filters alone)
    tiers: list[Query]  # best first, disjoint, together ``whole``; scored
    words: list[str]  # folded, for highlighting
    nothing: bool = False  # text without a word or code ("!!!"): nothing matches


def both(*queries: Query | None) -> Query:
    kept = [q for q in queries if q is not None]
    return kept[0] if len(kept) == 1 else Query.boolean_query([(MUST, q) for q in kept])


def words(schema: tantivy.Schema, field: str, tokens: list[str]) -> Query:
    """The tokens in order in ``field`` (a term when there is one)."""
    if len(tokens) == 1:
        return Query.term_query(schema, field, tokens[0], index_option="freq")
    return Query.phrase_query(schema, field, tokens)


def edits(word: str) -> set[str]:
    """Every word one edit (a letter deleted, inserted or replaced) from ``word``, over
    ``EDIT_LETTERS`` and the word's own letters; not the word itself."""
    letters = set(EDIT_LETTERS) | set(word)
    out = {word[:i] + word[i + 1:] for i in range(len(word))}
    for i in range(len(word) + 1):
        out.update(word[:i] + c + word[i:] for c in letters)
    for i in range(len(word)):
        out.update(word[:i] + c + word[i + 1:] for c in letters)
    out.discard(word)
    return out


def variants(doc_freq: Callable[[str], int], word: str) -> list[str]:
    """The index words one edit from ``word`` (``doc_freq`` of a folded word: the pages that
    hold it), the commonest ``FUZZY_MAX_TERMS``; none below ``FUZZY_MIN`` letters."""
    if len(word) < FUZZY_MIN or not word.isalpha():
        return []
    counted = [(n, w) for w in edits(word) if (n := doc_freq(w))]
    counted.sort(key=lambda nw: (-nw[0], nw[1]))
    return [w for _, w in counted[:FUZZY_MAX_TERMS]]


def one_word(schema: tantivy.Schema, word: str, others: list[str]) -> Query:
    """A folded word, or any of ``others`` (its variants one edit away)."""
    term = Query.term_query(schema, "folded", word, index_option="freq")
    if not others:
        return term
    return Query.boolean_query([(SHOULD, term)] + [
        (SHOULD, Query.term_query(schema, "folded", w, index_option="freq")) for w in others])


def plan(schema: tantivy.Schema, query: SearchQuery, restrict: Query | None,
         doc_freq: Callable[[str], int]) -> Plan:
    """The query's whole match and its tiers, each narrowed by ``restrict`` (the filters);
    ``doc_freq`` counts the pages holding a folded word (for the variants of a long word).
    The levels of a match, best first: all the words as one phrase with their exact marks,
    as one folded phrase, then apart; the tiers: the pages whose names match, by the level
    of the names' match, then the rest, by the level of the text's match."""
    parsed = parse_query(query.text)
    codes_part = [Query.term_query(schema, "codes", c, index_option="freq")
                  for c in parsed.codes]
    every = []
    for tokens in parsed.phrases:
        if len(tokens) == 1:
            word = fold(tokens[0])
            every.append(one_word(schema, word, variants(doc_freq, word)))
        else:
            every.append(words(schema, "folded", [fold(t) for t in tokens]))
    every += codes_part
    if not every:
        return Plan(None, [], parsed.words, nothing=bool(query.text.strip()))
    whole = both(*every)
    tokens = [t for phrase in parsed.phrases for t in phrase]
    scoring = [(SHOULD, Query.boost_query(Query.term_query(schema, "exact", t), EXACT_WEIGHT))
               for t in dict.fromkeys(tokens)]
    scoring += [(SHOULD, Query.term_query(schema, "folded", w))
                for w in dict.fromkeys(fold(t) for t in tokens)]
    scoring += [(SHOULD, Query.boost_query(c, CODE_WEIGHT)) for c in codes_part]

    def tier(match: Query, *without: Query) -> Query:
        clauses = [(MUST, Query.const_score_query(both(match, restrict), 0.0))]
        clauses += [(MUST_NOT, q) for q in without]
        return Query.boolean_query(clauses + scoring)

    if not tokens:
        return Plan(both(whole, restrict), [tier(whole)], parsed.words)
    folded = [fold(t) for t in tokens]
    text = [both(words(schema, "exact", tokens), *codes_part),
            both(words(schema, "folded", folded), *codes_part), whole]
    names = [words(schema, "name_exact", tokens), words(schema, "name_folded", folded)]
    if len(parsed.phrases) > 1:
        names.append(both(*(words(schema, "name_folded", [fold(t) for t in p])
                            for p in parsed.phrases)))
    tiers = [tier(both(whole, names[k]), *names[k - 1:k]) for k in range(len(names))]
    tiers += [tier(text[k], *text[k - 1:k], names[-1]) for k in range(len(text))]
    return Plan(both(whole, restrict), tiers, parsed.words)


def value_range(schema: tantivy.Schema, field: str, lo: int | None, hi: int | None,
                *, include_lower: bool = True, include_upper: bool = True) -> Query:
    return Query.range_query(schema, field, FieldType.Unsigned, lower_bound=lo,
                             upper_bound=hi, include_lower=include_lower,
                             include_upper=include_upper)


def filters(schema: tantivy.Schema, query: SearchQuery) -> Query | None:
    """The query's filters as one query (None when there are none)."""
    parts = []
    for field, value in (("type", query.type), ("dossier_code", query.dossier_code),
                         ("authority", query.authority), ("pid", query.personal_id)):
        if value:
            parts.append(Query.term_query(schema, field, value, index_option="basic"))
    low, high = digits(query.event_from, 8), digits(query.event_to, 8)
    if low is not None:  # undated pages have date_down 0 and date_up past every date
        parts.append(value_range(schema, "date_down", low << SEQ_BITS, None))
    if high is not None:
        parts.append(value_range(schema, "date_up", None, min(high, NO_DATE_UP - 1)
                                 << SEQ_BITS | SEQ_MASK))
    low, high = digits(query.scanned_from, 14), digits(query.scanned_to, 14)
    if low is not None or high is not None:
        parts.append(value_range(schema, "scanned", low, high))
    return both(*parts) if parts else None


def cursor(after: str | None, kind: str) -> list | None:
    """A cursor's values, checked against the kind this search makes ("r" or "k")."""
    if after is None:
        return None
    values = decode_cursor(after)
    size = 3 if kind == "r" else 2
    if not (len(values) == size and values[0] == kind and all(
            type(v) is int and v >= 0 for v in values[1:])):
        raise BadQuery("a cursor from a search with another sort or backend")
    return values
