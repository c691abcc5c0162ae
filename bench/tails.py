"""MNIST test 4s, 7s and 9s with long tails, read by int8 models with the device's rule.

    python bench/tails.py [MODEL ...] [--data ../shared/datasets/mnist.npz]

Real handwriting hangs the stems of 4s, 7s and 9s far below the line, the loop or bar the
size of the digits beside it; MNIST's are short. Each digit's lower part (below 45-60% of
its height) is drawn 1x to 4x as long in steps of 0.5 (`augment.long_tail`), prepared as
the device prepares a mark, and read once (no second look). Default model: the bundled one;
the one before it is `git show 9174c33:edge/models/default.tflite` (with its .json).
Prints one JSON line per model and stretch.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from digitedge.edge.model import Classifier
from digitedge.edge.preprocess import prepare
from digitedge.train.augment import TAILED, long_tail
from digitedge.train.data import load_mnist

REPO = Path(__file__).resolve().parents[1]
STRETCHES = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", default=[str(REPO / "edge" / "models" / "default.tflite")])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "datasets" / "mnist.npz"))
    args = p.parse_args()
    mnist = load_mnist(args.data)
    picks = np.flatnonzero(np.isin(mnist.y_test, TAILED))
    for stretch in STRETCHES:
        rng = np.random.default_rng(0)  # the same split points for every model
        batch = np.stack([prepare(long_tail(mnist.x_test[i], rng.uniform(0.45, 0.6), stretch)) for i in picks])
        for model in args.models:
            labels = np.array([p.label for p in Classifier(model).classify(batch[..., None])], dtype=object)
            right = float((labels == mnist.y_test[picks]).mean())
            print(json.dumps({"model": model, "stretch": stretch, "digits": len(picks), "device": round(right, 4)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
