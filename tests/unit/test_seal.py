"""Grey seals found by their ring and dropped where lighter than the text (ocr/seal.py).
The pages are drawn here with OpenCV (not by samples/generate.py): lines of black text, and a
seal of two rings and a star in the grey a red seal takes in a grey scan."""

import cv2
import numpy as np

from ocr.seal import find_seals, grey_seal_dropout, seal_dropout

PX_PER_MM = 300 / 25.4


def _page(seal_grey: int | None, *, radius_mm: float = 19.0) -> np.ndarray:
    page = np.full((int(297 * PX_PER_MM), int(210 * PX_PER_MM)), 225, np.uint8)
    for k in range(30):
        cv2.putText(page, "NGUOI KY TRICH LUC 02/2002 Ho va ten", (150, 300 + 90 * k),
                    cv2.FONT_HERSHEY_SIMPLEX, 2.0, 20, 5, cv2.LINE_AA)
    if seal_grey is not None:
        c, r = (1700, 2300), int(radius_mm * PX_PER_MM)
        cv2.circle(page, c, r, seal_grey, 6, cv2.LINE_AA)
        cv2.circle(page, c, int(r * 0.85), seal_grey, 4, cv2.LINE_AA)
        star = np.array([(c[0] + r * 0.3 * np.cos(np.pi / 2 + k * 4 * np.pi / 5),
                          c[1] - r * 0.3 * np.sin(np.pi / 2 + k * 4 * np.pi / 5))
                         for k in range(5)], np.int32)
        cv2.fillPoly(page, [star], seal_grey)
    return page


def test_a_grey_seal_is_found_at_its_outer_ring():
    seals = find_seals(_page(110))
    assert len(seals) == 1
    x, y, r = seals[0]
    assert abs(x - 1700) < 15 and abs(y - 2300) < 15
    assert abs(r - 19 * PX_PER_MM) < 0.05 * 19 * PX_PER_MM


def test_text_alone_has_no_seal_and_is_left_as_it_is():
    page = _page(None)
    assert find_seals(page) == []
    assert grey_seal_dropout(page) is page


def test_the_seal_becomes_paper_and_the_text_stays():
    page, plain = _page(110), _page(None)
    out = grey_seal_dropout(page)
    seal_ink = (page != plain) & (plain == 225)  # the seal where it is not over text
    text_ink = page < 60
    assert seal_ink.sum() > 10_000
    assert (out[seal_ink] == 255).mean() > 0.95  # the seal's grey is gone
    assert (out[text_ink] == page[text_ink]).all()  # every dark text pixel untouched
    x, y, r = 1700, 2300, int(19 * PX_PER_MM)
    far = np.ones_like(page, bool)
    far[y - r - 40:y + r + 40, x - r - 40:x + r + 40] = False
    assert (out[far] == page[far]).all()  # nothing changes outside the seal


def test_a_seal_as_dark_as_the_text_is_left_alone():
    page = _page(25)
    assert (grey_seal_dropout(page) == page).all()


def test_colour_pages_keep_red_dropout():
    colour = np.dstack([np.full((50, 50), v, np.uint8) for v in (200, 30, 40)])
    assert (seal_dropout(colour) == 200).all()  # red ink: the red channel is paper
