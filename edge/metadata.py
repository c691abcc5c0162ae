"""A model's metadata sidecar: one type that `convert` writes and the device reads.

Every model travels with `<name>.json` beside `<name>.tflite`. The fields the runtime acts on
(labels, input, preprocessing version, calibration) are typed and checked on reading; how the
model was made and how well it did (commands, seeds, data hashes, verification figures) is
kept as written, in `about`. On disk the JSON stays flat, one key per field, so sidecars
written before this type existed read unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from digitedge.edge.preprocess import PREPROCESS_VERSION, SIZE

METADATA_FORMAT = 1
INPUT_SHAPE = (SIZE, SIZE, 1)
# Calibration's range: beyond it no digit clears the threshold, or every guess does.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.2, 5.0


class ModelError(ValueError):
    """A model file or its metadata cannot be used by this runtime."""


@dataclass(frozen=True)
class ModelMetadata:
    """What a sidecar says. `labels` maps outputs to digits, None being "not a digit";
    `temperature` calibrates the logits; `none_threshold` is P(not a digit) from which a
    crop is turned away (None: plain argmax)."""

    labels: tuple[int | None, ...]
    temperature: float = 1.0
    none_threshold: float | None = None
    format: int = METADATA_FORMAT
    preprocess_version: int = PREPROCESS_VERSION
    input_shape: tuple[int, ...] = INPUT_SHAPE
    input_dtype: str = "uint8"
    outputs: str = "logits"
    model_sha256: str = ""  # filled in by `write_metadata`
    about: Mapping[str, Any] = field(default_factory=dict)  # provenance and figures, as written

    def to_json(self) -> dict[str, Any]:
        """The flat JSON object of the sidecar."""
        typed = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "about"}
        typed.update(labels=list(self.labels), input_shape=list(self.input_shape))
        if self.none_threshold is None:
            del typed["none_threshold"]
        return {**self.about, **typed}

    @classmethod
    def from_json(cls, raw: object, where: Path | str = "metadata") -> ModelMetadata:
        """Check a parsed sidecar against what this runtime feeds and reads; ModelError
        naming `where` and the field otherwise."""
        if not isinstance(raw, dict):
            raise ModelError(f"{where}: metadata must be a JSON object")
        needs = {
            "format": METADATA_FORMAT,
            "preprocess_version": PREPROCESS_VERSION,
            "input_shape": list(INPUT_SHAPE),
            "input_dtype": "uint8",
            "outputs": "logits",
        }
        for key, want in needs.items():
            if raw.get(key) != want:
                raise ModelError(f"{where}: {key}={raw.get(key)!r}, this runtime needs {want!r}")
        labels = raw.get("labels")
        if not isinstance(labels, list) or not labels:
            raise ModelError(f"{where}: labels must be a non-empty list, got {labels!r}")
        digits = [x for x in labels if x is not None]
        if any(type(x) is not int for x in digits) or sorted(digits) != list(range(10)) or labels.count(None) > 1:
            raise ModelError(
                f"{where}: labels must be the ten digits 0..9, each once, and at most one null (not a digit), "
                f"got {labels!r}"
            )
        temperature = raw.get("temperature", 1.0)
        if not isinstance(temperature, (int, float)) or not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
            raise ModelError(
                f"{where}: temperature={temperature!r}, expected a number in {MIN_TEMPERATURE}..{MAX_TEMPERATURE}"
            )
        if "reject_threshold" in raw:  # the 0.1 rule, argmax plus a one-sided threshold
            raise ModelError(f"{where}: reject_threshold is no longer read; convert the model again (none_threshold)")
        threshold = raw.get("none_threshold")
        if threshold is not None and (
            not isinstance(threshold, (int, float)) or not 0 < threshold <= 1 or None not in labels
        ):
            raise ModelError(
                f"{where}: none_threshold={threshold!r} needs a value in (0, 1] and a null (not a digit) label"
            )
        typed = {f.name for f in fields(cls)} - {"about"}
        return cls(
            labels=tuple(labels),
            temperature=float(temperature),
            none_threshold=None if threshold is None else float(threshold),
            model_sha256=str(raw.get("model_sha256", "")),
            about={k: v for k, v in raw.items() if k not in typed},
        )


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


def write_metadata(model_path: str | Path, metadata: ModelMetadata) -> Path:
    """Write the sidecar for a model, tied to that model file by its SHA-256: a sidecar
    edited or copied onto another model is refused on loading."""
    path = metadata_path(model_path)
    doc = {**metadata.to_json(), "model_sha256": file_sha256(model_path)}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return path


def load_sidecar(model_path: str | Path) -> Any:
    """The sidecar's JSON as parsed, unchecked; ModelError when missing or unreadable."""
    path = metadata_path(model_path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}: metadata sidecar missing (models come from `digitedge convert`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable metadata ({exc})") from None


def read_metadata(model_path: str | Path) -> ModelMetadata:
    """Read and check a model's sidecar, and that it was written for this model file."""
    path = metadata_path(model_path)
    meta = ModelMetadata.from_json(load_sidecar(model_path), path)
    model_file = Path(model_path)
    if model_file.is_file() and meta.model_sha256 != (digest := file_sha256(model_file)):
        raise ModelError(
            f"{path}: model_sha256={meta.model_sha256 or None!r}, but {model_file.name} hashes to {digest}: "
            "this sidecar was not written for this model (python -m digitedge.convert.seal records it for older ones)"
        )
    return meta
