"""The `digitedge` command: parse arguments, call a typed function, turn errors into exit codes.

Edge subcommands live here. Others (`train`, `convert`) register under the entry-point group
`digitedge.commands` and are imported only when asked for, so `digitedge classify` never
loads TensorFlow and edge never imports train or convert.
Exit codes are defined in `edge/exits.py`.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

from digitedge.edge import __version__
from digitedge.edge.exits import EXIT_INTERRUPTED, EXIT_MISSING, EXIT_OK, EXIT_USAGE, SUMMARY

# name -> (module with `parser()` and `main(argv)`, one-line help)
EDGE_COMMANDS = {
    "classify": ("digitedge.edge.batch_cli", "read the digits in image files and folders (JSONL/CSV)"),
    "camera": ("digitedge.edge.camera_cli", "live recognizer on a camera, video file or stream"),
    "serve": ("digitedge.edge.server", "web page and JSON API: draw digits, upload images, watch the camera"),
    "label": ("digitedge.edge.label", "label the crops --collect saved, in a local web page (keyboard first)"),
    "doctor": ("digitedge.edge.doctor", "check the interpreter, the model and the camera; say what to fix"),
}


def _plugins() -> dict[str, str]:
    """Subcommands registered by the other packages of the distribution."""
    return {ep.name: ep.value for ep in entry_points(group="digitedge.commands")}


def _usage() -> str:
    lines = [
        f"digitedge {__version__}: handwritten digits from MNIST to a device",
        "",
        "usage: digitedge COMMAND [options]   (digitedge COMMAND --help for details)",
        "",
        "commands:",
    ]
    for name, (_, help_) in EDGE_COMMANDS.items():
        lines.append(f"  {name:<10} {help_}")
    for name, target in sorted(_plugins().items()):
        module, func = target.split(":")
        try:  # plugin CLI modules are light (TensorFlow is imported inside their functions)
            mod = importlib.import_module(module)
            doc = (getattr(mod, func).__doc__ or mod.__doc__ or "").strip().splitlines()[0]
        except Exception:  # noqa: BLE001 - a broken plugin must not break --help
            doc = f"(from {module})"
        lines.append(f"  {name:<10} {doc}")
    lines += ["", SUMMARY]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `digitedge` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] == "--version":
        print(f"digitedge {__version__}")
        return EXIT_OK
    name, rest = argv[0], argv[1:]
    if name in EDGE_COMMANDS:
        target = EDGE_COMMANDS[name][0] + ":main"
    elif name in (plugins := _plugins()):
        target = plugins[name]
    else:
        print(f"digitedge: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return EXIT_USAGE
    module, func = target.split(":")
    from digitedge.edge.camera import SourceError
    from digitedge.edge.interpreter import BackendMissing
    from digitedge.edge.model import ModelError

    try:
        status: int = getattr(importlib.import_module(module), func)(rest)
        return status
    except KeyboardInterrupt:
        print("digitedge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BackendMissing as exc:
        print(f"digitedge {name}: {exc}", file=sys.stderr)
        return EXIT_MISSING
    except (ModelError, SourceError) as exc:  # an unusable model or camera: one line, no traceback
        print(f"digitedge {name}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
