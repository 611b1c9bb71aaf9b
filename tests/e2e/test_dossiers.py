"""Dossiers and people through the real `sohoa` command: a batch with a manifest (good and bad
rows) and receipts, conflicts reported, a clerk's link, person records, a citizen's retrieval
(right ID, wrong ID, unknown code: the same answer for both failures), copy verification, and
the audit trail of each."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from tests.conftest import SCANS, truth
from tests.e2e.test_cli import lines, sohoa

pytestmark = pytest.mark.slow
RECEIPT, OTHER_RECEIPT = "receipt-jpeg-skew-5.3.jpg", "receipt-color-jpeg-skew-minus-0.9.jpg"
BIRTH, DEATH = "birth-1987-jpeg-skew-3.2.jpg", "death-jpeg-skew-0.6.jpg"
R = truth(RECEIPT)["fields"]
C1, APPLICANT = R["dossier_code"], R["personal_id"]
C2 = "000.00.01.H26-230313-0042"
SUBJECT = truth(BIRTH)["fields"]["personal_id"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("dossiers")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in (RECEIPT, OTHER_RECEIPT, BIRTH, DEATH):
        shutil.copy(SCANS / name, inbox / name)
    manifest = inbox / "manifest.csv"
    manifest.write_text(
        "path,dossier_code,type,personal_id\n"
        f"{RECEIPT},{C1},dossier_receipt,\n"                     # agrees with the receipt
        f"{BIRTH},{C1},birth_certificate,{SUBJECT}\n"             # a result of that dossier
        f"{DEATH},{C2},,\n"                                       # a dossier not seen before
        f"{OTHER_RECEIPT},{C2},,\n"                               # the receipt reads another
        f"{BIRTH},000.00.04.H26-191399-0313,,\n"                  # month 13: not a code
        "missing.jpg,000.00.01.H26-230313-0001,,\n"              # no such file
        f"{DEATH},{C2},,00114024948\n",                           # an 11-digit ID
        encoding="utf-8")
    home = root / "home"
    out = lines(sohoa(home, "ingest", "--json", "--manifest", str(manifest)))
    files = [o for o in out if "status" in o and "manifest_line" not in o]
    rows = {o["manifest_line"]: o for o in out if "manifest_line" in o}
    return {"home": home, "root": root, "files": files, "rows": rows,
            "docs": {o["file"].rsplit("/", 1)[-1]: o["document_id"] for o in files}}


def test_manifest_rows_are_linked_or_reported_never_dropped(batch):
    assert sorted(o["status"] for o in batch["files"]) == ["done"] * 4
    status = {n: r["status"] for n, r in batch["rows"].items()}
    assert status == {2: "linked", 3: "linked", 4: "linked", 5: "conflict", 6: "bad_row",
                      7: "bad_row", 8: "bad_row"}
    assert "not a valid dossier code" in batch["rows"][6]["message"]
    assert "no such file" in batch["rows"][7]["message"]
    assert "12-digit" in batch["rows"][8]["message"]
    assert "the receipt itself reads" in batch["rows"][5]["message"]


def test_dossiers_hold_their_records_and_numbered_results(batch):
    home, docs = batch["home"], batch["docs"]
    d1 = json.loads(sohoa(home, "dossier", "--json", C1).stdout)
    assert d1["applicant_id"] == APPLICANT and d1["procedure"] == R["procedure"]
    by_doc = {d["document_id"]: d for d in d1["documents"]}
    assert by_doc[docs[RECEIPT]]["role"] == "record"
    assert by_doc[docs[RECEIPT]]["linked_by"] == "receipt"  # read from the scan first
    assert by_doc[docs[BIRTH]]["result"] == f"{C1}-KQ(1)"
    d2 = json.loads(sohoa(home, "dossier", "--json", C2).stdout)
    assert [d["document_id"] for d in d2["documents"]] == [docs[DEATH]]
    assert docs[OTHER_RECEIPT] in {c["document_id"] for c in d2["conflicts"]}
    shown = json.loads(sohoa(home, "show", "--json", docs[OTHER_RECEIPT]).stdout)
    assert shown["status"] == "needs_review"
    assert "dossier link conflict" in shown["review_reasons"]


def test_a_clerk_links_by_hand_and_bad_codes_are_refused(batch):
    home, docs = batch["home"], batch["docs"]
    sohoa(home, "link", docs[DEATH], C1, "--result", "--by", "clerk.hoa")
    d1 = json.loads(sohoa(home, "dossier", "--json", C1).stdout)
    assert {d["document_id"]: d["result"] for d in d1["documents"]}[docs[DEATH]] == \
        f"{C1}-KQ(2)"
    bad = sohoa(home, "link", docs[DEATH], "000.00.01.H26-2303-0042", check=False)
    assert bad.returncode == 65 and "not a valid dossier code" in bad.stderr
    entries = lines(sohoa(home, "audit", "--json", "--actor", "clerk.hoa"))
    assert [(e["action"], e["target"]) for e in entries] == [("link", docs[DEATH])]


def test_people_records_gather_their_documents(batch):
    home, docs = batch["home"], batch["docs"]
    person = json.loads(sohoa(home, "person", "--json", SUBJECT).stdout)
    assert person["name"] == truth(BIRTH)["fields"]["subject_name"]
    assert [(r["document_id"], r["role"]) for r in person["records"]] == [(docs[BIRTH],
                                                                           "subject")]
    assert person["records"][0]["dossiers"] == [f"{C1}-KQ(1)"]
    assert sohoa(home, "person", "001999999999", check=False).returncode == 3


def test_citizen_retrieval_only_with_the_right_id_and_one_answer_for_every_failure(batch,
                                                                                  tmp_path):
    home = batch["home"]
    got = lines(sohoa(home, "retrieve", "--json", C1, APPLICANT, "-o", str(tmp_path / "a")))
    assert [c["result"] for c in got][0] == f"{C1}-KQ(1)"
    by_subject = lines(sohoa(home, "retrieve", "--json", C1, SUBJECT, "-o",
                             str(tmp_path / "b")))
    assert [c["result"] for c in by_subject] == [f"{C1}-KQ(1)"]  # not the death record

    wrong_id = sohoa(home, "retrieve", C1, "001088200613", "-o", str(tmp_path / "c"),
                     check=False)
    unknown = sohoa(home, "retrieve", "000.00.01.H26-230313-9999", APPLICANT, "-o",
                    str(tmp_path / "d"), check=False)
    malformed = sohoa(home, "retrieve", "abc", APPLICANT, "-o", str(tmp_path / "e"),
                      check=False)
    assert wrong_id.returncode == unknown.returncode == malformed.returncode == 3
    assert wrong_id.stdout == unknown.stdout == malformed.stdout == ""
    assert wrong_id.stderr == unknown.stderr == malformed.stderr
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()

    copy = tmp_path / "a" / got[0]["file"].rsplit("/", 1)[-1]
    ok = json.loads(sohoa(home, "verify-copy", "--json", str(copy)).stdout)
    assert ok["valid"] and ok["verification_code"] == got[0]["verification_code"]
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(copy.read_bytes() + b"\n%")
    assert sohoa(home, "verify-copy", str(forged), check=False).returncode == 1

    trail = lines(sohoa(home, "audit", "--json", "--limit", "50"))
    retrievals = [e for e in trail if e["action"] == "retrieve"]
    assert len(retrievals) == 5 and {e["channel"] for e in retrievals} == {"citizen"}
    assert sorted(len(e["detail"]["granted"]) for e in retrievals) == [0, 0, 0, 1, 2]
    issued = [e for e in trail if e["action"] == "copy_issued"]
    assert {e["detail"]["verification_code"] for e in issued} >= {got[0]["verification_code"]}
    assert all(APPLICANT not in json.dumps(e) for e in retrievals)  # the ID is hashed


def test_reads_of_records_are_audited_and_the_log_cannot_be_rewritten(batch):
    home, docs = batch["home"], batch["docs"]
    sohoa(home, "show", docs[BIRTH], env={"SOHOA_ACTOR": "clerk.lan"})
    sohoa(home, "search", "dinh hong thao", env={"SOHOA_ACTOR": "clerk.lan"})
    mine = lines(sohoa(home, "audit", "--json", "--actor", "clerk.lan"))
    assert [e["action"] for e in mine] == ["search", "document_shown"]
    assert f"{docs[BIRTH]}/1" in mine[0]["detail"]["hits"]
    db = sqlite3.connect(home / "catalogue.sqlite3")
    for sql in ("UPDATE audit SET actor = 'nobody'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    db.close()


@pytest.fixture(scope="module")
def qr_batch(tmp_path_factory):
    """Generated scans with QR codes: a birth certificate carrying a dossier's code (and not
    printed in its text), and a receipt whose QR names another dossier than its printed
    code."""
    import random

    from samples import generate

    root = tmp_path_factory.mktemp("qr")
    inbox, truth_dir = root / "inbox", root / "truth"
    deg = generate.Degradation(skew=1.8, noise=5.0)
    made = {}
    for name, doc_type, qr in (("birth-with-qr", "birth_certificate", [C2]),
                               ("receipt-other-qr", "dossier_receipt",
                                [f"https://dichvucong.gov.vn/tra-cuu?ma={C2}"])):
        rendered = generate.make_document(random.Random(name), doc_type, dpi=300,
                                          degradations=[deg], qr=qr)
        made[name] = rendered.truth
        generate.save(rendered, inbox, truth_dir, name, "jpg", jpeg_quality=80)
    home = root / "home"
    reports = lines(sohoa(home, "ingest", "--json", str(inbox)))
    assert [r["status"] for r in reports] == ["done", "done"]
    return {"home": home, "truth": made,
            "docs": {r["file"].rsplit("/", 1)[-1].split(".")[0]: r["document_id"]
                     for r in reports}}


def test_a_dossier_code_in_a_qr_code_files_the_document(qr_batch):
    home, docs = qr_batch["home"], qr_batch["docs"]
    d2 = json.loads(sohoa(home, "dossier", "--json", C2).stdout)
    assert [(d["document_id"], d["linked_by"], d["result"]) for d in d2["documents"]] == [
        (docs["birth-with-qr"], "qr", f"{C2}-KQ(1)")]
    shown = json.loads(sohoa(home, "show", "--json", docs["birth-with-qr"]).stdout)
    assert shown["dossiers"][0]["code"] == C2


def test_a_receipt_whose_qr_disagrees_with_its_printed_code_is_a_conflict(qr_batch):
    home, docs = qr_batch["home"], qr_batch["docs"]
    printed = qr_batch["truth"]["receipt-other-qr"]["fields"]["dossier_code"]
    [conflict] = lines(sohoa(home, "conflicts", "--json"))
    assert conflict["document_id"] == docs["receipt-other-qr"]
    assert sorted(conflict["codes"]) == sorted([printed, C2])
    shown = json.loads(sohoa(home, "show", "--json", docs["receipt-other-qr"]).stdout)
    assert shown["status"] == "needs_review" and shown["dossiers"] == []
    assert "dossier code conflict" in shown["review_reasons"]
