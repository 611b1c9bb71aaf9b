"""The page task: load one page of a source file, run the page stage with a given engine,
read its fields, and return the ``Page`` (pipeline.model).

Runs in a worker process with a warm engine; its argument and result are plain picklable
data.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ocr.alto import Provenance, Software, in_regions, words_to_alto
from ocr.engine import OcrEngine, Word, lines_of, words_text
from ocr.hocr import words_to_hocr
from ocr.noise import implausible_share
from ocr.page import process_page, working_resolution
from ocr.resolution import ScanQuality, assess_scan, effective_dpi
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


TEXT_LAYER = "pdf text layer"  # the engine of a page whose words were the PDF's own


@lru_cache(maxsize=1)
def sohoa_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sohoa")
    except PackageNotFoundError:
        return ""


def provenance(engine: str, engine_version: str = "") -> Provenance:
    """Who made a page's text, for its ALTO: the engine by its name and version as it
    reports them ("tesseract", "5.5.4 vie psm 6"); "" for a version not recorded."""
    prep = Software("sohoa", sohoa_version(), settings="orientation, deskew, seal dropout",
                    description="the page image prepared for the engine; ALTO written from "
                                "the engine's words")
    if engine == TEXT_LAYER:
        return Provenance(Software("pdftotext", creator="poppler",
                                   description="the PDF page's own text layer, kept as it "
                                               "was: no OCR"), None)
    if engine.startswith("tesseract"):
        first = engine_version.split(" ", 1)[0] if engine_version else ""
        extra = "" if engine == "tesseract" else (
            f"{engine}: lines Tesseract read poorly were read again by the second recogniser")
        if not engine_version:
            extra = ("the engine's version was not recorded: this ALTO was made later, from "
                     "the words stored for the page")
        return Provenance(Software("Tesseract", first, creator="tesseract-ocr",
                                   settings=engine_version, description=extra), prep)
    return Provenance(Software(engine, engine_version), prep)


def make_alto(*, document_id: str, number: int, words: Sequence[Word], width: int,
              height: int, image_ext: str, engine: str, engine_version: str = "",
              confidence: float | None = None, script: str = "printed",
              script_regions: Sequence[dict] = ()) -> str:
    """A page's ALTO from what the page stage made, or from what the catalogue and the
    words file kept of it (pages stored before ALTO was: pipeline.present.page_alto)."""
    hand = True if script == "handwritten" else tuple(
        tuple(r["box"]) for r in script_regions if r.get("label") == "handwritten")
    return words_to_alto(words, width=width, height=height, page_number=number,
                         image_name=f"{number:04d}.{image_ext}", document_id=document_id,
                         provenance=provenance(engine, engine_version),
                         confidence=confidence, handwritten=hand)


def scan_quality(loaded: LoadedPage, image: np.ndarray | None = None) -> ScanQuality:
    """The page's resolution and colour depth as sent (ocr.resolution.assess_scan); the
    letters are measured on ``image`` (the working copy, maybe smaller) scaled back."""
    image = loaded.image if image is None else image
    scale = loaded.image.shape[1] / image.shape[1] if image.shape[1] else 1.0
    content = effective_dpi(image)
    h, w = loaded.image.shape[:2]
    return assess_scan(declared_dpi=loaded.declared_dpi,
                       content_dpi=round(content * scale) if content else None,
                       size=(w, h), colour_bits=loaded.colour_bits,
                       colour_mode=loaded.colour_mode)


def _from_text_layer(task: PageTask, loaded: LoadedPage) -> Page:
    """A page that already carries text: keep it exactly, no OCR. Its scan is assessed
    only when the PDF says what its image was (a scan OCR'd before): a born-digital page
    was never scanned."""
    words = loaded.text_words or ()
    h, w = loaded.image.shape[:2]
    data, ext = encode(loaded.image, bilevel=False)
    scan = None
    if loaded.declared_dpi:
        at = loaded.declared_dpi / loaded.dpi  # the image's pixels, not the rendering's
        scan = assess_scan(declared_dpi=loaded.declared_dpi, content_dpi=None,
                           size=(round(w * at), round(h * at)),
                           colour_bits=loaded.colour_bits, colour_mode=loaded.colour_mode)
    return Page(
        document_id=task.document_id, number=task.number, image=data, image_ext=ext,
        width=w, height=h, dpi=loaded.dpi, skew_angle=0.0, rotation=0,
        rotation_confidence=0.0, ocr_confidence=100.0, text=words_text(words),
        hocr=words_to_hocr(words, width=w, height=h, source=TEXT_LAYER),
        words=tuple(words), text_source="text_layer",
        records=tuple(extract_page(words, page=task.number)), codes=_codes(loaded.image),
        alto=make_alto(document_id=task.document_id, number=task.number, words=words,
                       width=w, height=h, image_ext=ext, engine=TEXT_LAYER,
                       confidence=100.0),
        scan=scan)


def run_page(task: PageTask, engine: OcrEngine) -> Page:
    loaded = load_page(Path(task.path), task.media_type, task.index, max_pixels=task.max_pixels)
    if loaded.text_words:
        return _from_text_layer(task, loaded)
    bilevel = loaded.bilevel
    image, dpi = working_resolution(loaded.image, loaded.dpi)
    scan = scan_quality(loaded, image)
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
        records=tuple(extract_page(reliable, page=task.number)), codes=codes, **script,
        alto=make_alto(document_id=task.document_id, number=task.number, words=rec.words,
                       width=w, height=h, image_ext=ext,
                       engine=str(getattr(engine, "name", "") or "unknown"),
                       engine_version=str(getattr(engine, "version", "") or ""),
                       confidence=rec.confidence, script=script.get("script", "printed"),
                       script_regions=script.get("script_regions", ())),
        scan=scan)


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
    kept = [] if found.script == "handwritten" else [
        w for w in words if not in_regions(w, boxes)]
    text = "\n".join(" ".join(w.text for w in line) for line in lines_of(kept))
    return {"script": found.script, "index_text": text,
            "script_regions": tuple(r.to_dict() for r in found.regions)}, kept


def _codes(image) -> tuple[str, ...]:
    from ocr.barcodes import read_codes

    return tuple(c.text for c in read_codes(image))
