"""Tesseract, with its weak lines read again by a second recogniser (ocr/lines.py).

A line is weak when one of its words is not a possible Vietnamese syllable (ocr/syllables.py)
or was read with confidence below ``min_confidence``; its crop is read again, and the second
reading is kept when it has no more impossible words than the first. Word boxes stay
Tesseract's where the word count agrees; otherwise the line's box is shared among the new
words by their length, so the searchable PDF and the highlights stay on the line. Lines that
are still not text after that (signatures, specks: ocr/noise.py) are dropped.
"""

from __future__ import annotations

import re

import numpy as np

from ocr.engine import Orientation, Recognized, TesseractEngine, Word, lines_of, words_text
from ocr.hocr import words_to_hocr
from ocr.noise import drop_noise
from ocr.syllables import is_syllable

_LETTERS = re.compile(r"[^\W\d_]+")
_MIXED = re.compile(r"[^\W\d_]\d+[^\W\d_]")  # a digit inside a word: "Ngu0i"
_VOWELS = set("aăâeêioôơuưy")
_UNMARKED_CAPITALS = re.compile(r"[A-ZĐ]+")
_ALNUM = re.compile(r"[^\W_]")
# A second reading shorter than this share of the first's letters and digits lost text (the
# line under a seal: "SO: 242 Quyển số; nh ÁU" re-read as "số 22 au"), not just noise.
MIN_KEPT = 0.6


def _alnum(text: str) -> int:
    return len(_ALNUM.findall(text))


def bad_words(text: str) -> int:
    """Runs of letters that cannot be Vietnamese syllables, and words with a digit inside
    (acronyms of unmarked capitals with at most one vowel, such as UBND or XNTTHN, are not
    counted; "NGỜKỸ" is no acronym)."""
    bad = len(_MIXED.findall(text))
    for run in _LETTERS.findall(text):
        if is_syllable(run):
            continue
        if _UNMARKED_CAPITALS.fullmatch(run) and sum(ch in _VOWELS for ch in run.lower()) <= 1:
            continue
        bad += 1
    return bad


def _share_box(box: tuple[int, int, int, int], texts: list[str]) -> list[tuple[int, ...]]:
    x0, y0, x1, y1 = box
    total = sum(len(t) + 1 for t in texts) - 1
    out, x = [], float(x0)
    for t in texts:
        w = (x1 - x0) * len(t) / max(total, 1)
        out.append((round(x), y0, round(x + w), y1))
        x += w + (x1 - x0) / max(total, 1)
    return out


class RereadingEngine:
    """An ``OcrEngine``: Tesseract, then the weak lines again with a line recogniser."""

    name = "tesseract+asterocr"

    def __init__(self, tesseract: TesseractEngine, reader, *,
                 min_confidence: float = 90.0) -> None:
        self.tesseract, self.reader, self.min_confidence = tesseract, reader, min_confidence

    @property
    def version(self) -> str:
        return f"{self.tesseract.version} + {self.reader.version}"

    def _crop(self, image: np.ndarray, box) -> np.ndarray:
        x0, y0, x1, y1 = box
        h = y1 - y0
        py, px = int(0.3 * h), int(0.5 * h)
        return image[max(0, y0 - py):y1 + py, max(0, x0 - px):x1 + px]

    def _reread(self, image: np.ndarray, line: tuple[Word, ...]) -> tuple[Word, ...]:
        first = " ".join(w.text for w in line)
        bad = bad_words(first)
        if not bad and min(w.confidence for w in line) >= self.min_confidence:
            return line
        box = (min(w.box[0] for w in line), min(w.box[1] for w in line),
               max(w.box[2] for w in line), max(w.box[3] for w in line))
        text, prob = self.reader.read(self._crop(image, box))
        texts = text.split()
        if not texts or bad_words(text) > bad or _alnum(text) < MIN_KEPT * _alnum(first):
            return line
        boxes = ([w.box for w in line] if len(texts) == len(line)
                 else _share_box(box, texts))
        conf = round(100 * prob, 1)
        return tuple(Word(t, conf, tuple(b), line[0].line, line[0].block)
                     for t, b in zip(texts, boxes, strict=True))

    def recognize(self, image: np.ndarray, *, dpi: int,
                  local_threshold: bool = False) -> Recognized:
        first = self.tesseract.recognize(image, dpi=dpi, local_threshold=local_threshold)
        if image.ndim == 3:  # crops are read grey: convert the page once, not per line
            image = image.mean(axis=2).astype(np.uint8)
        lines = lines_of(first.words)
        words = tuple(drop_noise([self._reread(image, line) for line in lines], lines))
        if words == first.words:
            return first
        h, w = image.shape[:2]
        confidence = round(float(np.mean([x.confidence for x in words])), 2) if words else 0.0
        return Recognized(words_text(words), words, confidence,
                          words_to_hocr(words, width=w, height=h, source=self.name))

    def orientation(self, image: np.ndarray, *, dpi: int) -> Orientation:
        return self.tesseract.orientation(image, dpi=dpi)

    def close(self) -> None:
        self.tesseract.close()
