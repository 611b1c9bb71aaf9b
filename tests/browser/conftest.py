"""Browser-test harness: Debian's Chromium (/usr/bin/chromium) driven by Playwright.

No browser is ever downloaded (never `playwright install`): Playwright only drives the
Chromium that `./run test` installs from Debian.

Fixtures
--------
``browser``             one headless Chromium for all the tests under tests/browser
                        (package scope, see the note on the fixture).
``page``                function: a fresh context (locale vi-VN, 1280x900, downloads
                        accepted) and page; a screenshot of it is saved after every test to
                        test-artifacts/screenshots/<test name>.png (also on failure).
``web_server_factory``  session: ``start(cmd, env=None, ready_path="/", ...) -> base URL``
                        runs ``cmd`` (with ``{port}`` replaced by a free loopback port) until
                        the end of the session, logging to test-artifacts/server-<n>.log.

Helper: ``screenshot(page, name) -> Path`` saves test-artifacts/screenshots/<name>.png.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Only --no-sandbox is strictly required (Chromium refuses to start as root with its sandbox,
# and the sandbox needs namespaces a container may not grant); Playwright already adds it and
# several of the others by default, they are listed so the launch does not depend on that.
# The rest keep the browser off the network and away from a GPU/small /dev/shm.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DEFAULT_TIMEOUT_MS = 10_000

_REPORTS = pytest.StashKey[dict]()


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name).strip("_") or "page"


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save test-artifacts/screenshots/<name>.png and return its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{_safe(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


@pytest.fixture(scope="package")
def browser():
    """Package, not session, scope on purpose: while Playwright's sync API is started it
    marks its asyncio loop as running in the main thread, so until it stops any other
    ``sync_playwright()`` (e.g. another test module's own browser fixture) raises "using
    Playwright Sync API inside the asyncio loop" and ``asyncio.run()`` raises "cannot be
    called from a running event loop". Stopping it after the last test of tests/browser
    keeps the rest of the suite unaffected. Put every browser test under tests/browser."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests use Debian's Chromium, which `./run test` "
            "installs (apt-get install chromium); Playwright's own browsers are never "
            "downloaded.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(
        locale="vi-VN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    pg = context.new_page()
    try:
        yield pg
    finally:
        try:
            if not pg.is_closed():
                path = screenshot(pg, request.node.name)
                if _failed(request.node):
                    print(f"screenshot of the failed test: {path}")
        except Exception as exc:  # a crashed page must not hide the test's own error
            if _failed(request.node):
                print(f"screenshot of {request.node.name} failed: {exc}")
            else:
                raise
        finally:
            context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(url, timeout=2) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_bytes()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def web_server_factory() -> Iterator[Callable[..., str]]:
    """``start(cmd, env=None, ready_path="/", *, cwd=None, timeout=30.0) -> base URL``.

    ``{port}`` in any argument of ``cmd`` becomes a free port on 127.0.0.1; ``env`` is
    added on top of os.environ. Returns once GET <base><ready_path> answers with a status
    below 500. The process (and its whole process group) is stopped at session end."""
    procs: list[tuple[subprocess.Popen, object]] = []

    def start(
        cmd: Sequence[str],
        env: Mapping[str, str] | None = None,
        ready_path: str = "/",
        *,
        cwd: str | os.PathLike | None = None,
        timeout: float = 30.0,
    ) -> str:
        port = _free_port()
        argv = [str(a).replace("{port}", str(port)) for a in cmd]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log_path = ARTIFACTS / f"server-{len(procs) + 1}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            argv,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )
        procs.append((proc, log))
        base = f"http://127.0.0.1:{port}"
        url = base + (ready_path if ready_path.startswith("/") else "/" + ready_path)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"server exited with {proc.returncode} before answering {url}; "
                    f"log {log_path}:\n{_tail(log_path)}",
                    pytrace=False,
                )
            if _answers(url):
                return base
            if time.monotonic() > deadline:
                _stop(proc)
                pytest.fail(
                    f"server did not answer {url} within {timeout:.0f} s; "
                    f"log {log_path}:\n{_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.1)

    try:
        yield start
    finally:
        for proc, log in reversed(procs):
            _stop(proc)
            log.close()
