"""Group digits into numbers in reading order: top to bottom, left to right.

Digits are chained left to right, each joining the chain whose last digit it continues
(gap under 1.5 digit heights, vertically aligned within half a digit height). Following the
chain rather than a fixed row band keeps a page rotated by up to ~10 degrees readable. A
wider gap starts a new number; numbers side by side on one row are read left to right.
"""

from __future__ import annotations

from edge.data import Digit

MAX_GAP = 1.5  # in digit heights: further apart is another number


def group_lines(digits: list[Digit]) -> list[list[Digit]]:
    """Digits -> numbers in reading order, each a list of digits left to right."""
    chains: list[list[Digit]] = []
    for d in sorted(digits, key=lambda d: (d.box.x, d.box.y)):
        best, best_dy = None, 0.0
        for chain in chains:
            last = chain[-1]
            h = max(d.box.h, last.box.h)
            gap = d.box.x - (last.box.x + last.box.w)
            dy = abs(d.box.cy - last.box.cy)
            # Boxes of touching digits cut along a winding path may overlap most of the narrower one.
            if -0.8 * min(d.box.w, last.box.w) <= gap <= MAX_GAP * h and dy <= 0.5 * h:
                if best is None or dy < best_dy:
                    best, best_dy = chain, dy
        if best is None:
            chains.append([d])
        else:
            best.append(d)
    return _reading_order(chains)


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
