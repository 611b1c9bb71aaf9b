"""The embedded index, damaged by hand (issue 19): made without raising, it raises
IndexDamaged (saying to run `sohoa reindex`) only from the calls that need it, ``check``
finds every kind of damage, and ``rebuild`` repairs each, removing only generation files.
The pipeline's index helpers skip a damaged index with one warning."""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import random
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from search.embedded import EmbeddedIndex
from search.embedded_folder import is_damage
from search.index import IndexDamaged, IndexedPage, SearchUnavailable

PAGES = [IndexedPage(f"doc-{i:02d}", 1, f"GIẤY KHAI SINH Nguyễn Văn An số {i} "
                     + " ".join(f"từ{j}" for j in range(i * 7)), "birth_certificate",
                     names=("Nguyễn Văn An",))
         for i in range(40)]


def live(folder: Path) -> Path:
    return folder / (folder / "current").read_text().strip()


def garble(path: Path, table: str) -> None:
    db = sqlite3.connect(path)
    numbers = [n for name, n in db.execute("SELECT name, pageno FROM dbstat") if name == table]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    assert numbers, f"no pages of {table} in {path}"
    rng = random.Random(5)
    with path.open("r+b") as f:
        for n in numbers:
            f.seek((n - 1) * size)
            f.write(rng.randbytes(size))


def truncate(folder: Path) -> None:
    path = live(folder)
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 3)


DAMAGES = {
    "pointer deleted": lambda f: (f / "current").unlink(),
    "pointer garbage": lambda f: (f / "current").write_bytes(b"\xfe\xff not a name"),
    "pointer empty": lambda f: (f / "current").write_text(""),
    "pointer outside the folder": lambda f: (f / "current").write_text("../catalogue.sqlite3"),
    "pointer to a missing file": lambda f: (f / "current").write_text("gen-0009.sqlite3\n"),
    "pointer is an empty folder": lambda f: ((f / "current").unlink(), (f / "current").mkdir()),
    "generation emptied": lambda f: live(f).write_bytes(b""),
    "generation truncated": truncate,
    "generation random bytes": lambda f: live(f).write_bytes(
        random.Random(1).randbytes(live(f).stat().st_size)),
    "full-text pages garbled": lambda f: garble(live(f), "page_fts_data"),
    "page rows garbled": lambda f: garble(live(f), "page_meta"),
}


@pytest.fixture
def folder(tmp_path) -> Path:
    """An index folder holding PAGES, closed."""
    folder = tmp_path / "search"
    idx = EmbeddedIndex(folder)
    idx.upsert(PAGES)
    idx.close()
    return folder


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_index_is_made_but_raises_when_used(folder, damage):
    DAMAGES[damage](folder)
    idx = EmbeddedIndex(folder)  # never raises: what does not search goes on
    try:
        with pytest.raises(IndexDamaged) as raised:
            idx.search("nguyen van an")
        exc = raised.value
        assert exc.code == "index_damaged" and exc.retryable is False
        assert isinstance(exc, SearchUnavailable)  # callers that handled that still do
        assert "sohoa reindex" in str(exc) and str(folder) in str(exc) and exc.problem
        if "garbled" not in damage:  # nothing of it can be read: every call says so
            for call in (lambda: idx.upsert(PAGES[:1]), lambda: idx.delete_document("doc-1"),
                         idx.count, lambda: list(idx.keys())):
                with pytest.raises(IndexDamaged):
                    call()
        assert idx.check()  # found and said
    finally:
        idx.close()


@pytest.mark.parametrize("damage", DAMAGES)
def test_rebuild_repairs_every_damage_and_removes_only_generation_files(folder, damage):
    DAMAGES[damage](folder)
    (folder / "notes.txt").write_text("kept")
    (folder / "gen-0001.sqlite3.bak").write_text("kept")
    idx = EmbeddedIndex(folder)
    try:
        assert idx.rebuild(iter(PAGES[:30])) == 30
        assert idx.search("nguyen van an").total == 30
        assert idx.count() == 30 and idx.check() == []
        assert [k for k, _ in idx.keys()] == [p.document_id for p in PAGES[:30]]
    finally:
        idx.close()
    again = EmbeddedIndex(folder)  # and so does the next process
    try:
        assert again.search("nguyen van an").total == 30 and again.check() == []
    finally:
        again.close()
    names = {p.name for p in folder.iterdir()}
    assert {"notes.txt", "gen-0001.sqlite3.bak", live(folder).name} <= names
    assert not [n for n in names if n.startswith("gen-") and not n.startswith(
        live(folder).name) and n != "gen-0001.sqlite3.bak"]


def test_a_sound_index_checks_clean_and_a_garbled_one_that_still_lists_its_pages_does_not(
        folder):
    idx = EmbeddedIndex(folder)
    assert idx.check() == []
    idx.close()
    garble(live(folder), "page_fts_data")
    idx = EmbeddedIndex(folder)
    try:
        assert len(list(idx.keys())) == len(PAGES)  # what check-index used to compare
        problems = idx.check()
        assert problems and all(isinstance(p, str) for p in problems)
    finally:
        idx.close()


def test_a_running_index_picks_up_the_rebuild_that_repaired_it(folder):
    running = EmbeddedIndex(folder)
    assert running.search("nguyen van an").total == len(PAGES)
    (folder / "current").write_text("garbage")
    with pytest.raises(IndexDamaged):
        running.search("nguyen van an")
    other = EmbeddedIndex(folder)  # `sohoa reindex`, in another process
    other.rebuild(iter(PAGES[:5]))
    other.close()
    try:
        assert running.search("nguyen van an").total == 5
    finally:
        running.close()


def test_an_unfinished_rebuild_beside_a_bad_pointer_is_resumed_when_sound(folder):
    (folder / "current").write_text("garbage")
    idx = EmbeddedIndex(folder)

    def cut_off():
        yield from PAGES[:10]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        idx.rebuild(cut_off(), batch=3)
    assert idx.rebuild(iter(PAGES)) == len(PAGES) - 9  # three batches of 3 were committed
    assert idx.count() == len(PAGES) and idx.check() == []
    idx.close()


def test_an_unfinished_rebuild_that_is_damaged_is_started_afresh(folder):
    idx = EmbeddedIndex(folder)
    with pytest.raises(KeyboardInterrupt):
        idx.rebuild((p if i < 20 else (_ for _ in ()).throw(KeyboardInterrupt)
                     for i, p in enumerate(PAGES)), batch=5)
    partial = folder / "gen-0002.sqlite3"
    assert partial.exists()
    garble(partial, "page_fts_data")
    assert idx.rebuild(iter(PAGES)) == len(PAGES)
    assert idx.search("nguyen van an").total == len(PAGES) and idx.check() == []
    idx.close()


def test_a_first_generation_left_unnamed_by_a_stopped_process_is_taken(tmp_path):
    folder = tmp_path / "search"
    EmbeddedIndex(folder).close()
    (folder / "current").unlink()  # stopped between making gen-0001 and naming it
    idx = EmbeddedIndex(folder)
    try:
        idx.upsert(PAGES[:2])
        assert idx.search("nguyen van an").total == 2 and live(folder).name == "gen-0001.sqlite3"
    finally:
        idx.close()


def _open_and_write(args) -> str:
    folder, i = args
    idx = EmbeddedIndex(Path(folder))
    try:
        idx.upsert([PAGES[i]])
        return "ok"
    except SearchUnavailable as exc:
        return str(exc)
    finally:
        idx.close()


def test_processes_starting_on_an_empty_folder_together_make_one_sound_index(tmp_path):
    folder = tmp_path / "search"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        said = pool.map(_open_and_write, [(str(folder), i) for i in range(8)])
    assert said == ["ok"] * 8
    idx = EmbeddedIndex(folder)
    try:
        assert idx.count() == 8 and idx.check() == []
    finally:
        idx.close()


def test_index_damaged_survives_pickling():
    exc = IndexDamaged("current names no generation", "/srv/sohoa/search")
    back = pickle.loads(pickle.dumps(exc))
    assert str(back) == str(exc) and back.problem == exc.problem and back.where == exc.where


def test_only_sqlite_s_damage_errors_count_as_damage(tmp_path):
    notadb = tmp_path / "x.sqlite3"
    notadb.write_bytes(b"x" * 4096)
    with pytest.raises(sqlite3.DatabaseError) as raised:
        sqlite3.connect(notadb).execute("PRAGMA journal_mode=WAL")
    assert is_damage(raised.value)
    assert not is_damage(sqlite3.OperationalError("database is locked"))
    assert not is_damage(sqlite3.OperationalError("fts5: syntax error near \"\""))


def test_the_pipeline_skips_a_damaged_index_with_one_warning(folder, caplog):
    from pipeline.indexing import index_delete, index_upsert

    (folder / "current").unlink()
    rt = SimpleNamespace(index=EmbeddedIndex(folder))
    try:
        with caplog.at_level(logging.INFO, logger="pipeline.indexing"):
            assert index_upsert(rt, PAGES[:2]) == 0
            assert index_upsert(rt, PAGES[2:3]) == 0
            assert index_delete(rt, "doc-01") == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        text = warnings[0].getMessage()
        assert "doc-00" in text and "not indexed" in text and "sohoa reindex" in text
        assert any("doc-02" in r.getMessage() for r in caplog.records)
        rt.index.rebuild(iter(PAGES[:3]))
        assert index_upsert(rt, PAGES[3:4]) == 1
    finally:
        rt.index.close()
