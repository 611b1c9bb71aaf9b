"""The text ink of a page: a working copy, background flattened, thresholded, with the blobs
too large to be characters (seals, photos, rules, borders) and the specks removed."""

from __future__ import annotations

import cv2
import numpy as np


def text_ink(gray: np.ndarray, *, work_size: int, max_blob: float,
             min_area: int) -> np.ndarray:
    """A boolean mask of character ink on a copy whose long side is at most ``work_size``;
    components wider or taller than ``max_blob`` × the long side are dropped."""
    h, w = gray.shape
    scale = min(1.0, work_size / max(h, w))
    small = cv2.resize(gray, (round(w * scale), round(h * scale)),
                       interpolation=cv2.INTER_AREA) if scale < 1 else gray
    # Flatten uneven light: divide by the background (a closing removes the text).
    k = max(15, (min(small.shape) // 40) | 1)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE,
                                  cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    norm = cv2.divide(small, background, scale=255)
    _, ink = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    limit = max(small.shape) * max_blob
    keep = (stats[:, cv2.CC_STAT_WIDTH] < limit) & (stats[:, cv2.CC_STAT_HEIGHT] < limit)
    keep &= stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels]
