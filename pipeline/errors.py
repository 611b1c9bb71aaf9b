"""sohoa's errors: one root, a few kinds that say what happened and what to do.

Each kind carries whether a retry can help and the CLI exit status it maps to; lower layers'
exceptions are translated here, at the boundary, by ``translate``.
"""

from __future__ import annotations


class SohoaError(Exception):
    code = "error"
    retryable = False
    exit_status = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class BadInput(SohoaError):
    """A file that cannot be read as a scan; it is quarantined and the batch goes on."""

    code = "bad_input"
    exit_status = 65


class NotFound(SohoaError):
    code = "not_found"
    exit_status = 3


class DependencyMissing(SohoaError):
    code = "dependency_missing"
    exit_status = 4


class EngineFailed(SohoaError):
    code = "engine_failed"
    exit_status = 5


class BackendUnavailable(SohoaError):
    code = "backend_unavailable"
    retryable = True
    exit_status = 6


class InvalidQuery(SohoaError):
    """A search the index cannot run (a malformed cursor, an unknown sort)."""

    code = "bad_query"
    exit_status = 2


class ConfigError(SohoaError):
    code = "config_error"
    exit_status = 7


class WorkerCrashed(Exception):
    """The process running a page died (or hung) each time the page was tried."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message, timed_out)
        self.timed_out = timed_out

    def __str__(self) -> str:
        return self.args[0]


def translate(exc: BaseException) -> SohoaError:
    """The sohoa error for an exception raised by ocr, storage or search."""
    from pydantic import ValidationError

    from ocr.engine import EngineFailed as OcrFailed
    from ocr.engine import EngineUnavailable
    from search.index import BadQuery, SearchUnavailable
    from storage.catalogue.base import CatalogueDamaged
    from storage.errors import ObjectMissing, StorageAuthError, StorageError, StorageUnavailable

    if isinstance(exc, SohoaError):
        return exc
    if isinstance(exc, CatalogueDamaged):  # met in the middle of a command: the same advice
        return ConfigError(str(exc), code="catalogue_damaged")
    if isinstance(exc, ValidationError):  # a SOHOA_* variable Settings cannot read
        problems = "; ".join(f"SOHOA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                             for e in exc.errors())
        return ConfigError(f"a setting is not valid: {problems}")
    if isinstance(exc, EngineUnavailable):
        return DependencyMissing(str(exc))
    if isinstance(exc, OcrFailed):
        return EngineFailed(str(exc))
    if isinstance(exc, BadQuery):
        return InvalidQuery(str(exc))
    if isinstance(exc, ObjectMissing):
        return NotFound(str(exc))
    if isinstance(exc, StorageAuthError):
        return ConfigError(str(exc))
    if isinstance(exc, StorageUnavailable | SearchUnavailable):
        return BackendUnavailable(str(exc))
    if isinstance(exc, StorageError):
        return SohoaError(str(exc))
    return SohoaError(f"{type(exc).__name__}: {exc}")
