"""How the segmenter sees a frame: the sheet found, squared up, and turned upright.

A sheet turned on a desk is rotated so its sides run square to the frame (digits are read
best upright, and rows then run level); a page photographed sideways or upside down is
turned by quarter turns. Boxes found in the view go back to the frame with `to_frame`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from digitedge.edge.data import Box
from digitedge.edge.page import page_angle
from digitedge.edge.segment import FIND, SegmentConfig, sheet

MIN_TILT = 8.0  # degrees: a sheet turned less than this is read as it lies (rows are followed; resampling blurs)


@dataclass(frozen=True)
class View:
    """The grey frame as it is segmented, the sheet in it (or None), and the 2x3 affine map
    from view pixels back to frame pixels (None when the view is the frame)."""

    gray: np.ndarray
    page: np.ndarray | None
    back: np.ndarray | None
    frame_size: tuple[int, int]  # (width, height) of the frame

    def to_frame(self, points: np.ndarray) -> Box:
        """The frame's box round points (N, 2: x, y) of the view, inside the frame."""
        mapped = points if self.back is None else cv2.transform(points[None].astype(np.float32), self.back)[0]
        W, H = self.frame_size
        x0, y0 = np.clip(np.floor(mapped.min(axis=0)), 0, [W, H])
        x1, y1 = np.clip(np.ceil(mapped.max(axis=0)), 0, [W, H])
        return Box(int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0)))


def look(
    gray: np.ndarray, cfg: SegmentConfig, turns: int = 0, page: np.ndarray | None | Literal["find"] = FIND
) -> View:
    """The view of a grey frame: its sheet (`page`, found here by default) squared up when it
    lies turned on a desk, then turned by `turns` quarter turns counter-clockwise."""
    H, W = gray.shape
    if isinstance(page, str):
        page = sheet(gray, cfg)
    turns %= 4
    if page is not None and abs(angle := page_angle(page)) >= MIN_TILT:
        forward, size = _rotation(W, H, angle)
        if turns:
            turn = _QUARTER[turns](*size)
            forward, size = _compose(turn, forward), (size[1], size[0]) if turns % 2 else size
        view = cv2.warpAffine(gray, forward, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        page = cv2.warpAffine(page, forward, size, flags=cv2.INTER_NEAREST, borderValue=0)
    elif turns:  # exact quarter turns, no resampling
        forward, code = _QUARTER[turns](W, H), _ROTATE[turns]
        view = cv2.rotate(gray, code)
        page = cv2.rotate(page, code) if page is not None else None
    else:
        return View(gray, page, None, (W, H))
    return View(view, page, cv2.invertAffineTransform(forward), (W, H))


# Quarter turns counter-clockwise of a w x h image, as affines on pixel-edge coordinates.
_QUARTER: dict[int, Callable[[int, int], np.ndarray]] = {
    1: lambda w, h: np.array([[0, 1, 0], [-1, 0, w]], np.float32),
    2: lambda w, h: np.array([[-1, 0, w], [0, -1, h]], np.float32),
    3: lambda w, h: np.array([[0, -1, h], [1, 0, 0]], np.float32),
}
_ROTATE = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


def _rotation(w: int, h: int, angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine turning a w x h image by `angle` degrees about its centre into a canvas
    that holds all of it, and that canvas's (width, height)."""
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(round(h * sin + w * cos)), int(round(h * cos + w * sin))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return m.astype(np.float32), (nw, nh)


def _compose(second: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The 2x3 affine applying `first`, then `second`."""
    a = np.vstack([second, [0, 0, 1]]) @ np.vstack([first, [0, 0, 1]])
    composed: np.ndarray = a[:2].astype(np.float32)
    return composed
