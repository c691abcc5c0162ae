"""The live recognizer on a real video file through OpenCV's VideoCapture."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edge.camera import SourceError, StableReading, VideoSource
from tests.conftest import REPO

VIDEO = REPO / "samples" / "video.avi"
TRUTH = json.loads((REPO / "samples" / "truth.json").read_text())["video.avi"]["lines"]


def test_camera_reads_the_sample_video(tmp_path):
    out = tmp_path / "frames.jsonl"
    res = subprocess.run([sys.executable, "-m", "edge", "camera", "--source", str(VIDEO), "--jsonl", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    frames = [json.loads(line) for line in out.read_text().splitlines()]
    assert [f["frame"] for f in frames] == list(range(45))
    assert set(frames[0]) == {"frame", "time", "lines", "stable", "digits", "fps"}
    assert frames[-1]["stable"] == TRUTH
    assert sum(f["lines"] == TRUTH for f in frames) >= 0.8 * len(frames)
    assert "end of file" in res.stderr


def test_max_frames_and_record(tmp_path):
    rec = tmp_path / "rec.avi"
    res = subprocess.run([sys.executable, "-m", "edge", "camera", "--source", str(VIDEO), "--max-frames", "5",
                          "--record", str(rec)], capture_output=True, text=True)
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 5
    import cv2

    cap = cv2.VideoCapture(str(rec))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_source_that_never_opens_is_a_clear_error():
    res = subprocess.run([sys.executable, "-m", "edge", "camera", "--source", "/nonexistent/video.avi"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "cannot open video source" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(SourceError):
        VideoSource("/nonexistent/video.avi").__enter__()


def test_stable_reading_ignores_flicker():
    s = StableReading(window=5, votes=3)
    seen = [s.update(x) for x in [("12",), ("12",), ("17",), ("12",), ("13",), ("17",), ("17",), ("17",)]]
    assert seen == [(), (), (), ("12",), ("12",), ("12",), ("17",), ("17",)]
    with pytest.raises(ValueError):
        StableReading(window=3, votes=4)
