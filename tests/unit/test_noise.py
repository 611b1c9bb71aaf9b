"""Which OCR words are signatures, flourishes and specks rather than text (ocr/noise.py)."""

from ocr.engine import Word
from ocr.noise import drop_noise, is_noise_line, plausible


def _line(pairs, line=0):
    return [Word(t, c, (10 * i, 0, 10 * i + 8, 10), line, 0) for i, (t, c) in enumerate(pairs)]


def test_plausible_words_are_syllables_acronyms_and_numbers():
    for word in ("Nguyễn", "CHỦ", "UBND", "242", "02/1998", "Số:", "(Bản", "XNTTHN"):
        assert plausible(word), word
    for word in ("T52.", "_//Y", "a:1A", "<,J:W/WvU", "°°,", "Vrv", "xàmmu", "-"):
        assert not plausible(word), word


def test_a_line_is_noise_only_when_nothing_in_it_reads_as_text_with_confidence():
    assert is_noise_line(_line([("T52.", 34)]))
    assert is_noise_line(_line([(".N", 59), ("AMM", 59)]))
    assert is_noise_line(_line([("TA", 33), ("MY#", 41), ("N/", 0)]))  # syllables, unsure
    assert not is_noise_line(_line([("SO:", 38), ("242", 89), ("Quyển", 97)]))
    assert not is_noise_line(_line([("UBND", 95)]))
    assert not is_noise_line(_line([("Họ", 40), ("tên", 40)]))  # a real line, read unsurely
    assert not is_noise_line(_line([("_//Y", 90), ("~", 92)]))  # sure of itself: kept


def test_drop_noise_keeps_order_and_drops_unsure_symbols_in_text_lines():
    lines = [_line([("Số:", 72), ("145", 97), ("-", 0), ("nữ", 25)], 0),
             _line([("+", 42), ("SN", 19)], 1),
             _line([("Huỳnh", 97), ("Diệu", 96), ("-", 93), ("Oanh", 96)], 2)]
    assert [w.text for w in drop_noise(lines)] == ["Số:", "145", "nữ", "Huỳnh", "Diệu", "-",
                                                  "Oanh"]


def test_with_a_first_reading_a_line_is_noise_only_when_both_readings_are():
    second = [_line([("3", 68), ("aa/!", 68)])]
    assert drop_noise(second, [_line([("m", 0), ("NỈ”", 26)])]) == []
    first = [_line([("TM.", 70), ("ỦY", 90)])]
    assert [w.text for w in drop_noise(second, first)] == ["3", "aa/!"]


def test_the_share_of_impossible_words_on_a_page():
    from ocr.noise import implausible_share

    good = _line([("Họ", 96), ("và", 96), ("tên:", 96), ("NGUYỄN", 90), ("001087012345", 97)])
    assert implausible_share(good) == 0.0
    poor = _line([("Ngu0i", 60), ("chết", 80), ("xàmmu", 50), ("Hà", 90), ("-", 20)])
    assert implausible_share(poor) == 0.5  # 2 of the 4 words with letters
    assert implausible_share([]) == 0.0
