"""One contract for every search backend: the same queries, the same answers."""

from __future__ import annotations

import pytest

from search.index import BadQuery, IndexedPage, SearchQuery

PAGES = [
    IndexedPage("d-le", 1, "GIẤY KHAI SINH\nHọ, chữ đệm, tên: TRẦN VĂN LỄ\nNgày sinh: "
                "12/03/1987\nSố định danh cá nhân: 001087012345", "birth_certificate", None,
                ("001087012345",), "1987-03-12", "2024-05-01", "UBND Phường Hàng Bạc"),
    IndexedPage("d-lee", 1, "GIẤY KHAI SINH\nHọ, chữ đệm, tên: TRẦN VĂN LÊ\nNgày sinh: "
                "01/01/1990\nSố định danh cá nhân: 0010 9001 0001", "birth_certificate",
                None, ("001090010001",), "1990-01-01", "2024-05-02", "UBND Phường Kim Mã"),
    IndexedPage("d-rcp", 1, "GIẤY TIẾP NHẬN HỒ SƠ\nMã hồ sơ: 000.00.01.H26-230313-0042\n"
                "Ông/Bà: ĐẶNG THỊ MAI", "dossier_receipt", "000.00.01.H26-230313-0042", (),
                "2023-03-13", "2024-06-10", "UBND Phường Hàng Bạc"),
    IndexedPage("d-rcp", 2, "Thành phần hồ sơ: Tờ khai đăng ký khai sinh của Đặng Văn An",
                "dossier_receipt", "000.00.01.H26-230313-0042", (), "2023-03-13",
                "2024-06-10", "UBND Phường Hàng Bạc"),
    IndexedPage("d-die", 1, "TRÍCH LỤC KHAI TỬ\nHọ, chữ đệm, tên: NGUYỄN VĂN AN\nĐã chết "
                "ngày 05/07/1968", "death_certificate", None, (), "1968-07-05", "2024-05-01",
                "UBND Xã Uy Nỗ"),
    IndexedPage("d-old", 1, "SỔ ĐĂNG KÝ KHAI SINH NĂM 1962\nHọ và tên: NGUYỄN THỊ AN\n"
                "Họ và tên: NGUYỄN VĂN ANH", "civil_status_register", None, (), None,
                "2024-07-01", None),
]


@pytest.fixture
def idx(index):
    assert index.upsert(PAGES) == len(PAGES)
    return index


def ids(result) -> list[tuple[str, int]]:
    return [(h.document_id, h.page) for h in result.hits]


def test_folded_query_finds_marked_text_with_highlights(idx):
    res = idx.search("dang thi mai")
    assert ids(res) == [("d-rcp", 1)] and res.total == 1
    assert "<mark>ĐẶNG</mark>" in res.hits[0].snippet
    assert res.hits[0].type == "dossier_receipt"
    assert res.hits[0].dossier_code == "000.00.01.H26-230313-0042"


def test_every_word_must_match(idx):
    assert {d for d, _ in ids(idx.search("nguyen van an"))} == {"d-die", "d-old"}
    assert idx.search("nguyen van an mai").total == 0


def test_exact_accents_rank_first(idx):
    assert ids(idx.search("Lễ"))[0] == ("d-le", 1)
    assert ids(idx.search("Lê"))[0] == ("d-lee", 1)
    assert {d for d, _ in ids(idx.search("tran van le"))} == {"d-le", "d-lee"}


def test_phrases_match_in_order(idx):
    assert {d for d, _ in ids(idx.search('"nguyen van an"'))} == {"d-die"}
    assert idx.search('"an van nguyen"').total == 0


def test_one_edit_is_tolerated_on_longer_words_only(idx):
    assert ("d-die", 1) in ids(idx.search("nguyon"))  # OCR read ễ as o
    assert idx.search("mao").total == 0  # three letters: exact only


def test_ids_and_codes_match_however_they_are_written(idx):
    assert ids(idx.search("0010 8701 2345")) == [("d-le", 1)]
    assert ids(idx.search("001090010001")) == [("d-lee", 1)]  # written with spaces on the page
    assert ids(idx.search("000.00.01.H26-230313-0042")) == [("d-rcp", 1)]
    assert ids(idx.search("00000001h262303130042")) == []
    assert idx.search("000.00.01.H26-230313-0043").total == 0


def test_filters(idx):
    q = SearchQuery
    assert {d for d, _ in ids(idx.search(q("khai sinh", type="birth_certificate")))} == \
        {"d-le", "d-lee"}
    assert ids(idx.search(q(personal_id="001087012345"))) == [("d-le", 1)]
    assert sorted(ids(idx.search(q(dossier_code="000.00.01.H26-230313-0042")))) == \
        [("d-rcp", 1), ("d-rcp", 2)]
    assert {d for d, _ in ids(idx.search(q(authority="UBND Phường Hàng Bạc")))} == \
        {"d-le", "d-rcp"}
    assert {d for d, _ in ids(idx.search(q(event_from="1960-01-01", event_to="1989-12-31")))} \
        == {"d-le", "d-die"}
    assert {d for d, _ in ids(idx.search(q(scanned_from="2024-06-01")))} == {"d-rcp", "d-old"}
    assert idx.search(q("khai sinh", type="death_certificate")).total == 0


def test_counts_per_type_and_decade_over_all_matches(idx):
    res = idx.search(SearchQuery("ho", limit=1))
    assert res.total == 6 and len(res.hits) == 1
    assert res.facets["type"] == {"birth_certificate": 2, "dossier_receipt": 2,
                                  "death_certificate": 1, "civil_status_register": 1}
    assert res.facets["decade"] == {"1960": 1, "1980": 1, "1990": 1, "2020": 2}


@pytest.mark.parametrize("sort", ["relevance", "date", "-date"])
def test_deep_pagination_visits_every_hit_once(idx, sort):
    full = ids(idx.search(SearchQuery("ho", sort=sort, limit=100)))
    assert len(full) == 6
    seen, after = [], None
    for _ in range(10):  # three pages of two; a cursor that never ends fails, not hangs
        res = idx.search(SearchQuery("ho", sort=sort, limit=2, after=after))
        seen += ids(res)
        assert res.total == 6
        if not res.next:
            break
        after = res.next
    else:
        pytest.fail("pagination did not end")
    assert seen == full


def test_sorting_by_event_date(idx):
    dated = [h.event_date for h in idx.search(SearchQuery("ho", sort="date", limit=10)).hits]
    assert dated == ["1968-07-05", "1987-03-12", "1990-01-01", "2023-03-13", "2023-03-13", None]
    newest = [h.event_date for h in idx.search(SearchQuery("ho", sort="-date", limit=10)).hits]
    assert newest[:2] == ["2023-03-13", "2023-03-13"] and newest[-1] is None


def test_pages_grouped_by_document(idx):
    res = idx.search(SearchQuery("dang", limit=10))
    docs = {g["document_id"]: g["pages"] for g in res.documents}
    assert sorted(docs["d-rcp"]) == [1, 2]


def test_upsert_replaces_delete_removes_keys_are_sorted(idx):
    idx.upsert([IndexedPage("d-le", 1, "đã sửa: PHẠM MINH ĐỨC", "birth_certificate")])
    assert idx.search("tran van le").total == 1
    assert ids(idx.search("pham minh duc")) == [("d-le", 1)]
    assert idx.delete_document("d-rcp") == 2
    assert idx.search("dang thi mai").total == 0
    assert idx.count() == 4
    assert list(idx.keys()) == sorted([("d-le", 1), ("d-lee", 1), ("d-die", 1), ("d-old", 1)])


def test_rebuild_switches_to_the_new_content(idx):
    fresh = [IndexedPage("n-1", 1, "QUYẾT ĐỊNH cải chính hộ tịch", "decision"),
             IndexedPage("n-2", 1, "GIẤY KHAI SINH Lý Thị Hoa", "birth_certificate")]
    assert idx.rebuild(iter(fresh)) == 2
    assert list(idx.keys()) == [("n-1", 1), ("n-2", 1)]
    assert idx.search("dang thi mai").total == 0
    assert ids(idx.search("ly thi hoa")) == [("n-2", 1)]


def test_an_interrupted_rebuild_resumes(make_index):
    idx = make_index()
    idx.upsert(PAGES)
    new = [IndexedPage(f"r-{i:03d}", 1, f"trang số {i} Nguyễn Văn Hùng", "unknown")
           for i in range(30)]

    def crashing():
        for i, page in enumerate(new):
            if i == 17:
                raise RuntimeError("power cut")
            yield page

    with pytest.raises(RuntimeError):
        idx.rebuild(crashing(), batch=5)
    assert idx.search("dang thi mai").total == 1  # the live index is untouched
    idx.rebuild(iter(new), batch=5)
    assert [k for k, _ in idx.keys()] == [p.document_id for p in new]
    assert idx.search("nguyen van hung").total == 30


def test_bad_cursors_and_empty_queries(idx):
    with pytest.raises(BadQuery):
        idx.search(SearchQuery("ho", after="not-a-cursor"))
    assert idx.search("   ").total == 6  # no words: everything (filters alone)
    assert idx.search("!!!").total == 0
