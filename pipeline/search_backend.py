"""Which embedded search index an archive uses, and moving an archive from one to the other.

Two engines answer the same search contract (tests/contract): Tantivy (``search/tantivy_*``,
in ``SOHOA_HOME/search-tantivy``) and SQLite FTS5 (``search/embedded*``, in
``SOHOA_HOME/search``). Tantivy is the default for a new archive: at 100,000 pages it answered
the slowest query kind at p95 in a tenth of FTS5's time (bench/search.py; figures in README).

An archive keeps the engine it was built with: the one named in ``SOHOA_HOME/search-backend``
(written when ``sohoa reindex --backend NAME`` moves it), else the one whose folder exists (an
archive from before Tantivy has ``search/``). ``SOHOA_SEARCH_BACKEND`` chooses for a new
archive; naming another engine than the archive's is refused with the command that moves it,
never answered from an empty index.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import ConfigError
from search.index import SearchIndex

BACKENDS = ("tantivy", "sqlite")
DEFAULT = "tantivy"
FOLDERS = {"tantivy": "search-tantivy", "sqlite": "search"}
MARKER = "search-backend"


def folder(home: Path, backend: str) -> Path:
    return home / FOLDERS[backend]


def recorded(home: Path) -> str | None:
    """The engine this archive's index is in; None for an archive without an index yet."""
    marker = home / MARKER
    if marker.exists():
        name = marker.read_text("utf-8").strip()
        if name not in BACKENDS:
            raise ConfigError(f"{marker} names {name!r}, not one of {', '.join(BACKENDS)}: "
                              f"write the engine the index is in, or run `sohoa reindex "
                              f"--backend {DEFAULT}`")
        return name
    for name in BACKENDS:
        if folder(home, name).is_dir():
            return name
    return None


def chosen(settings: Settings) -> str:
    configured = settings.search_backend.strip().lower()
    if configured and configured not in BACKENDS:
        raise ConfigError(f"SOHOA_SEARCH_BACKEND={settings.search_backend!r}: one of "
                          f"{', '.join(BACKENDS)}, or empty for the archive's own "
                          f"({DEFAULT} for a new archive)")
    have = recorded(settings.home)
    if have and configured and configured != have:
        raise ConfigError(f"SOHOA_SEARCH_BACKEND={configured}, but this archive's search "
                          f"index is {have} (in {folder(settings.home, have)}): unset "
                          f"SOHOA_SEARCH_BACKEND, or move the index with `sohoa reindex "
                          f"--backend {configured}`")
    return have or configured or DEFAULT


def open_index(home: Path, backend: str) -> SearchIndex:
    if backend == "tantivy":
        from search.tantivy_index import TantivyIndex

        return TantivyIndex(folder(home, backend))
    from search.embedded import EmbeddedIndex

    return EmbeddedIndex(folder(home, backend))


def move(settings: Settings, to: str, build: Callable[[SearchIndex], int]) -> tuple[int, str]:
    """Build the archive's index in engine ``to`` (``build`` fills it: the runtime's pages),
    then make it the archive's and remove the other engine's folder. Returns (pages, the
    engine it was in). Searches go on against the old index until the switch; pages
    completed during the build are in the old index only, so ``sohoa reindex`` (or
    ``check-index``) after a move made while ingesting brings them over."""
    if settings.search_url:
        raise ConfigError("--backend moves the embedded index; SOHOA_SEARCH_URL names an "
                          "Elasticsearch cluster: unset it to use the embedded index")
    if to not in BACKENDS:
        raise ConfigError(f"--backend {to!r}: one of {', '.join(BACKENDS)}")
    was = recorded(settings.home)
    index = open_index(settings.home, to)
    try:
        n = build(index)
    finally:
        index.close()
    marker = settings.home / MARKER
    tmp = marker.with_name(MARKER + ".tmp")
    tmp.write_text(to + "\n", "utf-8")
    os.replace(tmp, marker)
    if was and was != to:
        shutil.rmtree(folder(settings.home, was), ignore_errors=True)
    return n, was or to
