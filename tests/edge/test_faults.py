"""Nothing breaks `classify`: every bad file becomes an error row, the run goes on, and an
interrupted or crashing run still ends with exactly one valid row per file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitedge.edge.batch import CRASH_ENV
from tests.conftest import CLI, REPO

pytestmark = pytest.mark.faults

SAMPLE = REPO / "samples" / "clean-1.jpg"


def classify(*args, env=None):
    return subprocess.run([*CLI, "classify", *map(str, args)], capture_output=True, env=env, timeout=300)


def rows_of(stdout: bytes) -> dict[str, dict]:
    return {os.path.basename(r["path"]): r for r in map(json.loads, stdout.decode().splitlines())}


def _png_bomb(path, side=20000):
    """A real, valid 20000x20000 grayscale PNG of ~400 KB that decodes to 400 MB."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    d = tmp_path_factory.mktemp("zoo")
    good = cv2.imread(str(SAMPLE))
    (d / "zero.png").write_bytes(b"")
    jpg = SAMPLE.read_bytes()
    (d / "truncated.jpg").write_bytes(jpg[: len(jpg) // 3])
    png = cv2.imencode(".png", good)[1].tobytes()
    (d / "truncated.png").write_bytes(png[: len(png) // 3])
    (d / "really-a-png.jpg").write_bytes(png)
    (d / "text.png").write_text("this is not an image\n")
    cv2.imwrite(str(d / "deep16.png"), (good.astype(np.uint16) * 257))
    cv2.imwrite(str(d / "rgba.png"), cv2.cvtColor(good, cv2.COLOR_BGR2BGRA))
    ink_only = np.zeros(good.shape[:2] + (4,), np.uint8)  # a transparent canvas: black ink, alpha = ink
    ink_only[:, :, 3] = 255 - cv2.cvtColor(good, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(d / "transparent.png"), ink_only)
    cv2.imwrite(str(d / "gray.png"), cv2.cvtColor(good, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(d / "one-pixel.png"), np.zeros((1, 1), np.uint8))
    cv2.imwrite(str(d / "white.png"), np.full((480, 640), 255, np.uint8))
    cv2.imwrite(str(d / "black.png"), np.zeros((480, 640), np.uint8))
    cv2.imwrite(str(d / "noise.png"), np.random.default_rng(0).integers(0, 256, (480, 640), dtype=np.uint8))
    _png_bomb(d / "bomb.png")
    (d / "folder.png").mkdir()
    (d / "sub").mkdir()
    shutil.copy(SAMPLE, d / "sub" / "nested.jpg")
    os.symlink(d, d / "sub" / "loop")  # a symlink loop for --recursive
    bad_name = os.fsdecode(b"caf\xe9-latin1.jpg")  # not UTF-8
    shutil.copy(SAMPLE, os.path.join(os.fsencode(d), os.fsencode(bad_name)))
    return d


def test_every_bad_file_gets_a_row_and_the_run_goes_on(zoo):
    started = time.time()
    res = classify(zoo, "--recursive")
    assert time.time() - started < 120  # the bomb is refused, not decoded
    assert res.returncode == 1  # some files failed
    rows = rows_of(res.stdout)
    assert rows["zero.png"]["error"] == "empty file"
    assert rows["text.png"]["error"].startswith("not a decodable image")
    assert "over the limit" in rows["bomb.png"]["error"] and "20000x20000" in rows["bomb.png"]["error"]
    assert "folder.png" not in rows  # a directory named like an image is a directory
    for name in ("truncated.jpg", "truncated.png"):  # an error, or what was decodable of it
        assert rows[name]["error"] is None or rows[name]["error"].startswith("not a decodable image")
    for name in ("really-a-png.jpg", "deep16.png", "rgba.png", "gray.png", "nested.jpg", "caf\udce9-latin1.jpg"):
        assert rows[name]["error"] is None and rows[name]["lines"], name
    assert rows["transparent.png"]["lines"] == rows["rgba.png"]["lines"]  # transparent is paper, not black
    for name in ("one-pixel.png", "white.png", "black.png", "noise.png"):
        assert rows[name]["error"] is None and rows[name]["width"] > 0, name
    assert rows["white.png"]["digits"] == [] and rows["black.png"]["digits"] == []
    for row in rows.values():
        for d in row["digits"]:
            x, y, w, h = d["box"]
            assert x >= 0 and y >= 0 and x + w <= row["width"] and y + h <= row["height"]


def test_unreadable_file():
    """Root reads anything, so as root the run drops to user nobody (setpriv) for this case."""
    import tempfile

    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        secret = folder / "secret.jpg"
        shutil.copy(SAMPLE, secret)
        secret.chmod(0)
        prefix = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv: cannot make a file unreadable")
            prefix = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
            if subprocess.run(
                [*prefix, sys.executable, "-c", "import digitedge.edge.batch"], capture_output=True
            ).returncode:
                pytest.skip("user nobody cannot read this checkout or its venv, so cannot run the check")
        res = subprocess.run([*prefix, *CLI, "classify", str(secret)], capture_output=True)
        assert res.returncode == 1, res.stderr
        assert "Permission denied" in rows_of(res.stdout)["secret.jpg"]["error"]
    finally:
        shutil.rmtree(folder)


def _folder_of_copies(tmp_path, n):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(n):
        shutil.copy(REPO / "samples" / f"clean-{i % 4 + 1}.jpg", d / f"img{i:03d}.jpg")
    return d


def test_sigkill_then_rerun_leaves_one_valid_row_per_file(tmp_path):
    folder = _folder_of_copies(tmp_path, 120)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [*CLI, "classify", str(folder), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 10):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with out.open("a") as f:
        f.write('{"path": "torn')  # as if killed in the middle of a write
    done_before = out.read_text().count("\n")
    assert 10 <= done_before < 120
    res = classify(folder, "--out", out)
    assert res.returncode == 0 and b"resuming" in res.stderr
    lines = out.read_text().splitlines()
    paths = [json.loads(line)["path"] for line in lines]  # every line is valid JSON
    assert sorted(paths) == sorted(str(p) for p in folder.iterdir()) and len(paths) == len(set(paths))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])  # Ctrl-C, or a service manager's stop
def test_ctrl_c_and_sigterm_flush_and_exit_130(tmp_path, stop):
    folder = _folder_of_copies(tmp_path, 120)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [*CLI, "classify", str(folder), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 5):
        time.sleep(0.05)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and b"rerun the same command to resume" in err
    assert all(json.loads(line) for line in out.read_text().splitlines())


def test_a_crashing_worker_costs_one_row_not_the_run(tmp_path):
    folder = _folder_of_copies(tmp_path, 12)
    shutil.copy(SAMPLE, folder / "img005-poison.jpg")
    env = {**os.environ, CRASH_ENV: "poison"}
    res = classify(folder, "--workers", "2", env=env)
    assert res.returncode == 1
    rows = rows_of(res.stdout)
    assert list(rows) == sorted(rows) and len(rows) == 13
    assert rows["img005-poison.jpg"]["error"] == "worker process crashed while reading this file"
    assert all(r["error"] is None for name, r in rows.items() if "poison" not in name)


def test_read_errors_become_rows_in_process(monkeypatch):
    """The same path as an unreadable file, wherever the real check cannot run (root in a
    private checkout): any OSError while reading becomes the row's error."""
    from digitedge.edge import batch, images
    from digitedge.edge.recognize import Recognizer

    def denied(*_a, **_k):
        raise PermissionError(13, "Permission denied", str(SAMPLE))

    monkeypatch.setattr(images.np, "fromfile", denied)
    row = batch.classify_file(Recognizer(), batch.Item(SAMPLE, Path(SAMPLE.name)))
    assert row["error"].startswith("PermissionError") and "Permission denied" in row["error"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_an_image_is_an_error_row_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "x.png")  # opening it for reading would block until a writer comes
    shutil.copy(SAMPLE, tmp_path / "good.jpg")
    res = classify(tmp_path)
    rows = rows_of(res.stdout)
    assert rows["x.png"]["error"] == "not a regular file" and rows["good.jpg"]["error"] is None
    assert res.returncode == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_their_parent(tmp_path):
    """kill -9 of `classify --workers 2` left its workers alive for as long as anyone waited."""
    folder = _folder_of_copies(tmp_path, 400)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [*CLI, "classify", str(folder), "--workers", "2", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 90
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 5):
        time.sleep(0.05)

    def descendants(pid):
        found, todo = set(), [pid]
        while todo:
            parent = todo.pop()
            for status in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = status.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent and int(status.parent.name) not in found:
                    found.add(int(status.parent.name))
                    todo.append(int(status.parent.name))
        return found

    family = descendants(proc.pid)
    assert len(family) >= 2, family  # the forkserver and its workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(
        Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
        for pid in family
    ):
        time.sleep(0.2)
    alive = [
        pid
        for pid in family
        if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
    ]
    for pid in alive:  # leave nothing behind, whatever the verdict
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"orphaned workers: {alive}"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_resume_with_unusual_file_names_adds_no_row(tmp_path, fmt):
    """Names holding a newline, a carriage return, quotes, commas, tabs, non-UTF-8 bytes:
    each gets one row, and a second run with the same --out adds none (a \\n name was
    written again on every resume, and a \\r name crashed resume with _csv.Error)."""
    folder = tmp_path / "odd"
    folder.mkdir()
    names = [
        "new\nline.jpg",
        "carriage\rreturn.jpg",
        'quo"te.jpg',
        "com,ma.jpg",
        "tab\there.jpg",
        "sp ace.jpg",
        os.fsdecode(b"caf\xe9.jpg"),
    ]
    for name in names:
        shutil.copy(SAMPLE, os.path.join(os.fsencode(folder), os.fsencode(name)))
    out = tmp_path / f"out.{fmt}"
    first = classify(folder, "--out", out)
    assert first.returncode == 0, first.stderr
    size = out.stat().st_size
    again = classify(folder, "--out", out)
    assert again.returncode == 0 and b"7 of 7 files already" in again.stderr, again.stderr
    assert out.stat().st_size == size
    import csv as csvmod

    with open(out, newline="", encoding="utf-8", errors="surrogateescape") as f:
        paths = [r[0] for r in csvmod.reader(f)][1:] if fmt == "csv" else [json.loads(line)["path"] for line in f]
    assert sorted(os.path.basename(p) for p in paths) == sorted(names)


def test_a_folder_that_cannot_be_listed_gets_an_error_row(tmp_path, monkeypatch):
    """Under --recursive a subfolder without read permission was skipped in silence, and a
    named folder that could not be listed gave a traceback. (Root reads anything, so the
    denial is made here.)"""
    from digitedge.edge import batch

    (tmp_path / "locked").mkdir()
    shutil.copy(SAMPLE, tmp_path / "locked" / "hidden.jpg")
    shutil.copy(SAMPLE, tmp_path / "seen.jpg")
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = batch.collect([tmp_path], recursive=True)
    assert [(i.path.name, i.error) for i in items] == [
        ("locked", "cannot list this folder: Permission denied"),
        ("seen.jpg", None),
    ]
    assert batch.classify_file(None, items[0])["error"] == "cannot list this folder: Permission denied"
    assert [i.error for i in batch.collect([tmp_path / "locked"])] == ["cannot list this folder: Permission denied"]


def test_outputs_that_cannot_be_written_are_one_line_each(tmp_path):
    (tmp_path / "a-file").write_text("x")
    for option, path in (
        ("--out", tmp_path / "a-file" / "out.jsonl"),
        ("--annotate", tmp_path / "a-file" / "annotated"),
    ):
        res = subprocess.run(
            [*CLI, "classify", str(SAMPLE), option, str(path)],
            capture_output=True,
            text=True,
        )
        assert res.returncode == 2 and "Traceback" not in res.stderr and "cannot write" in res.stderr, (
            option,
            res.stderr,
        )


def test_output_piped_to_head_ends_quietly(tmp_path):
    folder = _folder_of_copies(tmp_path, 60)
    proc = subprocess.Popen([*CLI, "classify", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline()  # `head -1`: one row, then the pipe closes
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 74 and "Traceback" not in err and "Exception ignored" not in err
    assert "cannot write stdout" in err


@pytest.mark.skipif(not hasattr(__import__("resource"), "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE")
def test_a_full_disk_keeps_the_rows_before_and_resume_completes(tmp_path):
    """A file size limit stands in for a full disk: the write fails with EFBIG as it would
    with ENOSPC. One line, exit 74; the rerun repairs the torn row and completes."""
    import resource

    folder = _folder_of_copies(tmp_path, 12)
    out = tmp_path / "out.jsonl"

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))

    res = subprocess.run(
        [*CLI, "classify", str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
        timeout=120,
    )
    assert res.returncode == 74 and "Traceback" not in res.stderr and "cannot write" in res.stderr, res.stderr
    assert 0 < out.stat().st_size <= 3000
    again = classify(folder, "--out", out)
    assert again.returncode == 0
    paths = [json.loads(line)["path"] for line in out.read_text().splitlines()]
    assert sorted(paths) == sorted(str(p) for p in folder.iterdir())
