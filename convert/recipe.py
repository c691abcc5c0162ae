"""From a training run folder to a verified int8 model with its metadata sidecar.

Steps, one function each: load the run and its data, quantize (QAT, then the int8 export),
calibrate (temperature, not-a-digit threshold), verify on the MNIST test set through the
very interpreter code the device runs; then the sidecar is written, once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitedge import edge
from digitedge.convert.calibrate import ece, fit_temperature
from digitedge.convert.config import ConvertConfig
from digitedge.edge.interpreter import BACKEND, make_interpreter, run_batch
from digitedge.edge.metadata import ModelMetadata, write_metadata
from digitedge.edge.model import Classifier, softmax
from digitedge.train import nets
from digitedge.train.augment import NOT_A_DIGIT, load_fashion
from digitedge.train.backend import keras
from digitedge.train.data import Mnist, Prepared, prepare_data
from digitedge.train.fit import (
    EpochData,
    Labelled,
    TrainConfig,
    evaluate,
    load_digits,
    predict,
    seed_everything,
    validation_set,
)

log = logging.getLogger(__name__)


class VerificationFailed(RuntimeError):
    """The int8 model lost more accuracy than allowed; the files are written for inspection."""


def fit_none_threshold(
    digit_probs: np.ndarray, negative_probs: np.ndarray, labels: list, max_false_reject: float, max_false_accept: float
) -> float:
    """The highest threshold on P(not a digit) (so the fewest digits rejected) at which
    validation negatives' false-accept rate is at most `max_false_accept`; if that would reject
    more than `max_false_reject` of validation digits, the lowest threshold within that budget."""
    none = labels.index(None)
    best = 0.99
    for t in np.round(np.arange(0.99, 0.0, -0.01), 2):
        if (digit_probs[:, none] >= t).mean() > max_false_reject:
            break
        best = float(t)
        if (negative_probs[:, none] < t).mean() <= max_false_accept:
            break
    return best


class Int8:
    """The exported model run by the device's own interpreter code (`edge.interpreter`), before
    its sidecar exists: conversion calibrates and verifies it, then writes the sidecar once."""

    def __init__(self, model_path: Path, chunk: int = 1000) -> None:
        self.interpreter, self.chunk = make_interpreter(model_path, num_threads=1), chunk

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [run_batch(self.interpreter, x[i : i + self.chunk]) for i in range(0, len(x), self.chunk)]
        )

    def probabilities(self, x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """What the device reports: softmax of the int8 logits at `temperature`."""
        return softmax(self.logits(x), temperature)


@dataclass(frozen=True)
class Inputs:
    """What conversion starts from: the trained run and the data it was trained on."""

    run: Path
    tcfg: TrainConfig
    metrics: dict[str, Any]
    mnist: Mnist
    data: Prepared
    usps_test: Labelled | None
    fashion_train: np.ndarray | None
    fashion_test: np.ndarray | None
    float_model: Any  # keras.Model

    @property
    def labels(self) -> list[int | None]:
        return list(self.metrics.get("labels", list(range(10))))


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    none_threshold: float | None = None


def convert(cfg: ConvertConfig) -> ModelMetadata:
    """QAT + int8 export + calibration + verification; return the metadata written beside the
    model. The sidecar is written once, complete, also when verification fails (for inspection)."""
    inputs = load_inputs(cfg)
    out = Path(cfg.out) if cfg.out else inputs.run / "model_int8.tflite"
    qat, tflite = quantize(cfg, inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(tflite)
    int8 = Int8(out)
    calibration = calibrate(cfg, inputs, int8)
    verification = verify(cfg, inputs, qat, int8, calibration, len(tflite))
    meta = ModelMetadata(
        labels=tuple(inputs.labels),
        temperature=calibration.temperature,
        none_threshold=calibration.none_threshold,
        about={**provenance(cfg, inputs), "verification": verification},
    )
    write_metadata(out, meta)
    meta = Classifier(out).metadata  # the device loads what was written (with its hash), or says why not
    doc = {"model": str(out), **meta.to_json()}
    (inputs.run / "convert.json").write_text(json.dumps(doc, indent=1) + "\n")  # for reports
    log.info("wrote %s (%d bytes) and %s", out, len(tflite), out.with_suffix(".json"))
    if not verification["passed"]:
        raise VerificationFailed(
            f"int8 accuracy {verification['int8_accuracy']:.4f} is {verification['drop_pp']:.2f} pp below float "
            f"{verification['float_accuracy']:.4f} (tolerance "
            f"{cfg.tolerance_pp} pp); model kept at {out} for inspection"
        )
    return meta


def load_inputs(cfg: ConvertConfig) -> Inputs:
    """The run folder's model and metrics, and the same data, prepared the same way."""
    run = Path(cfg.run)
    model_file = run / "model.keras"
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_file}: no trained model (run `digitedge train --out {run}` first)")
    metrics = json.loads((run / "metrics.json").read_text())
    seed_everything(cfg.seed)
    tcfg = TrainConfig(**{**metrics["config"], "limit_train": cfg.limit_train, "limit_test": cfg.limit_test}).resolved()
    mnist, usps_test = load_digits(cfg.data, tcfg.usps, cfg.limit_test)
    fashion_train, fashion_test = load_fashion(tcfg.fashion) or (None, None)
    data = prepare_data(mnist, tcfg.val, cfg.limit_train, cfg.limit_test)
    float_model = keras.models.load_model(model_file)
    return Inputs(run, tcfg, metrics, mnist, data, usps_test, fashion_train, fashion_test, float_model)


def quantize(cfg: ConvertConfig, inputs: Inputs) -> tuple[Any, bytes]:
    """Quantization-aware fine-tuning, then the full-integer export: (QAT model, .tflite bytes).
    Fine-tunes on the very mixture training used (augmented digits, negatives), with fresh
    epochs numbered after training's, so the not-a-digit class is not forgotten."""
    from digitedge.convert.export import quantize_aware, to_int8_tflite

    tcfg, data = inputs.tcfg, inputs.data
    mixture, trained = EpochData(tcfg, inputs.mnist, data, inputs.fashion_train), tcfg.epochs or 0
    epochs = (mixture(trained + e) for e in range(cfg.qat_epochs))
    qat = quantize_aware(nets.to_logits(inputs.float_model), epochs, cfg.batch_size, cfg.learning_rate)
    rng = np.random.default_rng(cfg.seed)
    calib = data.x_train[rng.choice(len(data.x_train), min(cfg.calibration, len(data.x_train)), replace=False)]
    return qat, to_int8_tflite(qat, calib)


def calibrate(cfg: ConvertConfig, inputs: Inputs, int8: Int8) -> Calibration:
    """Temperature and not-a-digit threshold, fitted on held-out training digits (of every
    population trained on) and negatives, never on the test set."""
    x_val, y_val = validation_set(inputs.tcfg, inputs.mnist, inputs.data, inputs.fashion_train)
    if not len(x_val):
        return Calibration()
    logits = int8.logits(x_val)
    temperature = fit_temperature(logits, y_val)
    if None not in inputs.labels:
        return Calibration(temperature)
    probs = softmax(logits, temperature)  # what the device will see
    digits = y_val != NOT_A_DIGIT
    threshold = fit_none_threshold(
        probs[digits], probs[~digits], inputs.labels, cfg.max_false_reject, cfg.max_false_accept
    )
    return Calibration(temperature, threshold)


def verify(
    cfg: ConvertConfig, inputs: Inputs, qat: Any, int8: Int8, calibration: Calibration, size: int
) -> dict[str, Any]:
    """Test figures of the float, QAT and int8 models, and of the device's decision rule."""
    data, tcfg, open_set = inputs.data, inputs.tcfg, None in inputs.labels

    def figures(probs_of: Any, **how: Any) -> tuple[dict[str, Any], np.ndarray]:
        return evaluate(
            probs_of, data, inputs.mnist, inputs.fashion_test, tcfg.seed, open_set, usps_test=inputs.usps_test, **how
        )

    device_probs = lambda x: int8.probabilities(x, calibration.temperature)  # noqa: E731
    results = {
        "float": figures(lambda x: predict(inputs.float_model, x)),
        "qat": figures(lambda x: softmax(predict(qat, x))),
        "int8": figures(device_probs),
        # What the device does (argmax plus the not-a-digit threshold), with accuracy per nuisance.
        "device": figures(device_probs, by_nuisance=True, none_threshold=calibration.none_threshold),
    }
    got = {name: r[0] for name, r in results.items()}
    pred = {name: r[1].argmax(axis=1) for name, r in results.items()}
    y = data.y_test
    acc = {name: f["test_accuracy"] for name, f in got.items()}
    drop_pp = (acc["float"] - acc["int8"]) * 100
    optional = ("false_reject", "false_accept", "negatives_tested", "usps_test_accuracy", "usps_digit_accuracy")
    return {
        "test_images": int(len(y)),
        "float_accuracy": acc["float"],
        "qat_accuracy": acc["qat"],
        "int8_accuracy": acc["int8"],
        **{f"{name}_digit_accuracy": got[name]["digit_accuracy"] for name in ("float", "qat", "int8")},
        "agreement": float((pred["float"] == pred["int8"]).mean()),
        "qat_agreement": float((pred["qat"] == pred["int8"]).mean()),
        "drop_pp": round(drop_pp, 3),
        "tolerance_pp": cfg.tolerance_pp,
        "passed": drop_pp <= cfg.tolerance_pp,
        "int8_camera_like_accuracy": got["int8"]["camera_like_accuracy"],
        **{f"int8_{k}": got["int8"][k] for k in optional if k in got["int8"]},
        "int8_ece": ece(results["int8"][1], y),
        "device": {k: v for k, v in got["device"].items() if k != "confusion"},
        "int8_ece_uncalibrated": ece(int8.probabilities(data.x_test), y),
        "backend": BACKEND,
        "size_bytes": size,
    }


def provenance(cfg: ConvertConfig, inputs: Inputs) -> dict[str, Any]:
    """How the model was made: network, commands, seeds, data hashes, training figures."""
    tcfg, metrics, mnist = inputs.tcfg, inputs.metrics, inputs.mnist
    return {
        "arch": metrics.get("arch"),
        "params": inputs.float_model.count_params(),
        "macs": nets.macs(inputs.float_model),
        "train_command": tcfg.command,
        "convert_command": cfg.command,
        "seed": {"train": tcfg.seed, "convert": cfg.seed},
        "training": {k: metrics.get(k) for k in ("test_accuracy", "train_seconds", "wall_seconds")},
        "data": {"source": mnist.source, "sha256": mnist.sha256(), "train_sha256": metrics.get("data_sha256")},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "package_version": edge.__version__,
    }
