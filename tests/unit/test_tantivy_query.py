"""The Tantivy backend's one-edit variants: which words one edit away a search looks for
(``search.tantivy_query.variants``), and that a search finds a page through them only."""

from __future__ import annotations

from pathlib import Path

from rapidfuzz.distance import Levenshtein

from search.index import IndexedPage
from search.tantivy_index import TantivyIndex
from search.tantivy_query import FUZZY_MAX_TERMS, edits, variants


def test_edits_are_every_word_one_edit_away_and_nothing_else():
    got = edits("thanh")
    assert "thanh" not in got
    assert {"than", "tanh", "thank", "thanh1", "thamh", "tthanh", "nthanh"} <= got
    assert all(Levenshtein.distance(w, "thanh") == 1 for w in got)
    assert "thnah" not in got  # a swap is two edits, as in the embedded backend
    # deletions 5 (some alike), insertions 6 places, replacements 5 places, over 36+ letters
    assert 300 < len(got) < 6 * 37 + 5 * 37 + 5


def test_variants_are_the_commonest_index_words_one_edit_away():
    counts = {"thanh": 900, "thank": 3, "than": 40, "tanh": 7, "thich": 50}
    got = variants(lambda w: counts.get(w, 0), "thanh")
    assert got == ["than", "tanh", "thank"]  # "thich" is two edits; the word itself is apart
    many = {w: n for n, w in enumerate(sorted(edits("nguyen")), start=1)}
    got = variants(lambda w: many.get(w, 0), "nguyen")
    assert len(got) == FUZZY_MAX_TERMS
    assert [many[w] for w in got] == sorted(many.values(), reverse=True)[:FUZZY_MAX_TERMS]


def test_short_words_and_words_with_digits_have_no_variants():
    asked = []
    assert variants(lambda w: asked.append(w) or 1, "thao") == []
    assert variants(lambda w: asked.append(w) or 1, "a1234") == []
    assert asked == []


def test_a_page_is_found_by_a_word_one_edit_from_its_own(tmp_path: Path):
    index = TantivyIndex(tmp_path / "idx")
    page = IndexedPage("d1", 1, "Họ và tên: Trần Thanb Hà", "birth_certificate", None, (),
                       "1990-01-02", "2024-01-01", None, ())
    other = IndexedPage("d2", 1, "Họ và tên: Lê Văn Bình", "birth_certificate", None, (),
                        "1991-01-02", "2024-01-01", None, ())
    index.upsert([page, other])
    assert [h.document_id for h in index.search("thanh").hits] == ["d1"]
    assert [h.document_id for h in index.search("tran thanh").hits] == ["d1"]
    assert index.search("thanhh").total == 0  # two edits from "thanb"
    assert index.search("ha").total == 1  # a short word: its own only
    index.close()
