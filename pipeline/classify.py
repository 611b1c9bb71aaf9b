"""A first document-type classification and the fields that rules read reliably.

Rules look for each type's title phrases in the folded text (marks removed, đ→d), weighing
the top of the first page, where titles stand, above the body. A learned model and the full
field set per type come later (issue 4); this is the honest baseline they must beat.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from search.folding import fold, nfc

TYPES = (
    "birth_certificate", "marriage_certificate", "death_certificate", "civil_status_register",
    "marital_status_confirmation", "household_registration", "dossier_receipt",
    "application_form", "decision", "unknown",
)

# (type, phrases in folded form, weight); a phrase in the title zone counts three times,
# a title phrase (weight >= 2) in the body a third.
RULES: list[tuple[str, tuple[str, ...], float]] = [
    ("dossier_receipt", ("giay tiep nhan ho so", "hen tra ket qua"), 3.0),
    ("dossier_receipt", ("ma ho so",), 1.0),
    ("marriage_certificate", ("giay chung nhan ket hon",), 3.0),
    ("marriage_certificate", ("ten chong", "ten vo"), 1.0),
    ("death_certificate", ("trich luc khai tu", "giay chung tu", "giay bao tu"), 3.0),
    ("death_certificate", ("nguyen nhan chet", "da chet vao luc", "noi chet"), 1.0),
    ("civil_status_register", ("so dang ky khai sinh", "so dang ky ket hon",
                               "so dang ky khai tu", "so ho tich"), 3.0),
    ("birth_certificate", ("giay khai sinh", "trich luc khai sinh"), 3.0),
    ("birth_certificate", ("noi dang ky khai sinh", "ten nguoi me", "ten nguoi cha"), 0.7),
    ("marital_status_confirmation", ("xac nhan tinh trang hon nhan",), 3.0),
    ("household_registration", ("so ho khau", "chu ho"), 2.0),
    ("application_form", ("to khai",), 2.0),
    ("decision", ("quyet dinh",), 2.0),
    ("decision", ("can cu luat", "dieu 1"), 0.7),
]
TITLE_LINES = 12


@dataclass(frozen=True, slots=True)
class Classification:
    type: str
    confidence: float  # 0..1
    fields: dict = field(default_factory=dict)
    dossier_code: str | None = None


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def classify(pages: list[str]) -> Classification:
    """Classify a document from its pages' text (NFC)."""
    text = nfc("\n".join(pages))
    folded = fold(text)
    first = [line for line in fold(nfc(pages[0] if pages else "")).splitlines() if line.strip()]
    title = " " + _squash(" ".join(first[:TITLE_LINES])) + " "
    body = " " + _squash(folded) + " "
    scores: dict[str, float] = {}
    for doc_type, phrases, weight in RULES:
        for phrase in phrases:
            needle = f" {phrase} "
            if needle in title:
                scores[doc_type] = scores.get(doc_type, 0.0) + 3 * weight
            elif needle in body:
                # A title phrase in running text is usually a mention ("ghi vào sổ đăng ký
                # khai sinh" in a decision), not what the document is.
                scores[doc_type] = scores.get(doc_type, 0.0) + weight * (0.3 if weight >= 2 else 1)
    fields = extract_fields(text)
    if not scores:
        return Classification("unknown", 0.0, fields, fields.get("dossier_code"))
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = round((top - second) / top * min(1.0, top / 9.0), 3)
    return Classification(best, confidence, fields, fields.get("dossier_code"))


DOSSIER_CODE = re.compile(
    r"(?<![0-9A-Za-z])(\d{3})\s?\.\s?(\d{2})\s?\.\s?(\d{2})\s?\.\s?([A-Za-z]\d{2})\s?[-–]\s?"
    r"(\d{6})\s?[-–]\s?(\d{4})(?![0-9])")
PERSONAL_ID = re.compile(r"(?<!\d)(\d{12})(?!\d)")
DATE = re.compile(r"(?<!\d)(\d{1,2})\s?/\s?(\d{1,2})\s?/\s?(\d{4})(?!\d)")


def dossier_code(text: str) -> str | None:
    """The first valid dossier code (Circular 01/2018 art. 19) in the text, normalised."""
    for m in DOSSIER_CODE.finditer(text):
        v, z, y, mx, date, seq = m.groups()
        try:
            dt.datetime.strptime(date, "%y%m%d")
        except ValueError:
            continue
        return f"{v}.{z}.{y}.{mx.upper()}-{date}-{seq}"
    return None


def _iso(m: re.Match) -> str | None:
    day, month, year = (int(g) for g in m.groups())
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _after(label: str, folded_lines: list[str], lines: list[str]) -> str | None:
    for fl, line in zip(folded_lines, lines, strict=True):
        i = fl.find(label)
        if i >= 0:
            value = line[i + len(label):].lstrip(" :.")
            return value.strip() or None
    return None


def extract_fields(text: str) -> dict:
    """The fields rules read reliably on every type: dossier code, personal ID, and the first
    subject name and date of birth."""
    lines = nfc(text).splitlines()
    folded = [fold(line) for line in lines]
    fields: dict = {}
    code = dossier_code(text)
    if code:
        fields["dossier_code"] = code
    for fl, line in zip(folded, lines, strict=True):
        if "dinh danh" in fl or "can cuoc" in fl or "cccd" in fl:
            m = PERSONAL_ID.search(line.replace(" ", ""))
            if m:
                fields["personal_id"] = m.group(1)
                break
    name = _after("ho, chu dem, ten:", folded, lines) or _after("ho va ten:", folded, lines)
    if name:
        fields["subject_name"] = " ".join(name.split()).title()
    for fl, line in zip(folded, lines, strict=True):
        if "ngay, thang, nam sinh" in fl or "ngay sinh" in fl:
            m = DATE.search(line)
            if m and _iso(m):
                fields["date_of_birth"] = _iso(m)
                break
    return fields
