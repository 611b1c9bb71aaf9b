"""The page stage: orientation, deskew and OCR of one page image, as a pure function of the
image and a loaded engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.deskew import straighten, to_gray
from ocr.engine import OcrEngine, Recognized
from ocr.geometry import flatten_page
from ocr.orientation import MIN_LINES, layout_orientation
from ocr.resolution import enlargement, letter_height
from ocr.seal import seal_dropout

MIN_ORIENTATION_CONFIDENCE = 2.0  # Tesseract OSD's orient_conf
MAX_WORK_DPI = 400  # above this a page is worked at WORK_DPI (the original is kept as sent)
WORK_DPI = 300
# Letters are measured (ocr/resolution.py) on pages said to be below this resolution, or
# smaller than this many pixels on their long side (an A4 page under 170 dpi).
TRUSTED_DPI = 200
SMALL_SIDE = 2000
MAX_ENLARGED_PIXELS = 40_000_000  # an enlarged page stays under an A4 page at 600 dpi


MAX_GLOBAL_INK = 0.15


def needs_local_threshold(gray: np.ndarray) -> bool:
    """Would one global (Otsu) threshold call much of the page ink? On a dark or unevenly lit
    page it does, and Tesseract then reads solid ink (one generated page: CER 90% with Otsu,
    1.6% with Sauvola). Text pages are 2-5% ink; the failures measured 67-74%. Sauvola's
    local threshold costs 50-200 ms a page, so it is used only there."""
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return float(ink.mean()) > MAX_GLOBAL_INK


def working_resolution(image: np.ndarray, dpi: int) -> tuple[np.ndarray, int]:
    """Pages scanned above 400 dpi are brought to 300 dpi: Tesseract reads no better above
    that, and a 600-dpi A3 spread is 70 million pixels (bench/memory.py)."""
    if dpi <= MAX_WORK_DPI:
        return image, dpi
    scale = WORK_DPI / dpi
    small = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                       interpolation=cv2.INTER_AREA)
    return small, WORK_DPI


@dataclass(frozen=True, slots=True)
class PageOcr:
    image: np.ndarray  # the upright, straightened page that was recognised (grey or colour)
    skew_angle: float  # degrees, counter-clockwise positive, by which the content was tilted
    skew_confidence: float
    rotation: int  # counter-clockwise quarter-turn the content had; corrected by its negative
    rotation_confidence: float  # 0..1
    rotation_method: str  # "layout" (text shape) | "osd" (Tesseract) | "none"
    recognized: Recognized
    dpi: int | None = None  # of ``image``: more than the file's when a small page was enlarged
    flattened: bool = False  # the page was found in a photograph and flattened


def quarter_turn(image: np.ndarray, rotation: int) -> np.ndarray:
    """Undo a counter-clockwise quarter-turn of ``rotation`` degrees."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=-k)) if k else image


def process_page(image: np.ndarray, *, dpi: int, engine: OcrEngine,
                 cleanup: Callable[[np.ndarray], np.ndarray] | None = seal_dropout) -> PageOcr:
    """A photographed page is first cut out of the photo and flattened (ocr/geometry.py), and
    a page of small letters enlarged (ocr/resolution.py), both in one resampling. Straighten
    next (the skew estimate works on quarter-turned pages too), then find the
    quarter-turn on the level page with Tesseract's OSD, then recognise the upright page,
    cleaned by ``cleanup`` (image in, grey out). The default drops seals: red dropout on
    colour (the only cleanup that lowered the error rate in bench/cleanup.py), grey seals
    found by their ring on grey pages (ocr/seal.py); the returned image is never cleaned."""
    factor = 1.0
    if dpi < TRUSTED_DPI or max(image.shape[:2]) < SMALL_SIDE:  # a photo, or a small page
        factor = enlargement(letter_height(to_gray(image)))
        pixels = image.shape[0] * image.shape[1]
        factor = max(1.0, min(factor, (MAX_ENLARGED_PIXELS / pixels) ** 0.5))
    image, flat = flatten_page(image, factor)  # a photo: the page cut out, flat, enlarged
    if factor > 1 and not flat:
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    dpi = round(dpi * factor)
    straight = straighten(image)
    gray = to_gray(straight.image)
    rotation, confidence, method = find_rotation(gray, straight.text_along_rows, dpi=dpi,
                                                 engine=engine)
    upright = quarter_turn(straight.image, rotation)
    to_read = cleanup(upright) if cleanup else quarter_turn(gray, rotation)
    recognized = engine.recognize(to_read, dpi=dpi,
                                  local_threshold=needs_local_threshold(to_read))
    return PageOcr(upright, straight.angle, straight.confidence, rotation, confidence, method,
                   recognized, dpi, flat)


def find_rotation(level: np.ndarray, text_along_rows: bool, *, dpi: int,
                  engine: OcrEngine) -> tuple[int, float, str]:
    """(rotation, confidence 0..1, method): the text's shape when it is clear, else OSD."""
    layout = layout_orientation(level, text_along_rows=text_along_rows)
    if layout.reliable:
        return layout.rotation, round(min(1.0, layout.score / 0.3), 3), "layout"
    osd = engine.orientation(level, dpi=dpi)
    if osd.confidence >= MIN_ORIENTATION_CONFIDENCE:
        return osd.rotation, round(min(1.0, osd.confidence / 15.0), 3), "osd"
    if layout.lines >= MIN_LINES // 2 and layout.score > 0.05:
        return layout.rotation, round(min(1.0, layout.score / 0.3), 3), "layout"
    return 0, 0.0, "none"
