"""Handwriting for the generated samples: writers (a handwriting font, size, slant, ink, pen
pressure, a wobbling baseline), printed forms filled in by hand and register pages written by
hand, with the regions of handwriting in the ground truth.

The fonts are Google Fonts' handwriting faces with full Vietnamese glyphs (SIL Open Font
License 1.1), installed from npm (``@expo-google-fonts/*``, which carry the complete TTFs) by
``./run setup`` into ``.handwriting-fonts/``; ``SOHOA_HANDWRITING_FONTS`` names another folder
holding the same ``node_modules/@expo-google-fonts`` tree. ``HELD_OUT`` fonts are never used to
tune or train the script detector (ocr/script.py): bench/handwriting.py reports on them apart.

A writer draws each line character by character: the advance taken from the font, the
baseline following a slow random wave plus a little per-letter jitter, the whole line sheared
(the slant), turned by up to a degree or so, thickened or not (the pen), inked in blue or black
ballpoint with uneven pressure, sometimes faded.
"""

from __future__ import annotations

import math
import os
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from samples import generate as gen

ROOT = Path(__file__).resolve().parent.parent
FONT_HOME = Path(os.environ.get("SOHOA_HANDWRITING_FONTS", ROOT / ".handwriting-fonts"))
# family -> (npm package, TTF inside it, size factor: the faces' x-heights differ)
HAND_FONTS = {
    "patrick-hand": ("patrick-hand", "400Regular/PatrickHand_400Regular.ttf", 1.05),
    "itim": ("itim", "400Regular/Itim_400Regular.ttf", 0.95),
    "dancing-script": ("dancing-script", "400Regular/DancingScript_400Regular.ttf", 1.25),
    "playpen-sans": ("playpen-sans", "300Light/PlaypenSans_300Light.ttf", 0.9),
    "sriracha": ("sriracha", "400Regular/Sriracha_400Regular.ttf", 0.95),
    "shantell-sans": ("shantell-sans", "400Regular_Italic/ShantellSans_400Regular_Italic.ttf",
                      0.9),
}
NPM_VERSIONS = {"patrick-hand": "0.4.1", "itim": "0.4.1", "dancing-script": "0.4.2",
                "playpen-sans": "0.4.1", "sriracha": "0.4.1", "shantell-sans": "0.4.1"}
HELD_OUT = ("sriracha", "shantell-sans")  # never used to tune or train the detector
TRAINING = tuple(f for f in HAND_FONTS if f not in HELD_OUT)
# The glyphs a font must have: the Vietnamese letters and stacked marks the names use.
REQUIRED_GLYPHS = "ăâđêôơưĂÂĐÊÔƠƯàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
INKS = {"blue": (28, 48, 150), "black": (30, 30, 38), "violet": (70, 40, 120)}


class FontsMissing(RuntimeError):
    """The handwriting fonts are not installed: ``./run setup`` installs them."""


def font_path(family: str) -> Path:
    package, ttf, _ = HAND_FONTS[family]
    path = FONT_HOME / "node_modules" / "@expo-google-fonts" / package / ttf
    if not path.is_file():
        raise FontsMissing(f"handwriting font {family} not found at {path}: run `./run setup` "
                           f"(npm install @expo-google-fonts/{package}@{NPM_VERSIONS[family]} "
                           f"--prefix {FONT_HOME})")
    return path


def available() -> bool:
    """Whether every handwriting font is installed."""
    try:
        for family in HAND_FONTS:
            font_path(family)
    except FontsMissing:
        return False
    return True


def missing_glyphs(path: Path, text: str = REQUIRED_GLYPHS) -> str:
    """The characters of ``text`` that the font at ``path`` draws as its .notdef box."""
    font = ImageFont.truetype(str(path), 48)
    notdef = np.asarray(font.getmask("\ue000"))
    return "".join(c for c in dict.fromkeys(unicodedata.normalize("NFC", text))
                   if np.array_equal(np.asarray(font.getmask(c)), notdef))


@dataclass(frozen=True, slots=True)
class Writer:
    """One person's hand."""

    family: str
    size_pt: float  # as written, before the font's size factor
    slant: float  # horizontal shear per unit of height (0.2: about 11 degrees to the right)
    ink: str  # a key of INKS
    opacity: float  # 1.0 a fresh ballpoint, 0.45-0.7 faded
    pen: int  # extra stroke width in pixels (0, 1)
    wobble: float  # baseline wave amplitude, a fraction of the letter size
    spacing: float  # advance factor (0.95-1.1)

    def to_dict(self) -> dict:
        return {"font": self.family, "size_pt": round(self.size_pt, 1),
                "slant": round(self.slant, 3), "ink": self.ink,
                "opacity": round(self.opacity, 2), "pen": self.pen,
                "wobble": round(self.wobble, 3)}


def random_writer(rng: random.Random, families: tuple[str, ...] | list[str]) -> Writer:
    faded = rng.random() < 0.25
    return Writer(family=rng.choice(list(families)), size_pt=rng.uniform(12.5, 16.5),
                  slant=rng.uniform(-0.05, 0.35), ink=rng.choice(["blue", "blue", "black",
                                                                  "violet"]),
                  opacity=rng.uniform(0.45, 0.7) if faded else rng.uniform(0.85, 1.0),
                  pen=rng.choice([0, 0, 1]), wobble=rng.uniform(0.02, 0.08),
                  spacing=rng.uniform(0.96, 1.1))


_FONTS: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _font(family: str, px: int) -> ImageFont.FreeTypeFont:
    key = (family, px)
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(str(font_path(family)), px)
    return _FONTS[key]


def writer_font(writer: Writer, dpi: int) -> ImageFont.FreeTypeFont:
    return _font(writer.family, round(writer.size_pt * HAND_FONTS[writer.family][2] / 72 * dpi))


def text_width(writer: Writer, dpi: int, text: str) -> float:
    return writer_font(writer, dpi).getlength(unicodedata.normalize("NFC", text)) * \
        writer.spacing


def write_line(alpha: np.ndarray, x: float, baseline: float, text: str, writer: Writer,
               dpi: int, rng: random.Random) -> tuple[int, int, int, int] | None:
    """Write ``text`` by hand into ``alpha`` (float32 ink coverage 0..1, page sized) from
    ``x`` along ``baseline``; returns the box of the ink written, or None (nothing)."""
    text = unicodedata.normalize("NFC", text)
    font = writer_font(writer, dpi)
    size = font.size
    ascent, descent = font.getmetrics()
    width = int(text_width(writer, dpi, text) + 2 * size)
    height = int(ascent + descent + size)
    pad = size // 2
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    phase, period = rng.uniform(0, 2 * math.pi), rng.uniform(4, 9) * size
    amp = writer.wobble * size
    for i, ch in enumerate(text):
        if ch == " ":
            continue
        cx = pad + font.getlength(text[:i]) * writer.spacing + rng.gauss(0, 0.02 * size)
        cy = pad + amp * math.sin(phase + 2 * math.pi * cx / period) + rng.gauss(0, 0.025 * size)
        draw.text((cx, cy), ch, font=font, fill=255, stroke_width=writer.pen, stroke_fill=255)
    # Slant about the baseline, and a slight turn of the whole line.
    base = pad + ascent
    turn = math.radians(rng.gauss(0, 0.5))
    m = np.array([[1.0, -writer.slant, writer.slant * base], [0.0, 1.0, 0.0]])
    rot = cv2.getRotationMatrix2D((pad, base), math.degrees(turn), 1.0)
    m = rot @ np.vstack([m, [0, 0, 1]])
    ink = cv2.warpAffine(np.asarray(canvas, np.float32) / 255, m, (width, height),
                         flags=cv2.INTER_LINEAR, borderValue=0)
    # Pen pressure: a slow variation of the ink along the line.
    wave = np.linspace(0, rng.uniform(2, 6) * math.pi, width) + rng.uniform(0, 6)
    pressure = 0.82 + 0.18 * np.sin(wave)[None, :]
    ink = np.clip(ink * pressure * writer.opacity, 0, 1)
    x0, y0 = round(x - pad), round(baseline - base)
    return _paste(alpha, ink, x0, y0)


def _paste(alpha: np.ndarray, ink: np.ndarray, x0: int, y0: int):
    h, w = alpha.shape
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(w, x0 + ink.shape[1]), min(h, y0 + ink.shape[0])
    if dx1 <= dx0 or dy1 <= dy0:
        return None
    part = ink[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
    region = alpha[dy0:dy1, dx0:dx1]
    np.maximum(region, part, out=region)
    ys, xs = np.nonzero(part > 0.2)
    if not len(xs):
        return None
    return (int(dx0 + xs.min()), int(dy0 + ys.min()), int(dx0 + xs.max() + 1),
            int(dy0 + ys.max() + 1))


@dataclass(frozen=True, slots=True)
class HandOp:
    x: float
    baseline: float
    text: str
    line: dict  # the ground-truth line it belongs to (its box grows to hold the ink)
    key: str  # the printed label it answers, or "" for text written whole


@dataclass
class HandLayout(gen.Layout):
    """A page whose field values (``all_hand``: every line) are written by hand. Labels stay
    printed, followed by a dotted leader the value is written over."""

    writer: Writer | None = None
    all_hand: bool = False
    hand: list[HandOp] = field(default_factory=list)
    dots: list[tuple[float, float, float]] = field(default_factory=list)  # x0, x1, y

    def _advance(self, printed_size: float, spacing: float) -> float:
        """A line's height: the printed one, or more for a large hand."""
        return max(self.font(printed_size).size * spacing,
                   writer_font(self.writer, self.dpi).size * 1.45)

    def _hand_line(self, x: float, y_top: float, text: str, key: str, printed_size: float):
        """Record a handwritten value whose printed label's top is at ``y_top``."""
        font = self.font(printed_size)
        baseline = y_top + font.getmetrics()[0] + self.rng.uniform(-0.1, 0.05) * font.size
        entry = {"text": unicodedata.normalize("NFC", text), "box": None, "script": "handwritten"}
        self.hand.append(HandOp(x, baseline, text, entry, key))
        return entry

    def line(self, text: str, *, size: float = 12.5, bold: bool = False, align: str = "left",
             indent_mm: float = 0.0, spacing: float = 1.45) -> None:
        if not self.all_hand:
            return super().line(text, size=size, bold=bold, align=align, indent_mm=indent_mm,
                                spacing=spacing)
        width = text_width(self.writer, self.dpi, text)
        x = {"center": (self.left + self.right - width) / 2,
             "right": self.right - width}.get(align, self.left + self.mm(indent_mm))
        entry = self._hand_line(x + self.rng.uniform(-8, 8), self.y, text, "", size)
        self.lines.append(entry)
        self.y += self._advance(size, max(spacing, 1.5))

    def field(self, label: str, value: str, *, size: float = 12.5, indent_mm: float = 0.0,
              bold_value: bool = False) -> None:
        if self.all_hand:
            return self.line(f"{label}: {value}", size=size, indent_mm=indent_mm)
        font = self.font(size)
        x = self.left + self.mm(indent_mm)
        head = gen.nfc(f"{label}:")
        self.ops.append(((x, self.y), head, font))
        vx = x + font.getlength(head) + self.mm(2)
        first, rest = _wrap(value, self.right - vx, lambda t: text_width(self.writer,
                                                                        self.dpi, t))
        self.dots.append((vx, self.right, self.y + font.getmetrics()[0]))
        entry = {"text": f"{head} {first}".strip(), "box": _box(font, x, self.y, head)}
        self.lines.append(entry)
        if first:
            self.hand.append(HandOp(vx + self.rng.uniform(0, self.mm(3)),
                                    self.y + font.getmetrics()[0] - self.rng.uniform(0, 6),
                                    first, entry, label))
        self.y += self._advance(size, 1.7)
        if rest:
            self.dots.append((self.left + self.mm(indent_mm + 8), self.right,
                              self.y + font.getmetrics()[0]))
            entry = self._hand_line(self.left + self.mm(indent_mm + 8), self.y, rest, label, size)
            self.lines.append(entry)
            self.y += self._advance(size, 1.7)

    def fields_row(self, pairs: list[tuple[str, str]], *, size: float = 12.5) -> None:
        if self.all_hand:
            return self.line("  ".join(f"{k}: {v}" for k, v in pairs), size=size)
        font = self.font(size)
        step = (self.right - self.left) / len(pairs)
        heads = [gen.nfc(f"{label}:") for label, _ in pairs]
        if any(font.getlength(h) + self.mm(2) + text_width(self.writer, self.dpi, v)
               > step - self.mm(3) for h, (_, v) in zip(heads, pairs, strict=True)):
            for label, value in pairs:
                self.field(label, value, size=size)
            return
        entry = {"text": " ".join(f"{h} {v}" for h, (_, v) in zip(heads, pairs, strict=True)),
                 "box": None}
        for i, (head, (label, value)) in enumerate(zip(heads, pairs, strict=True)):
            x = self.left + i * step
            self.ops.append(((x, self.y), head, font))
            entry["box"] = _union(entry["box"], _box(font, x, self.y, head))
            vx = x + font.getlength(head) + self.mm(2)
            self.dots.append((vx, x + step - self.mm(3), self.y + font.getmetrics()[0]))
            self.hand.append(HandOp(vx + self.rng.uniform(0, self.mm(2)),
                                    self.y + font.getmetrics()[0] - self.rng.uniform(0, 6),
                                    value, entry, label))
        self.lines.append(entry)
        self.y += self._advance(size, 1.7)

    def write(self, img: Image.Image, rng: random.Random) -> list[dict]:
        """Print the dotted leaders and write the hand ops onto ``img`` (in place); the
        regions of handwriting, for the ground truth."""
        draw = ImageDraw.Draw(img)
        step = max(3, round(self.dpi / 50))
        for x0, x1, y in self.dots:
            for x in np.arange(x0, x1, step * 2):
                draw.ellipse([x, y + 2, x + max(1, step // 2), y + 2 + max(1, step // 2)],
                             fill=(60, 60, 60))
        alpha = np.zeros((img.height, img.width), np.float32)
        regions = []
        for op in self.hand:
            box = write_line(alpha, op.x, op.baseline, op.text, self.writer, self.dpi, rng)
            if box is None:
                continue
            op.line["box"] = list(_union(op.line["box"], box))
            regions.append({"box": list(box), "script": "handwritten",
                            "text": unicodedata.normalize("NFC", op.text),
                            **({"label": op.key} if op.key else {})})
        page = np.asarray(img, np.float32)
        ink = np.array(INKS[self.writer.ink], np.float32)
        page = page * (1 - alpha[..., None]) + ink * alpha[..., None]
        img.paste(Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)))
        return regions


def _wrap(text: str, room: float, width) -> tuple[str, str]:
    first: list[str] = []
    rest: list[str] = []
    for w in gen.nfc(text).split():
        if rest or (first and width(" ".join([*first, w])) > room):
            rest.append(w)
        else:
            first.append(w)
    return " ".join(first), " ".join(rest)


def _box(font, x: float, y: float, text: str) -> tuple[int, int, int, int]:
    left, top, right, bottom = font.getbbox(text)
    return round(x + left), round(y + top), round(x + right), round(y + bottom)


def _union(a, b):
    if a is None:
        return tuple(b)
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
