"""Search: the index protocol, the embedded SQLite FTS5 backend, Vietnamese folding.

Knows nothing of ``pipeline``, ``ocr`` or ``storage``.
"""

from search.index import Hit, IndexedPage, SearchIndex, SearchResult, SearchUnavailable

__all__ = ["Hit", "IndexedPage", "SearchIndex", "SearchResult", "SearchUnavailable"]
