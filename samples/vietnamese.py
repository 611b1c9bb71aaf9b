"""Random but plausible Vietnamese civil-status data for the sample generator.

Everything here is synthetic: names are drawn from common surnames, middle and given names;
personal ID numbers follow the 12-digit structure (province, sex/century, year, serial);
dossier codes follow Circular 01/2018/TT-VPCP art. 19.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

SURNAMES = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Đoàn", "Lương",
]
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Xuân", "Thành", "Công", "Đình", "Bá"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Bích", "Thúy", "Hồng", "Diệu", "Mỹ"]
GIVEN_MALE = [
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Long", "Nam", "Quân", "Sơn",
    "Tuấn", "Việt", "Đạt", "Hiếu", "Khánh", "Lễ", "Phúc", "Thắng", "Trung", "Vĩnh",
]
GIVEN_FEMALE = [
    "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Phương", "Thảo", "Trang",
    "Yến", "Nga", "Ngân", "Oanh", "Quyên", "Tâm", "Vân", "Xuân", "Ánh", "Đào",
]
ETHNICITIES = ["Kinh"] * 8 + ["Tày", "Mường", "Thái", "Nùng"]

# (ward or commune, district) in Hà Nội
LOCALITIES = [
    ("Phường Hàng Bạc", "Quận Hoàn Kiếm"),
    ("Phường Tràng Tiền", "Quận Hoàn Kiếm"),
    ("Phường Láng Hạ", "Quận Đống Đa"),
    ("Phường Văn Miếu", "Quận Đống Đa"),
    ("Phường Kim Mã", "Quận Ba Đình"),
    ("Phường Ngọc Hà", "Quận Ba Đình"),
    ("Phường Bạch Đằng", "Quận Hai Bà Trưng"),
    ("Phường Yên Phụ", "Quận Tây Hồ"),
    ("Phường Dịch Vọng", "Quận Cầu Giấy"),
    ("Phường Thanh Xuân Bắc", "Quận Thanh Xuân"),
    ("Xã Uy Nỗ", "Huyện Đông Anh"),
    ("Xã Bát Tràng", "Huyện Gia Lâm"),
    ("Phường Phúc Đồng", "Quận Long Biên"),
    ("Xã Tả Thanh Oai", "Huyện Thanh Trì"),
]
# District sequence numbers used in the agency part of dossier codes.
DISTRICT_CODES = {d: f"{i + 1:02d}" for i, d in enumerate(sorted({d for _, d in LOCALITIES}))}
PROVINCES = ["Hà Nội", "Nam Định", "Thái Bình", "Hải Dương", "Nghệ An", "Thanh Hóa", "Bắc Ninh"]
HOSPITALS = [
    "Bệnh viện Phụ sản Hà Nội", "Bệnh viện Bạch Mai", "Bệnh viện Phụ sản Trung ương",
    "Trạm y tế", "Bệnh viện Đa khoa Đống Đa",
]
CAUSES_OF_DEATH = ["Bệnh già", "Suy tim", "Tai biến mạch máu não", "Ung thư phổi", "Viêm phổi"]
PROCEDURES = [
    "Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử",
    "Cấp bản sao trích lục hộ tịch", "Xác nhận tình trạng hôn nhân", "Cải chính hộ tịch",
]

DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
MONTHS = ["", "một", "hai", "ba", "tư", "năm", "sáu", "bảy", "tám", "chín", "mười",
          "mười một", "mười hai"]


@dataclass(frozen=True, slots=True)
class Person:
    name: str  # as written in title case, NFC
    sex: str  # "Nam" | "Nữ"
    born: dt.date
    ethnicity: str
    residence: str
    personal_id: str

    @property
    def upper(self) -> str:
        return self.name.upper()


def address(rng: random.Random) -> str:
    ward, district = rng.choice(LOCALITIES)
    return f"Số {rng.randint(1, 199)} phố {rng.choice(['Hàng Bông', 'Lý Thường Kiệt', 'Kim Mã', 'Tôn Đức Thắng', 'Nguyễn Trãi', 'Đội Cấn'])}, {ward}, {district}, Hà Nội"


def random_date(rng: random.Random, start: int, end: int) -> dt.date:
    first = dt.date(start, 1, 1).toordinal()
    last = dt.date(end, 12, 31).toordinal()
    return dt.date.fromordinal(rng.randint(first, last))


def personal_id(rng: random.Random, sex: str, born: dt.date) -> str:
    century = 0 if born.year < 2000 else 2
    digit = century + (1 if sex == "Nữ" else 0)
    return f"001{digit}{born.year % 100:02d}{rng.randint(0, 999999):06d}"


def person(rng: random.Random, *, sex: str | None = None, born_from: int = 1930,
           born_to: int = 2005, surname: str | None = None) -> Person:
    sex = sex or rng.choice(["Nam", "Nữ"])
    middle = MIDDLE_MALE if sex == "Nam" else MIDDLE_FEMALE
    given = GIVEN_MALE if sex == "Nam" else GIVEN_FEMALE
    name = f"{surname or rng.choice(SURNAMES)} {rng.choice(middle)} {rng.choice(given)}"
    born = random_date(rng, born_from, born_to)
    return Person(name, sex, born, rng.choice(ETHNICITIES), address(rng),
                  personal_id(rng, sex, born))


def dossier_code(rng: random.Random, district: str, received: dt.date) -> str:
    return (f"000.00.{DISTRICT_CODES[district]}.H26-{received:%y%m%d}-"
            f"{rng.randint(1, 350):04d}")


def number_words(n: int) -> str:
    """Vietnamese reading of 0 <= n < 10000, as written on civil-status forms."""
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return "mười" + ("" if n == 10 else " " + ("lăm" if n % 10 == 5 else DIGITS[n % 10]))
    if n < 100:
        tens, unit = divmod(n, 10)
        tail = {0: "", 1: " mốt", 4: " tư", 5: " lăm"}.get(unit, " " + DIGITS[unit])
        return f"{DIGITS[tens]} mươi{tail}"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        if rest == 0:
            return f"{DIGITS[hundreds]} trăm"
        if rest < 10:
            return f"{DIGITS[hundreds]} trăm lẻ {DIGITS[rest]}"
        return f"{DIGITS[hundreds]} trăm {number_words(rest)}"
    thousands, rest = divmod(n, 1000)
    head = f"{DIGITS[thousands]} nghìn"
    if rest == 0:
        return head
    if rest < 100:
        return f"{head} không trăm {number_words(rest) if rest >= 10 else 'lẻ ' + DIGITS[rest]}"
    return f"{head} {number_words(rest)}"


def date_words(d: dt.date) -> str:
    words = f"ngày {number_words(d.day)} tháng {MONTHS[d.month]} năm {number_words(d.year)}"
    return words[0].upper() + words[1:]


def date_long(d: dt.date) -> str:
    return f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"
