"""The fault table (issue 19): each store file an operator may find damaged, each damage, each
command; what the command does, and the way back. README.md's "Fault table" is printed from
``TABLE`` (``python -m tests.e2e.test_fault_table``) and checked against it here.

An archive is made once through the real CLI (a receipt and a birth certificate filed under a
dossier, with a second copy of every object in a replica folder); each case damages a copy of
it, runs every command in-process (the real command line, ``pipeline.cli.main``; ingest as a
real ``sohoa`` process, as it starts worker processes), checks the outcome the table gives,
takes the way back the table gives, and checks that the archive is whole again: every
document shown, found, verified in both copies, the index consistent."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import sqlite3
from pathlib import Path
from unittest import mock

import pytest

from tests.api.archive import make_archive
from tests.conftest import SCANS
from tests.e2e.test_cli import sohoa

pytestmark = pytest.mark.slow

COMMANDS = ("show", "search", "verify", "ingest", "check-index")
DAMAGES = ("deleted", "truncated", "random bytes")
# file: {command: (exit status, what the message names)}, the way back; the same for every
# damage (a cell that differs by damage is written "exit/exit" below)
TABLE: dict[str, tuple[dict[str, tuple[int, str]], str]] = {
    "catalogue": ({c: (7, "catalogue_missing|catalogue_damaged") for c in COMMANDS},
                  "sohoa recover"),
    "index pointer": ({"show": (0, ""), "search": (6, "index_damaged"), "verify": (0, ""),
                       "ingest": (0, ""), "check-index": (1, "damaged")}, "sohoa reindex"),
    "index generation": ({"show": (0, ""), "search": (6, "index_damaged"), "verify": (0, ""),
                          "ingest": (0, ""), "check-index": (1, "damaged")}, "sohoa reindex"),
    "page image": ({"show": (0, ""), "search": (0, ""), "verify": (1, "missing|changed"),
                    "ingest": (0, ""), "check-index": (0, "")}, "sohoa verify --repair"),
    "record": ({"show": (0, ""), "search": (0, ""), "verify": (1, "missing|not a record"),
                "ingest": (0, ""),
                "check-index": (0, "")}, "sohoa write-records"),
}
MESSAGES = {  # the message's gist, for the README
    "catalogue_missing": "the catalogue is missing beside a store that holds records: "
                         "run `sohoa recover`",
    "catalogue_damaged": "the catalogue is damaged: run `sohoa recover` (the file is kept)",
    "index_damaged": "the search index is damaged: run `sohoa reindex`",
    "damaged": "damage found, run `sohoa reindex`",
    "missing": "the object (or record) is missing in the copy named",
    "changed": "the object's SHA-256 is not the one recorded",
    "not a record": "the record is not one sohoa can read back",
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    home = root / "home"
    with mock.patch.dict(os.environ, {"SOHOA_REPLICA_URL": f"file://{home / 'replica'}"}):
        made = make_archive(root)
    assert made == home
    return home


def env(home: Path) -> dict[str, str]:
    return {"SOHOA_HOME": str(home), "SOHOA_REPLICA_URL": f"file://{home / 'replica'}"}


def run(home: Path, *args: str) -> tuple[int, str]:
    """``sohoa ARGS`` in this process: (exit status, stdout + stderr)."""
    from pipeline.cli import main

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env(home)), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue() + err.getvalue()


def target(home: Path, name: str) -> Path:
    """The file of ``home`` that stands for the store file ``name``."""
    from pipeline import search_backend

    search = search_backend.folder(home, search_backend.recorded(home))
    if name == "catalogue":
        return home / "catalogue.sqlite3"
    if name == "index pointer":
        return search / "current"
    if name == "index generation":  # SQLite: its file; Tantivy: its biggest file
        live = search / (search / "current").read_text().strip()
        return max(live.rglob("*"), key=lambda p: p.stat().st_size) if live.is_dir() else live
    if name == "page image":
        return sorted((home / "objects" / "pages").rglob("0001.jpg"))[0]
    return sorted((home / "objects" / "records" / "documents").rglob("*.json"))[0]


def damage(path: Path, how: str) -> None:
    if how == "deleted":
        path.unlink()
    elif how == "truncated":
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size // 2)
    else:
        path.write_bytes(random.Random(19).randbytes(max(64, path.stat().st_size)))


def documents(home: Path) -> list[str]:
    """The documents the catalogue holds (read from it directly)."""
    db = sqlite3.connect(home / "catalogue.sqlite3")
    try:
        return sorted(row[0] for row in db.execute("SELECT id FROM documents"))
    finally:
        db.close()


def found(home: Path, words: str) -> set[str]:
    code, out = run(home, "search", "--json", "--limit", "50", words)
    assert code == 0, out
    return {h["document_id"] for h in json.loads(out)["hits"]}


def outcome(home: Path, command: str, doc: str, extra: Path) -> tuple[int, str]:
    if command == "ingest":
        proc = sohoa(home, "ingest", str(extra), check=False, env=env(home))
        return proc.returncode, proc.stdout + proc.stderr
    args = {"show": ("show", doc, "--json"), "search": ("search", "dinh hong thao"),
            "verify": ("verify",), "check-index": ("check-index",)}[command]
    return run(home, *args)


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("name", TABLE)
def test_each_damage_gives_a_clear_message_and_a_way_back(archive, tmp_path, name, how):
    home = tmp_path / "home"
    shutil.copytree(archive, home)
    docs = documents(home)
    births = found(home, "dinh hong thao")
    assert len(docs) == 2 and len(births) == 1
    extra = tmp_path / "extra.png"
    shutil.copy(SCANS / "death-jpeg-skew-0.6.jpg", extra)
    damage(target(home, name), how)
    expected, way_back = TABLE[name]
    for command in COMMANDS:
        code, said = outcome(home, command, docs[0], extra)
        want, names = expected[command]
        assert code == want, f"{name} {how}: {command} exited {code}, not {want}:\n{said}"
        if names:
            assert any(n in said.lower() for n in names.split("|")), f"{command}: {said}"
        if want:  # the message says the way back
            assert way_back in said and "Traceback" not in said, f"{command}: {said}"
    code, said = run(home, *way_back.split()[1:])
    assert code == 0, f"{way_back}: {said}"
    # whole again: both documents (and the one ingested meanwhile, unless the catalogue was
    # lost before it could be) shown, found, verified in both copies; the index consistent
    assert set(docs) <= set(documents(home))
    for doc in documents(home):
        assert run(home, "show", doc, "--json")[0] == 0
    assert found(home, "dinh hong thao") == births
    assert run(home, "verify")[0] == 0, run(home, "verify")[1]
    assert run(home, "check-index")[0] == 0, run(home, "check-index")[1]


def markdown() -> str:
    """The table as README.md shows it."""
    head = "| store file | " + " | ".join(f"`{c}`" for c in COMMANDS) + " | way back |"
    rows = [head, "|" + "---|" * (len(COMMANDS) + 2)]
    for name, (cells, way_back) in TABLE.items():
        shown = []
        for command in COMMANDS:
            code, names = cells[command]
            shown.append("works" if code == 0 and not names else
                         f"exit {code}: " + " / ".join(f"`{n}`" for n in names.split("|")))
        rows.append(f"| {name} | " + " | ".join(shown) + f" | `{way_back}` |")
    rows += ["", *(f"- `{name}`: {gist}" for name, gist in MESSAGES.items())]
    return "\n".join(rows) + "\n"


def test_the_readme_shows_this_table():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert markdown() in readme, "run python -m tests.e2e.test_fault_table and paste it"


if __name__ == "__main__":
    print(markdown(), end="")
