"""Overlays: boxes, labels and confidences drawn on a copy of the image."""

from __future__ import annotations

import cv2
import numpy as np

from digitedge.edge.data import Recognition
from digitedge.edge.images import to_gray


def draw_recognition(image: np.ndarray, result: Recognition, header: str | None = None) -> np.ndarray:
    """A BGR copy of `image` with every digit boxed and labelled, and an optional header."""
    canvas = image if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8 else None
    canvas = canvas.copy() if canvas is not None else cv2.cvtColor(to_gray(image), cv2.COLOR_GRAY2BGR)
    scale = max(0.4, min(canvas.shape[:2]) / 800)
    for d in result.digits:
        b = d.box
        color = (0, 170, 0) if d.confidence >= 0.9 else (0, 140, 255)
        cv2.rectangle(canvas, (b.x, b.y), (b.x + b.w, b.y + b.h), color, max(1, round(2 * scale)))
        cv2.putText(
            canvas,
            f"{d.label} {d.confidence:.2f}",
            (b.x, max(12, b.y - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5 * scale,
            color,
            max(1, round(scale)),
            cv2.LINE_AA,
        )
    if header:
        cv2.putText(
            canvas,
            header,
            (8, int(24 * scale) + 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7 * scale,
            (255, 0, 0),
            max(1, round(2 * scale)),
            cv2.LINE_AA,
        )
    return canvas
