"""The page in a photograph (ocr/geometry.py) and the letters' size (ocr/resolution.py), on
pages drawn here with OpenCV: a sheet of text seen in perspective on a darker desk."""

import cv2
import numpy as np

from ocr.geometry import find_page, flatten_page
from ocr.resolution import effective_dpi, enlargement, letter_height


def _sheet(scale: float = 1.0) -> np.ndarray:
    h, w = int(1400 * scale), int(1000 * scale)
    sheet = np.full((h, w), 235, np.uint8)
    for k in range(25):
        cv2.putText(sheet, "Ho va ten NGUYEN VAN AN 12/03/1987", (int(60 * scale),
                    int((100 + 50 * k) * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.9 * scale, 20,
                    max(1, int(2 * scale)), cv2.LINE_AA)
    return sheet


CORNERS = np.float32([[260, 140], [1290, 210], [1340, 1660], [180, 1610]])


def _photo() -> np.ndarray:
    sheet = _sheet()
    desk = np.full((1800, 1500), 90, np.uint8)
    src = np.float32([[0, 0], [999, 0], [999, 1399], [0, 1399]])
    m = cv2.getPerspectiveTransform(src, CORNERS)
    warped = cv2.warpPerspective(sheet, m, (1500, 1800), borderValue=0)
    mask = cv2.warpPerspective(np.full_like(sheet, 255), m, (1500, 1800))
    return np.where(mask > 0, warped, desk).astype(np.uint8)


def test_the_sheet_is_found_at_its_corners():
    corners = find_page(_photo())
    assert corners is not None
    assert np.abs(corners - CORNERS).max() < 25


def test_flattening_gives_an_upright_rectangle_of_the_sheet():
    flat, done = flatten_page(_photo())
    assert done
    h, w = flat.shape
    assert abs(h / w - 1.4) < 0.15  # the longer opposite sides: near, not exact, under tilt
    # the text lines run level again: the first line's ink sits in one band of rows
    inked = np.flatnonzero((flat[: h // 10] < 128).sum(axis=1) > 5)
    assert inked.size
    first = inked[: np.argmax(np.diff(inked) > 1) + 1] if (np.diff(inked) > 1).any() else inked
    assert first.max() - first.min() < h * 0.025  # a tilted line would span more rows


def test_a_scan_is_left_alone():
    scan = _sheet()
    assert find_page(scan) is None
    out, done = flatten_page(scan)
    assert not done and out is scan


def test_letter_height_follows_the_resolution():
    big, small = letter_height(_sheet(1.0)), letter_height(_sheet(0.4))
    assert big and small
    assert abs(small / big - 0.4) < 0.1
    assert effective_dpi(_sheet(1.0)) != effective_dpi(_sheet(0.4))


def test_only_small_letters_are_enlarged():
    assert enlargement(None) == 1.0
    assert enlargement(30.0) == 1.0
    assert enlargement(11.0) == 2.0
    assert enlargement(4.0) == 3.0  # never more than three times
