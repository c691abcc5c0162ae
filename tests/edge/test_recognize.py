"""The recognizer's decisions that do not need a scene: context and prediction fields."""

from __future__ import annotations

import numpy as np

from digitedge.edge.data import Box, Digit
from digitedge.edge.model import Classifier
from digitedge.edge.recognize import _without_outsized_ones, in_a_number


def test_a_mark_is_inside_a_number_only_next_to_a_sure_digit_of_its_size():
    sure = [Box(100, 100, 30, 50), Box(140, 102, 30, 48)]
    assert in_a_number(Box(180, 101, 28, 50), sure)  # the next digit along the line
    assert in_a_number(Box(60, 98, 30, 52), sure)  # the one before it
    assert not in_a_number(Box(180, 101, 12, 20), sure)  # far smaller: a letter or a speck
    assert not in_a_number(Box(180, 160, 28, 50), sure)  # the line below
    assert not in_a_number(Box(260, 101, 28, 50), sure)  # past the gap that ends a number
    assert not in_a_number(Box(180, 101, 28, 50), [])


def test_prediction_fields_agree_with_the_probabilities(mnist):
    from digitedge.edge.preprocess import prepare_batch

    clf = Classifier()
    x = prepare_batch(mnist.x_test[:200])
    probs = clf.probabilities(x)
    none = clf.labels.index(None)
    for p, row in zip(clf.classify(x), probs):
        assert p.digit == int(np.argmax(np.delete(row, none))) and abs(p.none_probability - row[none]) < 1e-6
        assert abs(p.digit_probability - row[p.digit]) < 1e-6
        assert 0 <= p.conditional_probability <= 1 + 1e-6 and p.conditional_probability >= p.digit_probability
        if p.label is not None:
            assert p.label == p.digit and p.confidence == p.digit_probability


def test_reported_box_is_the_clear_ink_not_its_faint_edge():
    from digitedge.edge.recognize import ink_box
    from digitedge.edge.segment import Mark

    ink = np.zeros((30, 20), np.uint8)
    ink[:, :] = 20  # blurred edge: kept for the model input, not part of the box
    ink[5:25, 8:12] = 240  # the stroke
    assert ink_box(Mark(Box(100, 50, 20, 30), ink)) == Box(108, 55, 4, 20)


def test_a_1_many_digits_tall_beside_a_number_is_an_edge_not_a_digit():
    """Photo-like scenes of a sheet on a desk with a shadow across it read the shadow's rim
    or the sheet's edge, 10-14 times the digits' height, as a 1 beside the number (120
    photo-like scenes at 2 MP: precision 0.979 with them, 0.981 without). Two and a half
    times as tall is a 1 all the same (handwriting's sizes vary by that much)."""

    def read(*digits: tuple[int, int]) -> list:
        return [(Digit(Box(40 * i, 0, 20, h), label, 0.9), f"piece {i}") for i, (label, h) in enumerate(digits)]

    number = read((1, 700), (0, 40), (6, 60), (4, 80))
    assert [d.label for d, _ in _without_outsized_ones(number, 4.0)] == [0, 6, 4]
    assert _without_outsized_ones(number, 4.0)[0][1] == "piece 1"  # each digit keeps its piece
    tall = read((1, 150), (0, 60), (6, 60))  # 2.5 times the others: a 1 written big
    assert _without_outsized_ones(tall, 4.0) == tall
    seven = read((7, 700), (0, 40), (6, 60))  # only a 1 is a straight edge
    assert _without_outsized_ones(seven, 4.0) == seven
    pair = read((1, 700), (2, 60))  # with one other digit there is no "the others" to go by
    assert _without_outsized_ones(pair, 4.0) == pair


def test_a_doubted_piece_found_apart_is_read_beside_a_sure_one_but_not_when_cut():
    """A short digit touching a long tail is attached to it: the mark is read whole (here
    not a digit), as its core with the short piece left unread, or as both side by side.
    With the tail doubted (0.4), reading both beats calling a sure digit no digit; the same
    pieces cut apart from one stroke need every piece sure (0.7)."""
    from digitedge.edge.config import RecognizerConfig
    from digitedge.edge.cuts import Option
    from digitedge.edge.model import Prediction
    from digitedge.edge.recognize import Candidates, Piece
    from digitedge.edge.segment import Mark

    def piece(box: Box, p: Prediction) -> Piece:
        return Piece(Mark(box, np.zeros((box.h, box.w), np.uint8)), np.zeros((28, 28), np.uint8), p)

    whole = piece(Box(0, 0, 60, 90), Prediction(None, 0.99, 7, 0.01, 0.99))
    tail = piece(Box(30, 0, 30, 90), Prediction(1, 0.4, 1, 0.4, 0.2))  # a 9 with a long tail, doubted
    short = piece(Box(0, 5, 25, 45), Prediction(3, 1.0, 3, 1.0, 0.0))  # a sure 3 beside it
    cfg = RecognizerConfig()
    apart = (Option((0,)), Option((1,), unread=(2,)), Option((2, 1)))
    assert Candidates((whole, tail, short), apart).best_option(cfg) == Option((2, 1))
    cut = (Option((0,)), Option((1,), unread=(2,)), Option((2, 1), cut=True))
    assert Candidates((whole, tail, short), cut).best_option(cfg) != Option((2, 1), cut=True)


def test_a_straight_stroke_running_out_of_the_frame_is_no_1(mnist):
    """Grid and ruled lines, table and margin rules run out of the frame where the line
    search stopped short of them (a dim corner, a vignette): the stub was read as a 1 at
    0.95-0.99 (three on one 12 MP grid page of the photo-like draw). A 1 ends on the paper;
    the same stroke a few pixels short of the edge is still read."""
    import cv2

    from digitedge.edge.recognize import Recognizer

    def page(gap: int) -> np.ndarray:
        p = np.full((240, 320), 235, np.uint8)
        for x, i in ((60, 0), (110, 1), (160, 2)):  # a number, 3 digits
            digit = cv2.resize(255 - mnist.x_test[int(np.flatnonzero(mnist.y_test == 4)[i])], (40, 40))
            p[60:100, x : x + 40] = np.minimum(p[60:100, x : x + 40], digit)
        cv2.line(p, (260, 239 - gap), (260, 190 - gap), 30, 3)  # a stroke up from the bottom edge
        return p

    recognizer = Recognizer()
    assert recognizer.recognize(page(0)).lines == ("444",)
    assert sorted(recognizer.recognize(page(8)).lines) == ["1", "444"]
