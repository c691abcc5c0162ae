"""train a digit classifier on MNIST and write a run folder (needs digitedge[train])"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digitedge train",
        description="Train a digit classifier on MNIST. Writes RUN/model.keras, metrics.json, "
        "history.json, curves.png and confusion.png; prints the metrics as JSON on stdout.",
    )
    p.add_argument("--data", help="MNIST .npz (Keras keys) or folder of IDX files; default $DIGITEDGE_MNIST, else Keras' download")
    p.add_argument("--out", type=Path, default=Path("runs/latest"), help="run folder to write (default: runs/latest)")
    p.add_argument("--arch", default="seed", help="network architecture (default: seed, the reference network)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same model")
    p.add_argument("--val", type=int, default=5000, help="train images held out for validation curves")
    p.add_argument("--limit-train", type=int, help="use only the first N training images (quick runs)")
    p.add_argument("--limit-test", type=int, help="evaluate on only the first N test images")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from train.data import DataError

    try:
        from train.fit import TrainConfig, train
    except ImportError as exc:
        print(f"digitedge train: {exc}", file=sys.stderr)
        return 3
    cfg = TrainConfig(
        out=args.out, data=args.data, arch=args.arch, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.lr, seed=args.seed, val=args.val, limit_train=args.limit_train,
        limit_test=args.limit_test, command=shlex.join(["digitedge", "train", *argv]),
    )
    try:
        metrics = train(cfg)
    except (DataError, ValueError) as exc:
        print(f"digitedge train: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, DataError) else 1
    summary = {k: metrics[k] for k in ("arch", "params", "test_accuracy", "train_seconds", "wall_seconds")}
    print(json.dumps({"run": str(args.out), **summary}))
    return 0
