"""The catalogue's contract, run on SQLite and on a real PostgreSQL server (tests/services.py).

Includes several processes writing at once: no lost update, no duplicate row.
"""

import dataclasses
import datetime as dt
import multiprocessing as mp

import pytest
from sqlalchemy import create_engine, inspect, null, text, update
from sqlalchemy.exc import DBAPIError

from storage.catalogue import (
    HEAD,
    AuditEntry,
    Catalogue,
    CopyRecord,
    CorrectionRecord,
    DocumentRecord,
    PageJobRow,
    PageRecord,
    PageRow,
    RejectionRecord,
    UserRow,
    migrate,
)
from storage.errors import StorageError


def _doc(doc_id="d1", sha="a" * 64):
    return DocumentRecord(id=doc_id, sha256=sha, filename="x.jpg", source_path="/in/x.jpg",
                          media_type="image/jpeg", size=10, original_key="originals/x",
                          page_count=2)


def _page(n, doc_id="d1"):
    return PageRecord(document_id=doc_id, number=n, width=10, height=20, dpi=300,
                      skew_angle=1.5, rotation=0, rotation_confidence=9.0, ocr_confidence=90,
                      text=f"trang {n}", image_key="i", text_key="t", hocr_key="h", words_key="w")


def test_document_lifecycle(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.save_page(_page(1))
    cat.save_page(_page(2))
    cat.save_page(_page(2))  # saving a page twice keeps one
    assert cat.document_by_sha("a" * 64).status == "processing"
    cat.finish_document("d1", type="birth_certificate", type_confidence=0.9,
                        fields={"personal_id": "001087012345"}, dossier_code=None, page_count=2)
    doc = cat.get_document("d1")
    assert doc.status == "done" and doc.type == "birth_certificate"
    assert [p.number for p in doc.pages] == [1, 2]
    assert doc.fields == {"personal_id": "001087012345"}
    assert [d.id for d in cat.documents(status="done")] == ["d1"]


def test_restarting_an_unfinished_document_drops_its_old_pages(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.save_page(_page(1))
    cat.start_document(_doc())  # a re-run after a crash
    assert cat.get_document("d1").pages == ()
    assert len(list(cat.documents())) == 1


def test_remove_document(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.save_page(_page(1))
    cat.remove_document("d1")
    assert cat.get_document("d1") is None


def test_a_rejected_file_is_recorded_once_and_counts_attempts(catalogue_url):
    cat = Catalogue(catalogue_url)
    rej = RejectionRecord(sha256="b" * 64, filename="bad.jpg", source_path="/in/bad.jpg",
                          code="truncated_file", message="ends early", quarantine_key="q/b")
    cat.record_rejection(rej)
    again = cat.record_rejection(rej)
    assert again.attempts == 2
    assert [r.code for r in cat.rejections()] == ["truncated_file"]


def test_page_hashes_and_meta_round_trip(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.save_page(PageRecord(**{**{f: getattr(_page(1), f) for f in PageRecord.__slots__},
                                "hashes": {"image": "c" * 64}}))
    assert cat.get_document("d1").pages[0].hashes == {"image": "c" * 64}
    assert cat.get_meta("storage_url") is None
    cat.set_meta("storage_url", "s3://a")
    cat.set_meta("storage_url", "s3://b")
    assert cat.get_meta("storage_url") == "s3://b"


def test_corrections_keep_their_order_and_values(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.add_correction(CorrectionRecord("d1", "type", "unknown", "birth_certificate", "clerk"))
    cat.add_correction(CorrectionRecord("d1", "subject_name", None, "Lê Thị Hoa", "clerk"))
    got = cat.corrections("d1")
    assert [(c.field, c.new_value) for c in got] == [("type", "birth_certificate"),
                                                     ("subject_name", "Lê Thị Hoa")]


def test_migrations_build_exactly_the_models_schema(catalogue_url):
    """The Alembic migrations and the SQLAlchemy models describe the same tables: a model
    change without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.catalogue import Base

    engine = create_engine(catalogue_url)
    assert migrate(engine) == HEAD
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_catalogue_from_before_migrations_is_stamped_and_upgraded(catalogue_url):
    from alembic import command

    from storage.catalogue import _alembic_config

    engine = create_engine(catalogue_url)
    with engine.begin() as conn:  # what an older sohoa made: 0001's tables, no version table
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO rejections VALUES ('e', 'f', 'p', 'c', 'm', 'q', 1, "
                          "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    engine.dispose()
    cat = Catalogue(catalogue_url)  # migrates on open, keeping the data
    assert [r.sha256 for r in cat.rejections()] == ["e"]
    columns = [c["name"] for c in inspect(cat.engine).get_columns("pages")]
    assert "hashes" in columns and "fields" in columns
    cat.close()


def _writer(url: str, worker: int, rounds: int) -> None:
    cat = Catalogue(url)
    rej = RejectionRecord(sha256="b" * 64, filename="bad.jpg", source_path="/in/bad.jpg",
                          code="truncated_file", message="ends early", quarantine_key="q/b")
    for i in range(rounds):
        cat.record_rejection(rej)  # the same rejected file, from every worker
        doc_id = f"doc{i:04d}"  # the same documents, from every worker
        cat.start_document(_doc(doc_id, sha=f"{i:064d}"))
        cat.save_page(_page(1, doc_id))
        cat.add_correction(CorrectionRecord(doc_id, "note", None, f"w{worker}", f"w{worker}"))
    cat.close()


def test_several_processes_writing_at_once_lose_nothing_and_duplicate_nothing(catalogue_url):
    workers, rounds = 4, 25
    Catalogue(catalogue_url).close()  # migrate once; the workers race on data, not schema
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(catalogue_url, w, rounds))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * workers
    cat = Catalogue(catalogue_url)
    assert cat.rejections()[0].attempts == workers * rounds  # no lost increment
    docs = list(cat.documents())
    assert len(docs) == rounds and len({d.sha256 for d in docs}) == rounds
    assert all(len(cat.get_document(d.id).pages) <= 1 for d in docs)
    assert len(cat.corrections()) == workers * rounds


@pytest.mark.parametrize("catalogue_url", ["postgresql"], indirect=True)
def test_migrating_from_several_processes_at_once_migrates_once(catalogue_url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(catalogue_url, w, 1)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * 4
    engine = create_engine(catalogue_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
    engine.dispose()


def test_people_are_found_by_id_or_name_and_birth_date_and_merged_only_on_request(
        catalogue_url):
    cat = Catalogue(catalogue_url)
    for i in (1, 2, 3):
        cat.start_document(_doc(f"d{i}", sha=str(i) * 64))
    with_id = cat.find_or_add_person(name="Lê Văn Tám", folded_name="le van tam",
                                     personal_id="001087012345", date_of_birth=None)
    by_birth = cat.find_or_add_person(name="Lê Văn Tám", folded_name="le van tam",
                                      personal_id=None, date_of_birth="1987-03-12")
    assert by_birth.id != with_id.id  # not merged by themselves
    again = cat.find_or_add_person(name="LÊ VĂN TÁM", folded_name="le van tam",
                                   personal_id=None, date_of_birth="1987-03-12")
    assert again.id == by_birth.id
    assert cat.find_or_add_person(name="Tám", folded_name="tam", personal_id=None,
                                  date_of_birth=None) is None  # a name alone is nobody
    cat.add_person_document(with_id.id, "d1", "subject")
    cat.add_person_document(by_birth.id, "d2", "father")
    cat.add_person_document(by_birth.id, "d2", "father")  # twice: once
    other = cat.find_or_add_person(name="Lê Văn Tám", folded_name="le van tam",
                                   personal_id="001099000001", date_of_birth="1999-01-01")
    cat.add_person_document(other.id, "d3", "subject")
    with pytest.raises(StorageError, match="different ID numbers"):
        cat.merge_people(with_id.id, other.id)
    cat.merge_people(with_id.id, by_birth.id)
    merged = cat.person("001087012345")
    assert merged.id == with_id.id and merged.date_of_birth == "1987-03-12"
    assert cat.person(str(by_birth.id)).id == with_id.id  # the merged record leads on
    assert cat.person_documents(with_id.id) == [("d1", "subject"), ("d2", "father")]
    cat.close()


# --------------------------------------------------------------------- page fields (0006)
def _utc(t: dt.datetime) -> dt.datetime:
    """SQLite returns naive UTC datetimes, PostgreSQL aware ones: compare them as UTC."""
    return t.astimezone(dt.UTC) if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _set(cat, row, where, **values) -> None:
    """Change columns behind the catalogue's back (timestamps of the past, a disabled user):
    no public method does that, and the tests must not wait for the clock."""
    with cat.engine.begin() as conn:
        conn.execute(update(row).where(*where).values(**values))


def test_page_fields_round_trip(catalogue_url):
    cat = Catalogue(catalogue_url)
    assert [f.name for f in dataclasses.fields(PageRecord)][-1] == "fields"
    found = [{"name": "subject_name", "value": "Lê Thị Hoa", "confidence": 0.93,
              "box": [10, 20, 300, 40]},
             {"name": "date_of_birth", "value": "1987-03-12", "confidence": 0.8}]
    cat.start_document(_doc())
    cat.save_page(dataclasses.replace(_page(1), fields=found))
    cat.save_page(_page(2))
    pages = cat.get_document("d1").pages
    assert pages[0].fields == found
    assert pages[1].fields == []  # a page with nothing found
    cat.save_page(dataclasses.replace(_page(1), fields=found[:1]))  # saved again: replaced
    assert cat.get_document("d1").pages[0].fields == found[:1]
    cat.finish_document("d1", type="birth_certificate", type_confidence=0.9, fields={},
                        dossier_code=None, page_count=2)
    assert [p.fields for p in next(iter(cat.documents_with_pages())).pages] == [found[:1], []]
    _set(cat, PageRow, [PageRow.document_id == "d1"], fields=null())  # a page from before 0006
    assert [p.fields for p in cat.get_document("d1").pages] == [[], []]
    cat.close()


# ------------------------------------------------------------------- batches, page jobs
def test_batches_and_their_files(catalogue_url):
    cat = Catalogue(catalogue_url)
    assert not cat.batch_exists("b1")
    cat.create_batch("b1", "archivist")
    assert cat.batch_exists("b1") and not cat.batch_exists("b2")
    with pytest.raises(StorageError):
        cat.create_batch("b1", "archivist")  # one batch per id
    cat.add_batch_file("b1", "a.jpg", sha256="a" * 64, document_id="da", state="queued")
    cat.add_batch_file("b1", "b.jpg", sha256="b" * 64, document_id="db", state="queued")
    cat.add_batch_file("b1", "c.jpg", sha256="c" * 64, document_id="dc", state="duplicate")
    cat.add_batch_file("b1", "x" * 2000, sha256=None, document_id=None, state="rejected",
                       error={"code": "empty_file"})  # a long name is cut, not refused
    cat.add_batch_file("b1", "c.jpg", sha256="c" * 64, document_id="dc", state="queued")
    summary = cat.batch_summary("b1", dt.timedelta(hours=1))
    assert summary["files"] == {"queued": 3, "rejected": 1}  # the same file twice: once
    assert summary["rejected"] == [{"file": "x" * 1024, "error": {"code": "empty_file"}}]
    cat.set_batch_file_state("db", "rejected", {"code": "truncated_file"})
    cat.set_batch_file_state("da", "done", None)
    summary = cat.batch_summary("b1", dt.timedelta(hours=1))
    assert summary["files"] == {"queued": 1, "done": 1, "rejected": 2}
    assert sorted(r["file"] for r in summary["rejected"]) == ["b.jpg", "x" * 1024]
    assert summary["pages"] == {} and summary["recent_done"] == 0
    assert summary["first_done_at"] is None
    assert cat.batch_summary("nope", dt.timedelta(hours=1))["files"] == {}
    cat.close()


def _jobs(cat, **kw) -> list[tuple]:
    return [(j["document_id"], j["number"], j["state"], j["starts"], j["crashes"])
            for j in cat.page_jobs(**kw)]


def test_page_jobs_start_end_and_count_crashes(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.create_batch("b1", "sohoa")
    cat.add_page_jobs("b1", "d1", 3)
    assert _jobs(cat) == [("d1", 1, "queued", 0, 0), ("d1", 2, "queued", 0, 0),
                          ("d1", 3, "queued", 0, 0)]
    job = cat.page_jobs(document_id="d1")[0]
    assert job["batch_id"] == "b1" and job["worker"] is None and job["started_at"] is None
    assert cat.start_page_job("d1", 1, "w1") == 0
    job = cat.page_jobs(document_id="d1")[0]
    assert (job["state"], job["worker"], job["starts"]) == ("running", "w1", 1)
    assert job["started_at"] is not None
    assert cat.start_page_job("d1", 1, "w2") == 1  # started again: w1 died under it
    assert cat.start_page_job("d1", 1, "w3") == 2
    assert _jobs(cat, document_id="d1")[0] == ("d1", 1, "running", 3, 2)
    assert cat.page_jobs(document_id="d1")[0]["worker"] == "w3"
    assert cat.start_page_job("d1", 9, "w1") is None  # no such page

    assert cat.end_page_job("d1", 1, "done") == 2  # pages 2 and 3 are left
    assert cat.start_page_job("d1", 1, "w1") is None  # done: nothing to do
    assert cat.page_jobs(document_id="d1")[0]["finished_at"] is not None
    cat.start_page_job("d1", 2, "w1")
    assert cat.end_page_job("d1", 2, "queued", "worker lost") == 2  # to be retried
    job = cat.page_jobs(document_id="d1")[1]
    assert (job["state"], job["error"], job["finished_at"]) == ("queued", "worker lost", None)
    assert cat.start_page_job("d1", 2, "w1") == 0  # a retry after an ended start: no crash
    cat.start_page_job("d1", 3, "w1")
    assert cat.end_page_job("d1", 3, "failed", "unreadable") == 2
    assert cat.start_page_job("d1", 3, "w1") is None  # failed: nothing to do
    assert cat.end_page_job("d1", 2, "done") == 1

    cat.add_page_jobs("b2", "d1", 3)  # queued again: a done page stays done
    assert _jobs(cat, document_id="d1") == [("d1", 1, "done", 3, 2), ("d1", 2, "done", 2, 0),
                                            ("d1", 3, "queued", 0, 0)]
    again = cat.page_jobs(document_id="d1")[2]
    assert again["batch_id"] == "b2" and again["error"] is None
    cat.close()


def test_cancelling_and_filtering_page_jobs(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.add_page_jobs("b1", "d1", 4)
    cat.add_page_jobs("b1", "d2", 1)
    cat.add_page_jobs("b2", "d3", 2)
    cat.start_page_job("d1", 1, "w")
    cat.end_page_job("d1", 1, "done")
    cat.start_page_job("d1", 2, "w")
    cat.start_page_job("d1", 3, "w")
    cat.end_page_job("d1", 3, "failed", "unreadable")
    cat.cancel_page_jobs("d1", "page 3 failed")
    assert [(n, st) for _, n, st, *_ in _jobs(cat, document_id="d1")] == [
        (1, "cancelled"), (2, "cancelled"), (3, "failed"), (4, "cancelled")]
    jobs = cat.page_jobs(document_id="d1")
    assert [j["error"] for j in jobs] == ["page 3 failed", "page 3 failed", "unreadable",
                                          "page 3 failed"]
    assert all(j["finished_at"] is not None for j in jobs)
    assert cat.start_page_job("d1", 4, "w") is None  # cancelled: nothing to do
    assert cat.end_page_job("d2", 1, "done") == 0  # its only page: none left

    assert [(d, n) for d, n, *_ in _jobs(cat, batch_id="b1")] == [
        ("d1", 1), ("d1", 2), ("d1", 3), ("d1", 4), ("d2", 1)]
    assert [(d, n) for d, n, *_ in _jobs(cat, batch_id="b2")] == [("d3", 1), ("d3", 2)]
    assert [(d, n) for d, n, *_ in _jobs(cat, states=("done", "failed"))] == [
        ("d1", 3), ("d2", 1)]
    assert [(d, n) for d, n, *_ in _jobs(cat, batch_id="b1", states=("queued",))] == []
    assert [(d, n) for d, n, *_ in _jobs(cat, batch_id="b2", document_id="d3",
                                         states=("queued", "running"))] == [("d3", 1), ("d3", 2)]
    assert cat.page_jobs(batch_id="nope") == []
    assert set(cat.page_jobs(document_id="d2")[0]) == {
        "document_id", "number", "batch_id", "state", "starts", "crashes", "worker",
        "queued_at", "started_at", "finished_at", "error"}
    cat.close()


LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
LATER = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)


def test_batch_summary_counts_pages_and_recent_work(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.create_batch("b1", "sohoa")
    cat.add_page_jobs("b1", "d1", 4)
    cat.add_page_jobs("b2", "d2", 1)  # another batch: not counted
    for n in (1, 2, 3):
        cat.start_page_job("d1", n, "w")
    cat.end_page_job("d1", 1, "done")
    cat.end_page_job("d1", 2, "done")
    cat.start_page_job("d2", 1, "w")
    cat.end_page_job("d2", 1, "done")
    _set(cat, PageJobRow, [PageJobRow.document_id == "d1", PageJobRow.number == 1],
         finished_at=LONG_AGO)  # done long before the window
    summary = cat.batch_summary("b1", dt.timedelta(days=1))
    assert summary["pages"] == {"done": 2, "running": 1, "queued": 1}
    assert summary["recent_done"] == 1
    assert _utc(summary["first_done_at"]) == LONG_AGO
    assert summary["files"] == {} and summary["rejected"] == []
    cat.close()


def test_stale_page_jobs_and_touching_them(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.add_page_jobs("b1", "d1", 5)
    for n in (1, 2, 3):
        cat.start_page_job("d1", n, "w")
    cat.end_page_job("d1", 3, "done")
    def page(n):
        return [PageJobRow.document_id == "d1", PageJobRow.number == n]

    _set(cat, PageJobRow, page(1), started_at=LONG_AGO,  # running since long ago
         queued_at=LONG_AGO - dt.timedelta(hours=1))
    _set(cat, PageJobRow, page(4), queued_at=LONG_AGO)  # queued since long ago
    _set(cat, PageJobRow, page(5), queued_at=LONG_AGO - dt.timedelta(days=1))
    _set(cat, PageJobRow, page(3), started_at=LONG_AGO, queued_at=LONG_AGO)  # done: not stale

    assert cat.stale_page_jobs(running_before=LATER, queued_before=None) == [
        ("d1", 1, "running")]
    assert cat.stale_page_jobs(running_before=LATER, queued_before=LATER) == [
        ("d1", 5, "queued"), ("d1", 1, "running"), ("d1", 4, "queued")]  # by queued_at
    assert cat.stale_page_jobs(running_before=LONG_AGO, queued_before=LONG_AGO) == [
        ("d1", 5, "queued")]

    # with older_than, only what is stale: page 2 runs since now, page 1 since long ago
    assert cat.touch_page_job("d1", 2, older_than=LATER) is False
    assert cat.touch_page_job("d1", 1, older_than=LATER) is True
    assert cat.touch_page_job("d1", 1, older_than=LATER) is False  # queued now: another
    assert cat.touch_page_job("d1", 4, older_than=LATER) is True   # sweeper came first
    assert cat.touch_page_job("d1", 3) is False  # done
    assert cat.touch_page_job("d1", 9) is False  # unknown
    assert cat.touch_page_job("d1", 2) is True  # without older_than: running, so a crash
    assert cat.touch_page_job("d1", 5) is True  # queued: queued again, no crash
    assert _jobs(cat, document_id="d1") == [
        ("d1", 1, "queued", 1, 1), ("d1", 2, "queued", 1, 1), ("d1", 3, "done", 1, 0),
        ("d1", 4, "queued", 0, 0), ("d1", 5, "queued", 0, 0)]
    assert cat.stale_page_jobs(running_before=LATER, queued_before=LATER) == []
    assert cat.start_page_job("d1", 1, "w") == 1  # the crash counted by the sweep stays
    cat.close()


# ----------------------------------------------------------------------- users, sessions
def test_users(catalogue_url):
    cat = Catalogue(catalogue_url)
    assert cat.users() == [] and cat.user("lan") is None
    lan = cat.add_user("lan", "hash-1", "clerk")
    assert (lan.username, lan.role, lan.password_hash, lan.disabled) == (
        "lan", "clerk", "hash-1", False)
    assert "hash-1" not in repr(lan)
    with pytest.raises(StorageError, match="exists already"):
        cat.add_user("lan", "hash-2", "admin")
    binh = cat.add_user("binh", "hash-3", "admin")
    assert binh.id != lan.id
    assert cat.user("lan") == lan
    assert cat.user(user_id=binh.id) == binh
    assert cat.user(user_id=binh.id + lan.id + 100) is None
    assert cat.user("nobody") is None
    assert [u.username for u in cat.users()] == ["binh", "lan"]  # by name
    cat.close()


def test_sessions(catalogue_url):
    cat = Catalogue(catalogue_url)
    lan = cat.add_user("lan", "hash-1", "clerk")
    expires = dt.datetime(2100, 1, 1, 8, 30, tzinfo=dt.UTC)
    cat.add_session("t" * 64, lan.id, "csrf-1", expires)
    user, csrf, until = cat.session("t" * 64)
    assert (user, csrf) == (lan, "csrf-1")
    assert until == expires and until.tzinfo is not None
    assert cat.session("u" * 64) is None  # unknown
    cat.add_session("e" * 64, lan.id, "csrf-2", LONG_AGO)
    assert cat.session("e" * 64) is None  # expired
    with pytest.raises(StorageError):
        cat.add_session("t" * 64, lan.id, "csrf-3", expires)  # one session per token
    with pytest.raises(StorageError):
        cat.add_session("n" * 64, lan.id + 100, "csrf-4", expires)  # no such user
    cat.delete_session("t" * 64)
    assert cat.session("t" * 64) is None
    cat.delete_session("t" * 64)  # twice: nothing to do
    cat.add_session("d" * 64, lan.id, "csrf-5", expires)
    _set(cat, UserRow, [UserRow.id == lan.id], disabled=True)
    assert cat.session("d" * 64) is None  # a disabled user's sessions stop
    assert cat.user("lan").disabled
    cat.close()


# --------------------------------------------------------------------------- audit, copies
def test_audit_entries_newest_first_and_filtered(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.audit(AuditEntry("lan", "web", "view_document", "d1", {"page": 1}))
    cat.audit(AuditEntry("binh", "cli", "export", "d2"))
    cat.audit(AuditEntry("lan", "api", "view_person", "001087012345", {"q": "Lê"}))
    got = cat.audit_entries()
    assert [(e.actor, e.channel, e.action, e.target) for e in got] == [
        ("lan", "api", "view_person", "001087012345"), ("binh", "cli", "export", "d2"),
        ("lan", "web", "view_document", "d1")]
    assert [e.detail for e in got] == [{"q": "Lê"}, {}, {"page": 1}]
    assert all(e.id is not None and e.at is not None for e in got)
    assert [e.target for e in cat.audit_entries(actor="lan")] == ["001087012345", "d1"]
    assert [e.actor for e in cat.audit_entries(target="d2")] == ["binh"]
    assert cat.audit_entries(actor="lan", target="d2") == []
    assert [e.target for e in cat.audit_entries(limit=2)] == ["001087012345", "d2"]
    assert len(cat.audit_entries(since=LONG_AGO)) == 3
    assert cat.audit_entries(since=dt.datetime(2100, 1, 1, tzinfo=dt.UTC)) == []
    with pytest.raises(DBAPIError), cat.engine.begin() as conn:  # append-only
        conn.execute(text("UPDATE audit SET actor = 'someone else'"))
    with pytest.raises(DBAPIError), cat.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit"))
    assert len(cat.audit_entries()) == 3
    cat.close()


def test_copies_by_hash_and_by_verification_code(catalogue_url):
    cat = Catalogue(catalogue_url)
    cat.start_document(_doc())
    cat.add_copy(CopyRecord("ABCD2345", "f" * 64, "d1", "000.00.00.H01-250101-0001-KQ(1)",
                            "web"))
    cat.add_copy(CopyRecord("WXYZ6789", "f" * 64, "d1", None, "citizen"))
    cat.add_copy(CopyRecord("QRST2345", "9" * 64, "d1", None, "cli"))
    got = cat.copy_by_code("ABCD2345")
    assert (got.sha256, got.document_id, got.result_code, got.channel) == (
        "f" * 64, "d1", "000.00.00.H01-250101-0001-KQ(1)", "web")
    assert got.issued_at is not None
    assert cat.copy_by_code("NOPE0000") is None
    same = cat.copies_by_sha("f" * 64)
    assert sorted((c.verification_code, c.channel) for c in same) == [
        ("ABCD2345", "web"), ("WXYZ6789", "citizen")]
    assert cat.copies_by_sha("0" * 64) == []
    with pytest.raises(StorageError):
        cat.add_copy(CopyRecord("ABCD2345", "1" * 64, "d1", None, "web"))  # codes are unique
    with pytest.raises(StorageError):
        cat.add_copy(CopyRecord("NEWC0DE1", "1" * 64, "nodoc", None, "web"))  # no document
    cat.close()
