"""The Tantivy backend's stored layout: its schema and the document written for each page (see
``search.tantivy_index`` for the design).

Words are cut and folded here, in Python, with the project's own ``TOKEN``, ``nfc`` and
``fold`` (exactly as the embedded backend cuts them), and written space-separated into fields
whose Tantivy tokenizer only splits on white space: ``exact`` (lower case, marks kept),
``folded`` (marks removed, đ→d), ``codes`` (numbers, IDs and dossier codes normalised to
letters and digits), and the same two for the names a page's fields hold. Filters are raw
(untokenised) terms; dates are numbers made of their digits, so that comparing them compares
the ISO strings. The sort keys pack a date above a sequence number (``date << 36 | seq``), so
that one fast field orders pages by date, ties in the order written, and a cursor is one
number; ``date_up`` puts undated pages last in ascending order, ``date_down`` in descending.
"""

from __future__ import annotations

import re

import tantivy

from search.folding import TOKEN, fold, nfc
from search.index import IndexedPage, codes, decade

SEQ_BITS = 36
SEQ_MASK = (1 << SEQ_BITS) - 1
NO_DATE_UP = 99_999_999  # an undated page sorts after every date
TEXT_FIELDS = ("exact", "folded", "codes", "name_exact", "name_folded")
RAW_FIELDS = ("key", "doc", "type", "dossier_code", "authority", "pid", "event_date")
NUMBER_FIELDS = ("page", "seq", "date_up", "date_down", "decade", "scanned", "chunk")
FIELDS = (*TEXT_FIELDS, *RAW_FIELDS, *NUMBER_FIELDS, "text")
STORED = {"doc", "type", "dossier_code", "event_date", "page", "text"}


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name="whitespace",
                          index_option="freq" if name == "codes" else "position")
    for name in RAW_FIELDS:
        sb.add_text_field(name, tokenizer_name="raw", stored=name in STORED,
                          fast=name == "type", index_option="basic")
    for name in NUMBER_FIELDS:
        sb.add_unsigned_field(name, stored=name in STORED, indexed=name != "page",
                              fast=name != "page")
    sb.add_bytes_field("text", stored=True)  # for snippets: stored (compressed), not indexed
    return sb.build()


def page_key(document_id: str, page: int) -> str:
    """One page's term, ordered as (document id, page) are: "\\x00" sorts below any letter."""
    return f"{document_id}\x00{page:010d}"


def split_key(key: str) -> tuple[str, int]:
    document_id, _, page = key.rpartition("\x00")
    return document_id, int(page)


def digits(date: str | None, width: int) -> int | None:
    """An ISO date or time as a number of ``width`` digits ("1987-03-12" → 19870312 at 8),
    padded with zeros, so that numbers compare as the strings do."""
    if not date:
        return None
    found = re.sub(r"\D", "", date)[:width]
    return int(found.ljust(width, "0")) if found else None


def date_up(date: str | None, seq: int) -> int:
    value = digits(date, 8)
    return (NO_DATE_UP if value is None else value) << SEQ_BITS | seq


def date_down(date: str | None, seq: int) -> int:
    value = digits(date, 8)
    return (0 if value is None else value) << SEQ_BITS | seq


def text_values(text: str) -> tuple[str, str]:
    """Exact (lower case, marks kept) and folded words of NFC text, space-separated."""
    exact = " ".join(t.lower() for t in TOKEN.findall(text))
    return exact, " ".join(TOKEN.findall(fold(text)))


def page_document(p: IndexedPage, seq: int, chunk: int = 0) -> tantivy.Document:
    text = nfc(p.text)
    doc = tantivy.Document()
    doc.add_text("key", page_key(p.document_id, p.page))
    doc.add_text("doc", p.document_id)
    doc.add_unsigned("page", p.page)
    doc.add_text("type", p.type)
    exact, folded = text_values(text)
    doc.add_text("exact", exact)
    doc.add_text("folded", folded)
    found = codes(text)
    if found:
        doc.add_text("codes", " ".join(found))
    if p.names:
        exact, folded = text_values("\n".join(nfc(n) for n in p.names))
        doc.add_text("name_exact", exact)
        doc.add_text("name_folded", folded)
    for name, value in (("dossier_code", p.dossier_code), ("authority", p.authority),
                        ("event_date", p.event_date)):
        if value:
            doc.add_text(name, value)
    for pid in dict.fromkeys(p.personal_ids):
        doc.add_text("pid", pid)
    doc.add_unsigned("seq", seq)
    doc.add_unsigned("date_up", date_up(p.event_date, seq))
    doc.add_unsigned("date_down", date_down(p.event_date, seq))
    found_decade = decade(p.event_year)
    if found_decade is not None:
        doc.add_unsigned("decade", int(found_decade))
    scanned = digits(p.scanned_at, 14)
    if scanned is not None:
        doc.add_unsigned("scanned", scanned)
    doc.add_unsigned("chunk", chunk)
    doc.add_bytes("text", text.encode("utf-8"))
    return doc
