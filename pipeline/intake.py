"""Intake: recognise a file by its bytes, hash it, validate it, and load its pages one by one.

Every way a file can be unreadable ends in ``BadInput`` with a stable code and a message that
says what is wrong and what to do; the caller quarantines the file and goes on.
"""

from __future__ import annotations

import hashlib
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ocr.engine import Word
from pipeline.errors import BadInput

CHUNK = 1 << 20
DEFAULT_DPI = 300
A4_LONG_INCHES = 297 / 25.4

IMAGE_TYPES = {"image/jpeg", "image/png", "image/tiff", "image/bmp", "image/webp", "image/gif"}
PDF = "application/pdf"
SUPPORTED = ", ".join(["PNG", "JPEG", "TIFF", "BMP", "WebP", "PDF"])

# What some common non-scan files look like, to say what was sent instead.
_OTHER_MAGIC = [
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
]


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    sha256: str
    size: int
    media_type: str
    page_count: int
    note: str | None = None  # e.g. the extension disagreed with the content, a repair
    read_path: Path | None = None  # a repaired copy to read pages from, when there is one

    @property
    def pages_path(self) -> Path:
        return self.read_path or self.path


@dataclass(frozen=True, slots=True)
class LoadedPage:
    image: np.ndarray  # uint8, grey (H, W) or RGB (H, W, 3)
    dpi: int
    bilevel: bool  # the source was 1-bit (store losslessly)
    text_words: tuple[Word, ...] | None = None  # a PDF page's own text, boxes in image pixels


def hash_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes, or None when it is not a scan format."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if head.startswith(b"BM") and len(head) >= 26:
        return "image/bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if b"%PDF-" in head[:1024]:
        return PDF
    return None


def describe(head: bytes) -> str:
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return what
    sample = head[:512]
    if sample and all(32 <= b < 127 or b in (9, 10, 13) for b in sample):
        return "plain text"
    try:
        sample.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unrecognised binary data"


_EXTENSIONS = {
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"}, "image/png": {".png"},
    "image/tiff": {".tif", ".tiff"}, "image/bmp": {".bmp", ".dib"},
    "image/webp": {".webp"}, "image/gif": {".gif"}, PDF: {".pdf"},
}


def quick_page_count(path: Path) -> int:
    """The number of pages from the file's structure only (no decoding), for progress
    totals; 1 when it cannot tell. Never raises."""
    try:
        with open(path, "rb") as f:
            media_type = sniff(f.read(1024))
        if media_type == PDF:
            return max(1, quick_pdf_pages(path))
        if media_type in ("image/tiff", "image/gif", "image/webp"):
            Image = _pil()
            with Image.open(path) as img:
                return max(1, getattr(img, "n_frames", 1))
    except Exception:  # noqa: BLE001 - intake proper will say what is wrong
        pass
    return 1


def inspect(path: Path, *, sha256: str, size: int, max_pixels: int,
            work_dir: Path | None = None) -> Source:
    """Validate a file and count its pages; raises BadInput. A damaged PDF that qpdf can
    repair is saved repaired into ``work_dir`` and read from there."""
    if size == 0:
        raise BadInput("the file is empty (0 bytes): copy it again from the scanner or source",
                       code="empty_file")
    with open(path, "rb") as f:
        head = f.read(1024)
    media_type = sniff(head)
    if media_type is None:
        raise BadInput(f"not a scan sohoa can read: the content is {describe(head)}; "
                       f"send {SUPPORTED} files", code="unsupported_type")
    note = None
    ext = path.suffix.lower()
    if ext and ext not in _EXTENSIONS[media_type]:
        note = f"the name ends in {ext} but the content is {media_type}; read as {media_type}"
    read_path = None
    if media_type == PDF:
        pages, repair = _check_pdf(path, repaired_copy=work_dir / f"{sha256}.pdf"
                                   if work_dir else None)
        if repair:
            read_path = work_dir / f"{sha256}.pdf" if work_dir else None
            note = "; ".join(filter(None, [note, repair]))
    else:
        pages = _validate_image(path, max_pixels=max_pixels)
    return Source(path, sha256, size, media_type, pages, note, read_path)


# ------------------------------------------------------------------------------------ images

def _pil():
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


def _check_pixels(width: int, height: int, max_pixels: int, page: int) -> None:
    if width * height > max_pixels:
        raise BadInput(
            f"page {page} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels), "
            f"over the limit of {max_pixels / 1e6:.0f} megapixels (SOHOA_MAX_PIXELS): scan at "
            f"a lower resolution, or raise the limit if the file is trusted",
            code="too_many_pixels")


def _open_image(path: Path, max_pixels: int):
    Image = _pil()
    Image.MAX_IMAGE_PIXELS = None  # sohoa checks the size itself, per page, with a clear error
    try:
        return Image.open(path)
    except Exception as exc:  # PIL raises many types for bad data
        raise _image_error(exc) from exc


def _validate_image(path: Path, *, max_pixels: int) -> int:
    """Decode every frame once (cheap beside OCR) so that damage is found before any work."""
    img = _open_image(path, max_pixels)
    with img:
        try:
            count = img.n_frames if hasattr(type(img), "n_frames") else 1
            for i in range(count):
                img.seek(i)
                _check_pixels(img.width, img.height, max_pixels, i + 1)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    img.load()
        except BadInput:
            raise
        except Exception as exc:  # a frame list pointing past the end, bad data, …
            raise _image_error(exc) from exc
    return count


def _dpi(info: dict, width: int, height: int) -> int:
    dpi = info.get("dpi")
    if dpi:
        try:
            value = round(float(dpi[0]))
        except (TypeError, ValueError, IndexError):
            value = 0
        if 70 <= value <= 1200:
            return value
    # No usable resolution: assume an A4 page fills the image.
    return int(min(600, max(100, round(max(width, height) / A4_LONG_INCHES))))


def to_array(img) -> tuple[np.ndarray, bool]:
    """A PIL image as uint8 grey or RGB, alpha flattened on white, 16-bit scaled down."""
    Image = _pil()
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
    img = _open_image(path, max_pixels)
    with img:
        try:
            img.seek(index)
            _check_pixels(img.width, img.height, max_pixels, index + 1)
            dpi = _dpi(img.info, img.width, img.height)
            arr, bilevel = to_array(img)
        except BadInput:
            raise
        except Exception as exc:
            raise _image_error(exc) from exc
    return LoadedPage(arr, dpi, bilevel)


# --------------------------------------------------------------------------------------- PDF

def _open_pdf(path: Path):
    import pikepdf

    try:
        return pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise BadInput("encrypted, needs a password: ask the sender for an unencrypted copy",
                       code="encrypted_pdf") from exc
    except pikepdf.PdfError as exc:
        detail = str(exc).replace(f"{path}: ", "")
        raise BadInput(f"the PDF is damaged and could not be repaired ({detail}); export or "
                       f"scan it again", code="corrupt_pdf") from exc


def _check_pdf(path: Path, *, repaired_copy: Path | None) -> tuple[int, str | None]:
    """The page count, and a note when qpdf had to repair the file (the repaired file is
    then written to ``repaired_copy``)."""
    import pikepdf

    with _open_pdf(path) as pdf:
        try:
            count = len(pdf.pages)
        except pikepdf.PdfError as exc:
            raise BadInput(f"the PDF's page tree is damaged: {exc}", code="corrupt_pdf") from exc
        if count == 0:
            raise BadInput("the PDF has no pages", code="no_pages")
        warnings_ = [str(w).replace(f"{path}: ", "").replace(str(path), "file")
                     for w in pdf.get_warnings()]
        if not warnings_:
            return count, None
        if repaired_copy is not None:
            repaired_copy.parent.mkdir(parents=True, exist_ok=True)
            tmp = repaired_copy.with_suffix(".tmp")
            pdf.save(tmp)
            tmp.replace(repaired_copy)
    detail = "; ".join(dict.fromkeys(warnings_[:3]))
    return count, (f"the PDF was damaged and has been repaired ({detail}); {count} "
                   f"page{'s' if count != 1 else ''} recovered: check against the paper")


def quick_pdf_pages(path: Path) -> int:
    import pikepdf

    with pikepdf.open(path) as pdf:
        return len(pdf.pages)


TEXT_LAYER_DPI = 200  # born-digital pages are rendered for viewing only
MIN_TEXT_WORDS_OVER_IMAGE = 20  # fewer words over a scan: a stamp or page number, so OCR


def pdf_text_words(path: Path, index: int, *, dpi: int) -> tuple[Word, ...]:
    """The words of a PDF page's own text layer with boxes in pixels at ``dpi`` (empty when
    the page has none), from poppler's pdftotext."""
    import subprocess
    import xml.etree.ElementTree as ET

    try:
        proc = subprocess.run(["pdftotext", "-q", "-f", str(index + 1), "-l", str(index + 1),
                               "-bbox-layout", str(path), "-"], capture_output=True, timeout=120)
    except FileNotFoundError as exc:
        from pipeline.errors import DependencyMissing

        raise DependencyMissing("poppler's pdftotext is missing: `apt-get install "
                                "poppler-utils`") from exc
    if proc.returncode != 0 or not proc.stdout:
        return ()
    try:
        root = ET.fromstring(proc.stdout)
    except ET.ParseError:
        return ()
    ns = "{http://www.w3.org/1999/xhtml}"
    scale = dpi / 72.0
    words: list[Word] = []
    line_no = -1
    for block_no, block in enumerate(root.iter(f"{ns}block")):
        for line in block.iter(f"{ns}line"):
            line_no += 1
            for w in line.iter(f"{ns}word"):
                text = unicodedata.normalize("NFC", (w.text or "").strip())
                if not text:
                    continue
                box = tuple(round(float(w.get(k, 0)) * scale)
                            for k in ("xMin", "yMin", "xMax", "yMax"))
                words.append(Word(text, 100.0, box, line_no, block_no))
    return tuple(words)


def load_pdf_page(path: Path, index: int, *, max_pixels: int) -> LoadedPage:
    """A page that carries its own text (born digital, or OCR'd before) keeps that text and
    is rendered for viewing; a scanned page gives its image, taken out losslessly when the
    page is one image, else the page rasterised alone at 300 dpi."""
    import pikepdf

    with _open_pdf(path) as pdf:
        try:
            page = pdf.pages[index]
            get_images = getattr(page, "get_images", None)  # pikepdf >= 10
            has_images = bool(get_images() if get_images else page.images)
        except Exception:
            has_images = True
    words = pdf_text_words(path, index, dpi=TEXT_LAYER_DPI)
    if words and (len(words) >= MIN_TEXT_WORDS_OVER_IMAGE or not has_images):
        rendered = _rasterise(path, index, max_pixels=max_pixels, dpi=TEXT_LAYER_DPI)
        return LoadedPage(rendered.image, TEXT_LAYER_DPI, False, words)
    with _open_pdf(path) as pdf:
        try:
            page = pdf.pages[index]
            width_in = float(page.mediabox[2] - page.mediabox[0]) / 72.0
            get_images = getattr(page, "get_images", None)  # pikepdf >= 10
            images = list((get_images() if get_images else page.images).values())
            rotate = int(page.obj.get("/Rotate", 0)) % 360
            if len(images) == 1 and rotate == 0 and width_in > 0:
                pdfimage = pikepdf.PdfImage(images[0])
                _check_pixels(pdfimage.width, pdfimage.height, max_pixels, index + 1)
                arr, bilevel = to_array(pdfimage.as_pil_image())
                dpi = int(round(pdfimage.width / width_in))
                return LoadedPage(arr, max(70, min(1200, dpi)), bilevel)
        except BadInput:
            raise
        except Exception:  # an image filter PIL cannot decode, odd structure: rasterise
            pass
    return _rasterise(path, index, max_pixels=max_pixels)


RENDER_TIMEOUT = 300  # seconds for pdftoppm to render one page


def _page_pixels(path: Path, index: int, dpi: int) -> tuple[int, int]:
    """The pixel size a page renders to at ``dpi``, from its crop box, before rendering."""
    with _open_pdf(path) as pdf:
        page = pdf.pages[index]
        box = [float(v) for v in page.obj.get("/CropBox", page.mediabox)]
        unit = float(page.obj.get("/UserUnit", 1.0))
    scale = dpi / 72.0 * unit
    return round(abs(box[2] - box[0]) * scale), round(abs(box[3] - box[1]) * scale)


def _rasterise(path: Path, index: int, *, max_pixels: int, dpi: int = DEFAULT_DPI) -> LoadedPage:
    from pdf2image import convert_from_path
    from pdf2image.exceptions import PDFInfoNotInstalledError

    _check_pixels(*_page_pixels(path, index, dpi), max_pixels, index + 1)
    try:
        images = convert_from_path(str(path), dpi=dpi, first_page=index + 1,
                                   last_page=index + 1, grayscale=False,
                                   timeout=RENDER_TIMEOUT)
    except PDFInfoNotInstalledError as exc:
        from pipeline.errors import DependencyMissing

        raise DependencyMissing("poppler's pdftoppm is missing: `apt-get install "
                                "poppler-utils`") from exc
    except Exception as exc:  # pdftoppm failed on this page
        raise BadInput(f"page {index + 1} of the PDF cannot be rendered: {exc}",
                       code="corrupt_pdf") from exc
    if not images:
        raise BadInput(f"page {index + 1} of the PDF rendered to nothing", code="corrupt_pdf")
    img = images[0]
    _check_pixels(img.width, img.height, max_pixels, index + 1)
    arr, bilevel = to_array(img)
    return LoadedPage(arr, dpi, bilevel)


def load_page(path: Path, media_type: str, index: int, *, max_pixels: int) -> LoadedPage:
    if media_type == PDF:
        return load_pdf_page(path, index, max_pixels=max_pixels)
    return load_image_page(path, index, max_pixels=max_pixels)
