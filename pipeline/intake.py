"""Intake: recognise a file by its bytes, hash it, validate it, and load its pages one by one.

Every way a file can be unreadable ends in ``BadInput`` with a stable code and a message that
says what is wrong and what to do; the caller quarantines the file and goes on. Image files
are read in ``pipeline.imagepages``, PDF files in ``pipeline.pdfpages``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import BadInput
from pipeline.imagepages import (
    A4_LONG_INCHES,
    LoadedPage,
    load_image_page,
    pil,
    to_array,
    validate_image,
)
from pipeline.pdfpages import (
    DEFAULT_DPI,
    MIN_TEXT_WORDS_OVER_IMAGE,
    RENDER_TIMEOUT,
    TEXT_LAYER_DPI,
    check_pdf,
    load_pdf_page,
    pdf_text_words,
    quick_pdf_pages,
)

# The names other code imports from here, wherever they are defined.
__all__ = [
    "A4_LONG_INCHES", "CHUNK", "DEFAULT_DPI", "IMAGE_TYPES", "MIN_TEXT_WORDS_OVER_IMAGE", "PDF",
    "RENDER_TIMEOUT", "SUPPORTED", "TEXT_LAYER_DPI", "LoadedPage", "Source", "describe",
    "hash_file", "inspect", "special_file", "load_image_page", "load_page", "load_pdf_page", "pdf_text_words",
    "quick_page_count", "quick_pdf_pages", "sniff", "to_array",
]

CHUNK = 1 << 20

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
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")
MARKUP = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


def markup(head: bytes) -> bool:
    """A web page or XML (an error page saved in place of the file, say)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith(MARKUP)


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


def special_file(path: Path) -> str | None:
    """What a path that is not a regular file is ("a named pipe (FIFO)"…), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    for test, name in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR,
                       "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return None


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
    if markup(head):  # an HTML error page that mentions "%PDF-" is no PDF
        return None
    if b"%PDF-" in head[:1024]:
        return PDF
    return None


def describe(head: bytes) -> str:
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return ("a HEIC/HEIF photo (a phone's format), which sohoa does not decode: export "
                "it as JPEG")
    if markup(head):
        return "a web page (HTML or XML), perhaps an error page saved in place of the file"
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
    totals; 1 when it cannot tell. Never raises, never opens what is not a regular file."""
    try:
        if special_file(path) or not path.is_file():
            return 1
        with open(path, "rb") as f:
            media_type = sniff(f.read(1024))
        if media_type == PDF:
            return max(1, quick_pdf_pages(path))
        if media_type in ("image/tiff", "image/gif", "image/webp"):
            Image = pil()
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
        pages, repair = check_pdf(path, repaired_copy=work_dir / f"{sha256}.pdf"
                                   if work_dir else None)
        if repair:
            read_path = work_dir / f"{sha256}.pdf" if work_dir else None
            note = "; ".join(filter(None, [note, repair]))
    else:
        pages = validate_image(path, max_pixels=max_pixels)
    return Source(path, sha256, size, media_type, pages, note, read_path)



def load_page(path: Path, media_type: str, index: int, *, max_pixels: int) -> LoadedPage:
    if media_type == PDF:
        return load_pdf_page(path, index, max_pixels=max_pixels)
    return load_image_page(path, index, max_pixels=max_pixels)
