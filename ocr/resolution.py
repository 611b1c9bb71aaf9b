"""A page's effective resolution from the height of its letters, how much to enlarge it, and
whether the scan meets the archive standard's resolution and colour depth.

The dpi written in a file says little about a photograph (phones write 72 whatever the
distance) or a page scanned small. The letters say more: the 60th percentile of the heights of
the ink's connected components that are letter-sized (marks and specks are smaller, lines and
tables larger) is 29-33 px on body text at 300 dpi (12-13 pt), and scales with the
resolution (7-12 px on the same pages at 60-100 dpi; bench/photos.py). Tesseract reads small
letters badly: pages whose letters are under ``SMALL`` px are enlarged to ``TARGET`` px,
at most ``MAX_FACTOR`` times (bench/photos.py, seed 5: lowres 0.97 % -> 0.38 % page CER,
photographed 18.99 % -> 14.2 %).

Scan quality at intake (``assess_scan``), after Circular 05/2025/TT-BNV: administrative papers
at 200 dpi or more (maps and drawings 300), colour as the original, 24-bit or more. A page below
is *flagged*, never rejected: an old scan is still evidence. The resolution flagged on is the
*effective* one: what the file declares (an image's dpi; a PDF's image pixels over the page's
width), when the sheet that implies is a plausible size (at most ``MAX_SHEET_INCHES`` on its
long side: a phone photo declaring 72 dpi for 4,000 pixels is a 56-inch "sheet"); else what the
letters imply (``effective_dpi``: 12-13 pt body text taken as 30 px at 300 dpi, so an estimate,
within about a third); else an A4 page filling the image. Both the declared and the letters'
figure are kept. Colour depth is the original's bits per pixel (1 bilevel, 8 grey, 24 colour);
a grey or bilevel scan is flagged softly: acceptable when the original is black and white.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

REFERENCE = 30.0  # letter height in px of 12-13 pt body text at 300 dpi
SMALL = 16.0
TARGET = 22.0
MAX_FACTOR = 3.0


def letter_height(grey: np.ndarray) -> float | None:
    """The typical letter height in pixels, or None when the page has too little text."""
    if grey.ndim == 3:
        grey = cv2.cvtColor(grey, cv2.COLOR_RGB2GRAY)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w, area = stats[1:, 3], stats[1:, 2], stats[1:, 4]
    letters = (h >= 4) & (w >= 2) & (area >= 6) & (h < grey.shape[0] / 20)
    if letters.sum() < 50:
        return None
    return float(np.percentile(h[letters], 60))


def effective_dpi(grey: np.ndarray) -> int | None:
    """The resolution the page's letters suggest (body text taken as 12-13 pt)."""
    height = letter_height(grey)
    return round(300 * height / REFERENCE) if height else None


def enlargement(height: float | None) -> float:
    """How many times to enlarge a page whose letters are ``height`` px tall (1: leave it)."""
    if not height or height >= SMALL:
        return 1.0
    return min(MAX_FACTOR, TARGET / height)


# ----------------------------------------------------------------------- scan quality
MIN_DPI = 200  # Circular 05/2025/TT-BNV: administrative papers
MIN_DPI_DRAWINGS = 300  # maps and drawings (sohoa has no such document type yet)
MIN_COLOUR_BITS = 24  # "colour as the original, 24-bit or more"
MAX_SHEET_INCHES = 50.0  # an A0 sheet is 46.8 in long: beyond, a declared dpi is not the scan's
A4_LONG_INCHES = 297 / 25.4
FLAGS = ("low_resolution", "not_colour", "low_colour_depth")


@dataclass(frozen=True, slots=True)
class ScanQuality:
    """A page's scan as sent: resolution (declared by the file, implied by its letters, and
    the effective one the minimum applies to), colour depth, and what falls short."""

    declared_dpi: int | None  # what the file says; None when it says nothing usable
    content_dpi: int | None  # what the letters' height implies; None: too little text
    effective_dpi: int | None
    dpi_source: str  # "declared" | "content" | "page_size" | "none"
    colour_bits: int | None  # bits per pixel of the original: 1, 8, 16, 24, 32
    colour_mode: str | None  # "bilevel" | "grey" | "palette" | "colour"; None: unknown
    flags: tuple[str, ...] = ()  # of FLAGS
    minimum_dpi: int = MIN_DPI

    def to_dict(self) -> dict:
        return {"declared_dpi": self.declared_dpi, "content_dpi": self.content_dpi,
                "effective_dpi": self.effective_dpi, "dpi_source": self.dpi_source,
                "colour_bits": self.colour_bits, "colour_mode": self.colour_mode,
                "flags": list(self.flags), "minimum_dpi": self.minimum_dpi}

    @classmethod
    def from_dict(cls, d: dict) -> ScanQuality:
        return cls(d.get("declared_dpi"), d.get("content_dpi"), d.get("effective_dpi"),
                   d.get("dpi_source") or "none", d.get("colour_bits"), d.get("colour_mode"),
                   tuple(d.get("flags") or ()), d.get("minimum_dpi") or MIN_DPI)


def colour_depth(mode: str, *, grey_palette: bool = False) -> tuple[int | None, str | None]:
    """(bits per pixel, kind) of an image by its PIL mode (a PDF image's too: pikepdf gives
    the same modes); alpha is not colour and is not counted."""
    if mode == "1":
        return 1, "bilevel"
    if mode in ("L", "LA", "La"):
        return 8, "grey"
    if mode.startswith("I;16"):
        return 16, "grey"
    if mode in ("I", "F"):
        return 32, "grey"
    if mode in ("P", "PA"):
        return 8, "grey" if grey_palette else "palette"
    if mode in ("RGB", "RGBA", "RGBX", "RGBa", "YCbCr", "LAB", "HSV"):
        return 24, "colour"
    if mode == "CMYK":
        return 32, "colour"
    return None, None


def assess_scan(*, declared_dpi: int | None, content_dpi: int | None,
                size: tuple[int, int], colour_bits: int | None, colour_mode: str | None,
                min_dpi: int = MIN_DPI) -> ScanQuality:
    """The page's effective resolution (see the module's notes for which) and its flags.
    ``size``: the page image as sent, (width, height) in pixels."""
    long_side = max(size)
    if declared_dpi and long_side / declared_dpi <= MAX_SHEET_INCHES:
        effective, source = declared_dpi, "declared"
    elif content_dpi:
        effective, source = content_dpi, "content"
    elif long_side:
        effective, source = round(long_side / A4_LONG_INCHES), "page_size"
    else:
        effective, source = None, "none"
    flags = []
    if effective is not None and effective < min_dpi:
        flags.append("low_resolution")
    if colour_mode in ("grey", "bilevel"):
        flags.append("not_colour")
    elif colour_mode in ("palette", "colour") and (colour_bits or 0) < MIN_COLOUR_BITS:
        flags.append("low_colour_depth")
    return ScanQuality(declared_dpi, content_dpi, effective, source, colour_bits,
                       colour_mode, tuple(flags), min_dpi)
