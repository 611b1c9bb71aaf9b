import random

import numpy as np
import pytest

from ocr.deskew import estimate_skew, rotate, straighten
from samples import generate


def _page(angle: float, *, quarter: int = 0, seed: int = 3) -> np.ndarray:
    rng = random.Random(seed)
    deg = generate.Degradation(skew=angle, rotation=quarter, noise=5, stamp=True)
    doc = generate.make_document(rng, "birth_certificate", dpi=200, degradations=[deg],
                                 family="liberation-serif")
    return doc.images[0]


@pytest.mark.parametrize("angle", [-14.6, -7.25, -2.0, -0.35, 0.0, 0.4, 1.15, 6.8, 12.3])
def test_skew_is_found_to_a_tenth_of_a_degree(angle):
    est = estimate_skew(_page(angle))
    assert abs(est.angle - angle) < 0.1, est
    assert est.confidence > 0.3


@pytest.mark.parametrize("quarter", [90, 180, 270])
def test_skew_is_found_on_quarter_turned_pages(quarter):
    est = estimate_skew(_page(3.5, quarter=quarter))
    assert abs(est.angle - 3.5) < 0.1, est


def test_blank_page_reports_no_skew_and_no_confidence():
    blank = np.full((1200, 900), 240, np.uint8)
    est = estimate_skew(blank)
    assert est.angle == 0.0 and est.confidence == 0.0
    out = straighten(blank)
    assert out.angle == 0.0 and out.image is blank


def test_straighten_removes_the_skew():
    page = _page(5.0)
    out = straighten(page)
    assert abs(out.angle - 5.0) < 0.1
    assert abs(estimate_skew(out.image).angle) < 0.1


def test_rotate_keeps_every_pixel():
    img = np.zeros((100, 200), np.uint8)
    out = rotate(img, 30, fill=255)
    assert out.shape[0] > 100 and out.shape[1] > 200
    assert (out == 0).sum() >= 0.97 * img.size  # the content is all still there
