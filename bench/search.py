"""Search: indexing speed and query latency of the embedded backend and Elasticsearch (osmem),
beside a naive SQL LIKE baseline over the same text, in one process.

Pages: ``--base`` documents of every template are laid out by samples/generate.py, then
``--pages`` pages are made from them with fresh people (names, ID numbers, dates, register
numbers), so the text reads like real records and names repeat as they do in an archive.

Query mix (``--queries``, fixed by ``--seed``): folded names (40%), exact names with their
marks (20%), quoted full names (15%), a name with a type filter and a date range (15%), and
filters with no words, counted per type and decade (10%). Each backend answers the same
queries; latency is measured around ``search()`` (first page of 10 hits, facets included).

The baseline stores NFC and folded text in a plain SQLite table and answers each query with
``folded LIKE '%word%'`` per word (and the same filters), counting the matches and returning
10 rows.

    python bench/search.py [--pages 100000] [--es-pages 100000] [--queries 400]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402


def make_pages(n: int, *, base: int, seed: int):
    from pipeline.indexing import event_date
    from samples import generate
    from samples import vietnamese as vn
    from search.index import IndexedPage

    rng = random.Random(seed)
    bases = []
    for i in range(base):
        template = generate.ALL_TEMPLATES[i % len(generate.ALL_TEMPLATES)]
        truth = generate.make_text(random.Random(f"search-{seed}-{i}"), template)
        bases.append((truth["type"], truth["pages"][0]["text"], truth["names"], truth["fields"]))
    pages, names = [], []
    start = dt.date(2020, 1, 1).toordinal()
    for i in range(n):
        doc_type, text, old_names, fields = bases[i % len(bases)]
        people = [vn.person(rng, sex=None) for _ in old_names]
        for old, new in zip(old_names, people, strict=True):
            text = text.replace(old.upper(), new.name.upper()).replace(old, new.name)
        text = re.sub(r"\d{12}", lambda _: f"001{rng.randint(0, 10**9 - 1):09d}", text)
        year = rng.randint(1956, 2023)
        if year % 4:  # keep every date valid in its new year
            text = text.replace("29/02/", "28/02/")
        text = re.sub(r"(\d{2})/(\d{2})/(\d{4})",
                      lambda m, y=year: f"{m.group(1)}/{m.group(2)}/{y}", text)
        ids = tuple(re.findall(r"\d{12}", text))
        code = fields.get("dossier_code")
        date = event_date(doc_type, fields)
        date = f"{year}{date[4:]}".replace("-02-29", "-02-28") if date else None
        scanned = dt.date.fromordinal(start + rng.randint(0, 1500)).isoformat()
        pages.append(IndexedPage(f"doc{i:07d}", 1, text, doc_type, code, ids, date, scanned,
                                 fields.get("issuing_authority")))
        names += [p.name for p in people]
    return pages, names


def query_mix(names: list[str], count: int, seed: int):
    from search.folding import fold
    from search.index import SearchQuery

    rng = random.Random(seed)
    types = ["birth_certificate", "death_certificate", "marriage_certificate",
             "civil_status_register", "dossier_receipt"]
    out = []
    for i in range(count):
        r = i % 20
        name = rng.choice(names)
        if r < 8:
            out.append(("folded name", SearchQuery(fold(name))))
        elif r < 12:
            out.append(("exact name", SearchQuery(name)))
        elif r < 15:
            out.append(("phrase", SearchQuery(f'"{fold(name)}"')))
        elif r < 18:
            start = rng.randint(1956, 2010)
            out.append(("name + filters", SearchQuery(
                fold(name.split()[-1]) + " " + fold(name.split()[0]), type=rng.choice(types),
                event_from=f"{start}-01-01", event_to=f"{start + 15}-12-31")))
        else:
            out.append(("facets only", SearchQuery("", type=rng.choice(types))))
    return out


class LikeBaseline:
    def __init__(self, pages) -> None:
        from search.folding import fold

        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE TABLE p (doc TEXT, page INT, type TEXT, event_date TEXT, "
                        "text TEXT, folded TEXT)")
        self.db.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?)",
                            ((p.document_id, p.page, p.type, p.event_date, p.text,
                              fold(p.text)) for p in pages))

    def search(self, q) -> int:
        from search.folding import fold

        where, args = [], []
        for word in re.findall(r"\w+", fold(q.text)):
            where.append("folded LIKE ?")
            args.append(f"%{word}%")
        if q.type:
            where.append("type = ?")
            args.append(q.type)
        if q.event_from:
            where.append("event_date >= ?")
            args.append(q.event_from)
        if q.event_to:
            where.append("event_date <= ?")
            args.append(q.event_to)
        clause = " WHERE " + " AND ".join(where) if where else ""
        total = self.db.execute(f"SELECT count(*) FROM p{clause}", args).fetchone()[0]
        self.db.execute(f"SELECT doc, page, text FROM p{clause} LIMIT 10", args).fetchall()
        return total


def timed(fn, queries) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for kind, q in queries:
        t = time.perf_counter()
        fn(q)
        out.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=100_000)
    ap.add_argument("--es-pages", type=int, default=None,
                    help="pages for Elasticsearch (default: --pages; 0 skips it)")
    ap.add_argument("--base", type=int, default=440, help="documents laid out to start from")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)

    t = time.perf_counter()
    pages, names = make_pages(args.pages, base=args.base, seed=args.seed)
    print(f"{len(pages)} pages generated in {time.perf_counter() - t:.0f} s "
          f"({sum(len(p.text) for p in pages) / len(pages):.0f} characters a page)")
    queries = query_mix(names, args.queries, args.seed)
    rows, latencies = [], {}

    from search.embedded import EmbeddedIndex

    with tempfile.TemporaryDirectory(prefix="sohoa-search-bench-") as tmp:
        idx = EmbeddedIndex(Path(tmp) / "embedded")
        t = time.perf_counter()
        for i in range(0, len(pages), 2000):
            idx.upsert(pages[i:i + 2000])
        embedded_rate = len(pages) / (time.perf_counter() - t)
        timed(idx.search, queries[:20])  # warm the page cache and the fuzzy vocabulary
        latencies["embedded (SQLite FTS5)"] = (timed(idx.search, queries), embedded_rate,
                                               len(pages))
        idx.close()

        es_pages = args.pages if args.es_pages is None else args.es_pages
        if es_pages:
            from elasticsearch import Elasticsearch
            from osmem_server import OsmemServer

            from search.elastic import ElasticIndex
            from tests.contract.conftest import _json_node_class  # the test-only header shim

            with OsmemServer.start(japanese=False) as server:
                client = Elasticsearch(server.url, node_class=_json_node_class(),
                                       request_timeout=120)
                es = ElasticIndex(client, prefix="bench")
                t = time.perf_counter()
                es._bulk(es.alias, pages[:es_pages], refresh=True)
                es_rate = es_pages / (time.perf_counter() - t)
                timed(es.search, queries[:20])
                latencies["Elasticsearch (osmem, in-memory)"] = (timed(es.search, queries),
                                                                 es_rate, es_pages)
                client.close()

        t = time.perf_counter()
        base = LikeBaseline(pages)
        like_rate = len(pages) / (time.perf_counter() - t)
        latencies["baseline: SQL LIKE"] = (timed(base.search, queries), like_rate, len(pages))

    for name, (lat, rate, n) in latencies.items():
        every = [v for vs in lat.values() for v in vs]
        rows.append([name, f"{n}", f"{rate:,.0f}", f"{pct(every, 50):.1f}", f"{pct(every, 95):.1f}",
                     f"{pct(every, 99):.1f}", f"{statistics.mean(every):.1f}"])
    print(f"\n{len(queries)} queries; latency in ms, first page of 10 hits with counts")
    print(table(rows, ["backend", "pages", "index pages/s", "p50", "p95", "p99", "mean"]))
    kinds = list(next(iter(latencies.values()))[0])
    detail = [[name] + [f"{pct(lat[k], 95):.1f}" for k in kinds]
              for name, (lat, _, _) in latencies.items()]
    print("\np95 by query kind (ms)")
    print(table(detail, ["backend", *kinds]))
    emb = [v for vs in latencies["embedded (SQLite FTS5)"][0].values() for v in vs]
    like = [v for vs in latencies["baseline: SQL LIKE"][0].values() for v in vs]
    print(f"\nembedded vs LIKE: {statistics.mean(like) / statistics.mean(emb):.0f}× faster "
          f"(mean), {pct(like, 50) / pct(emb, 50):.0f}× (p50), {pct(like, 95) / pct(emb, 95):.0f}× "
          f"(p95)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
