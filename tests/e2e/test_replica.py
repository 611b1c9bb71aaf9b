"""A second copy of every object (SOHOA_REPLICA_URL), through the real `sohoa` command: ingest
writes both copies, `verify` checks each and names the copy, `verify --repair` restores one
copy from the other and records it, an object bad in both is reported as unrepairable, a
replica that cannot be written does not stop ingest; and the replica as an S3 bucket (moto)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import BAD, SCANS
from tests.e2e.test_cli import lines, sohoa
from tests.services import moto_s3

pytestmark = pytest.mark.slow
RECEIPT = "receipt-jpeg-skew-5.3.jpg"
BIRTH = "birth-1987-jpeg-skew-3.2.jpg"
REJECTED = "truncated-transfer.jpg"


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two samples and a bad file ingested once with a folder replica; tests work on copies."""
    root = tmp_path_factory.mktemp("replica")
    inbox = root / "inbox"
    inbox.mkdir()
    for path in (SCANS / RECEIPT, SCANS / BIRTH, BAD / REJECTED):
        shutil.copy(path, inbox / path.name)
    home, replica = root / "home", root / "replica"
    reports = lines(sohoa(home, "ingest", "--json", str(inbox),
                          env={"SOHOA_REPLICA_URL": f"file://{replica}"}))
    assert sorted(r["status"] for r in reports) == ["done", "done", "rejected"]
    return {"home": home, "replica": replica,
            "docs": {Path(r["file"]).name: r["document_id"] for r in reports},
            "shas": {Path(r["file"]).name: r["sha256"] for r in reports}}


@pytest.fixture
def site(archive, tmp_path) -> dict:
    """A copy of the archive: its home, its replica, and the environment that names it."""
    home, replica = tmp_path / "home", tmp_path / "replica"
    shutil.copytree(archive["home"], home)
    shutil.copytree(archive["replica"], replica)
    return {"home": home, "objects": home / "objects", "replica": replica,
            "env": {"SOHOA_REPLICA_URL": f"file://{replica}"}}


def verify(site: dict, *args: str):
    proc = sohoa(site["home"], "verify", "--json", *args, env=site["env"], check=False)
    return proc.returncode, json.loads(proc.stdout)


def test_ingest_writes_every_object_to_both_copies(archive):
    primary, replica = files(archive["home"] / "objects"), files(archive["replica"])
    assert primary == replica  # same keys, same bytes
    doc = archive["docs"][BIRTH]
    assert any(k.startswith(f"pages/{doc}/") for k in primary)
    assert any(k.startswith("originals/") for k in primary)
    assert any(k.startswith("quarantine/") and k.endswith(REJECTED) for k in primary)


def test_verify_checks_each_copy_and_repair_restores_each_from_the_good_one(archive, site):
    code, clean = verify(site)
    assert code == 0 and clean["findings"] == [] and clean["ok"]
    assert [c["copy"] for c in clean["copies"]] == ["primary", "replica"]
    assert clean["copies"][1]["storage"] == site["env"]["SOHOA_REPLICA_URL"]
    assert clean["copies"][0]["checked"] == clean["copies"][1]["checked"] > 8

    objects, replica = site["objects"], site["replica"]
    birth, receipt = archive["docs"][BIRTH], archive["docs"][RECEIPT]
    lost = next((objects / "pages" / birth).glob("*.jpg")).relative_to(objects).as_posix()
    altered = next((replica / "pages" / receipt).glob("*.txt")).relative_to(replica).as_posix()
    truncated = next(k for k in files(objects) if k.startswith("originals/")
                     and k.endswith(archive["shas"][BIRTH]))
    good = {k: (replica / k if k != altered else objects / k).read_bytes()
            for k in (lost, altered, truncated)}
    (objects / lost).unlink()
    (replica / altered).write_bytes(good[altered].replace(b"a", b"e", 1) + b" forged")
    whole = (objects / truncated).read_bytes()
    (objects / truncated).write_bytes(whole[: len(whole) // 2])  # a copy cut short

    code, bad = verify(site)
    assert code == 1 and not bad["ok"]
    assert {(f["problem"], f["key"], f["copy"]) for f in bad["findings"]} == {
        ("missing", lost, "primary"), ("changed", truncated, "primary"),
        ("changed", altered, "replica")}
    changed = {f["key"]: f for f in bad["findings"] if f["problem"] == "changed"}
    assert changed[truncated]["actual"] == sha(whole[: len(whole) // 2])
    assert changed[truncated]["expected"] == sha(good[truncated])
    assert (bad["copies"][0]["missing"], bad["copies"][0]["changed"],
            bad["copies"][1]["changed"]) == (1, 1, 1)

    code, fixed = verify(site, "--repair")
    assert code == 0 and fixed["ok"] and fixed["unrepairable"] == []
    assert {(r["key"], r["copy"], r["source"], r["problem"]) for r in fixed["repaired"]} == {
        (lost, "primary", "replica", "missing"), (truncated, "primary", "replica", "changed"),
        (altered, "replica", "primary", "changed")}
    for key, data in good.items():  # the good copy's bytes, in both copies again
        assert (objects / key).read_bytes() == data == (replica / key).read_bytes()
    assert files(objects) == files(replica)
    code, after = verify(site)
    assert code == 0 and after["findings"] == []

    # recorded: an audit entry per repair (key, copy, old and new hash, when) and the runs
    entries = [e for e in lines(sohoa(site["home"], "audit", "--json", env=site["env"]))
               if e["action"] == "object_repaired"]
    by_key = {e["detail"]["key"]: e for e in entries}
    assert set(by_key) == {lost, altered, truncated}
    assert by_key[lost]["detail"]["old_sha256"] is None
    assert by_key[lost]["target"] == birth and by_key[lost]["at"]
    assert by_key[truncated]["detail"]["old_sha256"] == sha(whole[: len(whole) // 2])
    assert {"copy": "replica", "source": "primary", "storage": site["env"]["SOHOA_REPLICA_URL"],
            "new_sha256": sha(good[altered]), "old_sha256": changed[altered]["actual"]
            }.items() <= by_key[altered]["detail"].items()
    runs = lines(sohoa(site["home"], "verify", "--history", "--json", env=site["env"]))
    assert [(r["storage"], r["repaired"]) for r in runs[2:4]] == [
        (site["env"]["SOHOA_REPLICA_URL"], 1), ("default", 2)]  # newest first


def test_an_object_bad_in_both_copies_is_reported_as_unrepairable(archive, site):
    objects, replica = site["objects"], site["replica"]
    doc = archive["docs"][RECEIPT]
    key = next((objects / "pages" / doc).glob("*.hocr")).relative_to(objects).as_posix()
    other = next((objects / "pages" / doc).glob("*.txt")).relative_to(objects).as_posix()
    (objects / key).unlink()
    (replica / key).write_bytes(b"<html>not the page</html>")
    (replica / other).unlink()  # repairable, beside it

    proc = sohoa(site["home"], "verify", "--repair", env=site["env"], check=False)
    assert proc.returncode == 1
    assert (f"NOT REPAIRED: {key}: missing in the primary, changed in the replica: nothing "
            f"to repair from") in proc.stdout
    assert f"repaired: {other} in the replica from the primary" in proc.stdout
    assert "1 object repaired, 1 with nothing to repair from" in proc.stderr

    code, again = verify(site, "--repair")
    assert code == 1 and again["repaired"] == []
    [u] = again["unrepairable"]
    assert (u["key"], u["document_id"], u["problems"]) == (
        key, doc, {"primary": "missing", "replica": "changed"})
    assert not (objects / key).exists()  # nothing was made up


def test_a_replica_that_cannot_be_written_does_not_stop_ingest_and_is_repaired(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SCANS / BIRTH, inbox / BIRTH)
    home, replica = tmp_path / "home", tmp_path / "replica"
    replica.write_bytes(b"")  # where the replica's folder should be: a file (a disk gone)
    env = {"SOHOA_REPLICA_URL": f"file://{replica}"}
    ingest = sohoa(home, "ingest", "--json", str(inbox), env=env)
    [report] = lines(ingest)
    assert report["status"] == "done"
    assert "cannot be opened" in ingest.stderr

    site = {"home": home, "env": env}
    replica.unlink()  # the disk is back (empty)
    code, found = verify(site)
    assert code == 1
    stored = files(home / "objects")
    journal = {k for k in stored if k.startswith("replica-pending/")}
    objects = set(stored) - journal
    assert journal == {f"replica-pending/{k}" for k in objects}  # every write was recorded
    assert {(f["problem"], f["copy"]) for f in found["findings"]} == {("missing", "replica")}
    assert {f["key"] for f in found["findings"]} == objects

    code, fixed = verify(site, "--repair")
    assert code == 0 and len(fixed["repaired"]) == len(objects)
    assert files(replica) == files(home / "objects")  # the journal settled, nothing left
    code, after = verify(site)
    assert code == 0 and after["findings"] == []


def test_the_replica_as_an_s3_bucket(tmp_path):
    from storage.s3 import S3ObjectStore

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SCANS / BIRTH, inbox / BIRTH)
    home = tmp_path / "home"
    with moto_s3() as s3:
        env = {**s3, "SOHOA_REPLICA_URL": "s3://second-copy/hanoi"}
        [report] = lines(sohoa(home, "ingest", "--json", str(inbox), env=env))
        assert report["status"] == "done"
        bucket = S3ObjectStore.from_url("s3://second-copy/hanoi", s3["SOHOA_S3_ENDPOINT"],
                                        s3["SOHOA_S3_ACCESS_KEY"], s3["SOHOA_S3_SECRET_KEY"])
        primary = files(home / "objects")
        assert sorted(bucket.keys()) == sorted(primary)
        for key, data in primary.items():
            assert bucket.get(key) == data
            assert bucket.sha256(key) == sha(data)

        site = {"home": home, "env": env}
        assert verify(site)[0] == 0
        image = next(k for k in primary if k.startswith("pages/") and k.endswith(".jpg"))
        text = next(k for k in primary if k.startswith("pages/") and k.endswith(".txt"))
        (home / "objects" / image).unlink()
        raw = bucket.client  # the replica's bytes changed behind sohoa's back, metadata kept
        raw.put_object(bucket.bucket, bucket.object_name(text), io.BytesIO(b"forged"), 6,
                       metadata={"sha256": sha(primary[text])})
        code, bad = verify(site)
        assert code == 1
        assert {(f["problem"], f["key"], f["copy"]) for f in bad["findings"]} == {
            ("missing", image, "primary"), ("changed", text, "replica")}
        code, fixed = verify(site, "--repair")
        assert code == 0 and len(fixed["repaired"]) == 2
        assert (home / "objects" / image).read_bytes() == primary[image]
        assert bucket.get(text) == primary[text]
        code, after = verify(site)
        assert code == 0 and after["findings"] == []
