"""A document's fields from its pages' records, by type."""

from __future__ import annotations

import re

from pipeline.classify import dossier_code
from pipeline.fields.values import _name, parse_date, parse_id
from pipeline.model import FieldValue
from search.folding import fold

ENTRY_TYPES = {"civil_status_register", "household_registration"}
PAGE_FIELDS = ("book_number", "issuing_authority")  # a register page's, not an entry's
DECISION = re.compile(
    r"cua\s+(?P<name>[a-z ]+?),\s*sinh ngay\s+(?P<dob>\d{1,2}/\d{1,2}/\d{4})"
    r"(?:,\s*so dinh danh ca nhan\s+(?P<id>[\d ]{12,15}))?")


def shape(doc_type: str, pages: list[list[dict[str, FieldValue]]],
          texts: list[str]) -> dict[str, FieldValue | list[dict[str, FieldValue]]]:
    """A document's fields from its pages' records, by type: register and household pages
    give ``entries``; a decision's subject is read from its running text; a marital-status
    confirmation's registration date is the date it was signed; a receipt's book number
    is the receipt log's, not a civil-status book's."""
    records = [r for page in pages for r in page]
    fields: dict = {}
    entries = [r for r in records if "name" in r]
    for r in records:
        for k, v in r.items():
            fields.setdefault(k, v)
    if doc_type in ENTRY_TYPES and entries:
        if doc_type == "civil_status_register":  # the page's own fields, not an entry's
            fields = {k: v for k, v in fields.items() if k in PAGE_FIELDS}
            entries = [{k: v for k, v in e.items() if k not in PAGE_FIELDS} for e in entries]
        fields["entries"] = entries
        if doc_type == "household_registration":
            head = next((e for e in entries if str(getattr(e.get("relation"), "value", ""))
                         .lower().startswith("chu")), entries[0])
            for k in ("name", "date_of_birth", "personal_id"):
                if k in head:
                    fields[k] = head[k]
            if "head_name" in fields:
                fields["name"] = fields["head_name"]
    if doc_type == "decision":
        text = fold("\n".join(texts))
        m = DECISION.search(" ".join(text.split()))
        if m:
            flat = " ".join("\n".join(texts).split())
            start = m.start("name")
            original = flat[start:start + len(m.group("name"))]
            fields["name"] = FieldValue(_name(original) or original, 0.8, 1, None)
            fields["date_of_birth"] = FieldValue(parse_date(m.group("dob")), 0.8, 1, None)
            if m.group("id"):
                pid = parse_id(m.group("id"))
                if pid:
                    fields["personal_id"] = FieldValue(pid, 0.8, 1, None)
        if "registration_number" in fields:
            fields["decision_number"] = fields.pop("registration_number")
    if doc_type == "marriage_certificate":
        fields.pop("name", None)
    if doc_type == "marital_status_confirmation" and "registration_date" not in fields \
            and "signed_date" in fields:
        # entered in the book of confirmations the day it is signed: its only date
        fields["registration_date"] = fields["signed_date"]
    if doc_type == "dossier_receipt":
        # "Vào Sổ theo dõi hồ sơ, Quyển số: 02, …": the receipt log's book
        fields.pop("book_number", None)
    if "name" in fields:
        fields["subject_name"] = fields.pop("name")
    if "personal_id" not in fields:
        for k in ("applicant_personal_id", "head_personal_id"):
            if k in fields:
                fields["personal_id"] = fields[k]
                break
    code = fields.get("dossier_code")
    if code is None:
        found = dossier_code("\n".join(texts))
        if found:
            fields["dossier_code"] = FieldValue(found, 0.7, 1, None)
    return fields
