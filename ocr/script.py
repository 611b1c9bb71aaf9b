"""Printed or handwritten: a page, and the regions of a page, told apart from what OCR already
gave (the words, their boxes and confidences) and the ink inside each word's box.

Tesseract reads print with high confidence into syllables; it reads handwriting with low
confidence, often into strings that cannot be Vietnamese (ocr/noise.py ``plausible``). The ink
differs too: a pen's stroke is even where type has thick and thin strokes, handwriting slants
and its letters ride a wavy baseline at uneven heights, a ballpoint is lighter than print and
its pressure varies. Each word gets ``FEATURES`` from those signals; with its neighbours' on
its line and all their pairwise products (``design``), a logistic regression (weights in
``ocr/models/script.npz``, trained by bench/handwriting.py on generated pages, see
samples/handwriting.py) gives P(handwritten); neighbouring words of one label on a line become
a region. Tesseract may skip whole stretches of a page (a register's entries under
its ruled lines, at 200 dpi): the ink no word covers is cut into word-sized blobs
(``uncovered_blobs``) judged by a second model on the ink features alone, and those blobs
count with the words. The page is ``printed`` (almost no handwriting: a signature is not enough),
``handwritten`` (almost all of it) or ``mixed`` (a printed form filled in by hand).

Call with the page the words were read from (grey or colour) and those words:

    result = classify_page(page_ocr.image, page_ocr.recognized.words)
    result.script      # "printed" | "handwritten" | "mixed"
    result.regions     # (Region(box, label, score), ...), boxes in that image's pixels
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import cv2
import numpy as np

from ocr.engine import Word, lines_of
from ocr.noise import plausible

MODEL_PATH = Path(__file__).parent / "models" / "script.npz"
FEATURES = ("confidence", "plausible", "letters", "contrast", "ink_level", "stroke_width",
            "stroke_cv", "slant", "slant_gain", "height_cv", "baseline", "fill", "height")
PRINTED, HANDWRITTEN, MIXED = "printed", "handwritten", "mixed"
# A page is printed unless at least MIN_WORDS and MIN_SHARE of its words are handwritten (a
# signature read as two or three words is not handwriting to report); handwritten from
# MAX_SHARE of them.
MIN_WORDS = 5
MIN_SHARE = 0.1
MAX_SHARE = 0.7
MIN_HEIGHT = 0.35  # words lower than this share of the page's median word height are ignored
INK = slice(3, len(FEATURES))  # the features that need no OCR (an uncovered blob has them)
# Features also given against the page's median word: a page printed in light or grey ink
# (a faded carbon, a grey scan) is not handwritten for being light; what is written by hand
# on a printed form is lighter, or darker, or thicker than the print around it.
RELATIVE = ("contrast", "ink_level", "stroke_width")


@dataclass(frozen=True, slots=True)
class Region:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image's pixels
    label: str  # "printed" | "handwritten"
    score: float  # mean P(handwritten) of its words

    def to_dict(self) -> dict:
        return {"box": list(self.box), "label": self.label, "score": round(self.score, 3)}


@dataclass(frozen=True, slots=True)
class ScriptResult:
    script: str  # "printed" | "handwritten" | "mixed"
    regions: tuple[Region, ...]
    handwritten_share: float  # of the page's words and uncovered blobs (0..1)

    def to_dict(self) -> dict:
        return {"script": self.script, "handwritten_share": round(self.handwritten_share, 3),
                "regions": [r.to_dict() for r in self.regions]}


@dataclass(frozen=True, slots=True)
class ScriptModel:
    weights: np.ndarray  # one per feature
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    version: str
    ink: ScriptModel | None = None  # for the uncovered blobs: ``ink_design`` of INK features

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        if not len(features):
            return np.zeros(0)
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, weights=self.weights, bias=np.array(self.bias), mean=self.mean,
                 scale=self.scale, version=np.array(self.version),
                 features=np.array(FEATURES), relative=np.array(RELATIVE),
                 **({} if self.ink is None else {
                     "ink_weights": self.ink.weights, "ink_bias": np.array(self.ink.bias),
                     "ink_mean": self.ink.mean, "ink_scale": self.ink.scale}))


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> ScriptModel:
    with np.load(path) as data:
        relative = tuple(str(f) for f in data["relative"]) if "relative" in data else ()
        if tuple(str(f) for f in data["features"]) != FEATURES or relative != RELATIVE:
            raise ValueError(f"{path} was trained on other features: retrain with "
                             f"bench/handwriting.py --train")
        version = str(data["version"])
        ink = ScriptModel(data["ink_weights"], float(data["ink_bias"]), data["ink_mean"],
                          data["ink_scale"], version) if "ink_weights" in data else None
        return ScriptModel(data["weights"], float(data["bias"]), data["mean"], data["scale"],
                           version, ink)


def to_grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def _slant(ys: np.ndarray, xs: np.ndarray) -> tuple[float, float]:
    """The shear that makes the ink's vertical strokes most upright (the column histogram
    peakiest), and how much peakier it is than no shear."""
    yc = ys.mean()
    scores = []
    shears = np.linspace(-0.6, 0.6, 25)
    for s in shears:
        cols = np.round(xs + s * (ys - yc)).astype(np.int64)
        counts = np.bincount(cols - cols.min())
        scores.append(float((counts.astype(np.float64) ** 2).sum()))
    best = int(np.argmax(scores))
    return float(shears[best]), scores[best] / max(scores[12], 1.0)


def _components(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heights and bottoms of the letter-sized connected components."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    stats = stats[1:]
    if not len(stats):
        return np.zeros(0), np.zeros(0)
    heights = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    keep = heights >= 0.4 * heights.max()
    return heights[keep], (stats[keep, cv2.CC_STAT_TOP] + heights[keep]).astype(np.float64)


def word_features(grey: np.ndarray, word: Word, *, median_height: float) -> np.ndarray:
    """The FEATURES of one word, from its box of the grey page."""
    x0, y0, x1, y1 = word.box
    h, w = grey.shape
    crop = grey[max(0, y0 - 2):min(h, y1 + 2), max(0, x0 - 2):min(w, x1 + 2)]
    letters = sum(c.isalnum() for c in word.text)
    base = [word.confidence / 100, float(plausible(word.text)), np.log1p(letters)]
    if crop.size < 16 or crop.min() == crop.max():
        return np.array(base + [0, 0, 0, 0, 0, 1, 0, 0, 0, (y1 - y0) / median_height])
    t, ink = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    ink = ink.astype(bool)
    paper = float(np.median(crop[~ink])) if (~ink).any() else 255.0
    level = float(np.median(crop[ink])) if ink.any() else paper
    dist = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = ink & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))
    widths = 2 * dist[ridge] if ridge.any() else np.array([1.0])
    ys, xs = np.nonzero(ink)
    slant, gain = _slant(ys.astype(np.float64), xs.astype(np.float64)) if len(xs) > 8 \
        else (0.0, 1.0)
    heights, bottoms = _components(ink)
    height_cv = float(heights.std() / heights.mean()) if len(heights) > 1 else 0.0
    baseline = float(bottoms.std() / heights.mean()) if len(heights) > 1 else 0.0
    return np.array(base + [
        (paper - level) / max(paper, 1.0),  # contrast
        level / 255.0,  # ink level
        float(np.mean(widths)) / max(1, y1 - y0),  # stroke width for the letter size
        float(np.std(widths) / max(np.mean(widths), 1e-6)),  # its variation
        abs(slant), float(np.log(gain)), height_cv, baseline,
        float(ink.mean()),  # fill
        (y1 - y0) / median_height,  # height for the page
    ])


def page_features(image: np.ndarray, words) -> tuple[list[Word], np.ndarray]:
    """The words worth judging (not specks or dots) and their features."""
    grey = to_grey(image)
    words = [w for w in words if w.box[3] > w.box[1] and w.box[2] > w.box[0]]
    if not words:
        return [], np.zeros((0, len(FEATURES)))
    median = float(np.median([w.box[3] - w.box[1] for w in words]))
    kept = [w for w in words if w.box[3] - w.box[1] >= MIN_HEIGHT * median]
    feats = [word_features(grey, w, median_height=median) for w in kept]
    return kept, np.array(feats).reshape(len(kept), len(FEATURES))


def design(words: list[Word], feats: np.ndarray) -> np.ndarray:
    """The model's inputs: each word's features and its RELATIVE ones less the page's median,
    the mean of those of its neighbours on its line (the word before and after; itself when
    alone), and every pairwise product of all these (a quadratic logistic regression)."""
    cols = [FEATURES.index(f) for f in RELATIVE]
    relative = feats[:, cols] - (np.median(feats[:, cols], axis=0) if len(feats) else 0)
    feats = np.hstack([feats, relative])
    context = feats.copy()
    for i, w in enumerate(words):
        near = [j for j in (i - 1, i + 1) if 0 <= j < len(words)
                and (words[j].block, words[j].line) == (w.block, w.line)]
        if near:
            context[i] = feats[near].mean(axis=0)
    x = np.hstack([feats, context])
    rows, cols = np.triu_indices(x.shape[1])
    return np.hstack([x, x[:, rows] * x[:, cols]])


def uncovered_blobs(grey: np.ndarray, words: list[Word], *,
                    mask: bool = True) -> list[Word]:
    """The word-sized blobs of the ink no word's box covers (``mask`` False: of all the ink),
    as words without text: the ink binarised against its surroundings, ruled lines and specks
    (dots of the leaders, noise) taken out, the letters merged along the line."""
    if not words:
        return []
    mh = max(4.0, float(np.median([w.box[3] - w.box[1] for w in words])))
    ink = cv2.adaptiveThreshold(grey, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                int(2 * mh) | 1, 12)
    long = int(4 * mh)
    rules = (cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, long), np.uint8))
             | cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((long, 1), np.uint8)))
    ink = ink & (1 - rules)
    if mask:
        for w in words:
            x0, y0, x1, y1 = w.box
            ink[max(0, y0 - 3):y1 + 3, max(0, x0 - 3):x1 + 3] = 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    big = np.zeros(n, np.uint8)
    big[1:] = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= 0.3 * mh
    merged = cv2.dilate(big[labels], np.ones((max(1, int(0.2 * mh)), max(1, int(0.6 * mh))),
                                             np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(merged, connectivity=8)
    return [Word("", 0.0, (int(x), int(y), int(x + bw), int(y + bh)), -1, -1)
            for x, y, bw, bh, _ in stats[1:] if 0.5 * mh <= bh <= 3 * mh and bw >= 0.5 * mh]


def blob_features(image: np.ndarray, words: list[Word], *,
                  mask: bool = True) -> tuple[list[Word], np.ndarray]:
    """The uncovered blobs of a page and their INK features."""
    grey = to_grey(image)
    words = [w for w in words if w.box[3] > w.box[1] and w.box[2] > w.box[0]]
    blobs = uncovered_blobs(grey, words, mask=mask)
    if not blobs:
        return [], np.zeros((0, len(FEATURES[INK])))
    median = float(np.median([w.box[3] - w.box[1] for w in words]))
    return blobs, np.array([word_features(grey, b, median_height=median)[INK] for b in blobs])


def ink_design(feats: np.ndarray) -> np.ndarray:
    """The blob model's inputs: the INK features and their pairwise products."""
    rows, cols = np.triu_indices(feats.shape[1])
    return np.hstack([feats, feats[:, rows] * feats[:, cols]])


def page_label(n_hand: int, n_words: int) -> str:
    share = n_hand / n_words if n_words else 0.0
    if n_hand < MIN_WORDS or share < MIN_SHARE:
        return PRINTED
    return HANDWRITTEN if share >= MAX_SHARE else MIXED


def regions_of(words: list[Word], probabilities: np.ndarray) -> tuple[Region, ...]:
    """Runs of neighbouring words of one label on a line, as regions."""
    p_of = {id(w): float(p) for w, p in zip(words, probabilities, strict=True)}
    regions = []
    for line in lines_of(words):
        for hand, run in groupby(line, key=lambda w: p_of[id(w)] >= 0.5):
            run = list(run)
            box = (min(r.box[0] for r in run), min(r.box[1] for r in run),
                   max(r.box[2] for r in run), max(r.box[3] for r in run))
            score = float(np.mean([p_of[id(r)] for r in run]))
            regions.append(Region(box, HANDWRITTEN if hand else PRINTED, score))
    return tuple(regions)


def classify_page(image: np.ndarray, words, *, model: ScriptModel | None = None) -> ScriptResult:
    """``image``: the page the ``words`` (ocr.engine.Word, boxes in its pixels) were read
    from, grey or RGB; ``model``: default the shipped one."""
    model = model or load_model()
    kept, feats = page_features(image, words)
    probs = model.probabilities(design(kept, feats))
    regions = regions_of(kept, probs)
    if model.ink is not None:
        blobs, ink = blob_features(image, list(words))
        blob_probs = model.ink.probabilities(ink_design(ink))
        regions += tuple(Region(b.box, HANDWRITTEN, float(p))
                         for b, p in zip(blobs, blob_probs, strict=True) if p >= 0.5)
        probs = np.concatenate([probs, blob_probs])
    n_hand = int((probs >= 0.5).sum())
    share = n_hand / len(probs) if len(probs) else 0.0
    return ScriptResult(page_label(n_hand, len(probs)), regions, share)
