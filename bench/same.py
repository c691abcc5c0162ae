"""Fingerprint of recognition output: proves a refactor changed no byte of what users get.

    python bench/same.py --data ../shared/datasets/mnist.npz [--scenes 40] [REV]

Reads the samples and generated scenes (clean, hard, light ink on dark, 1280x720) and hashes
every reading, box, confidence and model-input byte. With REV, does the same in a temporary
worktree of that commit and says whether the two agree (exit 1 if not).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from trees import REPO, checkout, command, layout

# Inline, so that it runs inside another commit's tree too.
HASHER = r"""
import hashlib, json
from pathlib import Path
import cv2, numpy as np
mnist = load_mnist(sys.argv[3])
count = int(sys.argv[4])
rec = Recognizer(num_threads=1)
sets = {}
samples = sorted(Path(sys.argv[5]).glob("*.jpg"))
sets["samples"] = [cv2.imread(str(p)) for p in samples]
rng = np.random.default_rng(11)
sets["clean"] = [make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "clean").image for _ in range(count)]
sets["hard"] = [make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "hard").image for _ in range(count)]
half = count // 2
x, y = mnist.x_test, mnist.y_test
sets["light-on-dark"] = [255 - make_scene(x, y, rng, (640, 480), "hard").image for _ in range(half)]
sets["1280x720"] = [make_scene(mnist.x_test, mnist.y_test, rng, (1280, 720), "hard").image for _ in range(count // 2)]
out = {}
for name, images in sets.items():
    h = hashlib.sha256()
    for image in images:
        result, inputs = rec.recognize_with_inputs(image)
        h.update(json.dumps(result.to_dict(), sort_keys=True).encode())
        for x in inputs:
            h.update(np.ascontiguousarray(x).tobytes())
    out[name] = h.hexdigest()[:16]
print(json.dumps(out))
"""


def fingerprint(tree: Path, data: str, count: int) -> dict[str, str]:
    """Hashes per set of recognition output, computed with the code in `tree`."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run(
            command(HASHER, layout(tree, Path(tmp)), data, str(count), str(REPO / "samples")),
            capture_output=True,
            text=True,
            check=False,
        )
    if res.returncode:
        raise SystemExit(f"same: fingerprint failed in {tree}:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/same.py", description=__doc__.split("\n\n")[0])
    p.add_argument("rev", nargs="?", help="a commit to compare this checkout with")
    p.add_argument("--data", default=str(REPO.parent / "shared" / "datasets" / "mnist.npz"), help="MNIST .npz")
    p.add_argument("--scenes", type=int, default=40, help="scenes per set (default 40)")
    args = p.parse_args(argv)
    here = fingerprint(REPO, args.data, args.scenes)
    print("this checkout:", here)
    if not args.rev:
        return 0
    with checkout(args.rev) as tree:
        there = fingerprint(tree, args.data, args.scenes)
    print(f"{args.rev}:", there)
    differ = [k for k in here if here[k] != there.get(k)]
    print("same bytes" if not differ else f"DIFFERENT: {', '.join(differ)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
