"""Property tests: any array in, only documented exceptions out, boxes always inside."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digitedge.edge.config import RecognizerConfig, SegmentConfig
from digitedge.edge.data import Box, Digit
from digitedge.edge.lines import group_lines
from digitedge.edge.preprocess import SIZE, prepare
from digitedge.edge.segment import find_marks

shapes = st.tuples(st.integers(1, 120), st.integers(1, 160))
images = st.one_of(
    arrays(np.uint8, shapes),
    arrays(np.uint8, st.tuples(st.integers(1, 80), st.integers(1, 80), st.sampled_from([1, 3, 4]))),
    arrays(np.uint16, shapes),
    arrays(np.float32, shapes, elements=st.floats(0, 1, width=32)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images)
def test_segmentation_boxes_stay_inside(image):
    h, w = image.shape[:2]
    for mark in find_marks(image):
        b = mark.box
        assert 0 <= b.x and 0 <= b.y and b.w > 0 and b.h > 0 and b.x + b.w <= w and b.y + b.h <= h
        assert mark.ink.shape == (b.h, b.w) and mark.ink.dtype == np.uint8 and mark.ink.any()
        out = prepare(mark.ink)  # every mark the segmenter makes can be prepared
        assert out.shape == (SIZE, SIZE)


@settings(max_examples=200, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 300), st.integers(1, 300))))
def test_prepare_only_raises_valueerror_for_empty(ink):
    if not ink.any():
        try:
            prepare(ink)
        except ValueError:
            return
        raise AssertionError("empty ink must raise ValueError")
    out = prepare(ink)
    assert out.shape == (SIZE, SIZE) and out.dtype == np.uint8 and out.any()


boxes = st.builds(Box, st.integers(0, 1000), st.integers(0, 1000), st.integers(1, 200), st.integers(1, 200))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(Digit, boxes, st.integers(0, 9), st.floats(0, 1)), max_size=30))
def test_line_grouping_keeps_every_digit_once(digits):
    lines = group_lines(digits)
    flat = [d for line in lines for d in line]
    assert sorted(map(id, flat)) == sorted(map(id, digits))
    for line in lines:
        assert [d.box.x for d in line] == sorted(d.box.x for d in line)


@given(arrays(np.uint8, st.tuples(st.integers(1, 30), st.integers(1, 30))))
def test_histogram_figures_match_their_definitions(a):
    """Median, median absolute deviation and Otsu from one histogram equal the direct figures."""
    from digitedge.edge.segment import _histogram, _median, _otsu, _thresholds

    hist = _histogram(a)
    assert (hist == np.bincount(a.ravel(), minlength=256)).all()
    median = _median(hist)
    assert median == np.sort(a.ravel())[(a.size - 1) // 2]
    assert _otsu(hist) == int(cv2.threshold(a, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0])
    deviation = np.abs(a.astype(int) - median).ravel()
    noise = int(median + 4 * 1.4826 * np.sort(deviation)[(a.size - 1) // 2])
    assert _thresholds(a, SegmentConfig(min_contrast=1))[0] == noise


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(8, 40), st.integers(16, 90))))
def test_cut_pieces_stay_inside_the_mark(ink):
    """Whatever the ink, every piece of every split option lies inside the mark's box."""
    from digitedge.edge.cuts import split_options
    from digitedge.edge.segment import Mark

    if not ink.any():
        return
    box = Box(5, 7, ink.shape[1], ink.shape[0])
    (splits,) = split_options([Mark(box, ink)], RecognizerConfig())
    assert splits.options[0].read == (0,) and splits.pieces[0].box == box
    for option in splits.options:
        for i in option.read:
            b = splits.pieces[i].box
            assert box.x <= b.x and b.x + b.w <= box.x + box.w and box.y <= b.y and b.y + b.h <= box.y + box.h


@settings(max_examples=25, deadline=None)
@given(st.lists(arrays(np.uint8, st.tuples(st.integers(8, 70), st.integers(8, 120))), min_size=2, max_size=4))
def test_marks_cut_together_or_alone_give_the_same_options(inks):
    """The path search serves all marks of a frame at once; marks of other heights beside a
    mark (free rows ahead of the shorter ones) must not change its cuts."""
    from digitedge.edge.cuts import split_options
    from digitedge.edge.segment import Mark

    marks = [Mark(Box(0, 0, ink.shape[1], ink.shape[0]), ink) for ink in inks if ink.any()]
    together = split_options(marks, RecognizerConfig())
    for mark, split in zip(marks, together):
        (alone,) = split_options([mark], RecognizerConfig())
        assert split.options == alone.options
        assert [p.box for p in split.pieces] == [p.box for p in alone.pieces]
        assert all(np.array_equal(a.ink, b.ink) for a, b in zip(split.pieces, alone.pieces))


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 60), st.integers(1, 60)), elements=st.integers(0, 1)), st.integers(1, 255)
)
@example(
    np.array([[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 0, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]], np.uint8), 1
)  # a dot in a ring
def test_component_boxes_and_clear_ink_match_opencv_statistics(mask, high):
    """Boxes from outer contours (holes, nested pieces, ink on the border) equal OpenCV's
    component statistics; 'holds clear ink' is exactly 'holds a pixel >= high'."""
    from digitedge.edge.segment import _components, _holds_clear_ink

    ink = (mask * np.arange(mask.size, dtype=np.int64).reshape(mask.shape) % 256).astype(np.uint8)
    labels, boxes = _components(mask)
    n, expected_labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    assert n == len(boxes) and (labels == expected_labels).all()
    assert (boxes[1:] == stats[1:, :4]).all()
    strong = _holds_clear_ink(ink, labels, boxes, high, np.arange(n) % 2 == 1)  # odd labels only
    assert strong.tolist() == [i % 2 == 1 and bool((ink[labels == i] >= high).any()) for i in range(n)]


def _merge_by_restarting(comps: list[tuple[int, Box]], min_height: int) -> list[tuple[list[int], Box]]:
    """The merge rule stated plainly: merge the first joining pair, start over, until none."""
    groups = [([i], b, b.h) for i, b in sorted(comps, key=lambda c: -c[1].area)]
    while True:
        for a, b in ((i, j) for i in range(len(groups)) for j in range(i + 1, len(groups))):
            (ia, ba, ta), (ib, bb, tb) = groups[a], groups[b]
            overlap = min(ba.x + ba.w, bb.x + bb.w) - max(ba.x, bb.x)
            gap = max(ba.y, bb.y) - min(ba.y + ba.h, bb.y + bb.h)
            union = ba.union(bb)
            if (
                overlap >= 0.6 * min(ba.w, bb.w)
                and gap <= 0.3 * max(ta, tb, min_height)
                and union.h <= 1.6 * max(ta, tb)
            ):
                groups[a] = (ia + ib, union, max(ta, tb))
                del groups[b]
                break
        else:
            return [(ids, box) for ids, box, _ in groups]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(Box, st.integers(0, 60), st.integers(0, 60), st.integers(1, 30), st.integers(1, 40)), max_size=14
    ),
    st.integers(1, 20),
)
@example(
    [
        Box(52, 22, 27, 35),
        Box(29, 20, 3, 26),
        Box(30, 34, 8, 12),
        Box(33, 28, 19, 15),
        Box(37, 14, 11, 4),
        Box(47, 3, 2, 9),
        Box(41, 4, 28, 6),
        Box(48, 7, 8, 15),
    ],
    10,
)  # a grown group joins an earlier one
def test_piece_merging_equals_the_plain_rule(boxes, min_height):
    """Merging tests all pairs at once and re-tests only the merged group; the groups must
    be those of merging the first joining pair and starting over."""
    import digitedge.edge.segment as segment

    comps = list(enumerate(boxes))
    seen = []
    attach = segment._attach_fragments
    try:
        segment._attach_fragments = lambda groups, cfg: seen.append(groups) or attach(groups, cfg)
        segment._merge_pieces(comps, SegmentConfig(min_height=min_height))
    finally:
        segment._attach_fragments = attach
    assert seen == [_merge_by_restarting(comps, min_height)]


def test_components_beyond_16_bit_labels():
    """Labels are 16-bit while they fit; a frame of 75,000 specks needs (and gets) 32."""
    from digitedge.edge.segment import _components

    mask = np.zeros((500, 600), np.uint8)
    mask[::2, ::2] = 1
    labels, boxes = _components(mask)
    assert len(boxes) == 75_001 and labels.max() == 75_000 and labels.dtype == np.int32
    assert (boxes[-1] == [598, 498, 1, 1]).all()
