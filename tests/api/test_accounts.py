"""Staff accounts over HTTP (the real app and catalogue, FastAPI's test client; the last tests
run real `sohoa serve` processes): sign-in throttled per account and per address (429 with
Retry-After, on the form and the API alike, the same for a known and an unknown user),
password change, reset, disabling and signing out everywhere, each audited with user and
channel; and the `sohoa user …` commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient

from pipeline.accounts import add_account
from pipeline.throttle import ACCOUNT, ADDRESS, fail
from tests.e2e.test_cli import SOHOA
from tests.services import free_port

PASSWORD = "mật-khẩu-đủ-dài-1"
NEW = "Cầu Long Biên 1902 đẹp"
USERS = (("lan", "clerk"), ("thu", "clerk"), ("minh", "archivist"), ("hoa", "admin"),
         ("vy", "clerk"), ("khoa", "clerk"), ("son", "clerk"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from api.app import create_app
    from pipeline.config import Settings

    app = create_app(Settings(home=tmp_path_factory.mktemp("accounts") / "home"))
    for name, role in USERS:
        add_account(app.state.rt, name, PASSWORD, role, by="setup", channel="cli")
    yield app
    app.state.rt.close()


def browser(app, address: str) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", client=(address, 5000))


def form_login(c: TestClient, username: str, password: str):
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    return c.post("/login", data={"username": username, "password": password, "csrf": csrf,
                                  "next": "/"}, follow_redirects=False)


def api_login(c: TestClient, username: str, password: str):
    return c.post("/api/login", json={"username": username, "password": password})


def signed_in(app, username: str, address: str, password: str = PASSWORD) -> TestClient:
    c = browser(app, address)
    r = api_login(c, username, password)
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


def trail(app, action: str, actor: str | None = None) -> list:
    return [e for e in app.state.rt.catalogue.audit_entries(actor=actor, limit=10000)
            if e.action == action]


# ----------------------------------------------------------------------------- sign-in
def test_wrong_passwords_hold_the_account_back_then_even_the_right_one_waits(app):
    c = browser(app, "10.1.0.1")
    codes = [form_login(c, "lan", "sai mật khẩu rồi").status_code for _ in range(ACCOUNT.free)]
    assert codes == [401] * ACCOUNT.free
    held = form_login(c, "lan", PASSWORD)  # the right password, while held back
    assert held.status_code == 429
    wait = int(held.headers["Retry-After"])
    assert 1 <= wait <= ACCOUNT.base
    assert f"Vui lòng thử lại sau {wait} giây" in held.text
    assert "sohoa_session" not in held.cookies
    other = browser(app, "10.1.0.2")  # from another address too: the account is held
    api = api_login(other, "lan", PASSWORD)
    assert api.status_code == 429 and api.headers["Retry-After"]
    assert api.json()["error"]["code"] == "rate_limited"
    failed = trail(app, "login_failed", "lan")
    assert len(failed) == ACCOUNT.free and {e.channel for e in failed} == {"web"}
    assert {e.detail["reason"] for e in failed} == {"wrong_password"}
    assert failed[0].detail["address"] == "10.1.0.1"
    throttled = trail(app, "login_throttled", "lan")
    assert {(e.channel, e.detail["key"]) for e in throttled} == {("web", "login-user"),
                                                                  ("api", "login-user")}
    app.state.rt.catalogue.clear_attempts("login-user:lan")  # the wait is over
    assert form_login(c, "lan", PASSWORD).status_code == 303
    assert trail(app, "login", "lan")[0].channel == "web"


def test_an_unknown_user_is_answered_like_a_known_one(app):
    known, unknown = browser(app, "10.1.1.1"), browser(app, "10.1.1.2")
    seq_known = [api_login(known, "thu", "sai mật khẩu rồi") for _ in range(ACCOUNT.free + 1)]
    seq_unknown = [api_login(unknown, "không-có-ai", "sai mật khẩu rồi")
                   for _ in range(ACCOUNT.free + 1)]
    assert [r.status_code for r in seq_known] == [r.status_code for r in seq_unknown] == \
        [401] * ACCOUNT.free + [429]
    assert [r.json() for r in seq_known] == [r.json() for r in seq_unknown]
    assert seq_known[-1].headers["Retry-After"] == seq_unknown[-1].headers["Retry-After"]
    reasons = {e.detail["reason"] for e in trail(app, "login_failed", "không-có-ai")}
    assert reasons == {"unknown_user"}  # the audit log tells the admin which it was


def test_many_failures_from_one_address_hold_the_address_back(app):
    rt = app.state.rt
    for _ in range(ADDRESS.free):  # as if 30 wrong passwords for many names came from here
        fail(rt, "login-addr:10.1.2.1", ADDRESS)
    c = browser(app, "10.1.2.1")
    held = api_login(c, "vy", PASSWORD)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) >= 1
    assert api_login(browser(app, "10.1.2.2"), "vy", PASSWORD).status_code == 200
    [entry] = [e for e in trail(app, "login_throttled", "vy")]
    assert entry.detail["key"] == "login-addr" and entry.detail["address"] == "10.1.2.1"


def test_the_api_sign_in_takes_json_only_and_gives_a_working_csrf_token(app):
    c = browser(app, "10.1.3.1")
    as_form = c.post("/api/login", data={"username": "khoa", "password": PASSWORD})
    assert as_form.status_code in (415, 422) and "sohoa_session" not in as_form.cookies
    plain = c.post("/api/login", content=json.dumps({"username": "khoa", "password": PASSWORD}),
                   headers={"Content-Type": "text/plain"})
    assert plain.status_code in (415, 422) and "sohoa_session" not in plain.cookies
    c = signed_in(app, "khoa", "10.1.3.1")
    assert c.post("/api/account/sign-out-everywhere",
                  headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert c.get("/api/search", params={"q": "a"}).status_code != 401  # still signed in


# ------------------------------------------------------------------------ own account
def test_changing_ones_password_needs_the_old_one_and_ends_other_sessions(app):
    here, elsewhere = signed_in(app, "son", "10.1.4.1"), signed_in(app, "son", "10.1.4.2")
    page = here.get("/account")
    assert page.status_code == 200 and "Đổi mật khẩu" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    wrong = here.post("/account/password", data={"csrf": csrf, "old_password": "không phải",
                                                 "new_password": NEW, "new_password2": NEW})
    assert wrong.status_code == 400 and "Mật khẩu hiện tại không đúng." in wrong.text
    weak = here.post("/account/password", data={"csrf": csrf, "old_password": PASSWORD,
                                                "new_password": "matkhau123",
                                                "new_password2": "matkhau123"})
    assert weak.status_code == 400 and "quá phổ biến" in weak.text
    mismatch = here.post("/account/password", data={"csrf": csrf, "old_password": PASSWORD,
                                                    "new_password": NEW,
                                                    "new_password2": NEW + "x"})
    assert mismatch.status_code == 400 and "không khớp" in mismatch.text
    forged = here.post("/account/password", data={"csrf": "forged", "old_password": PASSWORD,
                                                  "new_password": NEW, "new_password2": NEW})
    assert forged.status_code == 403
    ok = here.post("/account/password", data={"csrf": csrf, "old_password": PASSWORD,
                                              "new_password": NEW, "new_password2": NEW},
                   follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/account?done=password"
    assert "Đã đổi mật khẩu" in here.get("/account?done=password").text  # this one stays
    assert elsewhere.get("/api/search", params={"q": "a"}).status_code == 401
    assert api_login(browser(app, "10.1.4.3"), "son", PASSWORD).status_code == 401
    assert api_login(browser(app, "10.1.4.3"), "son", NEW).status_code == 200
    [changed] = trail(app, "password_changed", "son")
    assert changed.channel == "web" and changed.detail["sessions_ended"] == 1
    assert trail(app, "password_change_failed", "son")[0].detail["address"] == "10.1.4.1"


def test_signing_out_everywhere_ends_every_session(app):
    one, two = signed_in(app, "thu", "10.1.5.1"), signed_in(app, "thu", "10.1.5.2")
    app.state.rt.catalogue.clear_attempts("login-user:thu")
    r = one.post("/api/account/sign-out-everywhere")
    assert r.status_code == 200 and r.json()["sessions_ended"] == 2
    for c in (one, two):
        assert c.get("/api/search", params={"q": "a"}).status_code == 401
    assert trail(app, "sessions_ended", "thu")[0].channel == "api"


# ------------------------------------------------------------------------- admins
def test_admins_reset_disable_and_enable_users_and_nobody_else_can(app):
    admin = signed_in(app, "hoa", "10.1.6.1")
    clerk = signed_in(app, "lan", "10.1.6.2")
    assert clerk.post("/api/users/minh/disable").status_code == 403
    assert clerk.post("/api/users/minh/password", json={"password": NEW}).status_code == 403
    assert admin.post("/api/users/minh/disable",
                      headers={"X-CSRF-Token": "forged"}).status_code == 403
    archivist = signed_in(app, "minh", "10.1.6.3")
    assert archivist.get("/upload").status_code == 200

    assert admin.post("/api/users/minh/disable").json() == {"username": "minh",
                                                            "disabled": True}
    assert archivist.get("/upload", follow_redirects=False).status_code == 303  # ended now
    refused = api_login(browser(app, "10.1.6.4"), "minh", PASSWORD)
    assert refused.status_code == 401  # the same answer as a wrong password
    assert admin.post("/api/users/hoa/disable").status_code == 400  # not oneself
    assert admin.post("/api/users/nobody/disable").status_code == 404
    assert admin.post("/api/users/minh/explode").status_code == 422
    admin.post("/api/users/minh/enable")
    again = signed_in(app, "minh", "10.1.6.5")

    weak = admin.post("/api/users/minh/password", json={"password": "minh12345678"})
    assert weak.status_code == 400 and weak.json()["error"]["code"] == "password_has_username"
    reset = admin.post("/api/users/minh/password", json={"password": NEW})
    assert reset.json() == {"username": "minh", "sessions_ended": 1}
    assert again.get("/upload", follow_redirects=False).status_code == 303
    assert api_login(browser(app, "10.1.6.6"), "minh", NEW).status_code == 200
    actions = [(e.action, e.actor, e.channel) for e in
               app.state.rt.catalogue.audit_entries(target="minh", limit=100)
               if e.action in ("user_disabled", "user_enabled", "password_reset")]
    assert actions == [("password_reset", "hoa", "api"), ("user_enabled", "hoa", "api"),
                       ("user_disabled", "hoa", "api")]


def test_the_admin_pages_manage_a_user_in_vietnamese(app):
    admin = signed_in(app, "hoa", "10.1.7.1")
    page = admin.get("/admin/users/vy")
    assert page.status_code == 200 and "Khoá tài khoản" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = admin.post("/admin/users/vy/password", data={"csrf": csrf, "password": "1234567890",
                                                    "password2": "1234567890"})
    assert r.status_code == 200 and "quá phổ biến" in r.text
    r = admin.post("/admin/users/vy/disable", data={"csrf": csrf})
    assert "Đã khoá tài khoản" in r.text and "đã khoá" in r.text
    r = admin.post("/admin/users/vy/enable", data={"csrf": csrf})
    assert "Đã mở khoá" in r.text
    added = admin.post("/admin/users", data={"csrf": csrf, "username": "moi",
                                             "password": "moi-moi-moi-1", "role": "clerk"})
    assert "không được trùng hoặc chứa tên đăng nhập" in added.text
    assert admin.get("/admin/users/nobody").status_code == 404
    assert signed_in(app, "lan", "10.1.7.2").get("/admin/users/vy").status_code == 403


# ---------------------------------------------------------------------------- refusals
def test_refusals_are_audited_and_an_anonymous_flood_is_sampled(app):
    from pipeline.accounts import record_refusal

    rt = app.state.rt
    record_refusal(rt, who="minh", method="GET", path="/api/search", status=403,
                   peer="10.1.8.1")
    for _ in range(9):
        record_refusal(rt, who=None, method="GET", path="/api/audit", status=401,
                       peer="10.1.8.2")
    [mine] = [e for e in trail(app, "refused", "minh") if e.detail["address"] == "10.1.8.1"]
    assert (mine.target, mine.channel, mine.detail["status"]) == ("/api/search", "api", 403)
    anon = [e for e in trail(app, "refused", "anonymous") if e.detail["address"] == "10.1.8.2"]
    assert sorted(e.detail["refused"] for e in anon) == [1, 2, 4, 8]  # 9 refusals, 4 lines


# -------------------------------------------------------------------------------- CLI
def sohoa(home, *args: str, stdin: str | None = None, check: bool = True,
          actor: str = "admin.cli"):
    env = {**os.environ, "SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1",
           "SOHOA_ACTOR": actor}
    proc = subprocess.run([SOHOA, *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_the_user_commands(tmp_path):
    home = tmp_path / "home"
    weak = sohoa(home, "user", "add", "lan", "--role", "clerk", "--password-stdin",
                 stdin="123456789a\n", check=False)
    assert weak.returncode == 65 and "too common" in weak.stderr
    sohoa(home, "user", "add", "lan", "--role", "clerk", "--password-stdin",
          stdin=PASSWORD + "\n")
    sohoa(home, "user", "disable", "lan")
    assert "disabled" in sohoa(home, "user", "list").stdout
    sohoa(home, "user", "enable", "lan")
    assert "disabled" not in sohoa(home, "user", "list").stdout
    sohoa(home, "user", "reset", "lan", "--password-stdin", stdin=NEW + "\n")
    assert "0 session(s)" in sohoa(home, "user", "sign-out", "lan").stderr
    assert sohoa(home, "user", "reset", "nobody", "--password-stdin", stdin=NEW + "\n",
                 check=False).returncode == 3
    entries = [json.loads(x) for x in sohoa(home, "audit", "--json", "--target", "lan")
               .stdout.splitlines()]
    assert [(e["action"], e["actor"], e["channel"]) for e in entries] == [
        ("sessions_ended", "admin.cli", "cli"), ("password_reset", "admin.cli", "cli"),
        ("user_enabled", "admin.cli", "cli"), ("user_disabled", "admin.cli", "cli"),
        ("user_added", "admin.cli", "cli")]


# ------------------------------------------------------------------ real servers
def serve(home, port: int, log, **env) -> subprocess.Popen:
    proc = subprocess.Popen([SOHOA, "serve", "--port", str(port)], stdout=log, stderr=log,
                            env={**os.environ, "SOHOA_HOME": str(home),
                                 "OMP_THREAD_LIMIT": "1", **env})
    deadline = time.monotonic() + 60  # stops a hung test only
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            return proc
        except (urllib.error.URLError, ConnectionError):
            assert proc.poll() is None, "sohoa serve exited"
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("sohoa serve did not answer")


def post_json(port: int, path: str, body: dict, headers: dict | None = None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


def test_two_serving_processes_share_the_throttle_and_ignore_forged_addresses(tmp_path):
    """Failures counted by one `sohoa serve` hold the account back on another one on the
    same catalogue; X-Forwarded-For from loopback is not believed by default (rotating it
    does not escape the address's count)."""
    home = tmp_path / "home"
    sohoa(home, "user", "add", "lan", "--role", "clerk", "--password-stdin",
          stdin=PASSWORD + "\n")
    a, b = free_port(), free_port()
    with open(tmp_path / "serve.log", "wb") as log:
        servers = [serve(home, a, log), serve(home, b, log)]
        try:
            codes = [post_json(a, "/api/login", {"username": "lan", "password": "sai rồi!!"},
                               {"X-Forwarded-For": f"198.51.100.{i}"})[0]
                     for i in range(ACCOUNT.free)]
            assert codes == [401] * ACCOUNT.free
            status, headers = post_json(b, "/api/login", {"username": "lan",
                                                          "password": PASSWORD})
            assert status == 429 and int(headers.get("Retry-After")) >= 1
        finally:
            for p in servers:
                p.terminate()
                p.wait(30)
    entries = [json.loads(x) for x in sohoa(home, "audit", "--json", "--actor", "lan")
               .stdout.splitlines()]
    addresses = {e["detail"]["address"] for e in entries if e["action"] == "login_failed"}
    assert addresses == {"127.0.0.1"}  # the peer, not the forged header
