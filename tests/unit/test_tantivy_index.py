"""The Tantivy index beyond the contract suite: damaged by hand (as issue 19 damaged the
embedded one) it is made without raising, raises IndexDamaged (saying to run `sohoa reindex`)
from the calls that need it, ``check`` finds every kind of damage and ``rebuild`` repairs
each, removing only generation folders; writers in several processes take turns, and what one
process commits another finds at its next search."""

from __future__ import annotations

import json
import logging
import multiprocessing
import random
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from search.index import IndexDamaged, IndexedPage, SearchQuery, SearchUnavailable
from search.tantivy_folder import MARKER
from search.tantivy_index import TantivyIndex

PAGES = [IndexedPage(f"doc-{i:02d}", 1, f"GIẤY KHAI SINH Nguyễn Văn An số {i} "
                     + " ".join(f"từ{j}" for j in range(i * 7)), "birth_certificate",
                     names=("Nguyễn Văn An",))
         for i in range(40)]


def live(folder: Path) -> Path:
    return folder / (folder / "current").read_text().strip()


def segment_file(folder: Path, ext: str) -> Path:
    return max(live(folder).glob(f"*.{ext}"), key=lambda p: p.stat().st_size)


def garble(path: Path) -> None:
    """Random bytes over the middle of a file, its footer (and so its checksum) kept."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 4)
        f.write(random.Random(5).randbytes(max(1, size // 3)))


def truncate(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 3)


def empty(folder: Path) -> None:
    for part in live(folder).iterdir():
        part.unlink()


DAMAGES = {
    "pointer deleted": lambda f: (f / "current").unlink(),
    "pointer garbage": lambda f: (f / "current").write_bytes(b"\xfe\xff not a name"),
    "pointer empty": lambda f: (f / "current").write_text(""),
    "pointer outside the folder": lambda f: (f / "current").write_text("../catalogue.sqlite3"),
    "pointer to a missing generation": lambda f: (f / "current").write_text("gen-0009\n"),
    "pointer is an empty folder": lambda f: ((f / "current").unlink(), (f / "current").mkdir()),
    "generation emptied": empty,
    "generation removed": lambda f: shutil.rmtree(live(f)),
    "meta.json deleted": lambda f: (live(f) / "meta.json").unlink(),
    "meta.json garbage": lambda f: (live(f) / "meta.json").write_bytes(b"{\x00garbage"),
    "term dictionary truncated": lambda f: truncate(segment_file(f, "term")),
    "postings random bytes": lambda f: segment_file(f, "idx").write_bytes(
        random.Random(1).randbytes(segment_file(f, "idx").stat().st_size)),
    "term dictionary garbled": lambda f: garble(segment_file(f, "term")),
    "positions garbled": lambda f: garble(segment_file(f, "pos")),
    "stored text garbled": lambda f: garble(segment_file(f, "store")),
    "fast fields garbled": lambda f: garble(segment_file(f, "fast")),
}


@pytest.fixture
def folder(tmp_path) -> Path:
    """An index folder holding PAGES, closed."""
    folder = tmp_path / "search"
    idx = TantivyIndex(folder)
    idx.upsert(PAGES)
    idx.close()
    return folder


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_index_is_made_but_raises_when_used(folder, damage):
    DAMAGES[damage](folder)
    idx = TantivyIndex(folder)  # never raises: what does not search goes on
    try:
        with pytest.raises(IndexDamaged) as raised:
            idx.search("nguyen van an")
        exc = raised.value
        assert exc.code == "index_damaged" and exc.retryable is False
        assert isinstance(exc, SearchUnavailable)
        assert "sohoa reindex" in str(exc) and str(folder) in str(exc) and exc.problem
        for call in (lambda: idx.upsert(PAGES[:1]), lambda: idx.delete_document("doc-01"),
                     idx.count, lambda: list(idx.keys())):
            with pytest.raises(IndexDamaged):
                call()
        assert idx.check()  # found and said
    finally:
        idx.close()


@pytest.mark.parametrize("damage", DAMAGES)
def test_rebuild_repairs_every_damage_and_removes_only_generation_folders(folder, damage):
    DAMAGES[damage](folder)
    (folder / "notes.txt").write_text("kept")
    (folder / "gen-0001.bak").write_text("kept")
    idx = TantivyIndex(folder)
    try:
        assert idx.rebuild(iter(PAGES[:30])) == 30
        assert idx.search("nguyen van an").total == 30
        assert idx.count() == 30 and idx.check() == []
        assert [k for k, _ in idx.keys()] == [p.document_id for p in PAGES[:30]]
    finally:
        idx.close()
    again = TantivyIndex(folder)  # and so does the next process
    try:
        assert again.search("nguyen van an").total == 30 and again.check() == []
    finally:
        again.close()
    names = {p.name for p in folder.iterdir()}
    assert {"notes.txt", "gen-0001.bak", live(folder).name} <= names
    assert {n for n in names if n.startswith("gen-")} == {live(folder).name, "gen-0001.bak"}
    assert not (live(folder) / MARKER).exists()


def test_a_running_index_picks_up_the_rebuild_that_repaired_it(folder):
    running = TantivyIndex(folder)
    assert running.search("nguyen van an").total == len(PAGES)
    (folder / "current").write_text("garbage")
    with pytest.raises(IndexDamaged):
        running.search("nguyen van an")
    other = TantivyIndex(folder)  # `sohoa reindex`, in another process
    other.rebuild(iter(PAGES[:5]))
    other.close()
    try:
        assert running.search("nguyen van an").total == 5
    finally:
        running.close()


def test_an_unfinished_rebuild_beside_a_bad_pointer_is_resumed_when_sound(folder):
    (folder / "current").write_text("garbage")
    idx = TantivyIndex(folder)

    def cut_off():
        yield from PAGES[:10]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        idx.rebuild(cut_off(), batch=3)
    assert idx.rebuild(iter(PAGES)) == len(PAGES) - 9  # three batches of 3 were committed
    assert idx.count() == len(PAGES) and idx.check() == []
    assert [k for k, _ in idx.keys()] == [p.document_id for p in PAGES]
    idx.close()


def test_a_commit_whose_marker_was_never_written_is_not_counted_twice(folder):
    """Stopped between a chunk's commit and its marker: the resumed rebuild drops the
    chunk's pages and writes them again, once."""
    idx = TantivyIndex(folder)
    with pytest.raises(KeyboardInterrupt):
        idx.rebuild((p if i < 12 else (_ for _ in ()).throw(KeyboardInterrupt)
                     for i, p in enumerate(PAGES)), batch=4)
    marker = folder / "gen-0002" / MARKER
    state = json.loads(marker.read_text())
    assert state == {"through": "doc-07", "chunk": 2}  # doc-08..11 were never committed
    marker.write_text(json.dumps({"through": "doc-03", "chunk": 1}))  # as if chunk 2's was lost
    assert idx.rebuild(iter(PAGES)) == len(PAGES) - 4
    assert idx.count() == len(PAGES) and idx.search("nguyen van an").total == len(PAGES)
    assert [k for k, _ in idx.keys()] == [p.document_id for p in PAGES]
    idx.close()


def test_an_unfinished_rebuild_that_is_damaged_is_started_afresh(folder):
    idx = TantivyIndex(folder)
    with pytest.raises(KeyboardInterrupt):
        idx.rebuild((p if i < 20 else (_ for _ in ()).throw(KeyboardInterrupt)
                     for i, p in enumerate(PAGES)), batch=5)
    partial = folder / "gen-0002"
    assert (partial / MARKER).exists()
    garble(max(partial.glob("*.term"), key=lambda p: p.stat().st_size))
    assert idx.rebuild(iter(PAGES)) == len(PAGES)
    assert idx.search("nguyen van an").total == len(PAGES) and idx.check() == []
    idx.close()


def test_a_first_generation_left_unnamed_by_a_stopped_process_is_taken(tmp_path):
    folder = tmp_path / "search"
    TantivyIndex(folder).close()
    (folder / "current").unlink()  # stopped between making gen-0001 and naming it
    idx = TantivyIndex(folder)
    try:
        idx.upsert(PAGES[:2])
        assert idx.search("nguyen van an").total == 2 and live(folder).name == "gen-0001"
    finally:
        idx.close()


def _open_and_write(args) -> str:
    folder, i = args
    idx = TantivyIndex(Path(folder))
    try:
        idx.upsert([PAGES[i]])
        return "ok"
    except SearchUnavailable as exc:
        return str(exc)
    finally:
        idx.close()


def test_processes_writing_one_folder_together_take_turns(tmp_path):
    folder = tmp_path / "search"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        said = pool.map(_open_and_write, [(str(folder), i) for i in range(12)])
    assert said == ["ok"] * 12
    idx = TantivyIndex(folder)
    try:
        assert idx.count() == 12 and idx.check() == []
        assert [k for k, _ in idx.keys()] == [p.document_id for p in PAGES[:12]]
    finally:
        idx.close()


def test_what_another_process_commits_is_found_at_the_next_search(folder):
    reader = TantivyIndex(folder)
    try:
        assert reader.search("pham minh duc").total == 0
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            assert pool.map(_open_and_write, [(str(folder), 3)]) == ["ok"]  # an upsert
        writer = TantivyIndex(folder)
        writer.upsert([IndexedPage("new", 1, "đã sửa: PHẠM MINH ĐỨC", "decision")])
        writer.close()
        assert [h.document_id for h in reader.search("pham minh duc").hits] == ["new"]
        assert reader.count() == len(PAGES) + 1
    finally:
        reader.close()


def test_threads_sharing_one_index_and_two_indexes_of_one_folder_take_turns(tmp_path):
    import threading

    folder = tmp_path / "search"
    one, two = TantivyIndex(folder), TantivyIndex(folder)
    errors = []

    def write(idx, pages):
        try:
            for p in pages:
                idx.upsert([p])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(idx, PAGES[i::4]))
               for i, idx in enumerate([one, one, two, two])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert one.count() == two.count() == len(PAGES)
        assert one.search(SearchQuery("nguyen van an", limit=100)).total == len(PAGES)
    finally:
        one.close()
        two.close()


def test_the_pipeline_skips_a_damaged_index_with_one_warning(folder, caplog):
    from pipeline.indexing import index_delete, index_upsert

    (folder / "current").unlink()
    rt = SimpleNamespace(index=TantivyIndex(folder))
    try:
        with caplog.at_level(logging.INFO, logger="pipeline.indexing"):
            assert index_upsert(rt, PAGES[:2]) == 0
            assert index_upsert(rt, PAGES[2:3]) == 0
            assert index_delete(rt, "doc-01") == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "sohoa reindex" in warnings[0].getMessage()
        rt.index.rebuild(iter(PAGES[:3]))
        assert index_upsert(rt, PAGES[3:4]) == 1
    finally:
        rt.index.close()


def test_sorts_filters_and_cursors_of_other_kinds_are_refused(folder):
    from search.index import BadQuery

    idx = TantivyIndex(folder)
    try:
        by_date = idx.search(SearchQuery("nguyen", sort="date", limit=2)).next
        with pytest.raises(BadQuery):
            idx.search(SearchQuery("nguyen", limit=2, after=by_date))
        with pytest.raises(BadQuery):
            idx.search(SearchQuery("nguyen", sort="size"))
        assert idx.search(SearchQuery("nguyen", type="no_such_type")).total == 0
    finally:
        idx.close()
