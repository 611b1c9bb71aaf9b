"""Keying handwritten records by hand, twice, by two different clerks, with arbitration.

A document that no machine reads (a handwritten certificate, a register page filled in by
hand) gets a keying task. Two different clerks key it, each without seeing the other's
values (``next_task`` never offers a clerk a task they keyed, and a task's view never shows
another keyer's values). When the second keying is saved the two are compared field by
field (values normalised as corrections are: dates, ID numbers, white space and case of
names): agreeing values are accepted; if any differ the task goes to a third clerk, who sees
both values and the image and settles each disputed field. Nobody keys a task twice nor
settles a task they keyed. Accepted values become the document's fields (and register
entries) as corrections by the keyers or the arbiter, so the document is indexed for search
at once, linked to people and dossiers, and every step is audited.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pipeline.dossiers import audit, link_people
from pipeline.errors import BadInput, NotFound
from pipeline.records import save_record
from pipeline.review import InvalidCorrection, check_value, correct, get_document
from pipeline.runtime import Runtime
from storage.catalogue import AlreadyKeyed, Keying, KeyingTask

# What is keyed, by type: the fields of the type's certificate (a person's as prefix_field).
PERSON = ("name", "date_of_birth", "sex", "ethnicity", "nationality", "personal_id")
SCHEMAS: dict[str, tuple[str, ...]] = {
    "birth_certificate": ("subject_name", "date_of_birth", "sex", "ethnicity", "nationality",
                          "place_of_birth", "home_town", "personal_id", "father_name",
                          "mother_name", "registration_number", "book_number",
                          "registration_date", "issuing_authority"),
    "marriage_certificate": (*(f"husband_{f}" for f in PERSON), *(f"wife_{f}" for f in PERSON),
                             "registration_number", "book_number", "registration_date",
                             "issuing_authority"),
    "death_certificate": ("subject_name", "date_of_birth", "sex", "personal_id",
                          "date_of_death", "place_of_death", "cause_of_death",
                          "registration_number", "book_number", "registration_date",
                          "issuing_authority"),
}
DEFAULT_SCHEMA = ("subject_name", "date_of_birth", "sex", "personal_id", "registration_number",
                  "registration_date", "issuing_authority")
ENTRY_COLUMNS = ("registration_number", "registration_date", "name", "date_of_birth", "sex",
                 "father_name", "mother_name")
ENTRY_TYPES = {"civil_status_register", "household_registration"}
PREFILLED = ("book_number", "issuing_authority", "dossier_code")  # printed, not handwritten


class KeyingError(BadInput):
    """A keying refused (``problem``: own_task, keyed_twice, own_settlement, not_open,
    not_disputed, nothing_keyed, and the pipeline.review problems for a value)."""

    code = "keying_refused"

    def __init__(self, message: str, *, problem: str, field: str | None = None,
                 value: str | None = None) -> None:
        super().__init__(message, code="keying_refused")
        self.problem, self.field, self.value = problem, field, value


def schema(doc_type: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the fields keyed, the columns of each entry: none for a certificate)."""
    if doc_type in ENTRY_TYPES:
        return ("book_number", "issuing_authority"), ENTRY_COLUMNS
    return SCHEMAS.get(doc_type, DEFAULT_SCHEMA), ()


# ---------------------------------------------------------------------------- tasks
def open_task(rt: Runtime, document_id: str, *, by: str, channel: str = "cli") -> KeyingTask:
    """A keying task for a finished document, pre-filled with what is known without reading
    the hand (printed headings, the book, the dossier code)."""
    doc, _ = get_document(rt, document_id)
    if doc.status == "processing":
        raise KeyingError(f"document {document_id} is still being processed",
                          problem="processing")
    prefill = {k: doc.fields[k] for k in PREFILLED if doc.fields.get(k)}
    task = rt.catalogue.add_keying_task(document_id, created_by=by, prefill=prefill)
    save_record(rt, document_id)
    audit(rt, "keying_task_opened", document_id, channel=channel, who=by, task=task.id)
    return task


def task_of(rt: Runtime, task_id: int) -> KeyingTask:
    task = rt.catalogue.keying_task(task_id)
    if task is None:
        raise NotFound(f"no keying task {task_id}", code="unknown_task")
    return task


def next_task(rt: Runtime, keyer: str, doc_type: str | None = None, *,
              batch: str | None = None, book: str | None = None) -> KeyingTask | None:
    """The oldest open task this clerk has not keyed, of one type of document, one intake
    batch, one register book when given (None: nothing to key)."""
    return rt.catalogue.next_keying_task(keyer, doc_type=doc_type, batch=batch, book=book)


# ---------------------------------------------------------------------------- values
def _clean(name: str, raw) -> object:
    """A keyed value as stored: normalised as a correction is (dates ISO, IDs of 12 digits);
    empty is None (the keyer saw nothing there)."""
    text = unicodedata.normalize("NFC", str(raw or "")).strip()
    if not text:
        return None
    try:
        return check_value(name, " ".join(text.split()))
    except InvalidCorrection as exc:
        raise KeyingError(str(exc), problem=exc.problem, field=exc.field,
                          value=exc.value) from None


def clean_values(doc_type: str, values: dict) -> dict:
    """The keyed values of a document: its schema's fields, and ``entries`` (a list of rows)
    for a register page. Unknown fields are refused."""
    fields, columns = schema(doc_type)
    out = {}
    for name, raw in values.items():
        if name == "entries" and columns:
            rows = [{c: _clean(c, row.get(c)) for c in columns} for row in raw or []]
            out["entries"] = [r for r in rows if any(v is not None for v in r.values())]
        elif name in fields:
            out[name] = _clean(name, raw)
        else:
            raise KeyingError(f"{name!r} is not keyed for {doc_type}", problem="not_a_field",
                              field=name)
    return out


def _same(a, b) -> bool:
    """Two keyed values agree: both empty, or equal but for white space and case."""
    if a is None or b is None:
        return a is None and b is None
    return " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()


def compare(first: dict, second: dict) -> tuple[dict, list[str]]:
    """(the values both keyings agree on, the fields they differ on). Register entries are
    compared cell by cell: ``entries.3.name``."""
    agreed, disputed = {}, []
    for name in sorted((set(first) | set(second)) - {"entries"}):
        if _same(first.get(name), second.get(name)):
            agreed[name] = first.get(name)
        else:
            disputed.append(name)
    a, b = first.get("entries") or [], second.get("entries") or []
    for i in range(max(len(a), len(b))):
        ra, rb = (a[i] if i < len(a) else {}), (b[i] if i < len(b) else {})
        for col in sorted(set(ra) | set(rb)):
            key = f"entries.{i}.{col}"
            if _same(ra.get(col), rb.get(col)):
                agreed[key] = ra.get(col)
            else:
                disputed.append(key)
    return agreed, disputed


# ---------------------------------------------------------------------------- keying
@dataclass(frozen=True)
class Outcome:
    task: KeyingTask
    status: str  # waiting (for the second keying) | accepted | disputed
    disputed: tuple[str, ...] = ()


def submit(rt: Runtime, task_id: int, keyer: str, values: dict, *, seconds: float = 0.0,
           channel: str = "cli") -> Outcome:
    """Save one clerk's keying; with the second, accept or send to arbitration."""
    task = task_of(rt, task_id)
    if task.status != "open":
        raise KeyingError(f"task {task_id} is {task.status}", problem="not_open")
    if keyer in task.keyers:
        raise KeyingError(f"{keyer} keyed task {task_id} already", problem="keyed_twice")
    doc, _ = get_document(rt, task.document_id)
    clean = clean_values(doc.type, values)
    if not any(v for v in clean.values()):
        raise KeyingError("nothing was keyed", problem="nothing_keyed")
    try:
        rt.catalogue.add_keying(Keying(task_id, keyer, clean, max(0.0, float(seconds))))
    except AlreadyKeyed:
        raise KeyingError(f"{keyer} keyed task {task_id} already",
                          problem="keyed_twice") from None
    save_record(rt, task.document_id)
    audit(rt, "keying_submitted", task.document_id, channel=channel, who=keyer, task=task_id,
          fields=sorted(clean))
    keyings = rt.catalogue.keyings(task_id)
    if len(keyings) < 2:
        return Outcome(task_of(rt, task_id), "waiting")
    agreed, disputed = compare(keyings[0].values, keyings[1].values)
    if disputed:
        rt.catalogue.update_keying_task(task_id, status="disputed", disputed=disputed,
                                        final=agreed)
        save_record(rt, task.document_id)
        return Outcome(task_of(rt, task_id), "disputed", tuple(disputed))
    _accept(rt, task, agreed, by=f"{keyings[0].keyer}+{keyings[1].keyer}", channel=channel)
    return Outcome(task_of(rt, task_id), "accepted")


def settle(rt: Runtime, task_id: int, arbiter: str, values: dict, *,
           channel: str = "cli") -> Outcome:
    """A third clerk's values for the disputed fields; the record is then accepted."""
    task = task_of(rt, task_id)
    if task.status != "disputed":
        raise KeyingError(f"task {task_id} is {task.status}", problem="not_disputed")
    if arbiter in task.keyers:
        raise KeyingError(f"{arbiter} keyed task {task_id}: another clerk settles it",
                          problem="own_settlement")
    doc, _ = get_document(rt, task.document_id)
    final = dict(task.final)
    for name in task.disputed:
        attr = name.split(".")[-1]
        if name not in values:
            raise KeyingError(f"{name}: no value chosen", problem="unsettled", field=attr)
        final[name] = _clean(attr, values[name])
    audit(rt, "keying_settled", task.document_id, channel=channel, who=arbiter, task=task_id,
          fields=list(task.disputed))
    _accept(rt, task, final, by=arbiter, channel=channel, settled_by=arbiter)
    return Outcome(task_of(rt, task_id), "accepted")


def _accept(rt: Runtime, task: KeyingTask, values: dict, *, by: str, channel: str,
            settled_by: str | None = None) -> None:
    """The accepted values become the document's fields, as corrections by ``by``; the
    document is indexed again and its people linked."""
    fields = {k: (v if isinstance(v, str) else str(v)) for k, v in values.items()
              if v is not None}
    doc, _ = get_document(rt, task.document_id)
    changed = {k: v for k, v in fields.items() if str(value_at(doc.fields, k) or "") != v}
    if changed:
        doc = correct(rt, task.document_id, by=f"keying:{by}", fields=changed)
    rt.catalogue.update_keying_task(task.id, status="accepted", final=values,
                                    settled_by=settled_by)
    link_people(rt, doc)
    save_record(rt, task.document_id)
    audit(rt, "keying_accepted", task.document_id, channel=channel, who=by, task=task.id,
          fields=sorted(fields))


def value_at(fields: dict, key: str):
    """A field's value, or one entry's (``entries.3.name``); None when there is none."""
    if key.startswith("entries."):
        _, i, col = key.split(".", 2)
        entries = fields.get("entries") or []
        return entries[int(i)].get(col) if int(i) < len(entries) else None
    return fields.get(key)


# ---------------------------------------------------------------------------- figures
def stats(rt: Runtime) -> list[dict]:
    """Per keyer: keyings, mean seconds, and how often their values agreed with the other
    keying of the same record (fields compared once both are in)."""
    by_task: dict[int, list[Keying]] = {}
    for k in rt.catalogue.keyings():
        by_task.setdefault(k.task_id, []).append(k)
    out: dict[str, dict] = {}
    for keyings in by_task.values():
        pair = keyings[:2]
        agreed, disputed = compare(pair[0].values, pair[1].values) if len(pair) == 2 else \
            ({}, [])
        for k in keyings:
            row = out.setdefault(k.keyer, {"keyer": k.keyer, "keyings": 0, "seconds": 0.0,
                                           "fields_compared": 0, "fields_agreed": 0})
            row["keyings"] += 1
            row["seconds"] += k.seconds
            row["fields_compared"] += len(agreed) + len(disputed)
            row["fields_agreed"] += len(agreed)
    for row in out.values():
        row["mean_seconds"] = round(row.pop("seconds") / row["keyings"], 1)
        row["agreement"] = round(row["fields_agreed"] / row["fields_compared"], 3) \
            if row["fields_compared"] else None
    return sorted(out.values(), key=lambda r: r["keyer"])
