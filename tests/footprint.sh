#!/usr/bin/env bash
# The base (edge-only) install: what it weighs, what dominates, and proof it pulls no TensorFlow.
#   bash tests/footprint.sh      # prints a markdown table; exit 1 if TensorFlow got in
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$PY" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check . > "$venv/install.log" 2>&1 || { cat "$venv/install.log" >&2; exit 1; }
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$venv/bin/python" - "$site" <<'PY'
import importlib.metadata as md, os, sys
site = sys.argv[1]
sizes = {}
for dist in md.distributions(path=[site]):
    total = sum(os.path.getsize(os.path.join(site, f)) for f in (dist.files or []) if os.path.isfile(os.path.join(site, f)))
    sizes[dist.metadata["Name"]] = total
names = {n.lower() for n in sizes}
heavy = sorted(names & {"tensorflow", "tensorflow-cpu", "tf-keras", "keras", "tensorflow-model-optimization"})
print(f"| package | installed size |\n|---|---|")
for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
    if name.lower() not in ("pip", "setuptools"):
        print(f"| {name} | {size / 2**20:.1f} MB |")
print(f"| **total (without pip)** | **{sum(v for k, v in sizes.items() if k.lower() not in ('pip', 'setuptools')) / 2**20:.1f} MB** |")
if heavy:
    sys.exit(f"footprint: the base install pulled {heavy}")
PY
