"""The clerks' pages say things as a clerk would (issue 16): titles, fields and errors in
Vietnamese, dossier and person pages reached from search and from a document, facets that
filter, register entries corrected one cell at a time, a review confirmed without a change."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tests.api.archive import APPLICANT, CODE, make_archive, signed_in


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


def client(app, user: str = "lan") -> TestClient:
    return signed_in(app, user)


@pytest.fixture(scope="module")
def birth(app) -> str:
    return client(app).get("/api/search", params={"q": "dinh hong thao"}).json()["hits"][0][
        "document_id"]


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(
        r"<(script|style)\b.*?</\1>", "", html, flags=re.S)))


def test_titles_are_said_as_a_clerk_says_them():
    from api.pages import title

    def doc(type_, **fields):
        return SimpleNamespace(type=type_, fields=fields, dossier_code=None)

    assert title(doc("birth_certificate", subject_name="Đinh Hồng Thảo",
                     date_of_birth="2006-08-14")) == \
        "Giấy khai sinh — Đinh Hồng Thảo — 14/08/2006"
    assert title(doc("marriage_certificate", husband_name="Lê Văn A", wife_name="Trần Thị B",
                     registration_date="1999-01-02")) == \
        "Giấy chứng nhận kết hôn — Lê Văn A và Trần Thị B — 02/01/1999"
    assert title(doc("dossier_receipt", dossier_code=CODE, received_date="2019-04-27")) == \
        f"Giấy tiếp nhận hồ sơ và hẹn trả kết quả — {CODE} — 27/04/2019"
    assert title(doc("unknown")) == "Chưa xác định"


def test_the_document_page_names_everything_in_vietnamese_and_links_dossier_and_people(
        app, birth):
    page = client(app).get(f"/documents/{birth}", params={"q": "dinh hong thao"}).text
    assert '<h1 id="title">Giấy khai sinh — Đinh Hồng Thảo — 14/08/2006</h1>' in page
    assert f'href="/dossiers/{CODE}"' in page and 'href="/people/' in page
    assert "<mark>ĐINH</mark> <mark>HỒNG</mark> <mark>THẢO</mark>" in page  # the text marked
    assert 'value="14/08/2006"' in page  # dates as dd/mm/yyyy
    assert 'data-box="' in page  # where each field was read
    text = visible(page)
    for code in ("birth_certificate", "date_of_birth", "registration_number", "needs_review"):
        assert code not in text


def test_an_unchanged_form_and_a_wrong_date_are_explained_in_vietnamese(app, birth):
    c = client(app)
    form = c.get(f"/documents/{birth}").text
    values = dict(re.findall(r'name="(field:[^"]+)" id="[^"]*" value="([^"]*)"', form))
    assert values["field:date_of_birth"] == "14/08/2006"
    r = c.post(f"/documents/{birth}/correct", data={"csrf": c.csrf, "type": "birth_certificate",
                                                   **values}, follow_redirects=True)
    assert "Chưa có gì thay đổi" in r.text and "--type" not in r.text
    r = c.post(f"/documents/{birth}/correct", data={
        "csrf": c.csrf, **values, "field:date_of_birth": "31/02/2006"}, follow_redirects=True)
    assert "Ngày sinh: «31/02/2006» không phải là ngày" in r.text


def test_a_register_entry_is_corrected_one_cell_at_a_time(runtime):
    from pipeline.review import InvalidCorrection, correct, get_document
    from storage.catalogue import DocumentRecord

    runtime.catalogue.start_document(DocumentRecord(
        id="reg", sha256="r" * 64, filename="r.jpg", source_path="/r.jpg",
        media_type="image/jpeg", size=1, original_key="o/r", page_count=0))
    runtime.catalogue.finish_document(
        "reg", type="civil_status_register", type_confidence=1.0, page_count=0,
        dossier_code=None, status="done", fields={"book_number": "04/1971", "entries": [
            {"name": "Hồ Kim Linh", "date_of_birth": "1971-02-22"},
            {"name": "Bùi Công Thắng", "date_of_birth": "1971-02-19"}]})
    correct(runtime, "reg", by="lan", fields={"entries.1.name": "Bùi Công Thắm",
                                             "entries.0.date_of_birth": "23/02/1971",
                                             "entries.2.name": "Hoàng Thị Mai"})
    doc, corrections = get_document(runtime, "reg")
    assert [e["name"] for e in doc.fields["entries"]] == ["Hồ Kim Linh", "Bùi Công Thắm",
                                                          "Hoàng Thị Mai"]
    assert doc.fields["entries"][0]["date_of_birth"] == "1971-02-23"
    assert {c.field for c in corrections} == {"entries.1.name", "entries.0.date_of_birth",
                                              "entries.2.name"}
    with pytest.raises(InvalidCorrection) as e:
        correct(runtime, "reg", by="lan", fields={"entries.9.name": "X"})
    assert e.value.problem == "no_such_entry"


def test_entries_are_corrected_through_the_api_too(app, birth):
    c = client(app)
    r = c.post(f"/api/documents/{birth}/corrections", headers={"X-CSRF-Token": c.csrf},
               json={"fields": {"entries.0.name": "Ai Đó"}})
    assert r.status_code == 200 and r.json()["fields"]["entries"] == [{"name": "Ai Đó"}]
    r = c.post(f"/api/documents/{birth}/corrections", headers={"X-CSRF-Token": c.csrf},
               json={"fields": {"entries.x.name": "Ai Đó"}})
    assert r.status_code == 422


def test_a_dossier_code_or_an_id_number_typed_in_search_opens_its_page(app):
    c = client(app)
    r = c.get("/search", params={"q": CODE.lower()}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/dossiers/{CODE}"
    page = c.get(r.headers["location"]).text
    assert f"Hồ sơ {CODE}" in page and "Kết quả KQ(1)" in page and "Giấy khai sinh —" in page
    person = c.get("/api/search", params={"q": "dinh hong thao"}).json()["hits"][0]
    doc = c.get(f"/api/documents/{person['document_id']}").json()
    pid = doc["fields"]["personal_id"]
    r = c.get("/search", params={"q": pid}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/people/{pid}"
    page = visible(c.get(r.headers["location"]).text)
    assert "Giấy khai sinh — Đinh Hồng Thảo" in page and "Người được đăng ký" in page
    assert c.get("/search", params={"q": "000.00.01.H26-230313-9999"},
                 follow_redirects=False).status_code == 200  # unknown: searched as text
    trail = client(app, "hoa").get("/api/audit", params={"actor": "lan"}).json()
    assert {"dossier_shown", "person_shown"} <= {e["action"] for e in trail}


def test_facets_have_vietnamese_names_and_filter_when_clicked(app):
    c = client(app)
    page = c.get("/search", params={"q": "nam"}).text
    links = re.findall(r'<a href="(/search\?[^"]*type=([a-z_]+)[^"]*)"[^>]*>([^<]+)</a>', page)
    assert links and all(not re.fullmatch(r"[a-z_]+", label) for _, _, label in links)
    href, type_, label = links[0]
    filtered = c.get(href.replace("&amp;", "&")).text
    assert f"loại «{label}»" in filtered
    decades = re.findall(r'href="(/search\?[^"]*decade=(\d{4})[^"]*)"', page)
    assert decades
    href, decade = decades[0]
    assert f"trong thập niên {decade}" in c.get(href.replace("&amp;", "&")).text


def test_errors_on_pages_are_pages_that_say_what_to_do(app):
    c = client(app)
    r = c.get("/documents/khong-co-tai-lieu-nay")
    assert r.status_code == 404 and "Không tìm thấy tài liệu này" in r.text
    assert 'id="advice"' in r.text and r.headers["content-type"].startswith("text/html")
    r = client(app, "minh").get("/search")  # an archivist
    assert r.status_code == 403 and "không được phép" in r.text and 'id="advice"' in r.text
    assert c.get("/api/documents/khong-co").json()["error"]["code"] == "not_found"  # JSON


def test_a_clerk_confirms_a_document_needs_no_correction(app, runtime, home):
    c = client(app)
    receipt = c.get("/api/search", params={"q": CODE}).json()["hits"]
    doc_id = next(h["document_id"] for h in receipt if h["type"] == "dossier_receipt")
    app.state.rt.catalogue.set_status(doc_id, "needs_review")
    before = c.get(f"/api/documents/{doc_id}").json()
    page = c.get(f"/documents/{doc_id}").text
    assert 'id="confirm"' in page
    values = dict(re.findall(r'name="(field:[^"]+)" id="[^"]*" value="([^"]*)"', page))
    r = c.post(f"/documents/{doc_id}/correct", data={"csrf": c.csrf, "confirm": "1",
                                                    "type": "dossier_receipt", **values},
               follow_redirects=False)
    assert r.status_code == 303 and "saved=1" in r.headers["location"]
    assert app.state.rt.catalogue.get_document(doc_id).status == "done"
    after = c.get(f"/api/documents/{doc_id}").json()  # confirmed, not corrected
    assert after["fields"] == before["fields"] and after["corrections"] == before["corrections"]
    assert after["fields"]["personal_id"] == APPLICANT
