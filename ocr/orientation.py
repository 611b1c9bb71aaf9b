"""Which way up is the page? Decided from the text's own shape, with Tesseract's OSD as the
fallback when the shape says too little.

Once a page is level, the deskew already knows whether its text runs along rows (upright or
upside down) or along columns (turned a quarter). What is left is up versus down. In each
text line the ink outside the dense x-height band sits mostly *above* it: capitals,
ascenders, and in Vietnamese the tone and vowel marks (ả, ế, ỗ, Ủ…); descenders and the dot
below (ạ, ọ) are fewer. So (ink above − ink below) / (ink outside the band), summed over the
lines, is clearly positive on an upright page and negative on an upside-down one. On the
generated samples every page in all four turns scored beyond ±0.40 (bench/orientation.py);
a page scoring under ``MIN_SCORE`` or with few lines goes to OSD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocr.ink import text_ink

WORK_SIZE = 1600
MIN_SCORE = 0.15
MIN_LINES = 5


@dataclass(frozen=True, slots=True)
class LayoutOrientation:
    rotation: int  # counter-clockwise quarter-turn the content had
    score: float  # signed up/down score of the page as finally turned, in [-1, 1]
    lines: int  # text lines measured

    @property
    def reliable(self) -> bool:
        return abs(self.score) >= MIN_SCORE and self.lines >= MIN_LINES


def up_down_score(gray: np.ndarray) -> tuple[float, int]:
    """(score, lines) for a level page read along its rows: > 0 upright, < 0 upside down."""
    rows = text_ink(gray, work_size=WORK_SIZE, max_blob=1 / 25, min_area=4).sum(axis=1)
    rows = rows.astype(np.float64)
    if rows.max() <= 0:
        return 0.0, 0
    on = rows > 0.02 * rows.max()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], on.astype(np.int8), [0]))))
    above = below = 0.0
    lines = 0
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start < 4:
            continue
        seg = rows[start:end]
        core = np.flatnonzero(seg >= 0.5 * seg.max())
        above += seg[: core[0]].sum()
        below += seg[core[-1] + 1:].sum()
        lines += 1
    total = above + below
    return (float((above - below) / total) if total else 0.0), lines


def layout_orientation(level: np.ndarray, *, text_along_rows: bool) -> LayoutOrientation:
    """The quarter-turn of a level grey page whose text runs along rows or columns."""
    if text_along_rows:
        score, lines = up_down_score(level)
        return LayoutOrientation(0 if score >= 0 else 180, abs(score), lines)
    score, lines = up_down_score(np.ascontiguousarray(np.rot90(level, -1)))
    return LayoutOrientation(90 if score >= 0 else 270, abs(score), lines)
