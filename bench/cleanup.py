"""Does cleanup before OCR lower the error rate? Measured, per variant, on the same pages.

Every page is straightened and turned upright once; then each cleanup variant of
``ocr/cleanup.py`` is applied to the upright page and Tesseract reads it. Prints the CER and
WER of each variant on generated pages (and the committed samples), and its time per page.

    python bench/cleanup.py --seed 11 --count 30 [--dpi 300]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, char_errors, generate_set, table, word_errors  # noqa: E402

_engine = None


def _init() -> None:
    global _engine
    from ocr.engine import TesseractEngine

    _engine = TesseractEngine()


def _page(job: tuple[str, int, str, list[str]]) -> list[tuple[str, int, int, int, int, float]]:
    from ocr.cleanup import VARIANTS
    from ocr.deskew import straighten, to_gray
    from ocr.page import MIN_ORIENTATION_CONFIDENCE, quarter_turn
    from pipeline.intake import load_page, sniff

    path, index, truth, variants = job
    media = sniff(Path(path).read_bytes()[:1024])
    page = load_page(Path(path), media, index, max_pixels=10**9)
    straight = straighten(page.image)
    orient = _engine.orientation(to_gray(straight.image), dpi=page.dpi)
    rotation = orient.rotation if orient.confidence >= MIN_ORIENTATION_CONFIDENCE else 0
    upright = quarter_turn(straight.image, rotation)
    out = []
    for name in variants:
        t = time.perf_counter()
        cleaned = VARIANTS[name](upright)
        spent = time.perf_counter() - t
        text = _engine.recognize(cleaned, dpi=page.dpi).text
        ce, ct = char_errors(text, truth)
        we, wt = word_errors(text, truth)
        out.append((name, ce, ct, we, wt, spent))
    return out


def main(argv: list[str] | None = None) -> int:
    from ocr.cleanup import VARIANTS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--dpi", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--no-committed", action="store_true", help="skip samples/scans")
    args = ap.parse_args(argv)
    variants = args.variants.split(",")

    with tempfile.TemporaryDirectory(prefix="sohoa-cleanup-") as tmp:
        sets = {f"generated (seed {args.seed}, {args.count} docs, {args.dpi} dpi)":
                generate_set(Path(tmp), seed=args.seed, count=args.count, dpi=args.dpi)}
        if not args.no_committed:
            import json

            scans = sorted((ROOT / "samples" / "scans").iterdir())
            pairs = [(p, json.loads((ROOT / "samples" / "truth" / f"{p.name}.gt.json")
                                    .read_text())) for p in scans]
            sets["committed samples"] = [  # printed pages only: handwriting is keyed
                (p, t) for p, t in pairs
                if all(pg.get("script", "printed") == "printed" for pg in t["pages"])]
        ctx = multiprocessing.get_context("forkserver")
        with ctx.Pool(args.workers, initializer=_init) as pool:
            for label, pairs in sets.items():
                jobs = [(str(path), i, page["text"], variants)
                        for path, truth in pairs for i, page in enumerate(truth["pages"])]
                totals = {v: [0, 0, 0, 0, 0.0] for v in variants}
                for result in pool.imap_unordered(_page, jobs):
                    for name, ce, ct, we, wt, spent in result:
                        t = totals[name]
                        t[0] += ce
                        t[1] += ct
                        t[2] += we
                        t[3] += wt
                        t[4] += spent
                rows = [[v, f"{t[0] / t[1]:.2%}", f"{t[2] / t[3]:.2%}",
                         f"{1000 * t[4] / len(jobs):.0f}"] for v, t in totals.items()]
                print(f"\n{label}: {len(jobs)} pages")
                print(table(rows, ["cleanup", "CER", "WER", "ms/page"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
