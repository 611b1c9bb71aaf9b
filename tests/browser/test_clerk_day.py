"""A clerk's morning in a real browser, on an old office PC's 1024×768 screen: search →
document (one page and several) → dossier → person and back with the keyboard, a register
page's entries corrected in their table, a field's box on the image, the error pages; a
screenshot of every page (test-artifacts/screenshots/day-*.png); and on every page shown, no
identifier from the code's vocabularies (types, fields, statuses, review reasons, actions,
roles) in the visible text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from pipeline import labels
from pipeline.accounts import ROLES
from pipeline.classify import TYPES
from pipeline.fields.reader import PREFIX
from tests.api.archive import APPLICANT, CODE, PASSWORD, make_archive
from tests.browser.conftest import screenshot
from tests.conftest import SCANS
from tests.e2e.test_cli import SOHOA, sohoa

pytestmark = pytest.mark.slow
SIZE = {"width": 1024, "height": 768}
MORE = ("register-jpeg-skew-minus-4.1.jpg", "decision-3-pages-scanned-pdf.pdf",
        "marriage-jpeg-skew-minus-2.4.jpg")


def identifiers() -> set[str]:
    """Every code a page could leak: those with an underscore (birth_certificate,
    date_of_birth, needs_review, page_image_shown…) and the one-word codes that are not
    Vietnamese words (roles, statuses, link roles and sources)."""
    fields = set(labels.DOCUMENT) | {"decision_number"}
    for prefix in PREFIX.values():
        fields |= {prefix + a for a in labels.ATTRIBUTES} | {prefix + "name"}
    from api import i18n

    actions = {code for code, _ in i18n.vocabulary("action")}
    errors = {code for code, _ in i18n.vocabulary("error")}
    words = {*ROLES, "duplicate", "rejected", "processing", "needs_review", "record",
             "result", "manifest", "unknown", "subject", "husband", "wife", "mother",
             "father", "applicant", "declarant"}
    return {c for c in (*TYPES, *fields, *actions, *errors) if "_" in c} | words


LEAKS = identifiers()


def visible_codes(page) -> set[str]:
    text = page.inner_text("body")
    return {w for w in re.findall(r"[A-Za-z_]+", text) if w in LEAKS}


@pytest.fixture(scope="module")
def server(tmp_path_factory, web_server_factory):
    root = tmp_path_factory.mktemp("day")
    home = make_archive(root)
    sohoa(home, "ingest", *(str(SCANS / name) for name in MORE))
    return web_server_factory([SOHOA, "serve", "--port", "{port}"],
                              {"SOHOA_HOME": str(home), "OMP_THREAD_LIMIT": "1"},
                              ready_path="/login")


@pytest.fixture
def desk(browser):
    """A page on a 1024×768 screen."""
    context = browser.new_context(locale="vi-VN", viewport=SIZE, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def seen(page, name: str) -> None:
    """A screenshot of the page, and no code name in what it shows."""
    screenshot(page, f"day-{name}", full_page=False)
    assert not visible_codes(page), (name, page.url, visible_codes(page))


def sign_in(page, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))  # signed in: away from the form


def test_search_document_dossier_person_and_back_with_the_keyboard(desk, server):
    page = desk
    sign_in(page, server, "lan")
    page.wait_for_url("**/search")
    seen(page, "01-search-empty")
    page.keyboard.type("dinh hong thao")  # the box has the focus when the page opens
    page.keyboard.press("Enter")
    page.wait_for_selector("#total")
    seen(page, "02-search-results")
    hit = page.locator("a.hit-link").first
    assert hit.inner_text().startswith("Giấy khai sinh — Đinh Hồng Thảo — 14/08/2006")
    hit.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#title")
    assert page.inner_text("#title") == "Giấy khai sinh — Đinh Hồng Thảo — 14/08/2006"
    # the page image and its text beside the fields, all on the first screen
    image, fields = page.locator("#page-1").bounding_box(), page.locator("#fields").bounding_box()
    assert image["y"] < SIZE["height"] / 2 and fields["y"] < SIZE["height"] / 2
    assert image["x"] + image["width"] <= fields["x"]
    text = page.locator("#text-1").bounding_box()
    assert text["x"] >= image["x"] + image["width"] and text["y"] < SIZE["height"] - 100
    # choosing a field shows where it was read
    page.focus("#field-date_of_birth")
    box = page.locator("#trang-1 rect.field-box.on")
    expect(box).to_have_count(1)
    assert float(box.get_attribute("width")) > 0
    seen(page, "03-document-one-page")
    # the dossier code leads to the dossier, the person's name to the person
    page.focus("a.dossier")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dossiers/"))
    assert page.inner_text("#title") == f"Hồ sơ {CODE}"
    assert "Giấy khai sinh — Đinh Hồng Thảo" in page.inner_text("#results")
    assert "Kết quả KQ(1)" in page.inner_text("#results")
    seen(page, "04-dossier")
    page.go_back()  # the browser's Back (Alt+← is the browser's, not the page's, in headless)
    page.wait_for_selector("#title")
    assert page.inner_text("#title").startswith("Giấy khai sinh")
    page.focus("a.person")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/people/"))
    assert "Đinh Hồng Thảo".upper() in page.inner_text("#title").upper()
    seen(page, "05-person")
    page.locator("#records a").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#title")
    assert page.inner_text("#title").startswith("Giấy khai sinh")
    # a dossier code typed in the header's box opens the dossier
    page.fill("header input[type=search]", CODE)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dossiers/"))
    assert APPLICANT in page.inner_text("#dossier")


def test_a_multi_page_document_is_read_page_by_page_with_the_keys(desk, server):
    page = desk
    sign_in(page, server, "lan")
    page.goto(server + "/search?type=decision")
    page.locator("a.hit-link").first.click()
    page.wait_for_selector("#pager")
    assert page.inner_text("#page-of") == "Trang 1/3"
    assert page.is_visible("#page-1") and not page.is_visible("#page-2")
    seen(page, "06-document-multi-page")
    page.keyboard.press("PageDown")
    assert page.inner_text("#page-of") == "Trang 2/3"
    assert page.is_visible("#page-2") and not page.is_visible("#page-1")
    assert page.is_visible("#text-2") and not page.is_visible("#text-1")
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")  # past the last page: stays there
    assert page.inner_text("#page-of") == "Trang 3/3"
    page.keyboard.press("PageUp")
    assert page.inner_text("#page-of") == "Trang 2/3"
    seen(page, "07-document-page-2")


def test_a_register_page_shows_its_entries_as_a_table_a_clerk_corrects(desk, server):
    page = desk
    sign_in(page, server, "lan")
    page.goto(server + "/search?type=civil_status_register")
    page.locator("a.hit-link").first.click()
    page.wait_for_selector("#entries")
    rows = page.locator("#entries tbody tr")
    assert rows.count() >= 3  # the entries, and a row for one the machine missed
    first = page.locator("#entries tbody tr").first.locator("input").first
    old = first.input_value()
    first.fill("Nguyễn Thị Mai Anh" if "name" in first.get_attribute("name") else "999")
    seen(page, "08-register")
    page.click("#save")
    page.wait_for_selector("#saved")
    history = page.inner_text("#corrections")
    assert "(mục 1)" in history and "lan" in history and old in history
    seen(page, "09-register-corrected")


def test_review_upload_admin_citizen_and_error_pages_speak_vietnamese(desk, server):
    page = desk
    sign_in(page, server, "hoa")
    for path, name in (("/review", "10-review"), ("/upload", "11-upload"),
                       ("/admin", "12-admin"), ("/proposals", "13-proposals"),
                       ("/account", "14-account")):
        page.goto(server + path)
        seen(page, name)
    page.goto(server + "/admin")
    assert page.locator("#audit thead th").first.inner_text() == "Lúc"
    page.goto(server + "/documents/khong-co")
    assert page.inner_text("#problem h1").startswith("Không tìm thấy tài liệu")
    seen(page, "15-error-not-found")
    page.goto(server + "/dossiers/000.00.01.H26-230313-9999")
    assert "Không tìm thấy hồ sơ" in page.inner_text("#problem")
    page.goto(server + "/documents/x/correct")  # a form's address typed by hand: GET
    assert page.inner_text("#advice")
    seen(page, "16-error-method")
    # a citizen: a refusal, then their certificate
    page.context.clear_cookies()
    page.goto(server + "/citizen")
    page.fill("#code", CODE)
    page.fill("#personal_id", "001088200699")
    page.click("#retrieve")
    page.wait_for_selector("#message")
    seen(page, "17-citizen-refused")
    page.fill("#code", CODE)
    page.fill("#personal_id", APPLICANT)
    page.click("#retrieve")
    page.wait_for_selector("#copies")
    seen(page, "18-citizen-success")
