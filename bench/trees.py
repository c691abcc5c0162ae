"""Another commit's code beside this checkout's, for benches that compare the two.

The repository's folders install as `digitedge.edge`, `digitedge.train` and
`digitedge.convert`, so a worktree's own folders are not importable as they lie: put on
`sys.path` first, `import digitedge` would still find this checkout's installed package.
`layout` builds the package from a tree's folders (symlinks) in a folder of its own.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# What a bench's inline script starts with: the code of the tree `command` names.
IMPORTS = r"""
import importlib, sys
sys.path.insert(0, sys.argv[1])
Recognizer = importlib.import_module(sys.argv[2] + "edge.recognize").Recognizer
load_mnist = importlib.import_module(sys.argv[2] + "train.data").load_mnist
make_scene = importlib.import_module(sys.argv[2] + "train.scenes").make_scene
"""


def layout(tree: Path, into: Path) -> tuple[str, str]:
    """(`sys.path` entry, module prefix) under which `tree`'s code imports: a `digitedge`
    package in `into` linking to its folders, or the tree itself with no prefix for commits
    from before the namespaced install."""
    if not (tree / "edge" / "_package").is_dir():
        return str(tree), ""
    pkg = into / "digitedge"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").symlink_to(tree / "edge" / "_package" / "__init__.py")
    for name in ("edge", "train", "convert"):
        (pkg / name).symlink_to(tree / name)
    return str(into), "digitedge."


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """A temporary git worktree of `rev`, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)


def command(script: str, code: tuple[str, str], *args: str) -> list[str]:
    """The command line that runs `script` (after `IMPORTS`) with the code `layout` gave;
    the script's own `args` are `sys.argv[3:]`."""
    return [sys.executable, "-c", IMPORTS + script, *code, *args]
