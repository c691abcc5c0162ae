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

from digitedge import edge
from digitedge.convert.calibrate import ece, fit_temperature
from digitedge.edge.interpreter import BACKEND, run_batch
from digitedge.edge.model import INPUT_SHAPE, METADATA_FORMAT, Classifier, read_metadata, softmax, write_metadata
from digitedge.edge.preprocess import PREPROCESS_VERSION
from digitedge.train import nets
from digitedge.train.augment import NOT_A_DIGIT, load_fashion
from digitedge.train.backend import keras
from digitedge.train.data import prepare_data
from digitedge.train.fit import EpochData, TrainConfig, evaluate, load_digits, predict, seed_everything, validation_set

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
    max_false_reject: float = 0.005  # the not-a-digit threshold may reject at most this share of digits
    max_false_accept: float = 0.015  # ...to bring negatives' false accepts to this on validation (training
    # fonts); unseen fonts pass a little more often, and the goal there is 2%
    command: str = ""


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


def int8_logits(model_path: Path, x: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """Run the exported model over prepared inputs with the device's own interpreter code."""
    clf = Classifier(model_path)
    return np.concatenate([run_batch(clf.interpreter, x[i : i + chunk]) for i in range(0, len(x), chunk)])


def int8_probabilities(model_path: Path, x: np.ndarray, calibrated: bool = True) -> np.ndarray:
    """What the device reports: softmax of the int8 logits, calibrated by the metadata's
    temperature unless `calibrated=False`."""
    temperature = read_metadata(model_path).get("temperature", 1.0) if calibrated else 1.0
    return softmax(int8_logits(model_path, x), temperature)


def convert(cfg: ConvertConfig) -> dict:
    """QAT + int8 export + verification; return the metadata written beside the model."""
    run = Path(cfg.run)
    model_file = run / "model.keras"
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_file}: no trained model (run `digitedge train --out {run}` first)")
    train_metrics = json.loads((run / "metrics.json").read_text())
    out = Path(cfg.out) if cfg.out else run / "model_int8.tflite"

    seed_everything(cfg.seed)
    tcfg = TrainConfig(
        **{**train_metrics["config"], "limit_train": cfg.limit_train, "limit_test": cfg.limit_test}
    ).resolved()
    mnist, usps_test = load_digits(cfg.data, tcfg.usps, cfg.limit_test)
    fashion_train, fashion_test = load_fashion(tcfg.fashion) or (None, None)
    data = prepare_data(mnist, tcfg.val, cfg.limit_train, cfg.limit_test)
    labels = train_metrics.get("labels", list(range(10)))
    open_set = None in labels
    float_model = keras.models.load_model(model_file)
    logit_model = nets.to_logits(float_model)

    from digitedge.convert.export import quantize_aware, to_int8_tflite

    # Fine-tune on the very mixture training used (augmented digits, negatives), with fresh
    # epochs numbered after training's, so the not-a-digit class is not forgotten.
    mixture, trained = EpochData(tcfg, mnist, data, fashion_train), tcfg.epochs or 0
    qat = quantize_aware(
        logit_model, (mixture(trained + e) for e in range(cfg.qat_epochs)), cfg.batch_size, cfg.learning_rate
    )
    rng = np.random.default_rng(cfg.seed)
    calib = data.x_train[rng.choice(len(data.x_train), min(cfg.calibration, len(data.x_train)), replace=False)]
    tflite = to_int8_tflite(qat, calib)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(tflite)

    meta = {
        "format": METADATA_FORMAT,
        "labels": labels,
        "input_shape": INPUT_SHAPE,
        "input_dtype": "uint8",
        "outputs": "logits",
        "preprocess_version": PREPROCESS_VERSION,
        "arch": train_metrics.get("arch"),
        "params": float_model.count_params(),
        "macs": nets.macs(float_model),
        "train_command": tcfg.command,
        "convert_command": cfg.command,
        "seed": {"train": tcfg.seed, "convert": cfg.seed},
        "training": {k: train_metrics.get(k) for k in ("test_accuracy", "train_seconds", "wall_seconds")},
        "data": {"source": mnist.source, "sha256": mnist.sha256(), "train_sha256": train_metrics.get("data_sha256")},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "package_version": edge.__version__,
    }
    write_metadata(out, meta)  # provisional: the device code needs it to load the model

    # Calibrate on held-out training digits (and negatives), never on the test set.
    x_val, y_val = validation_set(tcfg, mnist, data, fashion_train)
    val_logits = int8_logits(out, x_val) if len(x_val) else None
    meta["temperature"] = fit_temperature(val_logits, y_val) if val_logits is not None else 1.0
    if open_set and val_logits is not None:
        val_probs = softmax(val_logits, meta["temperature"])  # what the device will see
        digits = y_val != NOT_A_DIGIT
        meta["none_threshold"] = fit_none_threshold(
            val_probs[digits], val_probs[~digits], labels, cfg.max_false_reject, cfg.max_false_accept
        )
    write_metadata(out, meta)

    results = {
        name: evaluate(fn, data, mnist, fashion_test, tcfg.seed, open_set, usps_test=usps_test)
        for name, fn in (
            ("float", lambda x: predict(float_model, x)),
            ("qat", lambda x: softmax(predict(qat, x))),
            ("int8", lambda x: int8_probabilities(out, x)),
        )
    }
    # What the device does (argmax plus the not-a-digit threshold), with accuracy per nuisance.
    results["device"] = evaluate(
        lambda x: int8_probabilities(out, x),
        data,
        mnist,
        fashion_test,
        tcfg.seed,
        open_set,
        by_nuisance=True,
        none_threshold=meta.get("none_threshold"),
        usps_test=usps_test,
    )
    figures = {name: r[0] for name, r in results.items()}
    pred = {name: r[1].argmax(axis=1) for name, r in results.items()}
    y = data.y_test
    acc = {name: f["test_accuracy"] for name, f in figures.items()}
    drop_pp = (acc["float"] - acc["int8"]) * 100
    meta["verification"] = {
        "test_images": int(len(y)),
        "float_accuracy": acc["float"],
        "qat_accuracy": acc["qat"],
        "int8_accuracy": acc["int8"],
        **{f"{name}_digit_accuracy": figures[name]["digit_accuracy"] for name in ("float", "qat", "int8")},
        "agreement": float((pred["float"] == pred["int8"]).mean()),
        "qat_agreement": float((pred["qat"] == pred["int8"]).mean()),
        "drop_pp": round(drop_pp, 3),
        "tolerance_pp": cfg.tolerance_pp,
        "passed": drop_pp <= cfg.tolerance_pp,
        "int8_camera_like_accuracy": figures["int8"]["camera_like_accuracy"],
        **{
            f"int8_{k}": figures["int8"][k]
            for k in ("false_reject", "false_accept", "negatives_tested", "usps_test_accuracy", "usps_digit_accuracy")
            if k in figures["int8"]
        },
        "int8_ece": ece(results["int8"][1], y),
        "device": {k: v for k, v in figures["device"].items() if k != "confusion"},
        "int8_ece_uncalibrated": ece(int8_probabilities(out, data.x_test, calibrated=False), y),
        "backend": BACKEND,
        "size_bytes": len(tflite),
    }
    write_metadata(out, meta)
    (run / "convert.json").write_text(json.dumps({"model": str(out), **meta}, indent=1) + "\n")  # for reports
    log.info("wrote %s (%d bytes) and %s", out, len(tflite), out.with_suffix(".json"))
    if not meta["verification"]["passed"]:
        raise VerificationFailed(
            f"int8 accuracy {acc['int8']:.4f} is {drop_pp:.2f} pp below float {acc['float']:.4f} "
            f"(tolerance {cfg.tolerance_pp} pp); model kept at {out} for inspection"
        )
    return meta
