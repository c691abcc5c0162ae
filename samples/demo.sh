#!/usr/bin/env bash
# The recognizer on the bundled samples, with the bundled int8 model, from a fresh clone.
# Creates .venv-edge holding the edge runtime only (numpy, OpenCV, LiteRT: no TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv-edge
if [ ! -x "$VENV/bin/digitedge" ]; then
    echo "setting up $VENV (base install, no TensorFlow)..." >&2
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check . > "$VENV/install.log" 2>&1 \
        || { cat "$VENV/install.log" >&2; exit 1; }
fi
out=$(mktemp --suffix=.jsonl); frames=$(mktemp --suffix=.jsonl)
trap 'rm -f "$out" "$frames"' EXIT

echo "== digitedge classify samples/ --out RESULTS.jsonl"
"$VENV/bin/digitedge" classify samples --out "$out" 2>&1 | grep -v '^INFO: Created TensorFlow Lite'
"$VENV/bin/python" - "$out" <<'PY'
import json, sys
truth = json.load(open("samples/truth.json"))
for line in open(sys.argv[1]):
    row = json.loads(line)
    want = truth[row["path"].split("/")[-1]]["lines"]
    mark = "ok  " if row["lines"] == want else "MISS"
    print(f"  {mark} {row['path']:<22} read {' '.join(row['lines']) or '-':<24} truth {' '.join(want)}")
PY
echo
echo "== digitedge camera --source samples/video.avi (JSONL per frame; the last one shown)"
"$VENV/bin/digitedge" camera --source samples/video.avi --jsonl "$frames" 2>&1 | grep -v '^INFO: Created TensorFlow Lite'
tail -n 1 "$frames" | cut -c1-160
echo "  truth: $("$VENV/bin/python" -c 'import json; print(" ".join(json.load(open("samples/truth.json"))["video.avi"]["lines"]))')"
