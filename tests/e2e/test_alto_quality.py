"""Issue 18 end to end, through the real `sohoa` command and the web application: every page
gets an ALTO 4 object that validates against the schema kept in ocr/schemas, served beside
its hOCR with the same checks and audit, made from the words for pages stored before; and a
scan under 200 dpi (Circular 05/2025/TT-BNV) is kept but flagged in the ingest report, the
catalogue, `sohoa show --json` and the document's page."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from PIL import Image

from ocr.alto import HANDWRITTEN, NS, validate
from tests.api.archive import BIRTH, CODE, RECEIPT, make_archive, signed_in
from tests.conftest import SCANS
from tests.e2e.test_cli import lines, sohoa

pytestmark = pytest.mark.slow
A = f"{{{NS}}}"
HANDWRITTEN_SCAN = "handwritten-birth-form-blue-ink.jpg"
LOW = "death-at-150-dpi.png"  # grey, the file declares 150 dpi
LOWER = "birth-colour-at-120-dpi.jpg"  # colour, 120 dpi


def _scaled(src: str, dest: Path, scale: float, dpi: int, mode: str) -> None:
    img = Image.open(SCANS / src).convert(mode)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    img.save(dest, dpi=(dpi, dpi), **({"quality": 92} if dest.suffix == ".jpg" else {}))


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The web tests' archive (a receipt and a birth certificate filed under its dossier),
    then two scans made below 200 dpi from committed samples and a handwritten form."""
    root = tmp_path_factory.mktemp("alto")
    home = make_archive(root)
    inbox = root / "low"
    inbox.mkdir()
    _scaled("death-jpeg-skew-0.6.jpg", inbox / LOW, 0.5, 150, "L")
    _scaled("birth-color-stamp-jpeg-skew-1.1.jpg", inbox / LOWER, 0.4, 120, "RGB")
    text = sohoa(home, "ingest", str(inbox / LOW))
    reports = lines(sohoa(home, "ingest", "--json", str(inbox / LOWER),
                          str(SCANS / HANDWRITTEN_SCAN)))
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=home))
    ids = {d.filename: d.id for d in rt.catalogue.documents()}
    rt.close()
    return {"home": home, "root": root, "text": text, "reports": reports, "ids": ids}


@pytest.fixture(scope="module")
def app(archive):
    from api.app import create_app
    from pipeline.config import Settings

    app = create_app(Settings(home=archive["home"]))
    yield app
    app.state.rt.close()


def _runtime(archive):
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    return open_runtime(Settings(home=archive["home"]))


# --------------------------------------------------------------------- scan quality
def test_the_ingest_report_flags_a_page_under_200_dpi_and_keeps_it(archive):
    out, err = archive["text"].stdout, archive["text"].stderr
    assert re.search(rf"✓ done\s+\S*{re.escape(LOW)} \(1 page", out)
    assert ("scan: page 1: 150 dpi (as the file declares), below the 200 dpi of Circular "
            "05/2025/TT-BNV; 8-bit grey, not 24-bit colour (acceptable if the original is "
            "black and white)") in out
    assert "scan quality (Circular 05/2025/TT-BNV): 1 page below 200 dpi, 1 grey" in err
    by_name = {Path(r["file"]).name: r for r in archive["reports"]}
    low = by_name[LOWER]
    assert low["status"] == "done"
    [page] = low["scan_quality"]
    assert (page["page"], page["flags"], page["effective_dpi"], page["dpi_source"]) == \
        (1, ["low_resolution"], 120, "declared")
    assert by_name[HANDWRITTEN_SCAN]["scan_quality"] == []  # 300 dpi colour: nothing to say


def test_the_catalogue_keeps_declared_letter_and_effective_resolution_and_depth(archive):
    rt = _runtime(archive)
    try:
        low = rt.catalogue.get_document(archive["ids"][LOW]).pages[0]
        lower = rt.catalogue.get_document(archive["ids"][LOWER]).pages[0]
        good = rt.catalogue.get_document(archive["ids"][HANDWRITTEN_SCAN]).pages[0]
    finally:
        rt.close()
    assert (low.declared_dpi, low.effective_dpi, low.dpi_source) == (150, 150, "declared")
    assert 100 <= low.content_dpi <= 200  # what the letters imply, kept beside it
    assert (low.colour_bits, low.colour_mode) == (8, "grey")
    assert low.scan_flags == ["low_resolution", "not_colour"]
    assert (lower.effective_dpi, lower.colour_bits, lower.colour_mode, lower.scan_flags) == \
        (120, 24, "colour", ["low_resolution"])
    assert (good.effective_dpi, good.scan_flags) == (300, [])


def test_show_json_gives_each_page_s_scan(archive):
    doc = lines(sohoa(archive["home"], "show", "--json", archive["ids"][LOW]))[0]
    scan = doc["pages"][0]["scan"]
    assert {k: scan[k] for k in ("declared_dpi", "effective_dpi", "dpi_source", "colour_bits",
                                 "colour_mode", "flags", "minimum_dpi")} == {
        "declared_dpi": 150, "effective_dpi": 150, "dpi_source": "declared", "colour_bits": 8,
        "colour_mode": "grey", "flags": ["low_resolution", "not_colour"], "minimum_dpi": 200}
    assert doc["pages_below_scan_standard"] == [1]
    good = lines(sohoa(archive["home"], "show", "--json", archive["ids"][HANDWRITTEN_SCAN]))[0]
    assert good["pages"][0]["scan"]["flags"] == [] and good["pages_below_scan_standard"] == []


def test_the_document_page_says_it_in_vietnamese(app, archive):
    page = signed_in(app, "lan").get(f"/documents/{archive['ids'][LOW]}").text
    note = re.search(r'<div class="notice scan-quality" id="scan-quality">.*?</div>', page,
                     re.S).group(0)
    assert "Trang 1: Ảnh quét 150 dpi, dưới mức 200 dpi của Thông tư 05/2025/TT-BNV" in note
    assert "Ảnh xám 8-bit, dưới 24-bit màu: vẫn đạt nếu bản gốc chỉ có đen trắng" in note
    good = signed_in(app, "lan").get(f"/documents/{archive['ids'][HANDWRITTEN_SCAN]}").text
    assert 'id="scan-quality"' not in good


# ----------------------------------------------------------------------------- ALTO
def _strings(xml: bytes) -> list[str]:
    return [s.get("CONTENT") for s in etree.fromstring(xml).iter(f"{A}String")]


def test_every_page_has_a_stored_alto_object_that_validates(archive):
    home = archive["home"]
    for name, doc_id in archive["ids"].items():
        folder = home / "objects" / "pages" / doc_id
        alto = (folder / "0001.alto.xml").read_bytes()
        assert validate(alto) == [], name
        words = json.loads((folder / "0001.words.json").read_text(encoding="utf-8"))
        assert _strings(alto) == [w["text"] for w in words if w["text"].strip()], name
        root = etree.fromstring(alto)
        assert root.findtext(f".//{A}sourceImageInformation/{A}fileName").startswith("0001.")
        soft = root.find(f".//{A}ocrProcessingStep/{A}processingSoftware")
        assert soft.findtext(f"{A}softwareName") == "Tesseract"
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", soft.findtext(f"{A}softwareVersion"))
    rt = _runtime(archive)
    try:
        page = rt.catalogue.get_document(archive["ids"][RECEIPT]).pages[0]
    finally:
        rt.close()
    assert page.alto_key.endswith("0001.alto.xml") and len(page.hashes["alto"]) == 64


def test_handwriting_is_tagged_unreliable_in_alto(archive):
    doc_id = archive["ids"][HANDWRITTEN_SCAN]
    alto = (archive["home"] / "objects" / "pages" / doc_id / "0001.alto.xml").read_bytes()
    root = etree.fromstring(alto)
    assert root.find(f"{A}Tags/{A}OtherTag").get("ID") == HANDWRITTEN
    assert any(s.get("TAGREFS") == HANDWRITTEN for s in root.iter(f"{A}String"))


def test_the_api_serves_alto_beside_hocr_with_the_same_checks_and_audit(app, archive):
    doc_id = archive["ids"][RECEIPT]
    lan = signed_in(app, "lan")
    r = lan.get(f"/documents/{doc_id}/pages/1/alto")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert r.content == (archive["home"] / "objects" / "pages" / doc_id /
                         "0001.alto.xml").read_bytes()
    assert validate(r.content) == []
    assert CODE in _strings(r.content)  # the receipt's dossier code, as read
    trail = signed_in(app, "hoa").get("/api/audit", params={"actor": "lan",
                                                           "limit": 50}).json()
    shown = next(e for e in trail if e["action"] == "page_text_shown")
    assert shown["target"] == doc_id and shown["detail"] == {"page": 1, "format": "alto"}
    for who in (None, "minh"):  # nobody signed in; an archivist
        c = signed_in(app, who) if who else TestClient(app, base_url="http://127.0.0.1")
        alto = c.get(f"/documents/{doc_id}/pages/1/alto", follow_redirects=False)
        hocr = c.get(f"/documents/{doc_id}/pages/1/hocr", follow_redirects=False)
        assert alto.status_code == hocr.status_code and alto.status_code in (303, 401, 403), who
    assert lan.get(f"/documents/{doc_id}/pages/9/alto").status_code == 404


def test_a_page_stored_before_alto_is_served_alto_made_from_its_words(app, archive):
    """An archive from before this change: no ALTO object, no key. The API, fixity and the
    preservation bag all still work, the bag and the API with ALTO made from the words."""
    from sqlalchemy import update

    from storage.catalogue import PageRow

    home, doc_id = archive["home"], archive["ids"][BIRTH]
    stored = home / "objects" / "pages" / doc_id / "0001.alto.xml"
    before = _strings(stored.read_bytes())
    rt = _runtime(archive)
    try:
        with rt.catalogue.engine.begin() as conn:
            conn.execute(update(PageRow).where(PageRow.document_id == doc_id)
                         .values(alto_key=None))
        hashes = dict(rt.catalogue.get_document(doc_id).pages[0].hashes)
        hashes.pop("alto")
        with rt.catalogue.engine.begin() as conn:
            conn.execute(update(PageRow).where(PageRow.document_id == doc_id)
                         .values(hashes=hashes))
    finally:
        rt.close()
    stored.unlink()
    r = signed_in(app, "lan").get(f"/documents/{doc_id}/pages/1/alto")
    assert r.status_code == 200 and validate(r.content) == []
    assert _strings(r.content) == before
    assert b"not recorded" in r.content  # the engine's version then is not made up
    assert sohoa(home, "verify", check=False).returncode == 0  # nothing reported missing
    bag = archive["root"] / "bag.zip"
    sohoa(home, "export-dossier", CODE, "-o", str(bag))
    with zipfile.ZipFile(bag) as z:
        altos = {n: z.read(n) for n in z.namelist() if n.endswith(".alto.xml")}
        meta = {n: json.loads(z.read(n)) for n in z.namelist() if n.endswith("metadata.json")}
    assert {n.split("/")[-3] for n in altos} == {doc_id, archive["ids"][RECEIPT]}
    assert all(validate(x) == [] for x in altos.values())
    made = next(x for n, x in altos.items() if f"/{doc_id}/" in n)
    assert _strings(made) == before
    for m in meta.values():
        assert m["pages"][0]["scan"]["effective_dpi"] == 300
        assert m["files"]["page 1 alto"] == "pages/0001.alto.xml"


def test_the_scan_columns_and_alto_key_round_trip_on_sqlite_and_postgresql(catalogue_url):
    """Migration 0009 on both catalogues (tests/contract has the schema comparison)."""
    from storage.catalogue import Catalogue, DocumentRecord, PageRecord

    cat = Catalogue(catalogue_url)
    try:
        cat.start_document(DocumentRecord(id="d1", sha256="a" * 64, filename="x.png",
                                          source_path="/in/x.png", media_type="image/png",
                                          size=10, original_key="originals/x", page_count=2))
        common = {"document_id": "d1", "width": 10, "height": 20, "dpi": 300, "skew_angle": 0.0,
                  "rotation": 0, "rotation_confidence": 0.0, "ocr_confidence": 90.0,
                  "text": "x", "image_key": "i", "text_key": "t", "hocr_key": "h",
                  "words_key": "w"}
        cat.save_page(PageRecord(number=1, **common, alto_key="pages/d1/0001.alto.xml",
                                 declared_dpi=150, content_dpi=170, effective_dpi=150,
                                 dpi_source="declared", colour_bits=8, colour_mode="grey",
                                 scan_flags=["low_resolution", "not_colour"]))
        cat.save_page(PageRecord(number=2, **common))  # as a page from before 0009
        one, two = cat.get_document("d1").pages
        assert (one.alto_key, one.declared_dpi, one.content_dpi, one.effective_dpi,
                one.dpi_source, one.colour_bits, one.colour_mode, one.scan_flags) == (
            "pages/d1/0001.alto.xml", 150, 170, 150, "declared", 8, "grey",
            ["low_resolution", "not_colour"])
        assert (two.alto_key, two.effective_dpi, two.scan_flags) == (None, None, [])
    finally:
        cat.close()
