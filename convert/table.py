"""Compare converted runs side by side as a markdown table (README's model table).

    python -m digitedge.convert.table runs/seed runs/edge --data ../shared/datasets/mnist.npz

Reads each RUN/metrics.json and RUN/convert.json, and measures per-digit latency of every
int8 model in this same run (1 thread, batch of 64 prepared test digits, median of 30), so
the latency column compares models on equal terms. "device" figures use the model's
not-a-digit threshold, as the runtime does. Needs no TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from digitedge.edge.model import Classifier
from digitedge.train.data import load_mnist, prepare_data


def per_digit_us(model: str, x: np.ndarray, repeats: int = 30) -> float:
    clf = Classifier(model, num_threads=1)
    clf.probabilities(x)  # warm-up: allocation at this batch size
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        clf.probabilities(x)
        times.append(time.perf_counter() - t)
    return float(np.median(times)) / len(x) * 1e6


def row(run: Path, x: np.ndarray) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    conv = json.loads((run / "convert.json").read_text())
    v = conv["verification"]
    pct = lambda a: f"{100 * a:.2f}%" if a is not None else "–"  # noqa: E731
    return {
        "run": f"`{run.name}`",
        "arch": f"`{metrics['arch']}`",
        "params": f"{conv['params']:,}",
        "MACs/digit": f"{conv['macs'] / 1e6:.2f} M",
        "float acc": pct(v["float_accuracy"]),
        "int8 acc": pct(v["int8_accuracy"]),
        "float / int8 acc (10 digits)": f"{pct(v.get('float_digit_accuracy'))} / {pct(v.get('int8_digit_accuracy'))}",
        "MNIST acc (device)": pct(v.get("device", {}).get("test_accuracy", v["int8_accuracy"])),
        "int8 size": f"{v['size_bytes'] / 1024:.0f} KB",
        "µs/digit (int8, 1 thread, batch 64)": f"{per_digit_us(conv['model'], x):.1f}",
        "camera-like acc (int8)": pct(v["int8_camera_like_accuracy"]),
        "false accept (device)": pct(v.get("device", {}).get("false_accept", v.get("int8_false_accept"))),
        "false reject (device)": pct(v.get("device", {}).get("false_reject", v.get("int8_false_reject"))),
        "ECE (int8)": f"{v['int8_ece']:.4f}",
        "train wall time": f"{metrics['wall_seconds'] / 60:.1f} min",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m digitedge.convert.table", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run folders that have been converted")
    p.add_argument("--data", help="MNIST .npz or IDX folder (for the latency inputs)")
    p.add_argument(
        "--out", type=Path, help="also write the tables, with the command that made them, to this markdown file"
    )
    args = p.parse_args(argv)
    x = prepare_data(load_mnist(args.data), 0, 10, 64).x_test
    rows = [row(run, x) for run in args.runs]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r.values()) + " |" for r in rows]
    nuisances = {
        str(run): json.loads((run / "convert.json").read_text())["verification"]
        .get("device", {})
        .get("accuracy_by_nuisance")
        for run in args.runs
    }
    nuisances = {k: v for k, v in nuisances.items() if v}
    if nuisances:  # accuracy under one nuisance at a time, int8 with the device's decision rule
        lines += [
            "",
            "| nuisance | " + " | ".join(f"`{Path(k).name}`" for k in nuisances) + " |",
            "|---|" + "---|" * len(nuisances),
        ]
        for name in next(iter(nuisances.values())):
            lines.append(f"| {name} | " + " | ".join(f"{100 * v[name]:.2f}%" for v in nuisances.values()) + " |")
    print("\n".join(lines))
    if args.out:
        command = "python -m digitedge.convert.table " + " ".join(sys.argv[1:] if argv is None else argv)
        args.out.write_text(
            f"# Models compared\n\nMade by `{command}` (this machine, latency measured in the same run).\n\n"
            + "\n".join(lines)
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
