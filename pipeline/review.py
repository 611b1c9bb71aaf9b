"""Review and correction: what clerks see and change.

The machine's reading of a document (type, fields) is kept as it was; a clerk's corrections
are stored apart, with who and when, and laid over it whenever the document is read, so a
re-run never overwrites them and every change can be traced.
"""

from __future__ import annotations

import datetime as dt
import re

from pipeline.classify import TYPES, dossier_code
from pipeline.errors import NotFound, SohoaError
from pipeline.fields import parse_date, parse_id
from pipeline.indexing import effective, index_upsert, record_pages
from pipeline.records import save_record
from pipeline.runtime import Runtime
from storage.catalogue import CorrectionRecord, DocumentRecord

__all__ = ["InvalidCorrection", "check_value", "confirm_reviewed", "correct", "effective",
           "get_document", "review_queue"]


class InvalidCorrection(SohoaError):
    """A correction refused: ``problem`` (a code the web pages say in Vietnamese: not_a_date,
    not_an_id, not_a_code, empty, unknown_type, no_such_entry, not_a_field, nothing,
    processing) and the ``field`` it concerns."""

    code = "invalid_correction"
    exit_status = 2

    def __init__(self, message: str, *, problem: str, field: str | None = None,
                 value: str | None = None) -> None:
        super().__init__(message)
        self.problem, self.field, self.value = problem, field, value


ENTRY_FIELD = re.compile(r"entries\.(\d{1,4})\.([a-z][a-z0-9_]{0,63})")
DATE_FIELDS = {"date_of_birth", "date_of_death", "registration_date", "received_date",
               "signed_date", "husband_date_of_birth", "wife_date_of_birth"}
ID_FIELDS = {"personal_id", "husband_personal_id", "wife_personal_id",
             "applicant_personal_id"}


def check_value(name: str, value: str) -> object:
    """A corrected value, normalised as the machine's are; raises InvalidCorrection."""
    value = value.strip()
    if name in DATE_FIELDS or name.endswith("date_of_birth") or name.endswith("_date"):
        iso = parse_date(value) or (value if _iso(value) else None)
        if not iso:
            raise InvalidCorrection(f"{name}: {value!r} is not a date (use 12/03/1987 or "
                                    f"1987-03-12)", problem="not_a_date", field=name,
                                    value=value)
        return iso
    if name in ID_FIELDS or name.endswith("personal_id"):
        pid = parse_id(value)
        if not pid:
            raise InvalidCorrection(f"{name}: {value!r} is not a 12-digit personal ID number",
                                    problem="not_an_id", field=name, value=value)
        return pid
    if name == "dossier_code":
        code = dossier_code(value.upper())
        if not code:
            raise InvalidCorrection(f"dossier_code: {value!r} is not a valid dossier code "
                                    f"(V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX)",
                                    problem="not_a_code", field=name, value=value)
        return code
    if not value:
        raise InvalidCorrection(f"{name}: an empty value", problem="empty", field=name)
    return value


def _order(name: str) -> tuple:
    """Fields first, then entries by number: new entries are added in order."""
    m = ENTRY_FIELD.fullmatch(name)
    return (1, int(m.group(1)), m.group(2)) if m else (0, 0, name)


def _iso(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
        return True
    except ValueError:
        return False


def get_document(rt: Runtime, document_id: str) -> tuple[DocumentRecord, list[CorrectionRecord]]:
    doc = rt.catalogue.get_document(document_id)
    if doc is None:
        raise NotFound(f"no document {document_id}")
    corrections = rt.catalogue.corrections(document_id)
    return effective(doc, corrections), corrections


def correct(rt: Runtime, document_id: str, *, by: str, doc_type: str | None = None,
            fields: dict[str, str] | None = None) -> DocumentRecord:
    """Store a clerk's corrections (validated), mark the document reviewed, and update the
    search index to the corrected type and dossier code."""
    current, _ = get_document(rt, document_id)
    if current.status == "processing":
        raise InvalidCorrection(f"document {document_id} is still being processed",
                                problem="processing")
    if doc_type is None and not fields:
        raise InvalidCorrection("nothing to correct: give --type and/or --field name=value",
                                problem="nothing")
    changes: list[tuple[str, object, object]] = []
    if doc_type is not None:
        if doc_type not in TYPES:
            raise InvalidCorrection(f"unknown type {doc_type!r}; one of: {', '.join(TYPES)}",
                                    problem="unknown_type", value=doc_type)
        changes.append(("type", current.type, doc_type))
    entries = current.fields.get("entries") or []
    rows = len(entries)  # with the entries this correction adds, in order
    for name, raw in sorted((fields or {}).items(), key=lambda kv: _order(kv[0])):
        if m := ENTRY_FIELD.fullmatch(name):  # a register or household entry's field
            index, attr = int(m.group(1)), m.group(2)
            if index > rows:
                raise InvalidCorrection(f"{name!r}: the page has {rows} entries",
                                        problem="no_such_entry", field=name)
            rows = max(rows, index + 1)
            old = entries[index].get(attr) if index < len(entries) else None
            changes.append((name, old, check_value(attr, raw)))
            continue
        if name in ("entries", "type") or not name.replace("_", "").isalnum():
            raise InvalidCorrection(f"{name!r} cannot be corrected as a field",
                                    problem="not_a_field", field=name)
        changes.append((name, current.fields.get(name), check_value(name, raw)))
    for name, old, new in changes:
        rt.catalogue.add_correction(CorrectionRecord(document_id, name, old, new, by))
    rt.catalogue.set_status(document_id, "done")
    save_record(rt, document_id)
    doc, _ = get_document(rt, document_id)
    index_upsert(rt, record_pages(doc))
    return doc


def confirm_reviewed(rt: Runtime, document_id: str, *, by: str) -> None:
    """A clerk found nothing to correct in a document waiting for review: it is done."""
    current, _ = get_document(rt, document_id)
    if current.status == "processing":
        raise InvalidCorrection(f"document {document_id} is still being processed",
                                problem="processing")
    rt.catalogue.set_status(document_id, "done")
    save_record(rt, document_id)


def review_queue(rt: Runtime) -> list[DocumentRecord]:
    return list(rt.catalogue.documents(status="needs_review"))
