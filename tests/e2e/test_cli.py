"""The real `sohoa` command on the committed samples, with real Tesseract, on the embedded
defaults: what a new user runs, checked through the JSON contract."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from search.folding import fold
from tests.conftest import BAD, SCANS, truth

pytestmark = pytest.mark.slow
SOHOA = str(Path(sys.executable).parent / "sohoa")


def sohoa(home: Path, *args: str, check: bool = True,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1", **(env or {})}
    proc = subprocess.run([SOHOA, *args], capture_output=True, text=True, env=env, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"sohoa {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def lines(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The samples copied to an inbox (scans and bad files mixed, as archives send them),
    ingested once."""
    root = tmp_path_factory.mktemp("e2e")
    inbox = root / "inbox"
    shutil.copytree(SCANS, inbox / "scans")
    shutil.copytree(BAD, inbox / "bad")
    home = root / "home"
    proc = sohoa(home, "ingest", "--json", str(inbox))
    return {"home": home, "inbox": inbox, "reports": lines(proc), "root": root}


def test_every_file_is_handled_and_reported(batch):
    by_name = {Path(r["file"]).name: r for r in batch["reports"]}
    assert set(by_name) == {p.name for p in SCANS.iterdir()} | {p.name for p in BAD.iterdir()}
    for r in batch["reports"]:
        assert set(r) >= {"file", "status", "document_id", "pages", "error"}
    for scan in SCANS.iterdir():
        r = by_name[scan.name]
        assert r["status"] == "done", r
        assert r["error"] is None and r["document_id"]
        assert r["pages"] == len(truth(scan.name)["pages"])


def test_bad_files_are_rejected_with_a_code_and_kept_in_quarantine(batch):
    by_name = {Path(r["file"]).name: r for r in batch["reports"]}
    expected = {"truncated-transfer.jpg": "truncated_file", "empty-scan.png": "empty_file",
                "minutes-saved-as.pdf": "unsupported_type"}
    for name, code in expected.items():
        r = by_name[name]
        assert r["status"] == "rejected" and r["document_id"] is None
        assert r["error"]["code"] == code and r["error"]["message"]
        kept = batch["home"] / "objects" / "quarantine" / r["sha256"] / "file" / name
        assert kept.read_bytes() == (BAD / name).read_bytes()
    listed = lines(sohoa(batch["home"], "rejections", "--json"))
    assert {Path(x["file"]).name: x["code"] for x in listed} == expected


def test_every_page_has_text_angles_and_type(batch):
    for r in batch["reports"]:
        if r["status"] != "done":
            continue
        doc = lines(sohoa(batch["home"], "show", "--json", r["document_id"]))[0]
        gt = truth(Path(r["file"]).name)
        assert set(doc) >= {"id", "sha256", "filename", "type", "type_confidence", "fields",
                            "dossier_code", "pages", "status", "field_details"}
        assert doc["type"] == gt["type"]
        assert doc["status"] in ("done", "needs_review")
        for key in ("subject_name", "date_of_birth", "personal_id", "registration_number"):
            if key in gt["fields"] and key in doc["fields"]:
                assert 0 < doc["field_details"][key]["confidence"] <= 1
        assert len(doc["pages"]) == len(gt["pages"])
        for page, page_gt in zip(doc["pages"], gt["pages"], strict=True):
            assert set(page) >= {"number", "skew_angle", "rotation", "ocr_confidence", "text"}
            assert page["script"] == page_gt.get("script", "printed")
            if page["script"] != "printed":
                continue  # what Tesseract makes of a hand is not text (tests/e2e/test_handwriting)
            assert len(page["text"]) > 0.5 * len(page_gt["text"])
            assert abs(page["skew_angle"] - page_gt["skew_angle"]) < 0.1
            assert page["rotation"] == page_gt["rotation"]


def test_names_in_the_ground_truth_are_found_without_diacritics(batch):
    """Every person named on every sample is found by the name typed without marks. The
    queries go to the same index the CLI reads (one process, not a CLI start per name); the
    CLI itself is checked on one of them."""
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=batch["home"]))
    missing, queries = [], 0
    for r in batch["reports"]:
        if r["status"] != "done":
            continue
        gt = truth(Path(r["file"]).name)
        if any(p.get("script", "printed") != "printed" for p in gt["pages"]):
            continue  # found once keyed by hand (tests/e2e/test_handwriting.py)
        for name in gt["names"]:
            query = fold(name)
            assert query.isascii()
            queries += 1
            hits = rt.index.search(query).hits  # the first page of results (10 hits)
            if r["document_id"] not in {h.document_id for h in hits}:
                missing.append((name, r["file"]))
    rt.close()
    assert queries > 30
    assert not missing, f"not found by their folded names: {missing}"
    gt = truth("birth-1987-jpeg-skew-3.2.jpg")
    found = json.loads(sohoa(batch["home"], "search", "--json", fold(gt["names"][0])).stdout)
    assert found["total"] >= 1
    first = found["hits"][0]
    assert set(first) >= {"document_id", "page", "score", "snippet", "type", "dossier_code"}
    assert first["type"] == "birth_certificate"
    assert "<mark>" in first["snippet"]


def test_dossier_codes_are_read_from_receipts(batch):
    for r in batch["reports"]:
        gt = truth(Path(r["file"]).name) if r["status"] == "done" else None
        if gt and gt["type"] == "dossier_receipt":
            doc = lines(sohoa(batch["home"], "show", "--json", r["document_id"]))[0]
            assert doc["dossier_code"] == gt["fields"]["dossier_code"]
            found = json.loads(sohoa(batch["home"], "search", "--json",
                                     gt["fields"]["dossier_code"]).stdout)
            assert found["hits"][0]["document_id"] == r["document_id"]


def test_ingesting_again_yields_duplicates_not_new_documents(batch):
    from storage.catalogue import Catalogue

    catalogue = Catalogue(f"sqlite:///{batch['home'] / 'catalogue.sqlite3'}")
    before = sorted(d.id for d in catalogue.documents())
    again = lines(sohoa(batch["home"], "ingest", "--json", str(batch["inbox"] / "scans")))
    first = {r["file"]: r["document_id"] for r in batch["reports"] if r["status"] == "done"}
    assert len(again) == len(first)
    for r in again:
        assert r["status"] == "duplicate"
        assert r["document_id"] == first[r["file"]]
    assert sorted(d.id for d in catalogue.documents()) == before
    catalogue.close()


def test_export_is_a_searchable_pdf(batch, tmp_path):
    r = next(r for r in batch["reports"] if r["file"].endswith("decision-3-pages-scanned-pdf.pdf"))
    out = tmp_path / "decision.pdf"
    sohoa(batch["home"], "export", r["document_id"], "-o", str(out))
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True,
                           check=True).stdout
    assert re.search(r"^Pages:\s+3$", pages, re.M), pages
    gt = truth("decision-3-pages-scanned-pdf.pdf")
    assert fold(gt["fields"]["subject_name"]) in fold(text)
    assert "QUYẾT ĐỊNH" in text


def test_unknown_document_exits_3_with_a_message(batch):
    proc = sohoa(batch["home"], "show", "0000000000000000", check=False)
    assert proc.returncode == 3
    assert "no document 0000000000000000" in proc.stderr


def test_search_filters_counts_and_pages_through_the_cli(batch):
    home = batch["home"]
    res = json.loads(sohoa(home, "search", "--json", "--type", "dossier_receipt", "ma ho so").stdout)
    assert res["total"] == 3 and {h["type"] for h in res["hits"]} == {"dossier_receipt"}
    assert res["facets"]["type"] == {"dossier_receipt": 3}
    everything = json.loads(sohoa(home, "search", "--json", "--limit", "100").stdout)
    every_page = sum(len(truth(p.name)["pages"]) for p in SCANS.iterdir())
    assert every_page == 22  # the 19 printed pages and the 3 handwritten ones
    assert everything["total"] == every_page  # no words: every page
    assert sum(everything["facets"]["type"].values()) == every_page
    pages, after = [], None
    for _ in range(10):  # 22 pages, 7 at a time
        args = ["search", "--json", "--sort", "date", "--limit", "7"] + (["--after", after]
                                                                        if after else [])
        res = json.loads(sohoa(home, *args).stdout)
        pages += [(h["document_id"], h["page"]) for h in res["hits"]]
        after = res["next"]
        if not after:
            break
    assert len(pages) == len(set(pages)) == every_page
    dates = [h["event_date"] for h in everything["hits"] if h["event_date"]]
    assert dates
    old = json.loads(sohoa(home, "search", "--json", "--to", "1979", "--limit", "100").stdout)
    assert all(h["event_date"] <= "1979-12-31" for h in old["hits"])
    bad = sohoa(home, "search", "--from", "someday", "x", check=False)
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_check_index_finds_a_difference_and_reindex_repairs_it(batch):
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    home = batch["home"]
    assert sohoa(home, "check-index").returncode == 0
    rt = open_runtime(Settings(home=home))
    victim = next(r["document_id"] for r in batch["reports"] if r["status"] == "done")
    removed = rt.index.delete_document(victim)
    rt.close()
    assert removed >= 1
    broken = sohoa(home, "check-index", "--json", check=False)
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert not report["consistent"]
    assert {d for d, _ in report["missing_from_index"]} == {victim}
    out = sohoa(home, "reindex")
    assert "matches the catalogue" in out.stderr
    assert sohoa(home, "check-index").returncode == 0
    gt = truth(Path(next(r["file"] for r in batch["reports"]
                         if r["document_id"] == victim)).name)
    found = json.loads(sohoa(home, "search", "--json", fold(gt["names"][0])).stdout)
    assert victim in {h["document_id"] for h in found["hits"]}
