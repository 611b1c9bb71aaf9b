"""Values as printed → normalised values with a validity: dates, IDs, numbers, names."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from pipeline.classify import dossier_code
from search.folding import fold

_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1",
                            "i": "1", "|": "1", "S": "5", "s": "5", "B": "8", "Z": "2"})
DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})\s?[/.\-]\s?(\d{1,2})\s?[/.\-]\s?(\d{4})(?!\d)")
# a numeric date with OCR's letter-for-digit slips ("1O/10/1930"), on folded (lower-case) text
SLIPPED_DATE = re.compile(r"(?<![\w])[0-9oil]{1,2}\s?[/.\-]\s?[0-9oil]{1,2}\s?[/.\-]\s?[0-9oil]{4}"
                          r"(?![\w])")
DATE_WORDS = re.compile(r"(?:ngay\s+)?(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})")
# A number as printed: digits (OCR's O/l slips undone), then letters, "/" and "-" parts.
NUMBER = re.compile(r"([0-9OoIl|]*\d[0-9OoIl|]*)([^\W_]*(?:[/-][^\W_]+)*)")
# the leaders of a form filled in by hand or typed over: "....", ". . . .", "……", "____"
LEADERS = re.compile(r"(?:\.\s?){2,}|…+|_{2,}")


def parse_date(text: str) -> str | None:
    """ISO 8601 from "12/03/1987", "12-3-1987", "ngày 12 tháng 3 năm 1987" (marks optional;
    the dot leaders of a form filled in by hand, "ngày ..12.. tháng ..4.. năm 2019", ignored)."""
    text = LEADERS.sub(" ", unicodedata.normalize("NFC", text))
    folded = SLIPPED_DATE.sub(lambda m: m.group(0).translate(_DIGIT_FIX) if sum(
        c.isdigit() for c in m.group(0)) >= 5 else m.group(0), fold(text))
    for rx in (DATE_NUM, DATE_WORDS):
        m = rx.search(folded)
        if m:
            day, month, year = (int(g) for g in m.groups())
            try:
                return dt.date(year, month, day).isoformat()
            except ValueError:
                continue
    return None


def parse_id(text: str) -> str | None:
    """A 12-digit personal identification number, OCR's letter-for-digit slips undone."""
    for chunk in re.findall(r"[0-9OoDQlIi|SsBZ][0-9OoDQlIi|SsBZ ]{10,}[0-9OoDQlIi|SsBZ]", text):
        digits = chunk.replace(" ", "").translate(_DIGIT_FIX)
        if digits.isdigit() and len(digits) == 12:
            return digits
    m = re.search(r"(?<!\d)\d{12}(?!\d)", text.replace(" ", ""))
    return m.group(0) if m else None


def parse_number(text: str) -> str | None:
    """A registration, book or decision number as printed: "696/XNTTHN", "123/2015/TLKH",
    "05/KS", "123/QĐ-UBND"; dot leaders and spaces around "/" and "-" dropped."""
    text = re.sub(r"\s*([/-])\s*", r"\1", LEADERS.sub("", unicodedata.normalize("NFC", text)))
    m = NUMBER.match(text.strip(" :.;,"))
    return m.group(1).translate(_DIGIT_FIX) + m.group(2) if m else None


def _name(text: str) -> str | None:
    text = unicodedata.normalize("NFC", text)
    head = re.split(r"[,;(]", text, maxsplit=1)[0]
    if len(head.split()) >= 2:  # a name holds no comma: "NGÔ VĂN AN, sinh năm 1960"
        text = head
    text = re.sub(r"[^\w\s.'-]", " ", text)
    parts = [p for p in text.replace("_", " ").split() if not any(c.isdigit() for c in p)]
    # what is left of a label without its colon: lower-case words before the name
    while len(parts) > 1 and parts[0].islower() and any(p[:1].isupper() for p in parts[1:]):
        parts.pop(0)
    if not 2 <= len(parts) <= 6:
        return None
    return " ".join(p[:1].upper() + p[1:].lower() for p in parts)


def normalise(kind: str, raw: str) -> tuple[object | None, float]:
    """(value, validity 0..1) of a raw value of a kind (leaders around it dropped)."""
    if kind != "number":  # a number's leaders are dropped where they stand ("..57../TLKT")
        raw = " ".join(LEADERS.sub(" ", raw).split())
    raw = raw.strip(" :.;,-")
    if not raw:
        return None, 0.0
    if kind == "name":
        value = _name(raw)
    elif kind == "date":
        value = parse_date(raw)
    elif kind == "year":
        m = re.search(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)", raw.translate(_DIGIT_FIX))
        value = int(m.group(1)) if m else None
    elif kind == "sex":  # "Nam"/"Nữ"; "Trai"/"Gái" on the forms that asked "Trai hay gái"
        f = fold(raw).split()[0] if raw.split() else ""
        value = {"nam": "Nam", "nu": "Nữ", "trai": "Nam", "gai": "Nữ"}.get(f)
    elif kind == "id":
        value = parse_id(raw)
    elif kind == "code":
        value = dossier_code(raw.upper())
    elif kind == "number":
        value = parse_number(raw)
    else:
        return " ".join(raw.split()), 0.9  # text, place
    return value, 1.0 if value is not None else 0.0

