"""Shared by the benchmarks: error rates, generated page sets, timing helpers."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def normalise(text: str) -> str:
    """NFC, every run of white space one space: layout is not scored, characters are."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def char_errors(ocr: str, truth: str) -> tuple[int, int]:
    """(Levenshtein distance, length of the truth) over normalised text."""
    a, b = normalise(ocr), normalise(truth)
    return Levenshtein.distance(a, b), len(b)


def word_errors(ocr: str, truth: str) -> tuple[int, int]:
    a, b = normalise(ocr).split(), normalise(truth).split()
    return Levenshtein.distance(a, b), len(b)


def generate_set(out: Path, *, seed: int, count: int, dpi: int = 300, max_skew: float = 15.0,
                 rotations: bool = False, fmt: str = "jpg", types: list[str] | None = None,
                 upright: bool = False) -> list[tuple[Path, dict]]:
    """``count`` generated single documents with their ground truth (cached by parameters)."""
    from samples import generate

    scans, truth = out / "scans", out / "truth"
    marker = out / "params.json"
    params = {"seed": seed, "count": count, "dpi": dpi, "max_skew": max_skew,
              "rotations": rotations, "fmt": fmt, "types": types, "upright": upright}
    if not (marker.exists() and json.loads(marker.read_text()) == params):
        generate.pages(scans, truth, seed=seed, count=count, dpi=dpi, max_skew=max_skew,
                       rotations=rotations, fmt=fmt, types=types or generate.TYPES[:5],
                       upright=upright)
        marker.write_text(json.dumps(params))
    pairs = []
    for path in sorted(scans.iterdir()):
        pairs.append((path, json.loads((truth / f"{path.name}.gt.json").read_text("utf-8"))))
    return pairs


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True))
    out = [line, "-" * len(line)]
    out += ["  ".join(f"{c:>{w}}" for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)
