"""QR codes on pages: decode rate and time per page of ``ocr.barcodes.read_codes``.

Generated pages (A4, 300 dpi unless told), each degraded as the samples are (paper tone,
uneven light, skew within ±max, blur, noise, specks, 25% kept in colour) and JPEG-compressed
at quality 55-85, in four sets: pages of every template without a code, receipts with a QR
code of their dossier code, with a look-up URL containing it, and with both side by side.
Codes are 0.68 mm a module (8 px at 300 dpi) unless told. Prints, per set, the pages whose
codes were all read exactly, the pages whose dossier code came out of ``dossier_codes_in``,
the pages where something was read that is not printed, and ms/page of ``read_codes`` alone
(p50, p95, max; in this process with OpenCV's default threads, images already decoded).

    python bench/barcodes.py --count 20 [--seed 3] [--dpi 300] [--max-skew 3] [--module-mm 0.68]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402

URL = "https://dichvucong.gov.vn/tra-cuu?ma={dossier_code}"
SETS = {
    "no code (all templates)": None,
    "QR: dossier code": ["{dossier_code}"],
    "QR: URL with the code": [URL],
    "2 QR: code + URL": ["{dossier_code}", URL + "&lang=vi"],
}


def pages(name: str, qr: list[str] | None, *, seed: int, count: int, dpi: int,
          max_skew: float, rotations: bool, module_mm: float):
    """(image, printed code texts, dossier code or None) for ``count`` pages of a set."""
    from samples import generate

    for i in range(count):
        rng = random.Random(f"{seed}-{name}-{i}")
        doc_type = (generate.TYPES[i % len(generate.TYPES)] if qr is None
                    else "dossier_receipt")
        n = 2 if doc_type == "decision" else 1
        deg = generate.random_degradation(rng, max_skew=max_skew, rotations=rotations)
        doc = generate.make_document(rng, doc_type, dpi=dpi, degradations=[deg] * n, qr=qr,
                                     qr_module_mm=module_mm)
        image = doc.images[0]
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(55, 85)])
        assert ok
        printed = [c["text"] for c in doc.truth["pages"][0].get("codes", [])]
        yield (cv2.imdecode(buf, cv2.IMREAD_UNCHANGED), printed,
               doc.truth["fields"].get("dossier_code") if qr else None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--count", type=int, default=20, help="pages per set")
    ap.add_argument("--dpi", type=int, default=300)
    ap.add_argument("--max-skew", type=float, default=3.0)
    ap.add_argument("--rotations", action="store_true", help="also turn some pages 90/180/270")
    ap.add_argument("--module-mm", type=float, default=0.68, help="QR module size in mm")
    args = ap.parse_args(argv)

    from ocr.barcodes import dossier_codes_in, read_codes

    read_codes(np.full((100, 100), 255, np.uint8))  # first-call set-up out of the timings
    rows = []
    for name, qr in SETS.items():
        times, exact, dossier, spurious = [], 0, 0, 0
        for image, printed, code in pages(name, qr, seed=args.seed, count=args.count,
                                          dpi=args.dpi, max_skew=args.max_skew,
                                          rotations=args.rotations,
                                          module_mm=args.module_mm):
            t = time.perf_counter()
            found = read_codes(image)
            times.append(1000 * (time.perf_counter() - t))
            texts = [c.text for c in found]
            exact += sorted(texts) == sorted(printed)
            dossier += code is not None and dossier_codes_in(found) == [code]
            spurious += any(t not in printed for t in texts)
        ms = np.array(times)
        rows.append([name, str(args.count), f"{exact}/{args.count}",
                     f"{dossier}/{args.count}" if qr else "-", str(spurious),
                     f"{np.median(ms):.0f}", f"{np.percentile(ms, 95):.0f}", f"{ms.max():.0f}"])
    print(f"{args.count} pages a set, {args.dpi} dpi A4, skew within ±{args.max_skew}°, "
          f"JPEG 55-85{', quarter turns' if args.rotations else ''}, "
          f"QR modules {args.module_mm} mm")
    print(table(rows, ["set", "pages", "all read", "dossier code", "spurious", "ms p50",
                       "ms p95", "ms max"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
