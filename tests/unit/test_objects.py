import pytest

from storage.errors import ObjectMissing, StorageError
from storage.objects import LocalObjectStore, sharded


def test_put_get_exists_delete_and_keys(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    store.put("pages/abc/0001.txt", "Nguyễn".encode())
    assert store.exists("pages/abc/0001.txt")
    assert store.get("pages/abc/0001.txt").decode() == "Nguyễn"
    store.put("pages/abc/0001.txt", b"replaced")
    assert store.get("pages/abc/0001.txt") == b"replaced"
    assert list(store.keys("pages")) == ["pages/abc/0001.txt"]
    store.delete("pages/abc/0001.txt")
    assert not store.exists("pages/abc/0001.txt")
    with pytest.raises(ObjectMissing):
        store.get("pages/abc/0001.txt")


def test_put_file_and_hash(tmp_path):
    src = tmp_path / "scan.bin"
    src.write_bytes(b"x" * 3_000_000)
    store = LocalObjectStore(tmp_path / "objects")
    import hashlib

    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    key = sharded("originals", sha)
    assert key == f"originals/{sha[:2]}/{sha[2:4]}/{sha}"
    store.put_file(key, src)
    assert store.sha256(key) == sha
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "objects").rglob("*"))


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a\\b"])
def test_keys_cannot_escape_the_store(tmp_path, key):
    store = LocalObjectStore(tmp_path)
    with pytest.raises(StorageError):
        store.put(key, b"x")


def test_a_failed_write_leaves_nothing_under_the_key(tmp_path):
    store = LocalObjectStore(tmp_path)

    class Boom(Exception):
        pass

    def fill(out):
        out.write(b"half")
        raise Boom

    with pytest.raises(Boom):
        store._write("a/b.txt", fill)
    assert not store.exists("a/b.txt")
    assert list(store.keys()) == []
