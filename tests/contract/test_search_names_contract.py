"""Names rank first, in every search backend: a page whose name fields (the subject, the
parents, the spouses, the declarant, a register's entries) hold the query ranks above a page
where the same syllables only occur in running text ("Nguyên nhân chết" is not a Nguyễn)."""

from __future__ import annotations

import copy
import dataclasses
import logging

import pytest

from search.index import IndexedPage, SearchQuery

DEATH = IndexedPage(
    "n-death", 1, "TRÍCH LỤC KHAI TỬ\nHọ, chữ đệm, tên: TRẦN VĂN HẢI\nNơi cư trú: thôn Thị Lan\n"
    "Nguyên nhân chết: bệnh\nNguyên quán: Nguyên Bình", "death_certificate", None, (),
    "1998-02-01", "2024-05-01", "UBND Xã Uy Nỗ", names=("Trần Văn Hải",))
LAN = IndexedPage(
    "n-lan", 1, "GIẤY KHAI SINH\nHọ, chữ đệm, tên: Nguyễn Thị Lan\nGiới tính: Nữ\nDân tộc: Kinh\n"
    "Quốc tịch: Việt Nam\nNơi sinh: Bệnh viện Phụ sản Hà Nội\nHọ, chữ đệm, tên người mẹ: "
    "Trần Thị Hoa\nHọ, chữ đệm, tên người cha: Nguyễn Văn Hùng", "birth_certificate", None, (),
    "2001-05-04", "2024-05-02", "UBND Phường Kim Mã",
    names=("Nguyễn Thị Lan", "Trần Thị Hoa", "Nguyễn Văn Hùng"))
NAM = IndexedPage(
    "n-nam", 1, "GIẤY KHAI SINH\nHọ, chữ đệm, tên: NGUYEN VAN NAM\nGiới tính: Nam\nDân tộc: "
    "Kinh\nQuốc tịch: Việt Nam\nNơi sinh: Trạm y tế xã Uy Nỗ\nHọ, chữ đệm, tên người mẹ: Lê Thị "
    "Thu", "birth_certificate", None, (), "2003-09-09", "2024-05-03", "UBND Xã Uy Nỗ",
    names=("NGUYEN VAN NAM", "Lê Thị Thu"))


@pytest.fixture
def named(index):
    assert index.upsert([DEATH, LAN, NAM]) == 3
    return index


def order(index, text: str) -> list[str]:
    return [h.document_id for h in index.search(SearchQuery(text, limit=10)).hits]


def test_a_name_outranks_the_same_word_in_running_text(named):
    """"nguyen" (no marks) and "nguyên" (the marks of "Nguyên nhân", not of "Nguyễn") both
    rank the two Nguyễn pages above the death certificate. The rule: a page whose name
    fields match ranks above a page where the words only occur in running text, whatever
    the accent tier of that text match; within the name matches (and within the text
    matches) the contract's tiers still hold: exact marks, then folded, then words apart.
    So "nguyên" puts a name written Nguyên (exact) above Nguyễn (folded), and Nguyễn above
    "Nguyên nhân chết" (running text, even with exact marks): someone typing a word that
    is a name is looking for people, and a clerk who drops one mark of Nguyễn still finds
    the Nguyễns before every death certificate's form labels."""
    for query in ("nguyen", "nguyên", "NGUYỄN"):
        got = order(named, query)
        assert set(got[:2]) == {"n-lan", "n-nam"}, (query, got)
        assert got[2:] == ["n-death"], (query, got)  # still found, last


def test_exact_marks_still_rank_first_among_names(named):
    assert order(named, "nguyen")[0] == "n-nam"  # written NGUYEN: the exact form
    assert order(named, "nguyễn")[0] == "n-lan"


def test_given_names_rank_the_person_first(named):
    got = order(named, "thi lan")
    assert got[0] == "n-lan" and set(got) == {"n-lan", "n-death"}
    assert order(named, "thị lan")[0] == "n-lan"
    assert order(named, "tran van hai") == ["n-death"]


def test_a_name_a_clerk_corrected_is_found_and_ranked(index):
    """The name fields hold the corrected reading; the page text keeps what OCR read."""
    index.upsert([DEATH, IndexedPage("n-fix", 1, "GIẤY KHAI SINH\nHọ, chữ đệm, tên: NGUYÊN "
                                     "VĂN BÌNH", "birth_certificate",
                                     names=("Nguyễn Văn Bình",))])
    assert order(index, "nguyen van binh")[0] == "n-fix"


def test_names_follow_upserts_deletes_and_rebuilds(named):
    named.upsert([IndexedPage("n-lan", 1, LAN.text, "birth_certificate", names=())])
    assert order(named, "nguyen")[0] == "n-nam"
    assert order(named, "nguyen")[-1] == "n-lan"  # no name field now: text only, ties last
    named.delete_document("n-nam")
    named.rebuild(iter([DEATH, NAM]))
    assert order(named, "nguyen") == ["n-nam", "n-death"]


def test_pagination_crosses_from_names_to_text(named):
    seen, after = [], None
    for _ in range(5):
        res = named.search(SearchQuery("nguyen", limit=1, after=after))
        seen += [h.document_id for h in res.hits]
        assert res.total == 3
        if not res.next:
            break
        after = res.next
    assert seen == order(named, "nguyen") and len(seen) == 3


def from_before_names(index, pages: list[IndexedPage]):
    """The index as a sohoa from before names left it, holding ``pages``, opened again."""
    from search.elastic import MAPPINGS, SETTINGS, ElasticIndex
    from search.embedded import EmbeddedIndex

    pages = [dataclasses.replace(p, names=()) for p in pages]
    if isinstance(index, EmbeddedIndex):
        index.upsert(pages)
        db = index._conn()
        with db:
            db.execute("DROP TABLE name_fts")
            db.execute("DELETE FROM info WHERE key = 'schema'")
        index.close()
        return EmbeddedIndex(index.folder)
    es, old = index.es, f"{index.alias}-0-before-names"
    es.indices.delete_index_template(name=index.template)
    mappings = copy.deepcopy(MAPPINGS)
    del mappings["_meta"], mappings["properties"]["names"]
    es.indices.create(index=old, settings=SETTINGS, mappings=mappings)
    live = index._live()
    es.indices.update_aliases(actions=[{"remove": {"index": live, "alias": index.alias}},
                                       {"add": {"index": old, "alias": index.alias}}])
    es.indices.delete(index=live)
    for p in pages:
        source = ElasticIndex._source(p)
        del source["names"]
        es.index(index=old, id=f"{p.document_id}:{p.page}", document=source, refresh=True)
    return ElasticIndex(es, prefix=index.alias)


def test_an_index_from_before_names_answers_until_reindexed(make_index, caplog):
    with caplog.at_level(logging.WARNING, logger="search"):
        old = from_before_names(make_index(), [DEATH, LAN, NAM])
    assert "sohoa reindex" in caplog.text
    try:
        assert old.search("nguyen").total == 3 and old.search("thi lan").total == 2
        old.upsert([NAM])  # written with its names
        assert order(old, "nguyen")[0] == "n-nam"
        assert old.rebuild(iter([DEATH, LAN, NAM])) == 3
        got = order(old, "nguyen")
        assert set(got[:2]) == {"n-lan", "n-nam"} and got[2] == "n-death"
    finally:
        if type(old).__name__ == "EmbeddedIndex":
            old.close()
