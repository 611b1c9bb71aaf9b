"""The page in a photograph: found as a bright quadrilateral on a darker surface, and flattened.

A phone photo of a letter shows the sheet as a four-sided shape, narrower at the far edge, on a
desk. Tesseract reads the tilted text lines of such a page poorly (bench/photos.py, condition
``warp``). The sheet is found on a copy about ``WORK_SIDE`` pixels long: Otsu's threshold of
the blurred grey image separates paper from the surface, a closing fills the text, and the
largest outline, simplified to four corners, is the page when it covers between
``MIN_AREA`` and ``MAX_AREA`` of the frame and is convex. Its corners are mapped onto a
rectangle whose sides are the quadrilateral's longer opposite edges. A scan (the page fills
the frame), a page with no clear edge, or any doubt leaves the image as it is.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK_SIDE = 800
MIN_AREA = 0.20  # of the frame
MAX_AREA = 0.90  # above this the page fills the frame: a scan, nothing to do
MIN_CONTRAST = 25  # grey levels between the paper and the surface around it
MAX_SIDE_RATIO = 1.6  # opposite sides differ by no more than this under a phone's tilt


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    pts = pts.reshape(4, 2).astype(np.float32)
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)],
                     pts[np.argmax(d)]], np.float32)


def find_page(image: np.ndarray) -> np.ndarray | None:
    """The page's four corners (top-left first, clockwise) in ``image``'s pixels, or None."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
        if scale < 1 else grey
    small = cv2.GaussianBlur(small, (5, 5), 0)
    level, mask = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    paper, surface = small[mask > 0], small[mask == 0]
    if paper.size == 0 or surface.size == 0 or \
            float(np.median(paper)) - float(np.median(surface)) < MIN_CONTRAST:
        return None
    k = max(3, (min(small.shape) // 40) | 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(outline) / (small.shape[0] * small.shape[1])
    if not MIN_AREA <= area <= MAX_AREA:
        return None
    hull = cv2.convexHull(outline)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(quad) != 4 or not cv2.isContourConvex(quad):
        return None
    if cv2.contourArea(quad) < 0.9 * cv2.contourArea(hull):
        return None  # four corners that do not hold the whole shape: not a sheet
    corners = order_corners(quad)
    top, bottom = np.linalg.norm(corners[1] - corners[0]), np.linalg.norm(corners[2] - corners[3])
    left, right = np.linalg.norm(corners[3] - corners[0]), np.linalg.norm(corners[2] - corners[1])
    if max(top, bottom) > MAX_SIDE_RATIO * min(top, bottom) or \
            max(left, right) > MAX_SIDE_RATIO * min(left, right):
        return None
    return corners / scale


def flatten_page(image: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, bool]:
    """(the page cut out of a photo and made rectangular, ``scale`` times the size it has in
    the photo, True), or (image, False)."""
    corners = find_page(image)
    if corners is None:
        return image, False
    tl, tr, br, bl = corners
    width = int(round(scale * max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(scale * max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                      np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    flat = cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
    return flat, True
