"""Ingest in-process on the embedded defaults with real Tesseract: re-runs, interruptions,
and a damaged page inside a file that looks fine."""

import shutil
import zlib

import pikepdf
from pikepdf import Dictionary, Name
from PIL import Image

from pipeline.flow import document_id
from pipeline.intake import hash_file
from pipeline.local import ingest
from storage.catalogue import DocumentRecord
from tests.conftest import SCANS

SAMPLE = SCANS / "receipt-jpeg-skew-5.3.jpg"


def test_an_interrupted_document_is_redone_not_duplicated(runtime, tmp_path):
    src = tmp_path / "in" / SAMPLE.name
    src.parent.mkdir()
    shutil.copy(SAMPLE, src)
    sha, size = hash_file(src)
    # What a crash mid-document leaves: the document started, never finished.
    runtime.catalogue.start_document(DocumentRecord(
        id=document_id(sha), sha256=sha, filename=src.name, source_path=str(src),
        media_type="image/jpeg", size=size, original_key="x", page_count=1))
    reports = ingest(runtime, [src.parent], workers=1).reports
    assert [(r.status, r.document_id) for r in reports] == [("done", document_id(sha))]
    doc = runtime.catalogue.get_document(document_id(sha))
    assert doc.status == "done" and len(doc.pages) == 1 and doc.type == "dossier_receipt"
    assert len(list(runtime.catalogue.documents())) == 1
    assert runtime.index.search("giay tiep nhan").total == 1


def test_the_same_file_twice_in_one_batch_is_processed_once(runtime, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(SAMPLE, inbox / "a.jpg")
    shutil.copy(SAMPLE, inbox / "b-copy.jpg")
    reports = sorted(ingest(runtime, [inbox], workers=1).reports, key=lambda r: r.file)
    assert [r.status for r in reports] == ["done", "duplicate"]
    assert reports[0].document_id == reports[1].document_id
    assert runtime.index.count() == 1


def _pdf_with_a_huge_second_page(path):
    """Page 1: a real scan. Page 2: a 1-bit image declared 9000x9000 (81 megapixels), which
    intake does not decode, so it fails in the worker after page 1 is stored."""
    Image.open(SAMPLE).convert("L").save(path, resolution=300)
    pdf = pikepdf.open(path, allow_overwriting_input=True)
    image = pikepdf.Stream(pdf, zlib.compress(b"\xff" * (9000 // 8 * 9000)))
    image.Type, image.Subtype = Name.XObject, Name.Image
    image.Width = image.Height = 9000
    image.ColorSpace, image.BitsPerComponent = Name.DeviceGray, 1
    image.Filter = Name.FlateDecode
    page = pdf.add_blank_page(page_size=(612, 792))
    page.Resources = Dictionary(XObject=Dictionary(Im0=image))
    page.Contents = pdf.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    pdf.save(path)


def test_a_bad_page_rejects_its_file_and_leaves_nothing_behind(runtime, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(SAMPLE, inbox / "good.jpg")
    _pdf_with_a_huge_second_page(inbox / "two-pages.pdf")
    shutil.copy(inbox / "two-pages.pdf", inbox / "zz-copy-of-two-pages.pdf")
    runtime.settings.max_pixels = 50_000_000
    reports = {r.file.split("/")[-1]: r for r in ingest(runtime, [inbox], workers=1).reports}
    # the copy met while the first was still processing gets the first's final outcome
    assert reports["zz-copy-of-two-pages.pdf"].status == "rejected"
    assert reports["zz-copy-of-two-pages.pdf"].error["code"] == "too_many_pixels"
    bad = reports["two-pages.pdf"]
    assert bad.status == "rejected" and bad.error["code"] == "too_many_pixels", bad
    assert bad.error["message"].startswith("page 2")
    assert reports["good.jpg"].status == "done"
    good_id = reports["good.jpg"].document_id
    # the rejected file's record (pipeline/records.py) is kept too, for `sohoa recover`
    kept = [k for k in runtime.store.keys() if not k.startswith(("quarantine/",
                                                                   "records/rejections/"))]
    assert kept and all(good_id in k or k.startswith("originals/") for k in kept), kept
    assert len([k for k in kept if k.startswith("originals/")]) == 1
    assert any(k.endswith("two-pages.pdf") for k in runtime.store.keys("quarantine"))
    assert runtime.catalogue.get_document(document_id(bad.sha256)) is None
    assert runtime.index.count() == 1
    assert [r.code for r in runtime.catalogue.rejections()] == ["too_many_pixels"]


def test_a_file_rejected_before_and_processed_now_leaves_no_rejection(runtime, tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(SAMPLE, inbox / "reason.json.jpg")
    runtime.settings.max_pixels = 1_000_000  # too small for the scan: rejected
    first = ingest(runtime, [inbox], workers=1).reports[0]
    assert first.status == "rejected" and first.error["code"] == "too_many_pixels"
    kept = list(runtime.store.keys(f"quarantine/{first.sha256}"))
    assert f"quarantine/{first.sha256}/file/reason.json.jpg" in kept
    assert f"quarantine/{first.sha256}/reason.json" in kept
    runtime.settings.max_pixels = 150_000_000  # the limit raised by the operator
    second = ingest(runtime, [inbox], workers=1).reports[0]
    assert second.status == "done"
    assert runtime.catalogue.rejections() == []
    assert list(runtime.store.keys(f"quarantine/{first.sha256}")) == []
