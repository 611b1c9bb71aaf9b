"""The label lexicon: how civil-status forms word each field, across eras.

Written from the forms' own wordings, not from any page set: the Law on Civil Status 2014
forms (Circular 04/2020/TT-BTP, and Circular 15/2015 before it), the older forms of Decree
158/2005/NĐ-CP and Circular 08.a/2010/TT-BTP (Giấy khai sinh with "Họ và tên", "Sinh ngày",
"Số: …, Quyển số: …"; Giấy chứng tử with "Họ và tên người chết", "Đã chết vào lúc"; the
two-column Giấy chứng nhận kết hôn with "Bên nữ" and "Bên nam"), register books (sổ đăng ký)
and the one-stop-shop dossier receipt of Circular 01/2018/TT-VPCP ("Mã hồ sơ", "Tiếp nhận hồ sơ
của", "Thời gian trả kết quả").

Each wording is matched on folded words (marks removed, đ→d, punctuation ignored), so "Họ,
chữ đệm, tên" and "HO CHU DEM TEN" are one label. A wording written with a final ":" here
counts only when the page prints a colon (or an OCR slip of it) after it: short or common
words ("Số", "Tên", "Vợ", "Thủ tục") are labels only then. A wording written with a leading
"^" counts only where it opens its row: "Số thứ tự" numbers a register entry there, but not
in "Vào Sổ theo dõi hồ sơ, Quyển số: 02, Số thứ tự: 107" at the foot of a receipt.

Some fields are printed without a label, and are read from the lexicon's other lists:
the issuing authority from a heading that names a People's Committee or a police office
("ỦY BAN NHÂN DÂN" over "PHƯỜNG KIM LIÊN", "UBND QUẬN CẦU GIẤY", "Công an quận Ba Đình";
before 1976 in the North "Ủy ban hành chính"), and the procedure an application is for from
its title ("TỜ KHAI ĐĂNG KÝ KHAI SINH").

A field ``name:<role>`` opens a person; ``role:<attribute>`` belongs to the person last
opened; other fields belong to the document or register entry.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from ocr.engine import Word
from search.folding import fold


@dataclass(frozen=True, slots=True)
class Label:
    words: tuple[str, ...]  # folded
    field: str
    kind: str  # how the value is read: name, date, year, sex, id, code, number, place, text
    colon: bool  # counts only when a colon follows it
    start: bool = False  # counts only where it opens its row


# The ways a person's name is asked for: a stem, then who it is.
NAME_STEMS = ["Họ, chữ đệm, tên", "Họ, chữ đệm và tên", "Họ và tên", "Họ tên", "Họ, tên"]
NAME_ROLES: dict[str, list[str]] = {
    "subject": ["", "người được khai sinh", "người đã chết", "người chết", "người đã mất",
                "người được xác nhận", "người được cấp giấy"],
    "mother": ["người mẹ", "mẹ"],
    "father": ["người cha", "cha"],
    "husband": ["chồng", "người chồng", "bên nam"],
    "wife": ["vợ", "người vợ", "bên nữ"],
    "declarant": ["người đi khai sinh", "người đi khai tử", "người đi đăng ký",
                  "người đi đăng ký khai sinh", "người đi đăng ký khai tử", "người khai"],
    "applicant": ["người yêu cầu", "người nộp hồ sơ", "người nộp", "người đề nghị"],
    "head": ["chủ hộ"],
}
# Names asked for without a stem.
NAME_ALONE: dict[str, list[str]] = {
    "subject": ["Tên:"],
    "mother": ["Mẹ:", "Mẹ đẻ:"],
    "father": ["Cha:", "Cha đẻ:"],
    "husband": ["Chồng:"],
    "wife": ["Vợ:"],
    "declarant": ["Người đi khai sinh:", "Người đi khai tử:", "Người đi đăng ký:"],
    "applicant": ["Ông/Bà", "Ông (bà)", "Người yêu cầu:", "Người nộp hồ sơ:", "Người nộp:",
                  "Tiếp nhận hồ sơ của", "Tên tổ chức, cá nhân nộp hồ sơ", "Chủ hồ sơ:",
                  "Tên người nộp:"],
    "head": ["Chủ hộ:"],
}
# Attributes of the person last named.
ATTRIBUTES: dict[str, tuple[str, list[str]]] = {
    "date_of_birth": ("date", ["Ngày, tháng, năm sinh", "Ngày sinh", "Sinh ngày",
                               "Ngày/tháng/năm sinh"]),
    "birth_year": ("year", ["Năm sinh", "Sinh năm"]),
    "age": ("text", ["Tuổi:"]),
    "sex": ("sex", ["Giới tính", "Nam hay nữ", "Trai hay gái"]),
    # the household book's "Họ và tên gọi khác (nếu có)": another name, not another person
    "other_name": ("name", ["Họ và tên gọi khác", "Họ tên gọi khác", "Tên gọi khác"]),
    "religion": ("text", ["Tôn giáo"]),
    "occupation": ("text", ["Nghề nghiệp", "Nghề nghiệp, nơi làm việc"]),
    "marital_status": ("text", ["Tình trạng hôn nhân"]),
    "ethnicity": ("text", ["Dân tộc"]),
    "nationality": ("text", ["Quốc tịch"]),
    "personal_id": ("id", [
        "Số định danh cá nhân", "Số định danh", "Mã số định danh cá nhân", "Số CMND",
        "Số CCCD", "Số CMND/CCCD", "Số CMND/Hộ chiếu", "Số Giấy CMND/Hộ chiếu",
        "Số giấy CMND", "Số chứng minh nhân dân", "Số căn cước công dân", "Số căn cước",
        "Giấy tờ tùy thân", "Giấy tờ tùy thân số", "CMND số", "CCCD số"]),
    "relation": ("text", ["Quan hệ với chủ hộ", "Quan hệ với người chết",
                          "Quan hệ với người đã chết", "Quan hệ với người được khai sinh",
                          "Quan hệ:"]),
    "place_of_birth": ("place", ["Nơi sinh", "Sinh tại"]),
    "home_town": ("place", ["Quê quán", "Nguyên quán"]),
    "residence": ("place", [
        "Nơi cư trú", "Nơi cư trú cuối cùng", "Nơi thường trú", "Nơi thường trú cuối cùng",
        "Nơi thường trú/tạm trú", "Nơi tạm trú", "Hộ khẩu thường trú", "Chỗ ở hiện nay",
        "Nơi ở hiện nay", "Địa chỉ", "Địa chỉ thường trú", "Trú tại", "Trú quán"]),
    # the household book's earlier address, not the residence
    "previous_residence": ("place", ["Nơi thường trú trước khi chuyển đến"]),
}
# Fields of the document or of a register entry.
DOCUMENT: dict[str, tuple[str, list[str]]] = {
    "date_of_death": ("date", ["Đã chết vào lúc", "Chết vào lúc", "Đã chết vào hồi",
                               "Đã chết ngày", "Chết ngày", "Ngày chết",
                               "Ngày, tháng, năm chết", "Ngày, giờ chết", "Thời gian chết",
                               "Ngày mất", "Chết lúc", "Đã chết lúc"]),
    "place_of_death": ("place", ["Nơi chết", "Nơi mất", "Chết tại"]),
    "cause_of_death": ("text", ["Nguyên nhân chết", "Nguyên nhân:"]),
    "registration_number": ("number", ["Số:", "Số đăng ký", "Số ĐK", "S6:", "S0:",
                                       "^Số thứ tự", "^Số TT", "^STT"]),
    "book_number": ("number", ["Quyển số", "Quyển:"]),
    "registration_date": ("date", [
        "Ngày, tháng, năm đăng ký", "Ngày đăng ký", "Đăng ký ngày", "Ngày ĐK",
        "Ngày đăng ký khai sinh", "Ngày đăng ký khai tử", "Ngày đăng ký kết hôn"]),
    "issuing_authority": ("place", [
        "Nơi đăng ký", "Nơi đăng ký khai sinh", "Nơi đăng ký khai tử",
        "Nơi đăng ký kết hôn", "Cơ quan đăng ký", "Cơ quan đăng ký hộ tịch",
        "Đã đăng ký kết hôn tại", "Đăng ký kết hôn tại", "Đã đăng ký khai sinh tại",
        "Đăng ký khai sinh tại", "Đã đăng ký khai tử tại", "Đăng ký khai tử tại",
        "Đã đăng ký tại", "Đăng ký tại"]),
    "dossier_code": ("code", ["Mã hồ sơ", "Mã số hồ sơ", "Số hồ sơ", "Mã HS:",
                              "Mã biên nhận", "Số biên nhận", "Mã tra cứu hồ sơ"]),
    "procedure": ("text", ["Nội dung yêu cầu giải quyết", "Nội dung yêu cầu",
                           "Tên thủ tục hành chính", "Tên thủ tục", "Thủ tục:",
                           "Thủ tục hành chính:"]),
    "received_date": ("date", ["Thời gian nhận hồ sơ", "Ngày nhận hồ sơ", "Ngày tiếp nhận",
                               "Thời gian tiếp nhận", "Ngày nhận:", "Ngày tiếp nhận hồ sơ",
                               "Ngày nộp hồ sơ"]),
    "due_date": ("date", ["Thời gian trả kết quả", "Thời gian trả kết quả giải quyết hồ sơ",
                          "Ngày hẹn trả kết quả", "Ngày hẹn trả", "Hẹn trả kết quả",
                          "Ngày trả kết quả"]),
    # the place-and-date line of an application ("Làm tại: Phúc Đồng, ngày 24 tháng 7 năm
    # 2018"); unlabelled ones ("Phường X, ngày …") are read in pipeline.fields
    "signed_date": ("date", ["Làm tại"]),
}
# Column heads of two-column forms (the old marriage certificate): a row of these alone
# says which person each column holds.
COLUMN_HEADS: dict[str, list[str]] = {
    "husband": ["Bên nam", "Chồng", "Người chồng"],
    "wife": ["Bên nữ", "Vợ", "Người vợ"],
}
# The head of the row-label column, before the persons' heads ("Thông tin | Bên nữ | Bên nam"
# on the marriage declaration of Circular 04/2020).
ROW_LABEL_HEADS = ["Thông tin", "Nội dung"]

def _words(text: str) -> tuple[str, ...]:
    return tuple("".join(c if c.isalnum() else " " for c in fold(text)).split())


def _label(wording: str, field: str, kind: str) -> Label:
    text = unicodedata.normalize("NFC", wording.strip())
    start = text.startswith("^")
    text = text.lstrip("^")
    return Label(_words(text), field, kind, text.endswith(":"), start)


def build() -> list[Label]:
    """Every label, longest first (the longest wording that matches wins)."""
    out: dict[tuple[str, ...], Label] = {}

    def add(wording: str, field: str, kind: str) -> None:
        lbl = _label(wording, field, kind)
        out.setdefault(lbl.words, lbl)

    for role, tails in NAME_ROLES.items():
        for stem in NAME_STEMS:
            for tail in tails:
                add(f"{stem} {tail}", f"name:{role}", "name")
    for role, wordings in NAME_ALONE.items():
        for w in wordings:
            add(w, f"name:{role}", "name")
    for attr, (kind, wordings) in ATTRIBUTES.items():
        for w in wordings:
            add(w, f"role:{attr}", kind)
    for field, (kind, wordings) in DOCUMENT.items():
        for w in wordings:
            add(w, field, kind)
    return sorted(out.values(), key=lambda lbl: -len(lbl.words))


def column_heads() -> list[tuple[tuple[str, ...], str]]:
    return sorted(((_label(w, r, "").words, r) for r, ws in COLUMN_HEADS.items() for w in ws),
                  key=lambda t: -len(t[0]))


def phrases(wordings: list[str]) -> list[tuple[tuple[str, ...], str]]:
    """(folded words, wording) longest first."""
    out = {_words(w): unicodedata.normalize("NFC", w) for w in wordings}
    return sorted(out.items(), key=lambda t: -len(t[0]))


LABELS = build()
HEADS = column_heads()
ROW_HEADS = phrases(ROW_LABEL_HEADS)
# Every folded word used in a label: the words a label's unlisted tail is made of.
VOCABULARY = frozenset(w for lbl in LABELS for w in lbl.words)


# ------------------------------------------------------------------------------ finding labels

COLONS = frozenset(":;：ː")


@dataclass(frozen=True, slots=True)
class Token:
    folded: str
    word: int  # index of its word in the row
    span: tuple[int, int]  # offsets in the row's text


@dataclass(frozen=True, slots=True)
class Row:
    """Words on one visual row, left to right, as one text (words joined by a space)."""

    words: tuple[Word, ...]
    text: str
    tokens: tuple[Token, ...]

    @classmethod
    def of(cls, words: Sequence[Word]) -> Row:
        words = tuple(words)
        texts = [unicodedata.normalize("NFC", w.text) for w in words]
        starts, at = [], 0
        for t in texts:
            starts.append(at)
            at += len(t) + 1
        text = " ".join(texts)
        tokens = tuple(Token(m.group(0), bisect_right(starts, m.start()) - 1, m.span())
                       for m in re.finditer(r"\w+", fold(text)))
        return cls(words, text, tokens)

    def after(self, k: int) -> str:
        """The text between token ``k`` and the next one (or the end of the row)."""
        end = self.tokens[k + 1].span[0] if k + 1 < len(self.tokens) else len(self.text)
        return self.text[self.tokens[k].span[1]:end]

    def colon_after(self, k: int) -> bool:
        """Whether a colon (or OCR's ";" or "ː" for one) follows token ``k``."""
        return any(c in COLONS for c in self.after(k))


@dataclass(frozen=True, slots=True)
class Hit:
    """A label found in a row: its first token, how many tokens it takes, match quality."""

    at: int
    used: int
    label: Label
    quality: float


def _match(row: Row, at: int) -> tuple[Label, int, int] | None:
    """The longest label starting at token ``at``, its edit distance and the tokens it
    takes. Token by token: a two-letter word (vợ, mẹ) and a label's last three-letter word
    must be exact, or "tên VŨ" would read as "tên vợ"; other words may have one OCR slip;
    two slips in all at most. Two words OCR ran together ("Dântộc") count as one slip, once
    a label. A label never runs across a colon: "tên: VÕ …" is not "tên vợ"."""
    tokens = row.tokens
    for label in _starting(tokens[at].folded):
        n = len(label.words)
        dist, j, t, merged = 0, 0, at, False
        while j < n and t < len(tokens):
            want, got = label.words[j], tokens[t].folded
            d = Levenshtein.distance(got, want, score_cutoff=2)
            exact = len(want) <= 2 or (len(want) == 3 and j == n - 1)
            if d > (0 if exact else 1) and not merged and j + 1 < n \
                    and got == want + label.words[j + 1]:
                d, j, merged = 1, j + 1, True  # "dantoc": "dân tộc" run together
            elif d > (0 if exact else 1):
                break
            if j < n - 1 and row.colon_after(t):
                break
            dist += d
            j += 1
            t += 1
        if j == n and dist <= (1 if n <= 3 else 2):
            return label, dist, t - at
    return None


@lru_cache(maxsize=8192)
def _starting(first: str) -> tuple[Label, ...]:
    """The labels whose first word is ``first`` give or take one slip (or whose first two
    words OCR ran together into ``first``), longest first."""
    return tuple(lbl for lbl in LABELS if Levenshtein.distance(
        first, lbl.words[0], score_cutoff=2) <= (0 if len(lbl.words[0]) <= 2 else 1)
        or len(lbl.words) > 1 and first == lbl.words[0] + lbl.words[1])


def _tail(row: Row, start: int, stop: int) -> int:
    """How many tokens from ``start`` are the unlisted rest of a label: up to four words of
    label vocabulary or lower case (never digits) ending at a colon, before ``stop``. So
    "Họ, chữ đệm, tên người được đăng ký:" ends at its colon even if not in the lexicon."""
    for k in range(start, min(stop, start + 4)):
        tok = row.tokens[k]
        original = row.text[tok.span[0]:tok.span[1]]
        if any(c.isdigit() for c in original) or not (tok.folded in VOCABULARY
                                                      or original.islower()):
            return 0
        if row.colon_after(k):
            return k + 1 - start
    return 0


def _sure(row: Row, k: int) -> bool:
    """Whether an exact label that could stand starts at token ``k`` ("cuối" is not "Tuổi:")."""
    m = _match(row, k)
    return bool(m) and m[1] == 0 and (not m[0].colon or row.colon_after(k + m[2] - 1))


def _opens(row: Row, k: int) -> bool:
    """Whether token ``k`` can start a label without a colon after it, inside a row: after
    a comma ("…, sinh năm 1960") or a gap wider than 1.5 line heights (a new column)."""
    if "," in row.after(k - 1):
        return True
    prev, cur = row.words[row.tokens[k - 1].word], row.words[row.tokens[k].word]
    heights = sorted(w.box[3] - w.box[1] for w in row.words)
    return cur is not prev and cur.box[0] - prev.box[2] > 1.5 * heights[len(heights) // 2]


def find_labels(row: Row) -> list[Hit]:
    """The labels of a row, left to right. A wording written with a colon in the lexicon
    needs one. Any other label needs one too unless it opens the row (after a bullet at
    most), follows a comma or starts a new column, and is not misspelt: "Quê quán: Nam Định"
    holds no "Năm sinh", nor "SỔ ĐĂNG KÝ KHAI SINH NĂM 1994" a birth year. Where a label
    overlaps a later one that ends at a colon, the later one wins ("Việt Nam Sinh ngày:")."""
    found: list[Hit] = []
    i, n = 0, len(row.tokens)
    while i < n:
        m = _match(row, i)
        if m is None:
            i += 1
            continue
        label, dist, used = m
        colon = row.colon_after(i + used - 1)
        first = not found and (i == 0 or i <= 2 and all(len(t.folded) <= 2
                                                          for t in row.tokens[:i]))
        if label.start and not first:
            i += 1
            continue
        if not colon and (label.colon or not first and (dist or not _opens(row, i)) or any(
                (later := _match(row, j)) and row.colon_after(j + later[2] - 1)
                for j in range(i + 1, i + used))):
            i += 1
            continue
        if not colon and not label.colon:
            nxt = next((j for j in range(i + used, min(n, i + used + 4)) if _sure(row, j)), n)
            used += _tail(row, i + used, nxt)
        found.append(Hit(i, used, label, 1.0 - 0.15 * dist))
        i += used
    return found


def phrase_at(row: Row, at: int, phrases: list[tuple[tuple[str, ...], str]],
              *, slips: bool = True) -> tuple[int, str] | None:
    """(tokens used, wording) of the longest phrase starting at token ``at``: folded words
    equal, or with one OCR slip in a word of four letters or more."""
    for words, wording in phrases:
        n = len(words)
        if at + n <= len(row.tokens) and all(
                row.tokens[at + j].folded == w or slips and len(w) >= 4 and Levenshtein.distance(
                    row.tokens[at + j].folded, w, score_cutoff=1) <= 1
                for j, w in enumerate(words)):
            return n, wording
    return None


def find_heads(row: Row) -> list[tuple[float, str]] | None:
    """A row of column heads alone ("Bên nữ   Bên nam"), after the head of the row-label
    column at most ("Thông tin   Bên nữ   Bên nam"): each column's centre x and role."""
    out, i = [], 0
    lead = phrase_at(row, 0, ROW_HEADS, slips=False)
    if lead:
        i = lead[0]
    while i < len(row.tokens):
        for words, role in HEADS:
            if tuple(t.folded for t in row.tokens[i:i + len(words)]) == words:
                ws = row.words[row.tokens[i].word:row.tokens[i + len(words) - 1].word + 1]
                out.append(((ws[0].box[0] + ws[-1].box[2]) / 2, role))
                i += len(words)
                break
        else:
            return None
    return out if len(out) >= 2 and len({r for _, r in out}) == len(out) else None
