"""Every format an archive sends, through the real pipeline in one batch: the same receipt
scan saved as RGBA PNG, 16-bit and CMYK TIFF, CMYK JPEG, BMP, WebP, palette PNG; PDFs that
are born digital, mixed, OCR'd before, or damaged and repairable."""

import numpy as np
import pikepdf
import pytest
from PIL import Image
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from pipeline.local import ingest
from search.folding import fold
from tests.conftest import SCANS, truth

RECEIPT = SCANS / "receipt-color-jpeg-skew-minus-0.9.jpg"
CODE = truth(RECEIPT.name)["fields"]["dossier_code"]
LINES = ["GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "Họ, chữ đệm, tên: TRẦN THỊ LỆ",
         "Số định danh cá nhân: 001190123456"]


def _born_digital(path, *, then_scan: bool) -> None:
    if "DV" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DV", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    c = canvas.Canvas(str(path))
    c.setFont("DV", 14)
    for i, line in enumerate(LINES):
        c.drawString(72, 760 - 24 * i, line)
    c.showPage()
    if then_scan:
        c.drawImage(str(RECEIPT), 0, 0, 595, 842)
        c.showPage()
    c.save()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    root = tmp_path_factory.mktemp("formats")
    inbox = root / "inbox"
    inbox.mkdir()
    rgb = Image.open(RECEIPT).convert("RGB")
    grey = rgb.convert("L")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.new("L", rgb.size, 255))
    rgba.save(inbox / "alpha.png")
    Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257).save(
        inbox / "grey16.tif", compression="tiff_lzw")
    rgb.convert("CMYK").save(inbox / "cmyk.tif", compression="tiff_lzw")
    rgb.convert("CMYK").save(inbox / "cmyk.jpg", quality=85)
    rgb.save(inbox / "scan.bmp")
    rgb.save(inbox / "scan.webp", quality=85)
    rgb.convert("P", palette=Image.ADAPTIVE, colors=64).save(inbox / "palette.png")
    _born_digital(inbox / "born-digital.pdf", then_scan=False)
    _born_digital(inbox / "mixed.pdf", then_scan=True)
    # damaged: the cross-reference offset points nowhere; qpdf rebuilds it
    data = (SCANS / "decision-3-pages-scanned-pdf.pdf").read_bytes()
    cut = data.rfind(b"startxref")
    (inbox / "damaged.pdf").write_bytes(data[:cut] + b"startxref\n999999\n%%EOF\n")
    rt = open_runtime(Settings(home=root / "home", workers=2))
    reports = {r.file.split("/")[-1]: r for r in ingest(rt, [inbox]).reports}
    yield rt, reports
    rt.close()


@pytest.mark.parametrize("name", ["alpha.png", "grey16.tif", "cmyk.tif", "cmyk.jpg",
                                  "scan.bmp", "scan.webp", "palette.png"])
def test_every_image_format_is_read(batch, name):
    rt, reports = batch
    r = reports[name]
    assert r.status == "done", r
    doc = rt.catalogue.get_document(r.document_id)
    assert doc.type == "dossier_receipt"
    assert doc.dossier_code == CODE
    assert "giay tiep nhan" in fold(doc.pages[0].text)
    assert abs(doc.pages[0].skew_angle - (-0.9)) < 0.1


def test_a_born_digital_pdf_keeps_its_text_and_is_not_ocrd(batch):
    rt, reports = batch
    doc = rt.catalogue.get_document(reports["born-digital.pdf"].document_id)
    page = doc.pages[0]
    assert page.text_source == "text_layer"
    assert page.text.splitlines()[0] == LINES[0]
    assert "TRẦN THỊ LỆ" in page.text  # exactly, marks and all
    assert doc.fields["personal_id"] == "001190123456"
    assert doc.type == "marital_status_confirmation"


def test_a_mixed_pdf_keeps_the_text_page_and_ocrs_the_scanned_one(batch):
    rt, reports = batch
    doc = rt.catalogue.get_document(reports["mixed.pdf"].document_id)
    assert [p.text_source for p in doc.pages] == ["text_layer", "ocr"]
    assert CODE in doc.pages[1].text


def test_a_damaged_pdf_is_repaired_and_says_so(batch):
    rt, reports = batch
    r = reports["damaged.pdf"]
    assert r.status == "done" and r.pages == 3
    assert "repaired" in r.note
    assert "repaired" in rt.catalogue.get_document(r.document_id).note
    assert not list((rt.settings.home / "work").iterdir())  # the repaired copy is cleaned up


def test_an_ocrd_pdf_is_reingested_from_its_own_text_layer(batch, tmp_path):
    """sohoa's own export (image + invisible text) read back: text layer kept, no OCR."""
    from pipeline.export import export_pdf

    rt, reports = batch
    out = tmp_path / "exported.pdf"
    export_pdf(rt, reports["cmyk.jpg"].document_id, out)
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 1
    again = ingest(rt, [out]).reports[0]
    doc = rt.catalogue.get_document(again.document_id)
    assert doc.pages[0].text_source == "text_layer"
    assert CODE in doc.pages[0].text.replace(" ", "")
