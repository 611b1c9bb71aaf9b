"""The search index protocol shared by every backend."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class SearchUnavailable(Exception):
    """The index cannot be reached or opened; retrying later may help."""

    retryable = True


@dataclass(frozen=True, slots=True)
class IndexedPage:
    document_id: str
    page: int
    text: str  # NFC
    type: str = "unknown"
    dossier_code: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    document_id: str
    page: int
    score: float  # higher is better
    snippet: str  # HTML-escaped text with matches wrapped in <mark>…</mark>
    type: str
    dossier_code: str | None

    def to_dict(self) -> dict:
        return {"document_id": self.document_id, "page": self.page, "score": self.score,
                "snippet": self.snippet, "type": self.type, "dossier_code": self.dossier_code}


@dataclass(frozen=True, slots=True)
class SearchResult:
    total: int
    hits: list[Hit]

    def to_dict(self) -> dict:
        return {"total": self.total, "hits": [h.to_dict() for h in self.hits]}


class SearchIndex(Protocol):
    def upsert(self, pages: Iterable[IndexedPage]) -> int:
        """Add or replace pages (keyed by document id and page number); returns how many."""

    def delete_document(self, document_id: str) -> int:
        """Remove every page of a document; returns how many were removed."""

    def search(self, query: str, *, type: str | None = None, limit: int = 10,
               offset: int = 0) -> SearchResult:
        """Pages matching every word of the query (accents optional), best first."""

    def count(self) -> int:
        """Pages in the index."""

    def close(self) -> None: ...
