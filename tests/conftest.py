from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

ROOT = Path(__file__).resolve().parent.parent
SCANS = ROOT / "samples" / "scans"
TRUTH = ROOT / "samples" / "truth"
BAD = ROOT / "samples" / "bad"


def truth(name: str) -> dict:
    return json.loads((TRUTH / f"{name}.gt.json").read_text(encoding="utf-8"))


@pytest.fixture
def settings(tmp_path):
    from pipeline.config import Settings

    return Settings(home=tmp_path / "home", workers=2)


@pytest.fixture
def runtime(settings):
    from pipeline.runtime import open_runtime

    rt = open_runtime(settings)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def postgres_databases():
    """A real PostgreSQL server on loopback for the session (see tests/services.py)."""
    from tests.services import postgres

    with postgres() as dbs:
        yield dbs


@pytest.fixture
def postgres_url(postgres_databases) -> str:
    """A fresh, empty PostgreSQL database."""
    return postgres_databases.new()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogue_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    return request.getfixturevalue("postgres_url")
