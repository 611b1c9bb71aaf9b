"""Image files as pages: decode and validate every frame before any work, and load one frame
as a uint8 array with its resolution. Used by ``pipeline.intake`` and ``pipeline.pdfpages``
(the images inside a PDF page go through the same checks).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ocr.engine import Word
from pipeline.errors import BadInput

A4_LONG_INCHES = 297 / 25.4


@dataclass(frozen=True, slots=True)
class LoadedPage:
    image: np.ndarray  # uint8, grey (H, W) or RGB (H, W, 3)
    dpi: int
    bilevel: bool  # the source was 1-bit (store losslessly)
    text_words: tuple[Word, ...] | None = None  # a PDF page's own text, boxes in image pixels
    declared_dpi: int | None = None  # what the file says (``dpi`` may be assumed), as sent
    colour_bits: int | None = None  # of the original image: 1 bilevel, 8 grey, 24 colour…
    colour_mode: str | None = None  # "bilevel" | "grey" | "palette" | "colour" (None: unknown)


def pil():
    from PIL import Image

    return Image


def _image_error(exc: Exception) -> BadInput:
    text = str(exc)
    if "truncated" in text or isinstance(exc, EOFError) or "broken data stream" in text:
        return BadInput(f"the image file ends early, its data is cut off (truncated: "
                        f"{text}); copy it again from the source or rescan",
                        code="truncated_file")
    return BadInput(f"the image data is damaged and cannot be decoded: {text}; rescan the "
                    f"page or export it again", code="corrupt_image")


MIN_SIDE = 32  # pixels: less is a thumbnail, an icon or a damaged header, not a page


def check_pixels(width: int, height: int, max_pixels: int, page: int) -> None:
    if min(width, height) < MIN_SIDE:
        raise BadInput(
            f"page {page} is only {width}×{height} pixels: too small to be a scanned page (a "
            f"thumbnail, an icon, or a damaged file?); send the full-size scan",
            code="too_small")
    if width * height > max_pixels:
        raise BadInput(
            f"page {page} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels), "
            f"over the limit of {max_pixels / 1e6:.0f} megapixels (SOHOA_MAX_PIXELS): scan at "
            f"a lower resolution, or raise the limit if the file is trusted",
            code="too_many_pixels")


def _open_image(path: Path):
    Image = pil()
    Image.MAX_IMAGE_PIXELS = None  # sohoa checks the size itself, per page, with a clear error
    try:
        return Image.open(path)
    except Exception as exc:  # PIL raises many types for bad data
        raise _image_error(exc) from exc


def validate_image(path: Path, *, max_pixels: int) -> int:
    """Decode every frame once (cheap beside OCR) so that damage is found before any work."""
    img = _open_image(path)
    with img:
        try:
            count = max(1, int(getattr(img, "n_frames", 1) or 1))  # WebP, GIF, TIFF: every frame
            for i in range(count):
                img.seek(i)
                check_pixels(img.width, img.height, max_pixels, i + 1)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    img.load()
        except BadInput:
            raise
        except Exception as exc:  # a frame list pointing past the end, bad data, …
            raise _image_error(exc) from exc
    return count


def declared_dpi(info: dict) -> int | None:
    """The resolution the file states, when it states a usable one."""
    dpi = info.get("dpi")
    if dpi:
        try:
            value = round(float(dpi[0]))
        except (TypeError, ValueError, IndexError):
            value = 0
        if 70 <= value <= 1200:
            return value
    return None


def _dpi(info: dict, width: int, height: int) -> int:
    value = declared_dpi(info)
    if value is not None:
        return value
    # No usable resolution: assume an A4 page fills the image.
    return int(min(600, max(100, round(max(width, height) / A4_LONG_INCHES))))


def depth(img) -> tuple[int | None, str | None]:
    """(bits per pixel, kind) of a PIL image as sent (ocr.resolution.colour_depth)."""
    from ocr.resolution import colour_depth

    grey_palette = False
    if img.mode in ("P", "PA"):
        pal = img.getpalette() or []
        grey_palette = all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal) - 2, 3))
    return colour_depth(img.mode, grey_palette=grey_palette)


def to_array(img) -> tuple[np.ndarray, bool]:
    """A PIL image as uint8 grey or RGB, alpha flattened on white, 16-bit scaled down."""
    Image = pil()
    bilevel = img.mode == "1"
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() or 1.0
        return (arr * (255.0 / (65535.0 if hi > 255 else 255.0))).clip(0, 255).astype(
            np.uint8), False
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        return np.clip(arr, 0, 255).astype(np.uint8), False
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba).convert("RGB")
    elif mode in ("1", "L"):
        img = img.convert("L")
    elif mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img), bilevel


def load_image_page(path: Path, index: int, *, max_pixels: int) -> LoadedPage:
    img = _open_image(path)
    with img:
        try:
            img.seek(index)
            check_pixels(img.width, img.height, max_pixels, index + 1)
            dpi = _dpi(img.info, img.width, img.height)
            bits, colour = depth(img)
            arr, bilevel = to_array(img)
        except BadInput:
            raise
        except Exception as exc:
            raise _image_error(exc) from exc
    return LoadedPage(arr, dpi, bilevel, None, declared_dpi(img.info), bits, colour)
