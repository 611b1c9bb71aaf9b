"""Render realistic synthetic scans of Vietnamese civil-status documents, with ground truth.

Each page is laid out like the real forms (national motto header, title, labelled fields,
signature and a red seal), rendered at 200-300 dpi in one of several fonts, then degraded the
way scanners and old paper degrade it: paper tone, uneven light, skew within +-15 degrees,
quarter turns, blur, noise, specks and JPEG artefacts. For every output file a
``<file name>.gt.json`` in the truth folder holds the exact text (NFC, in reading order), the document type, the
fields, the skew angle and the quarter-turn, so tests and benchmarks can score OCR,
orientation, deskew and classification.

Usage:
    python samples/generate.py committed          # the committed set: samples/scans, samples/truth
    python samples/generate.py bad                # unreadable files: samples/bad
    python samples/generate.py pages --out DIR --seed 7 --count 40 [--dpi 300] [--max-skew 15]
                                                   # ground truth in DIR-truth
    python samples/generate.py pages --out DIR --types dossier_receipt --qr '{dossier_code}'
                                                   # receipts with a QR code of their code
    python samples/generate.py handwritten --out DIR --seed 1 --count 20
                                                   # forms filled by hand, handwritten registers
    python samples/generate.py handwritten-committed   # their examples in samples/scans

Conventions: ``skew_angle`` is the angle in degrees, counter-clockwise positive, by which the
content was tilted; ``rotation`` (0/90/180/270) is the counter-clockwise quarter-turn applied
after it. A reader undoes both by rotating by their negatives.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from samples import vietnamese as vn  # noqa: E402

FONT_DIR = Path("/usr/share/fonts/truetype")
# The fonts of the committed samples (the choice draws from this list; keep it stable).
FAMILIES = {
    "dejavu-serif": ("dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf"),
    "liberation-serif": ("liberation2/LiberationSerif-Regular.ttf",
                         "liberation2/LiberationSerif-Bold.ttf"),
    "liberation-sans": ("liberation2/LiberationSans-Regular.ttf",
                        "liberation2/LiberationSans-Bold.ttf"),
    "freeserif": ("freefont/FreeSerif.ttf", "freefont/FreeSerifBold.ttf"),
    "dejavu-sans": ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
}
# More faces, never used for the committed samples: held-out sets test on fonts the model
# was not shown (a typewriter face among them, as in older registers).
EXTRA_FAMILIES = {
    "freesans": ("freefont/FreeSans.ttf", "freefont/FreeSansBold.ttf"),
    "dejavu-serif-condensed": ("dejavu/DejaVuSerifCondensed.ttf",
                               "dejavu/DejaVuSerifCondensed-Bold.ttf"),
    "dejavu-sans-condensed": ("dejavu/DejaVuSansCondensed.ttf",
                              "dejavu/DejaVuSansCondensed-Bold.ttf"),
    "freemono": ("freefont/FreeMono.ttf", "freefont/FreeMonoBold.ttf"),
}
TYPES = [
    "birth_certificate", "marriage_certificate", "death_certificate",
    "civil_status_register", "dossier_receipt", "decision",
]
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
A4_MM = (210.0, 297.0)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@dataclass
class Layout:
    """A page being laid out: draw operations plus the ground-truth lines they produce."""

    dpi: int
    family: str
    rng: random.Random
    width: int = 0
    height: int = 0
    y: float = 0.0
    ops: list[tuple[tuple[float, float], str, ImageFont.FreeTypeFont]] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    signature_at: tuple[float, float] | None = None
    _fonts: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.width = round(A4_MM[0] / 25.4 * self.dpi)
        self.height = round(A4_MM[1] / 25.4 * self.dpi)
        self.left = self.mm(self.rng.uniform(22, 30))
        self.right = self.width - self.mm(self.rng.uniform(15, 22))
        self.y = self.mm(self.rng.uniform(15, 22))

    def mm(self, value: float) -> float:
        return value / 25.4 * self.dpi

    def font(self, size_pt: float, bold: bool = False) -> ImageFont.FreeTypeFont:
        key = (round(size_pt * 4), bold)
        if key not in self._fonts:
            path = FONT_DIR / {**FAMILIES, **EXTRA_FAMILIES}[self.family][1 if bold else 0]
            self._fonts[key] = ImageFont.truetype(str(path), round(size_pt / 72 * self.dpi))
        return self._fonts[key]

    def _emit(self, x: float, text: str, font: ImageFont.FreeTypeFont) -> tuple[float, float]:
        text = nfc(text)
        self.ops.append(((x, self.y), text, font))
        left, top, right, bottom = font.getbbox(text)
        self.lines.append({"text": text, "box": [round(x + left), round(self.y + top),
                                                 round(x + right), round(self.y + bottom)]})
        return x + right, font.size

    def line(self, text: str, *, size: float = 12.5, bold: bool = False, align: str = "left",
             indent_mm: float = 0.0, spacing: float = 1.45) -> None:
        font = self.font(size, bold)
        if align == "center":
            x = (self.left + self.right - font.getlength(nfc(text))) / 2
        elif align == "right":
            x = self.right - font.getlength(nfc(text))
        else:
            x = self.left + self.mm(indent_mm)
        self._emit(x, text, font)
        self.y += font.size * spacing

    def columns(self, left: list[tuple[str, bool]], right: list[tuple[str, bool]],
                 *, size: float = 12.0, split: float = 0.42) -> None:
        """Two blocks side by side (agency | national motto). They share baselines, so the
        ground truth reads them row by row: left line, then right line."""
        mid = self.left + (self.right - self.left) * split
        spans = ((self.left, mid - self.mm(4)), (mid + self.mm(4), self.right))
        for row in range(max(len(left), len(right))):
            parts, boxes = [], []
            for block, (x0, x1) in zip((left, right), spans, strict=True):
                if row >= len(block):
                    continue
                text, bold = block[row]
                font = self.font(size, bold)
                text = nfc(text)
                x = (x0 + x1 - font.getlength(text)) / 2
                self.ops.append(((x, self.y), text, font))
                x0b, t, r, b = font.getbbox(text)
                parts.append(text)
                boxes.append((x + x0b, self.y + t, x + r, self.y + b))
            self.lines.append({"text": " ".join(parts),
                               "box": [round(min(b[0] for b in boxes)),
                                       round(min(b[1] for b in boxes)),
                                       round(max(b[2] for b in boxes)),
                                       round(max(b[3] for b in boxes))]})
            self.y += self.font(size, True).size * 1.4

    def field(self, label: str, value: str, *, size: float = 12.5, indent_mm: float = 0.0,
              bold_value: bool = False) -> None:
        """``label: value`` on one line; a value too long for the line wraps onto indented
        continuation lines, as a clerk would type it."""
        font = self.font(size)
        vfont = self.font(size, True) if bold_value else font
        x = self.left + self.mm(indent_mm)
        head = nfc(f"{label}: ")
        vx = x + font.getlength(head)
        first: list[str] = []
        rest: list[str] = []  # one continuation line is enough for these forms
        for w in nfc(value).split():
            if rest or vx + vfont.getlength(" ".join([*first, w])) > self.right:
                rest.append(w)
            else:
                first.append(w)
        self.ops.append(((x, self.y), head, font))
        self.ops.append(((vx, self.y), " ".join(first), vfont))
        x0b, t, _, b = font.getbbox(head)
        _, _, vr, _ = vfont.getbbox(" ".join(first) or " ")
        self.lines.append({"text": f"{head}{' '.join(first)}".strip(),
                           "box": [round(x + x0b), round(self.y + t), round(vx + vr),
                                   round(self.y + b)]})
        self.y += font.size * 1.55
        if rest:
            self.line(" ".join(rest), size=size, indent_mm=indent_mm + 8, spacing=1.55)

    def fields_row(self, pairs: list[tuple[str, str]], *, size: float = 12.5) -> None:
        font = self.font(size)
        step = (self.right - self.left) / len(pairs)
        texts = [nfc(f"{label}: {value}") for label, value in pairs]
        if any(font.getlength(t) > step - self.mm(4) for t in texts):
            for t in texts:  # too wide for one row: one per line
                self.line(t, size=size, spacing=1.55)
            return
        x0 = self.left
        for i, t in enumerate(texts):
            self.ops.append(((x0 + i * step, self.y), t, font))
        left, top, _, bottom = font.getbbox(texts[0])
        _, _, right, _ = font.getbbox(texts[-1])
        self.lines.append({"text": " ".join(texts),
                           "box": [round(x0 + left), round(self.y + top),
                                   round(x0 + (len(texts) - 1) * step + right),
                                   round(self.y + bottom)]})
        self.y += font.size * 1.55

    def paragraph(self, text: str, *, size: float = 12.5, indent_mm: float = 10.0) -> None:
        font = self.font(size)
        words = nfc(text).split()
        current, first = "", True
        for word in words:
            trial = f"{current} {word}".strip()
            limit = self.right - self.left - (self.mm(indent_mm) if first else 0)
            if current and font.getlength(trial) > limit:
                self.line(current, size=size, indent_mm=indent_mm if first else 0)
                current, first = word, False
            else:
                current = trial
        if current:
            self.line(current, size=size, indent_mm=indent_mm if first else 0)

    def gap(self, mm: float) -> None:
        self.y += self.mm(mm)

    def rule(self) -> None:
        self.ops.append(((self.left, self.y), "\x00rule", self.font(10)))
        self.y += self.mm(3)

    def signature(self, title: list[str], signer: str, *, size: float = 12.5) -> None:
        """The signing block on the right: titles, a signature, the seal, the name."""
        font = self.font(size, True)
        cx = self.right - (self.right - self.left) * 0.25
        for text in title:
            self.ops.append(((cx - font.getlength(nfc(text)) / 2, self.y), nfc(text), font))
            left, top, right, bottom = font.getbbox(nfc(text))
            x = cx - font.getlength(nfc(text)) / 2
            self.lines.append({"text": nfc(text), "box": [round(x + left), round(self.y + top),
                                                          round(x + right),
                                                          round(self.y + bottom)]})
            self.y += font.size * 1.4
        self.signature_at = (cx, self.y + self.mm(8))
        self.y += self.mm(22)
        text = nfc(signer)
        x = cx - font.getlength(text) / 2
        self._emit(x, text, font)
        self.y += font.size * 1.5

    @property
    def text(self) -> str:
        return "\n".join(line["text"] for line in self.lines)


# --------------------------------------------------------------------------------------------
# Document templates. Each fills a Layout and returns (type, fields, names of people on it).

def _agency(rng: random.Random) -> tuple[str, str]:
    ward, district = rng.choice(vn.LOCALITIES)
    return ward, district


def _header(lay: Layout, ward: str, district: str, *, number: str | None = None) -> None:
    left = [("ỦY BAN NHÂN DÂN", True), (ward.upper(), True)]
    if number:
        left.append((number, False))
    lay.columns(left, [(MOTTO[0], True), (MOTTO[1], True)], size=11.5)
    lay.gap(6)


def birth_certificate(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    ward, district = _agency(rng)
    registered = vn.random_date(rng, 1956, 2023)
    child = vn.person(rng, born_from=registered.year - 1, born_to=registered.year)
    child = vn.Person(child.name, child.sex, min(child.born, registered), child.ethnicity,
                      child.residence, child.personal_id)
    surname = child.name.split()[0]
    father = vn.person(rng, sex="Nam", born_from=child.born.year - 45,
                       born_to=child.born.year - 20, surname=surname)
    mother = vn.person(rng, sex="Nữ", born_from=child.born.year - 40,
                       born_to=child.born.year - 18)
    number, book = str(rng.randint(1, 480)), f"{rng.randint(1, 4):02d}/{registered.year}"
    extract = rng.random() < 0.35
    _header(lay, ward, district)
    lay.line("TRÍCH LỤC KHAI SINH" if extract else "GIẤY KHAI SINH", size=17, bold=True,
             align="center")
    if extract:
        lay.line("(Bản sao)", size=12, align="center")
    lay.gap(4)
    lay.fields_row([("Số", number), ("Quyển số", book)])
    lay.field("Họ, chữ đệm, tên", child.upper, bold_value=True)
    lay.field("Ngày, tháng, năm sinh", f"{child.born:%d/%m/%Y}")
    lay.field("ghi bằng chữ", vn.date_words(child.born), indent_mm=8)
    lay.fields_row([("Giới tính", child.sex), ("Dân tộc", child.ethnicity),
                    ("Quốc tịch", "Việt Nam")])
    lay.field("Nơi sinh", f"{rng.choice(vn.HOSPITALS)}, {district}, Hà Nội")
    lay.field("Quê quán", rng.choice(vn.PROVINCES))
    lay.field("Số định danh cá nhân", child.personal_id)
    lay.gap(2)
    lay.field("Họ, chữ đệm, tên người mẹ", mother.upper)
    lay.fields_row([("Năm sinh", str(mother.born.year)), ("Dân tộc", mother.ethnicity),
                    ("Quốc tịch", "Việt Nam")])
    lay.field("Nơi cư trú", mother.residence)
    lay.field("Họ, chữ đệm, tên người cha", father.upper)
    lay.fields_row([("Năm sinh", str(father.born.year)), ("Dân tộc", father.ethnicity),
                    ("Quốc tịch", "Việt Nam")])
    lay.field("Nơi cư trú", father.residence)
    lay.gap(2)
    lay.field("Nơi đăng ký khai sinh", f"Ủy ban nhân dân {ward}, {district}, Hà Nội")
    lay.field("Ngày, tháng, năm đăng ký", f"{registered:%d/%m/%Y}")
    lay.gap(4)
    signer = vn.person(rng)
    lay.signature(["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"], signer.name)
    fields = {
        "subject_name": child.name, "sex": child.sex, "date_of_birth": child.born.isoformat(),
        "ethnicity": child.ethnicity, "nationality": "Việt Nam",
        "personal_id": child.personal_id, "mother_name": mother.name,
        "father_name": father.name, "registration_number": number, "book_number": book,
        "registration_date": registered.isoformat(),
        "issuing_authority": f"Ủy ban nhân dân {ward}, {district}",
    }
    return "birth_certificate", fields, [child.name, mother.name, father.name]


def marriage_certificate(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    ward, district = _agency(rng)
    registered = vn.random_date(rng, 1960, 2023)
    husband = vn.person(rng, sex="Nam", born_from=registered.year - 40,
                        born_to=registered.year - 20)
    wife = vn.person(rng, sex="Nữ", born_from=registered.year - 38,
                     born_to=registered.year - 18)
    number, book = str(rng.randint(1, 300)), f"{rng.randint(1, 3):02d}/{registered.year}"
    _header(lay, ward, district)
    lay.line("GIẤY CHỨNG NHẬN KẾT HÔN", size=17, bold=True, align="center")
    lay.gap(4)
    for role, p in (("chồng", husband), ("vợ", wife)):
        lay.field(f"Họ, chữ đệm, tên {role}", p.upper, bold_value=True)
        lay.field("Ngày, tháng, năm sinh", f"{p.born:%d/%m/%Y}")
        lay.fields_row([("Dân tộc", p.ethnicity), ("Quốc tịch", "Việt Nam")])
        lay.field("Nơi cư trú", p.residence)
        lay.field("Giấy tờ tùy thân", f"Căn cước công dân số {p.personal_id}")
        lay.gap(3)
    lay.field("Nơi đăng ký", f"Ủy ban nhân dân {ward}, {district}, Hà Nội")
    lay.field("Ngày, tháng, năm đăng ký", f"{registered:%d/%m/%Y}")
    lay.fields_row([("Số", number), ("Quyển số", book)])
    lay.gap(4)
    lay.signature(["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"], vn.person(rng).name)
    fields = {
        "husband_name": husband.name, "husband_date_of_birth": husband.born.isoformat(),
        "husband_personal_id": husband.personal_id,
        "wife_name": wife.name, "wife_date_of_birth": wife.born.isoformat(),
        "wife_personal_id": wife.personal_id,
        "registration_number": number, "book_number": book,
        "registration_date": registered.isoformat(),
        "issuing_authority": f"Ủy ban nhân dân {ward}, {district}",
    }
    return "marriage_certificate", fields, [husband.name, wife.name]


def death_certificate(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    ward, district = _agency(rng)
    died = vn.random_date(rng, 1960, 2023)
    registered = died + dt.timedelta(days=rng.randint(1, 20))
    deceased = vn.person(rng, born_from=died.year - 95, born_to=died.year - 30)
    declarant = vn.person(rng, born_from=died.year - 60, born_to=died.year - 20)
    number, book = str(rng.randint(1, 250)), f"{rng.randint(1, 3):02d}/{registered.year}"
    _header(lay, ward, district, number=f"Số: {number}/TLKT-BS")
    lay.line("TRÍCH LỤC KHAI TỬ", size=17, bold=True, align="center")
    lay.gap(4)
    lay.field("Họ, chữ đệm, tên", deceased.upper, bold_value=True)
    lay.field("Ngày, tháng, năm sinh", f"{deceased.born:%d/%m/%Y}")
    lay.fields_row([("Giới tính", deceased.sex), ("Dân tộc", deceased.ethnicity),
                    ("Quốc tịch", "Việt Nam")])
    lay.field("Số định danh cá nhân", deceased.personal_id)
    lay.field("Nơi cư trú cuối cùng", deceased.residence)
    lay.field("Đã chết vào lúc", f"{rng.randint(0, 23):02d} giờ {rng.randint(0, 59):02d} phút, "
                                 f"{vn.date_long(died)}")
    lay.field("Nơi chết", rng.choice(vn.HOSPITALS + ["Tại nhà riêng"]))
    lay.field("Nguyên nhân chết", rng.choice(vn.CAUSES_OF_DEATH))
    lay.field("Họ, chữ đệm, tên người đi khai tử", declarant.upper)
    lay.field("Nơi đăng ký khai tử", f"Ủy ban nhân dân {ward}, {district}, Hà Nội")
    lay.field("Ngày, tháng, năm đăng ký", f"{registered:%d/%m/%Y}")
    lay.fields_row([("Số", number), ("Quyển số", book)])
    lay.gap(4)
    lay.signature(["NGƯỜI KÝ TRÍCH LỤC"], vn.person(rng).name)
    fields = {
        "subject_name": deceased.name, "sex": deceased.sex,
        "date_of_birth": deceased.born.isoformat(), "date_of_death": died.isoformat(),
        "personal_id": deceased.personal_id, "registration_number": number,
        "book_number": book, "registration_date": registered.isoformat(),
        "issuing_authority": f"Ủy ban nhân dân {ward}, {district}",
    }
    return "death_certificate", fields, [deceased.name, declarant.name]


def civil_status_register(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    ward, district = _agency(rng)
    year = rng.randint(1956, 2015)
    lay.line(f"SỔ ĐĂNG KÝ KHAI SINH NĂM {year}", size=15, bold=True, align="center")
    lay.line(f"Ủy ban nhân dân {ward}, {district}", size=12, align="center")
    lay.line(f"Quyển số: {rng.randint(1, 4):02d}/{year}", size=12, align="center")
    lay.gap(3)
    lay.rule()
    entries, names = [], []
    first_number = rng.randint(1, 300)
    for k in range(rng.randint(3, 4)):
        registered = vn.random_date(rng, year, year)
        child = vn.person(rng, born_from=year, born_to=year)
        child = vn.Person(child.name, child.sex, min(child.born, registered), child.ethnicity,
                          child.residence, child.personal_id)
        father = vn.person(rng, sex="Nam", born_from=year - 45, born_to=year - 20,
                           surname=child.name.split()[0])
        mother = vn.person(rng, sex="Nữ", born_from=year - 40, born_to=year - 18)
        number = str(first_number + k)
        lay.fields_row([("Số", number), ("Ngày đăng ký", f"{registered:%d/%m/%Y}")], size=11.5)
        lay.field("Họ và tên", child.upper, size=11.5, bold_value=True)
        lay.fields_row([("Ngày sinh", f"{child.born:%d/%m/%Y}"), ("Giới tính", child.sex),
                        ("Dân tộc", child.ethnicity)], size=11.5)
        lay.field("Họ tên cha", f"{father.name}, sinh năm {father.born.year}", size=11.5)
        lay.field("Họ tên mẹ", f"{mother.name}, sinh năm {mother.born.year}", size=11.5)
        lay.gap(1)
        lay.rule()
        entries.append({"registration_number": number, "subject_name": child.name,
                        "date_of_birth": child.born.isoformat(), "sex": child.sex,
                        "father_name": father.name, "mother_name": mother.name,
                        "registration_date": registered.isoformat()})
        names += [child.name, father.name, mother.name]
    fields = {"entries": entries, "issuing_authority": f"Ủy ban nhân dân {ward}, {district}"}
    return "civil_status_register", fields, names


def dossier_receipt(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    ward, district = _agency(rng)
    received = vn.random_date(rng, 2019, 2023)
    applicant = vn.person(rng, born_from=1950, born_to=2000)
    code = vn.dossier_code(rng, district, received)
    procedure = rng.choice(vn.PROCEDURES)
    due = received + dt.timedelta(days=rng.choice([1, 3, 5, 7]))
    _header(lay, ward, district)
    lay.line("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", size=15, bold=True, align="center")
    lay.line(f"Mã hồ sơ: {code}", size=13, bold=True, align="center")
    lay.gap(4)
    lay.paragraph(f"Bộ phận tiếp nhận và trả kết quả Ủy ban nhân dân {ward}, {district} "
                  f"tiếp nhận hồ sơ của:")
    lay.field("Ông/Bà", applicant.upper, bold_value=True)
    lay.field("Số định danh cá nhân", applicant.personal_id)
    lay.field("Địa chỉ", applicant.residence)
    lay.field("Nội dung yêu cầu giải quyết", procedure)
    lay.line("Thành phần hồ sơ gồm:")
    for i, item in enumerate(["Tờ khai theo mẫu quy định", "Giấy tờ tùy thân của người yêu cầu",
                              "Giấy tờ chứng minh nơi cư trú"][: rng.randint(2, 3)]):
        lay.line(f"{i + 1}. {item}: 01 bản", indent_mm=6)
    lay.field("Thời gian nhận hồ sơ", f"{rng.randint(7, 16):02d} giờ {rng.randint(0, 59):02d} "
                                      f"phút, {vn.date_long(received)}")
    lay.field("Thời gian trả kết quả", vn.date_long(due))
    lay.gap(4)
    lay.signature(["NGƯỜI TIẾP NHẬN HỒ SƠ"], vn.person(rng).name)
    fields = {"dossier_code": code, "applicant_name": applicant.name,
              "personal_id": applicant.personal_id, "procedure": procedure,
              "received_date": received.isoformat(), "due_date": due.isoformat()}
    return "dossier_receipt", fields, [applicant.name]


def decision_pages(rng: random.Random, dpi: int, family: str,
                   pages: int) -> tuple[list[Layout], str, dict, list[str]]:
    ward, district = _agency(rng)
    signed = vn.random_date(rng, 2016, 2023)
    subject = vn.person(rng, born_from=1950, born_to=2010)
    old_name = subject.name.rsplit(" ", 1)[0] + " " + rng.choice(vn.GIVEN_MALE + vn.GIVEN_FEMALE)
    number = f"{rng.randint(10, 999)}/QĐ-UBND"
    clauses = [
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
        "Căn cứ Luật Hộ tịch ngày 20 tháng 11 năm 2014;",
        "Căn cứ Nghị định số 123/2015/NĐ-CP ngày 15 tháng 11 năm 2015 của Chính phủ quy định "
        "chi tiết một số điều và biện pháp thi hành Luật Hộ tịch;",
        f"Xét đề nghị của công chức tư pháp - hộ tịch {ward} và hồ sơ kèm theo của "
        f"{'ông' if subject.sex == 'Nam' else 'bà'} {subject.name},",
    ]
    articles = [
        f"Điều 1. Cải chính nội dung đã đăng ký trong sổ đăng ký khai sinh của "
        f"{subject.name}, sinh ngày {subject.born:%d/%m/%Y}, số định danh cá nhân "
        f"{subject.personal_id}: họ, chữ đệm, tên đã ghi là {old_name} nay cải chính "
        f"thành {subject.name}.",
        "Lý do cải chính: nội dung đã đăng ký có sai sót do lỗi của cán bộ ghi chép tại "
        "thời điểm đăng ký, căn cứ vào giấy tờ hợp lệ do người yêu cầu xuất trình.",
        "Điều 2. Công chức tư pháp - hộ tịch có trách nhiệm ghi nội dung cải chính vào sổ "
        "hộ tịch và cấp trích lục cho người yêu cầu theo quy định.",
        "Điều 3. Quyết định này có hiệu lực kể từ ngày ký. Văn phòng Ủy ban nhân dân, công "
        "chức tư pháp - hộ tịch và người có tên tại Điều 1 chịu trách nhiệm thi hành Quyết "
        "định này.",
    ]
    layouts = []
    lay = Layout(dpi, family, rng)
    _header(lay, ward, district, number=f"Số: {number}")
    lay.line(f"{ward.split(' ', 1)[1]}, {vn.date_long(signed)}", size=12, align="right")
    lay.gap(3)
    lay.line("QUYẾT ĐỊNH", size=16, bold=True, align="center")
    lay.line("Về việc cải chính hộ tịch", size=13, bold=True, align="center")
    lay.line(f"CHỦ TỊCH ỦY BAN NHÂN DÂN {ward.upper()}", size=13, bold=True, align="center")
    lay.gap(3)
    for clause in clauses:
        lay.paragraph(clause)
    lay.line("QUYẾT ĐỊNH:", size=13, bold=True, align="center")
    breaks = {round(k * len(articles) / pages) for k in range(1, pages)}
    for i, article in enumerate(articles):
        if i in breaks:
            layouts.append(lay)
            lay = Layout(dpi, family, rng)
            lay.line(f"- {len(layouts) + 1} -", size=11, align="center")
            lay.gap(4)
        lay.paragraph(article)
    lay.gap(6)
    lay.signature(["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"], vn.person(rng).name)
    layouts.append(lay)
    fields = {"subject_name": subject.name, "date_of_birth": subject.born.isoformat(),
              "personal_id": subject.personal_id, "decision_number": number,
              "signed_date": signed.isoformat(),
              "issuing_authority": f"Ủy ban nhân dân {ward}, {district}"}
    return layouts, "decision", fields, [subject.name]


def birth_certificate_old(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    """The pre-2016 birth certificate: dates written in words, parents' names first-named."""
    ward, district = _agency(rng)
    registered = vn.random_date(rng, 1956, 2015)
    child = vn.person(rng, born_from=registered.year - 1, born_to=registered.year)
    child = vn.Person(child.name, child.sex, min(child.born, registered), child.ethnicity,
                      child.residence, child.personal_id)
    father = vn.person(rng, sex="Nam", born_from=child.born.year - 45,
                       born_to=child.born.year - 20, surname=child.name.split()[0])
    mother = vn.person(rng, sex="Nữ", born_from=child.born.year - 40,
                       born_to=child.born.year - 18)
    number, book = str(rng.randint(1, 480)), f"{rng.randint(1, 4):02d}"
    lay.line(MOTTO[0], size=12, bold=True, align="center")
    lay.line(MOTTO[1], size=12, bold=True, align="center")
    lay.gap(5)
    lay.line("GIẤY KHAI SINH", size=18, bold=True, align="center")
    lay.line("(BẢN CHÍNH)", size=11, align="center")
    lay.gap(3)
    lay.fields_row([("Số", number), ("Quyển số", book)])
    lay.field("Họ và tên", child.upper, bold_value=True)
    lay.fields_row([("Giới tính", child.sex), ("Dân tộc", child.ethnicity)])
    lay.field("Sinh ngày", f"{child.born.day} tháng {child.born.month} năm {child.born.year}")
    lay.field("Bằng chữ", vn.date_words(child.born), indent_mm=6)
    lay.field("Nơi sinh", f"{rng.choice(vn.HOSPITALS)}, {district}, Hà Nội")
    lay.field("Họ và tên cha", father.name)
    lay.fields_row([("Tuổi", str(child.born.year - father.born.year)),
                    ("Dân tộc", father.ethnicity)])
    lay.field("Họ và tên mẹ", mother.name)
    lay.fields_row([("Tuổi", str(child.born.year - mother.born.year)),
                    ("Dân tộc", mother.ethnicity)])
    lay.field("Nơi thường trú", mother.residence)
    lay.field("Đăng ký ngày", f"{registered.day} tháng {registered.month} năm {registered.year}")
    lay.line(f"Ủy ban nhân dân {ward}, {district}, thành phố Hà Nội", size=12)
    lay.gap(4)
    lay.signature(["T/M ỦY BAN NHÂN DÂN", "CHỦ TỊCH"], vn.person(rng).name)
    fields = {
        "subject_name": child.name, "sex": child.sex, "date_of_birth": child.born.isoformat(),
        "ethnicity": child.ethnicity, "mother_name": mother.name, "father_name": father.name,
        "registration_number": number, "book_number": book,
        "registration_date": registered.isoformat(),
        "issuing_authority": f"Ủy ban nhân dân {ward}, {district}",
    }
    return "birth_certificate", fields, [child.name, mother.name, father.name]


def marital_status_confirmation(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    ward, district = _agency(rng)
    issued = vn.random_date(rng, 2016, 2023)
    subject = vn.person(rng, born_from=1950, born_to=2003)
    number = f"{rng.randint(1, 400)}/UBND-XNTTHN"
    since = vn.random_date(rng, 2000, issued.year - 1)
    _header(lay, ward, district, number=f"Số: {number}")
    lay.line("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", size=15, bold=True, align="center")
    lay.gap(3)
    lay.paragraph(f"Xét đề nghị của {'ông' if subject.sex == 'Nam' else 'bà'} "
                  f"{subject.name} về việc xác nhận tình trạng hôn nhân cho bản thân,")
    lay.line(f"ỦY BAN NHÂN DÂN {ward.upper()} XÁC NHẬN:", size=12.5, bold=True)
    lay.field("Họ, chữ đệm, tên", subject.upper, bold_value=True)
    lay.field("Ngày, tháng, năm sinh", f"{subject.born:%d/%m/%Y}")
    lay.fields_row([("Giới tính", subject.sex), ("Dân tộc", subject.ethnicity),
                    ("Quốc tịch", "Việt Nam")])
    lay.field("Giấy tờ tùy thân", f"Căn cước công dân số {subject.personal_id}")
    lay.field("Nơi cư trú", subject.residence)
    lay.paragraph(f"Trong thời gian cư trú tại {ward}, {district}, Hà Nội từ ngày "
                  f"{since:%d/%m/%Y} đến ngày {issued:%d/%m/%Y}", indent_mm=0)
    lay.field("Tình trạng hôn nhân", rng.choice(["Chưa đăng ký kết hôn với ai",
                                                 "Đã ly hôn, hiện tại chưa đăng ký kết hôn"]))
    lay.field("Giấy này được cấp để", rng.choice(["làm thủ tục đăng ký kết hôn",
                                                   "bổ sung hồ sơ vay vốn ngân hàng"]))
    lay.paragraph("Giấy này có giá trị sử dụng trong thời hạn 6 tháng, kể từ ngày cấp.",
                  indent_mm=0)
    lay.line(f"{ward.split(' ', 1)[1]}, {vn.date_long(issued)}", size=12, align="right")
    lay.signature(["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], vn.person(rng).name)
    fields = {"subject_name": subject.name, "sex": subject.sex,
              "date_of_birth": subject.born.isoformat(), "personal_id": subject.personal_id,
              "registration_number": number.split("/")[0],
              "registration_date": issued.isoformat(),
              "issuing_authority": f"Ủy ban nhân dân {ward}, {district}"}
    return "marital_status_confirmation", fields, [subject.name]


def household_registration(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    ward, district = _agency(rng)
    head = vn.person(rng, sex="Nam", born_from=1930, born_to=1985)
    spouse = vn.person(rng, sex="Nữ", born_from=head.born.year - 3, born_to=head.born.year + 8)
    children = [vn.person(rng, born_from=max(head.born.year + 20, 1950),
                          born_to=min(head.born.year + 40, 2015), surname=head.name.split()[0])
                for _ in range(rng.randint(1, 2))]
    book = f"{rng.randint(10000000, 99999999)}"
    lay.line("SỔ HỘ KHẨU", size=17, bold=True, align="center")
    lay.line(f"Số: {book}", size=12.5, align="center")
    lay.gap(3)
    lay.field("Họ và tên chủ hộ", head.upper, bold_value=True)
    lay.field("Chỗ ở hiện nay", head.residence)
    lay.line(f"Công an {district}, Hà Nội", size=12)
    lay.rule()
    members = [("Chủ hộ", head), ("Vợ", spouse)] + [("Con", c) for c in children]
    entries = []
    for relation, p in members:
        lay.field("Họ và tên", p.upper, size=12, bold_value=True)
        lay.fields_row([("Quan hệ với chủ hộ", relation), ("Giới tính", p.sex)], size=12)
        lay.fields_row([("Ngày, tháng, năm sinh", f"{p.born:%d/%m/%Y}"),
                        ("Dân tộc", p.ethnicity)], size=12)
        lay.field("Số định danh cá nhân", p.personal_id, size=12)
        lay.rule()
        entries.append({"subject_name": p.name, "relation": relation,
                        "date_of_birth": p.born.isoformat(), "personal_id": p.personal_id})
    fields = {"subject_name": head.name, "date_of_birth": head.born.isoformat(),
              "personal_id": head.personal_id, "registration_number": book,
              "entries": entries, "issuing_authority": f"Công an {district}"}
    return "household_registration", fields, [p.name for _, p in members]


def application_form(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    """Tờ khai: the citizen's request, with the facts to register in it."""
    ward, district = _agency(rng)
    signed = vn.random_date(rng, 2016, 2023)
    applicant = vn.person(rng, born_from=1950, born_to=1998)
    kind = rng.choice(["khai sinh", "khai tử", "kết hôn"])
    lay.line(MOTTO[0], size=12, bold=True, align="center")
    lay.line(MOTTO[1], size=12, bold=True, align="center")
    lay.gap(4)
    lay.line(f"TỜ KHAI ĐĂNG KÝ {kind.upper()}", size=15, bold=True, align="center")
    lay.gap(2)
    lay.field("Kính gửi", f"Ủy ban nhân dân {ward}, {district}")
    lay.field("Họ, chữ đệm, tên người yêu cầu", applicant.upper)
    lay.field("Nơi cư trú", applicant.residence)
    lay.field("Giấy tờ tùy thân", f"Căn cước công dân số {applicant.personal_id}")
    if kind == "khai sinh":
        subject = vn.person(rng, born_from=signed.year - 1, born_to=signed.year)
        subject = vn.Person(subject.name, subject.sex, min(subject.born, signed),
                            subject.ethnicity, subject.residence, subject.personal_id)
        lay.field("Quan hệ với người được khai sinh", rng.choice(["Cha", "Mẹ"]))
        lay.line("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:")
    elif kind == "khai tử":
        subject = vn.person(rng, born_from=1920, born_to=1990)
        lay.field("Quan hệ với người đã chết", rng.choice(["Con", "Vợ", "Chồng", "Cháu"]))
        lay.line("Đề nghị cơ quan đăng ký khai tử cho người có tên dưới đây:")
    else:
        subject = applicant
        lay.line("Đề nghị cơ quan đăng ký kết hôn cho chúng tôi với những thông tin sau:")
    lay.field("Họ, chữ đệm, tên", subject.upper, bold_value=True)
    lay.field("Ngày, tháng, năm sinh", f"{subject.born:%d/%m/%Y}")
    lay.fields_row([("Giới tính", subject.sex), ("Dân tộc", subject.ethnicity),
                    ("Quốc tịch", "Việt Nam")])
    lay.paragraph(f"Tôi cam đoan nội dung đề nghị đăng ký {kind} trên đây là đúng sự thật, "
                  f"được sự thỏa thuận nhất trí của các bên liên quan theo quy định pháp luật.")
    lay.paragraph("Tôi chịu hoàn toàn trách nhiệm trước pháp luật về nội dung cam đoan của mình.")
    lay.line(f"Làm tại: {ward.split(' ', 1)[1]}, {vn.date_long(signed)}", size=12, align="right")
    lay.signature(["Người yêu cầu", "(Ký, ghi rõ họ, chữ đệm, tên)"], applicant.name)
    fields = {"subject_name": subject.name, "date_of_birth": subject.born.isoformat(),
              "applicant_name": applicant.name, "personal_id": applicant.personal_id,
              "procedure": f"Đăng ký {kind}", "signed_date": signed.isoformat()}
    return "application_form", fields, sorted({applicant.name, subject.name})


OTHER_TITLES = ["BIÊN BẢN HỌP", "THÔNG BÁO", "DANH SÁCH HỌC SINH LỚP 5A", "GIẤY MỜI",
                "BÁO CÁO TỔNG KẾT NĂM", "HỢP ĐỒNG THUÊ NHÀ", "PHIẾU THU"]
OTHER_SENTENCES = [
    "Thời gian bắt đầu lúc 8 giờ 00 phút tại hội trường tầng 2.",
    "Thành phần tham dự gồm đại diện các tổ dân phố và ban công tác mặt trận.",
    "Nội dung chính là tổng kết công tác vệ sinh môi trường trong quý.",
    "Đề nghị các hộ gia đình hoàn thành việc đóng góp trước ngày 30 hằng tháng.",
    "Bên cho thuê có trách nhiệm bàn giao nhà đúng thời hạn đã thỏa thuận.",
    "Số tiền thanh toán bằng chữ được ghi rõ trong phụ lục kèm theo.",
    "Các lớp học sinh chấp hành tốt nội quy và đạt nhiều thành tích trong năm học.",
    "Cuộc họp kết thúc vào lúc 11 giờ cùng ngày, biên bản được thông qua.",
]


def other_document(lay: Layout, rng: random.Random) -> tuple[str, dict, list[str]]:
    """Papers that are none of the known types (they reach archives too): `unknown`."""
    ward, district = _agency(rng)
    _header(lay, ward, district)
    lay.line(rng.choice(OTHER_TITLES), size=15, bold=True, align="center")
    lay.gap(3)
    people = [vn.person(rng) for _ in range(rng.randint(1, 3))]
    for p in people:
        lay.field(rng.choice(["Ông/Bà", "Đại diện", "Người lập"]), p.name)
    for sentence in rng.sample(OTHER_SENTENCES, rng.randint(3, 6)):
        lay.paragraph(sentence)
    lay.signature([rng.choice(["NGƯỜI LẬP", "THƯ KÝ", "TRƯỞNG BAN"])], people[0].name)
    return "unknown", {}, [p.name for p in people]


TEMPLATES = {
    "birth_certificate": birth_certificate,
    "marriage_certificate": marriage_certificate,
    "death_certificate": death_certificate,
    "civil_status_register": civil_status_register,
    "dossier_receipt": dossier_receipt,
    "birth_certificate_old": birth_certificate_old,
    "marital_status_confirmation": marital_status_confirmation,
    "household_registration": household_registration,
    "application_form": application_form,
    "other": other_document,
}
# Every template (decision is multi-page, made by decision_pages), for benchmarks and training.
ALL_TEMPLATES = [*TEMPLATES, "decision"]


# --------------------------------------------------------------------------------------------
# Rendering and degradation

@dataclass(frozen=True, slots=True)
class Degradation:
    skew: float = 0.0  # degrees, counter-clockwise positive
    rotation: int = 0  # counter-clockwise quarter turn applied after the skew
    blur: float = 0.6  # Gaussian sigma in pixels at 300 dpi
    noise: float = 6.0  # Gaussian noise sigma, grey levels
    specks: float = 0.0002  # fraction of pixels turned into dark specks
    light: float = 0.15  # depth of the uneven-light gradient
    paper: tuple[int, int, int] = (246, 242, 230)
    stamp: bool = True
    color: bool = False  # keep colour (else grey)


QR_MODULE_MM = 0.68  # one QR module: 8 px at 300 dpi; a receipt's QR is then 22-30 mm across


def qr_patch(text: str, module_px: int = 8) -> Image.Image:
    """A QR code (error correction M, byte mode, UTF-8 without ECI, as most printers of
    receipts emit it) carrying ``text`` (NFC), black on white, with the standard four-module
    quiet zone; each module is ``module_px`` pixels square. A greyscale ("L") image."""
    params = cv2.QRCodeEncoder.Params()
    params.correction_level = cv2.QRCodeEncoder_CORRECT_LEVEL_M
    matrix = cv2.QRCodeEncoder.create(params).encode(nfc(text))
    ys, xs = np.nonzero(matrix < 128)  # the encoder's own margin is two modules: redo it
    matrix = matrix[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    matrix = np.pad(matrix, 4, constant_values=255)
    return Image.fromarray(np.kron(matrix, np.ones((module_px, module_px), np.uint8)), "L")


def add_qr(page: Image.Image, text: str, *, xy: tuple[int, int] | None = None,
           module_px: int | None = None) -> tuple[int, int, int, int]:
    """Print a QR code carrying ``text`` onto ``page`` (in place) with its top-left corner
    (quiet zone included) at ``xy``, by default the bottom-right corner 12 mm in from the
    edges, where the generated forms leave paper free. ``module_px`` defaults to 0.68 mm at
    the page's resolution (8 px at 300 dpi; the page's dpi is taken from its width as A4).
    Returns the box (x0, y0, x1, y1) of the printed symbol, quiet zone excluded."""
    dpi = page.width / (A4_MM[0] / 25.4)
    module = module_px or max(2, round(QR_MODULE_MM / 25.4 * dpi))
    patch = qr_patch(text, module)
    if xy is None:
        inset = round(12 / 25.4 * dpi)
        xy = (page.width - inset - patch.width, page.height - inset - patch.height)
    page.paste(patch.convert(page.mode), xy)
    quiet = 4 * module
    return (xy[0] + quiet, xy[1] + quiet, xy[0] + patch.width - quiet,
            xy[1] + patch.height - quiet)


def _print_qr_codes(img: Image.Image, lay: Layout, texts: list[str], *,
                    module_mm: float = QR_MODULE_MM) -> list[dict]:
    """QR codes in a row along the foot of the page, from the left margin, below the
    content where it leaves room (else over the lowest lines: the page's text truth does not
    list what a QR covers). Returns their ground truth."""
    module = max(2, round(lay.mm(module_mm)))
    patches = [qr_patch(text, module) for text in texts]
    tallest = max(p.height for p in patches)
    y = round(min(lay.y + lay.mm(4), lay.height - lay.mm(10) - tallest))
    x, codes = round(lay.left - 4 * module), []
    for text, patch in zip(texts, patches, strict=True):
        box = add_qr(img, text, xy=(x, y), module_px=module)
        codes.append({"kind": "qr", "text": nfc(text), "box": list(box)})
        x += patch.width + round(lay.mm(6))
    return codes


def _stamp(img: Image.Image, center: tuple[float, float], dpi: int, text: str,
           rng: random.Random) -> None:
    """A red round seal with the agency's name around the ring."""
    radius = 19 / 25.4 * dpi
    size = int(radius * 2 + 8)
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    c = size / 2
    w = max(2, int(dpi / 100))
    for r in (radius, radius - 4 * w, radius * 0.55):
        draw.ellipse([c - r, c - r, c + r, c + r], outline=255, width=w)
    star = [(c + radius * 0.3 * math.cos(math.pi / 2 + k * 4 * math.pi / 5),
             c - radius * 0.3 * math.sin(math.pi / 2 + k * 4 * math.pi / 5)) for k in range(5)]
    draw.polygon(star, fill=255)
    font = ImageFont.truetype(str(FONT_DIR / FAMILIES["dejavu-sans"][1]), int(dpi / 14))
    ring = radius * 0.78
    chars = list(text)
    span = math.radians(300)
    for i, ch in enumerate(chars):
        a = math.pi / 2 + span / 2 - span * i / max(1, len(chars) - 1)
        glyph = Image.new("L", (font.size * 2, font.size * 2), 0)
        ImageDraw.Draw(glyph).text((font.size / 2, font.size / 2), ch, font=font, fill=255)
        glyph = glyph.rotate(math.degrees(a) - 90, resample=Image.BICUBIC)
        x = c + ring * math.cos(a) - glyph.width / 2
        y = c - ring * math.sin(a) - glyph.height / 2
        layer.paste(255, (int(x), int(y)), glyph)
    layer = layer.rotate(rng.uniform(-30, 30), resample=Image.BICUBIC)
    alpha = np.asarray(layer, dtype=np.float32) / 255 * rng.uniform(0.65, 0.85)
    box = (int(center[0] - c), int(center[1] - c))
    region = np.asarray(img.crop((box[0], box[1], box[0] + size, box[1] + size)),
                        dtype=np.float32)
    ink = np.array([205, 35, 45], dtype=np.float32)
    mixed = region * (1 - alpha[..., None]) + ink * alpha[..., None]
    img.paste(Image.fromarray(mixed.astype(np.uint8)), box)


def _scribble(draw: ImageDraw.ImageDraw, at: tuple[float, float], dpi: int,
              rng: random.Random) -> None:
    x, y = at
    pts = []
    for k in range(40):
        t = k / 39
        pts.append((x - dpi * 0.45 + t * dpi * 0.9 + rng.uniform(-3, 3),
                    y + math.sin(t * rng.uniform(8, 14)) * dpi * 0.08 + rng.uniform(-4, 4)))
    draw.line(pts, fill=(20, 30, 120), width=max(2, dpi // 110))


def render(lay: Layout, rng: random.Random, deg: Degradation, *, stamp_text: str,
           qr: list[str] | None = None, qr_module_mm: float = QR_MODULE_MM,
           codes: list[dict] | None = None,
           overlay: Callable[[Image.Image, random.Random], None] | None = None) -> np.ndarray:
    """The page image. ``qr``: texts to print as QR codes (before the degradation, which
    then applies to them too); their ground truth is appended to ``codes``. The QR option
    draws no random numbers: the rest of the page is exactly the page without it.
    ``overlay(image, rng)`` draws on the page after its printed text (handwriting,
    samples/handwriting.py), before the signature, seal and degradation."""
    img = Image.new("RGB", (lay.width, lay.height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for (x, y), text, font in lay.ops:
        if text == "\x00rule":
            draw.line([(lay.left, y), (lay.right, y)], fill=(40, 40, 40),
                      width=max(1, lay.dpi // 150))
            continue
        ink = rng.randint(0, 45)
        draw.text((x, y), text, font=font, fill=(ink, ink, ink))
    if overlay is not None:
        overlay(img, rng)
    if lay.signature_at:
        _scribble(draw, lay.signature_at, lay.dpi, rng)
        if deg.stamp:
            sx, sy = lay.signature_at
            _stamp(img, (sx - lay.mm(14), sy - lay.mm(4)), lay.dpi, stamp_text, rng)
    if qr:
        printed = _print_qr_codes(img, lay, qr, module_mm=qr_module_mm)
        if codes is not None:
            codes += printed
    page = np.asarray(img, dtype=np.float32)
    page *= np.array(deg.paper, dtype=np.float32) / 255.0
    if deg.light:
        h, w = page.shape[:2]
        gx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        gy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        ax, ay = rng.uniform(-1, 1), rng.uniform(-1, 1)
        ramp = 1 - deg.light * np.clip((ax * gx + ay * gy + 1) / 2, 0, 1)
        page *= ramp[..., None]
    page = np.clip(page, 0, 255).astype(np.uint8)
    if deg.skew:
        page = _rotate_expand(page, deg.skew, border=tuple(int(v * 0.93) for v in deg.paper))
    if deg.rotation:
        page = np.ascontiguousarray(np.rot90(page, k=deg.rotation // 90))
    if deg.blur:
        sigma = deg.blur * lay.dpi / 300
        page = cv2.GaussianBlur(page, (0, 0), sigma)
    if deg.noise:
        page = np.clip(page + np_rng(rng).normal(0, deg.noise, page.shape), 0,
                       255).astype(np.uint8)
    if deg.specks:
        r = np_rng(rng)
        mask = r.random(page.shape[:2]) < deg.specks
        page[mask] = r.integers(0, 90, size=(int(mask.sum()), 1), dtype=np.uint8)
    if not deg.color:
        page = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    return page


def np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def _rotate_expand(page: np.ndarray, angle: float, *, border: tuple[int, ...]) -> np.ndarray:
    """Rotate counter-clockwise by angle degrees onto a canvas large enough to keep all of it,
    as a page lying askew on a scanner bed."""
    h, w = page.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(page, m, (nw, nh), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


# --------------------------------------------------------------------------------------------
# Output

@dataclass
class Rendered:
    images: list[np.ndarray]
    truth: dict


def lay_out(rng: random.Random, template: str, *, dpi: int, pages: int,
            family: str) -> tuple[list[Layout], str, dict, list[str]]:
    """The laid-out pages of one document from a template: (layouts, type, fields, names)."""
    if template == "decision":
        return decision_pages(rng, dpi, family, pages)
    layouts, fields, names, doc_type = [], {}, [], template
    for _ in range(pages):  # several pages of the same kind, as in a register book
        lay = Layout(dpi, family, rng)
        doc_type, page_fields, page_names = TEMPLATES[template](lay, rng)
        if "entries" in fields:
            fields["entries"] += page_fields["entries"]
        elif not fields:
            fields = page_fields
        layouts.append(lay)
        names += page_names
    return layouts, doc_type, fields, names


def make_text(rng: random.Random, template: str, *, pages: int = 1,
              family: str | None = None) -> dict:
    """Ground truth only, no image (fast: for training text models)."""
    family = family or rng.choice(list(FAMILIES))
    layouts, doc_type, fields, names = lay_out(rng, template, dpi=100, pages=pages,
                                               family=family)
    return {"type": doc_type, "fields": fields, "names": names,
            "pages": [{"number": i + 1, "text": lay.text} for i, lay in enumerate(layouts)]}


def make_document(rng: random.Random, doc_type: str, *, dpi: int, degradations: list[Degradation],
                  family: str | None = None, qr: list[str] | None = None,
                  qr_module_mm: float = QR_MODULE_MM) -> Rendered:
    """``qr``: QR codes to print on the first page, each a ``str.format`` template over the
    document's fields, e.g. ``"{dossier_code}"`` or
    ``"https://dichvucong.gov.vn/tra-cuu?ma={dossier_code}"`` (double a literal brace); the
    truth of that page then lists them under ``codes`` (kind, text, box before skew);
    ``qr_module_mm``: their module size. Default: none, and the document is exactly what it
    is without this option."""
    family = family or rng.choice(list(FAMILIES))
    layouts, doc_type, fields, names = lay_out(rng, doc_type, dpi=dpi, pages=len(degradations),
                                               family=family)
    ward = fields.get("issuing_authority", "Ủy ban nhân dân").split(",")[0]
    stamp_text = ward.upper().replace("ỦY BAN NHÂN DÂN", "UBND") + " * HÀ NỘI *"
    try:
        qr_texts = [template.format_map(fields) for template in qr or []]
    except KeyError as missing:
        raise ValueError(f"QR template names {missing}, a field a {doc_type} does not have; "
                         f"it has {', '.join(fields)}") from None
    images, pages = [], []
    for number, (lay, deg) in enumerate(zip(layouts, degradations, strict=True), start=1):
        codes: list[dict] = []
        images.append(render(lay, rng, deg, stamp_text=stamp_text,
                             qr=qr_texts if number == 1 else None,
                             qr_module_mm=qr_module_mm, codes=codes))
        pages.append({"number": number, "text": lay.text, "lines": lay.lines,
                      "skew_angle": round(deg.skew, 3), "rotation": deg.rotation, "dpi": dpi,
                      "font": family, "width": lay.width, "height": lay.height})
        if codes:
            pages[-1]["codes"] = codes
    truth = {"type": doc_type, "fields": fields, "names": names, "pages": pages}
    return Rendered(images, truth)


def random_degradation(rng: random.Random, *, max_skew: float, rotations: bool,
                       color: bool | None = None) -> Degradation:
    skew = rng.uniform(-max_skew, max_skew) if max_skew else 0.0
    rotation = rng.choice([0, 0, 0, 0, 90, 180, 270]) if rotations else 0
    return Degradation(
        skew=round(skew, 2), rotation=rotation, blur=rng.uniform(0.3, 1.0),
        noise=rng.uniform(3, 10), specks=rng.uniform(0, 0.0004), light=rng.uniform(0, 0.3),
        paper=(rng.randint(236, 252), rng.randint(230, 248), rng.randint(210, 240)),
        stamp=rng.random() < 0.85,
        color=rng.random() < 0.25 if color is None else color,
    )


def save(rendered: Rendered, out: Path, truth_dir: Path, name: str, fmt: str, *,
         jpeg_quality: int = 75) -> Path:
    """Write the page(s) as fmt ('jpg', 'png', 'tif', 'tif-g4', 'pdf') into ``out`` and the
    ground truth as ``truth_dir/<file name>.gt.json``."""
    out.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    dpi = rendered.truth["pages"][0]["dpi"]
    pil = [Image.fromarray(im) for im in rendered.images]
    if fmt == "tif-g4":
        pil = [p.convert("L").point(lambda v: 255 if v > 150 else 0).convert("1") for p in pil]
    ext = {"jpg": "jpg", "png": "png", "tif": "tif", "tif-g4": "tif", "pdf": "pdf"}[fmt]
    path = out / f"{name}.{ext}"
    if fmt == "jpg":
        assert len(pil) == 1, "a JPEG holds one page"
        pil[0].save(path, quality=jpeg_quality, dpi=(dpi, dpi), optimize=True)
    elif fmt == "png":
        assert len(pil) == 1, "a PNG holds one page"
        pil[0].save(path, dpi=(dpi, dpi), optimize=True)
    elif fmt in ("tif", "tif-g4"):
        compression = "group4" if fmt == "tif-g4" else "tiff_lzw"
        pil[0].save(path, save_all=True, append_images=pil[1:], compression=compression,
                    dpi=(dpi, dpi))
    else:  # an image-only PDF, as a scanner writes it: one JPEG per page, no text layer
        rgb = [p.convert("L") if p.mode == "L" else p.convert("RGB") for p in pil]
        rgb[0].save(path, save_all=True, append_images=rgb[1:], resolution=dpi,
                    quality=jpeg_quality)
    truth = dict(rendered.truth, file=path.name)
    (truth_dir / f"{path.name}.gt.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1),
                                              encoding="utf-8")
    return path


# The committed demo/test set: (name, type, format, dpi, pages, skew, rotation, colour)
COMMITTED = [
    ("birth-1987-jpeg-skew-3.2", "birth_certificate", "jpg", 300, 1, 3.2, 0, False),
    ("birth-extract-jpeg-skew-minus-7.5", "birth_certificate", "jpg", 250, 1, -7.5, 0, False),
    ("birth-color-stamp-jpeg-skew-1.1", "birth_certificate", "jpg", 300, 1, 1.1, 0, True),
    ("marriage-jpeg-skew-minus-2.4", "marriage_certificate", "jpg", 300, 1, -2.4, 0, False),
    ("marriage-png-skew-12.0", "marriage_certificate", "png", 200, 1, 12.0, 0, False),
    ("death-jpeg-skew-0.6", "death_certificate", "jpg", 300, 1, 0.6, 0, False),
    ("death-jpeg-skew-minus-14.2", "death_certificate", "jpg", 250, 1, -14.2, 0, False),
    ("receipt-jpeg-skew-5.3", "dossier_receipt", "jpg", 300, 1, 5.3, 0, False),
    ("receipt-color-jpeg-skew-minus-0.9", "dossier_receipt", "jpg", 300, 1, -0.9, 0, True),
    ("register-jpeg-skew-minus-4.1", "civil_status_register", "jpg", 300, 1, -4.1, 0, False),
    ("birth-rotated-90-jpeg", "birth_certificate", "jpg", 250, 1, 1.7, 90, False),
    ("death-upside-down-jpeg", "death_certificate", "jpg", 250, 1, -2.2, 180, False),
    ("receipt-rotated-270-png", "dossier_receipt", "png", 200, 1, 0.4, 270, False),
    ("register-book-3-pages-fax-g4", "civil_status_register", "tif-g4", 300, 3, 0.0, 0, False),
    ("decision-3-pages-scanned-pdf", "decision", "pdf", 200, 3, 0.0, 0, False),
]


def committed(out: Path, truth_dir: Path, *, seed: int = 2024) -> list[Path]:
    paths = []
    for i, (name, doc_type, fmt, dpi, pages, skew, rotation, color) in enumerate(COMMITTED):
        rng = random.Random(f"{seed}-{i}-{name}")
        degs = []
        for _p in range(pages):
            base = random_degradation(rng, max_skew=0, rotations=False, color=color)
            # Multi-page scans come from a feeder: small, different skews per page.
            angle = skew if pages == 1 else round(rng.uniform(-2.5, 2.5), 2)
            degs.append(replace(base, skew=angle, rotation=rotation))
        rendered = make_document(rng, doc_type, dpi=dpi, degradations=degs)
        paths.append(save(rendered, out, truth_dir, name, fmt,
                          jpeg_quality=rng.randint(55, 80)))
        print(f"wrote {paths[-1]}", file=sys.stderr)
    return paths


def pages(out: Path, truth_dir: Path, *, seed: int, count: int, dpi: int, max_skew: float,
          rotations: bool, fmt: str, types: list[str], upright: bool = False,
          families: list[str] | None = None, harsh: bool = False,
          qr: list[str] | None = None) -> list[Path]:
    """count documents with random templates (``types``, round-robin) and degradations, for
    benchmarks. ``upright`` renders the very same pages without their skew and turns;
    ``families`` picks the fonts (default: the committed samples' five); ``harsh`` degrades
    more than the committed samples (stronger blur and noise, more specks, darker paper);
    ``qr`` prints QR codes from templates over the fields (see ``make_document``)."""
    paths = []
    for i in range(count):
        rng = random.Random(f"{seed}-{i}")
        doc_type = types[i % len(types)]
        n = 2 if doc_type == "decision" else 1
        degs = [random_degradation(rng, max_skew=max_skew, rotations=rotations)
                for _ in range(n)]
        if upright:
            degs = [replace(d, skew=0.0, rotation=0) for d in degs]
        if harsh:
            degs = [replace(d, blur=d.blur * 1.4, noise=d.noise * 1.5, specks=d.specks * 3,
                            light=min(0.45, d.light * 1.5)) for d in degs]
        family = rng.choice(families) if families else None
        rendered = make_document(rng, doc_type, dpi=dpi, degradations=degs, family=family,
                                 qr=qr)
        page_fmt = fmt if n == 1 or fmt in ("tif", "tif-g4", "pdf") else "pdf"
        paths.append(save(rendered, out, truth_dir, f"{seed}-{i:05d}-{doc_type}", page_fmt,
                          jpeg_quality=rng.randint(60, 85)))
    return paths


def bad(out: Path, scans: Path) -> list[Path]:
    """Files an archive really receives that are not readable scans, made from a good one."""
    out.mkdir(parents=True, exist_ok=True)
    good = (scans / f"{COMMITTED[0][0]}.jpg").read_bytes()
    files = {
        "truncated-transfer.jpg": good[: len(good) * 2 // 5],  # copy cut off mid-way
        "empty-scan.png": b"",  # zero bytes
        "minutes-saved-as.pdf": "Biên bản họp ngày 12/03/2023\n(plain text, not a PDF)\n"
                                .encode(),  # the extension lies
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
    return [out / name for name in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("committed", help="the committed demo and test set")
    c.add_argument("--out", type=Path, default=Path(__file__).parent / "scans")
    c.add_argument("--truth", type=Path, default=Path(__file__).parent / "truth")
    c.add_argument("--seed", type=int, default=2024)
    b = sub.add_parser("bad", help="unreadable files for the rejection demo and tests")
    b.add_argument("--out", type=Path, default=Path(__file__).parent / "bad")
    b.add_argument("--scans", type=Path, default=Path(__file__).parent / "scans")
    p = sub.add_parser("pages", help="N random documents for benchmarks")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--truth", type=Path, help="ground-truth folder (default: OUT-truth)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--dpi", type=int, default=300)
    p.add_argument("--max-skew", type=float, default=15.0)
    p.add_argument("--rotations", action="store_true", help="also turn some pages 90/180/270")
    p.add_argument("--upright", action="store_true",
                   help="the same pages without their skew and turns (a ceiling for OCR)")
    p.add_argument("--format", default="jpg", choices=["jpg", "png", "tif", "tif-g4", "pdf"])
    p.add_argument("--types", default=",".join(TYPES[:5]),
                   help=f"comma-separated templates, from {', '.join(ALL_TEMPLATES)}")
    p.add_argument("--fonts", help="comma-separated, from "
                   f"{', '.join([*FAMILIES, *EXTRA_FAMILIES])} (default: the first five)")
    p.add_argument("--harsh", action="store_true", help="stronger blur, noise and specks")
    p.add_argument("--qr", action="append", metavar="TEMPLATE",
                   help="print a QR code on the first page carrying TEMPLATE formatted with the "
                        "document's fields, e.g. '{dossier_code}' (repeatable)")
    from samples import handwriting_pages  # pages with handwriting (samples/handwriting.py)

    handwriting_pages.add_arguments(sub)
    args = parser.parse_args(argv)
    if args.command.startswith("handwritten"):
        handwriting_pages.run(args)
    elif args.command == "committed":
        committed(args.out, args.truth, seed=args.seed)
    elif args.command == "bad":
        bad(args.out, args.scans)
    else:
        truth = args.truth or args.out.with_name(args.out.name + "-truth")
        written = pages(args.out, truth, seed=args.seed, count=args.count, dpi=args.dpi,
                        max_skew=args.max_skew, rotations=args.rotations, fmt=args.format,
                        types=args.types.split(","), upright=args.upright,
                        families=args.fonts.split(",") if args.fonts else None,
                        harsh=args.harsh, qr=args.qr)
        print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
