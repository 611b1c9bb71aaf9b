import pytest

from search.embedded import EmbeddedIndex, parse_query
from search.index import IndexedPage


@pytest.fixture
def index(tmp_path):
    idx = EmbeddedIndex(tmp_path / "s.sqlite3")
    idx.upsert([
        IndexedPage("lee", 1, "Họ, chữ đệm, tên: TRẦN VĂN LỄ\nNgày sinh: 12/03/1987",
                    "birth_certificate"),
        IndexedPage("lea", 1, "Họ, chữ đệm, tên: TRẦN VĂN LÊ\nNgày sinh: 01/01/1990",
                    "birth_certificate"),
        IndexedPage("rcp", 1, "GIẤY TIẾP NHẬN HỒ SƠ\nMã hồ sơ: 000.00.01.H26-230313-0042\n"
                    "Ông/Bà: ĐẶNG THỊ MAI", "dossier_receipt", "000.00.01.H26-230313-0042"),
        IndexedPage("rcp", 2, "Thành phần hồ sơ: Tờ khai", "dossier_receipt",
                    "000.00.01.H26-230313-0042"),
    ])
    yield idx
    idx.close()


def test_query_without_diacritics_finds_text_with_them(index):
    res = index.search("dang thi mai")
    assert res.total == 1 and res.hits[0].document_id == "rcp"
    assert "<mark>ĐẶNG</mark>" in res.hits[0].snippet
    assert {h.document_id for h in index.search("tran van le").hits} == {"lee", "lea"}


def test_exact_accents_rank_first(index):
    assert index.search("Lễ").hits[0].document_id == "lee"
    assert index.search("Lê").hits[0].document_id == "lea"


def test_dossier_code_matches_as_a_phrase(index):
    res = index.search("000.00.01.H26-230313-0042")
    assert res.total == 1 and res.hits[0].page == 1
    assert index.search("000.00.01.H26-230313-0043").total == 0


def test_type_filter_limit_offset_and_count(index):
    assert index.search("ho", type="dossier_receipt").total == 2
    assert index.search("ho", type="birth_certificate").total == 2
    assert len(index.search("ho", limit=1).hits) == 1
    assert index.search("ho").total == 4
    assert len(index.search("ho", limit=10, offset=3).hits) == 1
    assert index.count() == 4


def test_upsert_replaces_and_delete_removes(index):
    index.upsert([IndexedPage("lee", 1, "đã sửa: NGUYỄN AN", "birth_certificate")])
    assert index.search("tran van le").total == 1
    assert index.search("nguyen an").hits[0].document_id == "lee"
    assert index.delete_document("rcp") == 2
    assert index.search("dang").total == 0
    assert index.count() == 2


def test_parse_query():
    assert parse_query('"Nguyễn Văn" an 12/03/1987') == [["nguyễn", "văn"], ["an"],
                                                         ["12", "03", "1987"]]
    assert parse_query('  " ') == []


def test_snippets_are_escaped(tmp_path):
    idx = EmbeddedIndex(tmp_path / "x.sqlite3")
    idx.upsert([IndexedPage("x", 1, "<script>alert(1)</script> Nguyễn")])
    snip = idx.search("nguyen").hits[0].snippet
    assert "<script>" not in snip and "&lt;script&gt;" in snip
    assert "<mark>Nguyễn</mark>" in snip
