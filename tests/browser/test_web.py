"""The web application in a real browser (tests/browser/conftest.py: Debian's Chromium
driven by Playwright), against `sohoa serve` started on loopback. Screenshots of each step go
to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.archive import APPLICANT, CODE, PASSWORD, make_archive
from tests.browser.conftest import screenshot
from tests.conftest import BAD, SCANS
from tests.e2e.test_cli import SOHOA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, web_server_factory):
    """`sohoa serve` on the web tests' archive (tests/api/archive.py)."""
    home = make_archive(tmp_path_factory.mktemp("browser"))
    return web_server_factory([SOHOA, "serve", "--port", "{port}"],
                              {"SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1"},
                              ready_path="/login")


def shot(page, name: str) -> Path:
    path = screenshot(page, name)
    assert path.stat().st_size > 1000
    return path


def sign_in(page, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login")


def test_a_clerk_finds_a_record_typed_without_diacritics_and_downloads_its_pdf(page, server,
                                                                               tmp_path):
    sign_in(page, server, "lan")
    page.wait_for_url("**/search")
    shot(page, "1-search-empty")
    page.fill("#q", "dinh hong thao")
    page.click("#search")
    page.wait_for_selector("#total")
    assert page.inner_text("#total") == "Tìm thấy 1 trang."
    marked = page.eval_on_selector_all(".snippet mark", "ms => ms.map(m => m.textContent)")
    assert {"ĐINH", "HỒNG", "THẢO"} <= {m.upper() for m in marked}  # highlighted, with marks
    shot(page, "2-search-results")
    page.click(".hit-link")
    page.wait_for_selector("#page-1")
    loaded = page.eval_on_selector("#page-1", "img => img.complete && img.naturalWidth")
    assert loaded and loaded > 1000  # the page image itself, beside its text
    assert "ĐINH HỒNG THẢO" in page.inner_text("#text-1").upper()
    shot(page, "3-document")
    with page.expect_download() as d:
        page.click("#pdf")
    pdf = tmp_path / "doc.pdf"
    d.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "ĐINH HỒNG THẢO" in text.upper()


def test_an_archivist_uploads_and_watches_the_progress_and_the_rejections(page, server):
    sign_in(page, server, "minh")
    page.wait_for_url("**/upload")
    page.set_input_files("#files", [str(SCANS / "death-jpeg-skew-0.6.jpg"),
                                    str(BAD / "truncated-transfer.jpg")])
    page.click("#send")
    # (expect, not wait_for_function: the page's CSP forbids the eval that polling a string uses)
    expect(page.locator("#status")).to_have_text(re.compile(r"^Xong"),
                                                 timeout=300_000)  # a hung test stops; no timing
    assert "truncated-transfer.jpg: Tệp bị cắt cụt" in page.inner_text("#rejected")
    assert "death-jpeg-skew-0.6.jpg: Xong (1 trang)" in page.inner_text("#done")
    assert page.eval_on_selector("#bar", "b => b.value === b.max")
    shot(page, "4-upload-done")


def test_a_citizen_downloads_their_certificate_and_a_wrong_id_learns_nothing(page, server,
                                                                            tmp_path):
    page.goto(server + "/citizen")
    page.fill("#code", CODE)
    page.fill("#personal_id", "001088200613")
    page.click("#retrieve")
    wrong = page.inner_text("#message")
    page.fill("#code", "000.00.01.H26-230313-9999")
    page.fill("#personal_id", APPLICANT)
    page.click("#retrieve")
    assert page.inner_text("#message") == wrong
    page.fill("#code", CODE)
    page.fill("#personal_id", APPLICANT)
    page.click("#retrieve")
    page.wait_for_selector("#copies")
    shot(page, "5-citizen-copies")
    with page.expect_download() as d:
        page.click("a.copy")
    copy = tmp_path / "copy.pdf"
    d.value.save_as(copy)
    assert copy.read_bytes().startswith(b"%PDF")
    page.goto(server + "/verify")
    page.set_input_files("#file", str(copy))
    page.click("#check")
    assert page.inner_text("#verdict").startswith("Bản sao hợp lệ")
    shot(page, "6-copy-verified")


def test_a_clerk_sees_the_words_marked_on_the_image_and_corrects_a_field(page, server):
    sign_in(page, server, "lan")
    page.wait_for_url("**/search")
    page.fill("#q", "dinh hong thao")
    page.click("#search")
    page.click(".hit-link")
    page.wait_for_selector("#page-1")
    boxes = page.eval_on_selector_all(".hl", "els => els.map(e => e.getBoundingClientRect())"
                                      ".map(r => [r.width, r.height])")
    assert len(boxes) >= 3 and all(w > 5 and h > 5 for w, h in boxes)  # drawn, visible
    shot(page, "7-document-highlighted")
    page.fill("#field-registration_number", "482")
    page.click("#save")
    page.wait_for_selector("#saved")
    assert page.input_value("#field-registration_number") == "482"
    assert "Số đăng ký\t480\t482\tlan" in page.inner_text("#corrections")
    shot(page, "8-document-corrected")
    page.click("text=Chờ kiểm tra")
    page.wait_for_selector("#queue")
