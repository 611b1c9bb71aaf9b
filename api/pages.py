"""What the document, dossier and person pages show, as plain data for their templates: a
title as a clerk would say it, fields in Vietnamese with where each was read on the page,
register entries as rows, the people a record names and the dossiers it is filed under.
Vocabulary comes from the catalogue (api/i18n); nothing here is English a clerk would see."""

from __future__ import annotations

from dataclasses import dataclass, field

from api import i18n
from pipeline.errors import NotFound
from pipeline.runtime import Runtime

# The date that dates a document of each type, then any of the others.
DATES = {"birth_certificate": "date_of_birth", "death_certificate": "date_of_death",
         "dossier_receipt": "received_date", "decision": "signed_date"}
OTHER_DATES = ("registration_date", "signed_date", "received_date", "date_of_birth")
ENTRY_ORDER = ("entry_number", "registration_number", "registration_date", "name",
               "subject_name", "sex", "date_of_birth", "place_of_birth", "relation",
               "personal_id", "father_name", "mother_name", "residence")
ENTRY_TYPES = {"civil_status_register", "household_registration"}


def title(doc) -> str:
    """"Giấy khai sinh — Đinh Hồng Thảo — 14/08/2006"; the parts that are known."""
    f = doc.fields
    if doc.type == "marriage_certificate" and (f.get("husband_name") or f.get("wife_name")):
        who = " và ".join(n for n in (f.get("husband_name"), f.get("wife_name")) if n)
    elif doc.type == "dossier_receipt":
        who = f.get("dossier_code") or doc.dossier_code
    elif doc.type == "decision" and f.get("decision_number"):
        who = f"số {f['decision_number']}"
    elif doc.type in ENTRY_TYPES:
        who = f"quyển {f['book_number']}" if f.get("book_number") else f.get(
            "issuing_authority")
    else:
        who = f.get("subject_name") or f.get("name")
    when = f.get(DATES.get(doc.type, "")) or next(
        (f[k] for k in OTHER_DATES if f.get(k)), None)
    return " — ".join(p for p in (i18n.doc_type(doc.type), who, i18n.date(when)) if p)


@dataclass
class FieldRow:
    code: str  # the form's field name
    label: str
    value: str  # as the form shows it (dates dd/mm/yyyy)
    page: int | None = None
    box: tuple[float, float, float, float] | None = None  # left, top, width, height in %
    confidence: float | None = None
    corrected: bool = False


def _box(detail: dict | None, pages: dict) -> tuple[int | None, tuple | None]:
    if not detail or not detail.get("box") or detail.get("page") not in pages:
        return (detail or {}).get("page"), None
    page = pages[detail["page"]]
    if not page.width or not page.height:
        return detail["page"], None
    x0, y0, x1, y1 = detail["box"]
    return detail["page"], (round(100 * x0 / page.width, 2), round(100 * y0 / page.height, 2),
                            round(100 * (x1 - x0) / page.width, 2),
                            round(100 * (y1 - y0) / page.height, 2))


def field_rows(doc, corrections) -> list[FieldRow]:
    """The document's fields (not its entries) in the order they were read."""
    pages = {p.number: p for p in doc.pages}
    corrected = {c.field for c in corrections}
    rows = []
    for code, value in doc.fields.items():
        if code == "entries" or isinstance(value, (list, dict)):
            continue
        detail = (doc.field_details or {}).get(code)
        page, box = _box(detail, pages)
        rows.append(FieldRow(code, i18n.field(code), i18n.value(code, value), page, box,
                             (detail or {}).get("confidence"), code in corrected))
    first = ("subject_name", "name", "husband_name", "wife_name")
    return sorted(rows, key=lambda r: first.index(r.code) if r.code in first else len(first))


def missing_fields(doc) -> list[tuple[str, str]]:
    """(code, Vietnamese name) of the fields a clerk may add: those of the type's documents
    that this one lacks."""
    from pipeline.labels import ATTRIBUTES, DOCUMENT

    known = set(doc.fields)
    codes = ["subject_name", *ATTRIBUTES, *DOCUMENT]
    if doc.type == "marriage_certificate":
        codes = [f"{p}_{a}" for p in ("husband", "wife") for a in ("name", *ATTRIBUTES)] + \
            list(DOCUMENT)
    return sorted({(c, i18n.field(c)) for c in codes if c not in known and
                   c not in ("entries",)}, key=lambda t: t[1])


@dataclass
class Entries:
    columns: list[tuple[str, str]]  # (code, Vietnamese name)
    rows: list[list[str]]  # values as shown, in the columns' order


def entries(doc) -> Entries | None:
    """A register or household page's entries as a table (None when it has none)."""
    found = doc.fields.get("entries")
    if not isinstance(found, list) or (not found and doc.type not in ENTRY_TYPES):
        return None
    keys = {k for e in found for k in e}
    codes = [k for k in ENTRY_ORDER if k in keys] + sorted(keys - set(ENTRY_ORDER))
    if not codes:
        codes = ["name", "date_of_birth", "sex", "personal_id"]
    return Entries([(c, i18n.field(c)) for c in codes],
                   [[i18n.value(c, e.get(c)) for c in codes] for e in found])


@dataclass
class PersonLink:
    key: str
    name: str
    role: str


def people(rt: Runtime, doc_id: str) -> list[PersonLink]:
    out = []
    for person, role in rt.catalogue.document_people(doc_id):
        title_ = i18n.term("person_title", role)
        out.append(PersonLink(person.personal_id or str(person.id), person.name,
                              title_ if title_ != role else ""))
    return out


@dataclass
class DocumentPage:
    title: str
    fields: list[FieldRow]
    entries: Entries | None
    people: list[PersonLink]
    missing: list[tuple[str, str]] = field(default_factory=list)


def document_page(rt: Runtime, doc, corrections) -> DocumentPage:
    return DocumentPage(title(doc), field_rows(doc, corrections), entries(doc),
                        people(rt, doc.id), missing_fields(doc))


def highlighted(text: str, query: str):
    """The page's text, escaped, with the query's words (compared folded: marks, case and
    đ ignored) marked."""
    import re

    from markupsafe import Markup, escape

    from search.folding import fold

    wanted = {w for w in re.findall(r"\w+", fold(query or "")) if len(w) > 1}
    if not wanted:
        return text
    parts = []
    for piece in re.split(r"(\w+)", text):
        if piece and fold(piece) in wanted:
            parts.append(Markup("<mark>") + escape(piece) + Markup("</mark>"))
        else:
            parts.append(escape(piece))
    return Markup("").join(parts)


def form_values(doc) -> dict[str, str]:
    """Every value the correction form shows, by its input's name (without "field:"), as
    shown: a submitted value that differs from this is a correction."""
    out = {k: i18n.value(k, v) for k, v in doc.fields.items()
           if k != "entries" and not isinstance(v, (list, dict))}
    for i, e in enumerate(doc.fields.get("entries") or []):
        out.update({f"entries.{i}.{k}": i18n.value(k, v) for k, v in e.items()})
    return out


# ------------------------------------------------------------------ dossiers and people
CONFLICT_VI = {"document": "Giấy tờ mang nhiều mã hồ sơ khác nhau",
               "manifest": "Danh sách tải lên (manifest) không khớp với giấy tờ"}


@dataclass
class Filed:
    document_id: str
    title: str
    label: str  # "Kết quả KQ(1)", "Thành phần hồ sơ"
    how: str  # "Theo danh sách tải lên — minh"


def dossier_page(rt: Runtime, code: str) -> dict:
    """A dossier's page: its details, records, numbered results, conflicts, proposals."""
    from pipeline.present import dossier_dict
    from pipeline.review import get_document

    data = dossier_dict(rt, code)
    records, results = [], []
    for d in data["documents"]:
        try:
            doc_title = title(get_document(rt, d["document_id"])[0])
        except NotFound:  # a missing document is still listed
            doc_title = d["document_id"]
        result = d["result"]
        label = f"Kết quả {result[len(data['code']) + 1:]}" if result else \
            i18n.term("link_role", d["role"])
        how = i18n.term("link_source", d["linked_by"]) + (f" — {d['by']}" if d.get("by") else "")
        (results if result else records).append(Filed(d["document_id"], doc_title, label, how))
    conflicts = [{"document_id": c["document_id"], "codes": c["codes"],
                  "text": CONFLICT_VI.get(c.get("source", ""), "Mâu thuẫn khi gắn hồ sơ")}
                 for c in _conflicts(rt, data["code"])]
    proposals = [p for p in rt.catalogue.proposals() if p.code == data["code"]]
    return {**data, "records": records, "results": results, "conflicts": conflicts,
            "proposals": proposals}


def _conflicts(rt: Runtime, code: str) -> list[dict]:
    return [{"document_id": c.document_id, "codes": list(c.codes), "source": c.source}
            for c in rt.catalogue.conflicts() if code in c.codes]


def person_page(rt: Runtime, key: str) -> dict:
    from pipeline.present import person_dict
    from pipeline.review import get_document

    data = person_dict(rt, key)
    rows = []
    for r in data["records"]:
        try:
            doc_title = title(get_document(rt, r["document_id"])[0])
        except NotFound:
            doc_title = i18n.doc_type(r["type"])
        role_vi = i18n.term("person_title", r["role"])
        rows.append({"document_id": r["document_id"], "title": doc_title,
                     "role": role_vi if role_vi != r["role"] else "",
                     "dossiers": [(c.split("-KQ(")[0], c) for c in r["dossiers"]]})
    return {**data, "rows": rows}
