"""Search at district scale: the embedded backends (SQLite FTS5 "sqlite", Tantivy "tantivy"),
a naive SQL LIKE baseline and, when asked, Elasticsearch (osmem), over the same generated
pages and the same queries, in one run on one machine.

Pages: ``--base`` documents of every template are laid out by samples/generate.py, then
``--pages`` one-page documents are made from them with fresh people (names, ID numbers, dates,
register numbers), so the text reads like real records and names repeat as they do in an
archive. Each page carries its people's names as ``IndexedPage.names`` (what
pipeline/indexing.py gives the index), so the name tiers are exercised. Pages are generated as
a stream into one SQLite file (``p``), never held in memory: it is the source every backend is
built from and the table the LIKE baseline scans.

Build: each backend's index is built by its ``rebuild()`` (its own batches, reading the
source in document order) in a spawned child process, so the child's peak RSS
(``ru_maxrss``) is the build's peak memory ("peak MB"; it counts the index files the process
has mapped, as Tantivy maps its segments); "anon MB" is the highest anonymous RSS (memory the
process allocated) sampled every 20 ms; "start MB" is the child's RSS before the build (the
interpreter and imports). Build time is the ``rebuild()`` call, reading the source included.
Disk is the size of the index folder after the build.

Memory cap (``--memory-cap``, 1024 MB by default, the target; 0 for none): the build child
runs in a Linux memory cgroup of that size (``bench/memcap.py``), whose limit counts the page
cache the process reads and writes as well as what it allocates. Within it the kernel reclaims
the file pages an engine has mapped before failing an allocation, so a build that completes
under the cap needs no more than the cap ("cap MB"; "cg peak MB" is the most the cgroup was
charged: its limit is the cap less what the child held when it joined, as charges made before
do not move with a process). Without a cap, Tantivy's peak RSS counts the index files its last merge mapped (over
1 GB at 1,000,000 pages on an idle machine) while what it allocates stays near 150 MB. A build
killed under the cap is reported as failed; where no cgroup can be made (no root, no
delegated hierarchy) the build runs uncapped and the table says so.

Query mix (``--queries``, fixed by ``--seed``): folded names (35%), exact names with their
marks (15%), quoted full names (15%), surname + given name with a type filter and a 16-year
event range (15%), common syllables ("nguyen", "van", "thi", "nguyen van"…, half with a type
filter: counting every match is what made FTS5 slow) (10%), and a type filter with no words
(10%). Every search asks for the first page of 10 hits with the total and the counts per type
and decade. Each backend is opened afresh in this process (as the web app opens it), warmed
with the first 20 queries, then every query is timed around ``search()``. p50/p95/p99 are
given per query kind and over all queries.

The baseline answers each query with ``folded LIKE '%word%'`` per folded word (and the same
filters), counting the matches and reading 10 rows. "×LIKE" is the baseline's overall p95
over the backend's overall p95.

Freshness (``bench/search_fresh.py``): after the queries, a reader handle is opened (and
warmed) in this process, as the web app's is, and a spawned writer process (a worker) upserts
one new one-page document ``--fresh`` times; the time from its ``upsert()`` call to the
reader's first search finding the page (one ``time.monotonic()`` clock for both processes,
polled without pause) is reported, p50 and max.

The last lines are one per embedded backend measured:
``summary backend=NAME pages=N p95_ms=X like_ratio=Y build_s=Z``, where X is the worst p95
over the query kinds (the target is p95 ≤ 50 ms for every kind) and Y the ×LIKE above.
A backend whose module is not importable, or whose build fails, is named as not measured and
the others are still measured. ``--keep DIR`` builds in DIR (pages.sqlite, sqlite/,
tantivy/, all remade each run) and leaves it there; otherwise a temporary folder is removed.

    python bench/search.py [--pages 100000] [--queries 400] [--backends sqlite,tantivy]
                           [--es-pages 0] [--fresh 20] [--seed 11] [--keep DIR]
                           [--memory-cap 1024]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402
from bench.search_build import build, disk_mb, timed, unavailable  # noqa: E402
from bench.search_data import LikeBaseline, query_mix, read_source, write_source  # noqa: E402
from bench.search_fresh import freshness  # noqa: E402

EMBEDDED = ("sqlite", "tantivy")


@dataclass
class Measured:
    """One backend's figures: latencies by query kind (ms) and what the build cost."""

    name: str
    pages: int
    latencies: dict[str, list[float]]
    answered: int
    build: dict = field(default_factory=dict)  # pages, build_s, peak_mb, anon_mb, start_mb
    disk_mb: float | None = None
    fresh_ms: list[float] = field(default_factory=list)

    @property
    def every(self) -> list[float]:
        return [v for vs in self.latencies.values() for v in vs]

    def p95(self) -> float:
        return pct(self.every, 95)

    def worst_kind_p95(self) -> float:
        return max(pct(vs, 95) for vs in self.latencies.values())


@dataclass
class Report:
    pages: int
    queries: int
    measured: list[Measured]
    skipped: dict[str, str]
    like: Measured | None = None

    def ratio(self, m: Measured) -> float:
        assert self.like is not None
        return self.like.p95() / m.p95()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure_embedded(name: str, source: Path, folder: Path, queries, *, fresh: int,
                     seed: int, cap_mb: int = 0) -> Measured:
    from bench.search_build import backend_class

    print(f"building {name} …", flush=True)
    built = build(name, source, folder, cap_mb)
    if "error" in built:
        raise RuntimeError(f"{name}: the build failed:\n{built['error']}")
    print(f"  {built['pages']} pages in {built['build_s']:.1f} s, peak RSS "
          f"{built['peak_mb']:.0f} MB ({built['anon_mb']:.0f} MB anonymous), "
          + (f"under a memory cap of {built['cap_mb']} MB (cgroup peak "
             f"{fmt(built['cap_peak_mb'], '.0f')} MB)" if built["cap_mb"] else
             built["cap_note"] or "not capped"), flush=True)
    size = disk_mb(folder)
    index = backend_class(name)(folder)
    try:
        t = time.perf_counter()
        timed(index.search, queries[:20])  # warm the page cache and any vocabulary
        latencies, answered = timed(index.search, queries)
    finally:
        index.close()
    fresh_ms = freshness(name, folder, repeats=fresh, seed=seed) if fresh else []
    print(f"  queried and written to in {time.perf_counter() - t:.0f} s", flush=True)
    return Measured(name, built["pages"], latencies, answered, built, size, fresh_ms)


def measure_elastic(source: Path, es_pages: int, queries) -> Measured:
    from elasticsearch import Elasticsearch
    from osmem_server import OsmemServer

    from search.elastic import ElasticIndex
    from tests.contract.conftest import _json_node_class  # the test-only header shim

    pages = list(read_source(source, es_pages))
    with OsmemServer.start(japanese=False) as server:
        client = Elasticsearch(server.url, node_class=_json_node_class(), request_timeout=120)
        es = ElasticIndex(client, prefix="bench")
        t = time.perf_counter()
        es._bulk(es.alias, pages, refresh=True)
        built = {"pages": len(pages), "build_s": time.perf_counter() - t}
        timed(es.search, queries[:20])
        latencies, answered = timed(es.search, queries)
        client.close()
    return Measured("elasticsearch (osmem, in-memory)", len(pages), latencies, answered, built)


def run(*, pages: int, queries: int, backends: list[str], seed: int = 11, base: int = 440,
        es_pages: int = 0, fresh: int = 20, keep: Path | None = None,
        memory_cap: int = 1024) -> Report:
    """Generate, build, query and time everything; the figures, unprinted except progress."""
    skipped = {}
    for name in list(backends):
        why = unavailable(name)
        if why:
            skipped[name] = why
            print(f"{name}: skipped, {why}", flush=True)
    backends = [b for b in backends if b not in skipped]
    tmp = None
    if keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="sohoa-search-bench-")
        work = Path(tmp.name)
    else:
        work = Path(keep)
        work.mkdir(parents=True, exist_ok=True)
    try:
        source = work / "pages.sqlite"
        source.unlink(missing_ok=True)
        t = time.perf_counter()
        names, stats = write_source(source, pages, base=base, seed=seed)
        print(f"{pages} pages generated and stored in {time.perf_counter() - t:.0f} s "
              f"({stats['chars']:.0f} characters, {stats['names']:.1f} names a page)", flush=True)
        mix = query_mix(names, queries, seed)
        report = Report(pages, len(mix), [], skipped)
        for name in backends:
            folder = work / name
            shutil.rmtree(folder, ignore_errors=True)
            try:
                report.measured.append(measure_embedded(name, source, folder, mix,
                                                        fresh=fresh, seed=seed,
                                                        cap_mb=memory_cap))
            except Exception as exc:  # one backend failing does not cost the others' figures
                print(f"{name}: failed: {exc}", flush=True)
                skipped[name] = f"failed: {exc}"
        if es_pages:
            report.measured.append(measure_elastic(source, es_pages, mix))
        print("baseline: SQL LIKE …", flush=True)
        like = LikeBaseline(source)
        t = time.perf_counter()
        try:
            latencies, answered = timed(like.search, mix)
        finally:
            like.close()
        print(f"  {len(mix)} queries in {time.perf_counter() - t:.0f} s", flush=True)
        report.like = Measured("baseline: SQL LIKE", pages, latencies, answered)
        return report
    finally:
        if tmp is not None:
            tmp.cleanup()


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def render(report: Report) -> list[str]:
    """The tables, then one summary line per embedded backend measured (last)."""
    out = []
    every = [*report.measured, *([report.like] if report.like else [])]
    rows = []
    for m in every:
        b = m.build
        rate = b["pages"] / b["build_s"] if b.get("build_s") else None
        ratio = report.ratio(m) if report.like else None
        rows.append([m.name, f"{m.pages}", f"{m.answered}", fmt(b.get("build_s")),
                     fmt(rate, ",.0f"), fmt(b.get("start_mb"), ".0f"),
                     fmt(b.get("peak_mb"), ".0f"), fmt(b.get("anon_mb"), ".0f"),
                     fmt(b.get("cap_mb") or None, ".0f"), fmt(b.get("cap_peak_mb"), ".0f"),
                     fmt(m.disk_mb), fmt(pct(m.every, 50)),
                     fmt(m.p95()), fmt(pct(m.every, 99)), fmt(statistics.mean(m.every)),
                     fmt(m.worst_kind_p95()), fmt(ratio, ".1f")])
    out.append(f"\n{report.queries} queries; latency in ms, first page of 10 hits with the "
               f"total and counts per type and decade")
    out.append(table(rows, ["backend", "pages", "answered", "build s", "pages/s", "start MB",
                            "peak MB", "anon MB", "cap MB", "cg peak MB", "disk MB", "p50",
                            "p95", "p99", "mean", "worst kind p95", "×LIKE p95"]))
    kinds = list(every[0].latencies) if every else []
    detail = [[m.name] + [f"{pct(m.latencies[k], 50):.1f}/{pct(m.latencies[k], 95):.1f}/"
                          f"{pct(m.latencies[k], 99):.1f}" for k in kinds] for m in every]
    counts = ", ".join(f"{k} {len(every[0].latencies[k])}" for k in kinds) if every else ""
    out.append(f"\np50/p95/p99 by query kind (ms; queries: {counts})")
    out.append(table(detail, ["backend", *kinds]))
    fresh = [[m.name, f"{len(m.fresh_ms)}", fmt(pct(m.fresh_ms, 50)), fmt(max(m.fresh_ms))]
             for m in report.measured if m.fresh_ms]
    if fresh:
        out.append("\nfreshness: ms from upsert() in a writer process to the page being found "
                   "by a reader handle")
        out.append(table(fresh, ["backend", "documents", "p50", "max"]))
    for m in report.measured:
        if m.build.get("cap_note"):
            out.append(f"\n{m.name}: build {m.build['cap_note']}")
    for name, why in report.skipped.items():
        out.append(f"\n{name}: not measured, {why}")
    out.append("")
    for m in report.measured:
        if m.name in EMBEDDED:
            ratio = report.ratio(m) if report.like else float("nan")
            out.append(f"summary backend={m.name} pages={m.pages} p95_ms={m.worst_kind_p95():.1f} "
                       f"like_ratio={ratio:.1f} build_s={m.build['build_s']:.1f}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--backends", default=",".join(EMBEDDED),
                    help="embedded backends to measure, comma-separated (sqlite,tantivy)")
    ap.add_argument("--es-pages", type=int, default=0,
                    help="pages for Elasticsearch (osmem, in memory); 0 skips it")
    ap.add_argument("--fresh", type=int, default=20,
                    help="documents written one by one to time freshness (0 skips it)")
    ap.add_argument("--base", type=int, default=440, help="documents laid out to start from")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", type=Path, default=None,
                    help="a folder to build in and keep (default: a temporary one)")
    ap.add_argument("--memory-cap", type=int, default=1024,
                    help="MB of memory (page cache included) each build may use, in a memory "
                         "cgroup where one can be made; 0: no cap")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    report = run(pages=args.pages, queries=args.queries, backends=backends, seed=args.seed,
                 base=args.base, es_pages=args.es_pages, fresh=args.fresh, keep=args.keep,
                 memory_cap=args.memory_cap)
    print("\n".join(render(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
