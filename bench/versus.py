"""Frame pipeline of another commit against this checkout, timed in alternation.

    python bench/versus.py REV --data ../shared/datasets/mnist.npz [--rounds 6]

Checks REV out in a temporary git worktree, then times `Recognizer.recognize` on the
bench/run.py frames (640x480, 6.8 digits, one core) in fresh processes, REV and this
checkout taking turns, so that a noisy machine slows both alike. Prints medians and the
speed-up; a speed claim between commits is then a command anyone can rerun.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from trees import REPO, checkout, command, layout

# Inline, not imported from bench/run.py: it must run inside the other commit's tree too.
TIMER = r"""
import json, time
import cv2, numpy as np
cv2.setNumThreads(1)
mnist = load_mnist(sys.argv[3])
rng = np.random.default_rng(5)
frames = [make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "clean", n_lines=2).image for _ in range(20)]
rec = Recognizer(num_threads=1)
for f in frames:
    rec.recognize(f)
times = []
for _ in range(5):
    t = time.perf_counter()
    for f in frames:
        rec.recognize(f)
    times.append((time.perf_counter() - t) / len(frames))
print(json.dumps(times))
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rev", help="the commit to compare with, e.g. HEAD~5 or a hash")
    p.add_argument("--data", required=True, help="MNIST .npz or IDX folder")
    p.add_argument("--rounds", type=int, default=6)
    args = p.parse_args()
    data = str(Path(args.data).resolve())
    with checkout(args.rev) as other, tempfile.TemporaryDirectory() as tmp:
        codes = {args.rev: layout(other, Path(tmp) / "rev"), "this checkout": layout(REPO, Path(tmp) / "here")}
        times: dict[str, list[float]] = {name: [] for name in codes}
        for _ in range(args.rounds):
            for name, code in codes.items():
                out = subprocess.run(command(TIMER, code, data), capture_output=True, text=True, check=True).stdout
                times[name] += json.loads(out.strip().splitlines()[-1])
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    for name, m in ms.items():
        print(f"{name}: {m:.2f} ms/frame, {1e3 / m:.0f} frames/s")
    print(f"speed-up: {ms[args.rev] / ms['this checkout']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
