"""From a training run folder to a verified int8 model with its metadata sidecar.

Steps: load the float model and MNIST, quantization-aware fine-tuning, int8 export, then
verification on the MNIST test set through the very interpreter code the device runs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import edge
from edge.interpreter import BACKEND
from edge.model import INPUT_SHAPE, METADATA_FORMAT, Classifier, write_metadata
from edge.preprocess import PREPROCESS_VERSION
from train.backend import keras
from train.data import load_mnist, prepare_data
from train.fit import predict, seed_everything

log = logging.getLogger(__name__)


class VerificationFailed(RuntimeError):
    """The int8 model lost more accuracy than allowed; the files are written for inspection."""


@dataclass
class ConvertConfig:
    """Everything that decides a conversion."""

    run: Path
    out: Path | None = None  # default: RUN/model_int8.tflite
    data: str | None = None
    qat_epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-4
    calibration: int = 500
    tolerance_pp: float = 0.2
    seed: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    command: str = ""


def int8_probabilities(model_path: Path, x: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """Run the exported model over prepared inputs with the device's own Classifier."""
    clf = Classifier(model_path)
    return np.concatenate([clf.probabilities(x[i : i + chunk]) for i in range(0, len(x), chunk)])


def convert(cfg: ConvertConfig) -> dict:
    """QAT + int8 export + verification; return the metadata written beside the model."""
    run = Path(cfg.run)
    model_file = run / "model.keras"
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_file}: no trained model (run `digitedge train --out {run}` first)")
    train_metrics = json.loads((run / "metrics.json").read_text())
    out = Path(cfg.out) if cfg.out else run / "model_int8.tflite"

    seed_everything(cfg.seed)
    mnist = load_mnist(cfg.data)
    data = prepare_data(mnist, 0, cfg.limit_train, cfg.limit_test)
    float_model = keras.models.load_model(model_file)

    from convert.export import quantize_aware, to_int8_tflite

    qat = quantize_aware(float_model, data, cfg.qat_epochs, cfg.batch_size, cfg.learning_rate)
    rng = np.random.default_rng(cfg.seed)
    calib = data.x_train[rng.choice(len(data.x_train), min(cfg.calibration, len(data.x_train)), replace=False)]
    tflite = to_int8_tflite(qat, calib)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(tflite)

    # Provisional sidecar so the device code can load the model for verification.
    meta = {
        "format": METADATA_FORMAT,
        "labels": list(range(10)),
        "input_shape": INPUT_SHAPE,
        "input_dtype": "uint8",
        "preprocess_version": PREPROCESS_VERSION,
        "arch": train_metrics.get("arch"),
        "params": train_metrics.get("params"),
        "train_command": train_metrics.get("config", {}).get("command", ""),
        "convert_command": cfg.command,
        "seed": {"train": train_metrics.get("config", {}).get("seed"), "convert": cfg.seed},
        "training": {k: train_metrics.get(k) for k in ("test_accuracy", "train_seconds", "wall_seconds")},
        "data": {"source": mnist.source, "sha256": mnist.sha256(), "train_sha256": train_metrics.get("data_sha256")},
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "package_version": edge.__version__,
    }
    write_metadata(out, meta)

    float_pred = predict(float_model, data.x_test).argmax(axis=1)
    qat_pred = predict(qat, data.x_test).argmax(axis=1)
    int8_pred = int8_probabilities(out, data.x_test).argmax(axis=1)
    y = data.y_test
    acc = {name: float((p == y).mean()) for name, p in (("float", float_pred), ("qat", qat_pred), ("int8", int8_pred))}
    drop_pp = (acc["float"] - acc["int8"]) * 100
    meta["verification"] = {
        "test_images": int(len(y)),
        "float_accuracy": acc["float"],
        "qat_accuracy": acc["qat"],
        "int8_accuracy": acc["int8"],
        "agreement": float((float_pred == int8_pred).mean()),
        "qat_agreement": float((qat_pred == int8_pred).mean()),
        "drop_pp": round(drop_pp, 3),
        "tolerance_pp": cfg.tolerance_pp,
        "passed": drop_pp <= cfg.tolerance_pp,
        "backend": BACKEND,
        "size_bytes": len(tflite),
    }
    write_metadata(out, meta)
    log.info("wrote %s (%d bytes) and %s", out, len(tflite), out.with_suffix(".json"))
    if not meta["verification"]["passed"]:
        raise VerificationFailed(
            f"int8 accuracy {acc['int8']:.4f} is {drop_pp:.2f} pp below float {acc['float']:.4f} "
            f"(tolerance {cfg.tolerance_pp} pp); model kept at {out} for inspection"
        )
    return meta
