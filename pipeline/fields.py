"""Field extraction from OCR'd civil-status documents.

Works on a page's recognised words grouped into lines, on the folded form of each line (marks
removed, đ→d, punctuation as spaces) so that dropped marks and stray commas do not hide a
label. A label ("Họ, chữ đệm, tên người mẹ", "Ngày, tháng, năm sinh", "Số định danh cá nhân"…)
is matched with a small edit-distance tolerance; its value runs to the next label on the same
line (form rows hold several) or the end of the line, and for addresses onto a continuation
line. The label says the role: a name label opens a person (subject, husband, wife, mother,
father, applicant, household head, declarant), and the person's attributes that follow
(date of birth, sex, ID number…) belong to that person until the next name label.

A field already present in the current record opens a new record, so a register page or a
household book gives one record per entry. Values are normalised (ISO dates from
"12/03/1987" or "ngày 12 tháng 3 năm 1987", 12-digit IDs with O/0 and l/1 fixed, validated
dossier codes) and carry a confidence (label match × value validity × the words' OCR
confidence) and the page region they came from.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from ocr.engine import Word
from pipeline.classify import dossier_code
from pipeline.model import FieldValue
from search.folding import fold

# (label in folded words, field, kind). A name field opens a person; ``role:`` fields attach
# to the person last opened. Longer labels are tried first at each position.
LABELS: list[tuple[str, str, str]] = [
    ("ho chu dem ten chong", "name:husband", "name"),
    ("ho chu dem ten vo", "name:wife", "name"),
    ("ho chu dem ten nguoi me", "name:mother", "name"),
    ("ho chu dem ten nguoi cha", "name:father", "name"),
    ("ho chu dem ten nguoi di khai tu", "name:declarant", "name"),
    ("ho chu dem ten nguoi di khai sinh", "name:declarant", "name"),
    ("ho chu dem ten nguoi yeu cau", "name:applicant", "name"),
    ("ho va ten chu ho", "name:head", "name"),
    ("ho va ten cha", "name:father", "name"),
    ("ho va ten me", "name:mother", "name"),
    ("ho ten cha", "name:father", "name"),
    ("ho ten me", "name:mother", "name"),
    ("ho chu dem ten", "name:subject", "name"),
    ("ho va ten", "name:subject", "name"),
    ("ong ba", "name:applicant", "name"),
    ("ngay thang nam sinh", "role:date_of_birth", "date"),
    ("ngay sinh", "role:date_of_birth", "date"),
    ("sinh ngay", "role:date_of_birth", "date"),
    ("nam sinh", "role:birth_year", "year"),
    ("gioi tinh", "role:sex", "sex"),
    ("dan toc", "role:ethnicity", "text"),
    ("quoc tich", "role:nationality", "text"),
    ("so dinh danh ca nhan", "role:personal_id", "id"),
    ("giay to tuy than", "role:personal_id", "id"),
    ("quan he voi chu ho", "role:relation", "text"),
    ("noi sinh", "role:place_of_birth", "place"),
    ("que quan", "role:home_town", "place"),
    ("noi cu tru cuoi cung", "role:residence", "place"),
    ("noi cu tru", "role:residence", "place"),
    ("noi thuong tru", "role:residence", "place"),
    ("cho o hien nay", "role:residence", "place"),
    ("dia chi", "role:residence", "place"),
    ("da chet vao luc", "date_of_death", "date"),
    ("noi chet", "place_of_death", "place"),
    ("nguyen nhan chet", "cause_of_death", "text"),
    ("quyen so", "book_number", "book"),
    ("ngay thang nam dang ky", "registration_date", "date"),
    ("ngay dang ky", "registration_date", "date"),
    ("dang ky ngay", "registration_date", "date"),
    ("noi dang ky khai sinh", "issuing_authority", "place"),
    ("noi dang ky khai tu", "issuing_authority", "place"),
    ("noi dang ky", "issuing_authority", "place"),
    ("ma ho so", "dossier_code", "code"),
    ("noi dung yeu cau giai quyet", "procedure", "text"),
    ("thoi gian nhan ho so", "received_date", "date"),
    ("so", "registration_number", "number"),
    ("s6", "registration_number", "number"),  # "Số:" as OCR often reads it
    ("s0", "registration_number", "number"),
]
# A person's attributes are stored under the person's prefix; the subject's have none.
PREFIX = {"subject": "", "husband": "husband_", "wife": "wife_", "mother": "mother_",
          "father": "father_", "applicant": "applicant_", "head": "head_",
          "declarant": "declarant_"}
PLACE_KINDS = {"place"}
_LABELS = sorted(((tuple(lbl.split()), f, k) for lbl, f, k in LABELS), key=lambda t: -len(t[0]))
_FIRST_WORDS = {lbl[0] for lbl, _, _ in _LABELS}


@dataclass
class _Token:
    folded: str
    word: Word | None
    start: int  # index of the word in the line


def _line_tokens(words: Sequence[Word]) -> list[_Token]:
    """A line's words split into folded alphanumeric tokens (punctuation is a separator),
    each knowing the word it came from."""
    out = []
    for i, w in enumerate(words):
        for part in re.findall(r"\w+", fold(unicodedata.normalize("NFC", w.text))):
            out.append(_Token(part, w, i))
    return out


def _match_label(tokens: list[_Token], at: int) -> tuple[int, str, str, float] | None:
    """The longest label starting at token ``at``: (tokens used, field, kind, quality)."""
    if tokens[at].folded not in _FIRST_WORDS and len(tokens[at].folded) < 3:
        return None
    for label, field, kind in _LABELS:
        n = len(label)
        if at + n > len(tokens):
            continue
        # Token by token: a two-letter word (vợ, mẹ) and a label's last short word must be
        # exact, or "tên VŨ" would read as "tên vợ"; other words may have one OCR slip
        # ("mam sinh"); two slips in all at most.
        dist = 0
        span = tokens[at:at + n]
        for j, (tok, want) in enumerate(zip(span, label, strict=True)):
            d = Levenshtein.distance(tok.folded, want)
            exact = len(want) <= 2 or (len(want) == 3 and j == n - 1)
            if d > (0 if exact else 1):
                break
            # a label never runs across a colon: "tên: VÕ …" is not "tên vợ"
            if j < n - 1 and tok.word is not None and tok.word is not span[j + 1].word \
                    and tok.word.text.rstrip().endswith(":"):
                break
            dist += d
        else:
            if dist <= (1 if n <= 3 else 2):
                return n, field, kind, 1.0 - 0.15 * dist
    return None


def _labels_in(tokens: list[_Token]) -> list[tuple[int, int, str, str, float]]:
    """Label occurrences in a line: (first token, token count, field, kind, quality). "Số"
    only counts at the start of a line or after another field's value (not "số 12 phố…")."""
    found = []
    i = 0
    while i < len(tokens):
        m = _match_label(tokens, i)
        if m and m[1] == "registration_number":
            word = tokens[i].word.text if tokens[i].word else ""
            after = tokens[i + 1].word.text if i + 1 < len(tokens) and tokens[i + 1].word else ""
            if not (word.rstrip()[-1:] in (":", ".", ";") or after[:1] in (":", ".")):
                m = None  # "Số" without a colon is a word in running text
        if m:
            found.append((i, *m))
            i += m[0]
        else:
            i += 1
    return found


_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1",
                            "i": "1", "|": "1", "S": "5", "s": "5", "B": "8", "Z": "2"})
DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})\s?[/.\-]\s?(\d{1,2})\s?[/.\-]\s?(\d{4})(?!\d)")
DATE_WORDS = re.compile(r"(?:ngay\s+)?(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})")


def parse_date(text: str) -> str | None:
    """ISO 8601 from "12/03/1987", "12-3-1987", "ngày 12 tháng 3 năm 1987" (marks optional)."""
    folded = fold(unicodedata.normalize("NFC", text))
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


def _name(text: str) -> str | None:
    text = re.sub(r"[^\w\s.'-]", " ", unicodedata.normalize("NFC", text))
    parts = [p for p in text.replace("_", " ").split() if not any(c.isdigit() for c in p)]
    if not 2 <= len(parts) <= 6:
        return None
    return " ".join(p[:1].upper() + p[1:].lower() for p in parts)


def normalise(kind: str, raw: str) -> tuple[object | None, float]:
    """(value, validity 0..1) of a raw value of a kind."""
    raw = raw.strip(" :.;,-")
    if not raw:
        return None, 0.0
    if kind == "name":
        value = _name(raw)
        return value, 1.0 if value else 0.0
    if kind == "date":
        value = parse_date(raw)
        return value, 1.0 if value else 0.0
    if kind == "year":
        m = re.search(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)", raw.translate(_DIGIT_FIX))
        return (int(m.group(1)), 1.0) if m else (None, 0.0)
    if kind == "sex":
        f = fold(raw).split()[0] if raw.split() else ""
        if f in ("nam", "nu"):
            return ("Nam" if f == "nam" else "Nữ"), 1.0
        return None, 0.0
    if kind == "id":
        value = parse_id(raw)
        return value, 1.0 if value else 0.0
    if kind == "code":
        value = dossier_code(raw.upper())
        return value, 1.0 if value else 0.0
    if kind == "number":
        m = re.match(r"[\s:]*([0-9OoIl]{1,9})(\S*)", raw)
        if not m:
            return None, 0.0
        digits = m.group(1).translate(_DIGIT_FIX)
        return (digits.lstrip("0") or "0", 1.0) if digits.isdigit() else (None, 0.0)
    if kind == "book":
        m = re.match(r"[\s:]*([0-9OoIl]{1,3}(?:\s?/\s?[0-9OoIl]{4})?)", raw)
        if not m:
            return None, 0.0
        value = m.group(1).replace(" ", "").translate(_DIGIT_FIX)
        return value, 1.0
    return " ".join(raw.split()), 0.9  # text, place


def _box(words: Sequence[Word]) -> tuple[int, int, int, int] | None:
    if not words:
        return None
    return (min(w.box[0] for w in words), min(w.box[1] for w in words),
            max(w.box[2] for w in words), max(w.box[3] for w in words))


def lines_of(words: Sequence[Word]) -> list[list[Word]]:
    lines: dict[int, list[Word]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    return [lines[k] for k in sorted(lines)]


def extract_page(words: Sequence[Word], *, page: int) -> list[dict[str, FieldValue]]:
    """Records of fields found on one page, in reading order (see the module text)."""
    records: list[dict[str, FieldValue]] = [{}]
    role = "subject"
    last: tuple[str, str] | None = None  # (field name, kind) of the last value, for wraps
    for line in lines_of(words):
        tokens = _line_tokens(line)
        if not tokens:
            continue
        found = _labels_in(tokens)
        if not found:
            if last and last[1] in PLACE_KINDS and last[0] in records[-1]:
                # an address or authority wrapped onto this line
                prev = records[-1][last[0]]
                text = " ".join(w.text for w in line)
                if len(text) < 80 and ":" not in text and not re.search(r"\d/\d", text):
                    merged = f"{prev.value} {' '.join(text.split())}"
                    records[-1][last[0]] = FieldValue(merged, prev.confidence, prev.page,
                                                      _box([*line]) if prev.box is None else
                                                      _union(prev.box, _box(line)))
            last = None
            continue
        for n, (at, used, field, kind, quality) in enumerate(found):
            end = found[n + 1][0] if n + 1 < len(found) else len(tokens)
            value_tokens = tokens[at + used:end]
            first_word = value_tokens[0].start if value_tokens else None
            value_words = list(dict.fromkeys(t.word for t in value_tokens if t.word))
            raw = _raw_text(line, tokens, at + used, end)
            if field.startswith("name:"):
                role = field.split(":", 1)[1]
                name = f"{PREFIX[role]}name"
            elif field.startswith("role:"):
                name = PREFIX[role] + field.split(":", 1)[1]
            else:
                name = field
            value, validity = normalise(kind, raw)
            last = (name, kind)
            if value is None or first_word is None:
                continue
            ocr = (sum(w.confidence for w in value_words) / len(value_words) / 100
                   if value_words else 0.5)
            fv = FieldValue(value, quality * validity * max(0.05, min(1.0, ocr)), page,
                            _box(value_words))
            if name in records[-1] and name in ("name", "registration_number"):
                records.append({})  # the same field again: the next entry begins
            records[-1].setdefault(name, fv)
    return [r for r in records if r]


def _union(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _raw_text(line: Sequence[Word], tokens: list[_Token], start: int, end: int) -> str:
    """The original (unfolded) text of tokens [start, end) of a line: from the first value
    word to the last, without the label's trailing colon."""
    if start >= end:
        return ""
    first, last = tokens[start].start, tokens[end - 1].start
    words = [w.text for w in line[first:last + 1]]
    # the first word may still carry the label's tail ("tên:NGUYỄN") or a leading colon
    words[0] = words[0].split(":", 1)[1] if ":" in words[0] else words[0]
    if end < len(tokens) and tokens[end].start == last:
        # the next label begins inside the last word: keep only what comes before it
        words = words[:-1]
    return " ".join(words)


# -------------------------------------------------------------------------- document level

ENTRY_TYPES = {"civil_status_register", "household_registration"}
DECISION = re.compile(
    r"cua\s+(?P<name>[a-z ]+?),\s*sinh ngay\s+(?P<dob>\d{1,2}/\d{1,2}/\d{4})"
    r"(?:,\s*so dinh danh ca nhan\s+(?P<id>[\d ]{12,15}))?")


def shape(doc_type: str, pages: list[list[dict[str, FieldValue]]],
          texts: list[str]) -> dict[str, FieldValue | list[dict[str, FieldValue]]]:
    """A document's fields from its pages' records, by type: register and household pages
    give ``entries``; a decision's subject is read from its running text."""
    records = [r for page in pages for r in page]
    fields: dict = {}
    entries = [r for r in records if "name" in r]
    for r in records:
        for k, v in r.items():
            fields.setdefault(k, v)
    if doc_type in ENTRY_TYPES and entries:
        if doc_type == "civil_status_register":  # the page's own fields, not an entry's
            fields = {k: v for k, v in fields.items() if k in ("book_number",
                                                               "issuing_authority")}
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
