"""Page cleanup before OCR. Each step is applied only where bench/cleanup.py measured that it
lowers the error rate; the stored page image is never cleaned, only what Tesseract reads."""

from __future__ import annotations

import cv2
import numpy as np


def red_dropout(image: np.ndarray) -> np.ndarray:
    """Grey from the red channel: red seals and stamps become paper, black and blue ink stay
    (as a scanner's red dropout does). Grey input is returned unchanged."""
    if image.ndim == 2:
        return image
    return np.ascontiguousarray(image[:, :, 0])


def flatten_background(gray: np.ndarray) -> np.ndarray:
    """Divide by the page's background (a closing removes the text), so uneven light and
    paper tone become uniform white."""
    k = max(15, (min(gray.shape) // 60) | 1)
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    ks = max(5, (k // 4) | 1)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (ks, ks)))
    bg = cv2.resize(bg, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, np.maximum(bg, 1), scale=255)


def ink_level(gray: np.ndarray) -> int:
    """Grey level below which a pixel is text ink: Otsu over the dark half of the page, which
    separates black print from lighter marks (grey seals, shadows, faint stains)."""
    dark = gray[gray < 200]
    if dark.size < 100:
        return 128
    level, _ = cv2.threshold(dark.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return int(level)


def lift_light_marks(gray: np.ndarray, *, margin: int = 25) -> np.ndarray:
    """Turn everything clearly lighter than text ink to white, keeping the ink's own grey
    edges (the LSTM reads grey, so the text is not binarised)."""
    level = min(255, ink_level(gray) + margin)
    out = gray.copy()
    out[gray > level] = 255
    return out


VARIANTS = {
    "none": lambda img: img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY),
    "red-dropout": red_dropout,
    "red-dropout+flatten": lambda img: flatten_background(red_dropout(img)),
    "red-dropout+flatten+lift": lambda img: lift_light_marks(flatten_background(red_dropout(img))),
}
