"""The review workflow through the real `sohoa` CLI: the queue, a clerk's corrections (kept,
audited, searchable, never overwritten by a re-run), and retraining that learns from them."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import SCANS
from tests.e2e.test_cli import lines, sohoa

pytestmark = pytest.mark.slow
RECEIPT = "receipt-jpeg-skew-5.3.jpg"
DEATH = "death-jpeg-skew-0.6.jpg"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in (RECEIPT, DEATH):
        shutil.copy(SCANS / name, inbox / name)
    home = root / "home"
    # A threshold no document reaches: everything goes to the review queue.
    reports = lines(sohoa(home, "ingest", "--json", str(inbox),
                          env={"SOHOA_TYPE_REVIEW_CONFIDENCE": "0.9999"}))
    return {"home": home, "inbox": inbox,
            "ids": {r["file"].split("/")[-1]: r["document_id"] for r in reports}}


def test_documents_below_the_threshold_wait_in_the_review_queue(home):
    queue = lines(sohoa(home["home"], "review", "--json"))
    assert {q["id"] for q in queue} == set(home["ids"].values())
    for q in queue:
        assert any("below 1.00" in r or "below 0.9999" in r or "below" in r for r in q["reasons"])
    doc = lines(sohoa(home["home"], "show", "--json", home["ids"][DEATH]))[0]
    assert doc["status"] == "needs_review" and doc["review_reasons"]
    assert doc["type"] == "death_certificate"
    assert doc["fields"]["subject_name"]
    assert doc["field_details"]["subject_name"]["box"]  # where on the page it was read


def test_a_correction_is_stored_audited_and_searchable(home):
    doc_id = home["ids"][DEATH]
    before = lines(sohoa(home["home"], "show", "--json", doc_id))[0]
    sohoa(home["home"], "correct", doc_id, "--type", "decision", "--field",
          "subject_name=Trần Thị Lệ", "--field", "date_of_birth=05/06/1931", "--by", "clerk.an")
    doc = lines(sohoa(home["home"], "show", "--json", doc_id))[0]
    assert doc["type"] == "decision" and doc["status"] == "done"
    assert doc["fields"]["subject_name"] == "Trần Thị Lệ"
    assert doc["fields"]["date_of_birth"] == "1931-06-05"
    audit = {c["field"]: c for c in doc["corrections"]}
    assert audit["type"]["old"] == "death_certificate" and audit["type"]["new"] == "decision"
    assert audit["subject_name"]["old"] == before["fields"]["subject_name"]
    assert {c["by"] for c in doc["corrections"]} == {"clerk.an"}
    assert doc_id not in {q["id"] for q in lines(sohoa(home["home"], "review", "--json"))}
    found = json.loads(sohoa(home["home"], "search", "--json", "--type", "decision",
                             "trich luc khai tu").stdout)
    assert [h["document_id"] for h in found["hits"]] == [doc_id]


def test_invalid_corrections_are_refused_with_a_reason(home):
    doc_id = home["ids"][RECEIPT]
    bad_date = sohoa(home["home"], "correct", doc_id, "--field", "date_of_birth=31/02/1990",
                     check=False)
    assert bad_date.returncode == 2 and "not a date" in bad_date.stderr
    bad_type = sohoa(home["home"], "correct", doc_id, "--type", "passport", check=False)
    assert bad_type.returncode == 2 and "unknown type" in bad_type.stderr
    bad_id = sohoa(home["home"], "correct", doc_id, "--field", "personal_id=12345", check=False)
    assert bad_id.returncode == 2 and "12-digit" in bad_id.stderr
    assert lines(sohoa(home["home"], "show", "--json", doc_id))[0]["corrections"] == []


def test_a_rerun_never_overwrites_a_correction(home):
    again = lines(sohoa(home["home"], "ingest", "--json", str(home["inbox"])))
    assert {r["status"] for r in again} == {"duplicate"}
    doc = lines(sohoa(home["home"], "show", "--json", home["ids"][DEATH]))[0]
    assert doc["type"] == "decision" and doc["fields"]["subject_name"] == "Trần Thị Lệ"


def test_retraining_learns_from_corrections_and_is_used(home, tmp_path):
    trained = sohoa(home["home"], "train", "--per-template", "5")
    assert "1 corrected" in trained.stderr
    model = home["home"] / "models" / "doctype.npz"
    assert model.is_file()
    version = trained.stderr.split("version ")[-1].strip(" )\n")
    other = tmp_path / "in"
    other.mkdir()
    shutil.copy(SCANS / "marriage-jpeg-skew-minus-2.4.jpg", other)
    report = lines(sohoa(home["home"], "ingest", "--json", str(other)))[0]
    doc = lines(sohoa(home["home"], "show", "--json", report["document_id"]))[0]
    assert doc["classified_by"].endswith(version)
    assert doc["type"] == "marriage_certificate"
