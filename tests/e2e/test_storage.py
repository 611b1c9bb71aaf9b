"""Storage for a city, through the real `sohoa` command: fixity checks that find what was
damaged, BagIt export validated by the `bagit` library, moving every object to an S3 API
server (moto, on loopback) with resumption, and the whole flow on S3 + PostgreSQL."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import bagit
import pytest

from storage.errors import StorageUnavailable
from tests.conftest import SCANS, truth
from tests.e2e.test_cli import lines, sohoa
from tests.services import moto_s3

pytestmark = pytest.mark.slow
RECEIPT = "receipt-jpeg-skew-5.3.jpg"
BIRTH = "birth-1987-jpeg-skew-3.2.jpg"
CODE = truth(RECEIPT)["fields"]["dossier_code"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two samples ingested once on the defaults; tests work on copies of the home."""
    root = tmp_path_factory.mktemp("storage")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in (RECEIPT, BIRTH):
        shutil.copy(SCANS / name, inbox / name)
    home = root / "home"
    reports = lines(sohoa(home, "ingest", "--json", str(inbox)))
    assert [r["status"] for r in reports] == ["done", "done"]
    return {"home": home, "docs": {Path(r["file"]).name: r["document_id"] for r in reports}}


@pytest.fixture
def home(archive, tmp_path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(archive["home"], copy)
    return copy


def _show(home: Path, doc_id: str) -> dict:
    return json.loads(sohoa(home, "show", "--json", doc_id).stdout)


def test_verify_finds_changed_missing_and_orphaned_objects_and_records_each_run(archive, home):
    clean = sohoa(home, "verify", "--json")
    first = json.loads(clean.stdout)
    assert first["checked"] > 8 and first["findings"] == []

    objects = home / "objects"
    doc_id = archive["docs"][BIRTH]
    page = objects / "pages" / doc_id
    text = next(page.glob("*.txt"))
    text.write_bytes(text.read_bytes().replace(b"a", b"e", 1))  # one letter changed
    image = next(page.glob("*.jpg"))
    image.unlink()
    stray = objects / "pages" / "0123456789abcdef" / "0001.txt"
    stray.parent.mkdir(parents=True)
    stray.write_text("nobody's page")

    bad = sohoa(home, "verify", "--json", check=False)
    assert bad.returncode == 1
    found = {(f["problem"], f["key"]) for f in json.loads(bad.stdout)["findings"]}
    rel = objects.as_posix() + "/"
    assert found == {("changed", text.as_posix().removeprefix(rel)),
                     ("missing", image.as_posix().removeprefix(rel)),
                     ("orphaned", stray.as_posix().removeprefix(rel))}

    since = sohoa(home, "verify", "--json", "--since", "2000-01-01", check=False)
    assert {f["problem"] for f in json.loads(since.stdout)["findings"]} == {"changed",
                                                                            "missing"}
    runs = lines(sohoa(home, "verify", "--history", "--json"))
    assert [(r["changed"], r["missing"], r["orphaned"]) for r in runs] == [
        (1, 1, 0), (1, 1, 1), (0, 0, 0)]  # newest first
    assert runs[0]["since"].startswith("2000-01-01")


def test_export_dossier_writes_a_bag_that_validates(archive, home, tmp_path):
    bag_path = tmp_path / "bag"
    sohoa(home, "export-dossier", CODE, "-o", str(bag_path))
    bag = bagit.Bag(str(bag_path))
    bag.validate()  # every payload file against the SHA-256 manifest, and the Payload-Oxum
    assert "sha256" in bag.algorithms
    assert bag.info["External-Identifier"] == CODE
    doc_id = archive["docs"][RECEIPT]
    payload = set(bag.payload_files())
    for name in ("original.jpg", "searchable.pdf", "metadata.json", "pages/0001.txt",
                 "pages/0001.hocr"):
        assert f"data/{doc_id}/{name}" in payload
    assert archive["docs"][BIRTH] not in "".join(payload)  # another dossier's record
    meta = json.loads((bag_path / "data" / doc_id / "metadata.json").read_text())
    assert meta["dossier_code"] == CODE and meta["type"] == "dossier_receipt"
    original = (bag_path / "data" / doc_id / "original.jpg").read_bytes()
    assert original == (SCANS / RECEIPT).read_bytes()
    pdf_text = subprocess.run(["pdftotext", str(bag_path / "data" / doc_id / "searchable.pdf"),
                               "-"], capture_output=True, text=True, check=True).stdout
    assert CODE in pdf_text.replace(" ", "")

    (bag_path / "data" / doc_id / "pages" / "0001.txt").write_text("altered")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_path)).validate()  # the manifests do catch a change


def test_export_dossier_as_zip_and_unknown_codes(home, tmp_path):
    zipped = tmp_path / "dossier.zip"
    sohoa(home, "export-dossier", CODE, "-o", str(zipped))
    with zipfile.ZipFile(io.BytesIO(zipped.read_bytes())) as z:
        z.extractall(tmp_path / "unzipped")
    bagit.Bag(str(tmp_path / "unzipped" / "dossier")).validate()

    missing = sohoa(home, "export-dossier", "000.00.04.H26-190427-9999", "-o",
                    str(tmp_path / "none"), check=False)
    assert missing.returncode == 3 and "no finished document" in missing.stderr
    assert not (tmp_path / "none").exists()


def test_migrating_to_s3_copies_everything_then_the_archive_runs_from_s3(archive, home,
                                                                         tmp_path):
    with moto_s3() as s3:
        moved = json.loads(sohoa(home, "migrate-storage", "--to", "s3://archive", "--json",
                                 env=s3).stdout)
        local = [p for p in (home / "objects").rglob("*") if p.is_file()]
        assert moved["switched"] and moved["copied"] == len(local) and moved["skipped"] == 0

        shutil.rmtree(home / "objects")  # from now on only S3 has the files
        assert json.loads(sohoa(home, "verify", "--json", env=s3).stdout)["findings"] == []
        pdf = tmp_path / "birth.pdf"
        sohoa(home, "export", archive["docs"][BIRTH], "-o", str(pdf), env=s3)
        assert "HUỲNH NGỌC TÂM" in subprocess.run(["pdftotext", str(pdf), "-"],
                                                  capture_output=True, text=True).stdout.upper()
        again = sohoa(home, "migrate-storage", "--to", "s3://archive", env=s3, check=False)
        assert again.returncode == 7 and "already in s3://archive" in again.stderr

        elsewhere = sohoa(home, "search", "thao", check=False,
                          env={**s3, "SOHOA_STORAGE_URL": "s3://another-bucket"})
        assert elsewhere.returncode == 7 and "migrate-storage" in elsewhere.stderr


def test_an_interrupted_migration_resumes_and_switches_only_when_complete(home, monkeypatch):
    from pipeline import preservation
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    with moto_s3() as s3:
        for k, v in s3.items():
            monkeypatch.setenv(k, v)
        real = preservation.store_for_url

        class Failing:  # the real S3 store, whose connection drops after five objects
            def __init__(self, store):
                self.store, self.puts = store, 0

            def __getattr__(self, name):
                return getattr(self.store, name)

            def put_file(self, key, path):
                self.puts += 1
                if self.puts > 5:
                    raise StorageUnavailable("connection reset (injected)")
                self.store.put_file(key, path)

        monkeypatch.setattr(preservation, "store_for_url",
                            lambda settings, url: Failing(real(settings, url)))
        rt = open_runtime(Settings(home=home))
        with pytest.raises(StorageUnavailable):
            preservation.migrate_storage(rt, "s3://resume")
        assert rt.catalogue.get_meta("storage_url") == ""  # not switched
        total = sum(1 for _ in rt.store.keys())
        monkeypatch.setattr(preservation, "store_for_url", real)
        report = preservation.migrate_storage(rt, "s3://resume")
        assert (report.skipped, report.copied, report.switched) == (5, total - 5, True)
        assert rt.catalogue.get_meta("storage_url") == "s3://resume"
        rt.close()


def test_ingest_search_export_and_verify_on_s3_and_postgresql(postgres_url, tmp_path):
    """The same commands, unchanged, with objects in S3 and the catalogue in PostgreSQL."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SCANS / BIRTH, inbox / BIRTH)
    home = tmp_path / "home"
    with moto_s3() as s3:
        env = {**s3, "SOHOA_STORAGE_URL": "s3://city-archive/records",
               "SOHOA_DATABASE_URL": postgres_url}
        [report] = lines(sohoa(home, "ingest", "--json", str(inbox), env=env))
        assert report["status"] == "done"
        hits = json.loads(sohoa(home, "search", "--json", "dinh hong thao", env=env).stdout)
        assert hits["hits"][0]["document_id"] == report["document_id"]
        pdf = tmp_path / "out.pdf"
        sohoa(home, "export", report["document_id"], "-o", str(pdf), env=env)
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                              text=True).stdout
        assert "ĐINH HỒNG THẢO" in text.upper()
        assert not (home / "objects").exists() and not (home / "catalogue.sqlite3").exists()

        assert json.loads(sohoa(home, "verify", "--json", env=env).stdout)["findings"] == []
        from storage.s3 import S3ObjectStore

        store = S3ObjectStore.from_url("s3://city-archive/records", s3["SOHOA_S3_ENDPOINT"],
                                       s3["SOHOA_S3_ACCESS_KEY"], s3["SOHOA_S3_SECRET_KEY"])
        key = next(k for k in store.keys("pages") if k.endswith(".txt"))
        raw = store.client  # change the bytes behind sohoa's back, keeping the metadata
        stat = raw.stat_object(store.bucket, store.object_name(key))
        data = b"forged text"
        raw.put_object(store.bucket, store.object_name(key), io.BytesIO(data), len(data),
                       metadata={k.removeprefix("x-amz-meta-"): v for k, v in stat.metadata.items()
                                 if k.lower().startswith("x-amz-meta-")})
        bad = sohoa(home, "verify", "--json", env=env, check=False)
        assert bad.returncode == 1
        assert [(f["problem"], f["key"]) for f in json.loads(bad.stdout)["findings"]] == [
            ("changed", key)]
