"""Dependencies point one way: train and convert may import edge; edge imports neither."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

FORBIDDEN = {"train", "convert", "tensorflow", "tf_keras", "keras", "tensorflow_model_optimization"}


@pytest.mark.parametrize("path", sorted((REPO / "edge").glob("*.py")), ids=lambda p: p.name)
def test_edge_module_imports_nothing_heavy(path):
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.removeprefix("digitedge.").split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
