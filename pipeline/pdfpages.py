"""PDF files as pages: open and repair them with qpdf (pikepdf), read a page's own text layer
(poppler's pdftotext), and give a page's image, taken out losslessly when the page is one
image, else rendered by pdftoppm. Used by ``pipeline.intake``.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ocr.engine import Word
from pipeline.errors import BadInput
from pipeline.imagepages import LoadedPage, check_pixels, to_array

DEFAULT_DPI = 300


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


def check_pdf(path: Path, *, repaired_copy: Path | None) -> tuple[int, str | None]:
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
            scan = _scan_facts(page)
        except Exception:
            has_images, scan = True, (None, None, None)
    words = pdf_text_words(path, index, dpi=TEXT_LAYER_DPI)
    if words and (len(words) >= MIN_TEXT_WORDS_OVER_IMAGE or not has_images):
        rendered = _rasterise(path, index, max_pixels=max_pixels, dpi=TEXT_LAYER_DPI)
        # a scan that carries a text layer (OCR'd before) keeps its image's facts
        return LoadedPage(rendered.image, TEXT_LAYER_DPI, False, words, *scan)
    with _open_pdf(path) as pdf:
        try:
            page = pdf.pages[index]
            width_in = float(page.mediabox[2] - page.mediabox[0]) / 72.0
            get_images = getattr(page, "get_images", None)  # pikepdf >= 10
            images = list((get_images() if get_images else page.images).values())
            rotate = int(page.obj.get("/Rotate", 0)) % 360
            if len(images) == 1 and rotate == 0 and width_in > 0:
                pdfimage = pikepdf.PdfImage(images[0])
                check_pixels(pdfimage.width, pdfimage.height, max_pixels, index + 1)
                arr, bilevel = to_array(pdfimage.as_pil_image())
                dpi = int(round(pdfimage.width / width_in))
                return LoadedPage(arr, max(70, min(1200, dpi)), bilevel, None, *scan)
        except BadInput:
            raise
        except Exception:  # an image filter PIL cannot decode, odd structure: rasterise
            pass
    return _rasterise(path, index, max_pixels=max_pixels)


def _scan_facts(page) -> tuple[int | None, int | None, str | None]:
    """(resolution, bits per pixel, colour kind) of a page that is one image, upright:
    the image's pixels over the page's width at 100 % scale, from its dictionary (nothing
    decoded); (None, None, None) for any other page."""
    import pikepdf

    from ocr.resolution import colour_depth

    get_images = getattr(page, "get_images", None)  # pikepdf >= 10
    images = list((get_images() if get_images else page.images).values())
    width_in = float(page.mediabox[2] - page.mediabox[0]) / 72.0
    if len(images) != 1 or int(page.obj.get("/Rotate", 0)) % 360 or width_in <= 0:
        return None, None, None
    image = pikepdf.PdfImage(images[0])
    try:
        bits, colour = colour_depth(image.mode)
    except Exception:  # a colour space pikepdf does not map
        bits, colour = None, None
    return round(image.width / width_in), bits, colour


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

    check_pixels(*_page_pixels(path, index, dpi), max_pixels, index + 1)
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
    check_pixels(img.width, img.height, max_pixels, index + 1)
    arr, bilevel = to_array(img)
    return LoadedPage(arr, dpi, bilevel)
