"""The recognizer's decisions that do not need a scene: context and prediction fields."""

from __future__ import annotations

import numpy as np

from digitedge.edge.data import Box
from digitedge.edge.model import Classifier
from digitedge.edge.recognize import in_a_number


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
