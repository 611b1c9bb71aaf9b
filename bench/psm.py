"""Which Tesseract settings read these documents best? Measured, not assumed.

The whole page stage (deskew, orientation, red dropout, OCR) runs on generated pages and the
committed samples once per setting, one setting per worker process; prints CER, WER and time.
A setting is a page segmentation mode and Tesseract variables, e.g. ``6`` or
``6:thresholding_method=0``, or ``6:lang=Vietnamese/eng`` for other models (``/`` for ``+``). Forms and register tables are read row by row; the automatic
mode (3) splits a row's widely spaced fields into column blocks and reads them out of order.
thresholding_method 0 forces Otsu over the whole page, 2 forces Sauvola's local threshold;
without it sohoa chooses per page (ocr.page.needs_local_threshold).

    python bench/psm.py --seed 3 --count 20 [--modes 3,6:thresholding_method=0,6]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, char_errors, generate_set, table, word_errors  # noqa: E402


def run(job: tuple[str, list[tuple[str, dict]]]) -> tuple[str, float, float, float, int]:
    from ocr.engine import TesseractEngine
    from ocr.page import process_page
    from pipeline.intake import load_page, sniff

    mode, pairs = job
    psm, _, rest = mode.partition(":")
    variables = dict(kv.split("=", 1) for kv in rest.split("+") if kv)
    languages = variables.pop("lang", "vie+eng").replace("/", "+")
    engine = TesseractEngine(psm=int(psm), variables=variables, languages=languages)
    ce = ct = we = wt = pages = 0
    t0 = time.perf_counter()
    for path, truth in pairs:
        media = sniff(Path(path).read_bytes()[:1024])
        for i, page_truth in enumerate(truth["pages"]):
            page = load_page(Path(path), media, i, max_pixels=10**9)
            text = process_page(page.image, dpi=page.dpi, engine=engine).recognized.text
            a, b = char_errors(text, page_truth["text"])
            c, d = word_errors(text, page_truth["text"])
            ce, ct, we, wt, pages = ce + a, ct + b, we + c, wt + d, pages + 1
    return mode, ce / ct, we / wt, time.perf_counter() - t0, pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--modes", default="3,6:thresholding_method=0,6:thresholding_method=2,6",
                    help="comma-separated PSM[:var=value+var=value]")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        pairs = [(str(p), t) for p, t in generate_set(Path(tmp), seed=args.seed,
                                                      count=args.count, rotations=True)]
        pairs += [(str(p), json.loads((ROOT / "samples" / "truth" / f"{p.name}.gt.json")
                                      .read_text())) for p in sorted((ROOT / "samples" /
                                                                      "scans").iterdir())]
        modes = args.modes.split(",")
        ctx = multiprocessing.get_context("forkserver")
        with ctx.Pool(args.workers) as pool:
            results = sorted(pool.imap_unordered(run, [(m, pairs) for m in modes]))
    rows = [[mode, f"{cer:.2%}", f"{wer:.2%}", f"{1000 * t / pages:.0f}"]
            for mode, cer, wer, t, pages in results]
    print(f"{results[0][4]} pages: {args.count} generated (seed {args.seed}, ±15° skew, turns) "
          f"+ the committed samples")
    print(table(rows, ["setting", "CER", "WER", "ms/page"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
