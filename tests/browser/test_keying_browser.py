"""Keying in a real browser (issue 17): a clerk queues a record and keys it, a second clerk
keys it differently, a third settles the disagreement by choosing, and the record is then
found by its name typed without marks. Screenshots: test-artifacts/screenshots/keying-*.png."""

from __future__ import annotations

import re
import subprocess
import unicodedata

import pytest

from tests.api.archive import PASSWORD, make_archive
from tests.browser.conftest import screenshot
from tests.browser.test_clerk_day import visible_codes
from tests.e2e.test_cli import SOHOA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, web_server_factory):
    home = make_archive(tmp_path_factory.mktemp("keying-browser"))
    subprocess.run([SOHOA, "user", "add", "tu", "--role", "clerk", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True,
                   env={"SOHOA_HOME": str(home), "PATH": "/usr/bin:/bin"})
    return web_server_factory([SOHOA, "serve", "--port", "{port}"],
                              {"SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1"},
                              ready_path="/login")


def desk(browser, base: str, user: str):
    context = browser.new_context(locale="vi-VN", viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
    return context, page


def telex(page, text: str) -> None:
    """Type ``text`` as a Vietnamese input method does (Telex: "Paos" shows "Pao" and then
    "Páo" while composing, and commits "Páo"): composition events, not key presses, so a
    page that handled letter keys itself would lose or double the marks."""
    cdp = page.context.new_cdp_session(page)
    for i, word in enumerate(text.split(" ")):
        if i:
            page.keyboard.press("Space")
        plain = "".join(c for c in unicodedata.normalize("NFD", word)
                        if not unicodedata.combining(c)).replace("đ", "d").replace("Đ", "D")
        for end in range(1, len(plain) + 1):
            cdp.send("Input.imeSetComposition", {"text": plain[:end], "selectionStart": end,
                                                 "selectionEnd": end})
        cdp.send("Input.imeSetComposition", {"text": word, "selectionStart": len(word),
                                             "selectionEnd": len(word)})
        cdp.send("Input.insertText", {"text": word})
    cdp.detach()


def key_record(page, base: str, name: str, shot: str | None = None, *,
               ime: bool = False) -> str:
    page.goto(base + "/keying")
    page.click("#next")
    page.wait_for_selector("#keying-form")
    assert page.evaluate("document.activeElement.id") == "f-subject_name"  # ready to type
    # the image is zoomed to the line of the form where the name is written
    mark = page.locator(".line-mark").bounding_box()
    frame = page.locator("#zoom-frame").bounding_box()
    assert mark and mark["height"] > 0 and frame["y"] <= mark["y"] <= frame["y"] + frame["height"]
    if ime:
        telex(page, name)
        assert page.input_value("#f-subject_name") == name
    else:
        page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type("14/08/2006")
    if shot:
        screenshot(page, shot, full_page=False)
        assert not visible_codes(page)
    page.keyboard.press("Enter")
    page.wait_for_selector("#message")
    return page.inner_text("#message")


def test_key_disagree_settle_and_find(browser, server):
    lan_ctx, lan = desk(browser, server, "lan")
    lan.goto(server + "/search?q=dinh+hong+thao")
    lan.click("a.hit-link")
    lan.click("#to-keying")
    lan.wait_for_selector("#saved")
    assert "hàng chờ nhập liệu" in lan.inner_text("#saved")
    said = key_record(lan, server, "Lò Văn Páo", "keying-1-form")
    assert "chờ người nhập thứ hai" in said
    tu_ctx, tu = desk(browser, server, "tu")
    said = key_record(tu, server, "Lò Văn Pao", ime=True)
    assert "phân xử" in said
    screenshot(tu, "keying-2-queue", full_page=False)
    assert not visible_codes(tu)
    # the keyers cannot settle; a third clerk can
    assert "Phân xử" not in lan.goto(server + "/keying").text()
    hoa_ctx, hoa = desk(browser, server, "hoa")
    hoa.goto(server + "/keying")
    hoa.click("a.settle")
    hoa.wait_for_selector("#settle-form")
    legend = hoa.inner_text("#dispute-1 legend")
    assert legend == "Họ và tên"
    text = hoa.inner_text("#dispute-1")
    assert "Lò Văn Páo" in text and "Lò Văn Pao" in text
    screenshot(hoa, "keying-3-settle", full_page=False)
    assert not visible_codes(hoa)
    hoa.focus("#dispute-1 input[value=a]")
    hoa.keyboard.press("Space")
    hoa.click("#settle")
    hoa.wait_for_selector("#message")
    assert "chấp nhận" in hoa.inner_text("#message")
    hoa.goto(server + "/search?q=lo+van+pao")
    title = hoa.locator("a.hit-link").first.inner_text()
    assert title.startswith("Giấy khai sinh — Lò Văn Páo")
    hoa.locator("a.hit-link").first.click()
    assert "Nhập tay bởi lan và tu, phân xử bởi hoa" in hoa.inner_text(".keying")
    screenshot(hoa, "keying-4-document", full_page=False)
    for ctx in (lan_ctx, tu_ctx, hoa_ctx):
        ctx.close()
