"""A page's records: rows of words, the labels in them, persons, columns and tables
(see pipeline/fields/__init__.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ocr.engine import Word, lines_of
from pipeline.fields.unlabelled import Authority, place_date, read_authority, title_procedure
from pipeline.fields.values import normalise
from pipeline.labels import Hit, Row, find_heads, find_labels
from pipeline.model import FieldValue

# A person's attributes are stored under the person's prefix; the subject's have none.
PREFIX = {"subject": "", "husband": "husband_", "wife": "wife_", "mother": "mother_",
          "father": "father_", "applicant": "applicant_", "head": "head_",
          "declarant": "declarant_"}
PLACE_KINDS = {"place"}
PERSON = ("name:", "role:")


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
    # fields printed without a label (authority, place-and-date line, title): a labelled
    # value on the page outranks them
    aside: dict[str, FieldValue] = field(default_factory=dict)
    head: Authority | None = None  # "ỦY BAN NHÂN DÂN" alone, its unit on the next row
    above: Authority | None = None  # the authority the row before named ("UBND QUẬN X")
    table: list[Column] | None = None  # the column heads of a table being read
    raw: dict[str, str] = field(default_factory=dict)  # each field's last raw text

    def read(self, row: Row) -> None:
        hits = find_labels(row)
        if self.pending and (not hits or hits[0].at > 0):
            hits.insert(0, Hit(0, 0, self.pending.label, self.pending.quality))
        self.pending = None
        if self._unlabelled(row, hits):
            self.last = None
            return
        if self.table is not None:
            if not any(row.colon_after(h.at + h.used - 1) for h in hits if h.used) \
                    and self._table_row(row):
                return
            self.table = None
        table = table_heads(row, hits)
        if table:
            self.table, self.columns, self.last = table, None, None
            return
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

    def _unlabelled(self, row: Row, hits: list[Hit]) -> bool:
        """Reads what a row says without a label: an authority heading in its first column,
        a place-and-date line in any column holding no label, an application's title.
        True when the whole row was such a thing (nothing else to read in it)."""
        groups = _groups(row, 0, len(row.tokens))
        first = hits[0].at if hits else len(row.tokens)
        a, b = groups[0][0], min(groups[0][1], first)
        head, above, self.head, self.above = self.head, self.above, None, None
        whole = False
        auth = read_authority(row, a, b, head=head) if a < b else None
        if auth is None and above is not None and a < b:  # "UBND QUẬN X" over "PHƯỜNG Y"
            auth = read_authority(row, a, b, head=Authority(above.head, None, 0, (), 0))
            if auth is not None and auth.level <= above.level:
                auth = None
        if auth is not None:
            if auth.unit is None:
                self.head = auth
            else:
                if above is not None and auth.level > above.level:
                    auth = auth.under(above)  # "UBND QUẬN X" over "UBND PHƯỜNG Y"
                    self.aside.pop("issuing_authority", None)
                self._aside("issuing_authority", auth.text, 0.85, auth.words)
                self.above = auth
            whole = len(groups) == 1 and auth.end >= len(row.tokens) and not hits
        for a, b in groups:
            if not any(a <= h.at < b for h in hits):
                date = place_date(row, a, b)
                if date:
                    self._aside("signed_date", date, 0.9, row.words[
                        row.tokens[a].word:row.tokens[b - 1].word + 1])
                    whole = whole or len(groups) == 1 and not hits
        if not hits:
            procedure = title_procedure(row)
            if procedure:
                self._aside("procedure", procedure, 0.9, row.words)
                whole = True
        return whole

    def _table_row(self, row: Row) -> bool:
        """A row under a table's heads: each value goes to the column under whose head it
        stands. A row with values in a column or two but not the first, each a place or
        text, continues the row before (an address wrapped in its cell). False when the row
        does not fit the table (it has ended)."""
        groups = _groups(row, 0, len(row.tokens))
        placed = []
        for a, b in groups:
            ws = row.words[row.tokens[a].word:row.tokens[b - 1].word + 1]
            col = column_at(self.table, (ws[0].box[0] + ws[-1].box[2]) / 2)
            if col is None:
                return False
            placed.append((col, a, b))
        cols = [c for c, _, _ in placed]
        if len(set(map(id, cols))) < len(cols):
            return False  # two values in one column: not this table's row
        wrapped = self.table[0] not in cols and len(cols) <= 2 and all(
            c.hit and c.hit.label.kind in ("place", "text") for c in cols)
        for col, a, b in placed:
            if col.hit is None:
                continue
            if wrapped:
                self._continue(row, col.hit, a, b)
            else:
                self._emit(row, col.hit, None, a, b)
        self.last = None
        return True

    def _continue(self, row: Row, hit: Hit, a: int, b: int) -> None:
        fld = hit.label.field
        name = PREFIX[self.role] + fld[5:] if fld.startswith("role:") else fld
        prev = self.records[-1].get(name)
        if prev is None:
            return
        end = row.tokens[b].span[0] if b < len(row.tokens) else len(row.text)
        raw = f"{self.raw.get(name, prev.value)} {row.text[row.tokens[a].span[0]:end]}"
        value = normalise(hit.label.kind, raw)[0]
        self.raw[name] = raw
        words = row.words[row.tokens[a].word:row.tokens[b - 1].word + 1]
        self.records[-1][name] = FieldValue(value, prev.confidence, prev.page,
                                            _union(prev.box, _box(words)))

    def _aside(self, name: str, value: object, quality: float, words: Sequence[Word]) -> None:
        if value is None or name in self.aside:
            return
        ocr = sum(w.confidence for w in words) / max(len(words), 1) / 100
        self.aside[name] = FieldValue(value, quality * max(0.05, min(1.0, ocr)), self.page,
                                      _box(list(words)))

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
        self.raw[name] = raw
        if value is None:
            return
        words = list(dict.fromkeys(row.words[t.word] for t in row.tokens[a:b]))
        ocr = sum(w.confidence for w in words) / len(words) / 100
        fv = FieldValue(value, hit.quality * validity * max(0.05, min(1.0, ocr)), self.page,
                        _box(words))
        current = self.records[-1]
        if name in current and (name in ("name", "registration_number") or "name" in current):
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


@dataclass(frozen=True, slots=True)
class Column:
    """A table's column: where its head stands, and the label it is (None: not a field)."""

    x0: float
    x1: float
    hit: Hit | None


def table_heads(row: Row, hits: list[Hit]) -> list[Column] | None:
    """The heads of a table: a row of three columns or more, each a label alone ("STT   Họ và
    tên   Ngày sinh   Giới tính   Họ tên cha   Họ tên mẹ"), one column at most not a label
    ("Ghi chú"). A register page typed as a table, or a form asking its fields over the
    values' row."""
    groups = _groups(row, 0, len(row.tokens))
    if len(groups) < 3:
        return None
    out, labels = [], 0
    for a, b in groups:
        ws = row.words[row.tokens[a].word:row.tokens[b - 1].word + 1]
        inside = [h for h in hits if a <= h.at < b]
        hit = inside[0] if len(inside) == 1 and inside[0].at == a \
            and inside[0].at + inside[0].used >= b else None
        if inside and hit is None:
            return None  # a label with its value: not a row of heads
        labels += hit is not None
        out.append(Column(ws[0].box[0], ws[-1].box[2], hit))
    return out if labels >= 3 and labels >= len(out) - 1 else None


def column_at(columns: list[Column], x: float) -> Column | None:
    """The column whose stretch holds ``x``: columns meet half-way between their heads'
    centres; the first and last reach as far out as the heads' widths."""
    centres = [(c.x0 + c.x1) / 2 for c in columns]
    for i, col in enumerate(columns):
        lo = (centres[i - 1] + centres[i]) / 2 if i else col.x0 - (col.x1 - col.x0)
        hi = (centres[i] + centres[i + 1]) / 2 if i + 1 < len(columns) \
            else col.x1 + 2 * (col.x1 - col.x0)
        if lo <= x < hi:
            return col
    return None


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
    """Records of fields found on one page, in reading order (see the module text). Fields
    printed without a label (the issuing authority of a heading, the place-and-date line,
    an application's title) come last, as a record of their own, and only where no label on
    the page gave the same field."""
    reader = _Reader(page)
    for row in rows_of(words):
        if row.tokens:
            reader.read(row)
    records = [r for r in reader.records if r]
    labelled = {k for r in records for k in r}
    aside = {k: v for k, v in reader.aside.items() if k not in labelled}
    return records + [aside] if aside else records
