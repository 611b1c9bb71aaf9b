"""Skew estimation: sohoa against the `deskew` and `jdeskew` packages on the same pages.

Generated pages (all five document types, 300 dpi unless told) are tilted by known angles
spread evenly across ±max (the content's counter-clockwise tilt); each estimator sees the same
grey image. Prints, per estimator, the mean and worst absolute error in degrees and the time
per page (one core, in this process).

    python bench/skew.py --seed 5 --count 30 [--dpi 300] [--max-angle 15]

Conventions: `deskew.determine_skew` and `jdeskew.estimator.get_angle` return the angle to
rotate by (counter-clockwise) to straighten the page, the negative of the tilt; both are
negated here before scoring. A None from `deskew` (nothing found) scores as 0°.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table  # noqa: E402


def estimators(max_angle: float):
    from deskew import determine_skew
    from jdeskew.estimator import get_angle

    from ocr.deskew import estimate_skew

    def deskew_default(img):
        a = determine_skew(img)
        return 0.0 if a is None else -float(a)

    def deskew_fine(img):  # 0.05° steps over ±max, ten times its default resolution
        a = determine_skew(img, min_deviation=0.05, min_angle=-max_angle, max_angle=max_angle)
        return 0.0 if a is None else -float(a)

    return {
        "sohoa (ocr.deskew)": lambda img: estimate_skew(img, max_angle=max_angle).angle,
        "deskew 1.6 (defaults)": deskew_default,
        "deskew 1.6 (0.05° steps)": deskew_fine,
        "jdeskew 0.4 (defaults)": lambda img: -float(get_angle(img)),
        "jdeskew 0.4 (angle_max)": lambda img: -float(get_angle(img, angle_max=max_angle)),
    }


def pages(seed: int, count: int, dpi: int, max_angle: float):
    from samples import generate

    angles = np.linspace(-max_angle + 0.137, max_angle - 0.213, count)
    rng_order = random.Random(seed)
    for i, angle in enumerate(angles):
        rng = random.Random(f"{seed}-{i}")
        kind = generate.TYPES[:5][rng_order.randrange(5)]
        base = generate.random_degradation(rng, max_skew=0, rotations=False, color=False)
        deg = generate.Degradation(**{**{f: getattr(base, f) for f in base.__slots__},
                                      "skew": round(float(angle), 3)})
        doc = generate.make_document(rng, kind, dpi=dpi, degradations=[deg])
        yield float(deg.skew), doc.images[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--dpi", type=int, default=300)
    ap.add_argument("--max-angle", type=float, default=15.0)
    args = ap.parse_args(argv)

    ests = estimators(args.max_angle)
    errors = {name: [] for name in ests}
    times = {name: [] for name in ests}
    for truth, image in pages(args.seed, args.count, args.dpi, args.max_angle):
        for name, fn in ests.items():
            t = time.perf_counter()
            found = fn(image)
            times[name].append(time.perf_counter() - t)
            errors[name].append(abs(found - truth))
    rows = []
    for name in ests:
        e = np.array(errors[name])
        rows.append([name, f"{e.mean():.3f}", f"{np.median(e):.3f}", f"{e.max():.3f}",
                     f"{(e <= 0.1).mean():.0%}", f"{1000 * np.mean(times[name]):.0f}"])
    print(f"{args.count} pages, {args.dpi} dpi, tilts evenly spread over ±{args.max_angle}°")
    print(table(rows, ["estimator", "mean |err|°", "median°", "worst°", "within 0.1°",
                       "ms/page"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
