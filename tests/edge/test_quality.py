"""Reading quality on generated scenes (MNIST *test* digits on paper), against ground truth.

The floors below are what the current segmenter and bundled model reach with margin; they
guard against regressions. README reports the measured figures (python -m train.scenes --score).
"""

from __future__ import annotations

import pytest

from edge.recognize import Recognizer
from train.scenes import scene_stream, score

N = 40
FLOORS = {
    "clean": {"recall": 0.98, "precision": 0.98, "line_exact": 0.9},
    "hard": {"recall": 0.8, "precision": 0.88, "line_exact": 0.6},
}


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer()


@pytest.mark.parametrize("difficulty", ["clean", "hard"])
def test_scene_quality_floor(recognizer, mnist, difficulty):
    stream = scene_stream(mnist.x_test, mnist.y_test, seed=4242, difficulty=difficulty)
    figures = score(recognizer.recognize, [next(stream) for _ in range(N)])
    for key, floor in FLOORS[difficulty].items():
        assert figures[key] >= floor, f"{difficulty} {key} = {figures[key]:.3f} < {floor}"


def test_most_letters_are_not_read_as_digits(recognizer):
    """Pages of letters and symbols in a font training never saw: few marks may pass as digits."""
    import cv2
    import numpy as np

    from edge.segment import find_marks
    from train.augment import NON_DIGIT_CHARS

    rng = np.random.default_rng(1)
    accepted = marks = 0
    for _ in range(40):
        page = np.full((160, 640), 255, np.uint8)
        text = " ".join(rng.choice(list(NON_DIGIT_CHARS), 6))
        cv2.putText(page, text, (20, 100), cv2.FONT_HERSHEY_SIMPLEX, rng.uniform(1.2, 2.5), 0, int(rng.integers(2, 5)), cv2.LINE_AA)
        marks += len(find_marks(page))
        accepted += len(recognizer.recognize(page).digits)
    assert marks > 150
    assert accepted / marks <= 0.25  # measured 0.17 with the bundled model; the target is 0.02
