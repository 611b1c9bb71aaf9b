"""Figures for issue 15 (not a test: prints measurements, asserts nothing on time).

    python bench/security.py memory  [--src DIR]   # 32 parallel bad sign-ins
    python bench/security.py logins  [--tries 50]  # known vs unknown user
    python bench/security.py citizens --home HOME --code CODE [--tries 200]

Each starts its own `sohoa serve` on 127.0.0.1 (from ``--src``, a source tree, default this
checkout: e.g. ``git archive HEAD | tar -x -C /tmp/before`` for the figures before a change)
and stops it. ``memory`` reads the server's VmRSS before and its peak (VmHWM) after.
``logins`` runs behind SOHOA_TRUSTED_PROXIES=127.0.0.1 with a new X-Forwarded-For address and
a new user name per try, so that no try is throttled and each pays the full sign-in.
``citizens`` raises the citizen limits so that every try does the full look-up (a server
from before issue 15 has no such setting: ``--rotate-forwarded`` escapes its limit).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "mật-khẩu-đủ-dài-1"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_sohoa(src: Path, home: Path, *args: str, stdin: str | None = None, env=None):
    return subprocess.run([sys.executable, "-c", "from pipeline.cli import main; main()",
                           *args], input=stdin, capture_output=True, text=True, check=True,
                          cwd=src, env={**os.environ, "PYTHONPATH": str(src),
                                        "SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1",
                                        **(env or {})})


def start(src: Path, home: Path, env=None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from pipeline.cli import main; main()",
                             "serve", "--port", str(port)], cwd=src,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(src), "SOHOA_HOME": str(home),
                                 "OMP_THREAD_LIMIT": "1", **(env or {})})
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            return proc, port
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def request(port: int, path: str, *, data: dict | None = None, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, str, dict]:
    if data is not None:
        body = urllib.parse.urlencode(data).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                 headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def form_token(port: int) -> tuple[str, str]:
    """(the sign-in form's CSRF field, its cookie)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/login")
    with urllib.request.urlopen(req, timeout=30) as r:
        html, cookie = r.read().decode(), r.headers["set-cookie"].split(";")[0]
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1), cookie


def memory(src: Path, parallel: int, same_user: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        run_sohoa(src, home, "user", "add", "lan", "--role", "clerk", "--password-stdin",
                  stdin=PASSWORD + "\n")
        proc, port = start(src, home)
        try:
            tokens = [form_token(port) for _ in range(parallel)]
            before = kib(proc.pid, "VmRSS")
            gate, codes = threading.Barrier(parallel), []

            def attempt(i: int) -> None:
                csrf, cookie = tokens[i]
                gate.wait()
                codes.append(request(port, "/login", data={
                    "username": "lan" if same_user else f"ai-do-{i}",
                    "password": f"sai mật khẩu {i}", "csrf": csrf, "next": "/"},
                    headers={"Cookie": cookie})[0])

            threads = [threading.Thread(target=attempt, args=(i,)) for i in range(parallel)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            took = time.monotonic() - t0
            peak = kib(proc.pid, "VmHWM")
        finally:
            proc.terminate()
            proc.wait(30)
    print(json.dumps({"src": str(src), "parallel": parallel, "same_user": same_user,
                      "rss_before_mb": round(before / 1024, 1),
                      "peak_rss_mb": round(peak / 1024, 1), "seconds": round(took, 2),
                      "answers": {str(c): codes.count(c) for c in sorted(set(codes))}}))


def _ms(samples: list[float]) -> dict:
    return {"n": len(samples), "mean_ms": round(statistics.mean(samples), 2),
            "median_ms": round(statistics.median(samples), 2),
            "stdev_ms": round(statistics.stdev(samples), 2)}


def logins(src: Path, tries: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        for i in range(tries):
            run_sohoa(src, home, "user", "add", f"nhanvien{i}", "--role", "clerk",
                      "--password-stdin", stdin=PASSWORD + "\n")
        proc, port = start(src, home, {"SOHOA_TRUSTED_PROXIES": "127.0.0.1"})
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        codes: dict[str, set] = {"known": set(), "unknown": set()}
        try:
            request(port, "/api/login", body=b'{"username": "x", "password": "warm-up"}',
                    headers={"Content-Type": "application/json"})
            for i in range(tries):
                for kind in (("known", "unknown") if i % 2 else ("unknown", "known")):
                    name = f"nhanvien{i}" if kind == "known" else f"khongco{i}"
                    body = json.dumps({"username": name, "password": "sai mật khẩu!"})
                    t0 = time.perf_counter()
                    status = request(port, "/api/login", body=body.encode(), headers={
                        "Content-Type": "application/json",
                        "X-Forwarded-For": ("198.51.100." if kind == "known"
                                            else "203.0.113.") + str(i % 250)})[0]
                    times[kind].append((time.perf_counter() - t0) * 1000)
                    codes[kind].add(status)
        finally:
            proc.terminate()
            proc.wait(30)
    print(json.dumps({"known": {**_ms(times["known"]), "status": sorted(codes["known"])},
                      "unknown": {**_ms(times["unknown"]), "status": sorted(codes["unknown"])},
                      "difference_ms": round(statistics.mean(times["known"])
                                             - statistics.mean(times["unknown"]), 2)}))


def citizens(src: Path, home: Path, code: str, tries: int, rotate: bool) -> None:
    unknown = code[:-4] + ("9999" if not code.endswith("9999") else "9998")
    proc, port = start(src, home, {"SOHOA_CITIZEN_ATTEMPTS": "1000000",
                                   "SOHOA_CITIZEN_CODE_ATTEMPTS": "1000000"})
    times: dict[str, list[float]] = {"wrong_id": [], "unknown_code": []}
    bodies: dict[str, set] = {"wrong_id": set(), "unknown_code": set()}
    try:
        for i in range(tries):
            for kind in (("wrong_id", "unknown_code") if i % 2 else
                         ("unknown_code", "wrong_id")):
                data = {"code": code, "personal_id": f"0019{i:08d}"} if kind == "wrong_id" \
                    else {"code": unknown, "personal_id": f"0019{i:08d}"}
                t0 = time.perf_counter()
                xff = {"X-Forwarded-For": f"198.51.{i % 200}.{1 + (kind == 'wrong_id')}"}
                status, text, _ = request(port, "/api/citizen/retrieve", data=data,
                                          headers=xff if rotate else None)
                times[kind].append((time.perf_counter() - t0) * 1000)
                bodies[kind].add((status, text))
    finally:
        proc.terminate()
        proc.wait(30)
    print(json.dumps({"wrong_id": _ms(times["wrong_id"]),
                      "unknown_code": _ms(times["unknown_code"]),
                      "difference_ms": round(statistics.mean(times["wrong_id"])
                                             - statistics.mean(times["unknown_code"]), 2),
                      "same_answer": bodies["wrong_id"] == bodies["unknown_code"]
                      and len(bodies["wrong_id"]) == 1}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("memory", "logins", "citizens"))
    ap.add_argument("--src", type=Path, default=ROOT)
    ap.add_argument("--parallel", type=int, default=32)
    ap.add_argument("--same-user", action="store_true")
    ap.add_argument("--tries", type=int)
    ap.add_argument("--home", type=Path)
    ap.add_argument("--code")
    ap.add_argument("--rotate-forwarded", action="store_true",
                    help="a new X-Forwarded-For per try (escapes the limit of a server that "
                    "believes it, as sohoa did before issue 15)")
    a = ap.parse_args()
    if a.what == "memory":
        memory(a.src.resolve(), a.parallel, a.same_user)
    elif a.what == "logins":
        logins(a.src.resolve(), a.tries or 50)
    else:
        citizens(a.src.resolve(), a.home, a.code, a.tries or 200, a.rotate_forwarded)


if __name__ == "__main__":
    main()
