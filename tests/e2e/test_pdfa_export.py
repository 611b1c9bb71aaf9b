"""Every PDF sohoa hands out is PDF/A-2b (issue 18, part 1), through the real `sohoa` command
on committed samples with real Tesseract: `sohoa export`, a citizen's copies (`sohoa
retrieve`, and the portal's stored copy), and the preservation bag (`sohoa export-dossier`).

Each file passes pikepdf's PDF/A-2b validator (ocr.pdfa.validate, the one OCRmyPDF 17 uses),
holds the stored page images unchanged (a JPEG byte for byte, a 1-bit page pixel for pixel)
at 100 % scale, carries the words read on the page with their marks, and stays small: the
stored images plus a few kilobytes."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import unicodedata
from collections import Counter

import numpy as np
import pikepdf
import pytest
from PIL import Image

from ocr import pdfa
from tests.conftest import SCANS, truth
from tests.e2e.test_cli import lines, sohoa

pytestmark = pytest.mark.slow
RECEIPT, BIRTH = "receipt-jpeg-skew-5.3.jpg", "birth-color-stamp-jpeg-skew-1.1.jpg"
FAX = "register-book-3-pages-fax-g4.tif"  # 1-bit G4 pages: stored 1-bit, written CCITT G4
CODE, APPLICANT = truth(RECEIPT)["fields"]["dossier_code"], truth(RECEIPT)["fields"]["personal_id"]
# A PDF is its stored page images plus its text layer, fonts, metadata and sRGB profile.
OVERHEAD, PER_PAGE = 8_000, 6_000


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A dossier's receipt, a colour birth certificate filed as its result, and a 3-page
    G4 register filed under it, ingested once."""
    root = tmp_path_factory.mktemp("pdfa")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in (RECEIPT, BIRTH, FAX):
        shutil.copy(SCANS / name, inbox / name)
    manifest = inbox / "manifest.csv"
    manifest.write_text("path,dossier_code,type,personal_id\n"
                        f"{RECEIPT},{CODE},dossier_receipt,\n"
                        f"{BIRTH},{CODE},birth_certificate,\n"
                        f"{FAX},{CODE},,\n", encoding="utf-8")
    home = root / "home"
    out = lines(sohoa(home, "ingest", "--json", "--manifest", str(manifest)))
    docs = {o["file"].rsplit("/", 1)[-1]: o["document_id"] for o in out
            if o.get("status") == "done" and "manifest_line" not in o}
    assert set(docs) == {RECEIPT, BIRTH, FAX}, out
    return {"home": home, "docs": docs}


def _stored(home, doc_id: str) -> list[tuple[bytes, object, list[dict]]]:
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=home))
    try:
        doc = rt.catalogue.get_document(doc_id)
        return [(rt.store.get(p.image_key), p, json.loads(rt.store.get(p.words_key)))
                for p in doc.pages]
    finally:
        rt.close()


def _assert_pdfa(path) -> None:
    result = pdfa.validate(path)
    assert result.passed, (path, result.findings)
    with pikepdf.open(path) as pdf, pdf.open_metadata() as meta:
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
        assert str(pdf.docinfo.Creator).startswith("sohoa")


def _assert_pages_as_stored(path, stored, tmp_path) -> None:
    """Each page: its stored image unchanged at 100 % scale, its words in the text layer."""
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) == len(stored)
        for page, (data, record, _words) in zip(pdf.pages, stored, strict=True):
            assert [float(v) for v in page.MediaBox] == pytest.approx(
                [0, 0, record.width * 72 / record.dpi, record.height * 72 / record.dpi])
            (image,) = page.get_images().values()
            assert (int(image.Width), int(image.Height)) == (record.width, record.height)
            if data[:2] == b"\xff\xd8":  # JPEG: the stored bytes, not re-encoded
                assert image.Filter == "/DCTDecode" and image.read_raw_bytes() == data
            else:  # a 1-bit PNG: CCITT G4, decoded by poppler to the same pixels
                assert image.Filter == "/CCITTFaxDecode"
    for n, (data, _record, words) in enumerate(stored, start=1):
        if data[:2] != b"\xff\xd8":
            prefix = tmp_path / f"p{n}"
            subprocess.run(["pdfimages", "-f", str(n), "-l", str(n), "-png", str(path),
                            str(prefix)], check=True)
            got = np.asarray(Image.open(f"{prefix}-000.png").convert("L")) > 127
            want = np.asarray(Image.open(io.BytesIO(data)).convert("L")) > 127
            assert np.array_equal(got, want)
        text = subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(path), "-"],
                              capture_output=True, text=True, check=True).stdout
        got_words = Counter(unicodedata.normalize("NFC", text).split())
        assert got_words == Counter(w["text"] for w in words if w["text"].strip())


def test_export_writes_valid_pdfa_with_the_stored_pages(archive, tmp_path):
    home, docs = archive["home"], archive["docs"]
    for name in (RECEIPT, BIRTH, FAX):
        out = tmp_path / f"{name}.pdf"
        sohoa(home, "export", docs[name], "-o", str(out))
        _assert_pdfa(out)
        stored = _stored(home, docs[name])
        _assert_pages_as_stored(out, stored, tmp_path)
        images = sum(len(data) for data, _, _ in stored)
        assert out.stat().st_size <= images + OVERHEAD + PER_PAGE * len(stored), name
    text = subprocess.run(["pdftotext", str(tmp_path / f"{RECEIPT}.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Mã hồ sơ" in unicodedata.normalize("NFC", text)  # copied with its marks
    assert CODE in text
    fax = tmp_path / f"{FAX}.pdf"
    assert re.search(r"^Pages:\s+3$", subprocess.run(["pdfinfo", str(fax)], capture_output=True,
                                                      text=True, check=True).stdout, re.M)
    # G4 pages: smaller than the stored PNGs they hold, text layer and all
    assert fax.stat().st_size < sum(len(d) for d, _, _ in _stored(home, docs[FAX]))


def test_citizen_copies_are_pdfa(archive, tmp_path):
    home = archive["home"]
    issued = lines(sohoa(home, "retrieve", "--json", CODE, APPLICANT, "-o", str(tmp_path)))
    assert issued
    for copy in issued:
        path = tmp_path / copy["file"].rsplit("/", 1)[-1]
        _assert_pdfa(path)
        ok = json.loads(sohoa(home, "verify-copy", "--json", str(path)).stdout)
        assert ok["valid"] and ok["sha256"] == copy["sha256"]


def test_the_portal_stores_pdfa_copies(archive):
    """The citizen portal's copies (api.routes.citizens.issue_copies) are the same PDF/A."""
    from api.routes.citizens import issue_copies
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=archive["home"]))
    try:
        copies = issue_copies(rt, CODE, APPLICANT, "citizen", client="127.0.0.1")
        assert copies
        for c in copies:
            _assert_pdfa(io.BytesIO(rt.store.get(f"copies/{c['verification_code']}.pdf")))
    finally:
        rt.close()


def test_the_preservation_bag_holds_pdfa(archive, tmp_path):
    home, docs = archive["home"], archive["docs"]
    bag = tmp_path / "bag"
    sohoa(home, "export-dossier", CODE, "-o", str(bag))
    pdfs = sorted(bag.glob("data/*/searchable.pdf"))
    assert {p.parent.name for p in pdfs} == set(docs.values())
    for path in pdfs:
        _assert_pdfa(path)
