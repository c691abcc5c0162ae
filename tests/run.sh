#!/usr/bin/env bash
# The test suite from a fresh clone: creates .venv with digitedge[train,dev,ray,mqtt] (editable), then
# runs pytest. Extra arguments go to pytest, e.g. `bash tests/run.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "tests/run.sh: needs Python 3.11+ ($PY is $("$PY" --version))" >&2; exit 2; }
VENV=${DIGITEDGE_VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[train,dev,ray,mqtt]"
exec "$VENV/bin/python" -m pytest "$@"
