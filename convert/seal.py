"""Tie a model's sidecar to its model file: record the file's SHA-256 in the sidecar.

    python -m digitedge.convert.seal MODEL.tflite

`digitedge convert` writes the hash itself; this is for models converted before sidecars
carried it. The sidecar keeps everything else and records that it was sealed, and how.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path

from digitedge.edge.exits import EXIT_OK, EXIT_USAGE
from digitedge.edge.metadata import ModelMetadata, load_sidecar, metadata_path, write_metadata


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__.strip().split("\n\n")[1].strip(), file=sys.stderr)
        return EXIT_USAGE
    model = Path(argv[0])
    try:
        meta = ModelMetadata.from_json(load_sidecar(model), metadata_path(model))  # its hash is what is missing
        sealed = {"command": f"python -m digitedge.convert.seal {argv[0]}", "date": dt.date.today().isoformat()}
        print(write_metadata(model, replace(meta, about={**meta.about, "sealed": sealed})))
    except (OSError, ValueError) as exc:
        print(f"seal: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
