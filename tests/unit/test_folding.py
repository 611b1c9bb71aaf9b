import unicodedata

from search.folding import fold, folded_tokens, nfc, tokens


def test_fold_removes_marks_and_maps_d_with_stroke():
    assert fold("NGUYỄN VĂN AN") == "nguyen van an"
    assert fold("Đặng Thị Lễ") == "dang thi le"
    assert fold("đường Lê Duẩn") == "duong le duan"


def test_fold_keeps_length_so_offsets_map_back():
    for text in ["Ủy ban nhân dân Phường Hàng Bạc", "Đ đ ĐẶNG", "Số: 001087012345", "ß İ ﬁ"]:
        assert len(fold(text)) == len(text)


def test_nfd_input_is_normalised_before_folding():
    decomposed = unicodedata.normalize("NFD", "Nguyễn")
    assert len(decomposed) > len("Nguyễn")
    assert fold(nfc(decomposed)) == "nguyen"
    assert folded_tokens(decomposed) == ["nguyen"]


def test_tokens_keep_marks_and_split_codes():
    assert tokens("NGUYỄN Văn-An") == ["nguyễn", "văn", "an"]
    assert folded_tokens("000.00.01.H26-230313-0042") == ["000", "00", "01", "h26", "230313",
                                                          "0042"]
