"""The device prepares a digit exactly as training does: same function, same bytes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitedge.edge.images import read_image
from digitedge.edge.preprocess import BOX, SIZE, prepare
from digitedge.edge.segment import find_marks
from digitedge.train.data import prepare_data


def _page_with_digits(digits: list[np.ndarray]) -> np.ndarray:
    """Dark MNIST digits on a clean white page, well apart, as a scanner would give them."""
    page = np.full((60, 40 * len(digits) + 20), 255, np.uint8)
    for k, d in enumerate(digits):
        page[16:44, 10 + 40 * k : 38 + 40 * k] = 255 - d
    return page


def test_training_sample_and_device_preparation_are_byte_identical(mnist, tmp_path):
    n = 500
    training = prepare_data(mnist, 0, 10, n).x_test[:, :, :, 0]  # what the model is trained/tested on
    identical, single_piece = 0, 0
    for start in range(0, n, 5):
        page = _page_with_digits(list(mnist.x_test[start : start + 5]))
        path = tmp_path / "page.png"
        cv2.imwrite(str(path), page)
        marks = sorted(find_marks(read_image(path)), key=lambda m: m.box.x)  # the device path, from a file
        for k in range(5):
            i = start + k
            n_pieces, _ = cv2.connectedComponents((mnist.x_test[i] > 0).astype(np.uint8), connectivity=8)
            mine = [m for m in marks if 10 + 40 * k <= m.box.x < 38 + 40 * k]
            same = len(mine) == 1 and np.array_equal(prepare(mine[0].ink), training[i])
            identical += same
            if n_pieces == 2:  # background + one stroke: nothing to merge, must be exact
                single_piece += 1
                assert same, f"test digit {i}: device input differs from training input"
    assert single_piece > 0.9 * n
    assert identical >= 0.99 * n  # digits drawn in several pieces may lose a stray fragment


def test_prepare_follows_mnist_convention():
    ink = np.zeros((50, 20), np.uint8)
    ink[5:45, 8:12] = 200  # a tall thin "1", off-centre and faint
    out = prepare(ink)
    assert out.shape == (SIZE, SIZE) and out.dtype == np.uint8
    ys, xs = np.nonzero(out)
    assert ys.max() - ys.min() + 1 == BOX  # longer side scaled to 20
    m = cv2.moments(out)
    assert abs(m["m01"] / m["m00"] - 13.5) <= 0.5 and abs(m["m10"] / m["m00"] - 13.5) <= 0.5
    assert out.max() == 255  # faint ink stretched to full contrast


@pytest.mark.parametrize("bad", [np.zeros((5, 5), np.uint8), np.ones((5, 5), np.float32), np.ones((2, 2, 2), np.uint8)])
def test_prepare_rejects_what_it_cannot_use(bad):
    with pytest.raises(ValueError):
        prepare(bad)


def test_the_stroke_knobs_are_where_mnist_strokes_are(mnist):
    """The floor and target of `even_stroke` are MNIST's own 2nd percentile and median of
    stroke width over height: the widths the model was trained on."""
    from digitedge.edge.config import RecognizerConfig
    from digitedge.edge.preprocess import stroke_ratio, tight

    ratios = np.array([stroke_ratio(tight(x)[2]) for x in mnist.x_test[:3000]])
    cfg = RecognizerConfig()
    assert abs(np.percentile(ratios, 2) - cfg.stroke_floor) < 0.005
    assert abs(np.median(ratios) - cfg.stroke_target) < 0.005
    assert (ratios < cfg.stroke_floor).mean() < 0.04  # MNIST-like crops are left alone


def test_a_thin_pen_digit_is_thickened_to_mnist_strokes():
    from digitedge.edge.config import RecognizerConfig
    from digitedge.edge.preprocess import even_stroke, stroke_ratio, tight

    cfg = RecognizerConfig()
    seven = np.zeros((140, 100), np.uint8)
    cv2.polylines(seven, [np.array([[10, 10], [90, 10], [40, 130]])], False, 255, 2)  # a 2 px pen, 120 px tall
    assert stroke_ratio(tight(seven)[2]) < 0.04
    thick = even_stroke(seven, cfg.stroke_floor, cfg.stroke_target)
    assert abs(stroke_ratio(tight(thick)[2]) - cfg.stroke_target) < 0.03
    marker = cv2.dilate(seven, np.ones((13, 13), np.uint8))  # already MNIST-like: the same bytes back
    assert even_stroke(marker, cfg.stroke_floor, cfg.stroke_target) is marker
    # the model input of the thin digit now has MNIST's ink area (MNIST: 74-93 px above 127)
    assert (prepare(seven) > 127).sum() < 50 <= (prepare(thick) > 127).sum()
