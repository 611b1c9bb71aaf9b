"""No record reaches the wrong citizen (issue 15, item 3).

The attack from the issue, through a real `sohoa serve`: an archivist re-uploads an existing
marriage certificate with a manifest naming another dossier. That is only a proposal a clerk
decides; the other dossier's applicant, no party to the marriage, gets nothing. Then the rule
itself (a party of the document, or the applicant of a dossier it is a result of), the same
work for every failed look-up, and the limits per address and per code kept in the
catalogue (X-Forwarded-For believed only from a trusted proxy)."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.api.test_accounts import PASSWORD, serve, sohoa
from tests.conftest import SCANS, truth
from tests.services import free_port

pytestmark = pytest.mark.slow
MARRIAGE, RECEIPT = "marriage-jpeg-skew-minus-2.4.jpg", "receipt-jpeg-skew-5.3.jpg"
M = truth(MARRIAGE)["fields"]
HUSBAND, WIFE = M["husband_personal_id"], M["wife_personal_id"]
OWN = "000.00.01.H26-230313-0042"  # the dossier the marriage was registered under
OTHER = truth(RECEIPT)["fields"]["dossier_code"]  # another dossier, by its receipt
APPLICANT = truth(RECEIPT)["fields"]["personal_id"]  # its applicant: no party to the marriage


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The marriage certificate filed as the result of its own dossier, the other dossier's
    receipt, and an archivist, a clerk and a second clerk."""
    root = tmp_path_factory.mktemp("privacy")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in (MARRIAGE, RECEIPT):
        shutil.copy(SCANS / name, inbox / name)
    (inbox / "m.csv").write_text(f"path,dossier_code\n{MARRIAGE},{OWN}\n", encoding="utf-8")
    home = root / "home"
    sohoa(home, "ingest", "--workers", "1", str(inbox / RECEIPT), "--manifest",
          str(inbox / "m.csv"))
    for name, role in (("minh", "archivist"), ("lan", "clerk"), ("binh", "clerk")):
        sohoa(home, "user", "add", name, "--role", role, "--password-stdin",
              stdin=PASSWORD + "\n")
    return {"home": home, "root": root}


def doc_id(home) -> str:
    shown = json.loads(sohoa(home, "dossier", "--json", OWN).stdout)
    return shown["documents"][0]["document_id"]


def retrieve(client, code: str, pid: str):
    return client.post("/api/citizen/retrieve", data={"code": code, "personal_id": pid})


def test_a_reupload_naming_another_dossier_reaches_no_one_through_a_real_server(archive):
    import httpx

    home, port = archive["home"], free_port()
    with open(archive["root"] / "serve.log", "ab") as log:
        server = serve(home, port, log, SOHOA_CITIZEN_ATTEMPTS="1000")
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as web:
                csrf = web.post("/api/login", json={"username": "minh",
                                                    "password": PASSWORD}).json()["csrf"]
                manifest = f"path,dossier_code\n{MARRIAGE},{OTHER}\n".encode()
                sent = web.post("/api/uploads", headers={"X-CSRF-Token": csrf}, files=[
                    ("files", (MARRIAGE, (SCANS / MARRIAGE).read_bytes(), "image/jpeg")),
                    ("manifest", ("m.csv", manifest, "text/csv"))])
                assert sent.status_code == 202, sent.text
                deadline = time.monotonic() + 120  # stops a hung test only
                while (state := web.get(sent.json()["url"]).json())["status"] == "running" \
                        and time.monotonic() < deadline:
                    time.sleep(0.3)
                assert [f["status"] for f in state["files"]] == ["duplicate"]
                [row] = state["manifest"]
                assert row["status"] == "proposed" and row["dossier_code"] == OTHER

            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as citizen:
                assert retrieve(citizen, OTHER, APPLICANT).status_code == 404  # the attack
                page = citizen.post("/citizen", data={"code": OTHER, "personal_id": APPLICANT})
                assert page.status_code == 404 and "Không tìm thấy" in page.text
                assert retrieve(citizen, OWN, APPLICANT).status_code == 404
                for spouse in (HUSBAND, WIFE):  # the parties get it from its own dossier
                    got = retrieve(citizen, OWN, spouse)
                    assert got.status_code == 200 and got.json()[0]["result"] == f"{OWN}-KQ(1)"

            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as clerk:
                csrf = clerk.post("/api/login", json={"username": "lan",
                                                      "password": PASSWORD}).json()["csrf"]
                [p] = clerk.get("/api/proposals").json()
                assert (p["dossier_code"], p["document_id"], p["status"]) == (
                    OTHER, doc_id(home), "pending")
                assert p["filed_under"] == [f"{OWN}-KQ(1)"]  # what the clerk judges by
                other = clerk.get(f"/api/dossiers/{OTHER}").json()
                assert doc_id(home) not in {d["document_id"] for d in other["documents"]}
                assert clerk.post(f"/api/proposals/{p['id']}/reject").status_code == 403
                r = clerk.post(f"/api/proposals/{p['id']}/reject",
                               headers={"X-CSRF-Token": csrf})
                assert r.status_code == 200 and r.json()["decided_by"] == "lan"
                assert clerk.get("/api/proposals").json() == []
        finally:
            server.terminate()
            server.wait(30)
    trail = [json.loads(x) for x in sohoa(home, "audit", "--json", "--limit", "200")
             .stdout.splitlines()]
    looked_up = [e for e in trail if e["action"] == "retrieve"]
    assert {(e["target"], e["detail"]["found"]) for e in looked_up} == {
        (OTHER, False), (OWN, False), (OWN, True)}
    assert {e["channel"] for e in looked_up} == {"citizen-api", "citizen-web"}
    assert {e["detail"]["address"] for e in looked_up} == {"127.0.0.1"}
    assert ("proposal_rejected", "lan") in {(e["action"], e["actor"]) for e in trail}


def test_a_web_upload_records_the_archivist_as_the_proposer(archive, tmp_path):
    from api.app import create_app
    from pipeline.config import Settings

    app = create_app(Settings(home=archive["home"]))
    try:
        web = TestClient(app, base_url="http://127.0.0.1", client=("10.3.0.1", 5000))
        csrf = web.post("/api/login", json={"username": "minh",
                                            "password": PASSWORD}).json()["csrf"]
        code = "000.00.01.H26-230313-0777"
        sent = web.post("/api/uploads", headers={"X-CSRF-Token": csrf}, files=[
            ("files", (MARRIAGE, (SCANS / MARRIAGE).read_bytes(), "image/jpeg")),
            ("manifest", ("m.csv", f"path,dossier_code\n{MARRIAGE},{code}\n".encode(),
                          "text/csv"))])
        deadline = time.monotonic() + 120  # stops a hung test only
        while web.get(sent.json()["url"]).json()["status"] == "running" and \
                time.monotonic() < deadline:
            time.sleep(0.3)
        [p] = [p for p in app.state.rt.catalogue.proposals() if p.code == code]
        assert p.proposed_by == "minh"
    finally:
        app.state.rt.close()


def test_a_clerk_decides_a_proposal_and_every_link_names_who_made_it(archive):
    home, inbox = archive["home"], archive["root"] / "again"
    inbox.mkdir()
    shutil.copy(SCANS / MARRIAGE, inbox / MARRIAGE)
    (inbox / "m.csv").write_text(f"path,dossier_code\n{MARRIAGE},{OTHER}\n", encoding="utf-8")
    out = [json.loads(x) for x in sohoa(home, "ingest", "--json", "--manifest",
                                        str(inbox / "m.csv"), actor="minh").stdout.splitlines()]
    assert [o["status"] for o in out] == ["duplicate", "proposed"]
    [p] = [p for x in sohoa(home, "proposals", "--json").stdout.splitlines()
           if (p := json.loads(x))["dossier_code"] == OTHER]
    assert p["proposed_by"] == "minh"  # not "sohoa"
    mine = sohoa(home, "proposals", "confirm", str(p["id"]), "--by", "minh", check=False)
    assert mine.returncode == 65 and "another person" in mine.stderr
    sohoa(home, "proposals", "confirm", str(p["id"]), "--record", "--by", "lan")
    d = json.loads(sohoa(home, "dossier", "--json", OTHER).stdout)
    filed = {x["document_id"]: x for x in d["documents"]}[doc_id(home)]
    assert (filed["role"], filed["linked_by"], filed["by"]) == ("record", "clerk", "lan")
    own = json.loads(sohoa(home, "dossier", "--json", OWN).stdout)["documents"][0]
    assert (own["linked_by"], own["by"]) == ("manifest", "admin.cli")  # who ran the ingest
    # filed as a record of the other dossier: still nothing for its applicant
    assert sohoa(home, "retrieve", OTHER, APPLICANT, "-o", str(inbox / "o"),
                 check=False).returncode == 3
    assert sohoa(home, "proposals", "reject", str(p["id"]), "--by", "binh",
                 check=False).returncode == 65  # decided already


# ------------------------------------------------------------------------- the rule
def _doc(rt, doc_id: str, fields: dict, status: str = "done") -> None:
    from storage.catalogue import DocumentRecord

    rt.catalogue.start_document(DocumentRecord(
        id=doc_id, sha256=doc_id.ljust(64, "0"), filename="x.jpg", source_path="/x.jpg",
        media_type="image/jpeg", size=1, original_key="o/x", page_count=1))
    if status != "processing":
        rt.catalogue.finish_document(doc_id, type="birth_certificate", type_confidence=1.0,
                                     fields=fields, dossier_code=None, page_count=1,
                                     status=status)


def test_a_citizen_gets_what_they_are_a_party_of_or_applied_for(runtime):
    from pipeline.dossiers import granted_results
    from storage.catalogue import DossierRecord

    code, ids = OWN, {r: f"0010{n:08d}" for n, r in enumerate(
        ("subject", "father", "mother", "husband", "wife", "declarant", "applicant", "head",
         "stranger"))}
    _doc(runtime, "birth", {"personal_id": ids["subject"],
                            "father_personal_id": ids["father"],
                            "mother_personal_id": ids["mother"],
                            "declarant_personal_id": ids["declarant"]})
    _doc(runtime, "marriage", {"husband_personal_id": ids["husband"],
                               "wife_personal_id": ids["wife"],
                               "head_personal_id": ids["head"]})
    _doc(runtime, "receipt", {"personal_id": ids["stranger"]})
    _doc(runtime, "unfinished", {"personal_id": ids["subject"]}, status="processing")
    runtime.catalogue.upsert_dossier(DossierRecord(code, applicant_id=ids["applicant"]))
    for d in ("birth", "marriage", "unfinished"):
        runtime.catalogue.link(code, d, role="result", linked_by="clerk", actor="lan")
    runtime.catalogue.link(code, "receipt", role="record", linked_by="receipt", actor="minh")

    def got(pid: str, c: str = code) -> set:
        return {ln.document_id for ln in granted_results(runtime, c, pid)[1]}

    for party in ("subject", "father", "mother", "declarant"):
        assert got(ids[party]) == {"birth"}, party
    for party in ("husband", "wife"):
        assert got(ids[party]) == {"marriage"}, party
    assert got(ids["applicant"]) == {"birth", "marriage"}  # a record is never a result
    assert got(ids["head"]) == got(ids["stranger"]) == set()  # not a party; a record's
    assert got(f"{ids['subject'][:3]} {ids['subject'][3:]}") == {"birth"}  # spaces allowed
    assert got(ids["subject"][:11]) == got("") == set()
    assert got(ids["subject"], "000.00.01.H26-230313-9999") == set()
    assert got(ids["subject"], "not a code") == set()


def test_a_wrong_id_and_an_unknown_code_do_the_same_work(runtime, tmp_path):
    """Counted in SQL statements (not in time): the look-up and its audit run the same
    statements whether the code is unknown, malformed or the ID number wrong."""
    from pipeline.dossiers import retrieve
    from pipeline.errors import NotFound
    from storage.catalogue import DossierRecord

    _doc(runtime, "birth", {"personal_id": "001000000001"})
    runtime.catalogue.upsert_dossier(DossierRecord(OWN, applicant_id="001000000002"))
    runtime.catalogue.link(OWN, "birth", role="result", linked_by="clerk", actor="lan")
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0])

    def work(code: str, pid: str) -> list[str]:
        statements.clear()
        event.listen(runtime.catalogue.engine, "before_cursor_execute", count)
        try:
            with pytest.raises(NotFound):
                retrieve(runtime, code, pid, tmp_path / "out")
        finally:
            event.remove(runtime.catalogue.engine, "before_cursor_execute", count)
        return list(statements)

    wrong_id = work(OWN, "001000000009")
    unknown = work("000.00.01.H26-230313-9999", "001000000001")
    malformed = work("abc", "001000000001")
    assert wrong_id == unknown == malformed and len(wrong_id) >= 4
    assert not (tmp_path / "out").exists()


def test_citizen_limits_per_address_and_per_code_are_shared_and_not_fooled(tmp_path):
    from api.app import create_app
    from pipeline.config import Settings

    app = create_app(Settings(home=tmp_path / "home", citizen_attempts=3,
                              citizen_code_attempts=5))
    other = create_app(Settings(home=tmp_path / "home", citizen_attempts=3,
                                citizen_code_attempts=5))  # another process, one catalogue
    try:
        code = "000.00.01.H26-230313-0042"
        c = TestClient(app, client=("10.2.0.1", 5000))
        assert [retrieve(c, code, f"00100000000{i}").status_code for i in range(3)] == [404] * 3
        spoofed = TestClient(other, client=("10.2.0.1", 5000))
        r = spoofed.post("/api/citizen/retrieve", data={"code": code, "personal_id": "1"},
                         headers={"X-Forwarded-For": "203.0.113.77"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        page = spoofed.post("/citizen", data={"code": code, "personal_id": "1"})
        assert page.status_code == 429 and re.search(
            r"Vui lòng thử lại lúc \d\d:\d\d \(sau 10 phút\)", page.text)
        # the code: 3 more tries from two other addresses pass the 5 a code may have
        for n, addr in enumerate(("10.2.0.2", "10.2.0.2", "10.2.0.3")):
            got = retrieve(TestClient(app, client=(addr, 5000)), code, "001000000009")
            assert got.status_code == (404 if n < 2 else 429), n
        assert retrieve(TestClient(app, client=("10.2.0.4", 5000)),
                        "000.00.01.H26-230313-0043", "001000000009").status_code == 404
    finally:
        app.state.rt.close()
        other.state.rt.close()

    behind = create_app(Settings(home=tmp_path / "proxied", citizen_attempts=2,
                                 trusted_proxies="10.9.0.1"))
    try:  # behind a listed proxy, the forwarded address is the client's
        proxy = TestClient(behind, client=("10.9.0.1", 5000))
        codes = [proxy.post("/api/citizen/retrieve", data={"code": "x", "personal_id": "1"},
                            headers={"X-Forwarded-For": f"203.0.113.{i % 2}"}).status_code
                 for i in range(5)]
        assert codes == [404, 404, 404, 404, 429]  # two clients, two tries each
    finally:
        behind.state.rt.close()
