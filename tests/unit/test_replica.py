"""ReplicatedStore (storage/replica.py): every write to both stores, reads falling back to the
replica, a replica that fails recorded and never in the way; and how the runtime builds it."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from storage.errors import ObjectMissing, StorageUnavailable
from storage.objects import LocalObjectStore
from storage.replica import JOURNAL, ReplicatedStore, UnreachableStore


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def primary(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "primary")


@pytest.fixture
def replica(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "replica")


@pytest.fixture
def store(primary, replica) -> ReplicatedStore:
    return ReplicatedStore(primary, replica, replica_url="file:///replica")


def broken_folder(tmp_path: Path) -> LocalObjectStore:
    """A folder store whose folder has become a file (a disk gone, say): writes fail."""
    root = tmp_path / "broken"
    store = LocalObjectStore(root)
    root.rmdir()
    root.write_bytes(b"")
    return store


class Counting:
    """A real store that counts the writes it is asked for and fails them while ``down``."""

    def __init__(self, store: LocalObjectStore) -> None:
        self.store, self.down, self.writes = store, False, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    def put(self, key: str, data: bytes) -> None:
        self.writes += 1
        if self.down:
            raise StorageUnavailable("cannot reach the S3 endpoint http://replica:9000")
        self.store.put(key, data)


# -- writes ----------------------------------------------------------------------------------

def test_every_write_reaches_both_copies(store, primary, replica, tmp_path):
    store.put("pages/d/0001.txt", "Nguyễn Văn An".encode())
    src = tmp_path / "scan.jpg"
    src.write_bytes(b"\xff\xd8 scan")
    store.put_file("originals/ab/cd/abcd", src)
    store.copy("originals/ab/cd/abcd", "quarantine/abcd/file/scan.jpg")
    for key in ("pages/d/0001.txt", "originals/ab/cd/abcd", "quarantine/abcd/file/scan.jpg"):
        assert primary.get(key) == replica.get(key)
    store.delete("pages/d/0001.txt")
    assert not primary.exists("pages/d/0001.txt") and not replica.exists("pages/d/0001.txt")
    assert list(store.pending()) == []


def test_put_file_sends_the_replica_the_bytes_the_primary_stored(replica, tmp_path):
    class SourceChangesAfterStoring(LocalObjectStore):  # a file still being written, say
        def put_file(self, key, path):
            super().put_file(key, path)
            Path(path).write_bytes(b"later bytes")

    primary = SourceChangesAfterStoring(tmp_path / "primary")
    src = tmp_path / "scan.tif"
    src.write_bytes(b"the bytes hashed and stored")
    ReplicatedStore(primary, replica).put_file("originals/x", src)
    assert replica.get("originals/x") == primary.get("originals/x") == \
        b"the bytes hashed and stored"


def test_copy_when_the_replica_lacks_the_source_sends_the_primarys_copy(store, primary,
                                                                        replica):
    store.put("originals/a", b"original")
    replica.delete("originals/a")  # lost in the replica earlier
    store.copy("originals/a", "quarantine/a/file/a.jpg")
    assert replica.get("quarantine/a/file/a.jpg") == b"original"
    assert list(store.pending()) == []


def test_a_failed_primary_write_fails_and_leaves_the_replica_alone(replica, tmp_path):
    store = ReplicatedStore(broken_folder(tmp_path), replica)
    with pytest.raises(StorageUnavailable):
        store.put("pages/d/0001.txt", b"text")
    assert not replica.exists("pages/d/0001.txt")


def test_a_failed_replica_write_counts_on_the_primary_is_logged_and_recorded(primary, tmp_path,
                                                                            caplog):
    store = ReplicatedStore(primary, broken_folder(tmp_path), replica_url="file:///full-disk")
    with caplog.at_level(logging.WARNING, logger="storage.replica"):
        store.put("pages/d/0001.txt", b"text")  # no error: the primary has it
    assert primary.get("pages/d/0001.txt") == b"text"
    assert "file:///full-disk did not take put of pages/d/0001.txt" in caplog.text
    assert list(store.pending()) == ["pages/d/0001.txt"]
    entry = store.journal_entry("pages/d/0001.txt")
    assert entry["op"] == "put" and "cannot write object" in entry["error"] and entry["at"]
    assert json.loads(primary.get(f"{JOURNAL}/pages/d/0001.txt")) == entry
    # the journal is the store's own business: not listed as an object, nor copied anywhere
    assert list(store.keys()) == ["pages/d/0001.txt"]
    assert list(store.primary_copy.keys()) == ["pages/d/0001.txt"]
    store.settle("pages/d/0001.txt")
    assert list(store.pending()) == []


def test_after_an_unreachable_replica_writes_skip_it_for_a_pause(primary, tmp_path):
    now = [1000.0]
    replica = Counting(LocalObjectStore(tmp_path / "replica"))
    store = ReplicatedStore(primary, replica, pause=30, clock=lambda: now[0])
    replica.down = True
    store.put("a", b"1")
    store.put("b", b"2")  # within the pause: journalled without asking the replica
    assert replica.writes == 1
    assert sorted(store.pending()) == ["a", "b"]
    assert "replica unavailable: cannot reach" in store.journal_entry("b")["error"]
    replica.down = False
    now[0] += 31
    store.put("c", b"3")
    assert replica.writes == 2 and replica.get("c") == b"3"


def test_a_failed_replica_delete_is_logged_not_raised(primary, tmp_path, caplog):
    replica = LocalObjectStore(tmp_path / "replica")
    store = ReplicatedStore(primary, replica)
    store.put("k", b"v")
    replica.root.rename(tmp_path / "moved")
    replica.root.write_bytes(b"")  # the replica's folder is now a file
    with caplog.at_level(logging.WARNING, logger="storage.replica"):
        store.delete("k")
    assert not primary.exists("k")
    assert "did not delete k" in caplog.text


def test_an_unreachable_replica_is_recorded_write_by_write(primary):
    store = ReplicatedStore(primary, UnreachableStore("s3://far/away", "connection refused"))
    store.put("k", b"v")
    assert store.get("k") == b"v"
    assert list(store.pending()) == ["k"]
    assert "s3://far/away could not be opened" in store.journal_entry("k")["error"]


# -- reads -----------------------------------------------------------------------------------

def test_get_falls_back_to_the_replica_when_the_primary_lost_the_object(store, primary,
                                                                         caplog):
    store.put("pages/d/0001.jpg", b"image")
    primary.delete("pages/d/0001.jpg")
    with caplog.at_level(logging.WARNING, logger="storage.replica"):
        assert store.get("pages/d/0001.jpg") == b"image"
    assert "read of pages/d/0001.jpg: the primary failed" in caplog.text
    assert store.exists("pages/d/0001.jpg")


def test_get_falls_back_when_the_primarys_object_cannot_be_read(store, primary, caplog):
    store.put("pages/d/0001.jpg", b"image")
    path = primary.path("pages/d/0001.jpg")
    path.unlink()
    path.mkdir()  # something unreadable where the file was
    with pytest.raises(StorageUnavailable):
        primary.get("pages/d/0001.jpg")
    with caplog.at_level(logging.WARNING, logger="storage.replica"):
        assert store.get("pages/d/0001.jpg") == b"image"
    assert "cannot read object" in caplog.text


def test_missing_in_both_is_object_missing_and_an_unreachable_replica_says_so(store, primary,
                                                                              tmp_path):
    with pytest.raises(ObjectMissing):
        store.get("nothing")
    assert not store.exists("nothing")
    far = ReplicatedStore(primary, UnreachableStore("s3://far", "refused"))
    with pytest.raises(StorageUnavailable, match="s3://far"):  # a retry may find it
        far.get("nothing")


def test_hashes_and_listing_are_the_primarys_own(store, primary, replica):
    store.put("k", b"v")
    replica.put("only-in-replica", b"x")
    primary.delete("k")
    with pytest.raises(ObjectMissing):  # a fixity check must see the primary as it is
        store.content_sha256("k")
    with pytest.raises(ObjectMissing):
        store.sha256("k")
    assert list(store.keys()) == []
    assert store.local_path("k") == primary.path("k")
    store.put("k", b"v")
    assert store.sha256("k") == store.content_sha256("k") == sha(b"v")


# -- the runtime -----------------------------------------------------------------------------

def test_the_runtime_replicates_when_a_replica_is_set(tmp_path):
    from pipeline.config import Settings
    from pipeline.runtime import _store

    home = tmp_path / "home"
    plain = _store(Settings(home=home))
    assert isinstance(plain, LocalObjectStore)
    built = _store(Settings(home=home, replica_url=f"file://{tmp_path / 'second'}"))
    assert isinstance(built, ReplicatedStore)
    assert built.primary.root == (home / "objects").resolve()
    assert built.replica.root == (tmp_path / "second").resolve()
    built.put("k", b"v")
    assert (tmp_path / "second" / "k").read_bytes() == b"v"


@pytest.mark.parametrize("replica", ["file://{home}/objects", "file://{home}/objects/",
                                     "file://{home}/objects/copy2", "file://{home}"])
def test_a_replica_in_the_primarys_place_is_refused(tmp_path, replica):
    from pipeline.config import Settings
    from pipeline.errors import ConfigError
    from pipeline.runtime import _store

    home = tmp_path / "home"
    with pytest.raises(ConfigError, match="a second copy must be kept apart"):
        _store(Settings(home=home, replica_url=replica.format(home=home)))


def test_s3_replica_urls_are_checked_like_the_primarys(tmp_path):
    from pipeline.config import Settings
    from pipeline.errors import ConfigError
    from pipeline.runtime import _store

    home = tmp_path / "home"
    with pytest.raises(ConfigError, match="SOHOA_REPLICA_URL=s3://b needs SOHOA_S3_ENDPOINT"):
        _store(Settings(home=home, replica_url="s3://b"))
    with pytest.raises(ConfigError, match="same store"):
        _store(Settings(home=home, storage_url="s3://bkt/x", replica_url="s3://bkt/x/",
                        s3_endpoint="http://127.0.0.1:9"))
    with pytest.raises(ConfigError, match="SOHOA_REPLICA_URL 'ftp://x'"):
        _store(Settings(home=home, replica_url="ftp://x"))
    other = _store(Settings(home=home, storage_url="s3://bkt/x", replica_url="s3://bkt/y",
                            s3_endpoint="http://127.0.0.1:9"))
    assert isinstance(other, ReplicatedStore)  # nothing is sent until the first use


def test_a_replica_folder_that_cannot_be_made_does_not_stop_the_primary(tmp_path, caplog):
    from pipeline.config import Settings
    from pipeline.runtime import _store

    (tmp_path / "not-a-folder").write_bytes(b"")
    with caplog.at_level(logging.ERROR, logger="pipeline.runtime"):
        built = _store(Settings(home=tmp_path / "home",
                                replica_url=f"file://{tmp_path / 'not-a-folder' / 'copy'}"))
    assert isinstance(built.replica, UnreachableStore)
    assert "cannot be opened" in caplog.text
    built.put("k", b"v")
    assert built.get("k") == b"v" and list(built.pending()) == ["k"]


# -- verify_copies (pipeline/replicas.py) on objects the catalogue has no hash for -----------

@pytest.fixture
def replicated_runtime(tmp_path):
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    rt = open_runtime(Settings(home=tmp_path / "home",
                               replica_url=f"file://{tmp_path / 'replica'}"))
    yield rt
    rt.close()


def test_objects_outside_the_catalogue_are_compared_and_repaired_both_ways(
        replicated_runtime):
    from pipeline.replicas import verify_copies

    rt = replicated_runtime
    primary, replica = rt.store.primary, rt.store.replica
    rt.store.put("copies/ABCD1234.pdf", b"an issued copy")  # kept for download, no hash row
    assert verify_copies(rt).ok
    replica.delete("copies/ABCD1234.pdf")
    report = verify_copies(rt)
    assert [(c, f.problem, f.key) for c, f in report.findings()] == [
        ("replica", "missing", "copies/ABCD1234.pdf")]
    assert verify_copies(rt, repair=True).ok
    assert replica.get("copies/ABCD1234.pdf") == b"an issued copy"

    primary.delete("copies/ABCD1234.pdf")  # the primary lost it; the replica's is owned
    fixed = verify_copies(rt, repair=True)
    assert [(r.copy, r.source, r.problem) for r in fixed.repaired] == [
        ("primary", "replica", "missing")]
    assert primary.get("copies/ABCD1234.pdf") == b"an issued copy"
    assert [e.action for e in rt.catalogue.audit_entries()][:2] == ["object_repaired"] * 2


def test_journal_entries_are_checked_even_in_a_since_run_and_settled(replicated_runtime,
                                                                      tmp_path):
    import datetime as dt

    from pipeline.replicas import verify_copies

    rt = replicated_runtime
    store, replica = rt.store, rt.store.replica
    store.pause = 0  # no pause after a failure: each write below tries the replica
    store.replica = broken_folder(tmp_path)  # the replica's disk goes away for a while
    for key in ("copies/LOST.pdf", "copies/LATER.pdf", "copies/GONE.pdf"):
        store.put(key, key.encode())
    store.replica = replica  # and comes back
    store.put("copies/LATER.pdf", b"copies/LATER.pdf")  # written again, now to both
    store.delete("copies/GONE.pdf")  # removed since
    assert sorted(store.pending()) == ["copies/GONE.pdf", "copies/LATER.pdf",
                                       "copies/LOST.pdf"]
    since = dt.datetime.now(dt.UTC)  # no document changed since: the journal alone is checked
    report = verify_copies(rt, since=since)
    assert [(c, f.problem, f.key) for c, f in report.findings()] == [
        ("replica", "missing", "copies/LOST.pdf")]
    assert list(store.pending()) == ["copies/LOST.pdf"]  # the others settled
    assert verify_copies(rt, since=since, repair=True).ok
    assert list(store.pending()) == []
    assert replica.get("copies/LOST.pdf") == b"copies/LOST.pdf"


def test_repair_without_a_second_copy_says_how_to_get_one(runtime):
    from pipeline.errors import ConfigError
    from pipeline.replicas import verify_copies

    with pytest.raises(ConfigError, match="no second copy to repair from: set "
                                          "SOHOA_REPLICA_URL"):
        verify_copies(runtime, repair=True)
    assert verify_copies(runtime).ok
