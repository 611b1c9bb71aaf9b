"""The catalogue's safeguards (migration 0007), on SQLite and on a real PostgreSQL server:
attempt counters that several processes share (sign-in and citizen throttling), the
account changes (password, disable, sessions) and link proposals waiting for a clerk."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp

import pytest

from storage.catalogue import Catalogue, DocumentRecord
from storage.catalogue.safeguards import LinkProposal
from storage.errors import StorageError

T0 = dt.datetime(2030, 5, 1, 8, 0, 0, tzinfo=dt.UTC)


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_attempts_are_counted_in_a_window_that_starts_again(catalogue_url):
    cat = Catalogue(catalogue_url)
    assert cat.attempts(["k"]) == {}
    assert [cat.count_attempt("k", window=60, now=_at(i)).count for i in range(3)] == [1, 2, 3]
    got = cat.count_attempt("k", window=60, now=_at(30))
    assert (got.count, got.window_start, got.blocked_until, got.refused) == (4, T0, None, 0)
    assert cat.count_attempt("other", window=60, now=_at(30)).count == 1  # keys are apart
    cat.block("k", _at(100))
    cat.block("k", _at(50))  # an earlier block does not shorten a later one
    assert cat.attempts(["k"])["k"].blocked_until == _at(100)
    assert [cat.count_refusal("k"), cat.count_refusal("k")] == [1, 2]
    assert cat.count_refusal("never-counted") == 0
    fresh = cat.count_attempt("k", window=60, now=_at(61))  # the window has passed
    assert (fresh.count, fresh.window_start, fresh.blocked_until, fresh.refused) == (
        1, _at(61), None, 0)
    cat.clear_attempts("k")
    assert set(cat.attempts(["k", "other"])) == {"other"}
    assert cat.purge_attempts(_at(31)) == 1  # "other" was last touched at 30 s
    assert cat.attempts(["other"]) == {}
    cat.close()


def _hammer(url: str, rounds: int) -> None:
    cat = Catalogue(url)
    for _ in range(rounds):
        cat.count_attempt("login-addr:10.0.0.1", window=3600, now=T0)
    cat.close()


def test_processes_counting_at_once_lose_no_attempt(catalogue_url):
    workers, rounds = 4, 25
    Catalogue(catalogue_url).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(catalogue_url, rounds)) for _ in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    cat = Catalogue(catalogue_url)
    assert cat.attempts(["login-addr:10.0.0.1"])["login-addr:10.0.0.1"].count == \
        workers * rounds
    cat.close()


def test_passwords_disabling_and_ending_sessions(catalogue_url):
    cat = Catalogue(catalogue_url)
    lan = cat.add_user("lan", "hash-1", "clerk")
    binh = cat.add_user("binh", "hash-2", "clerk")
    later = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    for token in ("a", "b", "c"):
        cat.add_session(token * 64, lan.id, "csrf", later)
    cat.add_session("d" * 64, binh.id, "csrf", later)
    cat.set_password(lan.id, "hash-9")
    assert cat.user("lan").password_hash == "hash-9"
    with pytest.raises(StorageError):
        cat.set_password(lan.id + binh.id + 100, "x")
    assert cat.end_sessions(lan.id, keep="a" * 64) == 2
    assert cat.session("a" * 64) is not None and cat.session("b" * 64) is None
    cat.set_disabled(lan.id, True)  # a disabled user's sessions end at once
    assert cat.user("lan").disabled and cat.session("a" * 64) is None
    cat.set_disabled(lan.id, False)
    assert not cat.user("lan").disabled and cat.session("a" * 64) is None  # still ended
    assert cat.end_sessions(binh.id) == 1 and cat.session("d" * 64) is None
    with pytest.raises(StorageError):
        cat.set_disabled(lan.id + binh.id + 100, True)
    cat.close()


def _doc(doc_id: str) -> DocumentRecord:
    return DocumentRecord(id=doc_id, sha256=doc_id * 32, filename="x.jpg",
                          source_path="/in/x.jpg", media_type="image/jpeg", size=10,
                          original_key="originals/x", page_count=1)


def test_link_proposals_wait_and_are_decided_once(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc("d1"))
    code = "000.00.01.H26-230313-0042"
    p = cat.add_proposal(LinkProposal(code, "d1", "result", "manifest", "minh", "why"))
    assert (p.status, p.proposed_by, p.decided_by) == ("pending", "minh", None)
    assert p.id is not None and p.created_at is not None
    again = cat.add_proposal(LinkProposal(code, "d1", "result", "manifest", "minh", "why"))
    assert again.id == p.id  # the same pending proposal is not repeated
    assert [x.id for x in cat.proposals()] == [p.id]
    assert cat.proposals(document_id="nope") == []
    decided = cat.decide_proposal(p.id, "rejected", "lan")
    assert (decided.status, decided.decided_by) == ("rejected", "lan")
    assert decided.decided_at is not None and decided.decided_at.tzinfo is not None
    assert cat.decide_proposal(p.id, "confirmed", "hoa") is None  # decided already
    assert cat.get_proposal(p.id).status == "rejected"
    assert cat.proposals() == [] and len(cat.proposals(status=None)) == 1
    assert cat.get_proposal(p.id + 100) is None
    newer = cat.add_proposal(LinkProposal(code, "d1", "result", "upload", "minh", "again"))
    assert newer.id != p.id  # once decided, it may be proposed anew
    with pytest.raises(StorageError):
        cat.add_proposal(LinkProposal(code, "nodoc", "result", "manifest", "minh", "x"))
    cat.close()


def test_the_citizen_view_names_the_applicant_and_each_results_parties(catalogue_url):
    from storage.catalogue import DossierRecord

    cat = Catalogue(catalogue_url)
    code = "000.00.01.H26-230313-0042"
    for doc_id in ("d1", "d2", "d3"):
        cat.start_document(_doc(doc_id))
    cat.finish_document("d1", type="marriage_certificate", type_confidence=1.0, fields={
        "husband_personal_id": "001082754781", "wife_personal_id": "001170937736",
        "husband_name": "Dương Hữu Hiếu"}, dossier_code=None, page_count=1, status="done")
    cat.finish_document("d2", type="birth_certificate", type_confidence=1.0, fields={
        "personal_id": "001306468533", "mother_personal_id": "001170937736",
        "father_personal_id": 1234}, dossier_code=None, page_count=1, status="done")
    cat.upsert_dossier(DossierRecord(code, applicant_id="001088200612"))
    cat.link(code, "d1", role="result", linked_by="clerk", actor="lan")
    cat.link(code, "d2", role="result", linked_by="manifest", actor="minh")
    cat.link(code, "d3", role="record", linked_by="manifest", actor="minh")
    applicant, results = cat.citizen_view(code)
    assert applicant == "001088200612"
    assert [(ln.document_id, ln.result_code, ln.actor, status, parties)
            for ln, status, parties in results] == [
        ("d1", f"{code}-KQ(1)", "lan", "done", {"001082754781", "001170937736"}),
        ("d2", f"{code}-KQ(2)", "minh", "done", {"001306468533", "001170937736"})]
    assert cat.citizen_view("000.00.01.H26-230313-9999") == (None, [])
    cat.close()
