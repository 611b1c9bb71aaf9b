"""An object store on any S3 API server (MinIO, Ceph RGW, AWS S3), through the ``minio`` SDK.

Keys are the same relative POSIX paths as in the local store, stored under an optional prefix
in one bucket. Each object carries the SHA-256 of its content in user metadata
(``x-amz-meta-sha256``), so ``sha256`` costs one HEAD; ``content_sha256`` reads the bytes back
and hashes them, for fixity checks that must not trust metadata.

Transient failures (connection errors, 5xx, SlowDown…) are retried here, a few times with
exponential backoff and jitter; urllib3's own retries are turned off so that this loop alone
decides. Errors come out as ``storage.errors`` classes whose messages name the endpoint.
The retry loop and the error mapping are in ``storage.s3_errors``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TypeVar
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.error import S3Error
from minio.helpers import check_bucket_name

from storage.errors import ObjectMissing, StorageError
from storage.s3_errors import backoff_delay, is_transient, storage_error, with_retries

log = logging.getLogger(__name__)

T = TypeVar("T")

CHUNK = 1 << 20
PART_SIZE = 16 << 20  # multipart part size; S3 allows 5 MiB to 5 GiB per part
MAX_PARTS = 10_000  # S3's limit on parts per upload; larger files get larger parts
META_SHA256 = "sha256"  # sent as x-amz-meta-sha256
_HEX = frozenset("0123456789abcdef")


def object_key(key: str) -> str:
    """``key`` normalised ("a//b/./c" → "a/b/c"), or StorageError when it is not a relative
    path inside the store: the same rule as the local store's."""
    pure = PurePosixPath(key)
    if not key or pure.is_absolute() or ".." in pure.parts or "\\" in key or not pure.parts:
        raise StorageError(f"invalid object key {key!r}")
    return "/".join(pure.parts)


def http_client(*, connect_timeout: float = 5.0, read_timeout: float = 60.0
                ) -> urllib3.PoolManager:
    """A connection pool with timeouts and no retries of its own (``with_retries`` decides)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=False,  # errors surface at once, unwrapped; redirects are minio's to handle
    )


class _HashingReader:
    """A binary file that hashes what is read from it, in order (minio reads parts in turn)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.hash.update(data)
        return data


class S3ObjectStore:
    """The ObjectStore protocol on one bucket (created on first use) of an S3 API server."""

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str, *,
                 secure: bool | None = None, region: str | None = None, prefix: str = "",
                 attempts: int = 4, backoff: float = 0.2, connect_timeout: float = 5.0,
                 read_timeout: float = 60.0, part_size: int = PART_SIZE,
                 http: urllib3.PoolManager | None = None) -> None:
        """``endpoint`` is ``http(s)://host:port`` (the scheme decides TLS unless ``secure``
        says otherwise; a bare ``host:port`` means https). ``attempts`` bounds the tries of
        each request, ``backoff`` is the first retry's delay in seconds."""
        parsed = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
        if (parsed.scheme not in ("", "http", "https") or not parsed.hostname
                or parsed.path.strip("/") or parsed.query):
            raise StorageError(f"S3 endpoint {endpoint!r}: use http(s)://host:port")
        if secure is None:
            secure = parsed.scheme != "http"
        try:
            check_bucket_name(bucket, strict=True)
        except ValueError as exc:
            raise StorageError(f"invalid S3 bucket name {bucket!r}: {exc}") from None
        if attempts < 1 or not 5 << 20 <= part_size <= 5 << 30:
            raise StorageError("S3 store: attempts must be ≥ 1 and part_size 5 MiB to 5 GiB")
        self.endpoint = f"{'https' if secure else 'http'}://{parsed.netloc}"
        self.bucket = bucket
        self.region = region or None
        self.prefix = object_key(prefix) if prefix.strip("/") else ""
        self.attempts = attempts
        self.backoff = backoff
        self.part_size = part_size
        try:
            self.client = Minio(
                parsed.netloc, access_key=access_key or None, secret_key=secret_key or None,
                secure=secure, region=self.region,
                http_client=http or http_client(connect_timeout=connect_timeout,
                                                read_timeout=read_timeout))
        except ValueError as exc:
            raise StorageError(f"S3 endpoint {endpoint!r}: {exc}") from None
        self._bucket_ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, endpoint: str, access_key: str, secret_key: str,
                 **options) -> S3ObjectStore:
        """The store for ``s3://BUCKET[/prefix]`` on ``endpoint``; ``options`` as for the
        constructor (``region``, ``attempts``…)."""
        parsed = urlsplit(url)
        if parsed.scheme != "s3" or not parsed.netloc or parsed.query:
            raise StorageError(f"S3 storage URL {url!r}: use s3://BUCKET or s3://BUCKET/prefix")
        return cls(endpoint, parsed.netloc, access_key, secret_key,
                   prefix=parsed.path.strip("/"), **options)

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.endpoint!r}, {self.bucket!r}, prefix={self.prefix!r})"

    # -- plumbing ------------------------------------------------------------------------

    def object_name(self, key: str) -> str:
        """The S3 object name of ``key``: the store's prefix, then the normalised key."""
        key = object_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, call: Callable[[], T], key: str | None = None) -> T:
        """``call()`` after making sure the bucket exists, with retries and error mapping."""
        self._ensure_bucket()
        return self._retry(what, call, key)

    def _retry(self, what: str, call: Callable[[], T], key: str | None = None) -> T:
        try:
            return with_retries(call, attempts=self.attempts, backoff=self.backoff, what=what)
        except Exception as exc:
            err = storage_error(exc, endpoint=self.endpoint, bucket=self.bucket, what=what,
                                key=key, attempts=self.attempts if is_transient(exc) else 1)
            if isinstance(exc, S3Error) and exc.code == "NoSuchBucket":
                self._bucket_ready = False  # deleted behind our back: make it again next time
            if err is exc:  # already a storage error
                raise
            raise err from exc

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._lock:
            if not self._bucket_ready:
                self._retry(f"check or creation of the bucket {self.bucket}", self._make_bucket)
                self._bucket_ready = True

    def _make_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            self._create_bucket()

    def _create_bucket(self) -> None:
        try:
            self.client.make_bucket(self.bucket, location=self.region)
        except S3Error as exc:
            # Another process made it between our check and our request: fine if it is ours.
            if exc.code == "BucketAlreadyOwnedByYou":
                return
            if exc.code == "BucketAlreadyExists" and self.client.bucket_exists(self.bucket):
                return
            raise
        log.info("created the bucket %s at %s", self.bucket, self.endpoint)

    def _stat(self, key: str):
        name = self.object_name(key)
        return self._call(f"stat of {key}", lambda: self.client.stat_object(self.bucket, name),
                          key)

    @staticmethod
    def _meta(sha256: str) -> dict[str, str]:
        return {META_SHA256: sha256}

    @staticmethod
    def _file_sha256(path: Path) -> str:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                h.update(chunk)
        return h.hexdigest()

    # -- the ObjectStore protocol ----------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        name = self.object_name(key)
        meta = self._meta(hashlib.sha256(data).hexdigest())
        self._call(f"upload of {key}", lambda: self.client.put_object(
            self.bucket, name, io.BytesIO(data), len(data), metadata=meta,
            part_size=self.part_size), key)

    def put_file(self, key: str, path: Path) -> None:
        """Upload ``path``; files larger than one part go up in parts (multipart upload)."""
        name = self.object_name(key)
        try:
            size = os.stat(path).st_size
            digest = self._file_sha256(path)  # first pass: the hash goes before the bytes
        except OSError as exc:
            raise StorageError(f"cannot read {path} to upload it as {key}: {exc}") from exc
        # S3 allows at most 10,000 parts: beyond 160 GB, grow the parts (in whole MiB).
        part = max(self.part_size, -(-size // MAX_PARTS // (1 << 20)) << 20)
        streamed: list[str] = []

        def upload() -> None:
            with open(path, "rb") as raw:
                reader = _HashingReader(raw)
                self.client.put_object(self.bucket, name, reader, size, metadata=self._meta(digest),
                                       part_size=part)
                streamed.append(reader.hash.hexdigest())

        try:
            self._call(f"upload of {key}", upload, key)
        except StorageError as err:
            # minio reads exactly `size` bytes and says so when the file ran short
            if isinstance(err.__cause__, OSError) and "not enough data" in str(err.__cause__):
                raise StorageError(f"{path} shrank while it was uploaded as {key}") from err
            raise
        if streamed[-1] != digest:
            # The file changed between the two reads. Record the hash of what was stored so
            # that sha256() tells the truth and a caller comparing hashes sees the change.
            log.warning("%s changed while it was uploaded as %s", path, key)
            self._call(f"metadata update of {key}", lambda: self.client.copy_object(
                self.bucket, name, CopySource(self.bucket, name),
                metadata=self._meta(streamed[-1]), metadata_directive=REPLACE), key)

    def get(self, key: str) -> bytes:
        name = self.object_name(key)

        def read() -> bytes:
            resp = self.client.get_object(self.bucket, name)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        return self._call(f"download of {key}", read, key)

    def exists(self, key: str) -> bool:
        try:
            self._stat(key)
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none (S3 says so too)."""
        name = self.object_name(key)
        self._call(f"delete of {key}", lambda: self.client.remove_object(self.bucket, name), key)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """The keys at or under ``prefix`` (a key or a folder, as in the local store), in
        S3's lexicographic order, relative to the store's own prefix."""
        base = f"{self.prefix}/" if self.prefix else ""
        under = object_key(prefix) if prefix else ""
        # List by the plain string prefix so that the key `under` itself is found too, then
        # drop siblings such as "pages-old/…" for "pages": keys() matches whole path parts.
        listing = base + under
        self._ensure_bucket()
        last: str | None = None  # the last name seen: after a transient failure, resume there
        failures = 0
        while True:
            try:
                for obj in self.client.list_objects(self.bucket, prefix=listing, recursive=True,
                                                    start_after=last):
                    name = obj.object_name
                    last = name
                    rel = name[len(base):]
                    if name.endswith("/") or (under and rel != under
                                              and not rel.startswith(under + "/")):
                        continue  # a "folder" marker made by some consoles, or a sibling
                    yield rel
                return
            except Exception as exc:
                failures += 1
                if failures >= self.attempts or not is_transient(exc):
                    raise storage_error(exc, endpoint=self.endpoint, bucket=self.bucket,
                                        what=f"listing of {prefix or '/'}",
                                        attempts=failures) from exc
                delay = backoff_delay(failures, self.backoff)
                log.warning("S3 listing failed (%s); attempt %d of %d, resuming in %.2f s",
                            exc, failures, self.attempts, delay)
                time.sleep(delay)

    def sha256(self, key: str) -> str:
        """The hash recorded at upload (one HEAD request); objects written by other tools,
        without it, are downloaded and hashed."""
        recorded = (self._stat(key).metadata or {}).get(f"x-amz-meta-{META_SHA256}", "")
        recorded = recorded.strip().lower()
        if len(recorded) == 64 and set(recorded) <= _HEX:
            return recorded
        return self.content_sha256(key)

    def content_sha256(self, key: str) -> str:
        """The hash of the bytes the server returns now, streamed: a fixity check."""
        name = self.object_name(key)

        def digest() -> str:
            h = hashlib.sha256()
            resp = self.client.get_object(self.bucket, name)
            try:
                for chunk in resp.stream(CHUNK):
                    h.update(chunk)
            finally:
                resp.close()
                resp.release_conn()
            return h.hexdigest()

        return self._call(f"download of {key}", digest, key)

    def copy(self, src: str, dst: str) -> None:
        """A server-side copy that keeps the recorded hash; ObjectMissing without ``src``."""
        src_name, dst_name = self.object_name(src), self.object_name(dst)
        sha = self.sha256(src)  # ObjectMissing when src is absent
        # The hash is passed explicitly (REPLACE) rather than copied: above 5 GiB minio
        # composes the copy from parts and would drop metadata it was not given.
        self._call(f"copy of {src} to {dst}", lambda: self.client.copy_object(
            self.bucket, dst_name, CopySource(self.bucket, src_name),
            metadata=self._meta(sha), metadata_directive=REPLACE), src)

    def local_path(self, key: str) -> Path | None:
        object_key(key)
        return None

    def presigned_url(self, key: str, expires: timedelta) -> str:
        """A URL to GET the object without credentials until ``expires`` (1 s to 7 days) has
        passed. It is signed locally: a missing object is found only when the URL is used."""
        name = self.object_name(key)
        if not timedelta(seconds=1) <= expires <= timedelta(days=7):
            raise StorageError(f"a presigned URL lasts 1 second to 7 days, not {expires}")
        return self._call(f"URL signing for {key}", lambda: self.client.presigned_get_object(
            self.bucket, name, expires=expires), key)
