"""Another commit's code beside this checkout's, for benches that compare the two.

The repository's folders install as `digitedge.edge`, `digitedge.train` and
`digitedge.convert`, so a worktree's own folders are not importable as they lie: put on
`sys.path` first, `import digitedge` would still find this checkout's installed package.
`layout` builds the package from a tree's folders (symlinks) in a folder of its own.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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
