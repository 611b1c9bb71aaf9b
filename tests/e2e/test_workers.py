"""Distributed workers under faults, with real processes: Debian's redis-server and `sohoa
worker` processes (Celery, prefork) on loopback, real Tesseract, the real CLI.

Each test queues a batch, breaks something while it runs, and then checks that every page
ended in the catalogue and the index exactly once (or, for the poison page, in quarantine).
Time bounds below only stop a hung test; nothing asserts how long anything took.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SCANS
from tests.e2e.test_cli import lines, sohoa
from tests.services import RedisServer

pytestmark = pytest.mark.slow
SOHOA = str(Path(sys.executable).parent / "sohoa")
FILES = ["birth-1987-jpeg-skew-3.2.jpg", "death-jpeg-skew-0.6.jpg", "receipt-jpeg-skew-5.3.jpg",
         "marriage-jpeg-skew-minus-2.4.jpg", "register-jpeg-skew-minus-4.1.jpg",
         "birth-extract-jpeg-skew-minus-7.5.jpg"]


@pytest.fixture
def redis():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def env(redis, tmp_path) -> dict[str, str]:
    return {"SOHOA_HOME": str(tmp_path / "home"), "SOHOA_BROKER_URL": redis.url,
            "SOHOA_VISIBILITY_TIMEOUT": "15", "SOHOA_STALE_AFTER": "20",
            "SOHOA_SWEEP_INTERVAL": "2", "SOHOA_PAGE_TIMEOUT": "120", "OMP_THREAD_LIMIT": "1"}


class Workers:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, []

    def start(self, concurrency: int = 1, **extra: str) -> subprocess.Popen:
        return self.start_with(["--concurrency", str(concurrency)], **extra)

    def start_with(self, args: list[str], **extra: str) -> subprocess.Popen:
        log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([SOHOA, "worker", *args],
                                env={**os.environ, **self.env, **extra}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        """SIGKILL the worker and its children at once: nothing gets to clean up."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def workers(env, tmp_path):
    w = Workers(env, tmp_path)
    yield w
    w.stop_all()


def queue(env: dict, tmp_path: Path, files=FILES, names=None) -> str:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    for i, name in enumerate(files):
        shutil.copy(SCANS / name, inbox / (names[i] if names else name))
    out = lines(sohoa(Path(env["SOHOA_HOME"]), "ingest", "--queue", "--json", str(inbox),
                      env=env))
    return out[-1]["batch"]


def status(env: dict, batch: str) -> dict:
    return json.loads(sohoa(Path(env["SOHOA_HOME"]), "batch", "status", "--json", batch,
                            env=env).stdout)


def wait_for(env: dict, batch: str, predicate, *, bound: float = 600) -> dict:
    deadline = time.monotonic() + bound  # a hung test stops; nothing asserts on time
    while True:
        st = status(env, batch)
        if predicate(st):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"batch {batch} stuck: {st}")
        time.sleep(1)


def assert_each_page_once(env: dict, count: int) -> None:
    from storage.catalogue import Catalogue

    home = Path(env["SOHOA_HOME"])
    check = json.loads(sohoa(home, "check-index", "--json", env=env).stdout)
    assert check["consistent"] and check["catalogue_pages"] == check["index_pages"] == count
    cat = Catalogue(f"sqlite:///{home / 'catalogue.sqlite3'}")
    docs = list(cat.documents_with_pages())
    cat.close()
    assert sorted(len(d.pages) for d in docs) == [1] * count
    assert all(d.status in ("done", "needs_review") for d in docs)
    objects = [p for p in (home / "objects" / "pages").rglob("*") if p.is_file()]
    assert len(objects) == 5 * count  # image, text, hOCR, ALTO, words: once each


def test_a_worker_killed_mid_batch_loses_no_page_and_doubles_none(env, workers, tmp_path):
    batch = queue(env, tmp_path)
    first = workers.start(concurrency=1)
    wait_for(env, batch, lambda st: st["pages"]["done"] >= 1 and st["pages"]["running"] >= 1)
    workers.kill(first)  # mid-page: its message was never acknowledged
    workers.start(concurrency=2)
    st = wait_for(env, batch, lambda st: st["finished"])
    assert st["pages"]["done"] == len(FILES) and st["pages"]["quarantined"] == 0
    assert_each_page_once(env, len(FILES))


def test_redis_restarted_mid_batch_the_batch_completes(env, workers, redis, tmp_path):
    batch = queue(env, tmp_path)
    workers.start(concurrency=2)
    wait_for(env, batch, lambda st: st["pages"]["done"] >= 1)
    redis.stop(keep_data=True)
    time.sleep(3)
    redis.start()
    st = wait_for(env, batch, lambda st: st["finished"])
    assert st["pages"]["done"] == len(FILES)
    assert_each_page_once(env, len(FILES))


def test_a_poison_page_is_quarantined_and_the_rest_completes(env, workers, tmp_path):
    import urllib.request

    from tests.services import free_port
    from tests.unit import faulty

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    faulty.page_image(inbox / "poison-page.jpg", faulty.KILL, size=(1240, 1754))
    batch = queue(env, tmp_path, files=FILES[:3])
    port = free_port()
    # The engine is chosen by the settings, as any engine is: this one kills its worker
    # process on the dark page and reads the others with Tesseract.
    workers.start_with(["--concurrency", "2", "--metrics-port", str(port)],
                       SOHOA_OCR_ENGINE="tests.unit.faulty:FaultyEngine",
                       PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    st = wait_for(env, batch, lambda st: st["finished"])
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    text = metrics.decode()
    assert "sohoa_pages_processed_total 3.0" in text
    assert 'sohoa_page_failures_total{code="engine_crash"} 1.0' in text
    assert 'sohoa_stage_seconds_count{stage="page"} 3.0' in text
    assert st["pages"]["done"] == 3 and st["pages"]["quarantined"] == 1
    [rej] = st["rejected"]
    assert rej["file"].endswith("poison-page.jpg") and rej["error"]["code"] == "engine_crash"
    home = Path(env["SOHOA_HOME"])
    rejections = lines(sohoa(home, "rejections", "--json", env=env))
    assert [r["code"] for r in rejections] == ["engine_crash"]
    assert (home / "objects" / rejections[0]["quarantine_key"]).is_file()
    assert_each_page_once(env, 3)


def test_storage_unreachable_for_a_while_pages_wait_and_complete(env, workers, tmp_path):
    from moto.server import ThreadedMotoServer

    from tests.services import free_port

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    s3 = {"SOHOA_STORAGE_URL": "s3://outage", "SOHOA_S3_ENDPOINT": f"http://127.0.0.1:{port}",
          "SOHOA_S3_ACCESS_KEY": "k", "SOHOA_S3_SECRET_KEY": "s"}
    env.update(s3)
    try:
        batch = queue(env, tmp_path, files=FILES[:4])
        moto.stop()  # the store goes away before any page is done
        workers.start(concurrency=2)
        wait_for(env, batch, lambda st: st["pages"]["queued"] == 4 and st["pages"]["done"] == 0
                 and _saw_waiting(tmp_path), bound=120)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()  # moto keeps its buckets in this process: the objects are still there
        st = wait_for(env, batch, lambda st: st["finished"])
        assert st["pages"]["done"] == 4
        check = json.loads(sohoa(Path(env["SOHOA_HOME"]), "check-index", "--json",
                                 env=env).stdout)
        assert check["consistent"] and check["index_pages"] == 4
    finally:
        moto.stop()


def _saw_waiting(logs: Path) -> bool:
    return any("waits:" in p.read_text(errors="replace") for p in logs.glob("worker-*.log"))
