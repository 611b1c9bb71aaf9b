"""The Tantivy search backend: the embedded backend's contract on Tantivy, nothing to start.

Each page is one Tantivy document (``search.tantivy_schema``): its words cut and folded in
Python exactly as the embedded backend cuts them, its filters as raw terms and numbers, its
text stored (compressed) for snippets. Counts per type and decade are a terms aggregation over
the columnar fast fields of every match, which Tantivy answers without reading the documents.
The query tiers are those of the embedded backend (``search.tantivy_query``).

The index lives in a folder: ``current`` names the live generation, a Tantivy index in the
folder ``gen-NNNN`` (``search.tantivy_folder``). Tantivy lets one writer at a time write an
index: every write takes ``write.lock`` (an ``fcntl`` lock, waited for), so the workers, the
API and the CLI write one after the other; each write is committed before it returns, and a
reader reloads when the generation's ``meta.json`` has changed, so a completed document is
found by the next search in any process. A rebuild (under ``rebuild.lock``) writes a new
generation beside the live one, committing ``batch`` pages at a time and recording the last
document committed (an interrupted rebuild resumes from it), and switches by rewriting
``current`` atomically.

A damaged index (``current`` missing beside generations, garbled, or naming one that is gone;
a generation whose ``meta.json`` is missing or garbled, whose files are missing, truncated or
fail their checksums) raises ``IndexDamaged`` from the call that needs it, never from the
constructor. Every file's checksum is verified the first time a process opens it, so damage
inside is found before Tantivy reads it. ``rebuild`` writes a new generation whatever state
the folder is in, and removes only generation folders. ``check`` reads the live generation
whole.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import tantivy
from tantivy import Order, Query

from search.index import (
    SORTS,
    BadQuery,
    Hit,
    IndexDamaged,
    IndexedPage,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    as_query,
    encode_cursor,
)
from search.snippets import snippet
from search.tantivy_folder import (
    REBUILD_LOCK,
    WRITE_LOCK,
    Folder,
    generation_problems,
    is_panic,
    meta_stamp,
    open_index,
)
from search.tantivy_query import both, cursor, filters, plan, value_range
from search.tantivy_schema import build_schema, page_document, page_key, split_key
from search.tantivy_write import fill, max_seq

log = logging.getLogger(__name__)

WRITER_HEAP = 32_000_000  # bytes, one thread: a document's pages at a time
FACET_SIZE = 10_000
KEY_PREFIXES = [chr(c) for c in range(0x20, 0x7F)]  # keys() in chunks, by first character


class TantivyIndex:
    """SearchIndex over Tantivy indexes in one folder. Safe to share between threads.

    Made without touching a damaged index: the live generation is opened here when it can
    be, else at first use, which raises what is wrong."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._files = Folder(self.folder)
        self._lock = threading.RLock()
        self._schema = build_schema()
        self._index: tantivy.Index | None = None
        self._generation: str | None = None
        self._stamp: tuple | None = None
        self._verified: dict = {}
        try:
            with self._lock:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._open()
        except (SearchUnavailable, OSError) as exc:  # IndexDamaged among them: raised when used
            log.info("%s", exc)

    # ---------------------------------------------------------------------- the live one
    def _open(self) -> tantivy.Index:
        """The live generation open (again, when a rebuild elsewhere switched it), its files
        verified and its reader reloaded when it has been written since."""
        name = self._files.live()
        if self._index is None or name != self._generation:
            self._drop()
            self._verified = {}
            self._generation = name
        path = self.folder / name
        stamp = meta_stamp(path)
        if self._index is not None and stamp == self._stamp and stamp is not None:
            return self._index
        for _ in range(3):  # a writer elsewhere may commit (and remove merged files) meanwhile
            problems = self._problems(path, self._verified)
            if problems:
                self._drop()
                raise self._files.damaged("; ".join(problems[:3]))
            try:
                if self._index is None:
                    self._index = open_index(path)
                self._index.reload()
                break
            except ValueError as exc:
                if meta_stamp(path) != stamp:
                    stamp = meta_stamp(path)
                    continue
                self._drop()
                raise self._files.damaged(f"{name}: {exc}") from exc
        self._stamp = stamp
        return self._index

    @staticmethod
    def _problems(path: Path, seen: dict | None = None) -> list[str]:
        """The generation's problems, looked at again while its ``meta.json`` changes under
        the look (a commit elsewhere, whose merge removed files the old one listed)."""
        for _ in range(5):
            stamp = meta_stamp(path)
            problems = generation_problems(path, seen)
            if not problems or meta_stamp(path) == stamp:
                return problems
        return problems

    def _drop(self) -> None:
        self._index = None
        self._generation = None
        self._stamp = None

    @contextlib.contextmanager
    def _using(self) -> Iterator[tantivy.Index]:
        """The live generation, under the lock. Tantivy failing on it raises IndexDamaged
        when its files are then found damaged, SearchUnavailable otherwise."""
        with self._lock:
            try:
                index = self._open()
            except OSError as exc:
                raise SearchUnavailable(f"cannot open the search index in {self.folder}: "
                                        f"{exc}") from exc
            try:
                yield index
            except (BadQuery, SearchUnavailable):
                raise
            except (ValueError, OSError) as exc:
                raise self._failed(exc) from exc
            except BaseException as exc:
                if is_panic(exc):
                    raise self._failed(exc) from exc
                raise

    def _failed(self, exc: BaseException) -> SearchUnavailable:
        name = self._generation
        self._drop()
        problems = self._problems(self.folder / name) if name else []
        if problems:
            return self._files.damaged("; ".join(problems[:3]))
        return SearchUnavailable(f"the search index in {self.folder} failed: {exc}")

    # --------------------------------------------------------------------------- writes
    @contextlib.contextmanager
    def _writing(self) -> Iterator[tuple[tantivy.Index, tantivy.IndexWriter]]:
        """The live generation's writer, under the lock between processes, committed (and
        the reader reloaded) when the block ends, rolled back when it raises."""
        with self._lock, self._files.lock(WRITE_LOCK), self._using() as index:
            writer = index.writer(WRITER_HEAP, 1)
            try:
                yield index, writer
                writer.commit()
            except BaseException:
                with contextlib.suppress(BaseException):
                    writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # merges done, the writer's lock let go
            index.reload()
            self._stamp = None  # verify what the commit wrote at the next use

    def upsert(self, pages: Iterable[IndexedPage]) -> int:
        pages = list(pages)
        if not pages:
            return 0
        with self._writing() as (index, writer):
            seq = max_seq(index.searcher())
            for p in pages:
                seq += 1
                writer.delete_documents_by_term("key", page_key(p.document_id, p.page))
                writer.add_document(page_document(p, seq))
        return len(pages)

    def delete_document(self, document_id: str) -> int:
        with self._writing() as (index, writer):
            term = Query.term_query(self._schema, "doc", document_id, index_option="basic")
            n = index.searcher().search(term, 1, count=True).count
            if n:
                writer.delete_documents_by_term("doc", document_id)
        return n

    def rebuild(self, pages: Iterable[IndexedPage], *, resume: bool = True,
                batch: int = 500) -> int:
        """Write a new generation from ``pages`` (sorted by document id), then switch to it.
        An interrupted rebuild is resumed from the last document it committed. The live
        generation is never read: a damaged index is rebuilt like a sound one."""
        with self._lock, self._files.lock(REBUILD_LOCK):
            try:
                name = self._files.target(resume)
                marker = self._files.marker(name) if resume else None
                if marker is None:
                    index = self._files.create(name)
                    self._files.set_marker(name, "", 0)
                    marker = {"through": "", "chunk": 0}
                else:
                    index = open_index(self.folder / name)
                    log.info("resuming the search index rebuild %s after %s", name,
                             marker["through"])
            except (OSError, ValueError) as exc:
                raise SearchUnavailable(f"cannot write a new search index in "
                                        f"{self.folder}: {exc}") from exc
            written = fill(self._files, name, index, pages, marker, batch)
            with self._files.lock(WRITE_LOCK):
                self._files.set_live(name)
                self._drop()
                self._files.remove_all_but(name)
            with contextlib.suppress(SearchUnavailable):
                self._open()
            return written

    def check(self) -> list[str]:
        """What is wrong with the index, reading the live generation whole: its pointer, its
        ``meta.json`` and every file's checksum, then a count and the facets of every page.
        Empty when it is sound."""
        try:
            with self._lock:
                name = self._files.live()
                problems = self._problems(self.folder / name)
                if problems:
                    return problems
                with self._using() as index:
                    searcher = index.searcher()
                    searcher.aggregate(Query.all_query(), facet_aggregations())
                    list(self.keys())
        except IndexDamaged as exc:
            return [exc.problem]
        except SearchUnavailable as exc:
            return [str(exc)]
        return []

    # ---------------------------------------------------------------------------- reads
    def count(self) -> int:
        with self._using() as index:
            return index.searcher().num_docs

    def keys(self) -> Iterator[tuple[str, int]]:
        """In chunks by first character (printable ASCII, which document ids are), then any
        keys beginning otherwise (sorted after those, but for control characters)."""
        with self._using() as index:
            searcher = index.searcher()
            total = searcher.num_docs
        every, seen = Query.all_query(), 0
        for prefix in KEY_PREFIXES:
            with self._using():
                terms = searcher.terms_with_prefix("key", prefix, filter_query=every)
            seen += len(terms)
            yield from (split_key(k) for k, _ in terms)
            if seen >= total:
                return
        with self._using():
            terms = searcher.terms_with_prefix("key", "", filter_query=every)
        yield from (split_key(k) for k, _ in terms if k[:1] not in KEY_PREFIXES)

    def search(self, query: SearchQuery | str, *, type: str | None = None,
               limit: int = 10) -> SearchResult:
        """Counts per type and decade are one aggregation over every match; ranking runs
        tier by tier, as far as the page of hits needs; the stored text is read for the
        hits returned."""
        q = as_query(query, type=type, limit=limit)
        if q.sort not in SORTS:
            raise BadQuery(f"sort must be one of {', '.join(SORTS)}")
        restrict = filters(self._schema, q)
        with self._using() as index:
            searcher = index.searcher()
            found = plan(self._schema, q, restrict,
                         lambda word: searcher.doc_freq("folded", word))
            if found.nothing:
                return SearchResult(0, [], {"type": {}, "decade": {}})
            matching = found.whole or restrict or Query.all_query()
            facets = searcher.aggregate(matching, facet_aggregations())
            if q.sort == "relevance" and found.tiers:
                top = self._ranked(searcher, q, found.tiers)
            else:
                top = self._ordered(searcher, q, matching)
            shown = top[: q.limit]
            docs = [searcher.doc(address) for _, _, _, address in shown]
        hits = []
        for (tier, _, score, _), doc in zip(shown, docs, strict=True):
            rank = round(len(found.tiers) - tier - 1 + min(score, 99.0) / 100, 4) \
                if q.sort == "relevance" and found.tiers else 0.0
            text = bytes(doc.get_first("text") or b"").decode("utf-8")
            hits.append(Hit(doc.get_first("doc"), int(doc.get_first("page")), rank,
                            snippet(text, found.words), doc.get_first("type"),
                            doc.get_first("dossier_code"), doc.get_first("event_date")))
        by_type = {b["key"]: b["doc_count"] for b in facets["type"]["buckets"]}
        by_decade = {str(b["key"]): b["doc_count"] for b in facets["decade"]["buckets"]}
        total = sum(by_type.values()) + facets["type"].get("sum_other_doc_count", 0)
        nxt = None
        if len(top) > q.limit and shown:
            nxt = encode_cursor(list(shown[-1][1]))
        return SearchResult(total, hits, {"type": by_type,
                                          "decade": dict(sorted(by_decade.items()))}, nxt)

    def _ranked(self, searcher: tantivy.Searcher, q: SearchQuery,
                tiers: list[Query]) -> list[tuple]:
        """Up to limit + 1 (tier, cursor, score, address) after the cursor, tier by tier."""
        after = cursor(q.after, "r")
        start, skip = (after[1], after[2]) if after else (0, 0)
        want = q.limit + 1
        out: list[tuple] = []
        for number in range(start, len(tiers)):
            offset = skip if number == start else 0
            got = searcher.search(tiers[number], want - len(out), count=False,
                                  offset=offset).hits
            out += [(number, ["r", number, offset + i + 1], score, address)
                    for i, (score, address) in enumerate(got)]
            if len(out) >= want:
                break
        return out

    def _ordered(self, searcher: tantivy.Searcher, q: SearchQuery,
                 matching: Query) -> list[tuple]:
        """Up to limit + 1 (0, cursor, 0.0, address) after the cursor, by a unique key."""
        after = cursor(q.after, "k")
        field, order = {"relevance": ("seq", Order.Asc), "date": ("date_up", Order.Asc),
                        "-date": ("date_down", Order.Desc)}[q.sort]
        if after:
            ascending = order == Order.Asc
            matching = both(matching, value_range(
                self._schema, field, after[1] if ascending else None,
                None if ascending else after[1], include_lower=not ascending,
                include_upper=ascending))
        got = searcher.search(matching, q.limit + 1, count=False, order_by_field=field,
                              order=order).hits
        return [(0, ["k", int(key)], 0.0, address) for key, address in got]

    def close(self) -> None:
        with self._lock:
            self._drop()


def facet_aggregations() -> dict:
    return {"type": {"terms": {"field": "type", "size": FACET_SIZE}},
            "decade": {"terms": {"field": "decade", "size": FACET_SIZE}}}
