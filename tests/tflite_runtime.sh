#!/usr/bin/env bash
# The tflite-runtime backend: where it installs (CPython <= 3.11, numpy < 2), classify the
# samples with it and require the same readings, boxes and labels as ai-edge-litert, with
# confidences within 0.04: the two ship different int8 kernels, and one rounding step of an
# int8 logit (0.23 for the bundled model, 0.15 after its temperature) moves a probability by
# up to p(1-p)*0.15 < 0.04. Elsewhere: skipped, saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
NATIVE_PY=${NATIVE_PY:-$PWD/.venv/bin/python}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] > (3, 11))'; then
    echo "tflite-runtime: SKIPPED: its last release (2.14) has wheels for Python <= 3.11 only, this is $("$PY" --version)"
    exit 0
fi
venv=${DIGITEDGE_TFLITE_VENV:-$HOME/.cache/digitedge-tflite-runtime}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import tflite_runtime' 2>/dev/null; then
    "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "numpy<2" "opencv-python-headless<4.11" tflite-runtime tqdm \
        > "$venv/install.log" 2>&1 || { echo "tflite-runtime: SKIPPED: does not install here:"; tail -3 "$venv/install.log"; exit 0; }
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall . > "$venv/install.log" 2>&1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
DIGITEDGE_BACKEND=tflite-runtime "$venv/bin/python" -m digitedge classify samples 2>/dev/null > "$out/tfl.jsonl"
"$NATIVE_PY" -m digitedge classify samples 2>/dev/null > "$out/litert.jsonl"
"$NATIVE_PY" - "$out/litert.jsonl" "$out/tfl.jsonl" "$("$venv/bin/python" -m digitedge doctor | grep interpreter)" <<'PY'
import json, sys
a, b = ([json.loads(line) for line in open(p)] for p in sys.argv[1:3])
same = len(a) == len(b) > 0 and all(
    r["lines"] == s["lines"] and [(d["box"], d["label"]) for d in r["digits"]] == [(d["box"], d["label"]) for d in s["digits"]]
    for r, s in zip(a, b))
worst = max(abs(x["confidence"] - y["confidence"]) for r, s in zip(a, b) for x, y in zip(r["digits"], s["digits"]))
print(f"tflite-runtime: {sys.argv[3].strip()}; {len(b)} images, same readings: {same}, largest confidence gap {worst:.4f}")
sys.exit(0 if same and worst <= 0.04 else 1)
PY
