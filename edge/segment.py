"""Find digit-sized marks in a frame and cut out their ink.

1. Ink map: the local background is estimated with a max filter on a downscaled copy (wider
   than any pen stroke), and ink = background - pixel. This removes uneven lighting and
   shadows that a global threshold cannot.
2. Hysteresis threshold: marks are connected regions above the noise floor that hold at
   least one pixel of clear ink (Otsu on the ink map, never below `min_contrast`).
3. Pieces of one digit (a broken 5, a detached stroke) are merged; specks, ruled lines and
   shapes of impossible proportions are dropped; wide marks (touching digits) are split at
   the weakest columns.

The ink of each mark is returned white-on-black, masked to the mark's own pixels, ready for
`edge.preprocess.prepare`. On a clean white page this is exactly 255 - pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from edge.data import Box
from edge.preprocess import tight

Polarity = Literal["auto", "dark", "light"]
MAX_MARKS = 300
EDGE = 2  # px of faint halo kept around a mark's pixels


@dataclass(frozen=True)
class SegmentConfig:
    """Knobs of the segmenter; defaults suit digits from ~20 px to most of the frame."""

    polarity: Polarity = "auto"  # dark ink on light paper, light on dark, or decide per frame
    min_height: int = 10  # px; smaller marks are specks
    min_contrast: int = 40  # ink levels (0..255) a stroke must reach somewhere
    max_width: float = 5.0  # w/h beyond this is a ruled line, not (touching) digits


@dataclass(frozen=True)
class Mark:
    """A candidate digit: its box and its ink, white on black, cropped to the box."""

    box: Box
    ink: np.ndarray


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR, BGRA or grayscale of any integer/float depth -> uint8 grayscale."""
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be 2-D or 3-D, got shape={image.shape}")
    if image.dtype == np.uint16:  # depth first, so the colour conversion always sees 8 bits
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.nan_to_num(image.astype(np.float32))
        if image.size and image.max() <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 3:
        channels = image.shape[2]
        if channels not in (1, 3, 4):
            raise ValueError(f"image has {channels} channels, expected 1, 3 or 4")
        if channels == 4:  # transparent means paper (a canvas drawing, a logo): white behind it
            alpha = image[:, :, 3:4].astype(np.float32) / 255
            image = (image[:, :, :3] * alpha + 255 * (1 - alpha) + 0.5).astype(np.uint8)
        image = image[:, :, 0] if channels == 1 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


def ink_map(gray: np.ndarray, polarity: Polarity = "auto") -> np.ndarray:
    """Background-subtracted ink, white on black, uint8, same size as `gray`."""
    if polarity == "auto":
        polarity = "light" if np.median(gray) < 110 else "dark"
    if polarity == "light":
        gray = 255 - gray
    h, w = gray.shape
    step = max(1, min(h, w) // 120)  # background is smooth: estimate it on <= ~120 px
    small = cv2.resize(gray, (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA) if step > 1 else gray
    k = max(15 // step, min(small.shape) // 8) | 1  # wider than the thickest stroke we expect
    # Closing (max then min filter) erases dark strokes but follows shadow edges.
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    if step > 1:
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR_EXACT)  # bit-exact on x86 and ARM
    return cv2.subtract(bg, gray)


def _thresholds(ink: np.ndarray, min_contrast: int) -> tuple[int, int, int]:
    """(noise floor, mark level, clear-ink level) of an ink map.

    The noise floor is robust (median + 4 sigma from the MAD): on a clean page it is 0, so a
    mark's faint anti-aliased edge is kept exactly. Marks are regions above a third of the
    clear-ink level (Otsu, never below `min_contrast`) holding at least one clear-ink pixel.
    """
    sample = ink[::2, ::2] if ink.size > 40_000 else ink
    median = float(np.median(sample))
    mad = float(np.median(np.abs(sample - median)))
    noise = int(median + 4 * 1.4826 * mad)
    otsu, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    high = max(min_contrast, int(otsu), noise + 2)
    return noise, max(noise + 1, high // 3), high


def find_marks(image: np.ndarray, cfg: SegmentConfig = SegmentConfig()) -> list[Mark]:
    """Candidate digits of a frame (BGR or gray), in no particular order."""
    gray = to_gray(image)
    if gray.size == 0:
        return []
    ink = ink_map(gray, cfg.polarity)
    noise, low, high = _thresholds(ink, cfg.min_contrast)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((ink > low).astype(np.uint8), connectivity=8)
    strong = np.zeros(n, bool)
    strong[np.unique(labels[ink >= high])] = True
    strong[0] = False
    comps = [
        (i, Box(int(stats[i, 0]), int(stats[i, 1]), int(stats[i, 2]), int(stats[i, 3])))
        for i in np.flatnonzero(strong)
        if max(stats[i, 2], stats[i, 3]) >= cfg.min_height / 3 and stats[i, 4] >= 4
    ]
    comps = sorted(comps, key=lambda c: -c[1].area)[:MAX_MARKS]  # pure noise must not explode
    H, W = gray.shape
    marks = []
    for ids, box in _merge_pieces(comps, cfg.min_height):
        if box.h < cfg.min_height or box.h > 0.98 * H or box.w > 0.98 * W:
            continue
        if box.w > cfg.max_width * box.h:
            continue
        marks.append(Mark(*_cut(ink, labels, ids, box, noise)))
    return marks


def _cut(ink: np.ndarray, labels: np.ndarray, ids: list[int], box: Box, noise: int) -> tuple[Box, np.ndarray]:
    """The mark's ink: its pixels plus a 2 px halo of faint edge above the noise floor."""
    H, W = ink.shape
    x0, y0 = max(0, box.x - EDGE), max(0, box.y - EDGE)
    x1, y1 = min(W, box.x + box.w + EDGE), min(H, box.y + box.h + EDGE)
    own = np.isin(labels[y0:y1, x0:x1], ids).astype(np.uint8)
    own = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * EDGE + 1, 2 * EDGE + 1)))
    sub = ink[y0:y1, x0:x1]
    top, left, crop = tight(np.where((own > 0) & (sub > noise), sub, 0).astype(np.uint8))
    return Box(x0 + left, y0 + top, crop.shape[1], crop.shape[0]), crop


def _merge_pieces(comps: list[tuple[int, Box]], min_height: int) -> list[tuple[list[int], Box]]:
    """Join components that overlap mostly in x and sit close in y: pieces of one digit."""
    groups = [([i], b) for i, b in sorted(comps, key=lambda c: -c[1].area)]
    merged = True
    while merged:
        merged = False
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                ia, ba = groups[a]
                ib, bb = groups[b]
                overlap = min(ba.x + ba.w, bb.x + bb.w) - max(ba.x, bb.x)
                gap = max(ba.y, bb.y) - min(ba.y + ba.h, bb.y + bb.h)
                small = min(ba.w, bb.w)
                union = ba.union(bb)
                if overlap >= 0.6 * small and gap <= 0.3 * max(ba.h, bb.h, min_height) and union.h <= 1.6 * max(ba.h, bb.h):
                    groups[a] = (ia + ib, union)
                    del groups[b]
                    merged = True
                    break
            if merged:
                break
    return _attach_fragments(groups)


def _attach_fragments(groups: list[tuple[list[int], Box]]) -> list[tuple[list[int], Box]]:
    """Give a broken-off stroke (much shorter than a neighbour, touching its box) back to it,
    unless the result would be wider than a digit. Dots stay apart: they are too small."""
    groups = sorted(groups, key=lambda g: -g[1].h)
    kept: list[tuple[list[int], Box]] = []
    for ids, box in groups:
        host = None
        for k, (_, big) in enumerate(kept):
            gap = max(big.x - (box.x + box.w), box.x - (big.x + big.w))
            inside_y = big.y - 0.25 * big.h <= box.cy <= big.y + 1.25 * big.h
            union = big.union(box)
            if (big.h >= 1.6 * box.h and max(box.w, box.h) >= 0.2 * big.h and gap <= 0.2 * big.h
                    and inside_y and union.w <= union.h and union.h <= 1.3 * big.h):
                host = k
                break
        if host is None:
            kept.append((ids, box))
        else:
            hid, hbox = kept[host]
            kept[host] = (hid + ids, hbox.union(box))
    return kept


def split_options(mark: Mark, max_parts: int = 4) -> list[list[Mark]]:
    """Ways to cut a wide mark into 2..max_parts touching digits, at the weakest ink columns.

    The recognizer classifies every option with the whole mark in one batch and keeps the
    reading the model is surest of (recognition-guided cuts).
    """
    box, crop = mark.box, mark.ink
    options = []
    profile = crop.astype(np.float32).sum(axis=0)
    for n in range(2, max_parts + 1):
        if box.w < n * 0.4 * box.h:  # pieces would be thinner than any digit but a 1
            break
        cuts = []
        for k in range(1, n):
            centre = k * box.w / n
            lo, hi = int(centre - 0.3 * box.w / n), int(centre + 0.3 * box.w / n) + 1
            cuts.append(lo + int(np.argmin(profile[lo:hi])))
        pieces = []
        for x0, x1 in zip([0, *cuts], [*cuts, box.w]):
            if not crop[:, x0:x1].any():
                break
            top, left, piece = tight(crop[:, x0:x1])
            pieces.append(Mark(Box(box.x + x0 + left, box.y + top, piece.shape[1], piece.shape[0]), piece))
        if len(pieces) == n:
            options.append(pieces)
    return options
