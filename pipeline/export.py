"""Export a document as a searchable PDF/A-2b built from its stored page images and words
(ocr.pdf): the pages' images as stored, an invisible text layer, validated before it is
written."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from ocr.engine import Word
from ocr.pdf import PdfPage, searchable_pdf
from pipeline.errors import NotFound
from pipeline.runtime import Runtime
from storage.catalogue import DocumentRecord


@lru_cache(maxsize=1)
def creator() -> str:
    """The PDF's creator tool (XMP ``xmp:CreatorTool``, the information dictionary's
    /Creator): "sohoa 0.1.0"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"sohoa {version('sohoa')}"
    except PackageNotFoundError:
        return "sohoa"


def _pages(rt: Runtime, doc: DocumentRecord) -> Iterator[PdfPage]:
    for p in doc.pages:
        words = [Word.from_dict(w) for w in json.loads(rt.store.get(p.words_key))]
        yield PdfPage(rt.store.get(p.image_key), p.width, p.height, p.dpi, words)


def export_pdf(rt: Runtime, document_id: str, out: Path) -> int:
    """Write the document's searchable PDF/A-2b to ``out`` atomically; returns its page
    count."""
    doc = rt.catalogue.get_document(document_id)
    if doc is None or doc.status == "processing":
        raise NotFound(f"no finished document {document_id}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as f:
            n = searchable_pdf(_pages(rt, doc), f, title=doc.filename, creator=creator())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n
