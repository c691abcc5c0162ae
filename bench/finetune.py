"""A new writer, simulated with USPS: label 300 of their digits, fine-tune, measure.

USPS stands for a population of writers the parent never saw: the parent is
`bench/models/mnist-only.tflite`, the model bundled before USPS joined its training (trained
on MNIST alone, as its sidecar says; the bundled model now learns USPS train itself). The
script picks `--crops` USPS *train* digits the way `--collect` would (`--pick doubted`: the
ones the model is least sure of, whatever it read) or at random (`--pick random`), saves
them as folders 0..9 of 28x28 model inputs (as `--collect` saves them), and runs
`digitedge finetune` on them with MNIST replay only: USPS train is not replayed, so these
crops are all the model learns of this writer. It reports USPS *test* before and after,
per digit for the parent's weakest, next to MNIST test, false accept and the wall time.

    python bench/finetune.py [--crops 300] [--pick doubted|random] [--parent M] [-- FINETUNE OPTIONS]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from digitedge.edge.preprocess import prepare
from digitedge.train.data import load_usps

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
MNIST_ONLY = REPO / "bench" / "models" / "mnist-only.tflite"


def _weakest(usps, parent: Path, child: Path, n: int = 3) -> list[str]:
    """USPS test per digit, device rule, for the parent's `n` weakest digits."""
    from digitedge.edge.model import Classifier, decide
    from digitedge.edge.preprocess import prepare_batch

    x, y = prepare_batch(usps.x_test), usps.y_test
    per = {}
    for name, path in (("before", parent), ("after", child)):
        clf = Classifier(path)
        pred = decide(clf.probabilities(x), clf.labels, clf.metadata.none_threshold)
        per[name] = [float((pred[y == d] == d).mean()) for d in range(10)]
    weakest = sorted(range(10), key=lambda d: per["before"][d])[:n]
    rows = ["| USPS test digit (the parent's weakest) | before | after | change, pp |", "|---|---|---|---|"]
    for d in weakest:
        b, a = per["before"][d], per["after"][d]
        rows.append(f"| {d} ({int((y == d).sum())} digits) | {100 * b:.1f}% | {100 * a:.1f}% | {100 * (a - b):+.1f} |")
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--usps", type=Path, default=SHARED / "usps.npz")
    p.add_argument("--data", default=str(SHARED / "mnist.npz"))
    p.add_argument("--crops", type=int, default=300, help="labelled USPS train digits (default 300)")
    p.add_argument("--pick", choices=["doubted", "random"], default="doubted", help="which digits get labelled")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parent", type=Path, default=MNIST_ONLY, help="the model to fine-tune (default: MNIST-only)")
    p.add_argument("--run", type=Path, default=REPO / "runs" / "finetune-usps")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "finetune.md")
    p.add_argument("finetune", nargs=argparse.REMAINDER, help="after --: more `digitedge finetune` options")
    args = p.parse_args()
    extra = [a for a in args.finetune if a != "--"]

    usps = load_usps(args.usps)
    if args.pick == "random":
        pick = np.random.default_rng(args.seed).choice(len(usps.x_train), args.crops, replace=False)
    else:
        from digitedge.edge.model import Classifier
        from digitedge.edge.preprocess import prepare_batch

        sure = Classifier(args.parent).probabilities(prepare_batch(usps.x_train)).max(axis=1)
        pick = np.argsort(sure)[: args.crops]
    crops = args.run / "crops"
    for i in pick:
        folder = crops / str(int(usps.y_train[i]))
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"usps-{i}.png"), prepare(usps.x_train[i]))
    command = [sys.executable, "-m", "digitedge", "finetune", "--crops", str(crops), "--model", str(args.parent)]
    command += ["--out", str(args.run)]
    command += ["--data", args.data, "--usps", str(args.usps), "--seed", str(args.seed), *extra]
    began = time.monotonic()
    rc = subprocess.run(command).returncode
    wall = time.monotonic() - began
    result = json.loads((args.run / "finetune.json").read_text())
    before, after, gates = result["before"], result["after"], result["gates"]
    rows = [
        ("USPS test (device rule)", "usps_test_accuracy"),
        ("USPS test, closed set", "usps_digit_accuracy"),
        ("MNIST test (device rule)", "test_accuracy"),
        ("MNIST test, closed set", "digit_accuracy"),
        ("MNIST test, camera-like versions", "camera_like_accuracy"),
        ("false accept, held-out non-digits", "false_accept"),
        ("held-out fifth of the crops", "crops_held_out_accuracy"),
    ]
    lines = [
        f"# A new writer: {args.crops} labelled USPS digits ({args.pick}), `digitedge finetune`",
        "",
        f"Produced by `python bench/finetune.py --crops {args.crops} --pick {args.pick} --seed {args.seed}"
        f"{'' if args.parent == MNIST_ONLY else f' --parent {args.parent}'}"
        f"{' -- ' + ' '.join(extra) if extra else ''}` "
        f"({time.strftime('%Y-%m-%d')}); exit code {rc}; wall time {wall / 60:.1f} min on this machine.",
        "",
        "| measure | before (parent) | after (fine-tuned) | change, pp |",
        "|---|---|---|---|",
    ]
    for name, key in rows:
        b, a = before[key], after[key]
        lines.append(f"| {name} | {100 * b:.2f}% | {100 * a:.2f}% | {100 * (a - b):+.2f} |")
    lines += [
        "",
        *_weakest(usps, args.parent, args.run / "model.tflite"),
        "",
        "Gates: "
        + "; ".join(
            f"{k} {g['value']} (limit {g['limit']}): {'pass' if g['passed'] else 'FAIL'}" for k, g in gates.items()
        ),
    ]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    return rc


if __name__ == "__main__":
    sys.exit(main())
