"""Fine-tune an int8 model on a user's labelled crops, export it as `convert` does, and gate it.

Reads top to bottom: the parent model and its float weights (`convert.weights`), the crops
(`edge.labels`: a fifth of them held out), a mixture per epoch (the user's crops, shifted,
plus MNIST replay, half camera-like, and synthetic non-digits, so nothing else is
forgotten), a float fine-tune, then `convert`'s own QAT and int8 export and calibration.
Three gates, measured with the device's decision rule through the device's interpreter code
on parent and child alike: MNIST test may lose at most `max_mnist_drop_pp`; held-out
non-digits' false accept may rise at most `max_false_accept_rise_pp`; the held-out crops
must be read better. The model and its sidecar are written either way, naming the parent,
the crops' hash, the command and every figure; `GateFailed` says which gate failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from digitedge import edge
from digitedge.convert.calibrate import fit_temperature
from digitedge.convert.config import ConvertConfig, FinetuneConfig
from digitedge.convert.export import quantize_aware, to_int8_tflite
from digitedge.convert.recipe import Int8, fit_none_threshold
from digitedge.convert.weights import float_model, folded
from digitedge.edge.labels import Crop, LabelError, labelled
from digitedge.edge.metadata import ModelError, ModelMetadata, read_metadata, write_metadata
from digitedge.edge.model import DEFAULT_MODEL, Classifier, decide, softmax
from digitedge.edge.preprocess import prepare_batch, to_float
from digitedge.train import augment, nets
from digitedge.train.data import Mnist, Prepared, load_mnist, load_usps, prepare_data
from digitedge.train.fit import compile_model, evaluate, predict, seed_everything

log = logging.getLogger(__name__)

Labelled = tuple[np.ndarray, np.ndarray]


class GateFailed(RuntimeError):
    """The fine-tuned model failed a gate; it is kept, with its figures, for inspection."""


def finetune(cfg: FinetuneConfig) -> ModelMetadata:
    """Fine-tune, export, calibrate, gate; return the child's metadata (GateFailed if a gate fails)."""
    seed_everything(cfg.seed)
    parent_path = Path(cfg.model or DEFAULT_MODEL)
    parent = Classifier(parent_path).metadata
    labels = list(parent.labels)
    if None not in labels:
        raise ModelError(f"{parent_path}: fine-tuning needs a model with a not-a-digit class")
    if _learnt_usps(parent.about) and not cfg.replay_usps:  # replay them, or they may be forgotten
        if cfg.usps:
            log.info("the parent learnt USPS train too: replaying it from %s", cfg.usps)
            cfg = dataclasses.replace(cfg, replay_usps=True)
        else:
            log.warning("the parent learnt USPS train too; without --usps PATH it is not replayed")
    train_crops, held_crops = split(labelled(cfg.crops), cfg.held_out, cfg.seed)
    mnist = load_mnist(cfg.data)
    data = prepare_data(mnist, 5000, cfg.limit_train, cfg.limit_test)
    replay_x, replay_raw, replay_y = _replay(cfg, mnist, data)
    usps_test = _usps_test(cfg)
    held = _as_arrays(held_crops, labels)

    arch = str(parent.about.get("arch") or "wide-bn")
    model = float_model(parent_path, arch, len(labels))
    parent_int8 = Int8(parent_path)
    agreement = float((predict(model, data.x_test).argmax(1) == parent_int8.logits(data.x_test).argmax(1)).mean())
    if agreement < 0.99:
        raise ModelError(f"{parent_path}: weights read back agree with the model on only {agreement:.1%} of MNIST")
    log.info("float weights read back from %s (agree with it on %.2f%% of MNIST test)", parent_path, 100 * agreement)

    def mixture(epoch: int) -> Labelled:
        return _mixture(cfg, epoch, train_crops, labels, replay_x, replay_raw, replay_y)

    compile_model(model, cfg.learning_rate, from_logits=True)
    with contextlib.redirect_stdout(sys.stderr):  # Keras' progress is a log, not a result
        for epoch in range(cfg.epochs):
            x, y = mixture(epoch)
            model.fit(to_float(x), y, epochs=1, batch_size=cfg.batch_size, verbose=1 if sys.stderr.isatty() else 2)
    qat = quantize_aware(
        model, (mixture(cfg.epochs + e) for e in range(cfg.qat_epochs)), cfg.batch_size, cfg.qat_learning_rate
    )
    rng = np.random.default_rng(cfg.seed)
    calib = data.x_train[rng.choice(len(data.x_train), min(cfg.calibration, len(data.x_train)), replace=False)]
    out = cfg.out / "model.tflite"
    cfg.out.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_int8_tflite(qat, calib))
    child = Int8(out)
    temperature, threshold = _calibrate(cfg, child, parent_int8, parent, data, mnist)

    def figures(model: Int8, t: float, th: float | None) -> dict[str, Any]:
        def probs_of(x: np.ndarray) -> np.ndarray:
            return model.probabilities(x, t)

        got, _ = evaluate(probs_of, data, mnist, None, cfg.seed, True, none_threshold=th, usps_test=usps_test)
        held_pred = decide(probs_of(held[0]), labels, th)
        got["crops_held_out_accuracy"] = float((held_pred == held[1]).mean())
        return {k: v for k, v in got.items() if k != "confusion"}

    before = figures(parent_int8, parent.temperature, parent.none_threshold)
    after = figures(child, temperature, threshold)
    gates = _gates(cfg, before, after)
    meta = ModelMetadata(
        labels=tuple(labels),
        temperature=temperature,
        none_threshold=threshold,
        about={
            "arch": folded(arch),
            "params": int(model.count_params()),
            "macs": nets.macs(model),
            "parent": {"model": str(parent_path), "sha256": parent.model_sha256},
            "crops": {
                "folder": str(cfg.crops),
                "sha256": crops_sha256(train_crops + held_crops),
                "trained_on": len(train_crops),
                "held_out": len(held_crops),
            },
            "finetune_command": cfg.command,
            "finetune": {
                k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(cfg).items() if k != "command"
            },
            "weights_agreement": round(agreement, 4),
            "verification": {
                "before": before,
                "after": after,
                "gates": gates,
                "passed": all(g["passed"] for g in gates.values()),
            },
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "package_version": edge.__version__,
        },
    )
    write_metadata(out, meta)
    meta = read_metadata(out)
    (cfg.out / "finetune.json").write_text(json.dumps({"model": str(out), **meta.about["verification"]}, indent=1))
    failed = [f"{name} = {g['value']} (limit {g['limit']})" for name, g in gates.items() if not g["passed"]]
    if failed:
        raise GateFailed(f"{'; '.join(failed)}; model kept at {out} for inspection")
    return meta


def split(crops: list[Crop], held_out: float, seed: int) -> tuple[list[Crop], list[Crop]]:
    """(train, held out): every label's crops shuffled, a `held_out` share of each kept aside."""
    rng = np.random.default_rng(seed)
    train: list[Crop] = []
    held: list[Crop] = []
    for label in sorted({c.label for c in crops}, key=lambda v: -1 if v is None else v):
        mine = [crops[i] for i in rng.permutation([i for i, c in enumerate(crops) if c.label == label])]
        k = round(len(mine) * held_out)
        held += mine[:k]
        train += mine[k:]
    if len(held) < 2 or len(train) < 2:
        raise LabelError(f"{len(crops)} labelled crops: too few to fine-tune and check (label at least 10)")
    return train, held


def crops_sha256(crops: list[Crop]) -> str:
    """A hash of the labelled inputs, in a fixed order: which crops taught a model."""
    h = hashlib.sha256()
    for c in sorted(crops, key=lambda c: c.id):
        h.update(f"{c.id}\0{c.label}\0".encode())
        h.update(c.input.tobytes())
    return h.hexdigest()


def _as_arrays(crops: list[Crop], labels: list[int | None]) -> Labelled:
    x = np.stack([c.input for c in crops])[..., None]
    return x, np.array([labels.index(c.label) for c in crops])


def _replay(cfg: FinetuneConfig, mnist: Mnist, data: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prepared replay digits, their raw images (for camera-like versions) and labels."""
    raw = mnist.x_train[: len(data.x_train)]
    x, y = data.x_train, data.y_train
    if cfg.replay_usps:
        if not cfg.usps:
            raise ValueError("--replay-usps needs --usps PATH")
        u = load_usps(cfg.usps)
        raw, x, y = (
            np.concatenate([raw, u.x_train]),
            np.concatenate([x, prepare_batch(u.x_train)]),
            np.concatenate([y, u.y_train]),
        )
    return x, raw, y


def _learnt_usps(about: Mapping[str, Any]) -> bool:
    """Whether a model learnt USPS writers: trained on them (its data names USPS), or
    fine-tuned with them replayed."""
    trained = "usps" in str(about.get("data", {}).get("source", "")).lower()
    return trained or bool(about.get("finetune", {}).get("replay_usps"))


def _usps_test(cfg: FinetuneConfig) -> Labelled | None:
    if not cfg.usps:
        return None
    u = load_usps(cfg.usps)
    return prepare_batch(u.x_test[: cfg.limit_test]), u.y_test[: cfg.limit_test]


def _mixture(
    cfg: FinetuneConfig,
    epoch: int,
    crops: list[Crop],
    labels: list[int | None],
    replay_x: np.ndarray,
    replay_raw: np.ndarray,
    replay_y: np.ndarray,
) -> Labelled:
    """One epoch: the user's crops `repeat` times (shifted up to 2 px but the first time),
    replayed digits (half camera-like) and synthetic non-digits, shuffled."""
    seed = cfg.seed * 1000 + epoch
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(replay_x), min(cfg.replay, len(replay_x)), replace=False)
    x, y = replay_x[pick].copy(), replay_y[pick].copy()
    camera = rng.random(len(pick)) < 0.5
    if camera.any():
        x[camera] = augment.augment_batch(replay_raw[pick[camera]], seed, y[camera])
    n = int(len(pick) * cfg.negatives)
    user_x, user_y = _as_arrays(crops, labels)
    shifted = [
        np.roll(user_x, tuple(int(s) for s in rng.integers(-2, 3, 2)), axis=(1, 2)) if r else user_x
        for r in range(cfg.repeat)
    ]
    x = np.concatenate([x, augment.negatives(n, seed, replay_raw, None), *shifted])
    y = np.concatenate([y, np.full(n, augment.NOT_A_DIGIT, y.dtype), np.tile(user_y, cfg.repeat)])
    order = rng.permutation(len(x))
    return x[order], y[order]


def _calibrate(
    cfg: FinetuneConfig, child: Int8, parent: Int8, meta: ModelMetadata, data: Prepared, mnist: Mnist
) -> tuple[float, float]:
    """Temperature and not-a-digit threshold on held-out MNIST train digits and non-digits:
    the temperature as `convert` fits it; the threshold the highest (fewest digits turned
    away) at which the child accepts no more of these non-digits than its parent does."""
    labels = list(meta.labels)
    n = int(len(data.x_val) * cfg.negatives)
    x = np.concatenate([data.x_val, augment.negatives(n, cfg.seed + 5, mnist.x_train[len(data.x_train) :], None)])
    y = np.concatenate([data.y_val, np.full(n, augment.NOT_A_DIGIT, data.y_val.dtype)])
    digits = y != augment.NOT_A_DIGIT
    accepted = decide(parent.probabilities(x[~digits], meta.temperature), labels, meta.none_threshold)
    parent_false_accept = float((accepted != augment.NOT_A_DIGIT).mean())
    logits = child.logits(x)
    temperature = fit_temperature(logits, y)
    probs = softmax(logits, temperature)
    threshold = fit_none_threshold(
        probs[digits], probs[~digits], labels, ConvertConfig(run=Path(".")).max_false_reject, parent_false_accept
    )
    return temperature, threshold


def _gates(cfg: FinetuneConfig, before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The three gates, each with its measured change, its limit and whether it passed."""
    mnist_drop = round(100 * (before["test_accuracy"] - after["test_accuracy"]), 3)
    fa_rise = round(100 * (after["false_accept"] - before["false_accept"]), 3)
    crops_gain = round(100 * (after["crops_held_out_accuracy"] - before["crops_held_out_accuracy"]), 3)
    return {
        "mnist_drop_pp": {
            "value": mnist_drop,
            "limit": cfg.max_mnist_drop_pp,
            "passed": mnist_drop <= cfg.max_mnist_drop_pp,
        },
        "false_accept_rise_pp": {
            "value": fa_rise,
            "limit": cfg.max_false_accept_rise_pp,
            "passed": fa_rise <= cfg.max_false_accept_rise_pp,
        },
        "held_out_crops_gain_pp": {"value": crops_gain, "limit": 0.0, "passed": crops_gain > 0},
    }
