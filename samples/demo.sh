#!/usr/bin/env bash
# The recognizer on the bundled samples, with the bundled int8 model, from a fresh clone.
# Creates .venv-edge holding the edge runtime only (numpy, OpenCV, LiteRT: no TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv-edge
[ -x "$VENV/bin/digitedge" ] || { "$PY" -m venv "$VENV" && "$VENV/bin/python" -m pip install -q --disable-pip-version-check . ; }
echo "== digitedge classify samples/ (images; truth in samples/truth.json)"
"$VENV/bin/digitedge" classify samples --format text
echo
echo "== digitedge camera --source samples/video.avi (last frame's JSON, then the summary)"
"$VENV/bin/digitedge" camera --source samples/video.avi --jsonl - | tail -n 1
