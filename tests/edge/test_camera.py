"""The live recognizer on a real video file through OpenCV's VideoCapture."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from digitedge.edge.camera import SourceError, StableReading, VideoSource
from tests.conftest import CLI, REPO

VIDEO = REPO / "samples" / "video.avi"
TRUTH = json.loads((REPO / "samples" / "truth.json").read_text())["video.avi"]["lines"]


def test_camera_reads_the_sample_video(tmp_path):
    out = tmp_path / "frames.jsonl"
    res = subprocess.run(
        [*CLI, "camera", "--source", str(VIDEO), "--jsonl", str(out)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    run, *frames = [json.loads(line) for line in out.read_text().splitlines()]
    assert set(run["run"]) == {"started", "source", "model", "model_sha256"} and run["run"]["source"] == str(VIDEO)
    assert [f["frame"] for f in frames] == list(range(45))
    assert set(frames[0]) == {"frame", "time", "lines", "stable", "digits", "fps"}
    assert frames[-1]["stable"] == TRUTH
    assert sum(f["lines"] == TRUTH for f in frames) >= 0.8 * len(frames)
    assert "end of file" in res.stderr


def test_a_jsonl_appended_across_restarts_marks_each_run(tmp_path):
    out = tmp_path / "frames.jsonl"
    for _ in range(2):
        subprocess.run(
            [
                *CLI,
                "camera",
                "--source",
                str(VIDEO),
                "--max-frames",
                "3",
                "--jsonl",
                str(out),
            ],
            capture_output=True,
            check=True,
        )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [("run" if "run" in r else r["frame"]) for r in records] == ["run", 0, 1, 2, "run", 0, 1, 2]


def test_max_frames_and_record(tmp_path):
    rec = tmp_path / "rec.avi"
    res = subprocess.run(
        [
            *CLI,
            "camera",
            "--source",
            str(VIDEO),
            "--max-frames",
            "5",
            "--record",
            str(rec),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 6  # the run record, then 5 frames
    import cv2

    cap = cv2.VideoCapture(str(rec))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_source_that_never_opens_is_a_clear_error():
    res = subprocess.run(
        [*CLI, "camera", "--source", "/nonexistent/video.avi"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "cannot open video source" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(SourceError):
        VideoSource("/nonexistent/video.avi").__enter__()


def test_stable_reading_ignores_flicker():
    s = StableReading(window=5, votes=3)
    seen = [s.update(x) for x in [("12",), ("12",), ("17",), ("12",), ("12",), ("17",), ("17",), ("17",), ("17",)]]
    # One 17 is flicker; three in the last five mean the number may be changing: the 12 is
    # withdrawn (nothing shown) until the 17 has four of five.
    assert seen == [(), (), (), ("12",), ("12",), ("12",), (), (), ("17",)]
    with pytest.raises(ValueError):
        StableReading(window=3, votes=4)


def test_an_alternating_digit_is_held_back_not_guessed():
    """12/17/12/17...: the old whole-reading vote took whichever side had 3 of the last 5;
    per position, the last digit never has 75% of the votes, so nothing new is committed, and
    the 12 read before is held only while the frames lean its way (it came first, it is no
    surer for that: on a generated video that kept a wrong digit for 29 frames)."""
    s = StableReading()
    for lines in [("12",)] * 5:
        s.update(lines)
    seen = [s.update(x) for x in [("17",), ("12",), ("17",), ("17",), ("12",), ("17",)]]
    assert seen == [("12",)] * 3 + [()] * 3  # 3 of the last 5 say 7: the 12 is withdrawn, no 17 taken
    fresh = StableReading()
    assert [fresh.update(x) for x in [("12",), ("17",)] * 4] == [()] * 8  # never commits to either


def test_votes_are_per_position_and_weighed_by_confidence():
    s = StableReading()
    # Each frame misreads a different digit: no whole reading repeats, but every position agrees.
    frames = [("4021",), ("4821",), ("4027",), ("1021",), ("4026",)]
    assert [s.update(x, (0.99, 0.99, 0.99, 0.99)) for x in frames][-1] == ("4021",)
    s = StableReading()
    sure, unsure = (0.99, 0.99), (0.99, 0.3)
    for lines, conf in [(("15",), sure), (("16",), unsure), (("15",), sure), (("16",), unsure), (("15",), sure)]:
        shown = s.update(lines, conf)
    assert shown == ("15",)  # 3 frames of 5 but 2.97 of 3.57 of the confidence: 83%
    s = StableReading()
    for lines in [("5", "6392"), ("526392",), ("5", "6392"), ("526392",), ("5", "6392")]:
        shown = s.update(lines)
    assert shown == ()  # the layout alternates (a number split, then not): held


def test_on_generated_videos_the_vote_itself_commits_no_wrong_reading(mnist):
    """Pages read right in most still frames, through a shaky camera with blur, glare and a
    finger: single frames are wrong now and then, the stable reading never is."""
    from digitedge.edge.recognize import Recognizer
    from digitedge.train.videos import score_stable, video_stream

    class LastFrame:  # no vote at all
        def update(self, lines, confidences):
            return lines

    recognizer, stream = Recognizer(), video_stream(mnist.x_test, mnist.y_test, seed=2026, frames=40)
    readings, truths = [], []
    for _ in range(12):
        video = next(stream)
        results = [recognizer.recognize(f) for f in video.frames]
        readings.append([(r.lines, tuple(d.confidence for d in r.digits)) for r in results])
        truths.append(video.lines)
    new, raw = score_stable(readings, truths, StableReading), score_stable(readings, truths, LastFrame)
    assert new["wrong_by_vote"] == 0 and new["right"] >= 0.85, new
    assert raw["wrong_by_vote"] > 0.02, raw  # these videos do flicker


# --- faults of live sources, with a scripted stand-in for cv2.VideoCapture -------------------
import itertools  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


class FakeCapture:
    """Plays a script per connection: 'frame', 'empty', 'fail' or 'stall' (blocks for 30 s)."""

    def __init__(self, script, opened=True):
        self.script, self.opened = iter(script), opened

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return self.opened

    def read(self):
        step = next(self.script, "fail")
        if step == "frame":
            return True, np.full((48, 64, 3), 255, np.uint8)
        if step == "empty":
            return True, np.zeros((0, 0, 3), np.uint8)
        if step == "stall":
            time.sleep(30)
        return False, None

    def release(self):
        pass


def opener(*scripts):
    connections = iter(scripts)
    return lambda _target: FakeCapture(next(connections, ["fail"]))


def test_live_source_that_stalls_is_reopened_not_waited_on_forever():
    src = VideoSource(
        "rtsp://camera",
        read_timeout_s=0.3,
        reconnect_tries=2,
        backoff_s=0.01,
        opener=opener(["frame", "frame", "stall"], ["frame"] * 3),
    )
    started = time.time()
    frames = 0
    with pytest.raises(SourceError, match="gave no frame after 2 reconnects"), src:
        for _ in src:
            frames += 1
    assert frames >= 2 and src.reconnects >= 1  # live reading keeps only the newest frame
    assert time.time() - started < 10


def test_intermittent_source_keeps_going():
    flaky = [["frame", "frame", "frame", "fail"]] * 50
    src = VideoSource("/dev/video9", reconnect_tries=3, backoff_s=0.001, opener=opener(*flaky))
    with src:
        frames = list(itertools.islice(src, 30))
    assert len(frames) == 30 and src.reconnects >= 9


def test_empty_frames_count_as_drops():
    src = VideoSource(
        "http://cam/stream", reconnect_tries=1, backoff_s=0.001, opener=opener(["frame", "empty"], ["frame", "fail"])
    )
    frames = []
    with pytest.raises(SourceError, match="gave no frame after 1 reconnect"), src:
        frames.extend(src)  # raises once the second connection fails too
    assert frames and all(f.size for f in frames)  # an empty frame is a drop, never passed on
    assert src.reconnects >= 1


def test_source_that_never_opens():
    with pytest.raises(SourceError, match="cannot open video source 'rtsp://nowhere'"):
        VideoSource("rtsp://nowhere", opener=lambda t: FakeCapture([], opened=False)).__enter__()


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_memory_stays_flat_over_20000_frames_of_a_looping_video(tmp_path):
    out = tmp_path / "frames.jsonl"
    proc = subprocess.Popen(
        [
            *CLI,
            "camera",
            "--source",
            str(VIDEO),
            "--loop",
            "--max-frames",
            "20000",
            "--jsonl",
            str(out),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    samples = []  # (frames written so far, RSS in kB)
    while proc.poll() is None:
        time.sleep(1.0)
        try:
            samples.append((out.stat().st_size, _rss_kb(proc.pid)))
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            pass
    assert proc.returncode == 0, proc.stderr.read()
    assert sum(1 for _ in out.open()) == 20001  # the run record, then the frames
    steady = [rss for _, rss in samples[len(samples) // 5 :]]  # after warm-up
    growth_mb = (max(steady) - min(steady)) / 1024
    print(f"RSS over 20,000 frames: {min(steady) / 1024:.1f}..{max(steady) / 1024:.1f} MB")
    assert growth_mb < 15
