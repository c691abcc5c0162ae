"""The one crop -> model-input path, shared by training and the device.

MNIST convention: white ink on black, the digit's bounding box scaled so its longer side
is 20 px (aspect ratio kept), then placed in a 28x28 canvas so that its centre of mass sits
at the centre. Training runs every MNIST image through `prepare`, the device runs every
segmented crop through it, so the two can never drift apart.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

# Bump when anything below changes the bytes a model sees; models record the version they
# were trained with and the runtime refuses a mismatch.
PREPROCESS_VERSION = 1
SIZE = 28
BOX = 20


def tight(ink: np.ndarray) -> tuple[int, int, np.ndarray]:
    """(left, top, patch): the smallest box holding every nonzero pixel, x before y as in
    `Box`. ValueError if none."""
    x, y, w, h = cv2.boundingRect(ink) if ink.size else (0, 0, 0, 0)
    if w == 0:
        raise ValueError("ink patch is empty (all zero)")
    return x, y, ink[y : y + h, x : x + w]


def prepare(ink: np.ndarray) -> np.ndarray:
    """Turn an ink patch (uint8, white ink on black, 2-D) into a 28x28 uint8 model input.

    Raises ValueError for a patch that is not 2-D uint8 or holds no ink.
    """
    if ink.ndim != 2 or ink.dtype != np.uint8:
        raise ValueError(f"ink patch must be 2-D uint8, got shape={ink.shape} dtype={ink.dtype}")
    _, _, patch = tight(ink)
    peak = int(patch.max())
    if peak != 255:  # stretch faint ink to full contrast, as MNIST digits are
        patch = cv2.LUT(patch, _stretch(peak))

    h, w = patch.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    if (nh, nw) != (h, w):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        patch = cv2.resize(patch, (nw, nh), interpolation=interp)

    # Place so the centre of mass lands on the canvas centre, clamped to stay inside.
    m = cv2.moments(patch)
    if m["m00"] > 0:
        cy, cx = m["m01"] / m["m00"], m["m10"] / m["m00"]
    else:  # resizing wiped out faint ink; fall back to the box centre
        cy, cx = (nh - 1) / 2, (nw - 1) / 2
    top = min(max(round(SIZE / 2 - 0.5 - cy), 0), SIZE - nh)
    left = min(max(round(SIZE / 2 - 0.5 - cx), 0), SIZE - nw)
    out = np.zeros((SIZE, SIZE), np.uint8)
    out[top : top + nh, left : left + nw] = patch
    return out


def stroke_ratio(patch: np.ndarray) -> float:
    """Stroke width over the height of a tight ink patch (the height: a mark of several
    touching digits is as tall as one), on the ink above Otsu's threshold (so a blurred
    edge or a grey halo does not count as stroke)."""
    return stroke_width(above_otsu(patch)) / float(patch.shape[0])


def above_otsu(patch: np.ndarray) -> np.ndarray:
    """The 0/1 mask of a patch's pixels above its Otsu threshold."""
    return (patch > cv2.threshold(patch, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0]).astype(np.uint8)


def stroke_width(mask: np.ndarray) -> float:
    """The strokes' width in px of a 0/1 uint8 mask: twice its area over its outlines' length
    (a stroke of length l and width s has area l*s and outline 2l)."""
    outlines, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    length = float(sum(cv2.arcLength(c, True) for c in outlines))
    return 2.0 * float(mask.sum()) / max(length, 1.0)


def even_stroke(ink: np.ndarray, floor: float, target: float) -> np.ndarray:
    """An ink patch whose strokes are thinner than `floor` (of its height) thickened to
    about `target`, by a grey dilation; other patches unchanged.

    A thin pen on a big digit, scaled to MNIST's 20 px, becomes a faint hairline that the
    model never saw in training. The device applies this before `prepare`; training does not
    need it, MNIST's strokes being where the target is taken from (`RecognizerConfig`)."""
    _, _, patch = tight(ink)
    ratio = stroke_ratio(patch)
    if ratio >= floor:
        return ink
    grow = round((target - ratio) * patch.shape[0]) + 1  # a k x k disc widens a stroke by k - 1
    if grow < 2:
        return ink
    patch = cv2.copyMakeBorder(patch, grow, grow, grow, grow, cv2.BORDER_CONSTANT, value=0)
    return cv2.dilate(patch, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))


@functools.cache
def _stretch(peak: int) -> np.ndarray:
    """Lookup table taking ink level `peak` to 255: the same bytes as computing every pixel."""
    table: np.ndarray = np.clip(np.arange(256, dtype=np.float32) * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
    return table


def prepare_batch(images: np.ndarray) -> np.ndarray:
    """`prepare` over (N, H, W) uint8 images -> (N, 28, 28, 1) uint8, e.g. all of MNIST."""
    out = np.empty((len(images), SIZE, SIZE, 1), np.uint8)
    for i, img in enumerate(images):
        out[i, :, :, 0] = prepare(img)
    return out


# Models see pixel / 255 (0..1). Training divides by it; the int8 model's input scale is it,
# so the device feeds bytes unchanged.
INPUT_SCALE = 1.0 / 255.0


def to_float(batch: np.ndarray) -> np.ndarray:
    """Prepared uint8 inputs -> the float32 0..1 values a float model is trained on."""
    return batch.astype(np.float32) * np.float32(INPUT_SCALE)
