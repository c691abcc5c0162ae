"""`digitedge doctor` says what works and what to fix, with a meaningful exit code."""

from __future__ import annotations

import subprocess

from tests.conftest import CLI, REPO


def doctor(*args):
    return subprocess.run([*CLI, "doctor", *map(str, args)], capture_output=True, text=True)


def test_all_good_with_the_bundled_model_and_a_video_source():
    res = doctor("--source", REPO / "samples" / "video.avi")
    assert res.returncode == 0, res.stdout
    assert "interpreter: ai-edge-litert" in res.stdout or "interpreter: tflite-runtime" in res.stdout
    assert "gives 480x360 frames" in res.stdout and res.stdout.strip().endswith("all good")


def test_problems_come_with_a_fix(tmp_path):
    res = doctor("--model", tmp_path / "missing.tflite", "--source", tmp_path / "no-such-video.mp4")
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    fails = [i for i, line in enumerate(lines) if line.startswith("FAIL")]
    assert len(fails) == 2 and all(lines[i + 1].strip().startswith("fix:") for i in fails)
    assert "model file not found" in res.stdout and "gives no frame" in res.stdout
