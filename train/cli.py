"""train a digit classifier on MNIST and write a run folder (needs digitedge[train])"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from digitedge.edge.exits import EXIT_MISSING, EXIT_OK, EXIT_USAGE
from digitedge.train.config import RECIPES, SHORTEST_TAIL, TrainConfig


def per_arch(knob: str) -> str:
    """One training default across the architectures, for --help."""
    return ", ".join(f"{arch} {getattr(r, knob)}" for arch, r in RECIPES.items())


def parser() -> argparse.ArgumentParser:
    D = TrainConfig(out=Path("runs/latest"))  # every default is the config's own  # noqa: N806
    p = argparse.ArgumentParser(
        prog="digitedge train",
        description="Train a digit classifier on MNIST. Writes RUN/model.keras, metrics.json, "
        "history.json, curves.png and confusion.png; prints the metrics as JSON on stdout.",
    )
    p.add_argument(
        "--data",
        help=(
            "MNIST .npz (Keras keys) or folder of IDX files; default $DIGITEDGE_MNIST, "
            "../shared/datasets/mnist.npz, Keras' cache, else Keras' download"
        ),
    )
    p.add_argument("--out", type=Path, default=D.out, help="run folder to write (default: %(default)s)")
    p.add_argument(
        "--arch",
        default=D.arch,
        help=(
            "network: wide-bn (default, the bundled one), wide (the same without batch norm), edge (a third "
            "of the MACs), all camera-robust with a not-a-digit class; or seed (the reference network)"
        ),
    )
    p.add_argument("--epochs", type=int, help=f"default: the architecture's ({per_arch('epochs')})")
    p.add_argument("--batch-size", type=int, help=f"default: the architecture's ({per_arch('batch_size')})")
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        help=f"camera-like augmentation (default: the architecture's, {per_arch('augment')})",
    )
    p.add_argument(
        "--negatives",
        type=float,
        help=f"not-a-digit samples per digit, adds an 11th class (default: {per_arch('negatives')})",
    )
    p.add_argument(
        "--fashion", help="Fashion-MNIST IDX folder used as extra negatives (Debian: /usr/share/datasets/fashion-mnist)"
    )
    p.add_argument(
        "--usps",
        help=(
            "USPS .npz (x 16x16, y, split): its train digits join MNIST's, "
            "a second population of writers, and USPS test is reported"
        ),
    )
    p.add_argument(
        "--longest-tail",
        type=float,
        default=D.longest_tail,
        help=f"a third of the augmented 4s, 7s and 9s get a stem {SHORTEST_TAIL} to this many times as long "
        "(default %(default)s)",
    )
    p.add_argument("--lr", type=float, default=D.learning_rate, help="Adam learning rate (default %(default)s)")
    p.add_argument("--seed", type=int, default=D.seed, help="random seed; the same seed gives the same model")
    p.add_argument("--val", type=int, default=D.val, help="train images held out for validation (default %(default)s)")
    p.add_argument("--limit-train", type=int, help="use only the first N training images (quick runs)")
    p.add_argument("--limit-test", type=int, help="evaluate on only the first N test images")
    return p


def run_command(name: str, body: Callable[[], int]) -> int:
    """What `digitedge train` and `digitedge convert` share: logs on stderr, and library
    errors turned into one line and an exit code (2 bad input, 3 missing package)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return body()
    except ImportError as exc:
        print(f"digitedge {name}: {exc}", file=sys.stderr)
        return EXIT_MISSING
    except (ValueError, FileNotFoundError) as exc:  # DataError and ModelError are ValueErrors
        print(f"digitedge {name}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    return run_command("train", lambda: _train(args, shlex.join(["digitedge", "train", *argv])))


def _train(args: argparse.Namespace, command: str) -> int:
    from digitedge.train.fit import train

    cfg = TrainConfig(
        out=args.out,
        data=args.data,
        arch=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        augment=args.augment,
        negatives=args.negatives,
        fashion=args.fashion,
        usps=args.usps,
        longest_tail=args.longest_tail,
        seed=args.seed,
        val=args.val,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        command=command,
    )
    metrics = train(cfg)
    keys = (
        "arch",
        "params",
        "test_accuracy",
        "camera_like_accuracy",
        "usps_test_accuracy",
        "false_reject",
        "false_accept",
        "train_seconds",
        "wall_seconds",
    )
    print(json.dumps({"run": str(args.out), **{k: metrics[k] for k in keys if k in metrics}}))
    return EXIT_OK
