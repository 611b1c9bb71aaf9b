"""The object store is the source of truth (issue 19), through the real `sohoa` command on the
committed samples: each document's record is written beside its objects as the catalogue
changes; a deleted catalogue is refused (never silently replaced by an empty one) and
`sohoa recover` gives back every row, compared table by table with a dump made before; a
damaged catalogue (random bytes, cut short) is named as such, kept aside and recovered; a
garbage record is reported and skipped while the others are restored.

The archive (bench/recover.py, `build_archive`) is made once: ingest with a manifest (links,
two conflicts sending documents to review), the rest of the samples and the bad files, a
proposal confirmed, a correction, a clerk's link, a keying keyed twice and settled, another
keyed once, a review confirmed, two people merged, a citizen's copy, a user. Each test works
on its own copy of it."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from bench.recover import build_archive, differences, dump, hits, sohoa
from pipeline import records

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("recover")
    made = build_archive(root)
    home = made["home"]
    made["url"] = f"sqlite:///{home / 'catalogue.sqlite3'}"
    made["dump"] = dump(made["url"])
    made["hits"] = hits(home)
    return made


@pytest.fixture
def home(archive, tmp_path):
    """A copy of the archive's home, for one test to break."""
    copy = tmp_path / "home"
    shutil.copytree(archive["home"], copy)
    return copy


def url(home) -> str:
    return f"sqlite:///{home / 'catalogue.sqlite3'}"


def recover(home, *args, code: int = 0) -> dict:
    proc = sohoa(home, "recover", "--json", *args, check=False)
    assert proc.returncode == code, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_the_archive_exercises_what_recovery_must_give_back(archive):
    rows = {name: len(t["rows"]) for name, t in archive["dump"].items()}
    for table in ("documents", "pages", "corrections", "dossiers", "dossier_links", "people",
                  "person_documents", "keying_tasks", "keyings", "link_conflicts",
                  "link_proposals", "copies", "rejections", "users"):
        assert rows[table] > 0, table
    docs = [json.loads(r) for r in archive["dump"]["documents"]["rows"]]
    status = archive["dump"]["documents"]["columns"].index("status")
    assert {d[status] for d in docs} == {"done", "needs_review"}  # a review left, one confirmed
    assert archive["merged"] is not None
    assert all(total and found for total, found in archive["hits"].values())  # each finds


def test_every_document_has_its_record_beside_its_objects_and_verify_owns_them(archive,
                                                                                home):
    store = home / "objects"
    for doc_id in archive["docs"].values():
        rec = records.parse((store / records.document_key(doc_id)).read_bytes())
        assert rec.kind == "document" and rec.id == doc_id
        assert rec.tables["documents"][0]["id"] == doc_id
        assert len(rec.tables["pages"]) == rec.tables["documents"][0]["page_count"]
    assert (store / records.USERS).is_file()
    assert len(list((store / "records" / "rejections").rglob("*.json"))) == 3
    report = json.loads(sohoa(home, "verify", "--json").stdout)  # a run is recorded: a copy
    assert report["orphaned"] == 0 and report["missing"] == 0 and report["changed"] == 0


def test_a_deleted_catalogue_is_refused_then_recovered_row_for_row(archive, home):
    doc_id = archive["docs"]["birth-1987-jpeg-skew-3.2.jpg"]
    (home / "catalogue.sqlite3").unlink()
    for args in (("show", doc_id), ("search", "nguyen")):
        proc = sohoa(home, *args, check=False)
        assert proc.returncode == 7
        assert "[catalogue_missing]" in proc.stderr and "sohoa recover" in proc.stderr
    assert not (home / "catalogue.sqlite3").exists()  # no empty catalogue made meanwhile
    report = recover(home)
    assert report["found"] == "missing" and not report["skipped"]
    assert report["restored"]["document"] == len(archive["docs"])
    assert report["index_consistent"] and "audit" in report["not_restored"]
    assert not differences(archive["dump"], dump(url(home)))
    assert hits(home) == archive["hits"]
    shown = json.loads(sohoa(home, "show", doc_id, "--json").stdout)
    assert shown["fields"]["place_of_birth"] == "Hà Nội"  # the clerk's correction


def test_recover_refuses_a_healthy_catalogue_and_forced_changes_nothing(archive, home):
    refused = sohoa(home, "recover", check=False)
    assert refused.returncode == 2 and "[catalogue_not_empty]" in refused.stderr
    report = recover(home, "--force")
    assert report["found"] == "in use (forced)" and not report["skipped"]
    assert not differences(archive["dump"], dump(url(home)))


@pytest.mark.parametrize("damage", ["random bytes", "cut short"])
def test_a_damaged_catalogue_is_named_kept_aside_and_recovered(archive, home, damage):
    path = home / "catalogue.sqlite3"
    if damage == "random bytes":
        path.write_bytes(os.urandom(path.stat().st_size))
    else:
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
    broken = path.read_bytes()
    proc = sohoa(home, "show", archive["docs"]["birth-1987-jpeg-skew-3.2.jpg"], check=False)
    assert proc.returncode == 7, proc.stderr
    assert "[catalogue_damaged]" in proc.stderr and "sohoa recover" in proc.stderr
    assert "Traceback" not in proc.stderr and "sqlalche.me" not in proc.stderr
    report = recover(home)
    assert report["found"] == "damaged" and report["problem"]
    [aside] = [p for p in report["kept_aside"] if not p.endswith(("-wal", "-shm"))]
    assert aside.startswith(f"{path}.damaged-")
    with open(aside, "rb") as f:
        assert f.read() == broken  # kept as it was
    assert not differences(archive["dump"], dump(url(home)))
    assert hits(home) == archive["hits"]


def test_a_garbage_record_is_reported_and_skipped_the_rest_restored(archive, home):
    spoilt = archive["docs"]["death-jpeg-skew-minus-14.2.jpg"]
    store = home / "objects"
    (store / records.document_key(spoilt)).write_bytes(b"\x00garbage{")
    stray = store / "records" / "documents" / "notes.txt"
    stray.write_text("not a record", encoding="utf-8")
    (home / "catalogue.sqlite3").unlink()
    report = recover(home, code=1)
    skipped = {s["key"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {records.document_key(spoilt), "records/documents/notes.txt"}
    assert "not JSON" in skipped[records.document_key(spoilt)]
    assert report["restored"]["document"] == len(archive["docs"]) - 1
    missing = sohoa(home, "show", spoilt, check=False)
    assert missing.returncode == 3
    before, after = archive["dump"], dump(url(home))
    for table, t in after.items():
        assert set(t["rows"]) <= set(before[table]["rows"]), table  # nothing made up
    lost = {t: set(before[t]["rows"]) - set(after[t]["rows"]) for t in before}
    assert len(lost["documents"]) == 1 and lost["pages"]
    for table, rows in lost.items():  # all that is missing is the spoilt document's
        if table not in ("people", "dossiers"):  # shared rows: only its own may be missing
            assert all(spoilt in row for row in rows), table
