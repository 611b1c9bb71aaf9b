"""Document types: a learned model (pipeline/doctype.py) checked by title rules.

The rules look for each type's title phrases in the folded text (marks removed, đ→d),
weighing the top of the first page, where titles stand. The model decides; when the rules
see a clear title of another type, the document goes to review instead of being trusted.
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
    method: str = "rules"  # "rules" | "model" | "model, title disagrees"
    probabilities: dict = field(default_factory=dict)


MIN_TEXT = 20  # characters; less is not a document anyone can classify


def classify_document(pages: list[str], model=None) -> Classification:
    """The type of a document from its pages' text: the model's, unless there is no model
    (rules alone) or the rules read a clear title of another type (then confidence is capped
    below any review threshold worth having, so a clerk looks)."""
    rules = classify(pages)
    text = "\n".join(pages)
    if len(text.strip()) < MIN_TEXT:
        return Classification("unknown", 0.0, "rules")
    if model is None:
        return rules
    probs = model.probabilities(text)
    best = max(probs, key=probs.get)
    confidence = round(probs[best], 3)
    method = "model"
    if rules.type not in ("unknown", best) and rules.confidence >= 0.9:
        confidence, method = min(confidence, 0.5), "model, title disagrees"
    top = dict(sorted(probs.items(), key=lambda kv: -kv[1])[:3])
    return Classification(best, confidence, method, {k: round(v, 3) for k, v in top.items()})


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
    if not scores:
        return Classification("unknown", 0.0)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = round((top - second) / top * min(1.0, top / 9.0), 3)
    return Classification(best, confidence)


DOSSIER_CODE = re.compile(
    r"(?<![0-9A-Za-z])(\d{3})\s?\.\s?(\d{2})\s?\.\s?(\d{2})\s?\.\s?([A-Za-z]\d{2})\s?[-–]\s?"
    r"(\d{6})\s?[-–]\s?(\d{4})(?![0-9])")


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
