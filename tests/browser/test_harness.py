"""The browser harness itself, without the web app: a static site served by
`python -m http.server` through ``web_server_factory``, opened in Debian's Chromium."""

from __future__ import annotations

import sys

import pytest

from tests.browser.conftest import screenshot

PDF = b"%PDF-1.4\n% s\xe1\xbb\x91 h\xc3\xb3a\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
INDEX = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Số hóa hồ sơ</title></head>
<body>
  <h1 id="heading">Tìm kiếm hồ sơ</h1>
  <p id="note">Nhập mã hồ sơ hoặc số định danh cá nhân.</p>
  <button id="go" type="button">Tìm kiếm</button>
  <p><a id="dl" href="x.pdf" download>Tải xuống bản sao</a></p>
  <script>
    document.getElementById("go").addEventListener("click", () => {
      document.getElementById("heading").textContent = "Đã tìm thấy 3 hồ sơ";
    });
  </script>
</body></html>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, web_server_factory) -> str:
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text(INDEX, encoding="utf-8")
    (root / "x.pdf").write_bytes(PDF)
    cmd = [
        sys.executable,
        "-m",
        "http.server",
        "{port}",
        "--bind",
        "127.0.0.1",
        "--directory",
        str(root),
    ]
    return web_server_factory(cmd, {"PYTHONUNBUFFERED": "1"}, ready_path="/index.html")


def test_click_changes_heading_and_vietnamese_renders(page, site):
    page.goto(site + "/")
    assert page.title() == "Số hóa hồ sơ"
    assert page.inner_text("#heading") == "Tìm kiếm hồ sơ"
    assert "số định danh cá nhân" in page.inner_text("body")
    assert page.evaluate("navigator.language") == "vi-VN"

    page.click("#go")
    page.wait_for_function("document.getElementById('heading').textContent !== 'Tìm kiếm hồ sơ'")
    assert page.inner_text("#heading") == "Đã tìm thấy 3 hồ sơ"
    # the glyphs are really drawn with a font that has them (not tofu boxes)
    assert page.evaluate("document.fonts.check('16px sans-serif', 'Đã tìm thấy hồ sơ')")

    path = screenshot(page, "harness")
    assert path.is_file()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 1024


def test_download_saves_the_served_bytes(page, site, tmp_path):
    page.goto(site + "/")
    with page.expect_download() as info:
        page.click("#dl")
    download = info.value
    assert download.suggested_filename == "x.pdf"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes() == PDF
