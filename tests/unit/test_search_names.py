"""Which names a document's fields give the search index, and which of its pages gets each."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.indexing import index_pages, page_names, person_names


@dataclass
class Page:
    number: int
    text: str


def test_every_name_field_and_every_entry_gives_names_once():
    fields = {"subject_name": "Nguyễn Thị Lan", "mother_name": "Trần  Thị Hoa",
              "father_name": "Nguyễn Văn Hùng", "declarant_name": "Nguyễn Văn Hùng",
              "husband_name": None, "place_of_birth": "Hà Nội", "registration_number": "12",
              "entries": [{"name": "Lê Văn Tám", "father_name": "Lê Văn Bảy"},
                          {"name": "Phạm Thị Hai", "date_of_birth": "1962-01-01"}, "junk"]}
    assert person_names(fields) == ("Nguyễn Thị Lan", "Trần Thị Hoa", "Nguyễn Văn Hùng",
                                    "Lê Văn Tám", "Lê Văn Bảy", "Phạm Thị Hai")
    assert person_names({"issuing_authority": "UBND Xã Uy Nỗ"}) == ()


def test_a_register_page_gets_the_names_it_holds_and_the_first_page_the_rest():
    texts = ["SỔ ĐĂNG KÝ KHAI SINH\n1. LÊ VĂN TÁM, cha: Lê Văn Bảy",
             "2. Phạm Thị Hai\n3. Lê Văn Tám (ghi chú)"]
    got = page_names(("Lê Văn Tám", "Lê Văn Bảy", "Phạm Thị Hai", "Đỗ Văn Mười"), texts)
    assert got == [("Lê Văn Tám", "Lê Văn Bảy", "Đỗ Văn Mười"), ("Lê Văn Tám", "Phạm Thị Hai")]
    assert page_names(("Lê Văn", ), ["Lê Văn Tám"]) == [("Lê Văn",)]  # one page: all
    assert page_names(("Văn Tá",), ["x", "Lê Văn Tám"]) == [("Văn Tá",), ()]  # whole words


def test_index_pages_carry_the_names():
    pages = index_pages("d", "birth_certificate", {"subject_name": "NGUYEN VAN NAM"}, None,
                        None, iter([Page(1, "GIẤY KHAI SINH NGUYỄN VĂN NAM")]))
    assert [p.names for p in pages] == [("NGUYEN VAN NAM",)]
    assert index_pages("d", "unknown", {}, None, None, [Page(1, "x")])[0].names == ()
