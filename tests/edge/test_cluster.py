"""classify --ray: the same rows as local classify, on an in-process Ray instance and on a
real two-node cluster started with `ray start` on loopback; a killed worker loses nothing."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import CLI, REPO, free_port

ray = pytest.importorskip("ray", reason="classify --ray needs digitedge[ray]")
SAMPLES = sorted((REPO / "samples").glob("*.jpg"))


def _folder(root: Path, copies: int = 1) -> Path:
    """Good photos, a file that is no image, an empty one and a decompression bomb."""
    d = root / "images"
    d.mkdir()
    for k in range(copies):
        for s in SAMPLES:
            shutil.copy(s, d / f"{k:03d}-{s.name}")
    (d / "text.jpg").write_text("not an image")
    (d / "empty.png").write_bytes(b"")
    bomb = bytearray((REPO / "samples" / "clean-1.jpg").read_bytes())
    sof = bomb.index(b"\xff\xc0")
    bomb[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") * 2  # claims 60000 x 60000 pixels
    (d / "bomb.jpg").write_bytes(bytes(bomb))
    return d


def _classify(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "classify", *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_in_process_ray_gives_the_rows_of_local_classify(tmp_path):
    from digitedge.edge.batch_cli import main

    images = _folder(tmp_path)
    local = tmp_path / "local.jsonl"
    assert _classify(images, "--out", local).returncode == 1  # the bad files are error rows
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert main([str(images), "--ray", "--out", str(tmp_path / "ray.jsonl")]) == 1
    finally:
        ray.shutdown()
    assert (tmp_path / "ray.jsonl").read_bytes() == local.read_bytes()
    errors = {Path(r["path"]).name: r["error"] for r in _rows(local) if r["error"]}
    assert set(errors) == {"text.jpg", "empty.png", "bomb.jpg"} and "pixels" in errors["bomb.jpg"]


@pytest.fixture(scope="module")
def two_nodes():
    """A head and a worker node, one CPU each, started by `ray start --block` on 127.0.0.1
    in their own process groups, and stopped by those groups' ids. Ray authenticates with a
    token (its default for `ray start`): this cluster's own, given to drivers in their env."""
    ray_bin = Path(sys.executable).with_name("ray")
    temp = tempfile.mkdtemp(prefix="dr", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--block", "--disable-usage-stats"]
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": os.urandom(16).hex(),
    }
    nodes = []
    try:
        head = [ray_bin, "start", "--head", f"--port={port}", f"--temp-dir={temp}", "--include-dashboard=false"]
        nodes.append(subprocess.Popen([*head, *common], start_new_session=True, env=env, stdout=subprocess.DEVNULL))
        address = f"127.0.0.1:{port}"
        _wait_for_nodes(address, 1, env)
        worker = [ray_bin, "start", f"--address={address}"]
        nodes.append(subprocess.Popen([*worker, *common], start_new_session=True, env=env, stdout=subprocess.DEVNULL))
        _wait_for_nodes(address, 2, env)
        yield address, env
    finally:
        for proc in reversed(nodes):
            _stop_group(proc)
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_nodes(address: str, n: int, env: dict[str, str], timeout: float = 90) -> None:
    alive = "len([x for x in ray.nodes() if x['Alive']])"
    probe = f"import ray; ray.init(address={address!r}, log_to_driver=False); print({alive})"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
        if res.returncode == 0 and res.stdout.strip().splitlines()[-1:] == [str(n)]:
            return
        time.sleep(1)
    raise TimeoutError(f"the Ray cluster at {address} did not reach {n} nodes in {timeout} s")


def _stop_group(proc: subprocess.Popen) -> None:
    """`ray start --block` stops its node on SIGTERM; whatever of its group is left gets SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _nodes_used(stderr: str) -> dict[str, int]:
    line = next(x for x in stderr.splitlines() if x.startswith("ray: rows per node "))
    return json.loads(line.removeprefix("ray: rows per node "))


def test_a_two_node_cluster_reads_on_both_nodes(two_nodes, tmp_path):
    address, env = two_nodes
    images = _folder(tmp_path, copies=12)  # enough work for the pool to grow onto both nodes
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    _classify(images, "--out", local)
    res = _classify(images, "--ray", address, "--out", remote, env=env)
    assert res.returncode == 1, res.stderr[-2000:]
    assert remote.read_bytes() == local.read_bytes()
    used = _nodes_used(res.stderr)
    assert len(used) == 2 and sum(used.values()) == len(_rows(local)), used


def test_a_killed_worker_is_replaced_and_every_file_read_once(two_nodes, tmp_path):
    images = _folder(tmp_path, copies=25)  # 200 photos: long enough to kill a worker midway
    out, (address, env) = tmp_path / "ray.jsonl", two_nodes
    proc = subprocess.Popen([*CLI, "classify", images, "--ray", address, "--out", out], stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and len(out.read_bytes().splitlines()) >= 20):
            assert proc.poll() is None and time.monotonic() < deadline, "no rows came"
            time.sleep(0.2)
        workers = subprocess.run(["pgrep", "-f", "ray::MapWorker"], capture_output=True, text=True).stdout.split()
        assert workers, "no Ray Data actor process to kill"
        os.kill(int(workers[0]), signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr.decode()[-2000:]
    rows = _rows(out)
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == 25 * len(SAMPLES) + 3  # each file exactly once
    assert paths == sorted(paths)


def test_a_parquet_folder_holds_the_rows_and_resumes_after_a_kill(tmp_path):
    import pyarrow.parquet as pq

    from digitedge.edge.parquet import ParquetSink

    images = _folder(tmp_path)
    local = tmp_path / "local.jsonl"
    _classify(images, "--out", local)
    expected = _rows(local)
    out = tmp_path / "rows.parquet"
    killed = ParquetSink(out, rows_per_file=3)  # a run killed after its first file and one more row
    assert ParquetSink(tmp_path / "other.parquet").run != killed.run  # runs in one second never share names
    for row in expected[:4]:
        killed.write(row)
    (out / ".part-x-00009.parquet.tmp").write_bytes(b"PAR1 cut off")  # a file the kill cut short
    res = _classify(images, "--ray", "--out", out)
    assert res.returncode == 1 and f"resuming: 3 of {len(expected)} files" in res.stderr, res.stderr[-2000:]
    rows = sorted(pq.read_table(out).to_pylist(), key=lambda r: r["path"])
    assert rows == expected  # every file exactly once, the same row as JSONL
    assert not list(out.glob(".*.tmp"))
