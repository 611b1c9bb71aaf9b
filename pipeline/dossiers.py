"""Electronic dossiers and people: links from manifests, receipts and clerks; person records;
citizens retrieving their own certificates; the audit trail of every personal-record read.

Dossier codes follow Circular 01/2018/TT-VPCP art. 19 (``000.00.01.H26-230313-0042``); a
dossier's results are ``<code>-KQ(n)`` (Decree 45/2020 art. 14). Nothing here resolves a
conflict by itself: two codes for one document, or a code that fails validation, are
recorded and reported, and the document goes to the review queue. A manifest row that files
a document which existed before the upload is a proposal a clerk confirms
(pipeline/proposals.py), never a link. Every link records who made it.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import datetime as dt
import getpass
import hashlib
import re
import secrets
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.classify import DOSSIER_CODE, dossier_code
from pipeline.errors import BadInput, NotFound
from pipeline.records import save_record, save_records
from pipeline.runtime import Runtime
from search.folding import fold
from storage.catalogue import (
    AuditEntry,
    CopyRecord,
    DocumentRecord,
    DossierRecord,
    LinkConflict,
)
from storage.catalogue.safeguards import LinkProposal, utc

RECORD_TYPES = {"dossier_receipt", "application_form"}  # filed as records, not results
PERSON_ROLES = {"subject": "", "husband": "husband_", "wife": "wife_", "mother": "mother_",
                "father": "father_", "applicant": "applicant_", "head": "head_",
                "declarant": "declarant_"}
_ID = re.compile(r"\d{12}")
NOT_FOUND = "nothing found for this dossier code and personal ID number"


def valid_code(text: str) -> str | None:
    """The dossier code, normalised, when ``text`` is exactly one valid code."""
    code = dossier_code(text.strip())
    return code if code and len(re.sub(r"\s", "", text)) == len(code) else None


def codes_in(payloads) -> list[str]:
    """Every valid dossier code in some texts (QR payloads: a bare code, a URL, key=value)."""
    out = []
    for text in payloads:
        for m in DOSSIER_CODE.finditer(text):
            code = dossier_code(m.group(0))
            if code and code not in out:
                out.append(code)
    return out


def actor(settings=None) -> str:
    """Who is at the command line: SOHOA_ACTOR (``settings.actor``), else the login name."""
    if settings is not None and settings.actor:
        return settings.actor
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "unknown"


def audit(rt: Runtime, action: str, target: str, *, channel: str = "cli",
          who: str | None = None, **detail) -> None:
    rt.catalogue.audit(AuditEntry((who or actor(rt.settings))[:128], channel[:16], action,
                                  target[:64], detail))


_acting: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("acting")


@contextlib.contextmanager
def acting_as(who: str, channel: str = "web") -> Iterator[None]:
    """Links and proposals made inside the block (an upload's manifest, the codes its scans
    carry) are recorded as made by ``who`` through ``channel``: the archivist who uploaded,
    not the server's login name."""
    token = _acting.set((who, channel))
    try:
        yield
    finally:
        _acting.reset(token)


def linker(rt: Runtime) -> tuple[str, str]:
    return _acting.get(None) or (actor(rt.settings), "cli")  # (who, channel) of the links


# ------------------------------------------------------------------------------ linking
def role_for(doc_type: str) -> str:
    return "record" if doc_type in RECORD_TYPES else "result"


def _review(rt: Runtime, doc: DocumentRecord, reason: str) -> None:
    reasons = [*doc.review_reasons, reason] if reason not in doc.review_reasons else \
        list(doc.review_reasons)
    rt.catalogue.finish_document(
        doc.id, type=doc.type, type_confidence=doc.type_confidence, fields=doc.fields,
        dossier_code=doc.dossier_code, page_count=doc.page_count, status="needs_review",
        field_details=doc.field_details, classified_by=doc.classified_by,
        review_reasons=reasons)


def link_document(rt: Runtime, doc: DocumentRecord, qr_payloads: tuple[str, ...] = ()) -> list:
    """After a document is done: file it under the dossier it names itself (a receipt's code
    read by OCR, or a dossier code in a QR code on any page) and link the people in it.
    Returns the conflicts found."""
    found = {}
    if doc.type == "dossier_receipt" and doc.fields.get("dossier_code"):
        found[doc.fields["dossier_code"]] = "receipt"
    for code in codes_in(qr_payloads):
        found.setdefault(code, "qr")
    conflicts = []
    if len(found) > 1:
        c = LinkConflict(doc.id, tuple(sorted(found)), "the document carries more than one "
                         "dossier code (" + ", ".join(f"{k} from the {v}" for k, v in
                                                     sorted(found.items())) + ")", "document")
        rt.catalogue.add_conflict(c)
        _review(rt, doc, "dossier code conflict")
        conflicts.append(c)
    elif found:
        [(code, source)] = found.items()
        receipt = doc.type == "dossier_receipt"
        pid = doc.fields.get("personal_id") if receipt else None
        rt.catalogue.upsert_dossier(DossierRecord(
            code, procedure=doc.fields.get("procedure") if receipt else None,
            applicant_name=doc.fields.get("applicant_name") if receipt else None,
            applicant_id=pid if pid and _ID.fullmatch(str(pid)) else None,
            received_date=doc.fields.get("received_date") if receipt else None))
        rt.catalogue.link(code, doc.id, role=role_for(doc.type), linked_by=source,
                          actor=linker(rt)[0])
    link_people(rt, doc)
    return conflicts


def link_people(rt: Runtime, doc: DocumentRecord) -> list[tuple[int, str]]:
    """A person record for each person the document names with an ID number or a date of
    birth; (person id, role) of each."""
    out = []
    f = doc.fields
    for role, prefix in PERSON_ROLES.items():
        name = f.get(f"{prefix}name") or (f.get("subject_name") if role == "subject" else None)
        if not name or not isinstance(name, str):
            continue
        pid = f.get(f"{prefix}personal_id")
        pid = pid if isinstance(pid, str) and _ID.fullmatch(pid) else None
        dob = f.get(f"{prefix}date_of_birth")
        person = rt.catalogue.find_or_add_person(
            name=name, folded_name=fold(name), personal_id=pid,
            date_of_birth=dob if isinstance(dob, str) else None)
        if person is not None:
            rt.catalogue.add_person_document(person.id, doc.id, role)
            out.append((person.id, role))
    return out


def link_by_clerk(rt: Runtime, document_id: str, code: str, *, role: str | None = None,
                  who: str | None = None):
    doc = rt.catalogue.get_document(document_id)
    if doc is None or doc.status == "processing":
        raise NotFound(f"no finished document {document_id}")
    normal = valid_code(code)
    if normal is None:
        raise BadInput(f"{code!r} is not a valid dossier code (V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-"
                       f"XXXX, e.g. 000.00.01.H26-230313-0042)", code="invalid_dossier_code")
    who, channel = (who, "cli") if who else linker(rt)
    rt.catalogue.upsert_dossier(DossierRecord(normal))
    link = rt.catalogue.link(normal, doc.id, role=role or role_for(doc.type),
                             linked_by="clerk", actor=who)
    save_record(rt, doc.id)
    audit(rt, "link", doc.id, channel=channel, dossier=normal, who=who)
    return link


# ----------------------------------------------------------------------------- manifests
@dataclass(frozen=True)
class ManifestRow:
    line: int
    path: Path
    code: str | None
    type: str | None
    personal_id: str | None
    error: str | None = None
    read_at: dt.datetime | None = None  # when the manifest was read, to the second


def read_manifest(path: Path) -> list[ManifestRow]:
    """CSV with a header: ``path,dossier_code[,type][,personal_id]`` (paths relative to the
    manifest's folder). Bad rows come back with their error; they never stop the others."""
    from pipeline.classify import TYPES

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"the manifest {path} cannot be read: {exc}",
                       code="bad_manifest") from exc
    reader = csv.DictReader(text.splitlines())
    fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
    if not {"path", "dossier_code"} <= fields:
        raise BadInput(f"the manifest {path} needs a header with at least path,dossier_code "
                       f"(found: {', '.join(sorted(fields)) or 'nothing'})",
                       code="bad_manifest")
    rows = []
    read_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        file = path.parent / row.get("path", "") if row.get("path") else None
        code = valid_code(row.get("dossier_code", ""))
        doc_type = row.get("type") or None
        pid = re.sub(r"[\s.]", "", row.get("personal_id", "")) or None
        error = None
        if file is None:
            error = "no file path"
        elif not row.get("dossier_code"):
            error = "no dossier code"
        elif code is None:
            error = f"{row['dossier_code']!r} is not a valid dossier code"
        elif doc_type and doc_type not in TYPES:
            error = f"unknown type {doc_type!r}"
        elif pid and not _ID.fullmatch(pid):
            error = f"{row['personal_id']!r} is not a 12-digit personal ID number"
        elif not file.is_file():
            error = f"no such file {file}"
        rows.append(ManifestRow(n, file or Path(), code, doc_type, pid, error, read_at))
    return rows


@dataclass
class ManifestOutcome:
    row: ManifestRow
    status: str  # linked | proposed | conflict | bad_row | file_rejected
    document_id: str | None = None
    message: str | None = None

    def to_dict(self) -> dict:
        return {"manifest_line": self.row.line, "file": str(self.row.path),
                "dossier_code": self.row.code, "status": self.status,
                "document_id": self.document_id, "message": self.message}


def existed_before(doc: DocumentRecord, row: ManifestRow,
                   existing: Collection[str] | None = None) -> bool:
    """Whether the row's document was in the archive before this upload: in ``existing`` (the
    ids the intake reported as duplicates) when given, else created before the manifest was
    read (to the second). Unknown times count as existing."""
    if existing is not None:
        return doc.id in existing
    if row.read_at is None or doc.created_at is None:
        return True
    return utc(doc.created_at) < row.read_at


def apply_manifest(rt: Runtime, rows: list[ManifestRow], documents: dict[str, str | None],
                   *, existing: Collection[str] | None = None) -> list[ManifestOutcome]:
    """Link each good row's document (``documents``: resolved file path → document id, None
    when the file was rejected) to its dossier, recorded as made by whoever uploaded
    (acting_as). A type or ID number that disagrees with what was read from the document, or
    a receipt carrying another code, is a conflict: reported, recorded, the document sent to
    review, and no link made. A document that existed before the upload (existed_before) is
    only proposed for the dossier: a clerk confirms or rejects (pipeline/proposals.py)."""
    who, channel = linker(rt)
    out = []
    for row in rows:
        if row.error:
            rt.catalogue.add_conflict(LinkConflict(None, (row.code,) if row.code else (),
                                                   f"manifest line {row.line}: {row.error}",
                                                   "manifest"))
            out.append(ManifestOutcome(row, "bad_row", message=row.error))
            continue
        doc_id = documents.get(str(row.path.resolve()))
        if doc_id is None:
            out.append(ManifestOutcome(row, "file_rejected",
                                       message="the file was rejected: see sohoa rejections"))
            continue
        doc = rt.catalogue.get_document(doc_id)
        problems = []
        own = doc.fields.get("dossier_code") if doc.type == "dossier_receipt" else None
        if own and own != row.code:
            problems.append(f"the receipt itself reads {own}")
        if row.type and row.type != doc.type:
            problems.append(f"the manifest says {row.type}, the document reads as {doc.type}")
        read_id = doc.fields.get("personal_id")
        if row.personal_id and read_id and read_id != row.personal_id:
            problems.append(f"the manifest gives ID {row.personal_id}, the document reads "
                            f"{read_id}")
        if problems:
            msg = f"manifest line {row.line} files it under {row.code}, but " + "; ".join(
                problems)
            rt.catalogue.add_conflict(LinkConflict(doc.id, tuple(sorted({row.code, own} - {None})),
                                                   msg, "manifest"))
            _review(rt, doc, "dossier link conflict")
            out.append(ManifestOutcome(row, "conflict", doc.id, msg))
            continue
        if existed_before(doc, row, existing) and not any(
                ln.code == row.code for ln in rt.catalogue.links(document_id=doc.id)):
            out.append(_propose(rt, row, doc, who, channel))
            continue
        rt.catalogue.upsert_dossier(DossierRecord(row.code))
        if row.personal_id and not read_id:  # the manifest knows whose record it is
            doc = replace(doc, fields={**doc.fields, "personal_id": row.personal_id})
            link_people(rt, doc)
        rt.catalogue.link(row.code, doc.id, role=role_for(doc.type), linked_by="manifest",
                          actor=who)
        out.append(ManifestOutcome(row, "linked", doc.id))
    save_records(rt, (o.document_id for o in out))  # linked, proposed, in conflict
    return out


def _propose(rt: Runtime, row: ManifestRow, doc: DocumentRecord, who: str,
             channel: str) -> ManifestOutcome:
    msg = (f"manifest line {row.line}: {doc.id} was in the archive before this upload; "
           f"filing it under {row.code} waits for a clerk (sohoa proposals)")
    p = rt.catalogue.add_proposal(LinkProposal(row.code, doc.id, role_for(doc.type),
                                               "manifest", who, msg))
    audit(rt, "link_proposed", doc.id, channel=channel, who=who, dossier=row.code,
          proposal=p.id)
    return ManifestOutcome(row, "proposed", doc.id, msg)


# ------------------------------------------------------------------------ citizen copies
@dataclass(frozen=True)
class IssuedCopy:
    result_code: str
    document_id: str
    path: Path
    sha256: str
    verification_code: str

    def to_dict(self) -> dict:
        return {"result": self.result_code, "document_id": self.document_id,
                "file": str(self.path), "sha256": self.sha256,
                "verification_code": self.verification_code}


def granted_results(rt: Runtime, code: str, personal_id: str) -> tuple[str | None, list]:
    """(the normalised code, the result links the ID number may receive: Decree 13/2023, a
    party of the document, i.e. subject, parent, spouse, declarant by the ``*personal_id``
    fields read or corrected, or the applicant of the dossier it is a result of). The same
    queries run whatever the answer: an unknown or malformed code, a wrong ID, a right one."""
    pid = re.sub(r"[\s.]", "", personal_id or "")
    normal = valid_code(code or "")
    applicant, results = rt.catalogue.citizen_view(normal or (code or "")[:40])
    good_id = _ID.fullmatch(pid) is not None
    return normal, [link for link, status, parties in results
                    if good_id and status not in ("processing", "missing")
                    and (pid in parties or pid == applicant)]


def retrieve(rt: Runtime, code: str, personal_id: str, out_dir: Path, *,
             channel: str = "citizen", who: str = "citizen",
             address: str | None = None) -> list[IssuedCopy]:
    """A citizen's results of a dossier: those whose parties include the ID number (subject,
    parent, spouse, declarant) and, when the ID number is the dossier's applicant's, all its
    results. Every failure (unknown or malformed code, wrong ID, no results yet) does the
    same work and raises the same NotFound, so the answer tells nothing about which. Found
    or not, the look-up is audited (the ID number as a hash)."""
    from pipeline.export import export_pdf

    pid = re.sub(r"[\s.]", "", personal_id or "")
    normal, granted = granted_results(rt, code, personal_id)
    audit(rt, "retrieve", normal or (code or "")[:48], channel=channel, who=who,
          found=bool(granted), granted=[ln.document_id for ln in granted],
          id_hash=hashlib.sha256(pid.encode()).hexdigest(), address=address)
    if not granted:
        raise NotFound(NOT_FOUND)
    out_dir.mkdir(parents=True, exist_ok=True)
    issued = []
    for link in granted:
        doc = rt.catalogue.get_document(link.document_id)
        path = out_dir / f"{link.result_code.replace('(', '').replace(')', '')}.pdf"
        export_pdf(rt, doc.id, path)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        vcode = secrets.token_hex(6).upper()
        rt.catalogue.add_copy(CopyRecord(vcode, sha, doc.id, link.result_code, channel))
        audit(rt, "copy_issued", doc.id, channel=channel, who=who, result=link.result_code,
              sha256=sha, verification_code=vcode)
        issued.append(IssuedCopy(link.result_code, doc.id, path, sha, vcode))
    save_records(rt, (c.document_id for c in issued))  # their copies' verification codes
    return issued

