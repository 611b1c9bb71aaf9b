"""The OCR engine interface, and Tesseract, its first implementation.

An engine is kept loaded: one per worker process, never a process and a model load per page.
It reads a page image into words with boxes and confidences, grouped into lines and blocks,
and finds a page's quarter-turn. Which engine runs is chosen outside ``ocr/`` (by the
pipeline's runtime, from the settings), so a second recogniser, or a crashing one in the
fault tests, plugs in without the pipeline changing.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # before libtesseract can start OpenMP

TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)


DEFAULT_VARIABLES: dict[str, str] = {}
OTSU, SAUVOLA = "0", "2"  # Tesseract's thresholding_method values


class EngineUnavailable(Exception):
    """Tesseract or its language data is missing; installing it is the fix."""

    retryable = False


class EngineFailed(Exception):
    """Tesseract failed on this page."""

    retryable = False


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # NFC
    confidence: float  # 0..100
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of the recognised image
    line: int  # index of its text line, in reading order
    block: int

    def to_dict(self) -> dict:
        return {"text": self.text, "conf": round(self.confidence, 1), "box": list(self.box),
                "line": self.line, "block": self.block}

    @classmethod
    def from_dict(cls, d: dict) -> Word:
        return cls(d["text"], d["conf"], tuple(d["box"]), d["line"], d["block"])


@dataclass(frozen=True, slots=True)
class Recognized:
    text: str  # NFC; a line per text line, a blank line between blocks
    words: tuple[Word, ...]
    confidence: float  # mean word confidence, 0..100; 0 when no words
    hocr: str

    @property
    def lines(self) -> list[tuple[Word, ...]]:
        """The words by text line, in reading order."""
        return lines_of(self.words)


@dataclass(frozen=True, slots=True)
class Orientation:
    rotation: int  # 0/90/180/270: counter-clockwise quarter-turn the content was given
    confidence: float  # Tesseract's orientation confidence (about 2+ is reliable)


def find_tessdata(languages: str, configured: Path | None = None) -> Path:
    needed = [lang for lang in languages.replace(",", "+").split("+") if lang]
    candidates = [configured] if configured else []
    if os.environ.get("TESSDATA_PREFIX"):
        candidates.append(Path(os.environ["TESSDATA_PREFIX"]))
    candidates += [Path(c) for c in TESSDATA_CANDIDATES]
    for folder in candidates:
        if folder and all((folder / f"{lang}.traineddata").is_file() for lang in needed):
            return folder
    present = {lang for folder in candidates if folder for lang in needed
               if (folder / f"{lang}.traineddata").is_file()}
    missing = " ".join(f"tesseract-ocr-{lang}" for lang in needed if lang not in present)
    raise EngineUnavailable(
        f"Tesseract language data for {'+'.join(needed)} was not found (looked in "
        f"{', '.join(str(c) for c in candidates if c)}): install it with "
        f"`apt-get install {missing}` or set SOHOA_TESSDATA to the folder that holds "
        f"the .traineddata files")


@runtime_checkable
class OcrEngine(Protocol):
    """What the pipeline asks of an engine. Not shared between threads: one per process."""

    name: str

    @property
    def version(self) -> str: ...

    def recognize(self, image: np.ndarray, *, dpi: int,
                  local_threshold: bool = False) -> Recognized:
        """Read a grey page image into words (boxes in its pixels), lines and blocks."""
        ...

    def orientation(self, image: np.ndarray, *, dpi: int) -> Orientation:
        """The quarter-turn the page's content was given (confidence 0 when unsure)."""
        ...

    def close(self) -> None: ...


class TesseractEngine:
    """Tesseract's C API through tesserocr. Not thread-safe: one per process or thread."""

    name = "tesseract"

    def __init__(self, *, languages: str = "vie", tessdata: Path | None = None,
                 psm: int = 6, variables: dict[str, str] | None = None) -> None:
        try:
            import tesserocr
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EngineUnavailable(f"tesserocr is not installed ({exc}): pip install tesserocr") from exc
        self._t = tesserocr
        self.languages = languages
        self.tessdata = find_tessdata(languages, tessdata)
        self.psm = psm
        try:
            self._api = tesserocr.PyTessBaseAPI(path=f"{self.tessdata}/", lang=languages,
                                                psm=psm)
        except RuntimeError as exc:
            raise EngineUnavailable(f"Tesseract could not load {languages} from "
                                    f"{self.tessdata}: {exc}") from exc
        self.variables = dict(DEFAULT_VARIABLES, **(variables or {}))
        for name, value in self.variables.items():
            if not self._api.SetVariable(name, str(value)):
                raise EngineUnavailable(f"Tesseract has no setting {name!r}")
        self._osd = None

    @property
    def version(self) -> str:
        return f"{self._t.tesseract_version().split()[1]} {self.languages} psm {self.psm}"

    def recognize(self, image: np.ndarray, *, dpi: int, local_threshold: bool = False) -> Recognized:
        """Read a grey page. ``local_threshold`` uses Sauvola's local threshold instead of
        Tesseract's global Otsu (see ocr.page.needs_local_threshold)."""
        from PIL import Image

        t = self._t
        api = self._api
        if "thresholding_method" not in self.variables:
            api.SetVariable("thresholding_method", SAUVOLA if local_threshold else OTSU)
        try:
            api.SetImage(Image.fromarray(image))
            api.SetSourceResolution(int(dpi))
            api.Recognize()
            hocr = api.GetHOCRText(0)
            words: list[Word] = []
            it = api.GetIterator()
            line = block = -1
            level = t.RIL.WORD
            if it is not None and not it.Empty(level):
                while True:
                    if it.IsAtBeginningOf(t.RIL.BLOCK):
                        block += 1
                    if it.IsAtBeginningOf(t.RIL.TEXTLINE):
                        line += 1
                    text = it.GetUTF8Text(level)
                    box = it.BoundingBox(level)
                    if text and text.strip() and box:
                        words.append(Word(unicodedata.normalize("NFC", text.strip()),
                                          float(it.Confidence(level)), tuple(box), line, block))
                    if not it.Next(level):
                        break
        except RuntimeError as exc:
            raise EngineFailed(f"Tesseract failed: {exc}") from exc
        confidence = float(np.mean([w.confidence for w in words])) if words else 0.0
        return Recognized(words_text(words), tuple(words), round(confidence, 2),
                          unicodedata.normalize("NFC", hocr))

    def orientation(self, image: np.ndarray, *, dpi: int) -> Orientation:
        """Tesseract's OSD on a half-resolution copy (as reliable here, and faster)."""
        from PIL import Image

        t = self._t
        if self._osd is None:
            try:
                folder = find_tessdata("osd", self.tessdata)
                self._osd = t.PyTessBaseAPI(path=f"{folder}/", lang="osd", psm=t.PSM.OSD_ONLY)
            except (EngineUnavailable, RuntimeError) as exc:
                raise EngineUnavailable(
                    f"{exc} (orientation detection needs the osd model: "
                    f"`apt-get install tesseract-ocr-osd`)") from None
        scale = 0.5 if dpi >= 250 else 1.0
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
            if scale < 1 else image
        self._osd.SetImage(Image.fromarray(small))
        self._osd.SetSourceResolution(max(70, int(dpi * scale)))
        try:
            found = self._osd.DetectOrientationScript()
        except RuntimeError:
            found = None
        if not found:
            return Orientation(0, 0.0)
        # Tesseract's orient_deg is the clockwise turn the content was given (content turned
        # 90° counter-clockwise reports 270); sohoa reports counter-clockwise, like the skew.
        return Orientation((360 - int(found["orient_deg"])) % 360,
                           round(float(found["orient_conf"]), 2))

    def close(self) -> None:
        self._api.End()
        if self._osd is not None:
            self._osd.End()


def lines_of(words: list[Word] | tuple[Word, ...]) -> list[tuple[Word, ...]]:
    """Words grouped by their text line, in reading order."""
    out: list[list[Word]] = []
    last = None
    for w in words:
        if not out or (w.block, w.line) != last:
            out.append([])
        out[-1].append(w)
        last = (w.block, w.line)
    return [tuple(line) for line in out]


def words_text(words: list[Word] | tuple[Word, ...]) -> str:
    lines: list[str] = []
    current: list[str] = []
    last_line = last_block = None
    for w in words:
        if last_line is not None and w.line != last_line:
            lines.append(" ".join(current))
            current = []
            if w.block != last_block:
                lines.append("")
        current.append(w.text)
        last_line, last_block = w.line, w.block
    if current:
        lines.append(" ".join(current))
    return "\n".join(lines)
