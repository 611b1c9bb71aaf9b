"""The search index protocol, its query and result model, and what both backends share.

Query semantics, the same in every backend:
- the text is NFC-normalised; every word must match the folded text (marks removed, đ→d),
  and a word of five letters or more may differ by one edit (OCR slips); matches in the
  exact text (marks kept) rank higher, so "Lễ" ranks Lễ above Lê;
- a page whose names match the query ranks above every page where the words only occur in
  the running text ("nguyen" finds the Nguyễns before "Nguyên nhân chết"); names are the
  people a page's fields name (``IndexedPage.names``: the subject, parents, spouses,
  declarant, applicant, head of household, a register's entries). Within the name matches,
  and within the text matches, the tiers above hold: exact marks, then folded, then apart;
- "quoted words" match as a phrase; a word written with dots or dashes (a date, a code) is a
  phrase of its parts;
- numbers, personal IDs and dossier codes match exactly in their normalised form (letters and
  digits only), however they were written: "0010 8701 2345" finds 001087012345;
- filters are exact: type, dossier code, personal ID, issuing authority, and date ranges of
  the event (birth, death, registration…) and of the scan;
- results are pages, best first (or by event date), with a highlighted snippet, counts per
  type and per decade over all matches, the page's document, and a cursor for the next page.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from search.folding import TOKEN, fold, nfc


class SearchUnavailable(Exception):
    """The index cannot be reached or opened; retrying later may help."""

    retryable = True


class IndexDamaged(SearchUnavailable):
    """The index's own files are damaged: a missing or garbled pointer, a generation that is
    gone, not a database, truncated or garbled inside. Retrying cannot help; ``sohoa
    reindex`` rebuilds the index from the catalogue. Only what searches or writes the index
    meets it: the rest of sohoa goes on without the index."""

    code = "index_damaged"
    retryable = False

    def __init__(self, problem: str, where: str = "") -> None:
        super().__init__(problem, where)  # both in args: the exception pickles
        self.problem = problem
        self.where = where

    def __str__(self) -> str:
        where = f" in {self.where}" if self.where else ""
        return (f"the search index{where} is damaged ({self.problem}): run `sohoa reindex` "
                f"to rebuild it from the catalogue; documents, files and the catalogue are "
                f"not affected")


class BadQuery(ValueError):
    """A query the index cannot run (a malformed cursor, an unknown sort)."""


@dataclass(frozen=True, slots=True)
class IndexedPage:
    document_id: str
    page: int
    text: str  # NFC
    type: str = "unknown"
    dossier_code: str | None = None
    personal_ids: tuple[str, ...] = ()
    event_date: str | None = None  # ISO date of what the record records
    scanned_at: str | None = None  # ISO date the page was digitised
    authority: str | None = None  # issuing authority
    names: tuple[str, ...] = ()  # the people the page names in its fields (NFC), see below

    @property
    def event_year(self) -> int | None:
        return int(self.event_date[:4]) if self.event_date else None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    type: str | None = None
    dossier_code: str | None = None
    personal_id: str | None = None
    authority: str | None = None
    event_from: str | None = None  # ISO dates, inclusive
    event_to: str | None = None
    scanned_from: str | None = None
    scanned_to: str | None = None
    sort: str = "relevance"  # relevance | date | -date
    limit: int = 10
    after: str | None = None  # the cursor of the previous result's last hit


@dataclass(frozen=True, slots=True)
class Hit:
    document_id: str
    page: int
    score: float  # higher is better
    snippet: str  # HTML-escaped text with matches wrapped in <mark>…</mark>
    type: str
    dossier_code: str | None
    event_date: str | None = None

    def to_dict(self) -> dict:
        return {"document_id": self.document_id, "page": self.page, "score": self.score,
                "snippet": self.snippet, "type": self.type, "dossier_code": self.dossier_code,
                "event_date": self.event_date}


@dataclass(frozen=True, slots=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict = field(default_factory=dict)  # {"type": {t: n}, "decade": {"1980": n}}
    next: str | None = None  # cursor for the following page of results

    @property
    def documents(self) -> list[dict]:
        """The hits grouped by document, in the order of each document's best hit."""
        groups: dict[str, dict] = {}
        for h in self.hits:
            g = groups.setdefault(h.document_id, {
                "document_id": h.document_id, "type": h.type, "dossier_code": h.dossier_code,
                "best_score": h.score, "pages": []})
            g["pages"].append(h.page)
        return list(groups.values())

    def to_dict(self) -> dict:
        return {"total": self.total, "hits": [h.to_dict() for h in self.hits],
                "documents": self.documents, "facets": self.facets, "next": self.next}


class SearchIndex(Protocol):
    def upsert(self, pages: Iterable[IndexedPage]) -> int:
        """Add or replace pages (keyed by document id and page number); returns how many."""

    def delete_document(self, document_id: str) -> int:
        """Remove every page of a document; returns how many were removed."""

    def search(self, query: SearchQuery | str, *, type: str | None = None,
               limit: int = 10) -> SearchResult:
        """Pages matching the query (see the module text), best first."""

    def keys(self) -> Iterator[tuple[str, int]]:
        """Every (document id, page) in the index, in order, in constant memory."""

    def count(self) -> int: ...

    def rebuild(self, pages: Iterable[IndexedPage], *, resume: bool = True,
                batch: int = 500) -> int:
        """Build a fresh index from ``pages`` (sorted by document id) beside the live one and
        switch to it when complete; an interrupted rebuild resumes; pages are written
        ``batch`` at a time. Returns pages written."""

    def close(self) -> None: ...


# ------------------------------------------------------------------------ shared parsing

CODE_RUN = re.compile(r"(?<![\w])(?=[\w]*\d)\w+(?:[ .\-/](?=[\w]*\d)\w+)*")
MIN_CODE_DIGITS = 6


def normalise_code(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(nfc(text)))


def codes(text: str) -> list[str]:
    """Numbers, IDs and codes in a text, normalised to letters and digits: runs of tokens
    that hold digits, joined by single spaces, dots, dashes or slashes, with at least six
    digits in all ("0010 8701 2345" → "001087012345"; "000.00.01.H26-230313-0042" →
    "0000001h262303130042")."""
    out = []
    for m in CODE_RUN.finditer(nfc(text)):
        norm = normalise_code(m.group(0))
        if sum(c.isdigit() for c in norm) >= MIN_CODE_DIGITS:
            out.append(norm)
    return list(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    phrases: list[list[str]]  # each a list of NFC lower-case tokens, matched in order
    codes: list[str]  # normalised codes, matched exactly

    @property
    def words(self) -> list[str]:
        """Folded single words (for highlighting)."""
        return [fold(t) for p in self.phrases for t in p]


def parse_query(query: str) -> ParsedQuery:
    """Codes are taken out first (they may contain spaces); then "quoted phrases"; then
    words, where a word with dots or dashes is a phrase of its parts."""
    query = nfc(query)
    found = codes(query)
    for m in reversed(list(CODE_RUN.finditer(query))):
        if normalise_code(m.group(0)) in found:
            query = query[:m.start()] + " " + query[m.end():]
    phrases: list[list[str]] = []
    for i, part in enumerate(query.split('"')):
        chunks = [part] if i % 2 else part.split()
        for chunk in chunks:
            toks = [t.lower() for t in TOKEN.findall(chunk)]
            if toks:
                phrases.append(toks)
    return ParsedQuery(phrases, found)


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise BadQuery(f"not a cursor from a previous search: {cursor!r}") from exc
    if not isinstance(values, list):
        raise BadQuery(f"not a cursor from a previous search: {cursor!r}")
    return values


def as_query(query: SearchQuery | str, *, type: str | None, limit: int) -> SearchQuery:
    if isinstance(query, SearchQuery):
        return query
    return SearchQuery(text=query, type=type, limit=limit)


SORTS = ("relevance", "date", "-date")


def decade(year: int | None) -> str | None:
    return None if year is None else str(year // 10 * 10)
