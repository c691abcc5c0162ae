"""--collect: doubtful crops saved with their records, bounded in files and size, rate-limited
and deduplicated."""

from __future__ import annotations

import json
import subprocess

import cv2
import numpy as np

from digitedge.edge.collect import CollectConfig, Collector
from digitedge.edge.data import Box, Doubt, Recognition
from digitedge.edge.metadata import read_metadata
from digitedge.edge.model import DEFAULT_MODEL
from tests.conftest import CLI

WHY = {"low confidence", "near rejection", "doubted in a number"}


def test_classify_collects_the_doubts_of_hard_scenes(mnist, tmp_path):
    from digitedge.train.scenes import make_scene

    images, rng = tmp_path / "scenes", np.random.default_rng(5)
    images.mkdir()
    for i in range(30):  # hard scenes: some digits are read without much confidence
        cv2.imwrite(str(images / f"{i:02d}.png"), make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "hard").image)
    counts = []
    for workers in ("1", "2"):
        folder = tmp_path / f"doubts-{workers}"
        res = subprocess.run([*CLI, "classify", images, "--workers", workers, "--collect", folder], capture_output=True)
        assert res.returncode == 0, res.stderr
        records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
        assert len(records) >= 5
        for r in records:
            assert r["why"] in WHY and r["source"] == "classify" and r["frame"].startswith(str(images))
            assert r["model_sha256"] == read_metadata(DEFAULT_MODEL).model_sha256
            assert 0 <= r["p_digit_if_digit"] <= 1 and 0 <= r["p_not_a_digit"] <= 1
            x, y, w, h = r["box"]
            assert 0 <= x and 0 <= y and x + w <= 640 and y + h <= 480
            assert cv2.imread(str(folder / f"{r['id']}.png"), cv2.IMREAD_GRAYSCALE).shape == (28, 28)
            context = cv2.imread(str(folder / f"{r['id']}-context.png"))
            assert context.shape[0] > h and context.shape[1] > w  # the crop with a margin round it
        counts.append(len(records))
    assert counts[0] == counts[1]  # the same doubts, whichever process read them


def _doubt(seed: int) -> Doubt:
    x = np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)
    return Doubt("low confidence", Box(10, 10, 20, 30), x, 3, 0.6, 3, 0.1)


def _result(*doubts: Doubt) -> Recognition:
    return Recognition(100, 80, (), (), doubts)


def test_repeats_are_skipped_saves_are_spaced_and_the_oldest_go_first(tmp_path):
    image = np.full((80, 100, 3), 255, np.uint8)
    spaced = Collector(CollectConfig(tmp_path / "a", min_interval_s=60), "sha")
    assert spaced.add("cam", 0, image, _result(_doubt(1))) == 1
    assert spaced.add("cam", 1, image, _result(_doubt(2))) == 0  # too soon after the last frame saved
    assert spaced.add("other", 1, image, _result(_doubt(2))) == 1  # another source has its own pace
    same = Collector(CollectConfig(tmp_path / "b", min_interval_s=0), "sha")
    assert same.add("cam", 0, image, _result(_doubt(1), _doubt(1))) == 1  # the same mark once
    assert same.add("cam", 5, image, _result(_doubt(1))) == 0
    bounded = Collector(CollectConfig(tmp_path / "c", min_interval_s=0, max_files=3), "sha")
    for k in range(6):
        bounded.add("cam", k, image, _result(_doubt(10 + k)))
    kept = sorted(tmp_path.glob("c/*.json"))
    assert [json.loads(p.read_text())["frame"] for p in kept] == [3, 4, 5]  # the newest three
    assert len(list(tmp_path.glob("c/*.png"))) == 6  # their inputs and contexts, nothing else
    small = Collector(CollectConfig(tmp_path / "d", min_interval_s=0, max_mb=0.003), "sha")
    for k in range(6):
        small.add("cam", k, image, _result(_doubt(20 + k)))
    total = sum(p.stat().st_size for p in (tmp_path / "d").iterdir())
    assert 0 < total <= 3000 and len(list(tmp_path.glob("d/*.json"))) < 6


def test_doubts_are_found_only_when_asked(mnist):
    from digitedge.edge.recognize import Recognizer
    from digitedge.train.scenes import make_scene

    rng = np.random.default_rng(5)
    scenes = [make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "hard").image for _ in range(8)]
    plain, asked = Recognizer(), Recognizer(doubts=True)
    assert not any(plain.recognize(s).doubts for s in scenes)  # no extra work per frame by default
    found = [asked.recognize(s) for s in scenes]
    assert any(r.doubts for r in found)
    assert [r.to_dict() for r in found] == [plain.recognize(s).to_dict() for s in scenes]  # the same reading


def test_a_camera_on_one_scene_saves_its_doubts_once(mnist, tmp_path):
    """A camera aimed at one page: 30 frames of the same hard scenes save each doubt once
    (near-identical crops are skipped), with the source and frame numbers in the records."""
    from digitedge.edge.recognize import Recognizer
    from digitedge.train.scenes import make_scene

    rng = np.random.default_rng(5)
    scenes = [make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "hard").image for _ in range(6)]
    doubts = [len(Recognizer(doubts=True).recognize(s).doubts) for s in scenes]
    scene = scenes[int(np.argmax(doubts))]
    video = tmp_path / "page.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(30):
        writer.write(scene)
    writer.release()
    folder = tmp_path / "doubts"
    res = subprocess.run(
        [*CLI, "camera", "--source", video, "--collect", folder, "--jsonl", tmp_path / "out.jsonl"],
        capture_output=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    assert 1 <= len(records) <= max(doubts) + 1  # not 30 times over (a JPEG frame may differ by a level)
    assert all(r["source"] == str(video) and isinstance(r["frame"], int) and r["why"] in WHY for r in records)
