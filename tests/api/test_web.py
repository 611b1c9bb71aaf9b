"""The web application and API over HTTP (FastAPI's test client, the real app and runtime on
ingested samples): sign-in, CSRF, who may do what on every kind of route, search,
documents, the citizen portal (identical answers, rate limit) and copy verification."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.archive import APPLICANT, CODE, PASSWORD, make_archive
from tests.conftest import SCANS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def app(home):
    from api.app import create_app
    from pipeline.config import Settings

    return create_app(Settings(home=home))


def client(app, user: str | None = None) -> TestClient:
    c = TestClient(app, base_url="http://127.0.0.1")
    if user:
        form = c.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf,
                                   "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
    return c


def csrf_of(c: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/search").text).group(1)


def test_sign_in_needs_the_right_password_and_the_form_token(app):
    c = TestClient(app)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    bad = c.post("/login", data={"username": "lan", "password": "wrong password",
                                 "csrf": csrf, "next": "/"})
    assert bad.status_code == 401 and "Sai tên đăng nhập" in bad.text
    forged = TestClient(app).post("/login", data={"username": "lan", "password": PASSWORD,
                                                  "csrf": csrf, "next": "/"},
                                  follow_redirects=False)
    assert forged.status_code == 401  # no login-form cookie: not from our form
    ok = client(app, "lan")
    assert ok.cookies.get("sohoa_session")
    assert ok.get("/api/search", params={"q": "thao"}).status_code == 200


def test_every_route_checks_the_role(app):
    anonymous, clerk, archivist, admin = (TestClient(app), client(app, "lan"),
                                          client(app, "minh"), client(app, "hoa"))
    assert anonymous.get("/api/search?q=a").status_code == 401
    assert anonymous.get("/search", follow_redirects=False).headers["location"].startswith(
        "/login")
    assert archivist.get("/api/search?q=a").status_code == 403  # archivists do not read records
    assert archivist.get("/api/audit").status_code == 403  # nor the audit log
    assert clerk.get("/api/users").status_code == 403  # clerks do not manage users
    assert clerk.get("/api/audit").status_code == 403
    assert admin.get("/api/users").status_code == 200
    assert {u["username"] for u in admin.get("/api/users").json()} == {"lan", "minh", "hoa"}


def test_logout_needs_the_session_csrf_token(app):
    c = client(app, "lan")
    assert c.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert c.get("/api/search?q=a").status_code == 200  # still signed in
    assert c.post("/logout", data={"csrf": csrf_of(c)}, follow_redirects=False).status_code == 303
    assert c.get("/api/search?q=a").status_code == 401


def test_clerks_search_without_diacritics_read_documents_and_are_audited(app):
    c = client(app, "lan")
    res = c.get("/api/search", params={"q": "dinh hong thao"}).json()
    doc_id = res["hits"][0]["document_id"]
    assert "<mark>" in res["hits"][0]["snippet"]
    page = c.get("/search", params={"q": "dinh hong thao"}).text
    assert f"/documents/{doc_id}" in page and "Tìm thấy 1 trang" in page
    html = c.get(f"/documents/{doc_id}").text
    assert "ĐINH HỒNG THẢO" in html.upper() and f"/documents/{doc_id}/pages/1/image" in html
    img = c.get(f"/documents/{doc_id}/pages/1/image")
    assert img.headers["content-type"] == "image/jpeg" and img.content[:2] == b"\xff\xd8"
    pdf = c.get(f"/documents/{doc_id}/pdf")
    assert pdf.content.startswith(b"%PDF")
    assert c.get("/api/documents/nope").status_code == 404
    trail = client(app, "hoa").get("/api/audit", params={"actor": "lan"}).json()
    assert {"search", "document_shown", "copy_exported"} <= {e["action"] for e in trail}
    assert {e["channel"] for e in trail} >= {"web", "api"}


def test_citizens_get_only_their_own_with_one_answer_for_every_failure(app):
    c = TestClient(app, client=("10.0.0.1", 5000))
    ok = c.post("/citizen", data={"code": CODE, "personal_id": APPLICANT})
    assert ok.status_code == 200
    link = re.search(r'href="(/citizen/copies/[0-9A-F]+\.pdf)"', ok.text).group(1)
    copy = c.get(link)
    assert copy.content.startswith(b"%PDF")
    wrong = c.post("/citizen", data={"code": CODE, "personal_id": "001088200613"})
    unknown = c.post("/citizen", data={"code": "000.00.01.H26-230313-9999",
                                       "personal_id": APPLICANT})
    # the same page but for the code each typed (kept in the form; the ID number never is)
    assert wrong.status_code == unknown.status_code == 404 and \
        wrong.text.replace(CODE, "") == unknown.text.replace("000.00.01.H26-230313-9999", "")
    assert c.get("/citizen/copies/000000000000.pdf").status_code == 404

    verdict = c.post("/verify", files={"file": ("copy.pdf", copy.content)}).text
    assert "Bản sao hợp lệ" in verdict
    forged = c.post("/verify", files={"file": ("copy.pdf", copy.content + b"%")}).text
    assert "Không khớp" in forged


def test_the_citizen_portal_is_rate_limited_per_address(app):
    c = TestClient(app, client=("10.0.0.2", 5000))
    codes = [c.post("/citizen", data={"code": CODE, "personal_id": "001088200613"}).status_code
             for _ in range(12)]
    assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]
    other = TestClient(app, client=("10.0.0.3", 5000))
    assert other.post("/citizen", data={"code": CODE, "personal_id": "001088200613"}
                      ).status_code == 404  # another address is not held up


def test_openapi_describes_the_api_to_staff_only(app):
    assert TestClient(app).get("/openapi.json").status_code == 401
    assert TestClient(app).get("/docs", follow_redirects=False).status_code == 303
    spec = client(app, "minh").get("/openapi.json").json()
    assert {"/api/search", "/api/documents/{doc_id}", "/api/citizen/retrieve",
            "/api/audit", "/api/uploads"} <= set(spec["paths"])
    upload = spec["paths"]["/api/uploads"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


def test_archivists_upload_and_follow_progress_and_names_never_become_paths(app, home):
    import time

    from tests.conftest import BAD

    c = client(app, "minh")
    csrf = re.search(r'data-csrf="([^"]+)"', c.get("/upload").text).group(1)
    files = [("files", ("../../../etc/evil.jpg", (SCANS / "death-jpeg-skew-0.6.jpg")
                        .read_bytes())),
             ("files", ("truncated.jpg", (BAD / "truncated-transfer.jpg").read_bytes()))]
    assert c.post("/api/uploads", files=files).status_code == 403  # no CSRF token
    assert client(app, "lan").post("/api/uploads", files=files,
                                   headers={"X-CSRF-Token": "x"}).status_code == 403
    r = c.post("/api/uploads", files=files, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 202
    url = r.json()["url"]
    deadline = time.monotonic() + 300  # stops a hung test only
    while (state := c.get(url).json())["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state["status"] == "done" and state["pages_done"] == state["pages_total"] >= 1
    by_status = {f["status"]: f for f in state["files"]}
    assert by_status["rejected"]["error"]["code"] == "truncated_file"
    assert by_status["done"]["file"].startswith(str(home / "uploads"))
    assert "/etc/" not in by_status["done"]["file"] and not (home.parent / "etc").exists()


def test_clerks_correct_documents_work_the_review_queue_and_read_dossiers_and_people(app):
    from tests.api.archive import BIRTH
    from tests.conftest import truth

    c = client(app, "lan")
    doc_id = c.get("/api/search", params={"q": "dinh hong thao"}).json()["hits"][0][
        "document_id"]
    body = {"fields": {"registration_number": "481"}}
    assert c.post(f"/api/documents/{doc_id}/corrections", json=body).status_code == 403
    assert client(app, "minh").post(f"/api/documents/{doc_id}/corrections", json=body,
                                    headers={"X-CSRF-Token": "x"}).status_code == 403
    ok = c.post(f"/api/documents/{doc_id}/corrections", json=body,
                headers={"X-CSRF-Token": csrf_of(c)})
    assert ok.status_code == 200 and ok.json()["fields"]["registration_number"] == "481"
    bad = c.post(f"/api/documents/{doc_id}/corrections", json={"fields": {"personal_id": "12"}},
                 headers={"X-CSRF-Token": csrf_of(c)})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_correction"
    shown = c.get(f"/api/documents/{doc_id}").json()
    assert shown["fields"]["registration_number"] == "481"
    assert [(x["field"], x["new"], x["by"]) for x in shown["corrections"]] == [
        ("registration_number", "481", "lan")]

    form = c.get(f"/documents/{doc_id}", params={"q": "dinh hong thao"}).text
    assert form.count('class="hl"') >= 3  # the name's words, boxed over the page image
    r = c.post(f"/documents/{doc_id}/correct", data={"csrf": csrf_of(c), "type":
                                                     "birth_certificate",
                                                     "field:book_number": "05/2006"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("saved=1")
    assert c.get(f"/api/documents/{doc_id}").json()["fields"]["book_number"] == "05/2006"
    assert isinstance(c.get("/api/review").json(), list)
    assert "Tài liệu chờ kiểm tra" in c.get("/review").text

    from tests.api.archive import CODE
    dossier = c.get(f"/api/dossiers/{CODE}").json()
    assert {d["result"] for d in dossier["documents"]} >= {f"{CODE}-KQ(1)"}
    person = c.get(f"/api/people/{truth(BIRTH)['fields']['personal_id']}").json()
    assert [{k: r[k] for k in ("document_id", "role")} for r in person["records"]] == [
        {"document_id": doc_id, "role": "subject"}]
    thumb = c.get(f"/documents/{doc_id}/pages/1/thumbnail")
    assert thumb.headers["content-type"] == "image/jpeg" and len(thumb.content) < 30_000


def test_admins_add_users_and_nobody_else_can(app):
    admin_client, clerk_client = client(app, "hoa"), client(app, "lan")
    body = {"username": "thu", "password": PASSWORD, "role": "clerk"}
    assert clerk_client.post("/api/users", json=body,
                             headers={"X-CSRF-Token": csrf_of(clerk_client)}).status_code == 403
    assert admin_client.post("/api/users", json=body).status_code == 403  # no CSRF token
    csrf = re.search(r'name="csrf" value="([^"]+)"', admin_client.get("/admin").text).group(1)
    short = admin_client.post("/api/users", json={**body, "password": "ngắn"},
                              headers={"X-CSRF-Token": csrf})
    assert short.status_code == 400 and "10 characters" in short.json()["error"]["message"]
    assert admin_client.post("/api/users", json=body,
                             headers={"X-CSRF-Token": csrf}).status_code == 201
    assert admin_client.post("/api/users", json=body,
                             headers={"X-CSRF-Token": csrf}).status_code == 400  # exists
    assert client(app, "thu") is not None  # can sign in (client() asserts the redirect)
    page = admin_client.get("/admin").text
    assert "thu" in page and "user_added" in page
    assert clerk_client.get("/admin").status_code == 403


def test_anonymous_visitors_and_citizens_reach_no_record(app):
    c = TestClient(app)
    doc_id = client(app, "lan").get("/api/search", params={"q": "dinh hong thao"}).json()[
        "hits"][0]["document_id"]
    for path in (f"/api/documents/{doc_id}", f"/documents/{doc_id}/pages/1/image",
                 f"/documents/{doc_id}/pages/1/hocr", f"/documents/{doc_id}/pdf",
                 f"/documents/{doc_id}/pages/1/thumbnail", "/api/review", "/api/audit",
                 f"/api/dossiers/{CODE}", "/api/uploads/x"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code in (401, 303), path
        assert doc_id not in r.text and "%PDF" not in r.text


def test_copies_are_verified_through_the_api(app):
    c = TestClient(app, client=("10.0.0.9", 5000))
    ok = c.post("/api/citizen/retrieve", data={"code": CODE, "personal_id": APPLICANT}).json()
    pdf = c.get(ok[0]["url"]).content
    good = c.post("/api/verify-copy", files={"file": ("c.pdf", pdf)}).json()
    assert good["valid"] and good["verification_code"] == ok[0]["verification_code"]
    assert not c.post("/api/verify-copy", files={"file": ("c.pdf", pdf[:-3])}).json()["valid"]
    admin = client(app, "hoa")
    checks = [e for e in admin.get("/api/audit", params={"actor": "anyone"}).json()
              if e["action"] == "copy_verified"]
    assert [e["detail"]["valid"] for e in checks[:2]] == [False, True]  # newest first
    assert checks[1]["target"] == good["sha256"] and checks[1]["detail"]["address"] == "10.0.0.9"
    downloads = [e for e in admin.get("/api/audit", params={"actor": "citizen"}).json()
                 if e["action"] == "copy_downloaded"]
    assert downloads and downloads[0]["detail"]["verification_code"] == \
        ok[0]["verification_code"]


def test_copy_verification_is_streamed_capped_and_limited_per_address(app):
    c = TestClient(app, client=("10.0.0.77", 5000))
    big = c.post("/api/verify-copy", files={"file": ("c.pdf", b"\0" * (21 * 1024 * 1024))})
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    assert c.post("/api/verify-copy", files={"code": (None, "X")}).json()["error"][
        "code"] == "no_file"
    limit = app.state.settings.verify_attempts
    answers = [c.post("/api/verify-copy", files={"file": ("c.pdf", b"%PDF-1.4 x")}).status_code
               for _ in range(limit + 1)]
    assert answers.count(200) <= limit and answers[-1] == 429
    other = TestClient(app, client=("10.0.0.78", 5000))  # another address is not held back
    assert other.post("/api/verify-copy", files={"file": ("c.pdf", b"x")}).status_code == 200
