"""Round seals scanned in grey: found by their ring, and dropped where they are lighter than text.

A Vietnamese administrative document carries a round red seal over its signature block, often
over the signer's title and name. In a colour scan the red channel drops it (ocr.cleanup
.red_dropout); in a grey scan red becomes a middle grey (about 80-140 where black print is
0-40), and Tesseract reads seal and text as one: "NGƯỜI KÝ TRÍCH LỤC" under a seal came back
as "NGỜKỸ TRCHLC" (bench/ocr.py, seed 11).

A seal is found as a circle (Hough, at 100 px an inch of the page) of 10-30 mm radius whose
ring is inked on at least ``MIN_RING_COVERAGE`` of its circumference (circles that Hough finds
in text are inked on 18-54 % of it, seals on 83-100 %) and the band just outside it (1.15 r)
on ``MIN_RING_CONTRAST`` less (seals: 11-41 %; a dark or dense page is inked everywhere). Inside it, pixels lighter than midway
between the text's ink and the ring's grey become paper, except the grey edges of text ink
(pixels within 2 px of a text-dark pixel). A seal as dark as the text, or a page with no
seal, is left alone.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr.cleanup import red_dropout

SEAL_RADIUS_MM = (10.0, 30.0)
MIN_RING_COVERAGE = 0.75
MIN_RING_CONTRAST = 0.4  # a ring is inked, the band just outside it mostly not
MIN_CONTRAST = 50  # grey levels between the text's ink and the ring's
WORK_PX_PER_MM = 100 / 25.4


def _px_per_mm(gray: np.ndarray) -> float:
    """The page's scale, from its long side taken as an A4 page's 297 mm."""
    return max(gray.shape) / 297.0


def ink_level(gray: np.ndarray) -> float:
    """Otsu's threshold between ink and paper, from a quarter-size copy."""
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    level, _ = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return float(level)


def find_seals(gray: np.ndarray, level: float | None = None) -> list[tuple[float, float, float]]:
    """Circles (x, y, radius in pixels) that are inked rings of a seal's size."""
    scale = WORK_PX_PER_MM / _px_per_mm(gray)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
        if scale < 1 else gray
    scale = min(scale, 1.0)
    small = cv2.GaussianBlur(small, (3, 3), 0)
    px = _px_per_mm(gray) * scale
    rmin, rmax = int(SEAL_RADIUS_MM[0] * px), int(SEAL_RADIUS_MM[1] * px)
    found = cv2.HoughCircles(small, cv2.HOUGH_GRADIENT, dp=1, minDist=2 * rmin, param1=120,
                             param2=40, minRadius=rmin, maxRadius=rmax)
    if found is None:
        return []
    level = ink_level(gray) if level is None else level
    seals = []
    for x, y, r in found[0] / scale:
        if ring_coverage(gray, x, y, r, level) < MIN_RING_COVERAGE:
            continue  # most circles found in text stop here
        outer = outer_ring(gray, float(x), float(y), float(r), level)
        if outer:
            seals.append((float(x), float(y), outer))
    return seals


def outer_ring(gray: np.ndarray, x: float, y: float, r: float, level: float) -> float | None:
    """The radius of the outermost inked ring about (x, y) from 0.85 r to 1.9 r (Hough finds
    a seal's inner ring as often as its outer one), or None when there is no ring there."""
    best = None
    for radius in np.arange(0.85 * r, 1.9 * r, max(1.0, 0.01 * r)):
        ring = ring_coverage(gray, x, y, radius, level, band=0.02)
        if ring < MIN_RING_COVERAGE:
            continue
        outside = ring_coverage(gray, x, y, 1.12 * radius, level, band=0.02)
        if ring - outside >= MIN_RING_CONTRAST:
            best = float(radius)
    return best


def ring_coverage(gray: np.ndarray, x: float, y: float, r: float, level: float, *,
                  band: float = 0.04) -> float:
    """The share of 180 directions in which the band r ± ``band`` r holds an ink pixel."""
    h, w = gray.shape
    angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    radii = np.arange(r * (1 - band), r * (1 + band) + 1)
    xs = np.clip((x + np.outer(np.cos(angles), radii)).astype(int), 0, w - 1)
    ys = np.clip((y + np.outer(np.sin(angles), radii)).astype(int), 0, h - 1)
    return float((gray[ys, xs] < level).any(axis=1).mean())


def grey_seal_dropout(gray: np.ndarray) -> np.ndarray:
    """The page with its grey seals made paper where they are lighter than the text."""
    if gray.ndim != 2:
        return gray
    level = ink_level(gray)
    seals = find_seals(gray, level)
    if not seals:
        return gray
    sample = gray[::3, ::3]
    page_ink = float(np.percentile(sample[sample < level], 5))  # the page's black print
    out = gray.copy()
    h, w = gray.shape
    for x, y, r in seals:
        x0, x1 = int(max(0, x - 1.1 * r)), int(min(w, x + 1.1 * r))
        y0, y1 = int(max(0, y - 1.1 * r)), int(min(h, y + 1.1 * r))
        sub = gray[y0:y1, x0:x1]
        yy, xx = np.ogrid[y0:y1, x0:x1]
        d = np.sqrt((xx - x) ** 2 + (yy - y) ** 2)
        ring = (np.abs(d - r) <= max(3.0, 0.03 * r)) & (sub < level)
        inside = d <= r + max(6.0, 0.04 * r)
        if ring.sum() < 50:
            continue
        seal_grey = float(np.median(sub[ring]))
        # the text's ink under the seal, unless the seal's own ink is most of it (a filled
        # star over little text): then the page's
        ink = sub[inside & (sub < level)]
        text_ink = float(np.percentile(ink, 5))
        if seal_grey - text_ink < MIN_CONTRAST:
            text_ink = page_ink
        if seal_grey - text_ink < MIN_CONTRAST:
            continue  # as dark as the text: nothing tells them apart
        middle = int((text_ink + seal_grey) / 2)
        dark = (sub <= middle).astype(np.uint8)
        near_text = cv2.dilate(dark, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
        out[y0:y1, x0:x1][inside & (sub > middle) & (near_text == 0)] = 255
    return out


def seal_dropout(image: np.ndarray) -> np.ndarray:
    """The page as Tesseract should read it, seals gone: a colour page by its red channel
    (ocr.cleanup.red_dropout), a grey page by ``grey_seal_dropout``."""
    if image.ndim == 3:
        return red_dropout(image)
    return grey_seal_dropout(image)
