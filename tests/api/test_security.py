"""The HTTP surface as an attacker tries it (issue 15): nothing read before the session and
role are checked, body limits, typed inputs answered 4xx in the one error shape and never
echoed, the headers on every answer, the docs behind sign-in with their assets served by
sohoa, and every read of personal data audited with the user and the channel.

Where it matters (a body that is never read), the test runs against a real `sohoa serve` on
127.0.0.1 and counts the bytes the server took before it answered."""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import socket
import subprocess
import time
import urllib.request

import pytest
from fastapi.testclient import TestClient

from tests.api.archive import PASSWORD, make_archive
from tests.e2e.test_cli import SOHOA

pytestmark = pytest.mark.slow
MiB = 1024 * 1024
BOUNDARY = "sohoa-test-boundary"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("security"))


@pytest.fixture(scope="module")
def app(home):
    from api.app import create_app
    from pipeline.config import Settings

    app = create_app(Settings(home=home))
    yield app
    app.state.rt.close()


def client(app, user: str | None = None) -> TestClient:
    c = TestClient(app, base_url="http://127.0.0.1")
    c.csrf = ""
    if user:
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf,
                                   "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        c.csrf = re.search(r'data-csrf="([^"]+)"', c.get("/docs").text).group(1)
    return c


@pytest.fixture(scope="module")
def doc_id(app):
    return client(app, "lan").get("/api/search", params={"q": "dinh hong thao"}).json()[
        "hits"][0]["document_id"]


def is_error(r, status: int, code: str | None = None) -> bool:
    """The one error shape: {"error": {"code": English, "message": Vietnamese}}."""
    body = r.json()
    assert r.status_code == status, (r.status_code, body)
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert code is None or body["error"]["code"] == code, body
    return True


def is_error_page(r, status: int) -> bool:
    """A page's error: a Vietnamese page that says what went wrong and what to do."""
    assert r.status_code == status, r.status_code
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert 'id="problem"' in r.text and 'id="advice"' in r.text and 'lang="vi"' in r.text
    return True


def multipart_head(size: int, name: str = "scan.jpg") -> tuple[bytes, bytes]:
    """The opening of a one-file multipart body of ``size`` file bytes, and its close."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


# ------------------------------------------------------------ nothing read before the rule
def asgi_post(app, path: str, *, chunks: int, chunk: bytes, headers: dict[str, str],
              length: int | None = None, first: bytes = b"") -> tuple[int, bytes, int]:
    """POST ``first`` + ``chunks`` × ``chunk`` to the app through ASGI itself, one chunk a
    message: (status, body, number of body chunks the app took)."""
    taken = 0
    sent: list[dict] = []

    async def receive():
        nonlocal taken
        if taken < chunks:
            taken += 1
            body = first + chunk if taken == 1 else chunk
            return {"type": "http.request", "body": body, "more_body": taken < chunks}
        await asyncio.sleep(3600)  # never asked for more than was sent

    async def send(message):
        sent.append(message)

    hdrs = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if length is not None:
        hdrs.append((b"content-length", str(length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": hdrs,
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, taken


def test_an_anonymous_or_wrong_role_upload_is_refused_before_a_byte_is_read(app, home):
    ctype = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    status, body, taken = asgi_post(app, "/api/uploads", chunks=50, chunk=b"\0" * MiB,
                                    headers=ctype, length=50 * MiB)
    assert (status, taken) == (401, 0) and json.loads(body)["error"]["code"] == "unauthorised"
    clerk = client(app, "lan")
    cookie = {"cookie": f"sohoa_session={clerk.cookies['sohoa_session']}",
              "x-csrf-token": clerk.csrf}
    status, _, taken = asgi_post(app, "/api/uploads", chunks=50, chunk=b"\0" * MiB,
                                 headers={**ctype, **cookie})  # chunked: no length
    assert (status, taken) == (403, 0)  # a clerk may not upload
    archivist = client(app, "minh")
    cookie = {"cookie": f"sohoa_session={archivist.cookies['sohoa_session']}"}
    status, _, taken = asgi_post(app, "/api/uploads", chunks=50, chunk=b"\0" * MiB,
                                 headers={**ctype, **cookie, "x-csrf-token": "forged"})
    assert (status, taken) == (403, 0)  # the CSRF token is checked first too
    # the same JSON route as a clerk's correction: refused before its body is parsed
    status, _, taken = asgi_post(app, "/api/documents/x/corrections", chunks=1,
                                 chunk=b'{"fields": {}}', headers={**cookie,
                                 "content-type": "application/json"}, length=14)
    assert (status, taken) == (403, 0)
    assert not (home / "uploads").exists() or not any((home / "uploads").iterdir())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`sohoa serve` on an empty archive, its temporary files in a folder of its own."""
    root = tmp_path_factory.mktemp("served")
    (root / "tmp").mkdir()
    port = free_port()
    env = {**os.environ, "SOHOA_HOME": str(root / "home"), "TMPDIR": str(root / "tmp"),
           "OMP_THREAD_LIMIT": "1"}
    proc = subprocess.Popen([SOHOA, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(300):  # a hung start stops the test; nothing asserts on time
        if proc.poll() is not None:
            pytest.fail(f"sohoa serve exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            opener.open(base + "/login", timeout=2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, root
    proc.terminate()
    proc.wait(timeout=30)


def send_until_answered(port: int, head: bytes, total: int) -> tuple[bytes, int]:
    """Send the request ``head`` then up to ``total`` body bytes, as fast as the server takes
    them, stopping as soon as it answers: (answer, body bytes the server took)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.sendall(head)
    chunk, sent, answer = b"\0" * 65536, 0, b""
    sock.setblocking(False)
    try:
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break
            if not writable:  # the server stopped reading and did not answer: a failure
                break
            try:
                sent += sock.send(chunk[: total - sent])
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        sock.settimeout(30)
        try:
            while b"\r\n\r\n" not in answer or len(answer) < answer.find(b"\r\n\r\n") + 30:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except (TimeoutError, ConnectionResetError):
            pass
    finally:
        sock.close()
    return answer, sent


def test_an_anonymous_50_mb_upload_to_a_real_server_is_answered_401_unread(server):
    port, root = server
    total = 50 * MiB
    head = (f"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {total}\r\n\r\n").encode()
    answer, sent = send_until_answered(port, head, total)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"code":"unauthorised"' in answer
    # what the kernel's socket buffers hold on loopback, not the 50 MB
    print(f"anonymous 50 MB upload: answered 401 after {sent / MiB:.2f} MiB were taken")
    assert sent < 10 * MiB
    assert list((root / "tmp").iterdir()) == []  # nothing spooled
    assert not (root / "home" / "uploads").exists()


def test_copy_verification_refuses_a_body_over_20_mb_on_a_real_server(server):
    port, root = server
    total = 21 * MiB
    head = (f"POST /api/verify-copy HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {total}\r\n\r\n").encode()
    answer, sent = send_until_answered(port, head, total)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"too_large"' in answer and sent < 10 * MiB
    assert list((root / "tmp").iterdir()) == []


# ---------------------------------------------------------------------- body limits
def test_a_body_without_a_length_is_counted_and_cut_at_the_route_limit(app):
    """Chunked (no Content-Length): counted while it streams, 413 past the limit, the
    rest never read."""
    status, body, taken = asgi_post(
        app, "/api/verify-copy", chunks=40, chunk=b"\0" * MiB, first=multipart_head(0)[0],
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert status == 413 and json.loads(body)["error"]["code"] == "too_large"
    assert taken == 20  # the part's head and 20 MiB: over the 20 MiB limit, nothing after
    status, body, taken = asgi_post(app, "/login", chunks=3, chunk=b"a" * MiB,
                                    headers={"content-type": "application/x-www-form-"
                                             "urlencoded"})
    assert status == 413 and taken == 2  # forms and JSON: 1 MB


def test_an_upload_over_the_file_limit_is_cut_and_leaves_nothing(app, home):
    c = client(app, "minh")
    app.state.upload_file_limit = 1000
    try:
        r = c.post("/api/uploads", headers={"X-CSRF-Token": c.csrf},
                   files=[("files", ("a.jpg", b"\xff" * 900)), ("files", ("b.jpg", b"\xff" * 5000))])
    finally:
        app.state.upload_file_limit = 200 * MiB
    assert is_error(r, 413, "too_large")
    assert not any((home / "uploads").glob("*/*"))  # the first file was removed with it
    assert is_error(c.post("/api/uploads", headers={"X-CSRF-Token": c.csrf},
                           data={"x": "y"}), 400, "unsupported_media_type")
    assert is_error(c.post("/api/uploads", headers={"X-CSRF-Token": c.csrf},
                           files=[("manifest", ("m.csv", b"path,dossier_code\n"))]),
                    400, "no_files")
    truncated = multipart_head(10)[0] + b"0123456789"  # no closing boundary
    r = c.post("/api/uploads", content=truncated, headers={
        "X-CSRF-Token": c.csrf, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert is_error(r, 400, "bad_body")
    assert not any((home / "uploads").glob("*/*"))


# ------------------------------------------------------------------- typed inputs
@pytest.mark.parametrize("body", [
    {"fields": "x"}, [1, 2], {"subject_name": None}, {"subject_name": 5},
    {"personal_id": 1234567890123}, {"fields": {"subject_name": None}},
    {"fields": {"subject_name": 5}}, {"fields": {"personal_id": 1234567890123}},
    {"type": 5}, {"type": "no_such_type"}, {"fields": {"../x": "1"}}, "x", 5, None])
def test_malformed_corrections_are_a_4xx_in_the_one_shape(app, doc_id, body):
    c = client(app, "lan")
    r = c.post(f"/api/documents/{doc_id}/corrections", json=body,
               headers={"X-CSRF-Token": c.csrf})
    assert 400 <= r.status_code < 500 and is_error(r, r.status_code)


def test_a_422_names_the_problem_but_never_echoes_the_input(app):
    c = client(app)
    secret = "mật-khẩu-bí-mật-9"
    r = c.post("/login", data={"username": "lan", "password": secret})  # no form token
    assert is_error_page(r, 422) and secret not in r.text  # a page's error is a page
    r = c.post("/api/login", json={"username": "lan"})  # no password
    assert is_error(r, 422, "invalid_request")
    assert {"where": "body.password", "problem": "missing"} in r.json()["error"]["fields"]
    r = c.post("/api/login", json={"username": {"x": secret}, "password": secret})
    assert is_error(r, 422) and secret not in r.text
    lan = client(app, "lan")
    r = lan.post("/api/documents/x/corrections", headers={"X-CSRF-Token": lan.csrf},
                 json={"fields": {"subject_name": {"secret": secret}}})
    assert is_error(r, 422) and secret not in r.text


def test_unknown_paths_and_methods_answer_in_the_one_shape(app):
    c = client(app)
    assert is_error(c.get("/api/nope"), 404, "not_found")
    assert is_error_page(c.get("/nope/<script>"), 404) and "<script>" not in c.get(
        "/nope/<script>").text
    r = c.delete("/api/search")
    assert is_error(r, 405, "method_not_allowed") and "GET" in r.headers["allow"]
    assert is_error_page(c.get("/static/%2e%2e/app.py"), 404)
    assert is_error_page(c.get("/static/swagger-ui/..%2f..%2f__init__.py"), 404)


# ------------------------------------------------------------------------- headers
def test_every_answer_carries_the_security_headers(app, doc_id):
    from api.app import create_app
    from pipeline.config import Settings

    lan = client(app, "lan")
    answers = {"login page": client(app).get("/login"),
               "API error": client(app).get("/api/search"),
               "record page": lan.get(f"/documents/{doc_id}"),
               "record JSON": lan.get(f"/api/documents/{doc_id}"),
               "page image": lan.get(f"/documents/{doc_id}/pages/1/image"),
               "thumbnail": lan.get(f"/documents/{doc_id}/pages/1/thumbnail"),
               "hOCR": lan.get(f"/documents/{doc_id}/pages/1/hocr"),
               "search": lan.get("/api/search", params={"q": "thao"}),
               "search page": lan.get("/search", params={"q": "thao"}),
               "citizen answer": client(app).post("/citizen", data={"code": "x",
                                                                    "personal_id": "1"}),
               "sign-in redirect": client(app).get("/search", follow_redirects=False)}
    for what, r in answers.items():
        h = r.headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
        assert "unsafe-inline" not in csp, what
        assert h["x-content-type-options"] == "nosniff", what
        assert h["referrer-policy"] == "no-referrer", what
        assert h["cache-control"] == "no-store", what
        assert "strict-transport-security" not in h, what  # plain HTTP: no HSTS
    static = client(app).get("/static/sohoa.css")
    assert static.status_code == 200 and "no-store" not in static.headers["cache-control"]
    secure = create_app(Settings(home=app.state.settings.home), secure_cookies=True)
    try:
        assert "max-age=" in TestClient(secure).get("/login").headers[
            "strict-transport-security"]
    finally:
        secure.state.rt.close()


def test_pages_carry_no_inline_script_style_or_handler(app, doc_id):
    lan, minh, hoa = client(app, "lan"), client(app, "minh"), client(app, "hoa")
    pages = [client(app).get("/login"), client(app).get("/citizen"),
             client(app).get("/verify"), lan.get("/search", params={"q": "dinh hong thao"}),
             lan.get(f"/documents/{doc_id}", params={"q": "dinh hong thao"}),
             lan.get("/review"), minh.get("/upload"), hoa.get("/admin"), lan.get("/docs")]
    for r in pages:
        assert r.status_code == 200, r.url
        html = r.text
        scripts = re.findall(r"<script\b[^>]*>", html, re.I)
        assert all("src=" in s for s in scripts), (r.url, scripts)
        assert all(not body.strip() for body in re.findall(
            r"<script\b[^>]*>(.*?)</script>", html, re.I | re.S)), r.url  # nor a body
        assert not re.search(r"<style\b", html, re.I), r.url
        assert not re.search(r"\sstyle\s*=", html, re.I), r.url
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), r.url
        assert not re.search(r"(src|href)=\"(https?:)?//", html, re.I), r.url  # no CDN
        for asset in re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html):
            assert client(app).get(asset).status_code == 200, asset


def test_the_api_docs_are_for_staff_and_load_only_from_sohoa(app):
    assert client(app).get("/docs", follow_redirects=False).headers["location"].startswith(
        "/login")
    assert is_error(client(app).get("/openapi.json"), 401, "unauthorised")
    page = client(app, "minh").get("/docs").text
    assets = re.findall(r"(?:src|href)=\"([^\"]+)\"", page)
    assert "/static/swagger-ui/swagger-ui-bundle.js" in assets and "/static/docs.js" in assets
    bundle = client(app).get("/static/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
    assert bundle.headers["content-type"].startswith("text/javascript")


# ------------------------------------------------------------------------- audit
def test_every_read_of_personal_data_is_audited_with_user_and_channel(app, doc_id):
    c = client(app, "lan")
    reads = {
        ("page_image_shown", "web"): f"/documents/{doc_id}/pages/1/image",
        ("thumbnail_shown", "web"): f"/documents/{doc_id}/pages/1/thumbnail",
        ("page_text_shown", "web"): f"/documents/{doc_id}/pages/1/hocr",
        ("review_queue_shown", "api"): "/api/review",
        ("review_queue_shown", "web"): "/review",
        ("copy_exported", "web"): f"/documents/{doc_id}/pdf",
        ("document_shown", "api"): f"/api/documents/{doc_id}",
        ("document_shown", "web"): f"/documents/{doc_id}",
        ("search", "api"): "/api/search?q=thao",
        ("search", "web"): "/search?q=thao",
    }
    admin = client(app, "hoa")
    for (action, channel), url in reads.items():
        before = len(admin.get("/api/audit", params={"actor": "lan", "limit": 10000}).json())
        assert c.get(url).status_code == 200, url
        trail = admin.get("/api/audit", params={"actor": "lan", "limit": 10000}).json()
        new = trail[: len(trail) - before]
        assert [(e["action"], e["channel"]) for e in new] == [(action, channel)], (url, new)
        assert new[0]["actor"] == "lan"
        if action not in ("search", "review_queue_shown"):
            assert new[0]["target"] == doc_id
    # a refused read is not a read: nothing is served, and nothing audited as shown
    before = len(admin.get("/api/audit", params={"limit": 10000}).json())
    assert client(app, "minh").get(f"/documents/{doc_id}/pages/1/image").status_code == 403
    after = admin.get("/api/audit", params={"limit": 10000}).json()
    assert not any(e["action"] == "page_image_shown" for e in after[: len(after) - before])
