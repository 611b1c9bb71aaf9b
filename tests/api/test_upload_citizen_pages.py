"""The upload and citizen pages in Vietnamese (the real app and runtime on ingested samples):
each uploaded file's and manifest row's outcome beside its English code, the names as
uploaded, the archivist's uploads and batches; the citizen form that keeps the dossier code
(never the ID number), names each copy by its document type and says when to try again."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from fastapi.testclient import TestClient

from tests.api.archive import APPLICANT, CODE, RECEIPT, make_archive, signed_in
from tests.conftest import BAD, SCANS

pytestmark = pytest.mark.slow
WRONG_ID = "001088200613"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def app(home):
    from api.app import create_app
    from pipeline.config import Settings

    app = create_app(Settings(home=home))
    yield app
    app.state.rt.close()


@pytest.fixture(scope="module")
def upload(app):
    """An archivist's upload of a scan already in the archive, a truncated file and a
    manifest (a row for the scan, one with a bad code, one for a file not sent): nothing to
    OCR."""
    c = signed_in(app, "minh")
    csrf = re.search(r'data-csrf="([^"]+)"', c.get("/upload").text).group(1)
    manifest = (f"path,dossier_code\n{RECEIPT},{CODE}\n"
                "truncated.jpg,không-phải-mã\n"
                f"not-sent.jpg,{CODE}\n").encode()
    files = [("files", (RECEIPT, (SCANS / RECEIPT).read_bytes())),
             ("files", ("truncated.jpg", (BAD / "truncated-transfer.jpg").read_bytes())),
             ("manifest", ("m.csv", manifest))]
    r = c.post("/api/uploads", files=files, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 300  # stops a hung test only
    while (state := c.get(r.json()["url"]).json())["status"] == "running" and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert state["status"] == "done", state
    return c, state


# ------------------------------------------------------------------------- uploads
def test_the_upload_status_says_each_files_outcome_in_vietnamese(upload):
    _, state = upload
    by_status = {f["status"]: f for f in state["files"]}
    rejected, duplicate = by_status["rejected"], by_status["duplicate"]
    assert rejected["error"]["code"] == "truncated_file"  # the English stays as it was
    assert rejected["status_vi"] == "Bị từ chối"
    assert rejected["message_vi"].startswith("Tệp bị cắt cụt")
    assert rejected["name"] == "truncated.jpg" and rejected["file"].endswith("-truncated.jpg")
    assert duplicate["status_vi"] == "Trùng, đã có trong kho"
    assert duplicate["name"] == RECEIPT and not re.match(r"\d{4}-", duplicate["name"])
    assert state["status_vi"] == "Xong" and state["started_at"] and state["finished_at"]


def test_the_manifest_outcome_comes_in_vietnamese(upload):
    _, state = upload
    rows = {r["manifest_line"]: r for r in state["manifest"]}
    assert rows[2]["status"] == "linked" and rows[2]["name"] == RECEIPT
    assert rows[2]["status_vi"] == "Đã gắn vào hồ sơ" and rows[2]["dossier_code"] == CODE
    assert rows[3]["status"] == "bad_row" and rows[3]["status_vi"] == "Dòng không hợp lệ"
    assert rows[3]["message_vi"].startswith("Mã hồ sơ không hợp lệ")
    assert rows[4]["name"] == "not-sent.jpg"  # not the stored manifest's placeholder
    assert rows[4]["message_vi"] == "Không có tệp này trong lần tải lên."


def test_the_upload_page_carries_no_english_and_links_the_history(upload):
    c, state = upload
    page = c.get("/upload").text
    assert 'href="/uploads"' in page and 'id="manifest-rows"' in page
    assert f'data-follow="{state["id"]}"' in c.get("/upload", params={"id": state["id"]}).text
    assert 'data-follow=""' in c.get("/upload", params={"id": "not-mine"}).text


def test_an_archivist_sees_their_uploads_and_looks_up_a_batch(app, upload):
    c, state = upload
    page = c.get("/uploads")
    assert page.status_code == 200
    assert f"/upload?id={state['id']}" in page.text
    assert re.search(r"\d{2}:\d{2} \d{2}/\d{2}/\d{4}", page.text)  # vi_time, Vietnam's clock
    assert "Xong" in page.text
    # the audit log's earlier uploads are listed once, not again beside this process's
    assert page.text.count(state["id"]) == 1
    other = signed_in(app, "hoa").get("/uploads").text  # an admin: their own only
    assert state["id"] not in other
    assert "Không có lô nào" in c.get("/uploads", params={"batch": "nope"}).text
    app.state.rt.catalogue.create_batch("b-pages", "minh")
    found = c.get("/uploads", params={"batch": "b-pages"}).text
    assert "Lô <code>b-pages</code>" in found
    assert signed_in(app, "lan").get("/uploads").status_code == 403  # clerks do not upload


def test_after_a_restart_the_earlier_uploads_come_from_the_audit_log(app, home, upload):
    from api.app import create_app
    from pipeline.config import Settings

    _, state = upload
    restarted = create_app(Settings(home=home))
    try:
        page = signed_in(restarted, "minh").get("/uploads").text
    finally:
        restarted.state.rt.close()
    past = re.search(r'<table id="past".*?</table>', page, re.S).group(0)
    assert f"<code>{state['id']}</code>" in past and "<td>2</td>" in past  # its two files
    assert re.search(r"<td>\d{2}:\d{2} \d{2}/\d{2}/\d{4}</td>", past)
    assert "Chưa có lần tải lên nào từ khi máy chủ khởi động lại" in page


# ------------------------------------------------------------------------- citizens
def test_the_citizen_form_keeps_the_code_but_never_the_id_after_a_wrong_try(app):
    c = TestClient(app, client=("10.1.0.1", 5000))
    r = c.post("/citizen", data={"code": CODE, "personal_id": WRONG_ID})
    assert r.status_code == 404
    assert f'value="{CODE}"' in r.text
    assert WRONG_ID not in r.text
    assert "value=" not in re.search(r'<input name="personal_id"[^>]*>', r.text).group(0)


def test_a_citizens_copy_is_named_by_its_document_type(app):
    c = TestClient(app, client=("10.1.0.2", 5000))
    r = c.post("/citizen", data={"code": CODE, "personal_id": APPLICANT})
    assert r.status_code == 200
    assert "Giấy khai sinh — KQ(1)" in r.text
    assert "Mã kiểm tra toàn vẹn (SHA-256)" in r.text
    assert re.search(r"<details><summary>Mã kiểm tra toàn vẹn \(SHA-256\)</summary>"
                     r"<code>[0-9a-f]{64}</code></details>", r.text)
    api = c.post("/api/citizen/retrieve", data={"code": CODE, "personal_id": APPLICANT}).json()
    assert {"result", "sha256", "verification_code", "url"} <= set(api[0])  # as before
    assert api[0]["type"] == "birth_certificate"
    assert api[0]["title"] == "Giấy khai sinh — KQ(1)"


def test_too_many_tries_says_the_clock_time_to_try_again(app):
    from api.i18n import ZONE

    c = TestClient(app, client=("10.1.0.3", 5000))
    code = "000.00.01.H26-230313-7777"  # not the archive's: its own count stays clear
    answers = [c.post("/citizen", data={"code": code, "personal_id": WRONG_ID})
               for _ in range(11)]
    r = answers[-1]
    assert r.status_code == 429
    m = re.search(r"thử lại lúc (\d{2}):(\d{2})", r.text)
    assert m, r.text
    assert f'value="{code}"' in r.text  # the code is kept here too
    wait = int(r.headers["Retry-After"])
    now = dt.datetime.now(ZONE)
    shown = now.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0,
                        microsecond=0)
    ahead = (shown - now).total_seconds() % 86400
    assert wait - 5 <= ahead <= wait + 120, (wait, ahead)  # rounded up to the minute
