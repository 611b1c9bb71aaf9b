"""The page stage: orientation, deskew and OCR of one page image, as a pure function of the
image and a loaded engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ocr.cleanup import red_dropout
from ocr.deskew import straighten, to_gray
from ocr.engine import Recognized, TesseractEngine

MIN_ORIENTATION_CONFIDENCE = 2.0


@dataclass(frozen=True, slots=True)
class PageOcr:
    image: np.ndarray  # the upright, straightened page that was recognised (grey or colour)
    skew_angle: float  # degrees, counter-clockwise positive, by which the content was tilted
    skew_confidence: float
    rotation: int  # counter-clockwise quarter-turn the content had; corrected by its negative
    rotation_confidence: float
    recognized: Recognized


def quarter_turn(image: np.ndarray, rotation: int) -> np.ndarray:
    """Undo a counter-clockwise quarter-turn of ``rotation`` degrees."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=-k)) if k else image


def process_page(image: np.ndarray, *, dpi: int, engine: TesseractEngine,
                 cleanup: Callable[[np.ndarray], np.ndarray] | None = red_dropout) -> PageOcr:
    """Straighten first (the skew estimate works on quarter-turned pages too), then find the
    quarter-turn on the level page with Tesseract's OSD, then recognise the upright page,
    cleaned by ``cleanup`` (image in, grey out). The default, red dropout, is the only cleanup
    that lowered the error rate in bench/cleanup.py; the returned image is never cleaned."""
    straight = straighten(image)
    gray = to_gray(straight.image)
    orient = engine.orientation(gray, dpi=dpi)
    rotation = orient.rotation if orient.confidence >= MIN_ORIENTATION_CONFIDENCE else 0
    upright = quarter_turn(straight.image, rotation)
    to_read = cleanup(upright) if cleanup else quarter_turn(gray, rotation)
    recognized = engine.recognize(to_read, dpi=dpi)
    return PageOcr(upright, straight.angle, straight.confidence, rotation, orient.confidence,
                   recognized)
