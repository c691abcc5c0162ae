"""Segmentation regressions that need a particular layout of marks."""

from __future__ import annotations

import cv2
import numpy as np

from digitedge.edge.config import SegmentConfig
from digitedge.edge.segment import _remove_lines, find_marks


def test_a_small_mark_between_lines_does_not_weld_them():
    page = np.full((480, 640), 255, np.uint8)
    for x in (96, 150, 204):  # a line of three digit-sized marks
        cv2.rectangle(page, (x, 218), (x + 40, 265), 0, 6)
    cv2.polylines(page, [np.array([[105, 283], [113, 299], [121, 283]])], False, 0, 3)  # a small "v" below them
    cv2.rectangle(page, (95, 321), (226, 398), 0, 8)  # a big mark under the "v", close enough to take it
    marks = find_marks(page)
    assert max(m.box.h for m in marks) < 130  # the big mark may take the v, but not the line above
    assert sum(1 for m in marks if 40 <= m.box.h <= 55) == 3


def test_a_detached_long_top_bar_joins_its_digit():
    page = np.full((200, 300), 255, np.uint8)
    cv2.ellipse(page, (100, 120), (30, 28), 0, -120, 160, 0, 6)  # the belly of a 5
    cv2.line(page, (80, 68), (80, 95), 0, 6)  # its stem
    cv2.line(page, (118, 55), (200, 50), 0, 6)  # its bar, drawn apart, long and to the right
    marks = find_marks(page)
    assert len(marks) == 1 and marks[0].box.w > 1.2 * marks[0].box.h  # one mark, bar included
    assert marks[0].core is not None  # and the digit without it is read too


def test_marks_at_the_frame_edges_keep_their_ink_and_place():
    """Marks are labelled and cut inside the box round all ink (with room for halos); marks
    touching the frame's edges (halo clipped by the frame) and the ones that set that box
    come out in frame pixels, with exactly their ink (255 - pixel on a white page)."""
    page = np.full((240, 320), 255, np.uint8)
    cv2.circle(page, (308, 40), 11, 0, 3, cv2.LINE_AA)  # touching the right edge
    cv2.line(page, (300, 200), (319, 239), 40, 4, cv2.LINE_AA)  # the bottom-right corner, grey ink
    cv2.rectangle(page, (150, 30), (175, 70), 0, 4, cv2.LINE_AA)  # the leftmost ink
    page[50, 146] = 235  # a faint halo pixel left of all the clear ink
    marks = find_marks(page)
    assert len(marks) == 3 and sum(m.box.x + m.box.w == 320 for m in marks) == 2
    assert sum(m.box.y + m.box.h == 240 for m in marks) == 1
    assert min(m.box.x for m in marks) == 146  # the halo pixel is the rectangle's
    for m in marks:
        b = m.box
        assert np.array_equal(m.ink, 255 - page[b.y : b.y + b.h, b.x : b.x + b.w])


def test_a_sliver_lying_along_the_frame_edge_is_no_mark():
    """A crop's dark rim, a pixel or two wide along the frame's side and too short for the
    long-trace rule, was read as a 1 once the frame was turned and enlarged. Flush against
    the side it is dropped; the same stroke a few pixels in is a mark."""
    from digitedge.edge.config import SegmentConfig

    def page(gap: int) -> np.ndarray:
        p = np.full((200, 300), 255, np.uint8)
        p[80:110, gap : gap + 2] = 0
        p[80:110, 298 - gap : 300 - gap] = 0
        return p

    assert len(find_marks(page(0))) == 0
    assert len(find_marks(page(0), SegmentConfig(edge_sliver=0, edge_contact=2))) == 2  # without the rules
    assert len(find_marks(page(5))) == 2


def test_a_ruled_line_is_erased_whole_beside_specks_in_a_row():
    """Specks along the frame's edge (a vignette's noise) line up into straight "lines" that
    are mostly gaps. Their width, measured on the ink along them, is 0; taken into the
    lines' median width, they made the band erased round every line one pixel thick, and a
    ruled line's edges stayed, welding the digits on it (pencil on ruled paper). They are
    erased (a faint line broken by noise is such a row too), but left out of the median."""
    mask = np.zeros((300, 400), np.uint8)
    mask[148:153, :] = 1  # a ruled line 5 px thick
    for y in (0, 2, 297, 299):
        mask[y, ::3] = 1  # specks in a row
    assert _remove_lines(mask, 400, SegmentConfig())
    assert not mask[140:160].any()
    assert not mask[[0, 2, 297, 299]].any()


def test_short_digits_either_side_of_a_long_tail_stay_apart():
    """A 9 whose stem hangs far below the line, with a short digit close on each side (two
    real-dev photos: "354708745" read "3518745"). Each short one passes as a stroke broken
    off the tall one; a host takes them from one side only, or both join one piece over its
    middle and the tall digit is read alone."""
    page = np.full((300, 420), 255, np.uint8)
    cv2.ellipse(page, (105, 70), (14, 18), 0, 0, 360, 0, 3)  # a short digit on the left
    cv2.circle(page, (145, 65), 12, 0, 3)  # the 9's loop...
    cv2.line(page, (157, 65), (155, 175), 0, 3)  # ...and its long stem
    cv2.ellipse(page, (185, 70), (12, 16), 0, 0, 360, 0, 3)  # a short digit on the right
    marks = find_marks(page)
    tall = max(marks, key=lambda m: m.box.h)
    shorts = [m.box for m in marks if m is not tall] + ([tall.rest.box] if tall.rest else [])
    assert sorted(b.x // 40 for b in shorts) == [2, 4], shorts  # each short one a piece of its own


def test_desk_showing_past_the_paper_at_the_frame_edge_is_no_mark():
    """A sheet cropped or framed a little loosely leaves desk along the frame's edges: a
    wedge in a corner, a strip along a side. Flush with the edge for most of its length, it
    is dropped (it read as a 1, or as a 7 where two edges meet); a digit touching the edge
    at a point stays."""
    page = np.full((300, 400), 235, np.uint8)
    cv2.fillPoly(page, [np.array([[0, 0], [10, 0], [0, 90]])], 30)  # a wedge of desk, top left
    cv2.fillPoly(page, [np.array([[399, 299], [399, 250], [394, 299]])], 30)  # a sliver, bottom right
    cv2.circle(page, (385, 150), 14, 0, 3)  # a 0 touching the right edge
    cv2.rectangle(page, (150, 120), (180, 170), 0, 3)  # a digit in the middle
    boxes = sorted((m.box.x, m.box.y) for m in find_marks(page))
    assert len(boxes) == 2 and boxes[0][0] > 100 and boxes[1][0] > 350, boxes
    assert len(find_marks(page, SegmentConfig(edge_contact=2))) == 4  # without the rule
