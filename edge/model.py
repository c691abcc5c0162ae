"""A digit model on the device: the .tflite file, its metadata sidecar, and one verb.

Every model travels with `<name>.json` beside `<name>.tflite`: labels, input shape and dtype,
preprocessing version, how it was made and how well it did. `Classifier` refuses a model
whose metadata does not match what this runtime feeds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitedge.edge import interpreter as interp
from digitedge.edge.preprocess import PREPROCESS_VERSION, SIZE

METADATA_FORMAT = 1
MIN_TEMPERATURE, MAX_TEMPERATURE = (
    0.2,
    5.0,
)  # calibration's range: beyond it no digit clears the threshold, or every guess does
DEFAULT_MODEL = Path(__file__).with_name("models") / "default.tflite"
INPUT_SHAPE = [SIZE, SIZE, 1]


class ModelError(ValueError):
    """A model file or its metadata cannot be used by this runtime."""


def metadata_path(model_path: str | Path) -> Path:
    """Where a model's metadata sidecar lives."""
    return Path(model_path).with_suffix(".json")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_metadata(model_path: str | Path, metadata: dict[str, Any]) -> Path:
    """Write the sidecar for a model (used by `convert`), tied to that model file by its
    SHA-256: a sidecar edited or copied onto another model is refused on loading."""
    path = metadata_path(model_path)
    path.write_text(json.dumps({**metadata, "model_sha256": file_sha256(model_path)}, indent=2, sort_keys=True) + "\n")
    return path


def read_metadata(model_path: str | Path) -> dict[str, Any]:
    """Read and check a model's sidecar; raise ModelError naming the problem."""
    path = metadata_path(model_path)
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}: metadata sidecar missing (models come from `digitedge convert`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{path}: metadata must be a JSON object")
    checks = {
        "format": METADATA_FORMAT,
        "preprocess_version": PREPROCESS_VERSION,
        "input_shape": INPUT_SHAPE,
        "input_dtype": "uint8",
        "outputs": "logits",
    }
    for key, want in checks.items():
        if meta.get(key) != want:
            raise ModelError(f"{path}: {key}={meta.get(key)!r}, this runtime needs {want!r}")
    model_file = Path(model_path)
    if model_file.is_file() and meta.get("model_sha256") != (digest := file_sha256(model_file)):
        raise ModelError(
            f"{path}: model_sha256={meta.get('model_sha256')!r}, but {model_file.name} hashes to {digest}: "
            "this sidecar was not written for this model (python -m digitedge.convert.seal records it for older ones)"
        )
    labels = meta.get("labels")
    if not isinstance(labels, list) or not labels:
        raise ModelError(f"{path}: labels must be a non-empty list, got {labels!r}")
    digits = [x for x in labels if x is not None]
    if any(type(x) is not int for x in digits) or sorted(digits) != list(range(10)) or labels.count(None) > 1:
        raise ModelError(
            f"{path}: labels must be the ten digits 0..9, each once, and at most one null (not a digit), got {labels!r}"
        )
    temperature = meta.get("temperature", 1.0)
    if not isinstance(temperature, (int, float)) or not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ModelError(
            f"{path}: temperature={temperature!r}, expected a number in {MIN_TEMPERATURE}..{MAX_TEMPERATURE}"
        )
    if "reject_threshold" in meta:  # the 0.1 rule, argmax plus a one-sided threshold
        raise ModelError(f"{path}: reject_threshold is no longer read; convert the model again (none_threshold)")
    threshold = meta.get("none_threshold")
    if threshold is not None and (
        not isinstance(threshold, (int, float)) or not 0 < threshold <= 1 or None not in labels
    ):
        raise ModelError(f"{path}: none_threshold={threshold!r} needs a value in (0, 1] and a null (not a digit) label")
    return meta


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
    is the most probable digit either way, with its probability; `none` is P(not a digit)."""

    label: int | None
    confidence: float
    digit: int = 0
    digit_probability: float = 0.0
    none: float = 0.0

    @property
    def digit_confidence(self) -> float:
        """How likely this crop is *some* readable digit."""
        return self.confidence if self.label is not None else 1.0 - self.confidence

    @property
    def if_digit(self) -> float:
        """P(`digit` | the crop is a digit): how sure the reading is once the context (its
        place inside a number) says the crop must be a digit."""
        return self.digit_probability / max(1.0 - self.none, 1e-6)


class Classifier:
    """An int8 digit model ready to classify batches of prepared 28x28 inputs."""

    def __init__(self, model_path: str | Path | None = None, num_threads: int = 1) -> None:
        self.path = Path(model_path) if model_path else DEFAULT_MODEL
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found")
        self.metadata = read_metadata(self.path)
        self.labels: list[int | None] = self.metadata["labels"]
        self.temperature = float(self.metadata.get("temperature", 1.0))
        self.none_threshold: float | None = self.metadata.get("none_threshold")
        try:
            self.interpreter = interp.make_interpreter(self.path, num_threads=num_threads)
        except ValueError as exc:
            raise ModelError(str(exc)) from None
        inp = self.interpreter.get_input_details()[0]
        out = self.interpreter.get_output_details()[0]
        shape, dtype = [int(n) for n in inp["shape"][1:]], np.dtype(inp["dtype"]).name
        if shape != INPUT_SHAPE or dtype != "uint8":
            raise ModelError(
                f"{self.path}: model input is {shape} {dtype}, expected {INPUT_SHAPE} uint8 "
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
        probs = self.probabilities(batch)
        best = decide(probs, self.labels, self.none_threshold)
        digit_columns = [i for i, label in enumerate(self.labels) if label is not None]
        digits = np.array(digit_columns)[probs[:, digit_columns].argmax(axis=1)]
        none = probs[:, self.labels.index(None)] if None in self.labels else np.zeros(len(probs))
        return [
            Prediction(self.labels[i], float(probs[n, i]), self.labels[d], float(probs[n, d]), float(none[n]))
            for n, (i, d) in enumerate(zip(best, digits))
        ]
