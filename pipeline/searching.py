"""Searching the index on behalf of someone: the query runs, and the read is audited."""

from __future__ import annotations

from pipeline.dossiers import audit
from pipeline.errors import InvalidQuery
from pipeline.indexing import IndexDamaged
from pipeline.runtime import Runtime
from search.index import BadQuery, SearchQuery, SearchResult
from search.index import IndexDamaged as SearchIndexDamaged

__all__ = ["IndexDamaged", "SearchQuery", "SearchResult", "search"]


def search(rt: Runtime, query: SearchQuery, *, who: str | None = None,
           channel: str = "cli") -> SearchResult:
    """Page hits for ``query``; who asked, what and which pages came back are audited.
    A malformed query (a bad cursor, an unknown sort) raises InvalidQuery; a damaged index
    raises IndexDamaged, whose message says to run ``sohoa reindex``."""
    try:
        result = rt.index.search(query)
    except BadQuery as exc:
        raise InvalidQuery(str(exc)) from exc
    except SearchIndexDamaged as exc:
        raise IndexDamaged(str(exc)) from exc
    audit(rt, "search", (query.text or "(filters)")[:64], channel=channel, who=who,
          total=result.total, hits=[f"{h.document_id}/{h.page}" for h in result.hits])
    return result
