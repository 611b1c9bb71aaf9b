"""Search: the index protocol, the embedded SQLite FTS5 backend, the Elasticsearch backend,
Vietnamese folding. Knows nothing of ``pipeline``, ``ocr`` or ``storage``."""

from search.index import (
    BadQuery,
    Hit,
    IndexDamaged,
    IndexedPage,
    SearchIndex,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)

__all__ = ["BadQuery", "Hit", "IndexDamaged", "IndexedPage", "SearchIndex", "SearchQuery",
           "SearchResult", "SearchUnavailable"]
