"""The runtime: the object store, catalogue and search index chosen from the settings.

Switching backends is configuration only; this is the one place that reads the URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pipeline.config import Settings
from pipeline.errors import ConfigError, DependencyMissing, translate
from search.embedded import EmbeddedIndex
from search.index import SearchIndex
from storage.catalogue import Catalogue
from storage.objects import LocalObjectStore, ObjectStore


@dataclass
class Runtime:
    settings: Settings
    store: ObjectStore
    catalogue: Catalogue
    index: SearchIndex

    def close(self) -> None:
        self.index.close()
        self.catalogue.close()


def _store(settings: Settings) -> ObjectStore:
    url = settings.storage_url
    if not url:
        return LocalObjectStore(settings.home / "objects")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalObjectStore(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "s3":
        raise ConfigError("SOHOA_STORAGE_URL=s3://… is not supported by this version yet "
                          "(S3/MinIO storage is planned); unset it to use the local store")
    raise ConfigError(f"SOHOA_STORAGE_URL {url!r}: use file:///folder or leave it empty")


def _index(settings: Settings) -> SearchIndex:
    url = settings.search_url
    if not url:
        return EmbeddedIndex(settings.home / "search")
    if url.startswith(("http://", "https://")):
        try:
            from search.elastic import ElasticIndex
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DependencyMissing("the Elasticsearch backend needs the elasticsearch client: "
                                    "pip install 'elasticsearch>=9,<10'") from exc
        return ElasticIndex.from_url(url, prefix=settings.search_index)
    raise ConfigError(f"SOHOA_SEARCH_URL {url!r}: http(s)://host:9200 for Elasticsearch, or "
                      f"empty for the embedded index")


def _catalogue(settings: Settings) -> Catalogue:
    from sqlalchemy.exc import ArgumentError

    try:
        return Catalogue(settings.catalogue_url)
    except ArgumentError as exc:
        raise ConfigError(f"SOHOA_DATABASE_URL is not a database URL SQLAlchemy knows "
                          f"({exc}); e.g. postgresql+psycopg://user@host/db") from exc
    except ModuleNotFoundError as exc:
        raise DependencyMissing(f"the database driver for {settings.catalogue_url.split(':')[0]} "
                                f"is not installed: {exc}") from exc
    except Exception as exc:
        err = translate(exc)
        raise err from exc


def open_runtime(settings: Settings) -> Runtime:
    if settings.broker_url:
        raise ConfigError("SOHOA_BROKER_URL (Celery workers) is not supported by this version "
                          "yet; unset it to use the local process pool")
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create SOHOA_HOME {settings.home}: {exc}") from exc
    try:
        return Runtime(settings, _store(settings), _catalogue(settings), _index(settings))
    except Exception as exc:
        raise translate(exc) from exc
