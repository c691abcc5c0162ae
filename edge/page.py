"""The sheet of paper in a photo of it lying on a desk, and how far it is turned.

A photo of a page on a dark desk must be read on the page alone: polarity, background and
thresholds come from the paper, and the desk's grain is no ink. A page turned on the desk
(a sticky note at 35 degrees) is squared up before its digits are looked for.
"""

from __future__ import annotations

import cv2
import numpy as np

SHARP_EDGE = 0.25  # a sheet's rim on a 160 px copy: at least this share of its contrast per pixel
SHADE = 0.5  # the sheet's paper stands at least this share of its contrast above the desk
PART_LEVEL = 0.15  # parts of one sheet lie within this share of its contrast of its largest part


def find_page(gray: np.ndarray, desk_ratio: float = 0.6) -> np.ndarray | None:
    """The sheet of paper in a photo of it lying on a darker desk, as a 0/1 mask of the frame
    (its convex hull: sheets and sticky notes are convex even under perspective, and a
    shadow across one must not cut it in two), or None when the paper fills the frame or no
    sheet stands out. Found on a copy of at most 160 px, with the ink closed away first."""
    h, w = gray.shape
    f = min(1.0, 160 / max(h, w))
    plain = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    small = cv2.morphologyEx(plain, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    bright = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))  # cut thin bridges to bright desk
    n, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if n < 2:
        return None
    biggest = 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())
    if stats[biggest, cv2.CC_STAT_AREA] > 0.92 * small.size:  # the paper fills the frame: most photos
        return None
    sheet = (labels == biggest).view(np.uint8)
    hull = np.zeros_like(small)
    outline = max(cv2.findContours(sheet, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0], key=len)
    cv2.fillPoly(hull, [cv2.convexHull(outline)], 1)
    if not 0.05 <= hull.mean() <= 0.92 or bright[hull == 1].mean() < 0.8:
        return None  # no sheet; the paper is the frame (a margin of desk at most); or bright strokes, not paper
    paper, desk = float(np.median(small[hull == 1])), float(np.median(small[hull == 0]))
    if desk > desk_ratio * paper:
        return None
    step = paper - desk
    # A sheet's edge is sharp; a shadow's or a glow's is soft. Along the sheet's outline (off
    # the frame's border) the paper must fall to the desk within a few pixels of this copy.
    rim = cv2.morphologyEx(sheet, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    rim[[0, -1], :] = rim[:, [0, -1]] = 0
    if not rim.any():
        return None
    gx, gy = cv2.Sobel(small, cv2.CV_32F, 1, 0), cv2.Sobel(small, cv2.CV_32F, 0, 1)
    if float(np.median(cv2.magnitude(gx, gy)[rim == 1])) / 8 < SHARP_EDGE * step:
        return None
    # The sheet: inside the hull, bright (a shadow on it rarely falls halfway to the desk)
    # and cut along its outline, where a highlight of the desk would join it.
    outline = cv2.dilate(cv2.Canny(plain, step / 2, step), np.ones((3, 3), np.uint8))
    body = ((cv2.medianBlur(plain, 5) > desk + SHADE * step) & (hull == 1) & (outline == 0)).view(np.uint8)
    body = cv2.morphologyEx(body, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    n, parts, areas = cv2.connectedComponentsWithStats(body, connectivity=4)[:3]
    if n < 2:
        return None
    # Ink cuts the sheet into parts; a highlight of the desk is a part too, but darker.
    level = [
        float(np.median(plain[parts == i])) if areas[i, cv2.CC_STAT_AREA] >= 0.01 * body.size else -1.0
        for i in range(n)
    ]
    main = 1 + int(areas[1:, cv2.CC_STAT_AREA].argmax())
    keep = [i for i in range(1, n) if level[i] >= level[main] - PART_LEVEL * step]
    sheet = np.zeros((small.shape[0], small.shape[1]), np.float32)  # convex again: ink cut bays into it
    cv2.fillPoly(sheet, [cv2.convexHull(cv2.findNonZero(np.isin(parts, keep).view(np.uint8)))], 1.0)
    sheet = cv2.dilate(sheet, np.ones((5, 5), np.uint8))  # back over the outline cut away
    page = (cv2.resize(sheet, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5).view(np.uint8)
    # And it is paper: what is written on it is darker than it, not lighter (a glow on a
    # blackboard is bright and sharp-rimmed too, but its strokes are bright).
    low, mid, high = np.percentile(gray[::2, ::2][page[::2, ::2] == 1], [0.5, 50, 99.5])
    return page if mid - low > high - mid else None


def page_angle(page: np.ndarray) -> float:
    """Degrees (-45..45] that turn the sheet's sides square to the frame's, counter-clockwise
    positive as in `cv2.getRotationMatrix2D`: the angle of its minimum-area rectangle."""
    # The rectangle hugs the hull, and the hull's corners lie on the outer outlines: the same
    # rectangle as from every pixel of the sheet, for a fraction of the points.
    outlines = cv2.findContours(page, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
    (_, _), (w, h), angle = cv2.minAreaRect(np.vstack(outlines))
    angle = (angle + 45) % 90 - 45  # OpenCV's convention varies by version; any side will do
    return float(angle)
