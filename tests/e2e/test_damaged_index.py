"""A damaged embedded search index blocks nothing but searching (issue 19): the real `sohoa`
command and the web application on a real archive whose index was damaged by hand, as an
operator found it: `current` deleted, garbled or naming a file that is gone; the live
generation truncated, overwritten with random bytes, or garbled inside (its full-text
pages: the catalogue's keys still read, so comparing pages alone found nothing wrong).

For each: `show`, `verify`, `ingest` and a clerk's correction work (the document is stored
and catalogued, the index skipped with a warning), `search` says the index is damaged and to
run `sohoa reindex` (exit 6), `check-index` finds it (exit 1), and `sohoa reindex` rebuilds
it, the documents added meanwhile included, removing nothing but index files."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from unittest import mock

import pytest

from tests.api.archive import CODE, make_archive, signed_in
from tests.conftest import SCANS
from tests.e2e.test_cli import lines, sohoa
from tests.unit.test_index_damage import garble  # random bytes over one table's pages

pytestmark = pytest.mark.slow

DEATH = "death-jpeg-skew-0.6.jpg"  # ingested while the index is damaged
NEW_NAME = "Phùng Thị Xuyến"  # a clerk's correction made while the index is damaged


@pytest.fixture(scope="module", autouse=True)
def sqlite_index():
    """These damages are the SQLite FTS5 engine's files (Tantivy's: tests/unit/
    test_tantivy_index.py and the fault table)."""
    with mock.patch.dict(os.environ, {"SOHOA_SEARCH_BACKEND": "sqlite"}):
        yield


def live(search: Path) -> Path:
    return search / (search / "current").read_text().strip()


def truncate(search: Path) -> None:
    path = live(search)
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


DAMAGES = {
    "pointer deleted": lambda s: (s / "current").unlink(),
    "pointer garbage": lambda s: (s / "current").write_bytes(b"\x00\xff../catalogue.sqlite3"),
    "pointer to a missing file": lambda s: (s / "current").write_text("gen-0042.sqlite3\n"),
    "generation truncated": truncate,
    "generation random bytes": lambda s: live(s).write_bytes(
        random.Random(7).randbytes(live(s).stat().st_size)),
    "generation garbled inside": lambda s: garble(live(s), "page_fts_data"),
}


def search_ids(home: Path, *words: str) -> set[str]:
    found = json.loads(sohoa(home, "search", "--json", "--limit", "50", *words).stdout)
    return {h["document_id"] for h in found["hits"]}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A receipt and a birth certificate filed under a dossier, staff accounts, ingested
    once through the real CLI; each test damages its own copy."""
    home = make_archive(tmp_path_factory.mktemp("damaged-index"))
    birth = search_ids(home, "dinh hong thao")
    receipt = search_ids(home, "--dossier", CODE, "--type", "dossier_receipt")
    assert len(birth) == 1 and len(receipt) == 1
    assert sohoa(home, "check-index").returncode == 0
    return {"home": home, "birth": birth.pop(), "receipt": receipt.pop()}


def damaged_copy(archive, tmp_path: Path, damage: str) -> Path:
    home = tmp_path / "home"
    shutil.copytree(archive["home"], home)
    DAMAGES[damage](home / "search")
    return home


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_index_stops_only_searching_and_reindex_rebuilds_it(archive, tmp_path,
                                                                      damage):
    home = damaged_copy(archive, tmp_path, damage)
    search = home / "search"
    (search / "NOTES.txt").write_text("an operator's note\n")  # not an index file: kept

    # what does not search works
    shown = json.loads(sohoa(home, "show", "--json", archive["birth"]).stdout)
    assert shown["id"] == archive["birth"] and shown["pages"]
    assert sohoa(home, "verify").returncode == 0

    # a search says what is wrong and what to do
    found = sohoa(home, "search", "dinh hong thao", check=False)
    assert found.returncode == 6, found.stderr
    assert "search index" in found.stderr and "damaged" in found.stderr
    assert "sohoa reindex" in found.stderr and "[index_damaged]" in found.stderr
    assert "Traceback" not in found.stderr

    # check-index finds the damage, and says what to do
    said = sohoa(home, "check-index", check=False)
    assert said.returncode == 1
    assert "DAMAGED" in said.stdout and "sohoa reindex" in said.stdout

    # ingest: the document is stored and catalogued, the index skipped with a warning
    ingested = sohoa(home, "ingest", "--json", str(SCANS / DEATH))
    (new,) = lines(ingested)
    assert new["status"] == "done" and new["error"] is None, new
    assert "not indexed" in ingested.stderr and "sohoa reindex" in ingested.stderr

    # a clerk's correction is kept
    corrected = sohoa(home, "correct", archive["birth"], "--field",
                      f"subject_name={NEW_NAME}", "--by", "lan", "--json")
    assert json.loads(corrected.stdout)["fields"]["subject_name"] == NEW_NAME
    assert "sohoa reindex" in corrected.stderr

    # reindex rebuilds it from the catalogue, what came meanwhile included
    rebuilt = sohoa(home, "reindex")
    assert "matches the catalogue (3 pages)" in rebuilt.stderr
    report = json.loads(sohoa(home, "check-index", "--json").stdout)
    assert report["consistent"] and not report["damaged"] and report["index_pages"] == 3
    assert search_ids(home, "thao") == {archive["birth"], new["document_id"]}
    assert search_ids(home, "phung thi xuyen") == {archive["birth"]}

    # nothing but index files went: the note stays, the objects are all there
    assert (search / "NOTES.txt").read_text() == "an operator's note\n"
    assert sohoa(home, "verify").returncode == 0
    generations = sorted(p.name for p in search.glob("gen-*"))
    assert generations == [live(search).name], generations


def test_check_index_reports_damage_in_json(archive, tmp_path):
    home = damaged_copy(archive, tmp_path, "generation garbled inside")
    checked = sohoa(home, "check-index", "--json", check=False)
    assert checked.returncode == 1
    report = json.loads(checked.stdout)
    assert report["damaged"] and report["problems"] and not report["consistent"]
    assert report["catalogue_pages"] == 2


@pytest.mark.parametrize("damage", ["pointer garbage", "generation random bytes"])
def test_reindex_restart_rebuilds_a_damaged_index_and_leftover_generations(archive, tmp_path,
                                                                          damage):
    """Beside the damage, generations an interrupted reindex left behind: one of random
    bytes (with a WAL), one truncated; `reindex --restart` writes past them all."""
    home = damaged_copy(archive, tmp_path, damage)
    search = home / "search"
    (search / "gen-0002.sqlite3").write_bytes(random.Random(2).randbytes(8192))
    (search / "gen-0002.sqlite3-wal").write_bytes(random.Random(3).randbytes(4096))
    shutil.copy(archive["home"] / "search" / "gen-0001.sqlite3", search / "gen-0003.sqlite3")
    with (search / "gen-0003.sqlite3").open("r+b") as f:
        f.truncate(6000)
    (search / "gen-0001.sqlite3.bak").write_bytes(b"an operator's copy")  # not ours: kept

    assert sohoa(home, "search", "thao", check=False).returncode == 6
    rebuilt = sohoa(home, "reindex", "--restart")
    assert "matches the catalogue (2 pages)" in rebuilt.stderr
    assert sohoa(home, "check-index").returncode == 0
    assert search_ids(home, "dinh hong thao") == {archive["birth"]}
    assert {p.name for p in search.glob("gen-*")} == {live(search).name,
                                                        "gen-0001.sqlite3.bak"}


def test_an_interrupted_rebuild_of_a_damaged_index_is_resumed(archive, tmp_path):
    """A reindex cut off after its first document, on an index whose pointer is garbage:
    the next `reindex` resumes the generation it was writing."""
    from pipeline.config import Settings
    from pipeline.indexing import all_index_pages
    from pipeline.runtime import open_runtime

    home = damaged_copy(archive, tmp_path, "pointer garbage")
    rt = open_runtime(Settings(home=home))
    pages = list(all_index_pages(rt))
    assert len({p.document_id for p in pages}) == 2

    def cut_off():  # the first document is committed as the second one begins
        yield from (p for p in pages if p.document_id == pages[0].document_id)
        yield next(p for p in pages if p.document_id != pages[0].document_id)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rt.index.rebuild(cut_off(), batch=1)
    rt.close()
    left = sorted(p.name for p in (home / "search").glob("gen-*.sqlite3"))
    assert sohoa(home, "search", "thao", check=False).returncode == 6  # not switched yet
    rebuilt = sohoa(home, "reindex")
    assert "reindexed 1 pages" in rebuilt.stderr  # the other document was written before
    assert "matches the catalogue (2 pages)" in rebuilt.stderr
    assert live(home / "search").name == left[-1]
    assert search_ids(home, "dinh hong thao") == {archive["birth"]}


def test_the_web_application_says_the_index_is_damaged_and_recovers_after_reindex(archive,
                                                                                 tmp_path):
    """The API answers 503 with the code index_damaged and a Vietnamese message; the search
    page says it in Vietnamese; the document pages work; once `sohoa reindex` has run, the
    same running application searches again."""
    from api.app import create_app
    from pipeline.config import Settings

    home = damaged_copy(archive, tmp_path, "generation random bytes")
    app = create_app(Settings(home=home))
    try:
        c = signed_in(app, "lan")
        r = c.get("/api/search", params={"q": "dinh hong thao"})
        assert r.status_code == 503
        error = r.json()["error"]
        assert error["code"] == "index_damaged"
        assert "Chỉ mục tìm kiếm bị hỏng" in error["message"]
        assert "sohoa reindex" in error["message"]
        page = c.get("/search", params={"q": "dinh hong thao"})
        assert page.status_code == 503
        assert "Chỉ mục tìm kiếm bị hỏng" in page.text and "sohoa reindex" in page.text
        assert 'name="q"' in page.text  # the form is still there
        doc = c.get(f"/documents/{archive['birth']}")
        assert doc.status_code == 200 and "ĐINH HỒNG THẢO" in doc.text.upper()
        assert c.get(f"/dossiers/{CODE}").status_code == 200

        sohoa(home, "reindex")
        r = c.get("/api/search", params={"q": "dinh hong thao"})
        assert r.status_code == 200
        assert [h["document_id"] for h in r.json()["hits"]] == [archive["birth"]]
        assert "Tìm thấy 1 trang" in c.get("/search", params={"q": "dinh hong thao"}).text
    finally:
        app.state.rt.close()


def test_a_correction_on_the_web_is_kept_when_the_index_is_damaged(archive, tmp_path):
    from api.app import create_app
    from pipeline.config import Settings

    home = damaged_copy(archive, tmp_path, "pointer to a missing file")
    app = create_app(Settings(home=home))
    try:
        c = signed_in(app, "lan")
        r = c.post(f"/api/documents/{archive['birth']}/corrections",
                   json={"fields": {"subject_name": NEW_NAME}},
                   headers={"X-CSRF-Token": c.csrf})
        assert r.status_code == 200, r.text
        assert r.json()["fields"]["subject_name"] == NEW_NAME
    finally:
        app.state.rt.close()
    sohoa(home, "reindex")
    assert search_ids(home, "phung thi xuyen") == {archive["birth"]}

