"""bench/search.py at a tiny size: every embedded backend here and the LIKE baseline answer the
same queries, and the summary lines keep the shape the issue fixes. No timing is asserted."""

from __future__ import annotations

import re

import pytest

from bench import memcap
from bench.search import EMBEDDED, render, run
from bench.search_build import build, unavailable
from bench.search_data import query_mix, read_source, write_source

SUMMARY = re.compile(r"summary backend=(sqlite|tantivy) pages=(\d+) p95_ms=\d+\.\d "
                     r"like_ratio=\d+\.\d build_s=\d+\.\d")


def test_the_source_streams_back_the_pages_with_their_names(tmp_path):
    names, stats = write_source(tmp_path / "p.sqlite", 30, base=12, seed=3)
    pages = list(read_source(tmp_path / "p.sqlite"))
    assert [p.document_id for p in pages] == sorted(p.document_id for p in pages)
    assert len(pages) == 30 and all(p.names for p in pages)
    assert stats["names"] > 1 and set(names) <= {n for p in pages for n in p.names}
    kinds = {kind for kind, _ in query_mix(names, 20, 3)}
    assert {"folded name", "common syllable", "facets only"} <= kinds


def test_every_backend_answers_every_query_and_the_summary_lines_come_last(tmp_path):
    report = run(pages=300, queries=20, backends=list(EMBEDDED), base=24, fresh=2,
                 keep=tmp_path)
    here = [b for b in EMBEDDED if unavailable(b) is None]
    assert [m.name for m in report.measured] == here
    assert report.like is not None and report.like.answered == 20
    for m in report.measured:
        assert m.answered == 20 and m.pages == 300
        assert m.build["peak_mb"] > 0 and m.disk_mb and m.disk_mb > 0
        if memcap.unavailable(1024) is None:  # built in a cgroup capped at the target
            assert m.build["cap_mb"] == 1024 and 0 < m.build["cap_peak_mb"] <= 1024
        else:
            assert m.build["cap_mb"] == 0 and m.build["cap_note"].startswith("not capped")
        assert len(m.fresh_ms) == 2 and all(ms < float("inf") for ms in m.fresh_ms)
        assert set(m.latencies) == set(report.like.latencies)
    lines = render(report)
    tail = lines[-len(here):]
    assert [SUMMARY.fullmatch(line).group(1) for line in tail] == here
    assert all(SUMMARY.fullmatch(line).group(2) == "300" for line in tail)


def test_a_build_that_does_not_fit_its_memory_cap_is_a_failure_not_a_figure(tmp_path):
    write_source(tmp_path / "p.sqlite", 40, base=12, seed=3)
    got = build("sqlite", tmp_path / "p.sqlite", tmp_path / "idx", cap_mb=8)
    why = memcap.unavailable(8)
    if why is None:  # the interpreter alone holds more than 8 MB
        assert "more than the cap of 8 MB" in got["error"]
        assert not list(memcap.V1.glob("sohoa-bench-*")) + list(
            p for r in memcap.V2_ROOTS for p in r.glob("sohoa-bench-*"))  # removed
    else:
        assert got["pages"] == 40 and got["cap_mb"] == 0 and why in got["cap_note"]


def test_a_capped_process_is_held_to_the_cap_as_a_whole(tmp_path):
    """The cgroup's limit is the cap less what the process held before it joined; a process
    that then allocates past the cap is killed by the kernel, one within it is not."""
    if why := memcap.unavailable(120):
        pytest.skip(why)
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    for mb, killed in ((40, False), (400, True)):
        cap = memcap.MemoryCap(120)
        try:
            child = ctx.Process(target=_allocate, args=(cap, mb))
            child.start()
            child.join()
            assert (cap.oom_kills() > 0) is killed and (child.exitcode == 0) is not killed
        finally:
            cap.remove()


def _allocate(cap, mb: int) -> None:
    cap.join()
    block = bytearray(mb << 20)
    block[:: 4096] = b"x" * len(block[:: 4096])  # touch every page
