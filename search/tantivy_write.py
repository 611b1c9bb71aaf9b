"""Writing a new Tantivy generation for a rebuild (see ``search.tantivy_index``).

Pages come sorted by document id; they are committed ``batch`` at a time, never splitting a
document, each commit's pages tagged with its chunk number, and after each commit the
generation's marker records the last document and chunk committed. A resumed rebuild first
deletes whatever a commit after the marker left (a stop between a commit and its marker), then
goes on after the marker's document. The marker is removed when the generation is complete.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import tantivy
from tantivy import FieldType, Order, Query

from search.index import IndexedPage
from search.tantivy_folder import Folder
from search.tantivy_schema import page_document

REBUILD_HEAP = 256_000_000  # bytes, shared by the writer's threads


def max_seq(searcher: tantivy.Searcher) -> int:
    """The highest sequence number written (0 for an empty index)."""
    got = searcher.search(Query.all_query(), 1, count=False, order_by_field="seq",
                          order=Order.Desc).hits
    return int(got[0][0]) if got else 0


def fill(files: Folder, name: str, index: tantivy.Index, pages: Iterable[IndexedPage],
         marker: dict, batch: int) -> int:
    """Write ``pages`` after the marker's document into generation ``name``, then mark it
    complete; pages written."""
    last, chunk_no = marker["through"], marker["chunk"]
    schema = index.schema
    writer = index.writer(REBUILD_HEAP)
    written = 0
    try:
        writer.delete_documents_by_query(Query.range_query(
            schema, "chunk", FieldType.Unsigned, lower_bound=chunk_no, upper_bound=None,
            include_lower=False))
        index.reload()
        seq = max_seq(index.searcher())
        chunk: list[IndexedPage] = []

        def flush() -> None:
            nonlocal chunk_no, seq, written
            if not chunk:
                return
            chunk_no += 1
            for p in chunk:
                seq += 1
                writer.add_document(page_document(p, seq, chunk_no))
            writer.commit()
            files.set_marker(name, chunk[-1].document_id, chunk_no)
            written += len(chunk)
            chunk.clear()

        current = None
        for p in pages:
            if p.document_id <= last:
                continue  # written before the interruption
            if p.document_id != current and len(chunk) >= batch:
                flush()  # commit between documents, never inside one
            current = p.document_id
            chunk.append(p)
        flush()
        writer.commit()
    except BaseException:
        with contextlib.suppress(BaseException):
            writer.rollback()
        with contextlib.suppress(BaseException):
            writer.wait_merging_threads()
        raise
    writer.wait_merging_threads()
    files.clear_marker(name)
    return written
