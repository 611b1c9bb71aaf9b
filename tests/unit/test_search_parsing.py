import pytest

from search.index import BadQuery, codes, decode_cursor, encode_cursor, parse_query


def test_phrases_words_and_codes_are_told_apart():
    q = parse_query('"Nguyễn Văn" an 12/03/1987 CCCD 0010 8701 2345')
    assert q.codes == ["12031987", "001087012345"]
    assert q.phrases == [["nguyễn", "văn"], ["an"], ["cccd"]]
    assert parse_query('  " ').phrases == []


def test_codes_are_normalised_and_need_six_digits():
    assert codes("Mã hồ sơ: 000.00.01.H26-230313-0042") == ["0000001h262303130042"]
    assert codes("Số 12 phố Hàng Bông, năm 1987") == []
    assert codes("CCCD số 001087012345, cấp ngày 12/03/2015") == ["001087012345", "12032015"]


def test_cursors_round_trip_and_refuse_garbage():
    assert decode_cursor(encode_cursor([0.25, "d1", 3])) == [0.25, "d1", 3]
    with pytest.raises(BadQuery):
        decode_cursor("%%%")
    with pytest.raises(BadQuery):
        decode_cursor("eyJhIjogMX0")  # valid base64 of {"a": 1}, not a list
