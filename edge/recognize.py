"""Frame -> Recognition: segment, prepare every mark, classify all of them in one call.

Wide marks may be touching digits: each is classified whole and cut into 2..4 pieces, all in
the same batch, and the reading the model is surest of wins (recognition-guided cuts).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.data import Digit, Recognition
from edge.lines import group_lines, read_line
from edge.model import Classifier, Prediction
from edge.preprocess import SIZE, prepare
from edge.segment import Mark, SegmentConfig, find_marks, split_options, to_gray

WIDE = 0.9  # w/h above which a mark may be several touching digits
SURE_PIECE = 0.7  # a cut is taken only if the model is at least this sure of every piece


class Recognizer:
    """Builds the interpreter once; `recognize(frame)` is the one verb, for live and batch."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        segment: SegmentConfig = SegmentConfig(),
        min_confidence: float = 0.5,
        num_threads: int = 1,
    ) -> None:
        self.classifier = Classifier(model_path, num_threads=num_threads)
        self.segment = segment
        self.min_confidence = min_confidence

    def recognize(self, image: np.ndarray) -> Recognition:
        """Read the digits of a BGR or grayscale image; marks the model doubts are dropped."""
        return self.recognize_with_inputs(image)[0]

    def recognize_with_inputs(self, image: np.ndarray) -> tuple[Recognition, list[np.ndarray]]:
        """`recognize`, plus the 28x28 model input of each digit (same order), for display."""
        gray = to_gray(image)
        options = [[[m], *(split_options(m) if m.box.w > WIDE * m.box.h else [])] for m in find_marks(gray, self.segment)]
        pieces = [p for opts in options for opt in opts for p in opt]
        batch = np.empty((len(pieces), SIZE, SIZE, 1), np.uint8)
        for i, piece in enumerate(pieces):
            batch[i, :, :, 0] = prepare(piece.ink)
        preds = iter(enumerate(self.classifier.classify(batch)))
        digits, inputs = [], {}
        for opts in options:
            scored = [(opt, [next(preds) for _ in opt]) for opt in opts]
            best, best_preds = max(scored, key=lambda s: _score(s[0], [p for _, p in s[1]]))
            for m, (row, p) in zip(best, best_preds):
                if p.label is not None and p.confidence >= self.min_confidence:
                    digits.append(Digit(m.box, p.label, p.confidence))
                    inputs[id(digits[-1])] = batch[row, :, :, 0]
        lines = group_lines(digits)
        ordered = tuple(d for line in lines for d in line)
        result = Recognition(gray.shape[1], gray.shape[0], ordered, tuple(read_line(line) for line in lines))
        return result, [inputs[id(d)] for d in ordered]


def _score(marks: list[Mark], preds: list[Prediction]) -> float:
    """How believable a reading of one mark is: geometric mean of the pieces' digit confidence.
    Pieces cut from letters often look like digits, so a cut needs every piece to be sure."""
    if len(marks) > 1 and min(p.digit_confidence for p in preds) < SURE_PIECE:
        return 0.0
    return float(np.exp(np.mean([np.log(max(p.digit_confidence, 1e-6)) for p in preds])))
