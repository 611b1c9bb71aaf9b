"""The Elasticsearch backend (official ``elasticsearch`` client, 9.x; OpenSearch answers too).

sohoa owns its index template (settings, analysers, mappings), writes through the bulk API
and reads through an alias, ``<prefix>`` → ``<prefix>-<generation>``. A rebuild writes a new
index and swaps the alias in one atomic update, so searches never see a half-built index;
an interrupted rebuild resumes into the same new index.

The text is indexed twice: ``text`` with the ``vi_exact`` analyser (lower case, marks kept)
and ``text.folded`` with ``vi_folded`` (ICU is not assumed: ``asciifolding`` removes the
marks and maps đ to d). ``names`` holds the people the page names, analysed the same two
ways; each level of a names match adds a constant far above any text score, so pages whose
names match rank first. ``codes`` holds numbers, IDs and dossier codes normalised to letters
and digits. Queries follow the semantics in ``search/index.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable, Iterator

from search.folding import nfc
from search.index import (
    SORTS,
    BadQuery,
    Hit,
    IndexedPage,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    as_query,
    codes,
    decade,
    decode_cursor,
    encode_cursor,
    parse_query,
)

log = logging.getLogger(__name__)

SETTINGS = {
    "number_of_shards": 1,
    "analysis": {"analyzer": {
        "vi_exact": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
        "vi_folded": {"type": "custom", "tokenizer": "standard",
                      "filter": ["lowercase", "asciifolding"]},
    }},
}
SCHEMA_VERSION = 2  # 2: names. An index of an older version gains the field (empty) at start;
# ``sohoa reindex`` fills it.
TEXT = {"type": "text", "analyzer": "vi_exact",
        "fields": {"folded": {"type": "text", "analyzer": "vi_folded"}}}
MAPPINGS = {
    "dynamic": "strict",
    "_meta": {"schema": SCHEMA_VERSION},
    "properties": {
        "document_id": {"type": "keyword"},
        "page": {"type": "integer"},
        "type": {"type": "keyword"},
        "dossier_code": {"type": "keyword"},
        "personal_ids": {"type": "keyword"},
        "event_date": {"type": "date", "format": "strict_date"},
        "event_year": {"type": "integer"},
        "scanned_at": {"type": "date", "format": "strict_date"},
        "authority": {"type": "keyword"},
        "codes": {"type": "keyword"},
        "text": TEXT,
        "names": TEXT,
    },
}
EXACT_BOOST = 3.0
# Each level of a names match (the words apart, as a folded phrase, as an exact phrase) adds
# this much: more than any text match scores, so names rank first, level by level.
NAME_BOOST = 100_000.0
HIGHLIGHT = {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "fragment_size": 180,
             "number_of_fragments": 1, "no_match_size": 180}


def _unavailable(exc: Exception) -> SearchUnavailable:
    return SearchUnavailable(f"Elasticsearch is unavailable: {exc}")


class ElasticIndex:
    def __init__(self, client, *, prefix: str = "sohoa-pages") -> None:
        self.es = client
        self.alias = prefix
        self.template = f"{prefix}-template"
        try:
            self._ensure()
        except SearchUnavailable:
            raise
        except Exception as exc:  # connection refused, auth, TLS…
            raise _unavailable(exc) from exc

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "sohoa-pages") -> ElasticIndex:
        from elasticsearch import Elasticsearch

        return cls(Elasticsearch(url, request_timeout=30, retry_on_timeout=True,
                                 max_retries=3), prefix=prefix)

    # ------------------------------------------------------------------------- indices
    def _ensure(self) -> None:
        self.es.indices.put_index_template(
            name=self.template, index_patterns=[f"{self.alias}-*"], priority=100,
            template={"settings": SETTINGS, "mappings": MAPPINGS})
        if not self.es.indices.exists_alias(name=self.alias):
            first = f"{self.alias}-{self._stamp()}"
            self.es.indices.create(index=first)
            self.es.indices.update_aliases(actions=[{"add": {"index": first,
                                                              "alias": self.alias}}])
            return
        live = self._live()
        meta = self.es.indices.get_mapping(index=live)[live]["mappings"].get("_meta") or {}
        if int(meta.get("schema", 1)) < SCHEMA_VERSION:
            self.es.indices.put_mapping(index=live, meta={"schema": SCHEMA_VERSION},
                                        properties={"names": TEXT})
            log.warning("the search index %s was written by an older sohoa: it ranks no "
                        "names until `sohoa reindex` rebuilds it", live)

    @staticmethod
    def _stamp() -> str:
        return dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")

    def _live(self) -> str:
        return next(iter(self.es.indices.get_alias(name=self.alias)))

    # -------------------------------------------------------------------------- writes
    @staticmethod
    def _source(p: IndexedPage) -> dict:
        text = nfc(p.text)
        return {"document_id": p.document_id, "page": p.page, "type": p.type,
                "dossier_code": p.dossier_code, "personal_ids": list(p.personal_ids),
                "event_date": p.event_date, "event_year": p.event_year,
                "scanned_at": p.scanned_at, "authority": p.authority, "codes": codes(text),
                "text": text, "names": [nfc(n) for n in p.names]}

    def _bulk(self, index: str, pages: Iterable[IndexedPage], *, refresh: bool,
              batch: int = 500) -> int:
        from elastic_transport import TransportError
        from elasticsearch import ApiError, helpers

        actions = ({"_index": index, "_id": f"{p.document_id}:{p.page}",
                    "_source": self._source(p)} for p in pages)
        try:
            ok, errors = helpers.bulk(self.es, actions, chunk_size=batch, raise_on_error=False,
                                      refresh="wait_for" if refresh else False)
        except (ApiError, TransportError) as exc:  # the caller's own errors pass through
            raise _unavailable(exc) from exc
        if errors:
            raise SearchUnavailable(f"{len(errors)} pages were not indexed: {errors[0]}")
        return ok

    def upsert(self, pages: Iterable[IndexedPage]) -> int:
        return self._bulk(self.alias, pages, refresh=True)

    def delete_document(self, document_id: str) -> int:
        try:
            out = self.es.delete_by_query(index=self.alias, refresh=True, conflicts="proceed",
                                          query={"term": {"document_id": document_id}})
        except Exception as exc:
            raise _unavailable(exc) from exc
        return int(out.get("deleted", 0))

    def rebuild(self, pages: Iterable[IndexedPage], *, resume: bool = True,
                batch: int = 500) -> int:
        live = self._live()
        building = [name for name in self.es.indices.get(index=f"{self.alias}-*")
                    if name != live]
        target = max(building) if building and resume else f"{self.alias}-{self._stamp()}"
        for stale in building:
            if stale != target:
                self.es.indices.delete(index=stale)
        if not self.es.indices.exists(index=target):
            self.es.indices.create(index=target)
        self.es.indices.refresh(index=target)
        done = self.es.search(index=target, size=1, sort=[{"document_id": "desc"}],
                              query={"match_all": {}})["hits"]["hits"]
        last = done[0]["_source"]["document_id"] if done else ""
        # The last document may be partly written: write it again (writes are idempotent).
        written = self._bulk(target, (p for p in pages if p.document_id >= last),
                             refresh=True, batch=batch)
        self.es.indices.update_aliases(actions=[
            {"remove": {"index": live, "alias": self.alias}},
            {"add": {"index": target, "alias": self.alias}}])
        self.es.indices.delete(index=live)
        return written

    # --------------------------------------------------------------------------- reads
    def count(self) -> int:
        try:
            self.es.indices.refresh(index=self.alias)
            return int(self.es.count(index=self.alias)["count"])
        except Exception as exc:
            raise _unavailable(exc) from exc

    def keys(self) -> Iterator[tuple[str, int]]:
        after = None
        while True:
            body = {"size": 1000, "sort": [{"document_id": "asc"}, {"page": "asc"}],
                    "_source": ["document_id", "page"], "query": {"match_all": {}}}
            if after:
                body["search_after"] = after
            hits = self.es.search(index=self.alias, body=body)["hits"]["hits"]
            if not hits:
                return
            for h in hits:
                yield h["_source"]["document_id"], h["_source"]["page"]
            after = hits[-1]["sort"]

    def _query(self, q: SearchQuery) -> dict:
        parsed = parse_query(q.text)
        must: list[dict] = []
        for tokens in parsed.phrases:
            phrase = " ".join(tokens)
            if len(tokens) == 1:
                must.append({"bool": {"should": [
                    {"match": {"text.folded": {"query": phrase, "fuzziness": "AUTO:5,100",
                                               "prefix_length": 1}}},
                    {"match": {"text": {"query": phrase, "boost": EXACT_BOOST}}}],
                    "minimum_should_match": 1}})
            else:
                must.append({"bool": {"should": [
                    {"match_phrase": {"text.folded": phrase}},
                    {"match_phrase": {"text": {"query": phrase, "boost": EXACT_BOOST}}}],
                    "minimum_should_match": 1}})
        must += [{"term": {"codes": c}} for c in parsed.codes]
        # The embedded backend's tiers, as boosts: all the words as one exact phrase first,
        # then as one folded phrase, then the words anywhere.
        tokens = [t for phrase in parsed.phrases for t in phrase]
        should = []
        if len(tokens) > 1:
            should = [{"match_phrase": {"text": {"query": " ".join(tokens), "boost": 50.0}}},
                      {"match_phrase": {"text.folded": {"query": " ".join(tokens),
                                                        "boost": 10.0}}}]
        filters: list[dict] = []
        for field, value in (("type", q.type), ("dossier_code", q.dossier_code),
                             ("authority", q.authority), ("personal_ids", q.personal_id)):
            if value:
                filters.append({"term": {field: value}})
        for field, lo, hi in (("event_date", q.event_from, q.event_to),
                              ("scanned_at", q.scanned_from, q.scanned_to)):
            bounds = {k: v for k, v in (("gte", lo), ("lte", hi)) if v}
            if bounds:
                filters.append({"range": {field: bounds}})
        return {"bool": {"must": must or [{"match_all": {}}], "filter": filters,
                         "should": should + self._names(parsed.phrases)}}

    @staticmethod
    def _names(phrases: list[list[str]]) -> list[dict]:
        """The names tiers as constant scores: the words apart (when there are several
        phrases) and as one folded phrase and as one exact phrase; never one edit away."""
        tokens = " ".join(t for phrase in phrases for t in phrase)
        if not tokens:
            return []
        levels = [{"match_phrase": {"names": tokens}},
                  {"match_phrase": {"names.folded": tokens}}]
        if len(phrases) > 1:
            levels.append({"bool": {"must": [{"match_phrase": {"names.folded": " ".join(p)}}
                                             for p in phrases]}})
        return [{"constant_score": {"filter": level, "boost": NAME_BOOST}} for level in levels]

    def search(self, query: SearchQuery | str, *, type: str | None = None,
               limit: int = 10) -> SearchResult:
        q = as_query(query, type=type, limit=limit)
        if q.sort not in SORTS:
            raise BadQuery(f"sort must be one of {', '.join(SORTS)}")
        if q.text.strip() and not (parse_query(q.text).phrases or parse_query(q.text).codes):
            return SearchResult(0, [], {"type": {}, "decade": {}})
        sort = {"relevance": [{"_score": "desc"}],
                "date": [{"event_date": {"order": "asc", "missing": "_last"}}],
                "-date": [{"event_date": {"order": "desc", "missing": "_last"}}]}[q.sort]
        sort = sort + [{"document_id": "asc" if q.sort != "-date" else "desc"},
                       {"page": "asc" if q.sort != "-date" else "desc"}]
        body = {"query": self._query(q), "size": q.limit + 1, "sort": sort,
                "track_total_hits": True, "track_scores": True,
                "highlight": {"encoder": "html", "fields": {"text.folded": HIGHLIGHT}},
                "aggs": {"type": {"terms": {"field": "type", "size": 50}},
                         "decade": {"histogram": {"field": "event_year", "interval": 10,
                                                  "min_doc_count": 1}}}}
        cursor_key = None
        if q.after:
            values = decode_cursor(q.after)
            if len(values) != 3:
                raise BadQuery("a cursor from a search with another sort")
            body["search_after"] = values
            body["size"] = q.limit + 2
            cursor_key = (values[1], values[2])
        try:
            res = self.es.search(index=self.alias, body=body)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 400 or "400" in str(exc)[:20]:
                raise BadQuery(f"the query cannot be searched: {exc}") from exc
            raise _unavailable(exc) from exc
        # A server that compares the float score with the cursor's double may hand back the
        # cursor's own hit (osmem does); (document, page) is unique, so drop it.
        raw = [h for h in res["hits"]["hits"]
               if (h["_source"]["document_id"], h["_source"]["page"]) != cursor_key]
        more = len(raw) > q.limit
        raw = raw[: q.limit]
        hits = []
        for h in raw:
            src = h["_source"]
            fragments = h.get("highlight", {}).get("text.folded") or [""]
            hits.append(Hit(src["document_id"], src["page"], round(h.get("_score") or 0.0, 4),
                            fragments[0].replace("\n", " ").strip(), src["type"],
                            src.get("dossier_code"), src.get("event_date")))
        aggs = res.get("aggregations", {})
        facets = {
            "type": {b["key"]: b["doc_count"] for b in aggs.get("type", {}).get("buckets", [])},
            "decade": {decade(int(b["key"])): b["doc_count"]
                       for b in aggs.get("decade", {}).get("buckets", []) if b["doc_count"]},
        }
        total = res["hits"]["total"]
        total = total["value"] if isinstance(total, dict) else int(total)
        nxt = encode_cursor(raw[-1]["sort"]) if more and raw else None
        return SearchResult(total, hits, facets, nxt)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a client that is already gone
            self.es.close()
