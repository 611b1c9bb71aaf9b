"""PDF/A-2b (ISO 19005-2 level B, adopted as TCVN 14159-2) through pikepdf's PDF/A support,
the code OCRmyPDF 17 uses to make and check PDF/A without Ghostscript.

``save`` finishes an open document as PDF/A-2b: it declares the XMP metadata (``pdfaid:part``
2, ``pdfaid:conformance`` B, and the title, dates, creator tool and producer, kept equal to the
document information dictionary), installs the sRGB output intent (the ICC profile pikepdf
ships), writes the file with the settings PDF/A requires (no encryption, no LZW, a trailer
/ID) and validates the bytes it wrote; a file that does not pass is never written.
``validate`` checks any file against the same rules. pikepdf's validator approves only what it
recognises as conforming (an allowlist built from the veraPDF rules), so an approval can be
trusted; something it does not know is reported as ``not_checked``, never passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, BinaryIO

from ocr.engine import EngineUnavailable

if TYPE_CHECKING:
    import pikepdf

FLAVOUR = "2b"  # PDF/A-2, conformance level B (visual appearance)


class NotPdfA(Exception):
    """A file sohoa wrote did not pass PDF/A validation: a fault in the writer, not the input;
    the message lists the rules it broke."""

    retryable = False


@dataclass(frozen=True, slots=True)
class Validation:
    flavour: str  # "2b"
    verdict: str  # "pass", "fail" (a rule is broken) or "not_checked" (something unknown)
    findings: tuple[str, ...]  # "[violation] ISO_19005_2:6.2.4.3-2 at obj 5 0 (Page): …"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def _pdfa():
    try:
        import pikepdf.pdfa as pdfa
    except ImportError as exc:
        raise EngineUnavailable("writing PDF/A needs pikepdf's PDF/A extras: "
                                f"pip install 'pikepdf[pdfa]' ({exc})") from exc
    return pdfa


def _validation(report) -> Validation:
    return Validation(report.flavour.value, report.verdict,
                      tuple(str(f) for f in report.findings))


def save(pdf: pikepdf.Pdf, out: BinaryIO) -> Validation:
    """Make ``pdf`` PDF/A-2b, write it to ``out`` (a seekable binary file at its start) and
    validate what was written; raises NotPdfA, having written nothing, if it does not pass."""
    pdfa = _pdfa()
    try:
        report = pdfa.save(pdf, out, FLAVOUR)
    except pdfa.PdfaError as exc:
        raise NotPdfA(f"the PDF did not pass PDF/A-{FLAVOUR} validation: {exc}") from exc
    return _validation(report)


def validate(source: str | PathLike[str] | BinaryIO) -> Validation:
    """Check a PDF file (a path or a seekable binary stream) against PDF/A-2b."""
    return _validation(_pdfa().validate_written(source, FLAVOUR))
