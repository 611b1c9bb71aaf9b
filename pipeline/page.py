"""The page task: load one page of a source file, run the page stage with a given engine,
read its fields, and return the ``Page`` (pipeline.model).

Runs in a worker process with a warm engine; its argument and result are plain picklable
data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ocr.engine import OcrEngine, lines_of, words_text
from ocr.hocr import words_to_hocr
from ocr.noise import implausible_share
from ocr.page import process_page, working_resolution
from pipeline.fields import extract_page
from pipeline.intake import LoadedPage, load_page
from pipeline.model import Page

JPEG_QUALITY = 80
# pages with more words that cannot be text than this go to review (ocr/noise.py)
MAX_IMPLAUSIBLE = 0.05


@dataclass(frozen=True, slots=True)
class PageTask:
    document_id: str
    path: str  # a file the worker can read
    media_type: str
    index: int  # 0-based position in the file
    max_pixels: int
    review_confidence: float = 75.0

    @property
    def number(self) -> int:
        return self.index + 1


def encode(image: np.ndarray, *, bilevel: bool) -> tuple[bytes, str]:
    """The page image to store: a 1-bit source stays 1-bit (the deskew's grey edges are
    thresholded away) as PNG; anything else JPEG."""
    from PIL import Image

    buf = io.BytesIO()
    if bilevel:
        grey = image if image.ndim == 2 else image.mean(axis=2)
        Image.fromarray(grey >= 128).save(buf, format="PNG", optimize=True)
        return buf.getvalue(), "png"
    pil = Image.fromarray(image)
    pil.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue(), "jpg"


def _from_text_layer(task: PageTask, loaded: LoadedPage) -> Page:
    """A page that already carries text: keep it exactly, no OCR."""
    words = loaded.text_words or ()
    h, w = loaded.image.shape[:2]
    data, ext = encode(loaded.image, bilevel=False)
    return Page(
        document_id=task.document_id, number=task.number, image=data, image_ext=ext,
        width=w, height=h, dpi=loaded.dpi, skew_angle=0.0, rotation=0,
        rotation_confidence=0.0, ocr_confidence=100.0, text=words_text(words),
        hocr=words_to_hocr(words, width=w, height=h, source="pdf text layer"),
        words=tuple(words), text_source="text_layer",
        records=tuple(extract_page(words, page=task.number)), codes=_codes(loaded.image))


def run_page(task: PageTask, engine: OcrEngine) -> Page:
    loaded = load_page(Path(task.path), task.media_type, task.index, max_pixels=task.max_pixels)
    if loaded.text_words:
        return _from_text_layer(task, loaded)
    bilevel = loaded.bilevel
    image, dpi = working_resolution(loaded.image, loaded.dpi)
    del loaded  # one full-size copy of the page at a time
    result = process_page(image, dpi=dpi, engine=engine)
    del image
    codes = _codes(result.image)
    data, ext = encode(result.image, bilevel=bilevel)
    rec = result.recognized
    script, reliable = read_script(result.image, rec.words)
    h, w = result.image.shape[:2]
    return Page(
        document_id=task.document_id, number=task.number, image=data, image_ext=ext,
        width=w, height=h, dpi=result.dpi or dpi, skew_angle=round(result.skew_angle, 2),
        rotation=result.rotation, rotation_confidence=result.rotation_confidence,
        rotation_method=result.rotation_method,
        ocr_confidence=rec.confidence, text=rec.text, hocr=rec.hocr, words=rec.words,
        needs_review=(rec.confidence < task.review_confidence
                      or implausible_share(rec.words) > MAX_IMPLAUSIBLE),
        records=tuple(extract_page(reliable, page=task.number)), codes=codes, **script)


def read_script(image, words) -> tuple[dict, list]:
    """Printed, handwritten or mixed (ocr/script.py), the handwritten regions, and the text
    search may hold; with the words that are not handwriting, the only ones fields are read
    from. A handwritten page gives search nothing, a mixed page its printed words: what
    Tesseract makes of a hand is not evidence (such records are keyed, pipeline/keying.py)."""
    from ocr.script import classify_page

    found = classify_page(image, words)
    if found.script == "printed":
        return {"script": "printed"}, list(words)
    boxes = [r.box for r in found.regions if r.label == "handwritten"]

    def in_hand(word) -> bool:
        x, y = (word.box[0] + word.box[2]) / 2, (word.box[1] + word.box[3]) / 2
        return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in boxes)

    kept = [] if found.script == "handwritten" else [w for w in words if not in_hand(w)]
    text = "\n".join(" ".join(w.text for w in line) for line in lines_of(kept))
    return {"script": found.script, "index_text": text,
            "script_regions": tuple(r.to_dict() for r in found.regions)}, kept


def _codes(image) -> tuple[str, ...]:
    from ocr.barcodes import read_codes

    return tuple(c.text for c in read_codes(image))
