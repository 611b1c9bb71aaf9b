import random
from dataclasses import replace
from functools import cache

import cv2
import numpy as np
import pytest

from ocr.barcodes import Code, dossier_codes_in, read_codes
from samples import generate

URL = "https://dichvucong.gov.vn/tra-cuu?ma={dossier_code}"


@cache
def _receipt(seed: int, qr: tuple[str, ...] | None, *, skew: float = 0.0, dpi: int = 300,
             color: bool = False, quality: int = 70, doc_type: str = "dossier_receipt",
             module_mm: float = generate.QR_MODULE_MM):
    """A generated page with QR codes printed before the usual degradation (skew, blur, noise,
    specks, uneven light, paper tone), then JPEG-compressed: (image, page truth, fields)."""
    rng = random.Random(seed)
    base = generate.random_degradation(rng, max_skew=0, rotations=False, color=color)
    deg = replace(base, skew=skew)
    doc = generate.make_document(rng, doc_type, dpi=dpi, degradations=[deg],
                                 qr=list(qr) if qr else None, qr_module_mm=module_mm)
    ok, buf = cv2.imencode(".jpg", doc.images[0], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    image.flags.writeable = False  # shared between tests through the cache
    return image, doc.truth["pages"][0], doc.truth["fields"]


def _centre_after_skew(box: list[int], page: dict) -> tuple[float, float]:
    """Where the centre of a box of the upright page lands on the skewed scan (as
    samples/generate.py tilts a page: about its centre, onto a canvas that keeps all of it)."""
    w, h, angle = page["width"], page["height"], page["skew_angle"]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    m[0, 2] += int(h * sin + w * cos + 0.5) / 2 - w / 2
    m[1, 2] += int(h * cos + w * sin + 0.5) / 2 - h / 2
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return tuple(m @ np.array([x, y, 1.0]))


@pytest.mark.parametrize(("seed", "skew", "color"), [(11, 2.7, False), (12, -3.0, True),
                                                     (13, 0.0, False)])
def test_the_dossier_code_is_read_from_a_qr_on_a_degraded_receipt(seed, skew, color):
    image, page, fields = _receipt(seed, ("{dossier_code}",), skew=skew, color=color)
    codes = read_codes(image)
    assert [c.text for c in codes] == [fields["dossier_code"]]
    assert dossier_codes_in(codes) == [fields["dossier_code"]]
    code, printed = codes[0], page["codes"][0]
    assert code.kind == "qr"
    # The box is in the given image's pixels, around the printed symbol.
    size = printed["box"][2] - printed["box"][0]
    x, y, w, h = code.box
    assert size * 0.9 < w < size * 1.15 and size * 0.9 < h < size * 1.15, (code.box, size)
    cx, cy = _centre_after_skew(printed["box"], page)
    assert abs(x + w / 2 - cx) < 8 and abs(y + h / 2 - cy) < 8, (code.box, (cx, cy))


def test_two_qr_codes_on_one_page_are_both_read_left_to_right():
    image, page, fields = _receipt(21, ("{dossier_code}", URL + "&lang=vi"), skew=-1.8)
    codes = read_codes(image)
    assert [c.text for c in codes] == [p["text"] for p in page["codes"]]
    assert codes[0].box[0] < codes[1].box[0]
    # Both carry the same dossier code: it is reported once.
    assert dossier_codes_in(codes) == [fields["dossier_code"]]


def test_the_code_is_found_inside_a_url():
    image, _page, fields = _receipt(31, (URL,), skew=1.2, dpi=200)
    codes = read_codes(image)
    assert [c.text for c in codes] == [URL.format(**fields)]
    assert dossier_codes_in(codes) == [fields["dossier_code"]]


def test_a_vietnamese_payload_comes_back_as_nfc_text():
    text = "Mã hồ sơ: {dossier_code}; Người nộp: Nguyễn Thị Ánh; Thủ tục: Đăng ký khai sinh"
    image, _page, fields = _receipt(41, (text,), skew=-2.2, dpi=200)
    codes = read_codes(image)
    assert [c.text for c in codes] == [text.format(**fields)]
    assert dossier_codes_in(codes) == [fields["dossier_code"]]


def test_a_decomposed_payload_is_normalised_to_nfc():
    import unicodedata

    text = unicodedata.normalize("NFD", "Nguyễn Thị Ánh 000.00.01.H26-230313-0042")
    matrix = cv2.QRCodeEncoder.create().encode(text)
    patch = np.kron(np.pad(matrix, 4, constant_values=255), np.ones((6, 6), np.uint8))
    image, _page, _fields = _receipt(42, None, dpi=200)
    page = _print_and_rescan(image, patch, (200, 1800), tilt=-1.0, seed=42)
    assert [c.text for c in read_codes(page)] == [unicodedata.normalize("NFC", text)]


@pytest.mark.parametrize("doc_type", ["dossier_receipt", "birth_certificate",
                                      "civil_status_register"])
def test_a_page_without_any_code_gives_nothing(doc_type):
    # The printed (OCR-able) dossier code, the red seal, the signature, ruled registers: none
    # of them is a code.
    image, _page, _fields = _receipt(51, None, skew=2.4, doc_type=doc_type)
    assert read_codes(image) == []


@pytest.mark.parametrize("payload", [
    "000.00.01.H26-231345-0042",  # month 13, day 45
    "000.00.01.H26-230313",  # no sequence number
    "00.00.01.H26-230313-0042",  # agency part too short
    "https://dichvucong.gov.vn/tra-cuu?ma=000.00.01.H26-230230-0042",  # 30 February
])
def test_a_malformed_code_is_read_but_not_taken_for_a_dossier_code(payload):
    image, _page, _fields = _receipt(61, (payload,), skew=1.5, dpi=200)
    codes = read_codes(image)
    assert [c.text for c in codes] == [payload]
    assert dossier_codes_in(codes) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("000.00.01.H26-230313-0042", ["000.00.01.H26-230313-0042"]),
    ("https://dichvucong.gov.vn/tra-cuu?ma=000.00.01.H26-230313-0042&x=1",
     ["000.00.01.H26-230313-0042"]),
    ("ma_ho_so=000.00.01.h26-230313-0042;cccd=001203004455", ["000.00.01.H26-230313-0042"]),
    ("KQ: 000.00.01.H26-230313-0042-KQ1", ["000.00.01.H26-230313-0042"]),
    ("a=000.00.01.H26-230313-0042 b=000.00.07.H26-200229-0300",
     ["000.00.01.H26-230313-0042", "000.00.07.H26-200229-0300"]),
    ("1000.00.01.H26-230313-0042", []),  # part of a longer number
    ("000.00.01.H26-230313-00420", []),
    ("000.00.01.H26-210229-0042", []),  # 2021 was not a leap year
    ("000.00.01.26H-230313-0042", []),
    ("000.00.01.H26 - 230313 - 0042", []),  # OCR spacing: a decoded payload is exact
    ("", []),
])
def test_dossier_codes_in_payloads(text, expected):
    assert dossier_codes_in([Code("qr", text, (0, 0, 10, 10))]) == expected


def test_dossier_codes_agree_with_the_ocr_field_extractor():
    from pipeline.classify import dossier_code

    for text in ["000.00.01.H26-230313-0042", "x?ma=000.00.14.H26-191231-0001",
                 "000.00.01.H26-231301-0042", "000.00.01.H26-230313-004"]:
        found = dossier_codes_in([Code("qr", text, (0, 0, 1, 1))])
        assert found[:1] == ([dossier_code(text)] if dossier_code(text) else []), text


def _qr_page(dpi: int = 200) -> tuple[np.ndarray, str]:
    image, _page, fields = _receipt(71, ("{dossier_code}",), skew=0.8, dpi=dpi)
    return image, fields["dossier_code"]


@pytest.mark.parametrize("convert", [
    pytest.param(lambda g: g >= 140, id="bool-1-bit-image"),  # PIL mode "1": True is white
    pytest.param(lambda g: g < 140, id="bool-ink-mask"),
    pytest.param(lambda g: g.astype(np.uint16) * 257, id="uint16"),
    pytest.param(lambda g: (g.astype(np.uint16) * 16) + 100, id="uint16-12bit-offset"),
    pytest.param(lambda g: g.astype(np.float32) / 255, id="float"),
    pytest.param(lambda g: cv2.cvtColor(g, cv2.COLOR_GRAY2BGR), id="bgr"),
    pytest.param(lambda g: cv2.cvtColor(g, cv2.COLOR_GRAY2BGRA), id="bgra"),
    pytest.param(lambda g: g[:, :, None], id="one-channel"),
    pytest.param(lambda g: g[:, ::-1][:, ::-1], id="negative-strides"),
    pytest.param(lambda g: np.rot90(g), id="quarter-turn"),
    pytest.param(lambda g: np.rot90(g, 2), id="upside-down"),
])
def test_any_image_layout_is_read(convert):
    gray, code = _qr_page()
    assert dossier_codes_in(read_codes(convert(gray))) == [code]


@pytest.mark.parametrize("image", [
    pytest.param(np.zeros((0, 0), np.uint8), id="0x0"),
    pytest.param(np.zeros((1, 1), np.uint8), id="1x1"),
    pytest.param(np.zeros((3000, 0), np.uint8), id="3000x0"),
    pytest.param(np.ones((800, 600), bool), id="bool-blank"),
    pytest.param(np.zeros((800, 600), bool), id="bool-black"),
    pytest.param(np.full((800, 600, 3), 230, np.uint8), id="bgr-blank"),
    pytest.param(np.full((800, 600), 40000, np.uint16), id="uint16-flat"),
    pytest.param(np.random.default_rng(0).integers(0, 65535, (900, 700), dtype=np.uint16),
                 id="uint16-noise"),
    pytest.param(np.full((500, 500), np.nan, np.float32), id="float-nan"),
    pytest.param(np.zeros((50, 50, 5), np.uint8), id="5-channels"),
    pytest.param(np.zeros((4, 50, 50, 3), np.uint8), id="4-d"),
    pytest.param(np.zeros(100, np.uint8), id="1-d"),
    pytest.param(np.array("page"), id="string"),
    pytest.param(None, id="none"),
    pytest.param(np.zeros((30, 30000), np.uint8), id="a-sliver"),
])
def test_degenerate_input_gives_nothing_and_never_raises(image):
    assert read_codes(image) == []


def test_a_qr_drawn_by_the_generator_has_whole_modules_and_a_quiet_zone():
    patch = np.asarray(generate.qr_patch("000.00.01.H26-230313-0042", module_px=5))
    side = patch.shape[0]
    assert patch.shape == (side, side) and side % 5 == 0
    assert (side // 5 - 8 - 17) % 4 == 0  # a QR code is 17 + 4 × version modules across
    for edge in (patch[:20], patch[-20:], patch[:, :20], patch[:, -20:]):
        assert (edge == 255).all()  # four white modules all round
    assert (patch[20:55, 20:25] == 0).all()  # then the finder pattern's black ring


def test_printing_a_qr_leaves_the_rest_of_the_page_as_it_was():
    """What keeps the committed samples byte-identical: the QR option draws no random
    numbers, so everything outside the symbol is the very same page."""
    deg = generate.Degradation(skew=0.0, blur=0.6, noise=6.0, specks=0.0003)
    plain = generate.make_document(random.Random(5), "dossier_receipt", dpi=150,
                                   degradations=[deg]).images[0]
    marked = generate.make_document(random.Random(5), "dossier_receipt", dpi=150,
                                    degradations=[deg], qr=["{dossier_code}"])
    x0, y0, x1, y1 = marked.truth["pages"][0]["codes"][0]["box"]
    differ = np.argwhere(np.any(np.atleast_3d(plain != marked.images[0]), axis=2))
    assert len(differ) > 0
    quiet, blur = 4 * 3, 4  # module 3 px at 150 dpi; the blur spreads a few pixels
    assert differ[:, 0].min() >= y0 - quiet - blur and differ[:, 0].max() <= y1 + quiet + blur
    assert differ[:, 1].min() >= x0 - quiet - blur and differ[:, 1].max() <= x1 + quiet + blur
    assert "codes" not in generate.make_document(
        random.Random(5), "dossier_receipt", dpi=100, degradations=[deg]).truth["pages"][0]


def _print_and_rescan(image: np.ndarray, patch: np.ndarray, xy: tuple[int, int], *,
                      tilt: float, seed: int) -> np.ndarray:
    """Print a patch onto a generated page and scan it again: tilt, blur, noise, JPEG."""
    page = image.copy()
    x, y = xy
    page[y:y + patch.shape[0], x:x + patch.shape[1]] = np.minimum(
        page[y:y + patch.shape[0], x:x + patch.shape[1]], patch)
    turn = cv2.getRotationMatrix2D((page.shape[1] / 2, page.shape[0] / 2), tilt, 1.0)
    page = cv2.warpAffine(page, turn, page.shape[::-1], flags=cv2.INTER_CUBIC, borderValue=220)
    page = cv2.GaussianBlur(page, (0, 0), 0.6)
    noise = np.random.default_rng(seed).normal(0, 5, page.shape)
    page = np.clip(page + noise, 0, 255).astype(np.uint8)
    return cv2.imdecode(cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, 70])[1], 0)


@pytest.mark.parametrize(("seed", "payload"), [(91, URL), (92, "{dossier_code}")])
def test_a_qr_code_too_fine_for_the_reduced_page_is_still_read(seed, payload):
    """Modules of 3 px (0.25 mm at 300 dpi) are 1.3 px on the reduced copy the detector
    searches: the ink-density fallback must find the place to decode at full resolution."""
    image, page, fields = _receipt(seed, (payload,), skew=1.7, module_mm=0.25)
    codes = read_codes(image)
    assert [c.text for c in codes] == [payload.format(**fields)]
    cx, cy = _centre_after_skew(page["codes"][0]["box"], page)
    x, y, w, h = codes[0].box
    assert abs(x + w / 2 - cx) < 8 and abs(y + h / 2 - cy) < 8, (codes[0].box, (cx, cy))


# EAN-13, drawn by hand (OpenCV's barcode reader decodes the EAN/UPC family only).
_L = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011",
      "0110111", "0001011"]
_R = ["".join("1" if b == "0" else "0" for b in p) for p in _L]
_G = [p[::-1] for p in _R]
_PARITY = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG",
           "LGLGGL", "LGGLGL"]


def _ean13(digits12: str, module: int, height: int) -> tuple[str, np.ndarray]:
    d = [int(c) for c in digits12]
    d.append((10 - sum(v * (3 if i % 2 else 1) for i, v in enumerate(d)) % 10) % 10)
    left = "".join((_L if p == "L" else _G)[v] for p, v in zip(_PARITY[d[0]], d[1:7],
                                                               strict=True))
    bits = "101" + left + "01010" + "".join(_R[v] for v in d[7:]) + "101"
    row = np.array([0 if b == "1" else 255 for b in "0" * 11 + bits + "0" * 11], np.uint8)
    return "".join(map(str, d)), np.repeat(np.tile(row, (height, 1)), module, axis=1)


def test_an_ean13_barcode_is_read():
    image, _page, _fields = _receipt(81, None)
    number, bars = _ean13("893604567890", module=4, height=220)
    page = _print_and_rescan(image, bars, (1600, 3000), tilt=2.0, seed=81)
    codes = read_codes(page)
    assert [(c.kind, c.text) for c in codes] == [("ean13", number)]
    assert dossier_codes_in(codes) == []
