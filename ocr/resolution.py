"""A page's effective resolution from the height of its letters, and how much to enlarge it.

The dpi written in a file says little about a photograph (phones write 72 whatever the
distance) or a page scanned small. The letters say more: the 60th percentile of the heights of
the ink's connected components that are letter-sized (marks and specks are smaller, lines and
tables larger) is 29-33 px on body text at 300 dpi (12-13 pt), and scales with the
resolution (7-12 px on the same pages at 60-100 dpi; bench/photos.py). Tesseract reads small
letters badly: pages whose letters are under ``SMALL`` px are enlarged to ``TARGET`` px,
at most ``MAX_FACTOR`` times (bench/photos.py, seed 5: lowres 0.97 % -> 0.38 % page CER,
photographed 18.99 % -> 14.2 %).
"""

from __future__ import annotations

import cv2
import numpy as np

REFERENCE = 30.0  # letter height in px of 12-13 pt body text at 300 dpi
SMALL = 16.0
TARGET = 22.0
MAX_FACTOR = 3.0


def letter_height(grey: np.ndarray) -> float | None:
    """The typical letter height in pixels, or None when the page has too little text."""
    if grey.ndim == 3:
        grey = cv2.cvtColor(grey, cv2.COLOR_RGB2GRAY)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w, area = stats[1:, 3], stats[1:, 2], stats[1:, 4]
    letters = (h >= 4) & (w >= 2) & (area >= 6) & (h < grey.shape[0] / 20)
    if letters.sum() < 50:
        return None
    return float(np.percentile(h[letters], 60))


def effective_dpi(grey: np.ndarray) -> int | None:
    """The resolution the page's letters suggest (body text taken as 12-13 pt)."""
    height = letter_height(grey)
    return round(300 * height / REFERENCE) if height else None


def enlargement(height: float | None) -> float:
    """How many times to enlarge a page whose letters are ``height`` px tall (1: leave it)."""
    if not height or height >= SMALL:
        return 1.0
    return min(MAX_FACTOR, TARGET / height)
