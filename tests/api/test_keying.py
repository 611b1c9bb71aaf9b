"""Keying handwritten records (issue 17): two different clerks key a record without seeing
each other's values; agreement is accepted and searchable at once; a disagreement goes to a
third clerk; nobody keys twice or settles their own; figures per keyer; the CLI too."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.api.archive import CODE, PASSWORD, make_archive, signed_in


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from pipeline.accounts import add_account
    from pipeline.config import Settings
    from pipeline.runtime import open_runtime

    home = make_archive(tmp_path_factory.mktemp("keying"))
    rt = open_runtime(Settings(home=home))
    add_account(rt, "tu", PASSWORD, "clerk", by="test", channel="cli")
    rt.close()
    return home


@pytest.fixture(scope="module")
def app(home):
    from api.app import create_app
    from pipeline.config import Settings

    app = create_app(Settings(home=home))
    yield app
    app.state.rt.close()


def client(app, user: str) -> TestClient:
    c = signed_in(app, user)
    c.headers["X-CSRF-Token"] = c.csrf
    return c


def doc_of(app, kind: str) -> str:
    hits = client(app, "lan").get("/api/search", params={"q": CODE if kind == "receipt"
                                                         else "dinh hong thao"}).json()["hits"]
    return next(h["document_id"] for h in hits if h["type"] == (
        "dossier_receipt" if kind == "receipt" else "birth_certificate"))


def key(c, task_id: int, **values):
    return c.post(f"/api/keying/tasks/{task_id}/keyings", json={"values": values,
                                                                 "seconds": 42})


def test_two_clerks_agree_and_the_record_is_found_by_name_without_marks(app):
    lan, tu = client(app, "lan"), client(app, "tu")
    doc = doc_of(app, "birth")
    task = lan.post("/api/keying/tasks", json={"document_id": doc}).json()
    assert task["status"] == "open" and task["keyings"] == 0
    assert lan.get("/api/keying/next").json()["id"] == task["id"]
    # a clerk may take the queue one kind of document at a time
    assert lan.get("/api/keying/next", params={"type": "birth_certificate"}).json()["id"] == \
        task["id"]
    assert lan.get("/api/keying/next", params={"type": "decision"}).status_code == 404
    first = key(lan, task["id"], subject_name="Lò Văn Páo", date_of_birth="14/08/2006")
    assert first.json()["status"] == "waiting"
    # the second keyer sees the task, never the first keyer's values
    seen = tu.get(f"/api/keying/tasks/{task['id']}").json()
    assert "Páo" not in json.dumps(seen, ensure_ascii=False) and seen["keyings"] == 1
    assert "Páo" not in tu.get(f"/keying/{task['id']}").text
    assert lan.get("/api/keying/next").status_code == 404  # lan keyed it: nothing for lan
    second = key(tu, task["id"], subject_name="  lò văn PÁO ", date_of_birth="2006-08-14")
    assert second.json()["status"] == "accepted"
    hits = lan.get("/api/search", params={"q": "lo van pao"}).json()["hits"]
    assert hits and hits[0]["document_id"] == doc  # searchable as soon as it is accepted
    page = lan.get(f"/documents/{doc}").text
    assert "Nhập tay bởi lan và tu" in page and 'value="Lò Văn Páo"' in page
    actions = [e["action"] for e in client(app, "hoa").get("/api/audit", params={
        "target": doc}).json()]
    assert {"keying_task_opened", "keying_submitted", "keying_accepted"} <= set(actions)


def test_a_disagreement_is_settled_by_a_third_clerk_only(app):
    lan, tu, hoa = client(app, "lan"), client(app, "tu"), client(app, "hoa")
    doc = doc_of(app, "receipt")
    task = tu.post("/api/keying/tasks", json={"document_id": doc}).json()
    key(lan, task["id"], subject_name="Huỳnh Văn Đạt", sex="Nam")
    again = key(lan, task["id"], subject_name="Huỳnh Văn Đạt")
    assert again.status_code == 400 and again.json()["error"]["code"] == "keying_refused"
    out = key(tu, task["id"], subject_name="Huỳnh Văn Đạo", sex="Nam").json()
    assert out["status"] == "disputed" and out["disputed"] == ["subject_name"]
    page = hoa.get(f"/keying/{task['id']}/settle").text
    assert "Huỳnh Văn Đạt" in page and "Huỳnh Văn Đạo" in page  # both values, and the image
    assert f"/documents/{doc}/pages/1/image" in page
    refused = lan.post(f"/api/keying/tasks/{task['id']}/settle",
                       json={"values": {"subject_name": "Huỳnh Văn Đạt"}})
    assert refused.status_code == 400  # a keyer does not settle their own record
    assert lan.get(f"/keying/{task['id']}/settle").status_code == 403
    done = hoa.post(f"/api/keying/tasks/{task['id']}/settle",
                    json={"values": {"subject_name": "Huỳnh Văn Đạt"}}).json()
    assert done["status"] == "accepted"
    assert done["task"]["accepted"] == {"subject_name": "Huỳnh Văn Đạt", "sex": "Nam"}
    assert lan.get(f"/api/documents/{doc}").json()["fields"]["subject_name"] == "Huỳnh Văn Đạt"
    assert "phân xử bởi hoa" in lan.get(f"/documents/{doc}").text


def test_every_disagreement_reaches_arbitration_cell_by_cell(runtime):
    from pipeline import keying
    from storage.catalogue import DocumentRecord

    runtime.catalogue.start_document(DocumentRecord(
        id="reg", sha256="r" * 64, filename="r.jpg", source_path="/r.jpg",
        media_type="image/jpeg", size=1, original_key="o/r", page_count=0))
    runtime.catalogue.finish_document("reg", type="civil_status_register", type_confidence=1.0,
                                      page_count=0, dossier_code=None, status="done",
                                      fields={"book_number": "04/1971"})
    task = keying.open_task(runtime, "reg", by="lan")
    assert task.prefill == {"book_number": "04/1971"}  # printed: known without the hand
    rows = [{"name": "Hồ Kim Linh", "date_of_birth": "22/02/1971"},
            {"name": "Bùi Công Thắng", "sex": "Nam"}]
    keying.submit(runtime, task.id, "lan", {"entries": rows})
    other = [dict(rows[0]), {"name": "Bùi Công Thắm", "sex": "Nam"}, {"name": "Ai Đó"}]
    out = keying.submit(runtime, task.id, "tu", {"entries": other})
    assert out.status == "disputed"
    assert set(out.disputed) == {"entries.1.name", "entries.2.name"}
    with pytest.raises(keying.KeyingError) as e:
        keying.settle(runtime, task.id, "hoa", {"entries.1.name": "Bùi Công Thắng"})
    assert e.value.problem == "unsettled"
    keying.settle(runtime, task.id, "hoa", {"entries.1.name": "Bùi Công Thắng",
                                            "entries.2.name": ""})
    from pipeline.review import get_document

    entries = get_document(runtime, "reg")[0].fields["entries"]
    assert [e.get("name") for e in entries] == ["Hồ Kim Linh", "Bùi Công Thắng"]
    assert entries[0]["date_of_birth"] == "1971-02-22"
    figures = {r["keyer"]: r for r in keying.stats(runtime)}
    assert figures["lan"]["keyings"] == figures["tu"]["keyings"] == 1
    assert 0 < figures["lan"]["agreement"] < 1


def test_a_wrong_value_is_refused_in_vietnamese_on_the_form(app):
    lan = client(app, "lan")
    task = lan.post("/api/keying/tasks", json={"document_id": doc_of(app, "birth")}).json()
    r = lan.post(f"/keying/{task['id']}", data={"csrf": lan.csrf, "started": "1",
                                                "f:date_of_birth": "31/02/2006"})
    assert r.status_code == 200 and "Ngày sinh: «31/02/2006» không phải là ngày" in r.text


def test_integrators_key_through_the_cli(home):
    from tests.e2e.test_cli import sohoa

    doc = json.loads(sohoa(home, "search", "dinh hong thao", "--json").stdout)["hits"][0][
        "document_id"]
    out = sohoa(home, "keying", "add", doc).stdout
    task = int(re.search(r"task (\d+)", out).group(1))
    nxt = json.loads(sohoa(home, "keying", "next", "--as", "an").stdout)
    assert nxt["id"] == task and "subject_name" in nxt["fields"]
    sohoa(home, "keying", "submit", str(task), "--as", "an", "--field", "subject_name=Mai Lan")
    out = json.loads(sohoa(home, "keying", "submit", str(task), "--as", "binh", "--field",
                           "subject_name=Mai Lân").stdout)
    assert out["status"] == "disputed"
    again = sohoa(home, "keying", "settle", str(task), "--as", "an", "--field",
                  "subject_name=Mai Lan", check=False)
    assert again.returncode != 0
    out = json.loads(sohoa(home, "keying", "settle", str(task), "--as", "chi", "--field",
                           "subject_name=Mai Lan").stdout)
    assert out["status"] == "accepted"
    stats = [json.loads(line) for line in sohoa(home, "keying", "stats").stdout.splitlines()]
    assert {"an", "binh"} <= {s["keyer"] for s in stats}


def test_the_queue_is_taken_one_type_batch_or_book_at_a_time(runtime):
    """An archivist hands out a batch, or one register book, to a team of keyers."""
    from api.app import create_app
    from pipeline import keying
    from storage.catalogue import DocumentRecord
    from tests.e2e.test_cli import sohoa

    def document(doc_id: str, doc_type: str, book: str, batch: str) -> int:
        runtime.catalogue.start_document(DocumentRecord(
            id=doc_id, sha256=doc_id * 64, filename=f"{doc_id}.jpg", source_path="/x",
            media_type="image/jpeg", size=1, original_key=f"o/{doc_id}", page_count=0))
        runtime.catalogue.finish_document(doc_id, type=doc_type, type_confidence=1.0,
                                          page_count=0, dossier_code=None, status="done",
                                          fields={"book_number": book} if book else {})
        if not runtime.catalogue.batch_exists(batch):
            runtime.catalogue.create_batch(batch, "an")
        runtime.catalogue.add_batch_file(batch, f"{doc_id}.jpg", sha256=doc_id * 64,
                                         document_id=doc_id, state="queued")
        return keying.open_task(runtime, doc_id, by="an").id

    a = document("a", "civil_status_register", "04/1971", "b-one")
    b = document("b", "civil_status_register", "05/1972", "b-two")
    c = document("c", "birth_certificate", "", "b-one")
    assert keying.next_task(runtime, "lan").id == a
    assert keying.next_task(runtime, "lan", book="05/1972").id == b
    assert keying.next_task(runtime, "lan", batch="b-one", doc_type="birth_certificate").id == c
    assert keying.next_task(runtime, "lan", batch="b-two", doc_type="birth_certificate") is None
    assert [t.id for t in runtime.catalogue.keying_tasks(batch="b-one")] == [a, c]
    assert [t.id for t in runtime.catalogue.keying_tasks(book="04/1971")] == [a]
    keying.submit(runtime, b, "lan", {"entries": [{"name": "Hồ Kim Linh"}]})
    assert keying.next_task(runtime, "lan", book="05/1972") is None  # lan keyed it already
    assert keying.next_task(runtime, "tu", book="05/1972").id == b

    # the same parts through the CLI, the API and the queue page
    home = runtime.settings.home
    out = json.loads(sohoa(home, "keying", "next", "--as", "tu", "--batch", "b-two").stdout)
    assert out["id"] == b
    listed = sohoa(home, "keying", "list", "--book", "04/1971", "--json").stdout
    assert [json.loads(line)["id"] for line in listed.splitlines()] == [a]
    app = create_app(runtime.settings)
    try:
        from pipeline.accounts import add_account

        add_account(runtime, "hoa", PASSWORD, "clerk", by="test", channel="cli")
        hoa = signed_in(app, "hoa")
        assert [t["id"] for t in hoa.get("/api/keying/tasks",
                                         params={"batch": "b-one"}).json()] == [a, c]
        assert hoa.get("/api/keying/next", params={"book": "05/1972"}).json()["id"] == b
        page = hoa.get("/keying", params={"batch": "b-two"}).text
        assert page.count('class="key"') == 1 and "05/1972" in page
        assert re.search(r"Đang chờ \(1\)", page)
        nxt = hoa.get("/keying/next", params={"book": "04/1971"}, follow_redirects=False)
        assert nxt.headers["location"] == f"/keying/{a}"
    finally:
        app.state.rt.close()
