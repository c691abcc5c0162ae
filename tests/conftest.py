"""Shared fixtures: MNIST where users' commands find it, data with no public download, and
small data made by the project."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = (sys.executable, "-m", "digitedge")  # the command, run as a user runs it


def free_port() -> int:
    """A TCP port free on loopback now, for a server a test starts there."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """MNIST where a user's command would find it ($DIGITEDGE_MNIST, ../shared/datasets,
    Keras' cache, else Keras' download). Where none works, the session stops with the one
    message saying where it looked, instead of an error per test."""
    from digitedge.train.data import DataError, find_mnist

    try:
        path = find_mnist()
    except DataError as exc:
        pytest.exit(str(exc), returncode=2)
    if not path.exists():
        pytest.exit(f"MNIST not found at {path} (from $DIGITEDGE_MNIST)", returncode=2)
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from digitedge.train.data import load_mnist

    return load_mnist(mnist_path)


@pytest.fixture(scope="session")
def small_mnist(mnist, tmp_path_factory) -> Path:
    """A 600/300-image npz with Keras' keys, for quick loads."""
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(
        path,
        x_train=mnist.x_train[:600],
        y_train=mnist.y_train[:600],
        x_test=mnist.x_test[:300],
        y_test=mnist.y_test[:300],
    )
    return path


SHARED = REPO.parent / "shared" / "datasets"
REQUIRE_DATA = "DIGITEDGE_REQUIRE_DATA"  # set by .ci/run: data with no public download must be there


@pytest.fixture(scope="session")
def real_dev() -> Path:
    """The real-photo dev set (../shared/datasets/real-dev): skipped where it is absent (it has
    no public download), a failure where $DIGITEDGE_REQUIRE_DATA says it must be there."""
    path = SHARED / "real-dev"
    if not (path / "truth.jsonl").is_file():
        if os.environ.get(REQUIRE_DATA):
            pytest.fail(f"{path}/truth.jsonl is missing and ${REQUIRE_DATA} is set")
        pytest.skip(f"{path}/truth.jsonl not found (real photos have no public download)")
    return path


@pytest.fixture(scope="session")
def usps() -> Path:
    """USPS digits (../shared/datasets/usps.npz): skipped where absent, a failure where
    $DIGITEDGE_REQUIRE_DATA says it must be there."""
    path = SHARED / "usps.npz"
    if not path.is_file():
        if os.environ.get(REQUIRE_DATA):
            pytest.fail(f"{path} is missing and ${REQUIRE_DATA} is set")
        pytest.skip(f"{path} not found")
    return path
