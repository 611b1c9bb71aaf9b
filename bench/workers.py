"""Workers: pages/hour on the same generated pages through the local executor and through
Celery over Redis with one and with two worker processes, in one run.

Each run starts from an empty SOHOA_HOME. Celery: Debian's redis-server on loopback (the
tests' own, tests/services.py), `sohoa worker --concurrency 1` processes started and ready
before the clock starts; the clock runs from `sohoa ingest --queue` to the batch finished
(every document classified and indexed). Local: `sohoa ingest` with 1 and with 2 page
processes, whole command timed.

    python bench/workers.py [--count 24] [--seed 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, generate_set, table  # noqa: E402

SOHOA = str(Path(sys.executable).parent / "sohoa")


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([SOHOA, *args], env=env, capture_output=True, text=True, check=True)


def local(pages: Path, home: Path, workers: int) -> float:
    env = {**os.environ, "SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1"}
    t = time.perf_counter()
    run(["ingest", "--workers", str(workers), str(pages)], env)
    return time.perf_counter() - t


def celery(pages: Path, home: Path, processes: int, broker: str, logs: Path) -> float:
    env = {**os.environ, "SOHOA_HOME": str(home), "SOHOA_BROKER_URL": broker,
           "OMP_THREAD_LIMIT": "1"}
    procs = []
    for i in range(processes):
        log = logs / f"worker-{processes}-{i}.log"
        with open(log, "wb") as out:
            procs.append(subprocess.Popen([SOHOA, "worker", "--concurrency", "1"], env=env,
                                          stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    try:
        for i in range(processes):  # ready: the worker says so in its log
            log = logs / f"worker-{processes}-{i}.log"
            while b" ready." not in log.read_bytes():
                time.sleep(0.2)
        t = time.perf_counter()
        out = run(["ingest", "--queue", "--json", str(pages)], env)
        batch = json.loads(out.stdout.splitlines()[-1])["batch"]
        st = wait_finished(home, batch)
        elapsed = time.perf_counter() - t
        assert st["pages"]["done"] == sum(st["pages"].values()), st  # nothing failed
        return elapsed
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait()


def wait_finished(home: Path, batch: str):
    """Polled in this process (a `sohoa batch status` process every poll would take CPU from
    the workers being measured)."""
    from pipeline.batches import batch_status
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=home))
    try:
        while True:
            st = batch_status(rt, batch).to_dict()
            if st["finished"]:
                return st
            time.sleep(0.5)
    finally:
        rt.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=24, help="generated single-page documents")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)

    from tests.services import RedisServer

    cache = ROOT / ".bench-cache" / f"workers-{args.seed}-{args.count}"
    pairs = generate_set(cache, seed=args.seed, count=args.count, max_skew=5.0)
    pages = cache / "scans"
    n = len(pairs)
    print(f"{n} generated pages (seed {args.seed})")
    results = []
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-workers-") as tmp:
        tmp = Path(tmp)
        for w in (1, 2):
            secs = local(pages, tmp / f"local-{w}", w)
            results.append([f"local executor, {w} process{'es' if w > 1 else ''}", secs])
        redis = RedisServer().start()
        try:
            for w in (1, 2):
                secs = celery(pages, tmp / f"celery-{w}", w, redis.url, tmp)
                results.append([f"Celery over Redis, {w} worker process{'es' if w > 1 else ''}",
                                secs])
        finally:
            redis.stop()
    rows = [[name, f"{secs:.1f}", f"{n / secs * 3600:,.0f}"] for name, secs in results]
    print(table(rows, ["run", "seconds", "pages/hour"]))
    by = {name: secs for name, secs in results}
    one, two = by["Celery over Redis, 1 worker process"], by["Celery over Redis, 2 worker processes"]
    print(f"\nscaling, Celery 2 vs 1 worker processes: {one / two:.2f}×")
    print(f"Celery vs local executor: 1 process {by['local executor, 1 process'] / one:.2f}, "
          f"2 processes {by['local executor, 2 processes'] / two:.2f} (throughput ratio)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
