"""A digit model on the device: the .tflite file with its sidecar (`edge/metadata.py`), and
one verb. `Classifier` refuses a model whose metadata does not match what this runtime feeds
it, or whose interpreter disagrees with its metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitedge.edge import interpreter as interp
from digitedge.edge.metadata import INPUT_SHAPE, ModelError, read_metadata

__all__ = ["DEFAULT_MODEL", "Classifier", "ModelError", "Prediction", "decide", "softmax"]

DEFAULT_MODEL = Path(__file__).with_name("models") / "default.tflite"


def decide(probs: np.ndarray, labels: list[int | None], none_threshold: float | None = None) -> np.ndarray:
    """Class index per row. Without a threshold: the most probable class. With one: "not a
    digit" when P(not a digit) >= `none_threshold`, else the most probable digit. Conversion
    picks the threshold that keeps false rejects lowest at the target false-accept rate, which
    may call fewer crops "not a digit" than argmax does, or more."""
    if none_threshold is None or None not in labels:
        best: np.ndarray = probs.argmax(axis=1)
        return best
    none = labels.index(None)
    digits = probs.copy()
    digits[:, none] = -1.0
    return np.where(probs[:, none] >= none_threshold, none, digits.argmax(axis=1))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Calibrated probabilities: softmax(logits / T). Models output int8 logits rather than
    int8 probabilities, whose 1/256 steps would leave nothing for calibration to work on."""
    z = logits / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    probs: np.ndarray = z / z.sum(axis=1, keepdims=True)
    return probs


@dataclass(frozen=True)
class Prediction:
    """One classified crop: a digit with its calibrated probability, or label None when the
    model's "not a digit" class wins (confidence is then that class's probability). `digit`
    is the most probable digit either way, with its probability; `none_probability` is
    P(not a digit)."""

    label: int | None
    confidence: float
    digit: int = 0
    digit_probability: float = 0.0
    none_probability: float = 0.0

    @property
    def digit_confidence(self) -> float:
        """How likely this crop is *some* readable digit."""
        return self.confidence if self.label is not None else 1.0 - self.confidence

    @property
    def conditional_probability(self) -> float:
        """P(`digit` | the crop is a digit): how sure the reading is once the context (its
        place inside a number) says the crop must be a digit."""
        return self.digit_probability / max(1.0 - self.none_probability, 1e-6)


SHIFTED = ((1, 0), (-1, 0), (0, 1), (0, -1))  # the second look: px right, px down (bench/second_look.py)


def _shifted(batch: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """(N, H, W, 1) inputs moved `dx` px right and `dy` px down, black filling in."""
    out = np.zeros_like(batch)
    H, W = batch.shape[1:3]
    out[:, max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = batch[
        :, max(-dy, 0) : H + min(-dy, 0), max(-dx, 0) : W + min(-dx, 0)
    ]
    return out


class Classifier:
    """An int8 digit model ready to classify batches of prepared 28x28 inputs."""

    def __init__(self, model_path: str | Path | None = None, num_threads: int = 1) -> None:
        self.path = Path(model_path) if model_path else DEFAULT_MODEL
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found")
        self.metadata = read_metadata(self.path)
        self.labels: list[int | None] = list(self.metadata.labels)
        self.temperature = self.metadata.temperature
        self.none_threshold = self.metadata.none_threshold
        try:
            self.interpreter = interp.make_interpreter(self.path, num_threads=num_threads)
        except ValueError as exc:
            raise ModelError(str(exc)) from None
        inp = self.interpreter.get_input_details()[0]
        out = self.interpreter.get_output_details()[0]
        shape, dtype = [int(n) for n in inp["shape"][1:]], np.dtype(inp["dtype"]).name
        if shape != list(INPUT_SHAPE) or dtype != "uint8":
            raise ModelError(
                f"{self.path}: model input is {shape} {dtype}, expected {list(INPUT_SHAPE)} uint8 "
                "(a full-integer model from `digitedge convert`)"
            )
        if out["shape"][-1] != len(self.labels):
            raise ModelError(f"{self.path}: model has {out['shape'][-1]} outputs but {len(self.labels)} labels")

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28, 1) uint8 -> (N, classes) calibrated probabilities, in one interpreter call.

        The model outputs logits; the temperature fitted at conversion calibrates them.
        """
        if len(batch) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        return softmax(interp.run_batch(self.interpreter, batch), self.temperature)

    def classify(self, batch: np.ndarray) -> list[Prediction]:
        """(N, 28, 28, 1) uint8 -> one Prediction per input."""
        return self._predictions(self.probabilities(batch))

    def shifted_probabilities(
        self, batch: np.ndarray, probs: np.ndarray | None = None, shifts: tuple[tuple[int, int], ...] = SHIFTED
    ) -> np.ndarray:
        """The geometric mean of the probabilities of each input as it is and moved by each
        of `shifts` (px right, px down: by default one pixel left, right, up and down), the
        moved ones in one interpreter call (`probs`: the unmoved ones', if known already).

        Centring by the centre of mass rounds to whole pixels, so a digit's input can land a
        pixel from where training put most like it; averaging over the four nearest
        placements turns away fewer digits of other writers and reads more of them right.
        Which four (straight or diagonal) is chosen on validation digits for the bundled
        model by bench/second_look.py."""
        placements = ((0, 0), *shifts) if probs is None else shifts
        moved = self.probabilities(np.concatenate([_shifted(batch, dx, dy) for dx, dy in placements]))
        logs = np.log(moved.reshape(len(placements), len(batch), -1) + 1e-9).sum(axis=0)
        if probs is not None:
            logs += np.log(probs + 1e-9)
        mean = np.exp((logs - logs.max(axis=1, keepdims=True)) / (len(shifts) + 1))
        averaged: np.ndarray = mean / mean.sum(axis=1, keepdims=True)
        return averaged

    def read_again(self, batch: np.ndarray) -> list[Prediction]:
        """One Prediction per input from `shifted_probabilities`: a second look at inputs
        already read once."""
        return self._predictions(self.shifted_probabilities(batch))

    def _predictions(self, probs: np.ndarray) -> list[Prediction]:
        """One Prediction per row of calibrated probabilities, by the device's rule."""
        best = decide(probs, self.labels, self.none_threshold)
        digit_columns = [i for i, label in enumerate(self.labels) if label is not None]
        digits = np.array(digit_columns)[probs[:, digit_columns].argmax(axis=1)]
        none = probs[:, self.labels.index(None)] if None in self.labels else np.zeros(len(probs))
        return [
            Prediction(self.labels[i], float(probs[n, i]), self.labels[d], float(probs[n, d]), float(none[n]))
            for n, (i, d) in enumerate(zip(best, digits))
        ]
