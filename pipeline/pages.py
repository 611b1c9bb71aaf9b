"""The page task: load one page of a source file, run the page stage, encode the result.

Runs in a worker process with a warm engine; arguments and results are plain picklable data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ocr.engine import TesseractEngine
from ocr.page import process_page
from pipeline.intake import load_page

JPEG_QUALITY = 80


@dataclass(frozen=True, slots=True)
class PageTask:
    document_id: str
    path: str  # a file the worker can read
    media_type: str
    index: int  # 0-based position in the file
    max_pixels: int

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True, slots=True)
class PageOutput:
    document_id: str
    number: int
    image: bytes  # the upright, straightened page
    image_ext: str  # "jpg" | "png"
    width: int
    height: int
    dpi: int
    skew_angle: float
    rotation: int
    rotation_confidence: float
    ocr_confidence: float
    text: str
    hocr: str
    words: list[dict]


def encode(image: np.ndarray, *, lossless: bool) -> tuple[bytes, str]:
    from PIL import Image

    buf = io.BytesIO()
    pil = Image.fromarray(image)
    if lossless:
        pil.save(buf, format="PNG", optimize=False, compress_level=6)
        return buf.getvalue(), "png"
    pil.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue(), "jpg"


def run_page(task: PageTask, engine: TesseractEngine) -> PageOutput:
    loaded = load_page(Path(task.path), task.media_type, task.index, max_pixels=task.max_pixels)
    result = process_page(loaded.image, dpi=loaded.dpi, engine=engine)
    data, ext = encode(result.image, lossless=loaded.bilevel)
    rec = result.recognized
    h, w = result.image.shape[:2]
    return PageOutput(
        document_id=task.document_id, number=task.number, image=data, image_ext=ext,
        width=w, height=h, dpi=loaded.dpi, skew_angle=round(result.skew_angle, 2),
        rotation=result.rotation, rotation_confidence=result.rotation_confidence,
        ocr_confidence=rec.confidence, text=rec.text, hocr=rec.hocr,
        words=[word.to_dict() for word in rec.words])
