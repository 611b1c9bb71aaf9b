"""Memory: a worker's peak RSS on a 600-dpi A3 scan, and `sohoa ingest` of long PDFs.

1. A 600-dpi A3 spread (two A4 register pages side by side, 9921×7016 pixels, 70 million)
   goes through the page task exactly as a worker runs it (load, deskew, orientation, OCR,
   encode) in a fresh process; its peak RSS (VmHWM) is printed.
2. `sohoa ingest` of an image-only PDF of N pages (default 300, and 30 to compare) in a fresh
   SOHOA_HOME; every process of the run (the CLI and each worker) is sampled from /proc every
   0.1 s. Prints the peak RSS of the main process, of the largest worker, and of all together.
   Flat memory means the 300-page figures match the 30-page ones.

    python bench/memory.py [--pages 300] [--compare 30]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402

VENV_BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


def a3_spread(path: Path) -> None:
    import numpy as np
    from PIL import Image

    from samples import generate

    halves = []
    for i in range(2):
        rng = random.Random(f"a3-{i}")
        deg = generate.Degradation(skew=0.0, noise=5, stamp=False)
        doc = generate.make_document(rng, "civil_status_register", dpi=600, degradations=[deg])
        halves.append(doc.images[0])
    h = max(x.shape[0] for x in halves)
    halves = [np.pad(x, ((0, h - x.shape[0]), (0, 0)), constant_values=235) for x in halves]
    spread = np.hstack(halves)
    # the spread lies 1.3° askew on the scanner
    from ocr.deskew import rotate

    spread = rotate(spread, 1.3, fill=235, expand=False)
    Image.fromarray(spread).save(path, quality=80, dpi=(600, 600))


WORKER = """
import resource, sys
from ocr.engine import TesseractEngine
from pipeline.page import PageTask, run_page
out = run_page(PageTask("a3", sys.argv[1], "image/jpeg", 0, 10**9), TesseractEngine())
status = open("/proc/self/status").read()
hwm = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
print(hwm // 1024, out.width, out.height, len(out.text))
"""


def long_pdf(path: Path, pages: int) -> None:
    """An image-only PDF: 10 generated 200-dpi pages repeated (memory depends on the page
    count and size, not on which words are on them)."""
    import img2pdf

    from samples import generate

    tmp = path.parent / "pages"
    generate.pages(tmp, path.parent / "pages-truth", seed=9, count=10, dpi=200, max_skew=3,
                   rotations=False, fmt="jpg", types=generate.TYPES[:5])
    images = sorted(str(p) for p in tmp.iterdir())
    path.write_bytes(img2pdf.convert([images[i % len(images)] for i in range(pages)]))


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def ingest_peaks(pdf: Path, home: Path) -> tuple[float, float, float, float]:
    proc = subprocess.Popen([str(VENV_BIN / "sohoa"), "ingest", "--json", str(pdf)],
                            env={**ENV, "SOHOA_HOME": str(home)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    main_peak = worker_peak = total_peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal main_peak, worker_peak, total_peak
        while not done.is_set():
            pids = _tree(proc.pid)
            rss = {pid: _rss_mb(pid) for pid in pids}
            main_peak = max(main_peak, rss.get(proc.pid, 0.0))
            others = [v for pid, v in rss.items() if pid != proc.pid]
            worker_peak = max([worker_peak, *others])
            total_peak = max(total_peak, sum(rss.values()))
            time.sleep(0.1)

    t = time.perf_counter()
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    done.set()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(err.decode())
    return main_peak, worker_peak, total_peak, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--compare", type=int, default=30)
    ap.add_argument("--skip-a3", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sohoa-memory-") as tmp:
        tmp = Path(tmp)
        if not args.skip_a3:
            a3 = tmp / "a3-600dpi.jpg"
            a3_spread(a3)
            out = subprocess.run([sys.executable, "-c", WORKER, str(a3)], env=ENV, check=True,
                                 capture_output=True, text=True,
                                 cwd=Path(__file__).resolve().parent.parent).stdout.split()
            print(f"worker on a 600-dpi A3 spread ({out[1]}×{out[2]} after deskew, "
                  f"{int(out[3])} characters read): peak RSS {out[0]} MB")
        rows = []
        for n in [args.compare, args.pages] if args.compare else [args.pages]:
            pdf = tmp / f"book-{n}.pdf"
            long_pdf(pdf, n)
            main_mb, worker_mb, total_mb, wall = ingest_peaks(pdf, tmp / f"home-{n}")
            rows.append([str(n), f"{pdf.stat().st_size / 1e6:.0f}", f"{main_mb:.0f}",
                         f"{worker_mb:.0f}", f"{total_mb:.0f}", f"{wall:.0f}",
                         f"{n / wall * 3600:.0f}"])
            for p in (tmp / "pages").iterdir():
                p.unlink()
        print(table(rows, ["PDF pages", "PDF MB", "main peak MB", "worker peak MB",
                           "all processes MB", "wall s", "pages/hour"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
