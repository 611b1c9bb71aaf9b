"""A dossier's descriptive metadata in a package: the fields of Circular 05/2025/TT-BNV's
package appendices mapped from what sohoa knows, a Dublin Core record, and the file names the
Circular gives digitised files. Pure: plain values in, dicts and bytes out.

**What could be confirmed, and what could not.** The Circular's own text (its appendices I–V
define the AIP, SIP and DIP structures and their metadata) was not available here. The field
names below follow two independent secondary summaries of those appendices found in public
repositories, which agree with each other; they were not checked against the official text.
Read so, the Circular gives a package-level record (``EAD.xml``, a ``<simpledc>`` of 18 fields
for a dossier: ``fileCode`` in a SIP, ``arcFileCode`` in an AIP) and one record per document
(``EAD_doc``: 21 fields in a SIP, 19 in an AIP, 20 in a DIP, with different names), and a DIP's
package record describes the *request* (who asked, why), not the dossier. sohoa writes these
fields as JSON (the Circular's own XSDs could not be obtained) with ``null`` where sohoa does
not know the value; an archivist completes those.

File names (Article 8, as summarised): at least the dossier code, a full stop, and the
document's number within the dossier: ``000.00.01.H26-230313-0042.1.pdf``. The number is
written as it is counted (1, 2, … 10), not zero-padded: the summaries' example is
``H49.64.33.2001.160.1``. The Circular means the archive's file code (mã hồ sơ); sohoa has the
one-stop-shop dossier code (Circular 01/2018/TT-VPCP) and uses it in its place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

LANGUAGE_VI = "01"  # language: 01 Tiếng Việt
DIGITISED = "02"  # confidenceLevel: 01 gốc điện tử, 02 số hóa, 03 hỗn hợp
OTHER_TYPE = "32"  # typeName: 32 Khác
TYPE_CODES = {"decision": "02"}  # typeName: 02 Quyết định; no other sohoa type is in the list
TYPE_NAMES = {
    "birth_certificate": "Giấy khai sinh", "marriage_certificate": "Giấy chứng nhận kết hôn",
    "death_certificate": "Trích lục khai tử", "civil_status_register": "Sổ hộ tịch",
    "marital_status_confirmation": "Giấy xác nhận tình trạng hôn nhân",
    "household_registration": "Sổ hộ khẩu",
    "dossier_receipt": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "application_form": "Tờ khai", "decision": "Quyết định", "unknown": "Tài liệu",
}
# The date that dates a document (issuedDate), by type, then any of the others.
DOCUMENT_DATES = {"dossier_receipt": "received_date", "decision": "signed_date",
                  "application_form": "signed_date"}
OTHER_DATES = ("registration_date", "signed_date", "received_date", "date_of_death")

# The Circular's package-level fields, in its order, per kind of package.
DOSSIER_FIELDS = ("title", "maintenance", "mode", "language", "startDate", "endDate",
                  "keyword", "totalDoc", "numberOfPaper", "numberOfPage", "format",
                  "inforSign", "confidenceLevel", "paperFileCode", "riskRecovery",
                  "riskRecoveryStatus", "description")
PACKAGE_FIELDS = {
    "SIP": ("fileCode", *DOSSIER_FIELDS),
    "AIP": ("arcFileCode", *DOSSIER_FIELDS),
    "DIP": ("requestID", "requestDate", "purpose", "purposeContent", "feeObjectType",
            "researchTopic", "description"),
}
# The Circular's per-document fields (EAD_doc), per kind of package.
DOCUMENT_FIELDS = {
    "SIP": ("docId", "docCode", "maintenance", "typeName", "codeNumber", "codeNotation",
            "issuedDate", "organName", "subject", "language", "numberOfPage", "inforSign",
            "keyword", "mode", "confidenceLevel", "autograph", "format", "riskRecovery",
            "riskRecoveryStatus", "process", "description"),
    "AIP": ("arcFileCode", "mode", "language", "keyword", "numberOfPage", "format",
            "inforSign", "confidenceLevel", "description", "docCode", "docOrdinal",
            "typeName", "codeNumber", "codeNotation", "issuedDate", "organName", "subject",
            "autograph", "process"),
    "DIP": ("docId", "arcDocCode", "maintenance", "typeName", "codeNumber", "codeNotation",
            "issuedDate", "subject", "language", "numberOfPage", "inforSign", "keyword",
            "mode", "confidenceLevel", "autograph", "format", "process", "riskRecovery",
            "riskRecoveryStatus", "description"),
}
# Where each field's value comes from (README and the package's documentation say the same).
SOURCES = {
    "fileCode": "the dossier code", "arcFileCode": "the dossier code (no archive prefix)",
    "title": "the dossier's procedure and code",
    "language": "01 (Vietnamese)", "startDate": "the earliest document or receipt date",
    "endDate": "the latest document or receipt date", "totalDoc": "documents in the package",
    "numberOfPage": "pages", "confidenceLevel": "02 (digitised)",
    "docId": "the file name: dossier code + '.' + number",
    "docCode": "dossier code + '.' + 7-digit number", "arcDocCode": "as docCode",
    "docOrdinal": "the number within the dossier",
    "typeName": "02 for a decision, else 32 (other)",
    "codeNumber": "registration number, or a decision's number",
    "codeNotation": "a decision's symbol (after the '/')",
    "issuedDate": "registration, signing or receipt date",
    "organName": "the issuing authority read on the document",
    "subject": "the document type and the person or procedure",
}


def file_stem(code: str, number: int) -> str:
    """The name a document's files share: dossier code + "." + its number in the dossier."""
    return f"{code}.{number}"


def doc_code(code: str, number: int) -> str:
    """docCode / arcDocCode: the file code and a 7-digit number (``….0000001``)."""
    return f"{code}.{number:07d}"


def dmy(iso: str | None) -> str | None:
    """An ISO date as the Circular writes dates, DD/MM/YYYY; None when it is not one."""
    try:
        return dt.date.fromisoformat(str(iso)).strftime("%d/%m/%Y") if iso else None
    except ValueError:
        return None


def document_date(doc_type: str, fields: dict) -> str | None:
    """The ISO date that dates a document (its registration, signature or receipt)."""
    first = DOCUMENT_DATES.get(doc_type)
    for name in (first, *OTHER_DATES) if first else OTHER_DATES:
        value = fields.get(name)
        if isinstance(value, str) and dmy(value):
            return value
    return None


def _number(doc_type: str, fields: dict) -> tuple[str | None, str | None]:
    if doc_type == "decision" and isinstance(fields.get("decision_number"), str):
        number, _, notation = fields["decision_number"].partition("/")
        return number.strip() or None, notation.strip() or None
    number = fields.get("registration_number")
    return (str(number) if number else None), None


def subject(doc_type: str, fields: dict) -> str:
    """Trích yếu: the type and whom (or what) it is about."""
    who = fields.get("subject_name") or fields.get("name")
    if doc_type == "marriage_certificate":
        who = " và ".join(n for n in (fields.get("husband_name"), fields.get("wife_name")) if n)
    elif doc_type == "dossier_receipt":
        who = ", ".join(str(v) for v in (fields.get("procedure"), fields.get("applicant_name"))
                        if v)
    name = TYPE_NAMES.get(doc_type, TYPE_NAMES["unknown"])
    return f"{name}: {who}" if who else name


def document_fields(kind: str, code: str, number: int, doc_type: str, fields: dict,
                    pages: int) -> dict:
    """A document's record in the Circular's fields for a ``kind`` package; None: unknown."""
    code_number, notation = _number(doc_type, fields)
    known = {
        "docId": file_stem(code, number), "docCode": doc_code(code, number),
        "arcDocCode": doc_code(code, number), "docOrdinal": number, "arcFileCode": code,
        "typeName": TYPE_CODES.get(doc_type, OTHER_TYPE), "codeNumber": code_number,
        "codeNotation": notation, "issuedDate": dmy(document_date(doc_type, fields)),
        "organName": fields.get("issuing_authority") or None,
        "subject": subject(doc_type, fields), "language": LANGUAGE_VI,
        "numberOfPage": pages, "confidenceLevel": DIGITISED,
    }
    return {name: known.get(name) for name in DOCUMENT_FIELDS[kind]}


def dossier_title(code: str, procedure: str | None) -> str:
    return f"{procedure} — hồ sơ {code}" if procedure else f"Hồ sơ {code}"


def dossier_fields(kind: str, code: str, procedure: str | None, dates: Sequence[str],
                   documents: int, pages: int) -> dict:
    """The package-level record in the Circular's fields; ``dates``: ISO dates of the
    dossier (its receipt, its documents). A DIP's fields describe a request sohoa does not
    record: all None."""
    days = sorted(d for d in dates if dmy(d))
    known = {"fileCode": code, "arcFileCode": code, "title": dossier_title(code, procedure),
             "language": LANGUAGE_VI, "startDate": dmy(days[0]) if days else None,
             "endDate": dmy(days[-1]) if days else None, "totalDoc": documents,
             "numberOfPage": pages, "confidenceLevel": DIGITISED}
    if kind == "DIP":
        known = {}
    return {name: known.get(name) for name in PACKAGE_FIELDS[kind]}


def dublin_core(*, code: str, title: str, dates: Sequence[str], creators: Sequence[str],
                subjects: Sequence[str], parts: Sequence[str], description: str) -> bytes:
    """The dossier as simple Dublin Core (an ``oai_dc:dc`` record)."""
    from lxml import etree

    dc, oai = "http://purl.org/dc/elements/1.1/", "http://www.openarchives.org/OAI/2.0/oai_dc/"
    root = etree.Element(f"{{{oai}}}dc", nsmap={"oai_dc": oai, "dc": dc})

    def add(tag: str, text: str) -> None:
        etree.SubElement(root, f"{{{dc}}}{tag}").text = text

    add("identifier", code)
    add("title", title)
    for c in dict.fromkeys(creators):
        add("creator", c)
    for s in dict.fromkeys(subjects):
        add("subject", s)
    add("description", description)
    days = sorted(d for d in dates if dmy(d))
    if days:
        add("date", days[0] if days[0] == days[-1] else f"{days[0]}/{days[-1]}")
    add("type", "Text")
    add("format", "application/pdf")
    add("language", "vi")
    for p in parts:
        add("relation", p)
    etree.indent(root, space=" ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def documentation(kind: str, code: str, objid: str) -> str:
    """``documentation/README.txt``: what the package holds and how its metadata maps."""
    lines = [
        f"E-ARK CSIP 2.0.4 {kind} of dossier {code}, made by sohoa (package {objid}).",
        "",
        "Layout: METS.xml (the package), metadata/descriptive/ (dossier.json: the Circular",
        "05/2025/TT-BNV package fields and the dossier; dc.xml: Dublin Core),",
        "metadata/preservation/premis.xml (PREMIS 3.0: objects, events, agents),",
        "representations/rep1/ (METS.xml; data/: per document CODE.N.pdf, a PDF/A-2b with",
        "an invisible text layer, and CODE.N/ with the page images NNNN.* and their ALTO 4.2",
        "NNNN.alto.xml" + (", and the file as received, original.*;" if kind != "DIP" else ";"),
        "metadata/descriptive/CODE.N.json: each document's fields), schemas/ (the XSDs).",
        "",
        "File names: dossier code + '.' + the document's number in the dossier (Circular",
        "05/2025/TT-BNV art. 8, as summarised; the one-stop-shop dossier code stands for",
        "the archive's file code). Circular field -> where sohoa takes it from:",
    ]
    lines += [f"  {name}: {source}" for name, source in SOURCES.items()]
    lines += ["Fields given as null are not known to sohoa. The Circular's field names follow",
              "secondary summaries of its appendices; they were not checked against its text."]
    return "\n".join(lines) + "\n"
