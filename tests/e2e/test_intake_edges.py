"""Intake of what is not a plain file in a plain folder (issue 19, part 3): a named pipe or a
device named like a scan is reported and never opened (opening a FIFO would hang the
batch); a linked folder is read once, and a link back to a folder already read is reported,
never silent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from tests.conftest import SCANS
from tests.e2e.test_cli import SOHOA


def test_fifos_and_folder_links_are_reported_and_the_batch_goes_on(tmp_path):
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    shutil.copy(SCANS / "receipt-jpeg-skew-5.3.jpg", elsewhere / "receipt.jpg")
    os.mkfifo(inbox / "scan-0001.jpg")  # a pipe named like a scan
    (inbox / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "back").symlink_to(inbox, target_is_directory=True)  # a loop
    (inbox / "again").symlink_to(elsewhere, target_is_directory=True)  # the same folder twice
    proc = subprocess.run([SOHOA, "ingest", "--json", str(inbox)], capture_output=True,
                          text=True, timeout=600,  # a hang fails the test; no time is asserted
                          env={**os.environ, "SOHOA_HOME": str(tmp_path / "home"),
                               "OMP_THREAD_LIMIT": "1"})
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    by_name = {r["file"].removeprefix(str(inbox) + "/"): r for r in reports}
    assert by_name["scan-0001.jpg"]["status"] == "rejected"
    assert by_name["scan-0001.jpg"]["error"]["code"] == "not_a_file"
    assert "named pipe" in by_name["scan-0001.jpg"]["error"]["message"]
    done = [r for r in reports if r["status"] == "done"]
    assert len(done) == 1 and done[0]["file"].endswith("receipt.jpg")  # read once
    loops = {name for name, r in by_name.items()
             if r["status"] == "rejected" and r["error"]["code"] == "folder_link_loop"}
    assert loops and loops <= {"linked/back", "again", "again/back", "linked"}
    assert proc.returncode != 0 or any(r["status"] == "rejected" for r in reports)


def test_several_first_runs_on_a_new_home_all_open_it(tmp_path):
    """Two `sohoa` started together on a new SOHOA_HOME: before, one failed with "table
    alembic_version already exists" (6 tries of 6). Six at once, several times."""
    for attempt in range(3):
        home = tmp_path / f"home-{attempt}"
        env = {**os.environ, "SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1"}
        procs = [subprocess.Popen([SOHOA, "rejections", "--json"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert [code for code, _ in results] == [0] * 6, results
