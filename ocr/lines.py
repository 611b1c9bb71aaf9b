"""A second recogniser for single text lines: the Vietnamese line model that PyPI `asterocr`
ships (an ONNX network, weights inside the package; nothing is fetched), run through this
wrapper rather than the package's own class, because:

- the package feeds pixels in [-1, 1] while the model was trained on [0, 1] (three times the
  errors, measured on generated line crops);
- the model's positional table stops at 256 time steps (1,024 px at height 32): a line is cut
  at word gaps into pieces of at most 512 px, which also read better;
- wide blank runs (form fields, columns) turn dust into dots: specks are dropped and the line
  is cut there too.
"""

from __future__ import annotations

import os
import unicodedata

import cv2
import numpy as np

HEIGHT = 32


class LineReaderUnavailable(Exception):
    """The second recogniser's package is not installed."""


class AsterLineReader:
    name = "asterocr"

    def __init__(self, *, max_width: int = 512, gap_factor: float = 1.5) -> None:
        try:
            import asterocr
            import onnxruntime as ort
            from asterocr.vocab import default_vocab
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise LineReaderUnavailable(f"the line recogniser needs asterocr and onnxruntime "
                                        f"({exc}): pip install asterocr onnxruntime") from exc
        path = os.path.join(os.path.dirname(asterocr.__file__), "assets", "asternet.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # a process per core
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.chars = default_vocab.chars  # index 0: the CTC blank
        self.version = f"asterocr {getattr(asterocr, '__version__', '?')}"
        self.max_width, self.gap_factor = min(max_width, 1024), gap_factor

    def _run(self, grey: np.ndarray) -> tuple[str, list[float]]:
        h, w = grey.shape
        width = (max(HEIGHT, int(w * HEIGHT / h)) + 3) // 4 * 4
        small = cv2.resize(grey, (width, HEIGHT), interpolation=cv2.INTER_AREA if h > HEIGHT
                           else cv2.INTER_LINEAR).astype(np.float32) / 255.0
        log_probs = self.session.run(None, {"images": np.repeat(small[None, None], 3, 1)})[0][:, 0]
        best, probs = log_probs.argmax(1), np.exp(log_probs.max(1))
        text, kept, prev = [], [], -1
        for i, p in zip(best, probs, strict=True):
            if i != prev and i != 0:
                text.append(self.chars[i])
                kept.append(float(p))
            prev = i
        return "".join(text).strip(), kept

    def read(self, grey: np.ndarray) -> tuple[str, float]:
        """A grey line crop (dark text on light, some margin) → (NFC text, mean character
        probability 0..1)."""
        texts, probs = [], []
        for piece in pieces(grey, self.max_width, self.gap_factor):
            text, p = self._run(piece)
            texts.append(text)
            probs += p
        text = unicodedata.normalize("NFC", " ".join(t for t in texts if t))
        return text, float(np.mean(probs)) if probs else 0.0


def _ink(grey: np.ndarray) -> np.ndarray:
    """Ink of a line crop without specks much smaller than a letter."""
    _, ink = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n <= 1:
        return ink.astype(bool)
    big = stats[1:, cv2.CC_STAT_HEIGHT].max()
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= max(6, (0.12 * big) ** 2)
    return keep[labels]


def pieces(grey: np.ndarray, max_width: int, gap_factor: float) -> list[np.ndarray]:
    """The crop cut at blank runs wider than ``gap_factor`` × the ink's height, then each
    part cut at its rightmost word gap until it fits ``max_width`` at height 32."""
    ink = _ink(grey)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if not len(cols):
        return []
    ink_h = rows[-1] - rows[0] + 1
    pad = max(2, ink_h // 3)
    spans, start = [], cols[0]
    for a, b in zip(cols[:-1], cols[1:], strict=True):
        if b - a - 1 > gap_factor * ink_h:
            spans.append((start, a + 1))
            start = b
    spans.append((start, cols[-1] + 1))
    out = []
    for a, b in spans:
        part = grey[:, max(0, a - pad):b + pad]
        out += _fit(part, ink[:, max(0, a - pad):b + pad], max_width)
    return out


def _fit(grey: np.ndarray, ink: np.ndarray, max_width: int) -> list[np.ndarray]:
    h, w = grey.shape
    limit = max(8, int(max_width * h / HEIGHT) - 8)
    blank = ~ink.any(0)
    out, start = [], 0
    while w - start > limit:
        gaps = [x for x in range(start + limit // 2, start + limit) if blank[x]]
        cut = max(gaps) if gaps else start + limit
        out.append(grey[:, start:cut])
        start = cut
    return [*out, grey[:, start:]]
