"""S3 failures: which minio and urllib3 errors are worth another try, the retry loop with
exponential backoff and jitter, and the storage error each failure becomes (its message names
the endpoint). Used by ``storage.s3``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import urllib3
from minio.error import InvalidResponseError, S3Error, ServerError

from storage.errors import ObjectMissing, StorageAuthError, StorageError, StorageUnavailable

log = logging.getLogger("storage.s3")  # the store's logger: retries are logged as the store's

T = TypeVar("T")

# S3 error codes worth another try: the server is busy or had an internal fault.
TRANSIENT_CODES = frozenset({
    "SlowDown", "SlowDownRead", "SlowDownWrite", "RequestTimeout", "InternalError",
    "ServiceUnavailable", "XMinioServerNotInitialized",
})
# S3 error codes that mean the credentials are wrong or lack access.
AUTH_CODES = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
    "ExpiredToken", "AllAccessDisabled",
})


def _status(exc: BaseException) -> int:
    """The HTTP status behind a minio error, 0 when there was no response."""
    if isinstance(exc, S3Error):
        return getattr(exc.response, "status", 0) or 0
    if isinstance(exc, ServerError):
        return exc.status_code
    if isinstance(exc, InvalidResponseError):
        return getattr(exc, "_code", 0) or 0  # minio keeps the status only here
    return 0


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same request again may succeed."""
    if isinstance(exc, S3Error):
        return exc.code in TRANSIENT_CODES or _status(exc) >= 500
    if isinstance(exc, ServerError | InvalidResponseError):  # a non-XML answer, e.g. a proxy's 502
        return _status(exc) >= 500
    if isinstance(exc, urllib3.exceptions.LocationValueError):  # a malformed URL: config
        return False
    # urllib3's errors cover refused and reset connections, timeouts and broken responses;
    # ConnectionError and TimeoutError are the standard library's, should one slip through.
    return isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError)


def backoff_delay(attempt: int, base: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential, with
    jitter so that many clients failing together do not retry in lockstep."""
    return base * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)


def with_retries(call: Callable[[], T], *, attempts: int, backoff: float, what: str = "request",
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``, tried up to ``attempts`` times while it fails with a transient error.

    The last error is re-raised unchanged: mapping it to a storage error is the caller's job.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            delay = backoff_delay(attempt, backoff)
            log.warning("S3 %s failed (%s); attempt %d of %d, retrying in %.2f s",
                        what, exc, attempt, attempts, delay)
            sleep(delay)
    raise AssertionError("unreachable: attempts must be at least 1")


def storage_error(exc: BaseException, *, endpoint: str, bucket: str, what: str,
                  key: str | None = None, attempts: int = 1) -> StorageError:
    """The storage error to raise for ``exc``, raised by minio or urllib3 during ``what``."""
    if isinstance(exc, StorageError):
        return exc
    tried = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, S3Error):
        if exc.code == "NoSuchKey":
            return ObjectMissing(f"no object {key}" if key else f"no such object ({what})")
        if exc.code in AUTH_CODES:
            access = (f" and that the key may use the bucket {bucket}"
                      if exc.code == "AccessDenied" else "")
            return StorageAuthError(
                f"the S3 endpoint {endpoint} refused the credentials ({exc.code}: "
                f"{exc.message}) during {what}: check SOHOA_S3_ACCESS_KEY / SOHOA_S3_SECRET_KEY"
                f"{access}")
        if exc.code == "NoSuchBucket":
            return StorageUnavailable(f"the bucket {bucket} is gone from the S3 endpoint "
                                      f"{endpoint} ({what}); it is created again on the next try")
        if is_transient(exc):
            return StorageUnavailable(f"the S3 endpoint {endpoint} is failing ({exc.code}: "
                                      f"{exc.message}) during {what}{tried}")
        return StorageError(f"S3 {what} failed at {endpoint}: {exc.code}: {exc.message}")
    if isinstance(exc, ServerError | InvalidResponseError):
        if is_transient(exc):
            return StorageUnavailable(f"the S3 endpoint {endpoint} is failing (HTTP "
                                      f"{_status(exc)}) during {what}{tried}")
        return StorageError(f"{endpoint} does not answer like an S3 server ({what}: {exc}); "
                            f"check SOHOA_S3_ENDPOINT")
    if is_transient(exc):
        return StorageUnavailable(f"cannot reach the S3 endpoint {endpoint}: {exc}{tried}")
    return StorageError(f"S3 {what} failed at {endpoint}: {type(exc).__name__}: {exc}")
