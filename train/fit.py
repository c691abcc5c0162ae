"""Train a digit classifier and write a run folder.

A run folder holds everything later steps need: `model.keras`, `history.json`,
`metrics.json` (config, command line, data hash, test figures, confusion matrix),
`curves.png` and `confusion.png`. Reads top to bottom: data, model, fit, evaluate, save.

With augmentation on, every epoch sees fresh camera-like versions of half the digits (the
other half clean); with negatives on, an 11th class "not a digit" is trained from synthetic
non-digits (and Fashion-MNIST when given). With `usps`, USPS train joins MNIST train (a
second population of writers, so the not-a-digit threshold is calibrated on both) and USPS
test is reported beside MNIST test.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from digitedge.edge.model import decide
from digitedge.edge.preprocess import PREPROCESS_VERSION, prepare_batch, to_float
from digitedge.train import augment, nets, report
from digitedge.train.backend import keras, tf
from digitedge.train.config import TrainConfig
from digitedge.train.data import Mnist, Prepared, load_mnist, load_usps, prepare_data, with_usps

log = logging.getLogger(__name__)


Labelled = tuple[np.ndarray, np.ndarray]  # prepared inputs and their labels


def load_digits(data: str | None, usps: str | None, limit_test: int | None) -> tuple[Mnist, Labelled | None]:
    """MNIST (with USPS train shuffled in when `usps` is given) and the prepared USPS test."""
    mnist = load_mnist(data)
    if not usps:
        return mnist, None
    u = load_usps(usps)
    return with_usps(mnist, u), (prepare_batch(u.x_test[:limit_test]), u.y_test[:limit_test])


def validation_set(
    cfg: TrainConfig, mnist: Mnist, data: Prepared, fashion: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out digits, plus negatives in the training proportion when there is a not-a-digit
    class (used for the curves, and by `convert` for calibration)."""
    x, y = data.x_val, data.y_val
    if cfg.negatives and len(x):
        n = int(len(x) * cfg.negatives)
        x = np.concatenate([x, augment.negatives(n, cfg.seed + 5, mnist.x_train[len(data.x_train) :], fashion)])
        y = np.concatenate([y, np.full(n, augment.NOT_A_DIGIT, y.dtype)])
    return x, y


def seed_everything(seed: int) -> None:
    """Same seed, same weights, same curves."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def compile_model(model: keras.Model, learning_rate: float, from_logits: bool = False) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
        metrics=["accuracy"],
    )


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Float-model class probabilities for prepared uint8 inputs."""
    return model.predict(to_float(x), batch_size=1024, verbose=0)


class EpochData:
    """The training set of each epoch: clean and fresh camera-like digits, plus negatives."""

    def __init__(self, cfg: TrainConfig, mnist: Mnist, data: Prepared, fashion: np.ndarray | None) -> None:
        self.cfg, self.data, self.fashion = cfg, data, fashion
        self.raw = mnist.x_train[: len(data.x_train)]  # the same images, before preparation

    def __call__(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        cfg, data = self.cfg, self.data
        seed = cfg.seed * 1000 + epoch
        rng = np.random.default_rng(seed)
        x, y = data.x_train.copy(), data.y_train.copy()
        if cfg.augment:
            pick = rng.random(len(x)) < 0.5
            x[pick] = augment.augment_batch(self.raw[pick], seed, y[pick], cfg.longest_tail)
        if cfg.negatives:
            n = int(len(x) * cfg.negatives)
            x = np.concatenate([x, augment.negatives(n, seed, self.raw, self.fashion)])
            y = np.concatenate([y, np.full(n, augment.NOT_A_DIGIT, y.dtype)])
        order = rng.permutation(len(x))
        return x[order], y[order]


def fit(
    model: keras.Model, cfg: TrainConfig, epochs: EpochData, val: tuple[np.ndarray, np.ndarray]
) -> dict[str, list[float]]:
    """One Keras fit call per epoch (fresh data each time), learning rate on a cosine schedule
    from `cfg.learning_rate` down to 5% of it; progress goes to stderr."""
    assert cfg.epochs is not None, "fit takes a resolved config"
    history: dict[str, list[float]] = {}
    verbose = 1 if sys.stderr.isatty() else 2
    with contextlib.redirect_stdout(sys.stderr):
        for epoch in range(cfg.epochs):
            progress = epoch / max(cfg.epochs - 1, 1)
            model.optimizer.learning_rate.assign(
                cfg.learning_rate * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * progress)))
            )
            x, y = epochs(epoch)
            h = model.fit(
                to_float(x),
                y,
                validation_data=(to_float(val[0]), val[1]) if len(val[0]) else None,
                initial_epoch=epoch,
                epochs=epoch + 1,
                batch_size=cfg.batch_size,
                verbose=verbose,
                shuffle=False,
            )
            for k, v in h.history.items():
                history.setdefault(k, []).extend(float(a) for a in v)
    return history


def evaluate(
    probs_of: Callable[[np.ndarray], np.ndarray],
    data: Prepared,
    mnist: Mnist,
    fashion_test: np.ndarray | None,
    seed: int,
    open_set: bool,
    by_nuisance: bool = False,
    none_threshold: float | None = None,
    usps_test: Labelled | None = None,
) -> tuple[dict, np.ndarray]:
    """Test figures of any model (float, QAT or int8, given as inputs -> probabilities):
    MNIST accuracy, camera-like accuracy, USPS test when given, and with a not-a-digit class
    the open-set rates. Also returns the MNIST test probabilities, for what the caller
    measures beyond these."""
    labels = list(range(10)) + ([None] if open_set else [])

    def classes(x: np.ndarray) -> np.ndarray:
        return decide(probs_of(x), labels, none_threshold)

    probs = probs_of(data.x_test)
    pred = decide(probs, labels, none_threshold)
    raw_test = mnist.x_test[: len(data.x_test)]
    camera = classes(augment.augment_batch(raw_test, seed + 99))
    out = {
        "test_accuracy": float((pred == data.y_test).mean()),
        # Closed set: the most probable of the ten digits, i.e. how well the model reads a digit
        # it is shown; digits the open-set rule turns away are counted by false_reject instead.
        "digit_accuracy": float((probs[:, :10].argmax(axis=1) == data.y_test).mean()),
        "test_images": int(len(data.y_test)),
        "camera_like_accuracy": float((camera == data.y_test).mean()),
        "confusion": report.confusion_matrix(data.y_test, pred, probs.shape[1]).tolist(),
    }
    if usps_test is not None:
        usps_probs = probs_of(usps_test[0])
        out["usps_test_accuracy"] = float((decide(usps_probs, labels, none_threshold) == usps_test[1]).mean())
        out["usps_digit_accuracy"] = float((usps_probs[:, :10].argmax(axis=1) == usps_test[1]).mean())
    if by_nuisance:
        out["accuracy_by_nuisance"] = {
            name: float(
                (classes(augment.nuisance_batch(raw_test, seed + augment.NUISANCE_SEED, name)) == data.y_test).mean()
            )
            for name in augment.NUISANCES
        }
    if open_set:
        neg = augment.negatives(len(data.x_test) // 2, seed + 7, raw_test, fashion_test, held_out=True)
        out["false_reject"] = float((pred == augment.NOT_A_DIGIT).mean())
        out["false_accept"] = float((classes(neg) != augment.NOT_A_DIGIT).mean())
        out["negatives_tested"] = int(len(neg))
    return out, probs


def train(cfg: TrainConfig) -> dict:
    """Run one training recipe end to end; return the metrics written to the run folder."""
    started = time.time()
    cfg = cfg.resolved()
    seed_everything(cfg.seed)
    mnist, usps_test = load_digits(cfg.data, cfg.usps, cfg.limit_test)
    fashion_train, fashion_test = augment.load_fashion(cfg.fashion) or (None, None)
    data = prepare_data(mnist, cfg.val, cfg.limit_train, cfg.limit_test)
    log.info(
        "data: %s, %d train / %d val / %d test", mnist.source, len(data.x_train), len(data.x_val), len(data.x_test)
    )

    classes = 11 if cfg.negatives else 10
    model = nets.build(cfg.arch, classes)
    compile_model(model, cfg.learning_rate)
    x_val, y_val = validation_set(cfg, mnist, data, fashion_train)
    fit_started = time.time()
    history = fit(model, cfg, EpochData(cfg, mnist, data, fashion_train), (x_val, y_val))
    fit_seconds = time.time() - fit_started
    seen = len(data.x_train) * (1 + (cfg.negatives or 0)) * (cfg.epochs or 0)  # digits and negatives, all epochs

    figures, _ = evaluate(
        lambda x: predict(model, x),
        data,
        mnist,
        fashion_test,
        cfg.seed,
        bool(cfg.negatives),
        by_nuisance=True,
        usps_test=usps_test,
    )
    metrics = {
        "arch": cfg.arch,
        "params": int(model.count_params()),
        "macs": nets.macs(model),
        "labels": list(range(10)) + ([None] if cfg.negatives else []),
        **figures,
        "data_source": mnist.source,
        "data_sha256": mnist.sha256(),
        "preprocess_version": PREPROCESS_VERSION,
        "train_seconds": round(fit_seconds, 1),
        "train_images_per_second": round(seen / fit_seconds, 1),
        "wall_seconds": round(time.time() - started, 1),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
    }
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    report.plot_curves(history, out / "curves.png", title=f"{cfg.arch}: training curves")
    report.plot_confusion(
        np.array(figures["confusion"]),
        out / "confusion.png",
        title=f"{cfg.arch}: test accuracy {figures['test_accuracy']:.4f}",
    )
    return metrics
