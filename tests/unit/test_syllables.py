"""Vietnamese syllable validity: real words pass, OCR damage and foreign words do not."""

import pytest

from ocr.syllables import is_syllable, split_tone, validity

_TEXT = ("Cộng hòa xã hội chủ nghĩa Việt Nam Độc lập Tự do Hạnh phúc GIẤY KHAI SINH Họ chữ đệm "
        "tên NGUYỄN THỊ ĐẶNG Ngày tháng năm sinh Nơi cư trú Quận Đống Đa Hà Nội giếng quyết "
        "quân gì khuya nghiêng thuở quốc tịch phường người dân tộc Kinh Hoàng Dương Trương "
        "Huỳnh Ủy ban nhân khoảng oái")
REAL = _TEXT.split()


@pytest.mark.parametrize("word", REAL)
def test_real_syllables_are_valid(word):
    assert is_syllable(word)


@pytest.mark.parametrize("word", ["Ngu0i", "Nguyén", "NGUYEN", "hoc", "hop", "ka", "gha",
                                  "ngha", "ci", "xyz", "Street", "and", "tmp"])
def test_impossible_syllables_are_not(word):
    # stop finals need sắc or nặng (hoc, hop); k/gh/ngh only before i e ê (ka, gha, ngha);
    # c never before them (ci); "uyen" is spelled with ê
    assert not is_syllable(word)


def test_the_tone_is_split_from_the_other_marks():
    assert split_tone("Nguyễn") == ("nguyên", "nga")
    assert split_tone("ĐẶNG") == ("đăng", "nang")
    assert split_tone("an") == ("an", None)


def test_validity_is_the_share_of_possible_words_and_ignores_numbers():
    assert validity("Họ và tên: NGUYỄN VĂN AN") == 1.0
    assert validity("Ho va ten: NGUYEN VAN AN") == pytest.approx(5 / 6)
    assert validity("001087012345 12/03/1987") is None
