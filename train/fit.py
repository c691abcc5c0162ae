"""Train a digit classifier and write a run folder.

A run folder holds everything later steps need: `model.keras`, `history.json`,
`metrics.json` (config, command line, data hash, test accuracy, confusion matrix),
`curves.png` and `confusion.png`. Reads top to bottom: data, model, fit, evaluate, save.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge.preprocess import PREPROCESS_VERSION, to_float
from train import nets, report
from train.backend import keras, tf
from train.data import Prepared, load_mnist, prepare_data

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything that decides a training run."""

    out: Path
    data: str | None = None
    arch: str = "seed"
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0
    val: int = 5000  # images held out of x_train for the curves
    limit_train: int | None = None  # tiny runs for tests
    limit_test: int | None = None
    command: str = ""


def seed_everything(seed: int) -> None:
    """Same seed, same weights, same curves."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def compile_model(model: keras.Model, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def fit(model: keras.Model, data: Prepared, epochs: int, batch_size: int) -> dict[str, list[float]]:
    """Fit with Keras' progress bar, sent to stderr so stdout stays for results."""
    with contextlib.redirect_stdout(sys.stderr):
        history = model.fit(
            to_float(data.x_train),
            data.y_train,
            validation_data=(to_float(data.x_val), data.y_val) if len(data.x_val) else None,
            epochs=epochs,
            batch_size=batch_size,
            verbose=1 if sys.stderr.isatty() else 2,
        )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Float-model class probabilities for prepared uint8 inputs."""
    return model.predict(to_float(x), batch_size=1024, verbose=0)


def train(cfg: TrainConfig) -> dict:
    """Run one training recipe end to end; return the metrics written to the run folder."""
    started = time.time()
    seed_everything(cfg.seed)
    mnist = load_mnist(cfg.data)
    data = prepare_data(mnist, cfg.val, cfg.limit_train, cfg.limit_test)
    log.info("data: %s, %d train / %d val / %d test", mnist.source, len(data.x_train), len(data.x_val), len(data.x_test))

    model = nets.build(cfg.arch)
    compile_model(model, cfg.learning_rate)
    fit_started = time.time()
    history = fit(model, data, cfg.epochs, cfg.batch_size)
    fit_seconds = time.time() - fit_started

    probs = predict(model, data.x_test)
    pred = probs.argmax(axis=1)
    confusion = report.confusion_matrix(data.y_test, pred)
    metrics = {
        "arch": cfg.arch,
        "params": int(model.count_params()),
        "test_accuracy": float((pred == data.y_test).mean()),
        "test_images": int(len(data.y_test)),
        "confusion": confusion.tolist(),
        "data_source": mnist.source,
        "data_sha256": mnist.sha256(),
        "preprocess_version": PREPROCESS_VERSION,
        "train_seconds": round(fit_seconds, 1),
        "train_images_per_second": round(len(data.x_train) * cfg.epochs / fit_seconds, 1),
        "wall_seconds": round(time.time() - started, 1),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
    }
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    report.plot_curves(history, out / "curves.png", title=f"{cfg.arch}: training curves")
    report.plot_confusion(confusion, out / "confusion.png", title=f"{cfg.arch}: test accuracy {metrics['test_accuracy']:.4f}")
    return metrics
