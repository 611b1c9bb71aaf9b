"""One contract for every object store: the local folder and an S3 API server.

S3: with SOHOA_TEST_S3_ENDPOINT set (and SOHOA_TEST_S3_ACCESS_KEY / SOHOA_TEST_S3_SECRET_KEY),
that server, e.g. a real MinIO; otherwise moto's S3 server, started in this process on
127.0.0.1 (a free port) for the module and stopped after it.

What moto does and does not do, checked against moto 5.2 (and noted where a test depends on it):
- multipart uploads: real ones, with an ETag "<md5>-<parts>" as S3 and MinIO give;
- presigned URLs: the signature is not checked and the expiry is not enforced, so against moto
  the expiry test checks the signed X-Amz-Expires only; against a real server it waits it out;
- credentials: accepted whatever they are, unless IAM checks are switched on; moto's
  ``enable_iam_authentication`` does that in-process (the server runs in this process), so
  wrong credentials are refused for real (InvalidAccessKeyId, SignatureDoesNotMatch).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import socket
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
import urllib3
from minio.error import S3Error, ServerError

from storage.errors import ObjectMissing, StorageAuthError, StorageError, StorageUnavailable
from storage.objects import LocalObjectStore
from storage.replica import ReplicatedStore
from storage.s3 import S3ObjectStore, is_transient, storage_error, with_retries

S3_ENDPOINT = os.environ.get("SOHOA_TEST_S3_ENDPOINT", "")
MiB = 1 << 20


class S3Server(NamedTuple):
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    moto: bool


@pytest.fixture(scope="module")
def s3_server():
    """The S3 API server for the module, with a bucket name of its own (made by the stores)."""
    bucket = f"sohoa-contract-{uuid.uuid4().hex[:10]}"
    if S3_ENDPOINT:
        server = S3Server(S3_ENDPOINT, os.environ.get("SOHOA_TEST_S3_ACCESS_KEY", ""),
                          os.environ.get("SOHOA_TEST_S3_SECRET_KEY", ""), bucket, moto=False)
        yield server
        _drop_bucket(server)
        return
    from moto.server import ThreadedMotoServer

    # port 0: the OS picks a free port while binding, so no other process can take it first
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield S3Server(endpoint, "sohoa-test", "sohoa-test-secret", bucket, moto=True)
    finally:
        # moto keeps its buckets in this process's memory: drop them, then stop the server
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset",
                                                      method="POST"), timeout=10).close()
        moto.stop()


def _drop_bucket(server: S3Server) -> None:
    """Leave a real server as it was: every object, then every bucket the module made."""
    store = S3ObjectStore(server.endpoint, server.bucket, server.access_key, server.secret_key)
    client = store.client
    for bucket in [b.name for b in client.list_buckets() if b.name.startswith(server.bucket)]:
        for obj in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, obj.object_name)
        client.remove_bucket(bucket)


def make_s3(server: S3Server, **options) -> S3ObjectStore:
    options.setdefault("prefix", f"t-{uuid.uuid4().hex[:10]}")  # each test on a clean slate
    return S3ObjectStore(server.endpoint, options.pop("bucket", server.bucket),
                         options.pop("access_key", server.access_key),
                         options.pop("secret_key", server.secret_key), **options)


@pytest.fixture(params=["local", "s3", "replicated"])
def store(request, tmp_path):
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "objects")
        return
    s3 = make_s3(request.getfixturevalue("s3_server"), backoff=0.01)
    if request.param != "replicated":
        yield s3
        return
    # a folder, with a second copy of each object in S3: after each test both hold the same
    replicated = ReplicatedStore(LocalObjectStore(tmp_path / "objects"), s3)
    yield replicated
    assert sorted(replicated.primary.keys()) == sorted(s3.keys())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def recorded_sha256(store, key: str) -> str | None:
    """S3: the hash in the object's metadata (what sha256() answers from without a download);
    the local store records none."""
    if isinstance(store, ReplicatedStore):
        return recorded_sha256(store.primary, key)
    if isinstance(store, LocalObjectStore):
        return None
    return store.client.stat_object(store.bucket, store.object_name(key)).metadata.get(
        "x-amz-meta-sha256")


def tamper(store, key: str, data: bytes) -> None:
    """Change an object's bytes behind the store's back (bit rot, a stray tool)."""
    if isinstance(store, ReplicatedStore):  # the primary's copy: hashes are the primary's
        tamper(store.primary, key, data)
        return
    if isinstance(store, LocalObjectStore):
        store.path(key).write_bytes(data)
        return
    # A raw upload that keeps the old recorded hash: the metadata now lies about the content.
    stale = store.sha256(key)
    store.client.put_object(store.bucket, store.object_name(key), io.BytesIO(data), len(data),
                            metadata={"sha256": stale})


# -- the contract ------------------------------------------------------------------------------

def test_put_get_round_trip(store):
    data = "GIẤY KHAI SINH — Nguyễn".encode() + bytes(range(256))
    store.put("pages/d1/0001.txt", data)
    assert store.get("pages/d1/0001.txt") == data
    store.put("empty", b"")
    assert store.get("empty") == b""


def test_put_file_large_goes_up_in_parts_and_round_trips(store, tmp_path):
    data = os.urandom(40 * MiB + 12345)  # three 16 MiB parts on S3, the last one short
    src = tmp_path / "scan.tif"
    src.write_bytes(data)
    store.put_file("originals/big", src)
    assert store.sha256("originals/big") == sha(data)
    assert store.content_sha256("originals/big") == sha(data)
    assert store.get("originals/big") == data
    if isinstance(store, S3ObjectStore):
        stat = store.client.stat_object(store.bucket, store.object_name("originals/big"))
        parts = math.ceil(len(data) / store.part_size)
        assert parts == 3
        # a multipart ETag is "<md5 of the parts' md5s>-<number of parts>" (moto and MinIO alike)
        assert stat.etag.endswith(f"-{parts}"), stat.etag
        assert recorded_sha256(store, "originals/big") == sha(data)


def test_put_file_small(store, tmp_path):
    src = tmp_path / "small.bin"
    src.write_bytes(b"x" * 3000)
    store.put_file("originals/small", src)
    assert store.get("originals/small") == b"x" * 3000
    assert store.sha256("originals/small") == sha(b"x" * 3000)


def test_exists_and_delete(store):
    assert not store.exists("a/b")
    store.put("a/b", b"1")
    assert store.exists("a/b")
    assert not store.exists("a")  # a "folder" is not an object
    store.delete("a/b")
    assert not store.exists("a/b")
    store.delete("a/b")  # deleting nothing is fine


def test_get_missing_is_object_missing(store):
    with pytest.raises(ObjectMissing, match="no object nothing/here"):
        store.get("nothing/here")
    with pytest.raises(ObjectMissing):
        store.sha256("nothing/here")
    with pytest.raises(ObjectMissing):
        store.content_sha256("nothing/here")


def test_keys_lists_exactly_what_is_under_the_prefix(store):
    for key in ["pages/d1/0001.jpg", "pages/d1/0002.jpg", "pages/d1/sub/x.json",
                "pages/d10/0001.jpg", "pages-old/d1/0001.jpg", "originals/ab/cd/abcd", "top"]:
        store.put(key, key.encode())
    assert sorted(store.keys("pages/d1")) == ["pages/d1/0001.jpg", "pages/d1/0002.jpg",
                                              "pages/d1/sub/x.json"]
    assert sorted(store.keys("pages/d1/")) == sorted(store.keys("pages/d1"))
    assert sorted(store.keys("pages")) == ["pages/d1/0001.jpg", "pages/d1/0002.jpg",
                                           "pages/d1/sub/x.json", "pages/d10/0001.jpg"]
    assert list(store.keys("pages/d1/0001.jpg")) == ["pages/d1/0001.jpg"]  # a key: itself
    assert list(store.keys("nothing")) == []
    assert sorted(store.keys()) == sorted(
        ["pages/d1/0001.jpg", "pages/d1/0002.jpg", "pages/d1/sub/x.json", "pages/d10/0001.jpg",
         "pages-old/d1/0001.jpg", "originals/ab/cd/abcd", "top"])


def test_sha256_matches_hashlib(store):
    data = os.urandom(100_000)
    store.put("k", data)
    assert store.sha256("k") == sha(data)
    assert store.content_sha256("k") == sha(data)
    if isinstance(store, S3ObjectStore):
        assert recorded_sha256(store, "k") == sha(data)


def test_content_sha256_sees_content_changed_behind_the_stores_back(store):
    store.put("originals/x", b"the scan as ingested")
    recorded = store.sha256("originals/x")
    tamper(store, "originals/x", b"the scan, silently changed")
    assert store.content_sha256("originals/x") == sha(b"the scan, silently changed")
    assert store.content_sha256("originals/x") != recorded
    if isinstance(store, S3ObjectStore):  # sha256() trusts the (now stale) metadata
        assert store.sha256("originals/x") == recorded


def test_copy_keeps_content_and_hash(store):
    data = os.urandom(5000)
    store.put("src/a", data)
    store.copy("src/a", "dst/b")
    assert store.get("dst/b") == data
    assert store.sha256("dst/b") == sha(data)
    if isinstance(store, S3ObjectStore):  # the hash travels with the copy, no re-hash needed
        assert recorded_sha256(store, "dst/b") == sha(data)
    assert store.get("src/a") == data  # the source stays
    store.copy("src/a", "src/a")  # onto itself: harmless
    assert store.get("src/a") == data


def test_copy_of_missing_is_object_missing(store):
    with pytest.raises(ObjectMissing, match="no object src/none"):
        store.copy("src/none", "dst/none")
    assert not store.exists("dst/none")


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a\\b"])
def test_invalid_keys_are_rejected(store, key):
    with pytest.raises(StorageError, match="invalid object key"):
        store.put(key, b"x")
    with pytest.raises(StorageError, match="invalid object key"):
        store.get(key)
    store.put("fine", b"x")
    with pytest.raises(StorageError, match="invalid object key"):
        store.copy("fine", key)
    with pytest.raises(StorageError, match="invalid object key"):
        store.copy(key, "fine")


def test_overwriting_replaces_content_and_hash(store, tmp_path):
    store.put("k", b"first")
    store.put("k", b"second")
    assert store.get("k") == b"second"
    assert store.sha256("k") == sha(b"second")
    src = tmp_path / "third.bin"
    src.write_bytes(b"third")
    store.put_file("k", src)
    assert store.get("k") == b"third"
    assert store.sha256("k") == sha(b"third")


def test_presigned_url(store, s3_server_if_s3):
    store.put("share/page.jpg", b"page bytes")
    if isinstance(store, (LocalObjectStore, ReplicatedStore)):  # (a folder primary)
        assert store.presigned_url("share/page.jpg", timedelta(minutes=5)) is None
        return
    url = store.presigned_url("share/page.jpg", timedelta(minutes=5))
    with urllib.request.urlopen(url, timeout=10) as resp:  # no credentials: the URL is enough
        assert resp.read() == b"page bytes"
    short = store.presigned_url("share/page.jpg", timedelta(seconds=1))
    assert "X-Amz-Expires=1&" in short
    if s3_server_if_s3.moto:
        return  # moto ignores the expiry (see the module docstring): the signed value is all
    import time

    time.sleep(2.5)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(short, timeout=10)
    assert err.value.code == 403


@pytest.fixture
def s3_server_if_s3(request, store):
    return request.getfixturevalue("s3_server") if isinstance(store, S3ObjectStore) else None


# -- S3 only: the server's own failure modes ---------------------------------------------------

class CountingPool(urllib3.PoolManager):
    """A connection pool that counts the requests sent through it."""

    def __init__(self, **kw) -> None:
        super().__init__(timeout=urllib3.Timeout(connect=2, read=5), retries=False, **kw)
        self.requests = 0

    def urlopen(self, *args, **kw):
        self.requests += 1
        return super().urlopen(*args, **kw)


def test_s3_unreachable_endpoint_gives_up_after_bounded_retries():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
        pool = CountingPool()
        store = S3ObjectStore(endpoint, "sohoa-nowhere", "k", "s", attempts=3, backoff=0.001,
                              http=pool)
        with pytest.raises(StorageUnavailable) as err:
            store.put("a", b"x")
    assert f"cannot reach the S3 endpoint {endpoint}" in str(err.value)
    assert "gave up after 3 attempts" in str(err.value)
    assert err.value.retryable
    assert pool.requests == 3


def test_s3_wrong_credentials_are_an_auth_error(s3_server):
    if not s3_server.moto:
        store = make_s3(s3_server, secret_key=s3_server.secret_key + "-wrong")
        with pytest.raises(StorageAuthError, match="SOHOA_S3_SECRET_KEY"):
            store.put("a", b"x")
        return
    import boto3
    from moto.core import enable_iam_authentication

    # A real IAM user on the moto server, so that a wrong secret for a known key can be tried.
    iam = boto3.client("iam", endpoint_url=s3_server.endpoint, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    user = f"sohoa-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    with enable_iam_authentication():  # moto checks signatures from here on, until the end
        for access, secret, code in [
            ("AKIAUNKNOWNUNKNOWN00", "whatever", "InvalidAccessKeyId"),
            (key["AccessKeyId"], "not-the-secret", "SignatureDoesNotMatch"),
        ]:
            pool = CountingPool()
            store = make_s3(s3_server, access_key=access, secret_key=secret, http=pool)
            with pytest.raises(StorageAuthError) as err:
                store.put("a", b"x")
            message = str(err.value)
            assert code in message and s3_server.endpoint in message
            assert "SOHOA_S3_ACCESS_KEY / SOHOA_S3_SECRET_KEY" in message
            assert not err.value.retryable
            assert pool.requests == 1  # refused credentials are not retried


def s3_error(code: str, status: int) -> S3Error:
    response = urllib3.HTTPResponse(body=b"", status=status)
    return S3Error(response, code, f"{code} happened", "/bucket/key", "req", "host")


@pytest.mark.parametrize("code", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"])
def test_s3_auth_codes_map_to_auth_error(code):
    # The mapping itself, for AccessDenied in particular (moto returns it only for policies).
    err = storage_error(s3_error(code, 403), endpoint="http://minio:9000", bucket="b",
                        what="upload of k", key="k")
    assert type(err) is StorageAuthError
    assert "http://minio:9000" in str(err) and "SOHOA_S3_SECRET_KEY" in str(err)


def test_s3_error_mapping():
    def mapped(exc, attempts=1):
        return storage_error(exc, endpoint="http://m:9", bucket="b", what="x", key="k",
                             attempts=attempts)

    assert type(mapped(s3_error("NoSuchKey", 404))) is ObjectMissing
    assert type(mapped(s3_error("SlowDown", 503), 4)) is StorageUnavailable
    assert "gave up after 4 attempts" in str(mapped(s3_error("InternalError", 500), 4))
    assert type(mapped(ServerError("boom", 502), 4)) is StorageUnavailable
    assert type(mapped(s3_error("InvalidArgument", 400))) is StorageError


def test_s3_transient_classification():
    assert is_transient(s3_error("SlowDown", 503))
    assert is_transient(s3_error("RequestTimeout", 400))
    assert is_transient(s3_error("WhoKnows", 500))
    assert is_transient(ServerError("bad gateway", 502))
    assert is_transient(urllib3.exceptions.ProtocolError("connection aborted"))
    assert is_transient(urllib3.exceptions.MaxRetryError(None, "/", "refused"))
    assert is_transient(ConnectionResetError())
    assert not is_transient(s3_error("NoSuchKey", 404))
    assert not is_transient(s3_error("AccessDenied", 403))
    assert not is_transient(ValueError("bad name"))


def test_s3_retry_loop_retries_transient_errors_then_succeeds():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) <= 2:
            raise urllib3.exceptions.ProtocolError("Connection aborted")
        return "done"

    assert with_retries(flaky, attempts=4, backoff=0.2, sleep=sleeps.append) == "done"
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0.1 <= sleeps[0] <= 0.2 and 0.2 <= sleeps[1] <= 0.4  # exponential, with jitter


def test_s3_retry_loop_is_bounded_and_skips_permanent_errors():
    calls = []

    def down():
        calls.append(1)
        raise ServerError("unavailable", 503)

    with pytest.raises(ServerError):
        with_retries(down, attempts=4, backoff=0.2, sleep=lambda _: None)
    assert len(calls) == 4

    calls.clear()

    def denied():
        calls.append(1)
        raise s3_error("AccessDenied", 403)

    with pytest.raises(S3Error):
        with_retries(denied, attempts=4, backoff=0.2, sleep=lambda _: None)
    assert len(calls) == 1


def test_s3_bucket_is_created_on_first_use_and_a_race_is_harmless(s3_server):
    bucket = f"{s3_server.bucket}-new"
    first = make_s3(s3_server, bucket=bucket)
    assert not first.client.bucket_exists(bucket)  # nothing is sent at construction
    first.put("k", b"v")
    assert first.client.bucket_exists(bucket)
    second = make_s3(s3_server, bucket=bucket, prefix=first.prefix)
    assert second.get("k") == b"v"
    # The race: the bucket appeared between our check and our create. Outside us-east-1 both
    # moto and MinIO answer BucketAlreadyOwnedByYou, which must be taken as success.
    if s3_server.moto:
        racer = make_s3(s3_server, bucket=f"{s3_server.bucket}-eu", region="eu-west-1")
        racer.client.make_bucket(racer.bucket, location="eu-west-1")
        with pytest.raises(S3Error, match="BucketAlreadyOwnedByYou"):
            racer.client.make_bucket(racer.bucket, location="eu-west-1")
        racer._create_bucket()  # what runs when the existence check said no
        racer.put("k", b"v")
        assert racer.get("k") == b"v"


def test_s3_from_url_and_endpoint_forms(s3_server):
    store = S3ObjectStore.from_url(f"s3://{s3_server.bucket}/archive/2024", s3_server.endpoint,
                                   s3_server.access_key, s3_server.secret_key)
    assert (store.bucket, store.prefix) == (s3_server.bucket, "archive/2024")
    store.put("k", b"v")
    assert store.client.stat_object(s3_server.bucket, "archive/2024/k").size == 1
    assert list(store.keys()) == ["k"]
    assert S3ObjectStore("minio.example:9000", "bkt", "a", "b").endpoint == \
        "https://minio.example:9000"
    assert S3ObjectStore("http://h:9000", "bkt", "a", "b").endpoint == "http://h:9000"
    for bad in ["ftp://h:1", "http://h:9000/path", ""]:
        with pytest.raises(StorageError):
            S3ObjectStore(bad, "bkt", "a", "b")
    with pytest.raises(StorageError, match="bucket"):
        S3ObjectStore("http://h:9000", "No_Such_Name", "a", "b")
    with pytest.raises(StorageError):
        S3ObjectStore.from_url("s3:///prefix-only", "http://h:9000", "a", "b")


def test_s3_file_changed_during_upload_is_recorded_truthfully(s3_server, tmp_path):
    # Other bytes of the same size between the hashing pass and the upload: the recorded hash
    # must be that of what was stored, so that ingest's sha256 comparison catches the change.
    src = tmp_path / "changing.bin"
    src.write_bytes(b"a" * 1000)

    class ChangesAfterHashing(S3ObjectStore):
        @staticmethod
        def _file_sha256(path: Path) -> str:
            digest = S3ObjectStore._file_sha256(path)
            Path(path).write_bytes(b"b" * 1000)  # a copy still being written, say
            return digest

    store = ChangesAfterHashing(s3_server.endpoint, s3_server.bucket, s3_server.access_key,
                                s3_server.secret_key, prefix=f"t-{uuid.uuid4().hex[:8]}")
    store.put_file("f", src)
    assert store.get("f") == b"b" * 1000
    assert store.sha256("f") == sha(b"b" * 1000) == store.content_sha256("f")


# -- the runtime factory ----------------------------------------------------------------------

def test_runtime_builds_the_s3_store_from_settings(s3_server, tmp_path, monkeypatch):
    from pipeline.config import Settings
    from pipeline.errors import ConfigError
    from pipeline.runtime import _store

    monkeypatch.setenv("SOHOA_STORAGE_URL", f"s3://{s3_server.bucket}")
    monkeypatch.setenv("SOHOA_S3_ENDPOINT", s3_server.endpoint)
    monkeypatch.setenv("SOHOA_S3_ACCESS_KEY", s3_server.access_key)
    monkeypatch.setenv("SOHOA_S3_SECRET_KEY", s3_server.secret_key)
    store = _store(Settings(home=tmp_path / "home"))
    assert isinstance(store, S3ObjectStore) and store.bucket == s3_server.bucket
    key = f"runtime/{uuid.uuid4().hex}"
    store.put(key, b"via settings")
    assert store.get(key) == b"via settings"
    store.delete(key)

    monkeypatch.setenv("SOHOA_S3_ENDPOINT", "")
    with pytest.raises(ConfigError, match="SOHOA_S3_ENDPOINT"):
        _store(Settings(home=tmp_path / "home"))
    monkeypatch.setenv("SOHOA_S3_ENDPOINT", s3_server.endpoint)
    monkeypatch.setenv("SOHOA_STORAGE_URL", "s3://X_bad_bucket")
    with pytest.raises(ConfigError, match="bucket"):
        _store(Settings(home=tmp_path / "home"))


def test_s3_listing_resumes_after_a_transient_failure(s3_server):
    store = make_s3(s3_server, backoff=0.001)
    keys = [f"pages/d/{n:04}.jpg" for n in range(5)]
    for key in keys:
        store.put(key, b"p")

    class DropsOnce:
        """The real client, except that the first listing breaks after two objects."""

        def __init__(self, real) -> None:
            self.real, self.calls = real, []

        def __getattr__(self, name):
            return getattr(self.real, name)

        def list_objects(self, *args, start_after=None, **kw):
            self.calls.append(start_after)
            for n, obj in enumerate(self.real.list_objects(*args, start_after=start_after, **kw)):
                if len(self.calls) == 1 and n == 2:
                    raise urllib3.exceptions.ProtocolError("Connection broken")
                yield obj

    store.client = DropsOnce(store.client)
    assert list(store.keys("pages")) == keys  # each once, in order
    assert store.client.calls == [None, store.object_name(keys[1])]


def test_s3_sha256_of_an_object_without_recorded_hash_is_computed(s3_server):
    store = make_s3(s3_server)
    store.put("seed", b"")  # makes the bucket
    # written by another tool: no x-amz-meta-sha256, so the store hashes the content
    store.client.put_object(store.bucket, store.object_name("foreign"), io.BytesIO(b"abc"), 3)
    assert recorded_sha256(store, "foreign") is None
    assert store.sha256("foreign") == sha(b"abc")
