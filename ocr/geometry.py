"""The page in a photograph: found as a bright quadrilateral on a darker surface, and flattened.

A phone photo of a letter shows the sheet as a four-sided shape, narrower at the far edge, on a
desk. Tesseract reads the tilted text lines of such a page poorly (bench/photos.py, condition
``warp``). The sheet is found on a copy about ``WORK_SIDE`` pixels long: Otsu's threshold of
the blurred grey image separates paper from the surface, a closing fills the text, and the
largest bright region is the page when it covers between ``MIN_AREA`` and ``MAX_AREA`` of the
frame. Its outline is simplified to a polygon; the page's four sides are the polygon's four
longest sides (a corner darkened by the light, or cut off by the frame, adds a short side that
is not the page's), each refitted as a straight line through the outline points along it, and
the corners are where the lines meet. The corners are kept only when the four lines describe
the region well: a convex quadrilateral with angles near right angles, opposite sides of
similar length, and an area within a few percent of the region's. They are mapped onto a
rectangle whose proportions are those of the sheet, recovered from the perspective (Zhang and
He's method, for a phone camera centred on the photo). A scan (the page fills the frame),
a page with no clear edge, or any doubt leaves the image as it is.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

WORK_SIDE = 800
MIN_AREA = 0.20  # of the frame
MAX_AREA = 0.90  # above this the page fills the frame: a scan, nothing to do
MIN_CONTRAST = 25  # grey levels between the paper and the surface around it
MAX_SIDE_RATIO = 1.6  # opposite sides differ by no more than this under a phone's tilt
MAX_POLYGON = 8  # an outline simplified to more corners than this is no sheet
MIN_CORNER_ANGLE, MAX_CORNER_ANGLE = 55.0, 125.0  # degrees, inside the quadrilateral
# The quadrilateral's area against the bright region's convex hull: a corner lost to the light
# makes the hull a little smaller; a second object merged with the page makes it much larger.
MIN_COVER, MAX_COVER = 0.97, 1.08
MAX_OUTSIDE = 0.04  # a corner may lie this far (of the frame's side) outside the frame
MIN_ASPECT, MAX_ASPECT = 0.4, 2.5  # height / width of a sheet
FOCAL = 0.7  # a phone's main camera (24-28 mm equivalent): 0.55-0.65 of the diagonal


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points clockwise (image axes) from the one nearest the top-left: top-left,
    top-right, bottom-right, bottom-left for a page turned less than 45°."""
    pts = pts.reshape(4, 2).astype(np.float32)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # y points down: increasing angle is clockwise on screen
    return np.roll(pts, -int(np.argmin(pts.sum(axis=1))), axis=0)


def _line_through(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a point, a unit direction) of the line fitted to ``points`` (N x 2)."""
    vx, vy, x0, y0 = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    return np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)


def _meet(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    (p, d), (q, e) = a, b
    cross = d[0] * e[1] - d[1] * e[0]
    if abs(cross) < 1e-6:
        return None
    t = ((q[0] - p[0]) * e[1] - (q[1] - p[1]) * e[0]) / cross
    return p + t * d


def _side_line(start: np.ndarray, end: np.ndarray, outline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The straight line of one side: fitted to the outline points that lie along the segment
    ``start``-``end`` (its middle 80 %, within a few pixels), or the segment itself."""
    seg = end - start
    length = float(np.hypot(*seg))
    d = seg / length
    rel = outline - start
    along = rel @ d
    off = np.abs(rel[:, 0] * d[1] - rel[:, 1] * d[0])
    near = (along > 0.1 * length) & (along < 0.9 * length) & (off < max(2.0, 0.01 * length))
    if near.sum() >= 10:
        p, direction = _line_through(outline[near])
        return p, direction if direction @ d >= 0 else -direction
    return start.astype(np.float64), d


def _angles(quad: np.ndarray) -> list[float]:
    out = []
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        u, v = a - b, c - b
        cos = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        out.append(math.degrees(math.acos(max(-1.0, min(1.0, cos)))))
    return out


def _quadrilateral(outline: np.ndarray, hull: np.ndarray) -> np.ndarray | None:
    """Four corners from the hull's four longest sides, refitted on ``outline``, or None."""
    poly = cv2.approxPolyDP(hull, 0.01 * cv2.arcLength(hull, True), True).reshape(-1, 2)
    poly = poly.astype(np.float64)
    if not 4 <= len(poly) <= MAX_POLYGON:
        return None
    n = len(poly)
    lengths = [float(np.hypot(*(poly[(i + 1) % n] - poly[i]))) for i in range(n)]
    sides = sorted(sorted(range(n), key=lambda i: -lengths[i])[:4])  # in outline order
    lines = [_side_line(poly[i], poly[(i + 1) % n], outline) for i in sides]
    corners = []
    for k in range(4):
        point = _meet(lines[k - 1], lines[k])
        if point is None:
            return None
        corners.append(point)
    return np.array(corners, np.float64)


def find_page(image: np.ndarray) -> np.ndarray | None:
    """The page's four corners (top-left first, clockwise) in ``image``'s pixels, or None."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
        if scale < 1 else grey
    small = cv2.GaussianBlur(small, (5, 5), 0)
    _, mask = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    paper, surface = small[mask > 0], small[mask == 0]
    if paper.size == 0 or surface.size == 0 or \
            float(np.median(paper)) - float(np.median(surface)) < MIN_CONTRAST:
        return None
    k = max(3, (min(small.shape) // 40) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    sh, sw = small.shape
    region = cv2.contourArea(outline)
    if not MIN_AREA <= region / (sh * sw) <= MAX_AREA:
        return None
    hull = cv2.convexHull(outline)
    quad = _quadrilateral(outline.reshape(-1, 2).astype(np.float64), hull)
    if quad is None or not _plausible(quad, float(cv2.contourArea(hull)), sw, sh):
        return None
    return order_corners(quad / scale)


def _plausible(quad: np.ndarray, hull_area: float, width: int, height: int) -> bool:
    """Is ``quad`` a sheet's outline around a region whose convex hull has ``hull_area``?"""
    q = quad.astype(np.float32)
    if not cv2.isContourConvex(q.reshape(-1, 1, 2)):
        return False
    margin_x, margin_y = MAX_OUTSIDE * width, MAX_OUTSIDE * height
    if (quad[:, 0] < -margin_x).any() or (quad[:, 0] > width + margin_x).any() or \
            (quad[:, 1] < -margin_y).any() or (quad[:, 1] > height + margin_y).any():
        return False
    area = float(cv2.contourArea(q))
    if not MIN_COVER * hull_area <= area <= MAX_COVER * hull_area:
        return False
    if not all(MIN_CORNER_ANGLE <= a <= MAX_CORNER_ANGLE for a in _angles(quad)):
        return False
    sides = [float(np.linalg.norm(quad[(i + 1) % 4] - quad[i])) for i in range(4)]
    return max(sides[0], sides[2]) <= MAX_SIDE_RATIO * min(sides[0], sides[2]) and \
        max(sides[1], sides[3]) <= MAX_SIDE_RATIO * min(sides[1], sides[3])


def sheet_aspect(corners: np.ndarray, frame: tuple[int, int]) -> float:
    """Height / width of the sheet whose corners (top-left first, clockwise) a camera centred on
    a ``frame`` (height, width) photographed: Zhang and He's rectangle proportions ("Whiteboard
    scanning and image enhancement", 2007) with the focal length taken as ``FOCAL`` times the
    frame's diagonal. Their focal length measured from the corners swung between 0.3 and 2.7
    times the true one under tilts up to 8° (and one sheet came out 6 % too wide), the fixed
    one put every sheet of bench/photos.py within 1 % of A4; the proportions depend little on
    it when the tilt is small. Without measurable perspective: the mean opposite sides."""
    tl, tr, br, bl = (np.array([p[0], p[1], 1.0]) for p in corners)
    top = (np.linalg.norm(tr[:2] - tl[:2]) + np.linalg.norm(br[:2] - bl[:2])) / 2
    left = (np.linalg.norm(bl[:2] - tl[:2]) + np.linalg.norm(br[:2] - tr[:2])) / 2
    fallback = left / top
    k2 = np.dot(np.cross(tl, br), bl) / np.dot(np.cross(tr, br), bl)
    k3 = np.dot(np.cross(tl, br), tr) / np.dot(np.cross(bl, br), tr)
    n2, n3 = k2 * tr - tl, k3 * bl - tl  # the sheet's top and left sides, lifted into 3-D
    focal = FOCAL * math.hypot(*frame)
    inverse = np.linalg.inv(np.array([[focal, 0, frame[1] / 2], [0, focal, frame[0] / 2],
                                      [0, 0, 1]]))
    width2, height2 = n2 @ inverse.T @ inverse @ n2, n3 @ inverse.T @ inverse @ n3
    if not (np.isfinite(width2) and np.isfinite(height2)) or width2 <= 0 or height2 <= 0:
        return fallback
    aspect = math.sqrt(height2 / width2)
    if not MIN_ASPECT <= aspect <= MAX_ASPECT or abs(aspect / fallback - 1) > 0.25:
        return fallback
    return aspect


def flatten_page(image: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, bool]:
    """(the page cut out of a photo and made rectangular, ``scale`` times the size it has in
    the photo, True), or (image, False)."""
    corners = find_page(image)
    if corners is None:
        return image, False
    return warp_sheet(image, corners, scale), True


def warp_sheet(image: np.ndarray, corners: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """The quadrilateral ``corners`` of ``image`` as an upright rectangle with the sheet's
    proportions; its longer sides keep their length in the photo, times ``scale``."""
    tl, tr, br, bl = corners.astype(np.float64)
    aspect = sheet_aspect(corners, image.shape[:2])
    across = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    down = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    if down >= across * aspect:
        height, width = down, down / aspect
    else:
        width, height = across, across * aspect
    width, height = max(1, int(round(scale * width))), max(1, int(round(scale * height)))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                      np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
