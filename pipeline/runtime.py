"""The runtime: the object store, catalogue, search index and OCR engine chosen from the
settings.

Switching backends or engines is configuration only; this is the one place that reads the
URLs and the engine's name.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ocr.engine import OcrEngine, TesseractEngine, find_tessdata
from pipeline.config import Settings
from pipeline.errors import ConfigError, DependencyMissing
from search.index import SearchIndex
from storage.catalogue import Catalogue
from storage.objects import LocalObjectStore, ObjectStore


@dataclass
class Runtime:
    settings: Settings
    store: ObjectStore
    catalogue: Catalogue
    index: SearchIndex
    storage_url: str = ""  # where the objects are ("" : SOHOA_HOME/objects)

    def close(self) -> None:
        self.index.close()
        self.catalogue.close()


def _store(settings: Settings) -> ObjectStore:
    """The store SOHOA_STORAGE_URL names; with SOHOA_REPLICA_URL, every object is written
    to that second store too (``storage/replica.py``)."""
    primary = _one_store(settings, settings.storage_url, "SOHOA_STORAGE_URL")
    url = settings.replica_url
    if not url:
        return primary
    import logging

    from storage.errors import StorageError
    from storage.replica import ReplicatedStore, UnreachableStore

    here, there = _place(settings, settings.storage_url), _place(settings, url)
    if here and there and (here[:len(there)] == there or there[:len(here)] == here):
        how = "the same store as" if here == there else "inside, or around,"
        raise ConfigError(f"SOHOA_REPLICA_URL={url} is {how} the primary "
                          f"({settings.storage_url or settings.home / 'objects'}): a second "
                          f"copy must be kept apart, on another disk or server")
    try:
        replica = _one_store(settings, url, "SOHOA_REPLICA_URL")
    except StorageError as exc:  # a folder that cannot be made: ingest goes on, recorded
        logging.getLogger(__name__).error("the replica %s cannot be opened (%s): objects go "
                                          "to the primary only, each recorded for `sohoa "
                                          "verify --repair`", url, exc)
        replica = UnreachableStore(url, str(exc))
    return ReplicatedStore(primary, replica, replica_url=url)


def _place(settings: Settings, url: str) -> tuple[str, ...] | None:
    """Where a store URL points, as path parts, to tell two stores apart (None: unknown)."""
    parsed = urlparse(url)
    if not url or parsed.scheme == "file":
        root = settings.home / "objects" if not url else Path(parsed.netloc + parsed.path)
        return ("file", *root.resolve().parts)
    if parsed.scheme == "s3" and parsed.netloc:
        return ("s3", parsed.netloc, *filter(None, parsed.path.split("/")))
    return None


def _one_store(settings: Settings, url: str, name: str) -> ObjectStore:
    if not url:
        return LocalObjectStore(settings.home / "objects")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalObjectStore(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "s3":
        if not settings.s3_endpoint:
            raise ConfigError(f"{name}={url} needs SOHOA_S3_ENDPOINT, the S3 API "
                              f"server (e.g. http://127.0.0.1:9000 for a local MinIO), and "
                              f"SOHOA_S3_ACCESS_KEY / SOHOA_S3_SECRET_KEY")
        from storage.errors import StorageError

        try:
            from storage.s3 import S3ObjectStore
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DependencyMissing("S3 storage needs the minio client: "
                                    "pip install 'minio>=7.2'") from exc
        try:  # nothing is sent yet: the bucket is checked (and made) on first use
            return S3ObjectStore.from_url(url, settings.s3_endpoint, settings.s3_access_key,
                                          settings.s3_secret_key,
                                          region=settings.s3_region or None)
        except StorageError as exc:
            raise ConfigError(f"{name} / SOHOA_S3_ENDPOINT: {exc}") from exc
    raise ConfigError(f"{name} {url!r}: use file:///folder, s3://bucket[/prefix]"
                      f"{'' if name == 'SOHOA_REPLICA_URL' else ' or leave it empty'}")


def store_for_url(settings: Settings, url: str) -> ObjectStore:
    """The object store at ``url`` ("" : the default folder), with the S3 settings; with
    SOHOA_REPLICA_URL set, replicated there too (``_store``)."""
    return _store(settings.model_copy(update={"storage_url": url}))


def _storage_url(settings: Settings, catalogue: Catalogue) -> str:
    """The catalogue records where its objects are (``sohoa migrate-storage`` changes it), so
    that a setting pointing elsewhere, at an empty bucket say, is an error, not an archive
    that seems to have lost its files."""
    recorded = catalogue.get_meta("storage_url")
    configured = settings.storage_url
    if recorded is None:
        catalogue.set_meta("storage_url", configured)
        return configured
    if configured and configured != recorded:
        where = recorded or f"the default folder {settings.home / 'objects'}"
        raise ConfigError(f"SOHOA_STORAGE_URL={configured}, but this catalogue's objects are in "
                          f"{where}: unset SOHOA_STORAGE_URL, or move them with `sohoa "
                          f"migrate-storage --to {configured}`")
    return recorded


def _index(settings: Settings) -> SearchIndex:
    url = settings.search_url
    if not url:
        from pipeline import search_backend

        return search_backend.open_index(settings.home, search_backend.chosen(settings))
    if url.startswith(("http://", "https://")):
        try:
            from search.elastic import ElasticIndex
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DependencyMissing("the Elasticsearch backend needs the elasticsearch client: "
                                    "pip install 'elasticsearch>=9,<10'") from exc
        return ElasticIndex.from_url(url, prefix=settings.search_index)
    raise ConfigError(f"SOHOA_SEARCH_URL {url!r}: http(s)://host:9200 for Elasticsearch, or "
                      f"empty for the embedded index")


def _catalogue(settings: Settings, *, recovering: bool = False) -> Catalogue:
    """The catalogue. Never silently a new, empty one beside an archive: when none exists
    yet (no SQLite file; a database without tables) but the object store holds records,
    that is a lost catalogue, to be rebuilt by ``sohoa recover`` (which opens with
    ``recovering``). A damaged SQLite file is named as such, with the same way out."""
    from sqlalchemy.exc import ArgumentError

    from storage.catalogue import CatalogueDamaged

    def refuse_if_records() -> None:
        from pipeline.records import has_records

        store = store_for_url(settings, settings.storage_url)
        where = settings.storage_url or settings.home / "objects"
        missing = f"the catalogue {_safe(settings.catalogue_url)} is missing, but the object " \
                  f"store {where} holds"
        if has_records(store):
            raise ConfigError(f"{missing} the records of an archive: run `sohoa recover` to "
                              f"rebuild the catalogue from them (sohoa does not start an "
                              f"empty catalogue beside them)", code="catalogue_missing")
        if next(iter(store.keys("originals")), None) is not None:
            raise ConfigError(f"{missing} an archive's files without records (made before "
                              f"sohoa kept them): restore the catalogue from a backup; "
                              f"`sohoa recover` would only start an empty catalogue beside "
                              f"them, to ingest the originals into again",
                              code="catalogue_missing")

    try:
        return Catalogue(settings.catalogue_url,
                         if_new=None if recovering else refuse_if_records)
    except CatalogueDamaged as exc:
        raise ConfigError(str(exc), code="catalogue_damaged") from exc
    except ArgumentError as exc:
        raise ConfigError(f"SOHOA_DATABASE_URL is not a database URL SQLAlchemy knows "
                          f"({exc}); e.g. postgresql+psycopg://user@host/db") from exc
    except ModuleNotFoundError as exc:
        raise DependencyMissing(f"the database driver for {settings.catalogue_url.split(':')[0]} "
                                f"is not installed: {exc}") from exc


def _safe(url: str) -> str:
    from storage.catalogue import _safe_url, sqlite_file

    return str(sqlite_file(url) or _safe_url(url))


def open_runtime(settings: Settings, *, recovering: bool = False) -> Runtime:
    """The adapters the settings name. ``recovering``: for ``sohoa recover`` only, which
    may make a new catalogue beside the records of an archive."""
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create SOHOA_HOME {settings.home}: {exc}") from exc
    if not os.access(settings.home, os.W_OK | os.X_OK):  # else "unable to open database file"
        raise ConfigError(f"SOHOA_HOME {settings.home} is read-only for this user: sohoa "
                          f"writes its catalogue, objects and index there; give write access "
                          f"or set SOHOA_HOME to a folder you can write", code="read_only_home")
    catalogue = None
    try:
        catalogue = _catalogue(settings, recovering=recovering)
        url = _storage_url(settings, catalogue)
        return Runtime(settings, store_for_url(settings, url), catalogue, _index(settings), url)
    except BaseException:
        if catalogue is not None:
            catalogue.close()
        raise


# ------------------------------------------------------------------------------ engine
REREAD = "tesseract+asterocr"  # Tesseract, its weak lines read again (ocr/reread.py)


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """Which OCR engine a worker process loads, and how (picklable, sent to each process).
    ``name``: ``tesseract``, or ``module:Class`` for another engine, whose class is called
    with this spec and must satisfy ``ocr.engine.OcrEngine``."""

    name: str
    languages: str
    tessdata: str | None
    psm: int

    @classmethod
    def from_settings(cls, s: Settings) -> EngineSpec:
        return cls(s.ocr_engine, s.languages, str(s.tessdata) if s.tessdata else None, s.psm)


def _engine_class(spec: EngineSpec):
    module, _, name = spec.name.partition(":")
    if not name:
        raise ConfigError(f"SOHOA_OCR_ENGINE={spec.name!r}: use `tesseract` or "
                          f"`package.module:Class`")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"SOHOA_OCR_ENGINE={spec.name!r} cannot be loaded: {exc}") from exc


def open_engine(spec: EngineSpec) -> OcrEngine:
    """The engine ``spec`` names, loaded (one per process: engines are not thread-safe)."""
    if spec.name in ("tesseract", REREAD):
        engine = TesseractEngine(languages=spec.languages,
                                 tessdata=Path(spec.tessdata) if spec.tessdata else None,
                                 psm=spec.psm)
        if spec.name == REREAD:
            from ocr.lines import AsterLineReader
            from ocr.reread import RereadingEngine

            return RereadingEngine(engine, AsterLineReader())
        return engine
    return _engine_class(spec)(spec)


def check_engine(spec: EngineSpec) -> None:
    """Fail before any work when the engine, or Tesseract's models, are missing."""
    if spec.name == REREAD:
        try:
            import asterocr  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise DependencyMissing(f"SOHOA_OCR_ENGINE={REREAD} needs asterocr and "
                                    f"onnxruntime ({exc}): pip install asterocr onnxruntime") from exc
    elif spec.name != "tesseract":
        _engine_class(spec)
        return
    try:
        import tesserocr  # noqa: F401
    except ImportError as exc:
        raise DependencyMissing(f"tesserocr is not installed ({exc}): pip install tesserocr") from exc
    tessdata = find_tessdata(spec.languages, Path(spec.tessdata) if spec.tessdata else None)
    find_tessdata("osd", tessdata)
