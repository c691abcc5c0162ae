"""What the recognizer's cut-search knobs buy: frames/s against scene quality, one run.

    python bench/knobs.py --data ../shared/datasets/mnist.npz [--scenes 500]

Marks wider than `wide` x their height that no whole reading settles are also tried as
touching digits, cut along paths found on `path_rows` rows (edge/config.py). Each variant
here is the shipped RecognizerConfig with one knob replaced, and reports frames/s (the
bench/run.py scenes) beside recall, precision and whole-line accuracy on the README's scene
sets (two seeds, clean and hard). Writes bench/knobs.md. Frames/s of different variants are
measured interleaved, so their ratios hold on a noisy machine; the quality figures are exact.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.run import pipeline_scenes  # noqa: E402
from digitedge.edge.config import RecognizerConfig  # noqa: E402
from digitedge.edge.recognize import Recognizer  # noqa: E402
from digitedge.train.data import load_mnist  # noqa: E402
from digitedge.train.scenes import scene_stream, score  # noqa: E402

SHIPPED = RecognizerConfig()
VARIANTS = {
    "shipped": SHIPPED,
    "wide 0.9": replace(SHIPPED, wide=0.9),
    "wide 1.0": replace(SHIPPED, wide=1.0),
    "path_rows 24": replace(SHIPPED, path_rows=24),
    "path_rows 16": replace(SHIPPED, path_rows=16),
}
SEEDS = (2026, 7)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST .npz or IDX folder")
    p.add_argument("--scenes", type=int, default=500, help="scenes per seed and difficulty")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "knobs.md")
    args = p.parse_args()
    cv2.setNumThreads(1)
    mnist = load_mnist(args.data)
    recs = {variant: Recognizer(None, config, num_threads=1) for variant, config in VARIANTS.items()}
    frames = [s.image for s in pipeline_scenes(mnist, np.random.default_rng(5))]
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(15):
        for variant, rec in recs.items():
            t = time.perf_counter()
            for frame in frames:
                rec.recognize(frame)
            times[variant].append((time.perf_counter() - t) / len(frames))
    rows = []
    for variant, rec in recs.items():
        row = {"variant": variant, "fps": 1 / float(np.median(times[variant]))}
        for seed in SEEDS:
            for difficulty in ("clean", "hard"):
                stream = scene_stream(mnist.x_test, mnist.y_test, seed, difficulty)
                row[(difficulty, seed)] = score(rec.recognize, [next(stream) for _ in range(args.scenes)])
        rows.append(row)
        print(f"{variant}: {row['fps']:.0f} frames/s", file=sys.stderr)
    head = " | ".join(f"{d} seed {s}" for d in ("clean", "hard") for s in SEEDS)
    lines = [
        "# Cut-search knobs: speed against quality",
        "",
        f"Command: `python bench/knobs.py --data ../shared/datasets/mnist.npz --scenes {args.scenes}`",
        "",
        "Frames/s: 640x480, 6.8 digits, one core, variants interleaved. Quality: recall / precision / "
        f"whole lines exact on {args.scenes} scenes per set; #3's targets are 0.99 / 0.99 / 97% (clean) and "
        "0.97 / 0.97 / 90% (hard).",
        "",
        f"| variant | frames/s | vs shipped | {head} |",
        "|---|---|---|" + "---|" * 2 * len(SEEDS),
    ]
    base = rows[0]["fps"]
    for row in rows:
        cells = " | ".join(
            f"{row[(d, s)]['recall']:.3f} / {row[(d, s)]['precision']:.3f} / {100 * row[(d, s)]['line_exact']:.1f}%"
            for d in ("clean", "hard")
            for s in SEEDS
        )
        lines.append(f"| {row['variant']} | {row['fps']:.0f} | {row['fps'] / base:.2f}x | {cells} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
