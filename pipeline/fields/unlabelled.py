"""What a page prints without a label: the issuing authority's heading, the place-and-date
line, an application's title."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ocr.engine import Word
from pipeline.fields.values import LEADERS, parse_date
from pipeline.labels import Row, phrase_at, phrases
from search.folding import fold

# Who issues civil-status papers, as a heading names them, and the administrative units that
# follow ("ỦY BAN NHÂN DÂN PHƯỜNG VĂN MIẾU"). Written out here with their marks: a heading
# read without marks gets them back for these words.
AUTHORITY_HEADS = ["Ủy ban nhân dân", "UBND", "Ủy ban hành chính", "UBHC", "Công an"]
AUTHORITY_PREFIXES = ["TM.", "T/M", "TM", "KT."]  # signature block: "TM. ỦY BAN NHÂN DÂN"
UNITS = ["phường", "xã", "thị trấn", "quận", "huyện", "thị xã", "thành phố", "tỉnh",
         "khu phố", "tiểu khu"]
# Words that end an authority read from a heading: "ỦY BAN NHÂN DÂN PHƯỜNG X XÁC NHẬN:".
AUTHORITY_STOPS = ["xác nhận", "chứng nhận", "quyết định", "tiếp nhận", "cộng hòa",
                   "độc lập", "số"]

# The procedures of the Law on Civil Status 2014 and of residence and identity papers, as an
# application's title names them ("TỜ KHAI ĐĂNG KÝ KHAI SINH"), with their marks.
APPLICATION_TITLES = ["Tờ khai", "Đơn đề nghị", "Đơn xin"]
PROCEDURES = [
    "Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử", "Đăng ký lại khai sinh",
    "Đăng ký lại kết hôn", "Đăng ký lại khai tử", "Đăng ký nhận cha, mẹ, con",
    "Đăng ký giám hộ", "Đăng ký chấm dứt giám hộ", "Đăng ký thay đổi, cải chính hộ tịch",
    "Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch",
    "Đăng ký thay đổi, cải chính, xác định lại dân tộc, bổ sung thông tin hộ tịch",
    "Đăng ký thay đổi, cải chính, bổ sung hộ tịch, xác định lại dân tộc",
    "Cấp bản sao trích lục hộ tịch", "Cấp giấy xác nhận tình trạng hôn nhân",
    "Xác nhận tình trạng hôn nhân", "Ghi vào sổ hộ tịch", "Thay đổi thông tin cư trú",
    "Đăng ký thường trú", "Đăng ký tạm trú", "Cấp thẻ căn cước công dân", "Căn cước công dân",
]

AUTHORITIES = phrases(AUTHORITY_HEADS)
PREFIXES = phrases(AUTHORITY_PREFIXES)
UNIT_WORDS = phrases(UNITS)
STOPS = phrases(AUTHORITY_STOPS)
TITLES = phrases(APPLICATION_TITLES)
PROCEDURE_WORDS = phrases(PROCEDURES)


@dataclass(frozen=True, slots=True)
class Authority:
    """An issuing authority read from a heading: "Ủy ban nhân dân" and its unit."""

    head: str  # "Ủy ban nhân dân", "Công an" (marks restored)
    unit: str | None  # "phường Văn Miếu"; None while the heading waits for its next row
    level: int  # 3 commune (phường, xã, thị trấn), 2 district, 1 province, 0 unknown
    words: tuple[Word, ...]
    end: int  # the token after it in its row

    @property
    def text(self) -> str:
        return f"{self.head} {self.unit}" if self.unit else self.head

    def under(self, upper: Authority) -> Authority:
        """A commune's authority with the district of the heading above it."""
        return Authority(self.head, f"{self.unit}, {upper.unit}", self.level,
                         upper.words + self.words, self.end)


HEAD_SPELLED = {"UBND": "Ủy ban nhân dân", "UBHC": "Ủy ban hành chính"}
UNIT_LEVEL = {"phường": 3, "xã": 3, "thị trấn": 3, "tiểu khu": 3, "quận": 2, "huyện": 2,
              "thị xã": 2, "khu phố": 2, "tỉnh": 1}


def _capitals(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def read_authority(row: Row, a: int, b: int, *, head: Authority | None = None
                   ) -> Authority | None:
    """The authority a heading names in tokens ``a``..``b`` of a row: "ỦY BAN NHÂN DÂN
    PHƯỜNG VĂN MIẾU", "UBND QUẬN CẦU GIẤY", "Công an quận Ba Đình, Hà Nội", "TM. ỦY BAN NHÂN
    DÂN" (a signature block, naming no unit), or, after ``head`` (a heading alone on the row
    before), its unit alone: "PHƯỜNG KIM LIÊN". A heading in capitals is written as the
    documents write the name in running text (Decree 30/2020): "Ủy ban nhân dân phường Văn
    Miếu"; one in small letters is kept as printed."""
    k = a
    if head is None:
        pre = phrase_at(row, k, PREFIXES, slips=False)
        if pre and k + pre[0] < b:
            k += pre[0]
        found = phrase_at(row, k, AUTHORITIES)
        if found is None:
            return None
        k += found[0]
        spelled = HEAD_SPELLED.get(found[1], found[1])
        printed = row.text[row.tokens[a].span[0]:row.tokens[k - 1].span[1]]
        caps = _capitals(printed)
        words = row.words[row.tokens[a].word:row.tokens[k - 1].word + 1]
    else:
        spelled, words = head.head, head.words
        caps = _capitals(row.text[row.tokens[k].span[0]:row.tokens[k].span[1]])
    end = k
    while end < b and phrase_at(row, end, STOPS, slips=False) is None:
        tok = row.tokens[end]
        original = row.text[tok.span[0]:tok.span[1]]
        if caps and not _capitals(original) and not original.isdigit():
            break  # "PHƯỜNG KIM LIÊN Độc lập - …": the heading's capitals end
        end += 1
    if end == k:
        return Authority(spelled, None, 0, tuple(words), end) if head is None else None
    unit = phrase_at(row, k, UNIT_WORDS, slips=False)
    if unit is None or end - k > 14:
        return None
    part = row.text[row.tokens[k].span[0]:row.tokens[end - 1].span[1]]
    if ":" in part or any(any(c.isdigit() for c in row.tokens[j].folded) and not (
            row.tokens[j].folded.isdigit() and row.tokens[j - 1].folded in UNIT_LAST)
            for j in range(k, end)):
        return None  # a label's line, or an address ("Số 12 phố …"); "Phường 5" is a name
    text = _recase(row, k, end) if caps else part
    words = tuple(words) + row.words[row.tokens[k].word:row.tokens[end - 1].word + 1]
    return Authority(spelled, text.strip(" ,.;"), UNIT_LEVEL.get(unit[1], 0), words, end)


def _recase(row: Row, a: int, b: int) -> str:
    """Tokens ``a``..``b`` of a heading in capitals as running text writes them: unit words
    in small letters with their marks ("phường", but "Phường 5"), names capitalised."""
    out, k = [], a
    while k < b:
        sep = row.text[row.tokens[k - 1].span[1]:row.tokens[k].span[0]] if k > a else ""
        unit = phrase_at(row, k, UNIT_WORDS, slips=False)
        if unit:
            word = unit[1]
            nxt = row.tokens[k + unit[0]].folded if k + unit[0] < b else ""
            out.append(sep + (word[:1].upper() + word[1:] if nxt.isdigit() else word))
            k += unit[0]
            continue
        tok = row.tokens[k]
        original = row.text[tok.span[0]:tok.span[1]]
        out.append(sep + original[:1].upper() + original[1:].lower())
        k += 1
    return "".join(out)


PLACE_DATE = re.compile(r"(?:^|,)\s*ngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})"
                        r"\s*\.?\s*$")


def place_date(row: Row, a: int, b: int) -> str | None:
    """The date of a place-and-date line filling tokens ``a``..``b`` of a row: "Phường Văn
    Miếu, ngày 03 tháng 5 năm 2023", "Hà Nội, ngày ..12.. tháng ..4.. năm 2019": one to six
    words of a place (capitalised, or a unit word and its number) before the comma, or no
    place at all ("Ngày 12 tháng 4 năm 2019" alone in its column)."""
    end = row.tokens[b].span[0] if b < len(row.tokens) else len(row.text)
    text = LEADERS.sub(" ", row.text[row.tokens[a].span[0]:end])
    m = PLACE_DATE.search(fold(text))
    if not m:
        return None
    place = text[:m.start()].split()
    if len(place) > 6:
        return None
    for n, w in enumerate(place):
        f = fold(w).strip(".")
        if not (w[:1].isupper() or f in UNIT_FIRST or f.isdigit() and n
                and fold(place[n - 1]).strip(".") in UNIT_LAST):
            return None
    return parse_date(text[m.start():].lstrip(","))


UNIT_FIRST = {words[0] for words, _ in UNIT_WORDS}
UNIT_LAST = {words[-1] for words, _ in UNIT_WORDS}


def title_procedure(row: Row) -> str | None:
    """The procedure an application's title names: "TỜ KHAI ĐĂNG KÝ KHAI SINH" → "Đăng ký
    khai sinh" (marks restored for the procedures of the lexicon, even when OCR dropped
    them); a title in capitals, without a colon."""
    if ":" in row.text or not _capitals(row.text):
        return None
    title = phrase_at(row, 0, TITLES, slips=False)
    if title is None or title[0] >= len(row.tokens):
        return None
    k = title[0]
    known = phrase_at(row, k, PROCEDURE_WORDS, slips=False)
    rest_at = k + known[0] if known else k
    rest = row.text[row.tokens[rest_at].span[0]:].strip(" .,;") if rest_at < len(
        row.tokens) else ""
    if known:
        return f"{known[1]} {rest.lower()}".strip()
    return rest[:1].upper() + rest[1:].lower() if len(rest.split()) >= 2 else None
