"""Reading order: lines top to bottom, digits left to right, tolerant of a rotated page."""

from __future__ import annotations

import math

import pytest

from digitedge.edge.data import Box, Digit
from digitedge.edge.lines import group_lines, read_line


def _digits(text_rows, angle_deg=0.0, h=40, w=26, pitch=34, row_pitch=90):
    a = math.radians(angle_deg)
    out = []
    for r, text in enumerate(text_rows):
        for c, ch in enumerate(text):
            x, y = 50 + c * pitch, 50 + r * row_pitch
            rx = x * math.cos(a) - y * math.sin(a) + 200
            ry = x * math.sin(a) + y * math.cos(a) + 100
            out.append(Digit(Box(round(rx), round(ry), w, h), int(ch), 0.99))
    return out


@pytest.mark.parametrize("angle", [-10, -5, 0, 5, 10])
def test_rotated_page_reads_in_order(angle):
    digits = _digits(["31415", "2718", "161803"], angle)
    lines = group_lines(list(reversed(digits)))
    assert [read_line(line) for line in lines] == ["31415", "2718", "161803"]


def test_numbers_side_by_side_read_left_to_right():
    left = _digits(["12"])
    right = [Digit(Box(d.box.x + 300, d.box.y, d.box.w, d.box.h), d.label + 2, 0.9) for d in left]
    assert [read_line(line) for line in group_lines(right + left)] == ["12", "34"]


def test_no_digits_no_lines():
    assert group_lines([]) == []
