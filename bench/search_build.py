"""The search benchmark's work on one backend: building its index in a child process (so that
the child's peak RSS is the build's), its size on disk, timed queries, and the new pages that
time freshness (``bench.search_fresh``)."""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import random
import resource
import string
import threading
import time
import traceback
from pathlib import Path

BACKENDS = {"sqlite": ("search.embedded", "EmbeddedIndex"),
            "tantivy": ("search.tantivy_index", "TantivyIndex")}


def backend_class(name: str):
    """The index class of a backend name; ImportError/AttributeError when it is not there."""
    module, cls = BACKENDS[name]
    return getattr(importlib.import_module(module), cls)


def unavailable(name: str) -> str | None:
    """Why a backend cannot be measured here, or None when it can."""
    if name not in BACKENDS:
        return f"unknown backend (known: {', '.join(BACKENDS)})"
    try:
        backend_class(name)
    except Exception as exc:  # an incomplete module fails in many ways: report, not crash
        return f"{BACKENDS[name][0]} is not importable: {type(exc).__name__}: {exc}"
    return None


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _AnonPeak(threading.Thread):
    """The highest RssAnon seen, sampled every 20 ms: memory the process allocated, without
    the file pages it has mapped (Tantivy maps its segments; they count in RSS)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _status_mb("RssAnon")
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, _status_mb("RssAnon"))

    def stop(self) -> float:
        self.done.set()
        self.join()
        return max(self.peak, _status_mb("RssAnon"))


def _build_child(name: str, source: str, folder: str, conn, cap) -> None:
    """In a fresh (spawned) process, within the memory cap ``cap`` when given: rebuild
    ``folder`` from the source file, report."""
    try:
        if cap is not None:
            cap.join()
        from bench.search_data import read_source

        cls = backend_class(name)
        start_mb = _status_mb("VmRSS")
        anon = _AnonPeak()
        anon.start()
        t = time.perf_counter()
        index = cls(Path(folder))
        written = index.rebuild(read_source(Path(source)), resume=False)
        index.close()
        seconds = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        conn.send({"pages": written, "build_s": seconds, "peak_mb": peak, "start_mb": start_mb,
                   "anon_mb": anon.stop()})
    except BaseException:
        conn.send({"error": traceback.format_exc()})
    finally:
        conn.close()


def build(name: str, source: Path, folder: Path, cap_mb: int = 0) -> dict:
    """Build the index of backend ``name`` in ``folder`` from the pages of ``source`` through
    ``rebuild()`` (its own batches), in a spawned child process: {"pages", "build_s" (the
    rebuild call, reading the source included), "peak_mb" (the child's peak RSS), "anon_mb"
    (its peak anonymous RSS, sampled), "start_mb" (its RSS before the build: the interpreter
    and imports), "cap_mb" (the memory cap it ran under, 0 for none), "cap_peak_mb" (the most
    its cgroup was charged, page cache included), "cap_note" (why there was no cap)}, or
    {"error"}. With ``cap_mb``, the child runs in a memory cgroup of that size
    (``bench.memcap``) when one can be made here."""
    from bench.memcap import MemoryCap, why

    cap, note = None, ""
    if cap_mb:
        try:
            cap = MemoryCap(cap_mb)
        except OSError as exc:
            note = f"not capped: {why(exc)}"
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_build_child, args=(name, str(source), str(folder), send, cap),
                        name=f"bench-search-build-{name}")
    try:
        child.start()
        send.close()
        try:
            result = recv.recv()
        except EOFError:
            result = {"error": "the build process died without a word"}
        child.join()
        kills = cap.oom_kills() if cap else 0
        if kills:
            result = {"error": f"killed for want of memory under the cap of {cap_mb} MB"}
        elif child.exitcode and "error" not in result:
            result = {"error": f"the build process exited with {child.exitcode}"}
        if "error" not in result:
            result.update(cap_mb=cap_mb if cap else 0, cap_note=note,
                          cap_peak_mb=cap.peak_mb() if cap else None)
        return result
    finally:
        if cap:
            cap.remove()


def disk_mb(folder: Path) -> float:
    total = 0
    for root, _, files in os.walk(folder):
        for f in files:
            with contextlib.suppress(OSError):  # removed while walking (a merge…)
                total += os.path.getsize(os.path.join(root, f))
    return total / 1e6


def timed(search, queries) -> tuple[dict[str, list[float]], int]:
    """Milliseconds per query, by kind, around ``search(query)``; and how many answered."""
    out: dict[str, list[float]] = {}
    answered = 0
    for kind, q in queries:
        t = time.perf_counter()
        search(q)
        out.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
        answered += 1
    return out, answered


def fresh_page(k: int, seed: int):
    """A new one-page document naming a person whose given name is a made-up word no other
    page holds: (page, the word)."""
    from search.index import IndexedPage

    rng = random.Random(f"fresh-{seed}-{k}")
    word = "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
    name = f"Nguyễn Văn {word.capitalize()}"
    text = (f"GIẤY KHAI SINH\nHọ, chữ đệm, tên: {name.upper()}\nNgày, tháng, năm sinh: "
            f"01/01/2024\nNơi sinh: Bệnh viện Phụ sản Hà Nội")
    page = IndexedPage(f"fresh{seed:04d}{k:04d}", 1, text, "birth_certificate", None, (),
                       "2024-01-01", "2024-01-02", None, (name,))
    return page, word
