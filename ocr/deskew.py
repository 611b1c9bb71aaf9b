"""Skew estimation and correction for scanned text pages.

The estimate maximises the sharpness of the horizontal projection profile of the page's ink:
when text lines are level, the rows through them are dark and the gaps white, so the sum of
squared row counts peaks. Instead of rotating the image for every candidate angle, the ink is
sampled as points and only their coordinates are projected (y·cosθ + x·sinθ), so one candidate
costs one ``bincount``. A coarse sweep over ±max_angle is refined twice around the best angle
and finished with a parabola through the top three scores. Pages turned a quarter have level
*columns* instead; both axes are scored and the sharper one wins, so the same estimate works
before the orientation is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.ink import text_ink

WORK_WIDTH = 1400  # pixels across the long side of the working copy
MAX_POINTS = 120_000


@dataclass(frozen=True, slots=True)
class SkewEstimate:
    angle: float  # degrees, counter-clockwise positive: how far the content is tilted
    confidence: float  # 0..1, how much sharper the best profile is than a random angle
    text_along_rows: bool = True  # False: the text runs along columns (a quarter-turned page)


@dataclass(frozen=True, slots=True)
class Straightened:
    image: np.ndarray
    angle: float  # degrees removed; 0.0 when nothing measurable
    confidence: float
    text_along_rows: bool = True


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def ink_points(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (x, y) of character ink on a working copy, dithered, at most MAX_POINTS."""
    ys, xs = np.nonzero(text_ink(gray, work_size=WORK_WIDTH, max_blob=1 / 12, min_area=3))
    if len(xs) > MAX_POINTS:
        step = len(xs) // MAX_POINTS + 1
        xs, ys = xs[::step], ys[::step]
    # Dither by up to half a pixel: on the integer grid the unrotated profile is artificially
    # sharp (every point falls exactly on a bin), which pulls small angles to 0.
    jitter = np.random.default_rng(len(xs)).uniform(-0.5, 0.5, size=(2, len(xs)))
    return (xs + jitter[0]).astype(np.float32), (ys + jitter[1]).astype(np.float32)


def _scores(u: np.ndarray, v: np.ndarray, angles: np.ndarray, bin_size: float) -> np.ndarray:
    """Profile sharpness of the points projected on v·cosθ + u·sinθ for each angle."""
    out = np.empty(len(angles))
    rad = np.deg2rad(angles)
    for i, (c, s) in enumerate(zip(np.cos(rad), np.sin(rad), strict=True)):
        proj = v * c + u * s
        idx = ((proj - proj.min()) / bin_size).astype(np.int32)
        counts = np.bincount(idx).astype(np.float64)
        out[i] = float(np.dot(counts, counts))
    return out


def _search(u: np.ndarray, v: np.ndarray, max_angle: float) -> tuple[float, float, float]:
    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    scores = _scores(u, v, coarse, 1.0)
    best = float(coarse[int(np.argmax(scores))])
    sharpness = float(scores.max() / max(np.median(scores), 1e-9))
    for half, step in ((0.5, 0.05), (0.06, 0.01)):
        grid = np.arange(best - half, best + half + 1e-9, step)
        s = _scores(u, v, grid, 0.5)
        i = int(np.argmax(s))
        best = float(grid[i])
        if 0 < i < len(grid) - 1:  # parabola through the top three
            y0, y1, y2 = s[i - 1], s[i], s[i + 1]
            denom = y0 - 2 * y1 + y2
            if denom < 0:
                best += step * 0.5 * (y0 - y2) / denom
    return best, sharpness, float(scores.max())


def estimate_skew(image: np.ndarray, *, max_angle: float = 15.0) -> SkewEstimate:
    xs, ys = ink_points(to_gray(image))
    if len(xs) < 200:
        return SkewEstimate(0.0, 0.0)
    # Rows level (upright or upside down) and columns level (turned a quarter).
    row_angle, row_sharp, _ = _search(xs, ys, max_angle)
    col_angle, col_sharp, _ = _search(-ys, xs, max_angle)
    rows = row_sharp >= col_sharp
    angle, sharp = (row_angle, row_sharp) if rows else (col_angle, col_sharp)
    confidence = float(np.clip((sharp - 1.0) / 1.5, 0.0, 1.0))
    return SkewEstimate(round(angle, 3), round(confidence, 3), rows)


def background_level(gray: np.ndarray) -> int:
    return int(np.median(gray[:: max(1, gray.shape[0] // 200), :: max(1, gray.shape[1] // 200)]))


def rotate(image: np.ndarray, angle: float, *, fill: int | tuple[int, ...] = 255,
           expand: bool = True) -> np.ndarray:
    """Rotate counter-clockwise by ``angle`` degrees about the centre; ``expand`` grows the
    canvas to keep every pixel, otherwise the frame keeps its size (the corners it loses are
    the scan's own corners, outside a page lying within it)."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    nw, nh = w, h
    if expand:
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
        m[0, 2] += nw / 2 - w / 2
        m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(image, m, (nw, nh), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def straighten(page: np.ndarray, *, max_angle: float = 15.0) -> Straightened:
    """Level the page within its own frame (OCR time grows with the pixels it is given, and a
    larger canvas adds only blank corners)."""
    est = estimate_skew(page, max_angle=max_angle)
    if abs(est.angle) < 0.05 or est.confidence == 0.0:
        return Straightened(page, 0.0, est.confidence, est.text_along_rows)
    gray = to_gray(page)
    level = background_level(gray)
    fill = level if page.ndim == 2 else (level,) * page.shape[2]
    return Straightened(rotate(page, -est.angle, fill=fill, expand=False), est.angle,
                        est.confidence, est.text_along_rows)
