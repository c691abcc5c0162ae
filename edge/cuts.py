"""Ways to cut a wide mark into touching digits, for the recognizer to choose from.

A straight column cut slices the strokes of digits that lean into each other; a path that
may step sideways (at a price) winds between them and crosses only where they really touch.
Only the recognizer uses this: segmentation finds marks, the model decides which cut reads.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from digitedge.edge.config import RecognizerConfig
from digitedge.edge.data import Box
from digitedge.edge.preprocess import tight
from digitedge.edge.segment import Mark


@dataclass(frozen=True)
class Option:
    """One way to read a mark: `read`, the indices of the pieces it reads as digits, left to
    right; `unread`, pieces it says are not digits (a speck or a letter's stroke beside a
    digit); `cut`, whether its pieces were cut apart where ink touches, which costs
    belief (`split_price` per cut)."""

    read: tuple[int, ...]
    unread: tuple[int, ...] = ()
    cut: bool = False


@dataclass(frozen=True)
class Splits:
    """Ways to read one mark: distinct `pieces`, and `options` (option 0 reads the mark,
    piece 0, whole)."""

    pieces: tuple[Mark, ...]
    options: tuple[Option, ...]


def whole(mark: Mark) -> Splits:
    """The one way to read a mark that is not cut: whole."""
    return Splits((mark,), (Option((0,)),))


def split_options(marks: list[Mark], cfg: RecognizerConfig) -> list[Splits]:
    """Ways to cut each wide mark into touching digits, along cheapest top-to-bottom paths.

    A straight column cut slices the strokes of digits that lean into each other; a path
    that may step sideways (at a price) winds between them and crosses only where they
    really touch. The recognizer classifies every distinct piece in one batch and keeps the
    reading the model is surest of (recognition-guided cuts). The paths of all marks are
    searched in one pass: the search is many small numpy steps, and their count, not the
    pixels, is what costs.
    """
    parts = [
        max(1, min(cfg.max_parts, int(m.ink.shape[1] / (cfg.narrowest * m.ink.shape[0])))) for m in marks
    ]  # digits are rarely narrower
    cut = [(m, p) for m, p in zip(marks, parts) if p > 1]
    scales = [min(1.0, cfg.path_rows / m.ink.shape[0]) for m, _ in cut]  # big marks: paths on a smaller copy
    smalls = [
        cv2.resize(
            m.ink, (max(1, round(m.ink.shape[1] * f)), max(1, round(m.ink.shape[0] * f))), interpolation=cv2.INTER_AREA
        )
        if f < 1
        else m.ink
        for (m, _), f in zip(cut, scales)
    ]
    # 2 * parts - 1 paths: spare candidates for the recognizer to choose from
    crops = [(s, int(cfg.paths_apart * s.shape[0]), 2 * p - 1) for s, (_, p) in zip(smalls, cut)]
    found = _cut_paths(crops, cfg) if cut else []
    splits = iter(
        [
            _options(m, [_scale_path(path, f, m.ink.shape) for path in paths], p, cfg)
            for (m, p), f, paths in zip(cut, scales, found)
        ]
    )
    return [next(splits) if p > 1 else whole(m) for m, p in zip(marks, parts)]


def _scale_path(path: np.ndarray, f: float, shape: tuple[int, int]) -> np.ndarray:
    """A path found on a copy scaled by `f`, back on the mark: a column per row."""
    h, w = shape
    return np.minimum((path[(np.arange(h) * f).astype(np.intp)] / f).round().astype(np.intp), w)


def _options(mark: Mark, paths: list[np.ndarray], max_parts: int, cfg: RecognizerConfig) -> Splits:
    """The pieces between cut paths and the ways to read the mark with them: every choice of
    up to `max_parts - 1` paths whose pieces are all wide enough."""
    box, crop = mark.box, mark.ink
    h, w = crop.shape
    min_w = max(2, int(cfg.thinnest * h))  # a 1 is thin, but not thinner than this
    bounds = np.stack([np.zeros(h, np.intp), *paths, np.full(h, w, np.intp)])
    last = len(bounds) - 1
    # [a, b]: is the piece between bounds a and b at least min_w wide (median over rows)?
    gaps = np.partition(bounds[None] - bounds[:, None], [(h - 1) // 2, h // 2], axis=2)
    wide_enough = gaps[:, :, (h - 1) // 2] + gaps[:, :, h // 2] >= 2 * min_w
    options = [[(0, last)]]
    for k in range(1, min(max_parts, len(paths) + 1)):
        for chosen in itertools.combinations(range(1, last), k):
            ends = [0, *chosen, last]
            if all(wide_enough[a, b] for a, b in zip(ends, ends[1:])):
                options.append(list(zip(ends, ends[1:])))
    index: dict[tuple[int, int], int] = {(0, last): 0}  # the whole mark, always option 0
    pieces: list[Mark] = [mark]
    right_of = (np.arange(w) >= bounds[:, :, None]).view(np.uint8)  # [k]: pixels right of bound k
    for a, b in (p for option in options for p in option):
        if (a, b) not in index:
            index[(a, b)] = -1  # empty, a sliver or a crumb: not a digit, the option is void
            try:
                left, top, cut = tight(np.multiply(crop, right_of[a] - right_of[b]))  # bounds never cross: 0 or 1
            except ValueError:  # no ink between these bounds
                continue
            if cut.shape[1] >= min_w and cut.shape[0] >= cfg.shortest * h:
                index[(a, b)] = len(pieces)
                pieces.append(Mark(Box(box.x + left, box.y + top, cut.shape[1], cut.shape[0]), cut))
    kept = [tuple(index[p] for p in option) for option in options]
    return Splits(tuple(pieces), tuple(Option(o, cut=len(o) > 1) for o in kept if -1 not in o))


def _cut_paths(crops: list[tuple[np.ndarray, int, int]], cfg: RecognizerConfig) -> list[list[np.ndarray]]:
    """For each (crop, apart, most): up to `most` cheap top-to-bottom paths (a column per row,
    at most one step sideways per row), left to right. For each column of the middle row,
    the cheapest path through it; kept if it leaves at least `min_share` of the ink on either
    side (no slivers) and crosses the middle row `apart` px or more from every cheaper one.

    Each crop's top half and bottom half upside down lie side by side, both ending in the
    last row, every half walled off by an impassable column; shorter crops start with free
    rows, which change no cost and no path. One pass of the path search does them all.
    """
    rows = max(crop.shape[0] // 2 for crop, _, _ in crops) + 1
    offsets = np.cumsum([0] + [2 * crop.shape[1] + 2 for crop, _, _ in crops]).tolist()
    halves = np.full((rows, offsets[-1]), np.inf, np.float32)
    costs = []
    for (crop, _, _), o in zip(crops, offsets):
        h, w = crop.shape
        cost = crop.astype(np.float32) + 1.0  # +1: among free paths prefer the shortest
        top, bottom = cost[: h // 2 + 1], cost[h // 2 :][::-1]
        halves[: rows - len(top), o : o + w] = 0.0
        halves[rows - len(top) :, o : o + w] = top
        halves[: rows - len(bottom), o + w + 1 : o + 2 * w + 1] = 0.0
        halves[rows - len(bottom) :, o + w + 1 : o + 2 * w + 1] = bottom
        costs.append(cost)
    total = _path_costs(halves, cfg.sidestep)
    traced = _trace(total, cfg.sidestep)
    found = []
    for (crop, apart, most), cost, o in zip(crops, costs, offsets):
        h, w = crop.shape
        mid = h // 2
        through = total[-1, o + 1 : o + w + 1] + total[-1, o + w + 2 : o + 2 * w + 2] - cost[mid]
        down = traced[rows - (mid + 1) :, o : o + w] - o
        up = traced[rows - (h - mid) :, o + w + 1 : o + 2 * w + 1] - (o + w + 1)
        paths = np.concatenate([down, up[::-1][1:]])  # rows 0..h-1
        before = np.cumsum(crop, axis=1, dtype=np.float64) - crop  # ink left of each pixel, per row
        share = before[np.arange(h)[:, None], paths].sum(axis=0) / max(float(crop.sum()), 1.0)
        cheapest = np.argsort(through, kind="stable")
        fair = (share >= cfg.min_share) & (share <= 1 - cfg.min_share)
        chosen: list[int] = []
        free = fair.copy()  # not a sliver, and `apart` from every path chosen so far
        while len(chosen) < most and (left := cheapest[free[cheapest]]).size:
            chosen.append(x := int(left[0]))
            free[max(0, x - apart + 1) : x + max(1, apart)] = False
        found.append([paths[:, x] for x in sorted(chosen)])
    return found


def _path_costs(cost: np.ndarray, sidestep: float) -> np.ndarray:
    """Cheapest path cost from row 0 to every pixel, padded with an inf column on each side."""
    h, w = cost.shape
    total = np.full((h, w + 2), np.inf, np.float32)
    total[0, 1:-1] = cost[0]
    for r in range(1, h):
        above = total[r - 1]
        np.minimum(above[:-2], above[2:], out=total[r, 1:-1])
        total[r, 1:-1] += sidestep
        np.minimum(total[r, 1:-1], above[1:-1], out=total[r, 1:-1])
        total[r, 1:-1] += cost[r]
    return total


def _trace(total: np.ndarray, sidestep: float) -> np.ndarray:
    """Follow the cheapest path from every column of the last row of `total` back to row 0:
    the column of each path in every row, (rows, columns)."""
    above = total[:-1]
    # The step into each pixel from the row above, for all rows at once: -1, 0 or +1, the
    # cheaper neighbour (padded: x-1, x, x+1; ties to the left).
    left, right = above[:, :-2] + np.float32(sidestep), above[:, 2:] + np.float32(sidestep)
    straight = above[:, 1:-1]
    came = np.where((left <= straight) & (left <= right), -1, np.where(straight <= right, 0, 1))
    paths = np.empty((total.shape[0], total.shape[1] - 2), np.intp)
    paths[-1] = np.arange(paths.shape[1])
    for r in range(total.shape[0] - 1, 0, -1):
        paths[r - 1] = paths[r] + came[r - 1, paths[r]]
    return paths
