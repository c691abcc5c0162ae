"""Group digits into numbers in reading order: top to bottom, left to right.

Digits are first chained into rows, left to right, each joining the row whose last digit it
continues (gap under ROW_GAP digit heights, vertically aligned within half a digit height).
Following the row rather than a fixed band keeps a page rotated by up to ~10 degrees
readable. A row is then cut into numbers where a gap is wide for this writer: wider than
SPLIT_RATIO times the typical gap and SPLIT_MIN digit heights. Handwriting is often spaced
wider than print, so a fixed multiple of the height would cut one writer's number in two and
join another's two numbers into one. Numbers side by side on one row read left to right.
"""

from __future__ import annotations

import statistics

from digitedge.edge.data import Digit

ROW_GAP = 4.0  # in digit heights: further apart is never the same row
SPLIT_MIN = 1.2  # in digit heights: a narrower gap never ends a number
SPLIT_RATIO = 2.5  # a gap this many times the writer's typical gap ends a number
MIN_GAPS = 3  # a row with fewer gaps than this takes the page's typical gap


def group_lines(digits: list[Digit]) -> list[list[Digit]]:
    """Digits -> numbers in reading order, each a list of digits left to right."""
    rows: list[list[Digit]] = []
    for d in sorted(digits, key=lambda d: (d.box.x, d.box.y)):
        best, best_dy = None, 0.0
        for row in rows:
            last = row[-1]
            h = max(d.box.h, last.box.h)
            gap = d.box.x - (last.box.x + last.box.w)
            dy = abs(d.box.cy - last.box.cy)
            # Boxes of touching digits cut along a winding path may overlap most of the narrower one.
            if -0.8 * min(d.box.w, last.box.w) <= gap <= ROW_GAP * h and dy <= 0.5 * h:
                if best is None or dy < best_dy:
                    best, best_dy = row, dy
        if best is None:
            rows.append([d])
        else:
            best.append(d)
    gaps = [[_gap(a, b) for a, b in zip(row, row[1:])] for row in rows]
    page = statistics.median(g for row in gaps for g in row) if any(gaps) else 0.0
    numbers = []
    for row, row_gaps in zip(rows, gaps):
        typical = statistics.median(row_gaps) if len(row_gaps) >= MIN_GAPS else page
        start = 0
        for i, g in enumerate(row_gaps, 1):
            if g > max(SPLIT_MIN, SPLIT_RATIO * typical):
                numbers.append(row[start:i])
                start = i
        numbers.append(row[start:])
    return _reading_order(numbers)


def _gap(a: Digit, b: Digit) -> float:
    """The space between neighbours on a row, in digit heights (negative if they overlap)."""
    return (b.box.x - (a.box.x + a.box.w)) / max(a.box.h, b.box.h, 1)


def _reading_order(chains: list[list[Digit]]) -> list[list[Digit]]:
    """Rows of chains that overlap vertically, rows top to bottom, chains left to right."""
    rows: list[list[list[Digit]]] = []
    for chain in sorted(chains, key=lambda c: c[0].box.cy):
        cy, h = chain[0].box.cy, chain[0].box.h
        row = next((r for r in rows if abs(r[0][0].box.cy - cy) <= 0.5 * max(h, r[0][0].box.h)), None)
        if row is None:
            rows.append([chain])
        else:
            row.append(chain)
    return [chain for row in rows for chain in sorted(row, key=lambda c: c[0].box.x)]


def read_line(line: list[Digit]) -> str:
    """The text of one number."""
    return "".join(str(d.label) for d in line)
