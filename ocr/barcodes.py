"""QR codes and 1D barcodes on scanned pages, and the dossier codes they carry.

Receipts of the one-stop shop (Giấy tiếp nhận hồ sơ và hẹn trả kết quả) print the dossier code
as a QR code, alone or inside a look-up URL. Reading it is exact where OCR of the printed code
is not, so the pipeline prefers it.

Cost matters: this runs on every page and almost none carry a code. The page is searched on a
working copy whose long side is ``WORK_SIDE`` pixels (on A4 a module of 0.5 mm is then still
2.7 px, which OpenCV's ArUco-based QR detector finds); square patches of QR-like ink density
are added as candidates for codes too fine for it. Only the candidates are decoded, each from
a crop of the full-resolution page. A page without a code costs one resize, one detection and
one density map on the small copy (about 20 ms on A4 at 300 dpi, see bench/barcodes.py).
1D barcodes are looked for on the same copy with OpenCV's barcode detector, which decodes
EAN-8, EAN-13, UPC-A and UPC-E only: Code 128 and Code 39 are found but not read.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

WORK_SIDE = 1600  # pixels along the long side of the copy searched for codes
MIN_SIDE = 21  # a QR code is at least 21 modules across: anything smaller holds none
CROP_MARGIN = 0.3  # around a found code, as a fraction of its size (quiet zone, skew, error)
SMALL_MODULE_PX = 6.0  # large codes are first decoded from a copy this fine (see below)
SMALL_CODE_PX = 240  # a code smaller than this (full resolution) is also tried enlarged
# The fallback search for QR codes too fine for the detector on the working copy: windows and
# sides as fractions of the page's long side (on A4: 3 mm window, codes of 3.5-80 mm).
DENSE_WINDOW = 0.01
DENSE_INK = (0.38, 0.80)  # a QR code's data region is about half ink
DENSE_SIDE = (0.012, 0.27)
DENSE_FILL = 0.7  # of the fitted rectangle: a QR code is a filled square, a seal a ring
MAX_DENSE = 4

# Circular 01/2018/TT-VPCP art. 19: V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX. Stricter than the OCR
# pattern in pipeline/classify.py (which allows the spaces OCR inserts): a decoded payload is
# exact. Defined here because ocr/ never imports pipeline/.
DOSSIER_CODE = re.compile(
    r"(?<![0-9A-Za-z])([0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Za-z][0-9]{2})-([0-9]{6})-([0-9]{4})"
    r"(?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class Code:
    kind: str  # "qr", or the 1D symbology in lower case: "ean13", "ean8", "upca", "upce"
    text: str  # the payload, UTF-8 decoded (Latin-1 when it is not UTF-8), NFC
    box: tuple[int, int, int, int]  # x, y, width, height in the given image's pixels


def read_codes(image: np.ndarray) -> list[Code]:
    """Every QR code and EAN/UPC barcode that decodes on the page, in reading order (top to
    bottom, then left to right). Grey, BGR/RGB, BGRA, 1-bit (bool) or 16-bit pages; any
    rotation. Never raises on odd input: what is not an image, or holds no decodable code,
    gives []."""
    gray = _gray(image)
    if gray is None:
        return []
    try:
        work, scale = _work_copy(gray)
        codes = _qr_codes(gray, work, scale) + _barcodes(work, scale)
    except cv2.error as exc:  # OpenCV asserts on some inputs: no code is an answer, not a crash
        log.warning("code detection failed on a %dx%d page: %s", gray.shape[1], gray.shape[0],
                    exc)
        return []
    return _reading_order([_clipped(c, gray.shape) for c in codes])


def dossier_codes_in(codes: list[Code]) -> list[str]:
    """The dossier codes carried by the payloads, in order, each once: a payload may be the
    code alone, a URL or ``key=value`` text containing it. A code with an impossible date
    (YYMMDD) is not one. The agency letter is upper-cased."""
    found: list[str] = []
    for code in codes:
        for m in DOSSIER_CODE.finditer(code.text):
            agency, date, seq = m.groups()
            try:
                dt.datetime.strptime(date, "%y%m%d")
            except ValueError:
                continue
            value = f"{agency[:-3]}{agency[-3:].upper()}-{date}-{seq}"
            if value not in found:
                found.append(value)
    return found


# --------------------------------------------------------------------------------------------

def _gray(image: object) -> np.ndarray | None:
    """A contiguous uint8 grey image, or None when there is no image to look at."""
    try:
        a = np.asarray(image)
    except Exception:  # noqa: BLE001 - anything that is not an array is no page
        return None
    if a.ndim == 3:
        if not 1 <= a.shape[2] <= 4:
            return None
        a = a[:, :, :3] if a.shape[2] >= 3 else a[:, :, 0]  # drop alpha; grey+alpha: grey
    if a.ndim not in (2, 3) or min(a.shape[:2]) < MIN_SIDE:
        return None
    if a.dtype == np.bool_:
        # True is white in a 1-bit image read from PIL, ink in a thresholded mask: paper is
        # the larger part of a page either way.
        paper = a.mean() >= 0.5
        a = (a == paper).astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            return None
        f = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        lo = float(f.min())
        span = float(f.max()) - lo
        if span <= 0:
            return None
        if a.ndim == 3:
            f = f.mean(axis=2)
        return np.ascontiguousarray(((f - lo) * (255.0 / span)).astype(np.uint8))
    if a.ndim == 3:
        a = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(a)


def _work_copy(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The page with its long side at most WORK_SIDE, and the scale factor. An integer-factor
    area reduction (OpenCV has a fast path for it: 0.3 ms on an A4 page, where an arbitrary
    factor costs 16 ms) averages the noise; a bilinear resize finishes the job."""
    long = max(gray.shape)
    if long <= WORK_SIDE:
        return gray, 1.0
    factor = long // WORK_SIDE
    work = gray
    if factor >= 2:
        work = cv2.resize(gray, None, fx=1 / factor, fy=1 / factor,
                          interpolation=cv2.INTER_AREA)
    scale = WORK_SIDE / long
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    if work.shape[::-1] != size:
        work = cv2.resize(work, size, interpolation=cv2.INTER_LINEAR)
    return work, scale


def _text(payload: bytes | str) -> str:
    if isinstance(payload, str):
        return unicodedata.normalize("NFC", payload)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("latin-1")  # the QR standard's default byte encoding
    return unicodedata.normalize("NFC", text)


def _box(points: np.ndarray, dx: float = 0.0, dy: float = 0.0,
         scale: float = 1.0) -> tuple[int, int, int, int]:
    pts = np.asarray(points, np.float32).reshape(-1, 2) / scale + (dx, dy)
    x0, y0 = np.floor(pts.min(axis=0))
    x1, y1 = np.ceil(pts.max(axis=0))
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _qr_codes(gray: np.ndarray, work: np.ndarray, scale: float) -> list[Code]:
    found, quads = cv2.QRCodeDetectorAruco().detectMulti(work)
    places = list(np.asarray(quads, np.float32).reshape(-1, 4, 2)) if found else []
    codes: list[Code] = []
    for quad in places + _dense_squares(work):
        quad = quad / scale
        if any(_inside(quad, c.box) for c in codes):
            continue
        for code in _decode_qr_at(gray, quad):
            if not any(_same(code, c) for c in codes):
                codes.append(code)
    return codes


def _dense_squares(work: np.ndarray) -> list[np.ndarray]:
    """Square patches of about half ink, the texture of a QR code's data region: where the
    detector misses a code whose modules are too small on the working copy (under ~2 px,
    0.4 mm on A4), its full-resolution crop is tried. Text, even bold, is sparser; seals are
    rings; photos and black borders are denser or too large. At most MAX_DENSE, fullest
    first; corners in working-copy pixels."""
    long = max(work.shape)
    _, ink = cv2.threshold(work, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    half = cv2.resize(ink, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    k = max(3, round(long * DENSE_WINDOW / 2) | 1)
    density = cv2.blur(half, (k, k))
    mask = cv2.inRange(density, round(255 * DENSE_INK[0]), round(255 * DENSE_INK[1]))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    lo, hi = long * DENSE_SIDE[0] / 2, long * DENSE_SIDE[1] / 2
    found = []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if min(w, h) < lo or max(w, h) > hi * 1.5 or area < 0.35 * w * h:
            continue
        blob = (labels[y:y + h, x:x + w] == i).astype(np.uint8)
        contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(max(contours, key=cv2.contourArea))
        if min(rw, rh) < lo or max(rw, rh) > hi or min(rw, rh) < 0.7 * max(rw, rh):
            continue
        fill = area / max(rw * rh, 1.0)
        if fill >= DENSE_FILL:
            corners = cv2.boxPoints(((cx + x, cy + y), (rw, rh), angle)) * 2
            found.append((fill, corners.astype(np.float32)))
    found.sort(key=lambda f: -f[0])
    return [corners for _, corners in found[:MAX_DENSE]]


def _inside(quad: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Is the centre of ``quad`` within a code already decoded?"""
    cx, cy = quad.mean(axis=0)
    x, y, w, h = box
    return x <= cx <= x + w and y <= cy <= y + h


def _decode_qr_at(gray: np.ndarray, quad: np.ndarray) -> list[Code]:
    """Decode the QR code found at ``quad`` (full-resolution corners) from a crop around it."""
    h, w = gray.shape
    (x0, y0), (x1, y1) = quad.min(axis=0), quad.max(axis=0)
    side = max(x1 - x0, y1 - y0, 1.0)
    pad = side * CROP_MARGIN + 8
    cx0, cy0 = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    cx1, cy1 = min(w, int(x1 + pad) + 1), min(h, int(y1 + pad) + 1)
    crop = gray[cy0:cy1, cx0:cx1]
    if min(crop.shape) < MIN_SIDE:
        return []
    attempts = [(crop, 1.0, cv2.QRCodeDetectorAruco), (crop, 1.0, cv2.QRCodeDetector)]
    # Large modules only slow decoding down: first try a copy reduced so that a version-10
    # symbol (57 modules, a long URL) keeps SMALL_MODULE_PX pixels a module.
    shrink = SMALL_MODULE_PX * 57 / side
    if shrink < 0.8:
        small = cv2.resize(crop, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        attempts.insert(0, (small, shrink, cv2.QRCodeDetectorAruco))
    elif side < SMALL_CODE_PX:  # modules of 2-3 px decode once enlarged
        large = cv2.resize(crop, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
        attempts.append((large, 2.0, cv2.QRCodeDetectorAruco))
    for image, factor, detector in attempts:
        ok, payloads, points, _ = detector().detectAndDecodeBytesMulti(image)
        if not ok or points is None:
            continue
        codes = [Code("qr", _text(p), _box(pt, cx0, cy0, factor))
                 for p, pt in zip(payloads, points, strict=False) if p]
        if codes:
            return codes
    return []


def _clipped(code: Code, shape: tuple[int, ...]) -> Code:
    x, y, w, h = code.box
    x0, y0 = min(max(x, 0), shape[1]), min(max(y, 0), shape[0])
    x1, y1 = min(max(x + w, 0), shape[1]), min(max(y + h, 0), shape[0])
    return Code(code.kind, code.text, (x0, y0, x1 - x0, y1 - y0))


def _reading_order(codes: list[Code]) -> list[Code]:
    """Top to bottom; codes whose boxes share rows (side by side, even on a skewed page)
    left to right."""
    rows: list[list[Code]] = []
    for code in sorted(codes, key=lambda c: c.box[1]):
        last = rows[-1] if rows else None
        if last and code.box[1] < max(c.box[1] + c.box[3] for c in last) - code.box[3] / 2:
            last.append(code)
        else:
            rows.append([code])
    return [code for row in rows for code in sorted(row, key=lambda c: c.box[0])]


def _same(a: Code, b: Code) -> bool:
    """The same symbol found twice: same payload, boxes overlapping."""
    if a.text != b.text or a.kind != b.kind:
        return False
    ax, ay, aw, ah = a.box
    bx, by, bw, bh = b.box
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


_SYMBOLOGY = {"EAN_13": "ean13", "EAN_8": "ean8", "UPC_A": "upca", "UPC_E": "upce"}


def _barcodes(work: np.ndarray, scale: float) -> list[Code]:
    ok, texts, kinds, points = cv2.barcode.BarcodeDetector().detectAndDecodeWithType(work)
    if not ok or points is None:
        return []
    return [Code(_SYMBOLOGY.get(kind, kind.lower()), _text(text), _box(pt, scale=scale))
            for text, kind, pt in zip(texts, kinds, points, strict=False) if text]
