"""Field extraction from OCR'd civil-status documents.

Works on a page's recognised words grouped into visual rows (OCR's lines, with lines on one
baseline that OCR put in separate blocks merged), on the folded form of each row (marks
removed, đ→d, punctuation as spaces) so that dropped marks and stray commas do not hide a
label. Labels come from the lexicon in ``pipeline.labels`` (the wordings of the forms across
eras); the longest wording that matches wins, and a label ends at its colon even where the
lexicon knows only its beginning, so its words never leak into the value. A value runs to the
next label on the same row (form rows hold several) or the end of the row; for addresses onto
a continuation row; after a label that ends its row with a colon, on the next row. The label
says the role: a name label opens a person (subject, husband, wife, mother, father,
applicant, household head, declarant), and the person's attributes that follow (date of
birth, sex, ID number…) belong to that person until the next name label. On two-column forms
the column says the person: a row of column heads ("Bên nữ   Bên nam") splits each following
row's value by its gaps, and a row of two name labels makes each later label belong to the
person of its column.

A field already present in the current record opens a new record, so a register page or a
household book gives one record per entry. Values are normalised (ISO dates from
"12/03/1987" or "ngày 12 tháng 3 năm 1987", 12-digit IDs with O/0 and l/1 fixed, validated
dossier codes, registration and book numbers as printed: "696/XNTTHN", "123/2015/TLKH") and
carry a confidence (label match × value validity × the words' OCR confidence) and the page
region they came from.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from ocr.engine import Word, lines_of
from pipeline.classify import dossier_code
from pipeline.labels import Hit, Row, find_heads, find_labels
from pipeline.model import FieldValue
from search.folding import fold

# A person's attributes are stored under the person's prefix; the subject's have none.
PREFIX = {"subject": "", "husband": "husband_", "wife": "wife_", "mother": "mother_",
          "father": "father_", "applicant": "applicant_", "head": "head_",
          "declarant": "declarant_"}
PLACE_KINDS = {"place"}
PERSON = ("name:", "role:")

_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1",
                            "i": "1", "|": "1", "S": "5", "s": "5", "B": "8", "Z": "2"})
DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})\s?[/.\-]\s?(\d{1,2})\s?[/.\-]\s?(\d{4})(?!\d)")
# a numeric date with OCR's letter-for-digit slips ("1O/10/1930"), on folded (lower-case) text
SLIPPED_DATE = re.compile(r"(?<![\w])[0-9oil]{1,2}\s?[/.\-]\s?[0-9oil]{1,2}\s?[/.\-]\s?[0-9oil]{4}"
                          r"(?![\w])")
DATE_WORDS = re.compile(r"(?:ngay\s+)?(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})")
# A number as printed: digits (OCR's O/l slips undone), then letters, "/" and "-" parts.
NUMBER = re.compile(r"([0-9OoIl|]*\d[0-9OoIl|]*)([^\W_]*(?:[/-][^\W_]+)*)")
LEADERS = re.compile(r"\.{2,}|…+")  # the dot leaders of a form filled in by hand


def parse_date(text: str) -> str | None:
    """ISO 8601 from "12/03/1987", "12-3-1987", "ngày 12 tháng 3 năm 1987" (marks optional)."""
    folded = SLIPPED_DATE.sub(lambda m: m.group(0).translate(_DIGIT_FIX) if sum(
        c.isdigit() for c in m.group(0)) >= 5 else m.group(0), fold(unicodedata.normalize(
            "NFC", text)))
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
    """(value, validity 0..1) of a raw value of a kind."""
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
    elif kind == "sex":
        f = fold(raw).split()[0] if raw.split() else ""
        value = {"nam": "Nam", "nu": "Nữ"}.get(f)
    elif kind == "id":
        value = parse_id(raw)
    elif kind == "code":
        value = dossier_code(raw.upper())
    elif kind == "number":
        value = parse_number(raw)
    else:
        return " ".join(raw.split()), 0.9  # text, place
    return value, 1.0 if value is not None else 0.0


def _box(words: Sequence[Word]) -> tuple[int, int, int, int] | None:
    if not words:
        return None
    return (min(w.box[0] for w in words), min(w.box[1] for w in words),
            max(w.box[2] for w in words), max(w.box[3] for w in words))


def _union(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def rows_of(words: Sequence[Word]) -> list[Row]:
    """Words by visual row, left to right: OCR's lines, and a line on the baseline of an
    earlier one beside it (a value column OCR read as a block of its own) merged into it."""
    rows: list[list[Word]] = []
    for line in lines_of(list(words)):
        y0, y1 = min(w.box[1] for w in line), max(w.box[3] for w in line)
        x0, x1 = min(w.box[0] for w in line), max(w.box[2] for w in line)
        for row in reversed(rows[-8:]):
            r0, r1 = min(w.box[1] for w in row), max(w.box[3] for w in row)
            beside = not any(w.box[0] < x1 and x0 < w.box[2] for w in row)
            if beside and min(y1, r1) - max(y0, r0) >= 0.6 * min(y1 - y0, r1 - r0):
                row.extend(line)
                break
        else:
            rows.append(list(line))
    return [Row.of(sorted(r, key=lambda w: w.box[0])) for r in rows]


@dataclass
class _Reader:
    """Reads a page row by row into records (see the module text)."""

    page: int
    records: list[dict[str, FieldValue]] = field(default_factory=lambda: [{}])
    role: str = "subject"
    last: tuple[str, str, str] | None = None  # (field, kind, raw text) of the last value
    pending: Hit | None = None  # a label that ended its row with a colon and no value
    columns: list[tuple[float, str]] | None = None  # (x, role) of a two-column form
    split: bool = False  # columns hold one label's values side by side (else label pairs)

    def read(self, row: Row) -> None:
        hits = find_labels(row)
        if self.pending and (not hits or hits[0].at > 0):
            hits.insert(0, Hit(0, 0, self.pending.label, self.pending.quality))
        self.pending = None
        if not hits:
            heads = find_heads(row)
            if heads:
                self.columns, self.split = sorted(heads), True
            else:
                self._wrap(row)
            self.last = None
            return
        self._set_columns(row, hits)
        for n, hit in enumerate(hits):
            start = hit.at + hit.used
            end = hits[n + 1].at if n + 1 < len(hits) else len(row.tokens)
            if start >= end and n + 1 == len(hits) and hit.used \
                    and row.colon_after(start - 1):
                self.pending = hit  # "Mã hồ sơ:" with the code on the next row
            for role, a, b in self._parts(row, hit, start, end):
                self._emit(row, hit, role, a, b)

    def _set_columns(self, row: Row, hits: list[Hit]) -> None:
        names = [h for h in hits if h.label.field.startswith("name:")]
        roles = {h.label.field for h in names}
        if len(names) >= 2 and len(names) == len(hits) == len(roles):
            self.columns = [(row.words[row.tokens[h.at].word].box[0], h.label.field[5:])
                            for h in names]
            self.split = False
        elif self.columns and (any(not h.label.field.startswith(PERSON) for h in hits)
                               or names and not self.split
                               or roles - {"name:subject"}):
            self.columns = None

    def _parts(self, row: Row, hit: Hit, start: int, end: int) -> list[tuple[str | None, int,
                                                                              int]]:
        """(role, first token, end token) of each value of a label: on a two-column form
        the column decides the person; otherwise (None) the label or the last name does,
        and the value ends at the first column gap."""
        if not self.columns or not hit.label.field.startswith(PERSON):
            # a value never crosses a column gap: what follows one is another column's
            return [(None, start, _groups(row, start, end)[0][1] if start < end else end)]
        if not self.split:
            x = row.words[row.tokens[hit.at].word].box[0] if hit.used else 0
            slack = _height(row)
            role = [r for cx, r in self.columns if cx <= x + slack] or [self.columns[0][1]]
            return [(role[-1], start, end)]
        groups = _groups(row, start, end)
        if len(groups) == len(self.columns):
            return [(r, a, b) for (_, r), (a, b) in zip(self.columns, groups, strict=True)]
        if len(groups) == 1:
            a, b = groups[0]
            ws = row.words[row.tokens[a].word:row.tokens[b - 1].word + 1]
            centre = (ws[0].box[0] + ws[-1].box[2]) / 2
            return [(min(self.columns, key=lambda c: abs(c[0] - centre))[1], a, b)]
        return [(None, start, end)]

    def _emit(self, row: Row, hit: Hit, role: str | None, a: int, b: int) -> None:
        fld, kind = hit.label.field, hit.label.kind
        if fld.startswith("name:"):
            self.role = role or fld[5:]
            name = f"{PREFIX[self.role]}name"
        elif fld.startswith("role:"):
            name = PREFIX[role or self.role] + fld[5:]
        else:
            name = fld
        # from the first value word to the next label (or the row's end), punctuation kept
        end = row.tokens[b].span[0] if b < len(row.tokens) else len(row.text)
        raw = row.text[row.tokens[a].span[0]:end] if a < b else ""
        value, validity = normalise(kind, raw)
        self.last = (name, kind, raw)
        if value is None:
            return
        words = list(dict.fromkeys(row.words[t.word] for t in row.tokens[a:b]))
        ocr = sum(w.confidence for w in words) / len(words) / 100
        fv = FieldValue(value, hit.quality * validity * max(0.05, min(1.0, ocr)), self.page,
                        _box(words))
        if name in self.records[-1] and name in ("name", "registration_number"):
            self.records.append({})  # the same field again: the next entry begins
        self.records[-1].setdefault(name, fv)

    def _wrap(self, row: Row) -> None:
        """An address or authority wrapped onto this row: joined to the last value."""
        if not self.last or self.last[1] not in PLACE_KINDS:
            return
        name, kind, raw = self.last
        prev = self.records[-1].get(name)
        text = row.text
        if prev is None or prev.value != normalise(kind, raw)[0] or len(text) >= 80 \
                or ":" in text or re.search(r"\d/\d", text):
            return
        value = normalise(kind, f"{raw} {text}")[0]
        self.records[-1][name] = FieldValue(value, prev.confidence, prev.page,
                                            _union(prev.box, _box(row.words)))


def _height(row: Row) -> float:
    heights = sorted(w.box[3] - w.box[1] for w in row.words)
    return heights[len(heights) // 2]


def _groups(row: Row, start: int, end: int) -> list[tuple[int, int]]:
    """Token ranges of a value split where its words leave a gap wider than 1.5 line
    heights (one value per column)."""
    if start >= end:
        return []
    gap = 1.5 * _height(row)
    groups = [[start, start + 1]]
    for k in range(start + 1, end):
        prev, cur = row.words[row.tokens[k - 1].word], row.words[row.tokens[k].word]
        if cur is not prev and cur.box[0] - prev.box[2] > gap:
            groups.append([k, k + 1])
        groups[-1][1] = k + 1
    return [(a, b) for a, b in groups]


def extract_page(words: Sequence[Word], *, page: int) -> list[dict[str, FieldValue]]:
    """Records of fields found on one page, in reading order (see the module text)."""
    reader = _Reader(page)
    for row in rows_of(words):
        if row.tokens:
            reader.read(row)
    return [r for r in reader.records if r]


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
