"""quantization-aware fine-tune a trained run and export a verified int8 TFLite model (needs digitedge[train])"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from digitedge.convert.config import ConvertConfig, FinetuneConfig
from digitedge.edge.exits import EXIT_OK, EXIT_PARTIAL
from digitedge.train.cli import run_command
from digitedge.train.config import TrainConfig


def parser() -> argparse.ArgumentParser:
    D = ConvertConfig(run=Path("runs/latest"))  # every default is the config's own  # noqa: N806
    p = argparse.ArgumentParser(
        prog="digitedge convert",
        description="Quantization-aware fine-tuning of RUN/model.keras, export to a full-integer "
        "int8 TFLite model (uint8 input) with a JSON metadata sidecar, then verification on the "
        "MNIST test set with the device's interpreter code. Exits 1 if int8 loses more than "
        "--tolerance percentage points against the float model.",
    )
    p.add_argument("run", nargs="?", type=Path, default=D.run, help="training run folder (default: %(default)s)")
    p.add_argument(
        "--out", type=Path, help="output .tflite (default: RUN/model_int8.tflite); metadata goes beside it as .json"
    )
    p.add_argument(
        "--data",
        help=(
            "MNIST .npz or IDX folder; default $DIGITEDGE_MNIST, "
            "../shared/datasets/mnist.npz, Keras' cache, else Keras' download"
        ),
    )
    p.add_argument(
        "--qat-epochs",
        type=int,
        default=D.qat_epochs,
        help="quantization-aware fine-tuning epochs (default %(default)s)",
    )
    p.add_argument("--lr", type=float, default=D.learning_rate, help="fine-tuning learning rate (default %(default)s)")
    p.add_argument(
        "--calibration",
        type=int,
        default=D.calibration,
        help="representative images for the int8 ranges (default %(default)s)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=D.tolerance_pp,
        help="allowed int8 accuracy loss in percentage points (default %(default)s)",
    )
    p.add_argument(
        "--max-false-accept",
        type=float,
        default=D.max_false_accept,
        help=(
            "false-accept rate on validation non-digits (training fonts) the not-a-digit threshold "
            "aims for; unseen fonts pass a little more often (default %(default)s, for 2%% on unseen ones)"
        ),
    )
    p.add_argument(
        "--max-false-reject",
        type=float,
        default=D.max_false_reject,
        help="share of held-out digits that threshold may reject at most (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=D.seed, help="random seed (default %(default)s)")
    p.add_argument("--limit-train", type=int, help="fine-tune on only the first N training images")
    p.add_argument("--limit-test", type=int, help="verify on only the first N test images")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    return run_command("convert", lambda: _convert(args, shlex.join(["digitedge", "convert", *argv])))


def _convert(args: argparse.Namespace, command: str) -> int:
    from digitedge.convert.recipe import VerificationFailed, convert

    cfg = ConvertConfig(
        run=args.run,
        out=args.out,
        data=args.data,
        qat_epochs=args.qat_epochs,
        learning_rate=args.lr,
        calibration=args.calibration,
        tolerance_pp=args.tolerance,
        seed=args.seed,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        max_false_reject=args.max_false_reject,
        max_false_accept=args.max_false_accept,
        command=command,
    )
    try:
        meta = convert(cfg)
    except VerificationFailed as exc:
        print(f"digitedge convert: VERIFICATION FAILED: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    print(json.dumps({"model": str(cfg.out or args.run / "model_int8.tflite"), **meta.about["verification"]}))
    return EXIT_OK


def recipe_main(argv: list[str] | None = None) -> int:
    """train and convert the default model in one command (needs digitedge[train])"""
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(
        prog="digitedge recipe",
        description="The bundled model's full recipe: `digitedge train` then `digitedge convert`, with the "
        "defaults the bundled model was made with. Both command lines land in the model's metadata.",
    )
    p.add_argument("--data", required=True, help="MNIST .npz or IDX folder")
    p.add_argument(
        "--fashion", help="Fashion-MNIST IDX folder for extra negatives (Debian: /usr/share/datasets/fashion-mnist)"
    )
    p.add_argument("--usps", help="USPS .npz: its train digits join MNIST's (a second population of writers)")
    p.add_argument("--arch", default=TrainConfig.arch, help="network (default %(default)s; see digitedge train --help)")
    p.add_argument(
        "--seed", type=int, default=TrainConfig.seed, help="random seed for both steps (default %(default)s)"
    )
    p.add_argument("--run", type=Path, default=Path("runs/default"), help="run folder (default runs/default)")
    p.add_argument(
        "--out",
        type=Path,
        help="int8 model to write (default RUN/model_int8.tflite; edge/models/default.tflite to bundle it)",
    )
    args = p.parse_args(argv)
    from digitedge.train.cli import main as train_main

    train_args = ["--arch", args.arch, "--seed", str(args.seed), "--data", args.data, "--out", str(args.run)]
    for flag, value in (("--fashion", args.fashion), ("--usps", args.usps)):
        if value:
            train_args[4:4] = [flag, value]
    rc = train_main(train_args)
    if rc:
        return rc
    return main([str(args.run), "--data", args.data, *(["--out", str(args.out)] if args.out else [])])


def finetune_parser() -> argparse.ArgumentParser:
    D = FinetuneConfig(crops=Path("CROPS"), out=Path("runs/finetune"))  # noqa: N806
    p = argparse.ArgumentParser(
        prog="digitedge finetune",
        description="Fine-tune an int8 model on your labelled crops (`digitedge label`, or folders 0..9 and none), "
        "with MNIST replayed so nothing else is forgotten; QAT and int8 export as `digitedge convert` does. "
        "Gates, on the device's decision rule: MNIST test loses at most --max-mnist-drop pp, held-out "
        "non-digits' false accept rises at most --max-false-accept-rise pp, and a held-out fifth of your "
        "crops is read better. Exits 1 when a gate fails (the model is kept for inspection).",
    )
    p.add_argument(
        "--crops", type=Path, required=True, help="a labelled crops folder, or a folder of folders 0..9, none"
    )
    p.add_argument("--model", type=Path, help="the model to start from (default: the bundled one)")
    p.add_argument(
        "--out", type=Path, default=D.out, help="run folder for model.tflite and .json (default %(default)s)"
    )
    p.add_argument("--data", help="MNIST .npz or IDX folder to replay (found as `digitedge train` finds it)")
    p.add_argument("--usps", help="USPS .npz: USPS test is measured before and after")
    p.add_argument(
        "--replay-usps",
        action="store_true",
        help="replay USPS train too (on by default with --usps when the parent learnt it, as the bundled one did)",
    )
    p.add_argument("--epochs", type=int, default=D.epochs, help="float epochs (default %(default)s)")
    p.add_argument("--qat-epochs", type=int, default=D.qat_epochs, help="QAT epochs (default %(default)s)")
    p.add_argument("--lr", type=float, default=D.learning_rate, help="float learning rate (default %(default)s)")
    p.add_argument("--replay", type=int, default=D.replay, help="replayed digits per epoch (default %(default)s)")
    p.add_argument(
        "--repeat", type=int, default=D.repeat, help="times each crop is seen an epoch (default %(default)s)"
    )
    p.add_argument("--max-mnist-drop", type=float, default=D.max_mnist_drop_pp, help="gate, pp (default %(default)s)")
    p.add_argument(
        "--max-false-accept-rise", type=float, default=D.max_false_accept_rise_pp, help="gate, pp (default %(default)s)"
    )
    p.add_argument("--seed", type=int, default=D.seed, help="random seed (default %(default)s)")
    p.add_argument("--limit-train", type=int, help="replay from only the first N MNIST training images")
    p.add_argument("--limit-test", type=int, help="gate on only the first N test images")
    return p


def finetune_main(argv: list[str] | None = None) -> int:
    """fine-tune a model on your labelled crops, gated on MNIST and non-digits (needs digitedge[train])"""
    argv = sys.argv[1:] if argv is None else argv
    args = finetune_parser().parse_args(argv)
    return run_command("finetune", lambda: _finetune(args, shlex.join(["digitedge", "finetune", *argv])))


def _finetune(args: argparse.Namespace, command: str) -> int:
    from digitedge.convert.finetune import GateFailed, finetune

    cfg = FinetuneConfig(
        crops=args.crops,
        out=args.out,
        model=args.model,
        data=args.data,
        usps=args.usps,
        replay_usps=args.replay_usps,
        epochs=args.epochs,
        qat_epochs=args.qat_epochs,
        learning_rate=args.lr,
        replay=args.replay,
        repeat=args.repeat,
        max_mnist_drop_pp=args.max_mnist_drop,
        max_false_accept_rise_pp=args.max_false_accept_rise,
        seed=args.seed,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        command=command,
    )
    try:
        meta = finetune(cfg)
    except GateFailed as exc:
        print(f"digitedge finetune: GATE FAILED: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    print(json.dumps({"model": str(args.out / "model.tflite"), **meta.about["verification"]}))
    return EXIT_OK
