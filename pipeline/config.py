"""Settings: one object read from the SOHOA_* environment, built by entry points only."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob sohoa reads. Empty URLs mean the embedded defaults under ``home``."""

    model_config = SettingsConfigDict(env_prefix="SOHOA_", extra="ignore")

    home: Path = Field(Path("sohoa-data"), description="where the embedded defaults keep files")
    database_url: str = Field("", description="SQLAlchemy URL; empty: SQLite under home")
    storage_url: str = Field("", description="file:///folder; empty: home/objects")
    replica_url: str = Field("", description="a second copy of every object (Circular "
                             "05/2025/TT-BNV): file:///folder or s3://bucket[/prefix] on "
                             "the s3_endpoint; empty: none")
    search_url: str = Field("", description="empty: the embedded index under home; "
                            "http(s)://host:9200: Elasticsearch")
    search_backend: str = Field("", description="the embedded index's engine: tantivy or "
                                "sqlite (FTS5); empty: the archive's own, tantivy for a new "
                                "one (pipeline/search_backend.py). `sohoa reindex --backend "
                                "NAME` moves an archive")
    search_index: str = Field("sohoa-pages", description="Elasticsearch alias and index prefix")
    broker_url: str = Field("", description="empty: a local process pool; redis://host:6379/0: "
                            "`sohoa ingest --queue` and `sohoa worker` use Celery over Redis")
    visibility_timeout: int = Field(3600, description="seconds before Redis hands an "
                                    "unacknowledged page to another worker (longer than the "
                                    "longest page)")
    stale_after: int = Field(0, description="seconds after which the sweep re-sends a page "
                             "whose worker vanished; 0: visibility_timeout + page_timeout")
    max_crashes: int = Field(2, description="worker deaths or time-outs a page may cause "
                             "before it is quarantined")
    backend_retries: int = Field(30, description="retries (with backoff up to 5 min) of a "
                                 "page while storage, catalogue or search is unreachable")
    sweep_interval: float = Field(60.0, description="seconds between a worker's sweeps")
    s3_endpoint: str = Field("", description="S3 API server for storage_url=s3://bucket"
                             "[/prefix]: http(s)://host:port (the scheme decides TLS)")
    s3_access_key: str = Field("", description="access key for s3_endpoint")
    s3_secret_key: str = Field("", description="secret key for s3_endpoint")
    s3_region: str = Field("", description="bucket region; empty: asked from the server")
    workers: int = Field(0, description="page worker processes; 0: one per core")
    languages: str = Field("vie", description="Tesseract languages (vie: fewest errors on "
                           "clean and photographed pages, bench/ocr.py and bench/photos.py)")
    tessdata: Path | None = Field(None, description="folder of .traineddata files")
    psm: int = Field(6, description="Tesseract page segmentation mode (6: one block, read "
                     "row by row; best on forms and registers, see bench/psm.py)")
    max_pixels: int = Field(150_000_000, description="largest page accepted, in pixels")
    page_timeout: float = Field(600.0, description="seconds a page may take before its "
                                "worker is stopped; twice alone and the file is rejected")
    actor: str = Field("", description="who is at the command line, for the audit log; "
                       "empty: the login name")
    metrics_host: str = Field("127.0.0.1", description="address a worker's Prometheus "
                              "metrics listen on (--metrics-port)")
    ocr_engine: str = Field("tesseract+asterocr", description="the OCR engine: "
                            "`tesseract+asterocr` (Tesseract, its weak lines read again by "
                            "asterocr's line model), `tesseract`, or `module:Class` for an "
                            "engine of your own (see ocr/engine.py)")
    type_review_confidence: float = Field(0.8, description="documents whose type confidence "
                                          "(0-1) is below this go to the review queue")
    review_confidence: float = Field(75.0, description="pages whose mean OCR word confidence "
                                     "(0-100) is below this are marked for review (so are "
                                     "pages with over 5 % impossible words)")

    trusted_proxies: str = Field("", description="addresses or networks (comma-separated, "
                                 "e.g. `127.0.0.1,10.0.0.0/8`) of the reverse proxies whose "
                                 "X-Forwarded-For names the client; empty: none, the client "
                                 "is the direct peer")
    citizen_attempts: int = Field(10, description="citizen look-ups an address may make in "
                                  "citizen_window seconds")
    citizen_code_attempts: int = Field(30, description="citizen look-ups of one dossier code "
                                       "(from any address) in citizen_window seconds")
    citizen_window: float = Field(600.0, description="seconds over which citizen look-ups "
                                  "are counted")
    verify_attempts: int = Field(30, description="copy verifications an address may ask for "
                                 "in citizen_window seconds")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network") from None
        return value

    @property
    def proxy_networks(self) -> tuple:
        """The trusted proxies as ``ipaddress`` networks."""
        return tuple(ipaddress.ip_network(p.strip(), strict=False)
                     for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def stale_seconds(self) -> float:
        return self.stale_after or (self.visibility_timeout + self.page_timeout)

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)

    @property
    def catalogue_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'catalogue.sqlite3').resolve()}"
