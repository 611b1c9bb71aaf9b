"""Quarter-turn detection: the text-shape method (ocr/orientation.py) against Tesseract's OSD.

Every page of a generated set and of the committed samples is levelled, then shown in all
four quarter-turns; both methods name the turn. Prints accuracy, time per page, the smallest
text-shape score seen (how far from the OSD fallback threshold), and how often the pipeline
would fall back to OSD.

    python bench/orientation.py --seed 21 --count 30
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, generate_set, table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from ocr.deskew import estimate_skew, straighten, to_gray
    from ocr.engine import TesseractEngine
    from ocr.orientation import MIN_SCORE, layout_orientation
    from ocr.page import MIN_ORIENTATION_CONFIDENCE
    from pipeline.intake import load_page, sniff

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--dpi", type=int, default=300)
    args = ap.parse_args(argv)

    engine = TesseractEngine()
    with tempfile.TemporaryDirectory() as tmp:
        pairs = generate_set(Path(tmp), seed=args.seed, count=args.count, dpi=args.dpi)
        scans = ROOT / "samples" / "scans"
        pairs += [(p, json.loads((ROOT / "samples" / "truth" / f"{p.name}.gt.json").read_text()))
                  for p in sorted(scans.iterdir())]
        stats = {"layout": [0, 0, 0.0], "osd": [0, 0, 0.0]}  # right, cases, seconds
        scores, fallbacks = [], 0
        for path, truth in pairs:
            media = sniff(path.read_bytes()[:1024])
            for i, page_truth in enumerate(truth["pages"]):
                page = load_page(path, media, i, max_pixels=10**9)
                level = to_gray(straighten(page.image).image)
                for k in range(4):
                    img = np.ascontiguousarray(np.rot90(level, k))
                    want = (page_truth["rotation"] + 90 * k) % 360
                    rows = estimate_skew(img).text_along_rows  # the pipeline has this already
                    t = time.perf_counter()
                    found = layout_orientation(img, text_along_rows=rows)
                    stats["layout"][2] += time.perf_counter() - t
                    stats["layout"][0] += found.rotation == want
                    stats["layout"][1] += 1
                    scores.append(found.score)
                    fallbacks += not found.reliable
                    t = time.perf_counter()
                    osd = engine.orientation(img, dpi=page.dpi)
                    stats["osd"][2] += time.perf_counter() - t
                    stats["osd"][0] += (osd.rotation if osd.confidence >=
                                        MIN_ORIENTATION_CONFIDENCE else 0) == want
                    stats["osd"][1] += 1
    rows = [[name, f"{right}/{n}", f"{right / n:.1%}", f"{1000 * sec / n:.0f}"]
            for name, (right, n, sec) in stats.items()]
    print(f"{len(pairs)} documents ({args.count} generated at {args.dpi} dpi + the committed "
          f"samples), each page in all four quarter-turns")
    print(table(rows, ["method", "right", "accuracy", "ms/page"]))
    print(f"text-shape scores: smallest {min(scores):.2f}, median {np.median(scores):.2f}; "
          f"fallback threshold {MIN_SCORE}; pages that would go to OSD: {fallbacks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
