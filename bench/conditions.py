"""Photo-like scenes at one size, scored by the generator's conditions.

    python bench/conditions.py [--seeds 2027 2028 2029] [--scenes 200] [--size 1000x750]
                               [--model MODEL] [--data ../shared/datasets/mnist.npz]

`train.photoscenes` records each scene's conditions (pen, ink, paper, a desk, a sheet
written to its edge, a shadow, lone, cramped, uneven sizes); the recognizer with its
defaults reads every scene once, and the figures of `train.scenes.score` (detection recall
and precision by box, digit accuracy, whole lines exact) are printed for all scenes and for
each condition, per seed and over all seeds, one JSON line each. A fixed size keeps the
seeds comparable and the run short; the figures in docs/recognition.md that say
"3 x 200 photo-like scenes" come from here.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from digitedge.edge.recognize import Recognizer
from digitedge.train.data import load_mnist
from digitedge.train.photoscenes import make_photo
from digitedge.train.scenes import score

REPO = Path(__file__).resolve().parents[1]


def groups(conditions: dict) -> list[str]:
    """The condition groups a scene counts in."""
    c = conditions
    keys = ("pen", "ink", "paper", "desk", "edge", "rim", "shadow", "lone", "cramped", "sizes")
    return ["all", *(f"{k}={c[k]}" for k in keys)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[2027, 2028, 2029])
    p.add_argument("--scenes", type=int, default=200, help="scenes per seed")
    p.add_argument("--size", default="1000x750", help="WxH of every scene")
    p.add_argument("--model", help="int8 model (default: the bundled one)")
    p.add_argument("--data", default=str(REPO.parent / "shared" / "datasets" / "mnist.npz"))
    args = p.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    mnist = load_mnist(args.data)
    recognizer = Recognizer(args.model)
    everything: dict[str, list] = defaultdict(list)
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        read: dict[str, list] = defaultdict(list)
        for _ in range(args.scenes):
            scene = make_photo(mnist.x_test, mnist.y_test, rng, size=(w, h))
            result = recognizer.recognize(scene.image)
            for key in groups(scene.conditions):
                read[key].append((scene, result))
                everything[key].append((scene, result))
        for key in sorted(read):
            print(json.dumps({"seed": seed, "condition": key, **_figures(read[key])}), flush=True)
    for key in sorted(everything):
        print(json.dumps({"seed": "all", "condition": key, **_figures(everything[key])}))
    return 0


def _figures(pairs: list) -> dict:
    """`train.scenes.score` of scenes already read."""
    results = iter(result for _, result in pairs)
    figures = score(lambda _: next(results), [scene for scene, _ in pairs])
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}


if __name__ == "__main__":
    raise SystemExit(main())
