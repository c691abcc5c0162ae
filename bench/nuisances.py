"""MNIST test under one camera nuisance at a time, for int8 models, on this checkout's code.

    python bench/nuisances.py [MODEL ...] [--data ../shared/datasets/mnist.npz]

Conversion records these figures in a model's sidecar, measured with the code of the day
it was converted. One nuisance, *segmenter crop of a photo*, runs the device's own
segmenter, which has changed since; so two models converted months apart are compared here,
on the same code and the same nuisance images (the seed conversion uses), with the
device's decision rule and the closed-set one. Default models: the bundled one and
`bench/models/mnist-only.tflite`. Prints one JSON line per model and nuisance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digitedge.edge.model import Classifier, decide
from digitedge.train import augment
from digitedge.train.data import load_mnist

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = (REPO / "edge" / "models" / "default.tflite", REPO / "bench" / "models" / "mnist-only.tflite")
SEED = 0 + augment.NUISANCE_SEED  # the images conversion measured both models on (both trained with --seed 0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", type=Path, default=list(DEFAULTS), help="int8 .tflite files with sidecars")
    p.add_argument("--data", help="MNIST .npz or IDX folder (default: found as training finds it)")
    args = p.parse_args()
    mnist = load_mnist(args.data)
    y = mnist.y_test
    batches = {name: augment.nuisance_batch(mnist.x_test, SEED, name) for name in augment.NUISANCES}
    for path in args.models:
        clf = Classifier(path)
        for name, x in batches.items():
            probs = clf.probabilities(x)
            device = decide(probs, clf.labels, clf.metadata.none_threshold)
            row = {
                "model": str(path.relative_to(REPO) if path.is_relative_to(REPO) else path),
                "nuisance": name,
                "device": round(float((device == y).mean()), 4),
                "closed": round(float((probs[:, :10].argmax(axis=1) == y).mean()), 4),
            }
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
