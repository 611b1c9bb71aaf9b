"""The embedded index's engine (issue 20): Tantivy for a new archive, an archive kept on the
engine it was built with, `sohoa reindex --backend` moving it both ways through the real
command line with the same answers, and a setting that names another engine refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import search_backend
from pipeline.config import Settings
from pipeline.errors import ConfigError
from tests.api.archive import CODE, make_archive
from tests.e2e.test_cli import sohoa

pytestmark = pytest.mark.slow
QUERIES = (("dinh hong thao",), ("--dossier", CODE), ("--type", "dossier_receipt"),
           ("dinh", "--sort", "date"))


def answers(home: Path, **env: str) -> list[dict]:
    out = []
    for q in QUERIES:
        found = json.loads(sohoa(home, "search", "--json", *q, env=env).stdout)
        out.append({"total": found["total"], "facets": found["facets"],
                    "hits": [(h["document_id"], h["page"]) for h in found["hits"]]})
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    home = make_archive(tmp_path_factory.mktemp("backend"))
    return home, answers(home)


def test_a_new_archive_is_indexed_by_tantivy(archive):
    home, first = archive
    assert search_backend.recorded(home) == "tantivy"
    assert (home / "search-tantivy" / "current").exists() and not (home / "search").exists()
    assert all(a["total"] >= 1 for a in first), first
    assert sohoa(home, "check-index").returncode == 0


def test_reindex_moves_the_archive_both_ways_with_the_same_answers(archive, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(archive[0], home)
    moved = sohoa(home, "reindex", "--backend", "sqlite")
    assert "moved the search index from tantivy to sqlite" in moved.stderr
    assert "matches the catalogue" in moved.stderr
    assert search_backend.recorded(home) == "sqlite"
    assert (home / "search" / "current").exists() and not (home / "search-tantivy").exists()
    assert answers(home) == archive[1]
    assert sohoa(home, "check-index").returncode == 0
    sohoa(home, "reindex", "--backend", "tantivy")
    assert search_backend.recorded(home) == "tantivy" and not (home / "search").exists()
    assert answers(home) == archive[1]
    again = sohoa(home, "reindex", "--backend", "tantivy")  # already there: a plain rebuild
    assert "moved" not in again.stderr and "matches the catalogue" in again.stderr


def test_a_setting_naming_another_engine_is_refused_with_the_way_to_move(archive):
    home = archive[0]
    refused = sohoa(home, "search", "dinh", env={"SOHOA_SEARCH_BACKEND": "sqlite"}, check=False)
    assert refused.returncode == 7
    assert "reindex --backend sqlite" in refused.stderr
    assert sohoa(home, "search", "dinh", env={"SOHOA_SEARCH_BACKEND": "tantivy"}).returncode == 0


def test_the_engine_is_chosen_from_the_marker_the_folders_and_the_setting(tmp_path):
    def choose(**kw) -> str:
        return search_backend.chosen(Settings(home=tmp_path, **kw))

    assert choose() == "tantivy"  # a new archive
    assert choose(search_backend="sqlite") == "sqlite"
    (tmp_path / "search").mkdir()  # an archive from before Tantivy
    assert choose() == "sqlite"
    with pytest.raises(ConfigError, match="reindex --backend tantivy"):
        choose(search_backend="tantivy")
    (tmp_path / "search-backend").write_text("tantivy\n")
    assert choose() == "tantivy"
    (tmp_path / "search-backend").write_text("lucene\n")
    with pytest.raises(ConfigError, match="not one of"):
        choose()
    with pytest.raises(ConfigError, match="one of tantivy, sqlite"):
        search_backend.chosen(Settings(home=tmp_path / "new", search_backend="whoosh"))
