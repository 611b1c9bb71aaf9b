"""A document's record (pipeline/records.py over storage/catalogue/snapshots.py): written from
one catalogue and restored into a fresh one, it gives back every row of the document, on
SQLite and PostgreSQL and from one to the other; shared rows come from the newest record;
columns a later migration adds ride along; bad records are named; a damaged or missing
SQLite catalogue is told apart from a new one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from bench.recover import differences, dump
from pipeline import records
from pipeline.config import Settings
from pipeline.errors import ConfigError
from storage.catalogue import (
    AuditEntry,
    Catalogue,
    CatalogueDamaged,
    CopyRecord,
    CorrectionRecord,
    DocumentRecord,
    DossierRecord,
    Keying,
    LinkConflict,
    PageRecord,
    sqlite_damage,
)
from storage.catalogue.safeguards import LinkProposal
from storage.objects import LocalObjectStore


def _doc(n: int) -> DocumentRecord:
    sha = f"{n:x}" * 64
    return DocumentRecord(id=sha[:16], sha256=sha[:64], filename=f"giấy-{n}.jpg",
                          source_path=f"/in/giấy-{n}.jpg", media_type="image/jpeg",
                          size=100 + n, original_key=f"originals/{sha[:64]}", page_count=2,
                          note="2 pages recovered: check against the paper" if n == 1 else None)


def _page(doc_id: str, n: int, **extra) -> PageRecord:
    return PageRecord(document_id=doc_id, number=n, width=2480, height=3508, dpi=300,
                      skew_angle=-3.2049999, rotation=90, rotation_confidence=7.25,
                      ocr_confidence=88.125, text=f"Họ và tên: Đinh Hồng Thảo {n}",
                      image_key=f"pages/{doc_id}/{n:04d}.jpg", text_key="t", hocr_key="h",
                      words_key="w", needs_review=n == 2, hashes={"image": "ab" * 32},
                      codes=["000.00.01.H26-230313-0042"], script="mixed" if n == 2 else "printed",
                      script_regions=[{"label": "handwritten", "box": [1, 2, 3, 4]}],
                      index_text=None, fields=[{"name": "subject_name", "value": "Thảo"}],
                      **extra)


def fill(cat: Catalogue) -> list[str]:
    """Two documents touching every per-document table, sharing a dossier and a person."""
    ids = []
    code = "000.00.01.H26-230313-0042"
    for n in (1, 2):
        d = _doc(n)
        ids.append(d.id)
        cat.start_document(d)
        cat.save_page(_page(d.id, 1))
        cat.save_page(_page(d.id, 2))
        cat.finish_document(d.id, type="birth_certificate", type_confidence=0.875,
                            fields={"subject_name": "Đinh Hồng Thảo", "personal_id": None,
                                    "entries": [{"name": "Lê Văn An", "sex": "Nam"}]},
                            dossier_code=code, page_count=2,
                            field_details={"subject_name": {"confidence": 0.5}},
                            classified_by="linear v3", review_reasons=["low confidence"],
                            status="needs_review" if n == 2 else "done")
        cat.upsert_dossier(DossierRecord(code, applicant_name="Huỳnh Văn Đạt"))
        cat.link(code, d.id, role="result", linked_by="manifest", actor="lan")
        person = cat.find_or_add_person(name="Đinh Hồng Thảo", folded_name="dinh hong thao",
                                        personal_id=None, date_of_birth="2006-08-14")
        cat.add_person_document(person.id, d.id, "subject")
    first, second = ids
    cat.add_correction(CorrectionRecord(first, "type", "unknown", "birth_certificate", "lan"))
    cat.add_correction(CorrectionRecord(first, "entries.0.name", None, "Lê Văn Ân", "tu"))
    task = cat.add_keying_task(first, created_by="sohoa", prefill={"book_number": "04/1971"})
    cat.add_keying(Keying(task.id, "an", {"subject_name": "Thảo"}, 12.5))
    cat.add_keying(Keying(task.id, "binh", {"subject_name": "Thao"}, 9.0))
    cat.update_keying_task(task.id, status="accepted", final={"subject_name": "Thảo"},
                           settled_by="chi")
    cat.add_conflict(LinkConflict(second, ("A", "B"), "two codes", "document"))
    cat.add_proposal(LinkProposal("000.00.01.H26-230313-0043", second, "record", "manifest",
                                  "archivist", "was there before"))
    cat.add_copy(CopyRecord("ABCDEF123456", "cd" * 32, first, f"{code}-KQ(1)", "citizen"))
    cat.create_batch("b1", "archivist")
    cat.add_batch_file("b1", "/in/giấy-2.jpg", sha256=_doc(2).sha256, document_id=second,
                       state="queued")
    cat.add_page_jobs("b1", second, 2)
    other = cat.find_or_add_person(name="Đinh Thảo", folded_name="dinh thao",
                                   personal_id="001306468533", date_of_birth=None)
    cat.add_person_document(other.id, second, "mother")
    cat.merge_people(other.id, cat.document_people(first)[0][0].id)
    cat.audit(AuditEntry("lan", "cli", "document_shown", first))
    return ids


def store_for(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def restore_all(target: Catalogue, store: LocalObjectStore) -> list[str]:
    restorer = target.restorer()
    restored = []
    for key in store.keys("records"):
        rec = records.parse(store.get(key))
        restorer.restore(rec.tables, written_at=rec.written_at)
        restored.append(key)
    restorer.finish()
    return restored


def save_all(rt, ids) -> None:
    for doc_id in ids:
        records.save_record(rt, doc_id)


@pytest.fixture
def fresh_url(catalogue_url, tmp_path, request):
    """A second, empty catalogue of the same kind as ``catalogue_url``."""
    if catalogue_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    return request.getfixturevalue("postgres_databases").new()


def test_records_round_trip_every_row(catalogue_url, fresh_url, tmp_path):
    source = Catalogue(catalogue_url)
    ids = fill(source)
    store = store_for(tmp_path)
    save_all(SimpleNamespace(catalogue=source, store=store), ids)
    target = Catalogue(fresh_url)
    assert len(restore_all(target, store)) == 2
    before = dump(catalogue_url, skip=("audit", "throttles", "sessions", "meta"))
    after = dump(fresh_url, skip=("audit", "throttles", "sessions", "meta"))
    assert not differences(before, after)
    assert before["keyings"]["rows"] and before["people"]["rows"] and before["copies"]["rows"]
    # the restored catalogue works: new rows get new ids (PostgreSQL's sequences moved on)
    fix = target.add_correction(CorrectionRecord(ids[0], "sex", None, "Nữ", "lan"))
    assert fix.id == max(c.id for c in source.corrections()) + 1
    assert target.get_document(ids[1]).status == "needs_review"
    assert [p.id for p, _ in target.document_people(ids[0])] == \
        [p.id for p, _ in source.document_people(ids[0])]  # the merge is kept


def test_restoring_twice_changes_nothing(tmp_path):
    source = Catalogue(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    ids = fill(source)
    store = store_for(tmp_path)
    save_all(SimpleNamespace(catalogue=source, store=store), ids)
    url = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    target = Catalogue(url)
    restore_all(target, store)
    once = dump(url)
    restore_all(Catalogue(url), store)  # a new restorer: nothing remembered
    assert not differences(once, dump(url))


def test_a_record_from_sqlite_restores_into_postgresql(tmp_path, postgres_url):
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    source = Catalogue(url)
    ids = fill(source)
    store = store_for(tmp_path)
    save_all(SimpleNamespace(catalogue=source, store=store), ids)
    restore_all(Catalogue(postgres_url), store)
    skip = ("audit", "throttles", "sessions", "meta")
    assert not differences(dump(url, skip=skip), dump(postgres_url, skip=skip))


def test_a_shared_row_comes_from_the_newest_record(tmp_path):
    source = Catalogue(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    ids = fill(source)
    store = store_for(tmp_path)
    rt = SimpleNamespace(catalogue=source, store=store)
    records.save_record(rt, ids[0])
    # the dossier both documents are filed under learns its applicant's ID later (a receipt)
    source.upsert_dossier(DossierRecord("000.00.01.H26-230313-0042", applicant_id="001088200612"))
    records.save_record(rt, ids[1])
    older, newer = (records.parse(store.get(records.document_key(i))) for i in ids)
    assert older.written_at < newer.written_at
    for order in ((newer, older), (older, newer)):
        target = Catalogue(f"sqlite:///{tmp_path / f'{order[0].id}.sqlite3'}")
        restorer = target.restorer()
        for rec in order:
            restorer.restore(rec.tables, written_at=rec.written_at)
        assert target.get_dossier("000.00.01.H26-230313-0042").applicant_id == "001088200612"


def test_a_column_added_by_a_later_migration_rides_along(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    ids = fill(Catalogue(url))
    with Catalogue(url).engine.begin() as conn:  # as a migration 00NN would
        conn.execute(text("ALTER TABLE pages ADD COLUMN sharpness FLOAT"))
        conn.execute(text("UPDATE pages SET sharpness = 0.75 WHERE number = 2"))
    source = Catalogue(url)  # reads the schema as it is now
    store = store_for(tmp_path)
    save_all(SimpleNamespace(catalogue=source, store=store), ids)
    rec = records.parse(store.get(records.document_key(ids[0])))
    assert [p["sharpness"] for p in rec.tables["pages"]] == [None, 0.75]

    older_url = f"sqlite:///{tmp_path / 'older.sqlite3'}"  # a catalogue without the column
    older = Catalogue(older_url)
    restorer = older.restorer()
    restorer.restore(rec.tables, written_at=rec.written_at)
    assert "pages.sharpness" in restorer.unknown  # reported, the rest restored
    assert len(older.get_document(ids[0]).pages) == 2

    newer_url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    Catalogue(newer_url)
    with Catalogue(newer_url).engine.begin() as conn:
        conn.execute(text("ALTER TABLE pages ADD COLUMN sharpness FLOAT"))
    restore_all(Catalogue(newer_url), store)
    skip = ("audit", "throttles", "sessions", "meta")
    assert not differences(dump(url, skip=skip), dump(newer_url, skip=skip))


def test_records_say_what_they_are(tmp_path):
    source = Catalogue(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    ids = fill(source)
    store = store_for(tmp_path)
    rt = SimpleNamespace(catalogue=source, store=store)
    records.save_record(rt, ids[0])
    obj = json.loads(store.get(records.document_key(ids[0])))
    assert obj["record_version"] == 1 and obj["kind"] == "document" and obj["id"] == ids[0]
    assert obj["schema"] == source.schema_revision()
    assert set(obj["tables"]) >= {"documents", "pages", "corrections", "dossier_links",
                                  "dossiers", "person_documents", "people", "keying_tasks",
                                  "keyings", "copies"}
    assert "audit" not in obj["tables"] and "users" not in obj["tables"]
    row = obj["tables"]["documents"][0]
    assert row["created_at"].endswith("+00:00")  # ISO 8601, UTC
    assert records.owner(records.document_key(ids[0])) == ("document", ids[0])
    assert records.owner("pages/x/0001.jpg") is None
    source.remove_document(ids[0])  # a document gone: its record goes too
    records.save_record(rt, ids[0])
    assert not store.exists(records.document_key(ids[0]))


@pytest.mark.parametrize("data, problem", [
    (b"\x00\xffnot json", "not JSON"),
    (b"[1, 2]", "not a sohoa record"),
    (b'{"record_version": 2, "kind": "document", "tables": {}}', "record_version 2"),
    (b'{"record_version": 1, "kind": "document", "id": "x", "tables": {"pages": [1]}}',
     "not a sohoa record"),
    (b'{"record_version": 1, "kind": "document", "id": "x", "tables": {"documents": []}}',
     "without its document"),
])
def test_a_bad_record_is_named(data, problem):
    with pytest.raises(records.BadRecord, match=problem):
        records.parse(data)


# ------------------------------------------------------------------ damaged, missing, new
def _sqlite_catalogue(tmp_path, documents: int = 0):
    """A SQLite catalogue of ``documents`` rows big enough to fill many pages."""
    path = tmp_path / "catalogue.sqlite3"
    cat = Catalogue(f"sqlite:///{path}")
    for n in range(documents):
        cat.start_document(DocumentRecord(id=f"{n:016x}", sha256=f"{n:064x}", filename="x",
                                          source_path="x" * 2000, media_type="image/jpeg",
                                          size=1, original_key="k"))
    cat.close()
    return path


def test_damage_is_seen_in_the_header_and_size(tmp_path):
    path = _sqlite_catalogue(tmp_path, documents=200)
    assert sqlite_damage(path) is None
    assert sqlite_damage(tmp_path / "absent.sqlite3") is None
    (tmp_path / "empty").write_bytes(b"")
    assert sqlite_damage(tmp_path / "empty") is None  # an empty file is a new database
    (tmp_path / "noise").write_bytes(os.urandom(8192))
    assert "not a SQLite database" in sqlite_damage(tmp_path / "noise")
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    assert "cut short" in sqlite_damage(path)
    with pytest.raises(CatalogueDamaged, match="sohoa recover"):
        Catalogue(f"sqlite:///{path}")


def test_damage_met_inside_the_file_is_named_too(tmp_path):
    path = _sqlite_catalogue(tmp_path, documents=300)
    page = int.from_bytes(path.read_bytes()[16:18], "big")
    with open(path, "r+b") as f:  # the header intact, the pages after the schema scribbled
        f.seek(page * 8)
        f.write(os.urandom(page * 40))
    assert sqlite_damage(path) is None  # nothing shows from outside
    with pytest.raises(CatalogueDamaged, match="sohoa recover"):
        cat = Catalogue(f"sqlite:///{path}")
        list(cat.documents())
        cat.close()


def test_a_missing_catalogue_beside_records_is_refused_and_a_new_home_is_not(tmp_path):
    from pipeline.runtime import open_runtime

    home = tmp_path / "home"
    open_runtime(Settings(home=home)).close()  # a first run: fine
    (home / "catalogue.sqlite3").unlink()
    open_runtime(Settings(home=home)).close()  # still nothing in the store: a first run
    (home / "catalogue.sqlite3").unlink()
    store = LocalObjectStore(home / "objects")
    store.put(records.USERS, b"{}")
    with pytest.raises(ConfigError, match="sohoa recover") as info:
        open_runtime(Settings(home=home))
    assert info.value.code == "catalogue_missing"
    assert not (home / "catalogue.sqlite3").exists()  # nothing made
    open_runtime(Settings(home=home), recovering=True).close()
    (home / "catalogue.sqlite3").write_bytes(os.urandom(4096))
    with pytest.raises(ConfigError, match="damaged") as info:
        open_runtime(Settings(home=home))
    assert info.value.code == "catalogue_damaged"


def test_a_postgresql_database_without_tables_beside_records_is_refused(postgres_url,
                                                                        tmp_path):
    from pipeline.runtime import open_runtime

    settings = Settings(home=tmp_path / "home", database_url=postgres_url)
    LocalObjectStore(tmp_path / "home" / "objects").put(records.USERS, b"{}")
    with pytest.raises(ConfigError) as info:
        open_runtime(settings)
    assert info.value.code == "catalogue_missing"
    open_runtime(settings, recovering=True).close()
    open_runtime(settings).close()  # made now: opened as any catalogue


def test_sqlite_quick_check_tells_a_healthy_file(tmp_path):
    from pipeline.recover import examine_sqlite

    path = _sqlite_catalogue(tmp_path, documents=20)
    assert examine_sqlite(path) == ("healthy", None)
    assert examine_sqlite(tmp_path / "absent")[0] == "missing"
    page = int.from_bytes(path.read_bytes()[16:18], "big")
    with open(path, "r+b") as f:  # every page after the third scribbled, the header intact
        f.seek(page * 3)
        f.write(os.urandom(path.stat().st_size - page * 3))
    state, problem = examine_sqlite(path)
    assert state == "damaged" and problem


def test_recover_rebuilds_a_postgresql_catalogue_and_then_refuses(postgres_databases,
                                                                   tmp_path):
    from pipeline.recover import RecoveryRefused, recover
    from pipeline.runtime import open_runtime

    home, first = tmp_path / "home", postgres_databases.new()
    rt = open_runtime(Settings(home=home, database_url=first))
    ids = fill(rt.catalogue)
    rt.catalogue.add_user("lan", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "clerk")
    save_all(rt, ids)
    records.save_users_record(rt)
    rt.close()
    second = postgres_databases.new()  # the catalogue lost: an empty database
    report = recover(Settings(home=home, database_url=second))
    assert report.found == "empty" and not report.skipped
    assert report.restored == {"document": 2, "users": 1}
    assert report.pages_indexed == 4 and report.index_consistent
    assert "users" not in report.not_restored and "audit" in report.not_restored
    assert not differences(dump(first), dump(second))
    with pytest.raises(RecoveryRefused):
        recover(Settings(home=home, database_url=second))
    again = recover(Settings(home=home, database_url=second), force=True)
    assert again.found == "in use (forced)"
    assert not differences(dump(first), dump(second))


def test_a_damaged_file_is_set_aside_never_over_another(tmp_path):
    import datetime as dt

    from pipeline.recover import set_aside

    path = tmp_path / "catalogue.sqlite3"
    when = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    kept = []
    for n in range(2):  # twice in the same second
        path.write_bytes(b"broken %d" % n)
        Path(f"{path}-wal").write_bytes(b"wal %d" % n)
        kept.append(set_aside(path, when))
    assert kept[0] == [f"{path}.damaged-20261204T080000Z",
                       f"{path}.damaged-20261204T080000Z-wal"]
    assert kept[1][0] == f"{path}.damaged-20261204T080000Z-2"
    assert [Path(k[0]).read_bytes() for k in kept] == [b"broken 0", b"broken 1"]
    assert not path.exists() and not Path(f"{path}-wal").exists()


def test_a_record_that_cannot_be_restored_is_skipped_and_its_batch_still_restored(tmp_path):
    from pipeline.recover import RecoveryReport, restore_all

    source = Catalogue(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    ids = fill(source)
    store = store_for(tmp_path)
    save_all(SimpleNamespace(catalogue=source, store=store), ids)
    key = records.document_key(ids[1])
    obj = json.loads(store.get(key))
    obj["tables"]["documents"][0]["created_at"] = "the day before yesterday"  # valid JSON
    store.put(key, json.dumps(obj).encode())
    target = Catalogue(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    report = RecoveryReport("b", "missing")
    restore_all(SimpleNamespace(catalogue=target, store=store), report, lambda key: None)
    assert [k for k, _ in report.skipped] == [key]
    assert "cannot be restored" in report.skipped[0][1]
    assert report.restored == {"document": 1}
    assert target.get_document(ids[0]) is not None and target.get_document(ids[1]) is None


def test_an_archive_without_records_is_not_silently_restarted_either(tmp_path):
    from pipeline.recover import recover
    from pipeline.runtime import open_runtime

    home = tmp_path / "home"
    LocalObjectStore(home / "objects").put(f"originals/ab/cd/{'ab' * 32}", b"a scan")
    with pytest.raises(ConfigError, match="without records") as info:
        open_runtime(Settings(home=home))
    assert info.value.code == "catalogue_missing"
    report = recover(Settings(home=home))  # an explicit choice: an empty catalogue, warned
    assert report.restored == {} and "originals but no document records" in report.warnings[0]
    open_runtime(Settings(home=home)).close()
