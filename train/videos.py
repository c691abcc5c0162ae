"""Generated camera videos with known truth, for the live loop's stable reading.

A page of numbers (a clean generated scene: what one still frame reads right, mostly)
held in front of a camera for `frames` frames, with what makes a reading flicker: the page
drifts and shakes, every frame has fresh sensor noise and its own JPEG, focus and motion
blur come in bursts, a glare spot washes over part of the page, and a finger passes across
it, hiding digits for a few frames. Truth is the page's lines, the same in every frame.

    python -m digitedge.train.videos --data ../shared/datasets/mnist.npz --score 40
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from digitedge.edge.exits import EXIT_OK
from digitedge.train.scenes import make_scene


@dataclass(frozen=True)
class Video:
    """Frames (BGR uint8) of one page and the page's true lines."""

    frames: tuple[np.ndarray, ...]
    lines: tuple[str, ...]


def make_video(
    digits: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    frames: int = 60,
    size: tuple[int, int] = (640, 480),
) -> Video:
    """One page, `frames` frames of it through a shaky, noisy camera (see the module's text)."""
    W, H = size
    page = make_scene(digits, labels, rng, size, "clean")
    blur = set(_bursts(rng, frames, count=2, length=(2, 4)))
    glare = set(_bursts(rng, frames, count=1, length=(1, 3)))
    finger = list(_bursts(rng, frames, count=1, length=(4, 8)))
    gx, gy = rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H
    out = []
    for t in range(frames):
        dx, dy = rng.uniform(3, 8) * np.sin(t / 6) + rng.normal(0, 1), 3 * np.cos(t / 5) + rng.normal(0, 1)
        m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        frame: np.ndarray = cv2.warpAffine(page.image, m, (W, H), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        if t in blur:
            k = int(rng.integers(5, 11))
            kernel = np.zeros((k, k), np.float32)
            kernel[k // 2, :] = 1.0 / k  # a sideways jolt
            frame = cv2.filter2D(frame, -1, kernel)
        if t in glare:
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
            spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (0.12 * W) ** 2))
            frame = frame + 220 * spot[..., None]
        if t in finger:
            x = int((finger.index(t) + 0.5) / len(finger) * W)
            cv2.ellipse(frame, (x, H), (int(0.06 * W), int(0.55 * H)), 0, 180, 360, (120, 140, 180), -1)
        frame = frame + rng.normal(0, rng.uniform(2, 6), frame.shape)
        ok, jpg = cv2.imencode(".jpg", np.clip(frame, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 75])
        decoded = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
        assert ok and decoded is not None, "OpenCV decodes the JPEG it just encoded"
        out.append(decoded)
    return Video(tuple(out), tuple(page.lines))


@dataclass(frozen=True)
class MeterVideo:
    """Frames of a rolling counter, the wheel boxes, and the true count at each frame."""

    frames: tuple[np.ndarray, ...]
    boxes: tuple[tuple[int, int, int, int], ...]  # the wheels in the first frame
    mark: tuple[int, int, int, int]  # the maker's label above them, to align on
    positions: tuple[float, ...]  # where the last wheel stands at each frame, in its units
    glare: tuple[int, ...]  # frames washed by glare


def make_meter_video(
    rng: np.random.Generator,
    frames: int = 120,
    wheels: int = 6,
    start: int = 12_345,
    speed: float = 0.3,
    moved: tuple[int, int] = (0, 0),
) -> MeterVideo:
    """An odometer-style counter: printed digits on wheels that roll, so a wheel is often
    caught between two digits (a wheel moves on only while every wheel to its right passes
    from 9 to 0), with camera noise, a slight shake and one or two glare frames. The camera
    slides by `moved` (dx, dy) px over the video, as a loosely mounted one does."""
    W, H, w, h, top = 60 * wheels + 40, 200, 48, 76, 82
    boxes = tuple((20 + 60 * k + 6, top, w, h) for k in range(wheels))
    glare = tuple(sorted({int(g) for g in rng.integers(20, frames - 5, 2)}))
    out, positions = [], []
    position = float(start)
    for t in range(frames):
        face = np.full((H, W, 3), 60, np.uint8)
        cv2.rectangle(face, (20, 14), (150, 56), (200, 200, 200), 2)
        cv2.putText(face, "AQUA m3", (28, 46), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (220, 220, 220), 2, cv2.LINE_AA)
        for k in range(wheels):  # k = 0 is the leftmost wheel
            place = wheels - 1 - k
            v = position / 10**place
            below = int(position) % 10**place
            frac = position - int(position) if place == 0 or below == 10**place - 1 else 0.0
            face[top : top + h, boxes[k][0] : boxes[k][0] + w] = _wheel(int(v) % 10, frac, w, h)
        along = t / max(frames - 1, 1)
        m = np.array(
            [[1, 0, 2 * np.sin(t / 9) + along * moved[0]], [0, 1, 1.5 * np.cos(t / 7) + along * moved[1]]], np.float32
        )
        frame = cv2.warpAffine(face, m, (W, H), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        if t in glare:
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
            cx = rng.uniform(0.2, 0.8) * W
            frame = frame + 230 * np.exp(-((xx - cx) ** 2 + (yy - H / 2) ** 2) / (2 * 40.0**2))[..., None]
        frame = frame + rng.normal(0, 3, frame.shape)
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
        positions.append(position)
        position += speed * rng.uniform(0.5, 1.5)
    return MeterVideo(tuple(out), boxes, (14, 8, 144, 56), tuple(positions), glare)


def _wheel(digit: int, frac: float, w: int, h: int) -> np.ndarray:
    """A wheel's window showing `digit` rolled `frac` of the way to the next one."""
    strip = np.full((2 * h, w, 3), 245, np.uint8)
    for i, d in enumerate((digit, (digit + 1) % 10)):
        cv2.putText(strip, str(d), (6, i * h + h - 14), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (20, 20, 20), 5, cv2.LINE_AA)
    off = int(round(frac * h))
    return strip[off : off + h]


def _bursts(rng: np.random.Generator, frames: int, count: int, length: tuple[int, int]) -> Iterator[int]:
    """Frame numbers of `count` runs of `length` frames each, after the first ten."""
    for _ in range(count):
        start, n = int(rng.integers(10, frames - length[1])), int(rng.integers(length[0], length[1] + 1))
        yield from range(start, start + n)


def video_stream(digits: np.ndarray, labels: np.ndarray, seed: int, frames: int = 60) -> Iterator[Video]:
    rng = np.random.default_rng(seed)
    while True:
        yield make_video(digits, labels, rng, frames)


def score_stable(
    readings: list[list[tuple[tuple[str, ...], tuple[float, ...]]]],
    truths: list[tuple[str, ...]],
    voter: Callable[[], Any],
    warmup: int = 5,
) -> dict[str, float]:
    """Shares of frames (after `warmup` per video) whose stable reading is right, wrong or
    empty, for a fresh `voter()` per video fed each frame's (lines, confidences). Wrong frames
    are split: `wrong_by_vote` in videos whose still frames mostly read right (the vote's own
    error), `wrong_misread` in videos whose still frames mostly read wrong (no vote fixes those)."""
    right = by_vote = misread = total = 0
    for frames, truth in zip(readings, truths):
        stable = voter()
        mostly = Counter(lines for lines, _ in frames).most_common(1)[0][0]
        for t, (lines, confidences) in enumerate(frames):
            shown = stable.update(lines, confidences)
            if t < warmup:
                continue
            total += 1
            right += shown == truth
            wrong = bool(shown) and shown != truth
            by_vote += wrong and mostly == truth
            misread += wrong and mostly != truth
    return {
        "frames": total,
        "right": right / total,
        "wrong": (by_vote + misread) / total,
        "wrong_by_vote": by_vote / total,
        "wrong_misread": misread / total,
        "empty": 1 - (right + by_vote + misread) / total,
    }


class WholeReadingVote:
    """The rule before per-position voting, for comparison: the reading seen in at least
    `votes` of the last `window` frames, whole."""

    def __init__(self, window: int = 5, votes: int = 3) -> None:
        self.history: deque[tuple[str, ...]] = deque(maxlen=window)
        self.votes = votes
        self.lines: tuple[str, ...] = ()

    def update(self, lines: tuple[str, ...], confidences: object = None) -> tuple[str, ...]:
        self.history.append(tuple(lines))
        reading, count = Counter(self.history).most_common(1)[0]
        if count >= self.votes:
            self.lines = reading
        return self.lines


def main(argv: list[str] | None = None) -> int:
    from digitedge.edge.camera import StableReading
    from digitedge.edge.recognize import Recognizer
    from digitedge.train.data import load_mnist

    p = argparse.ArgumentParser(prog="python -m digitedge.train.videos", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST .npz (its test digits fill the pages)")
    p.add_argument("--score", type=int, default=40, help="videos to read (default 40)")
    p.add_argument("--frames", type=int, default=60, help="frames per video (default 60)")
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    mnist = load_mnist(args.data)
    recognizer, stream = Recognizer(), video_stream(mnist.x_test, mnist.y_test, args.seed, args.frames)
    readings, truths = [], []
    for _ in range(args.score):
        video = next(stream)
        results = [recognizer.recognize(f) for f in video.frames]
        readings.append([(r.lines, tuple(d.confidence for d in r.digits)) for r in results])
        truths.append(video.lines)
    raw = sum(lines == t for frames, t in zip(readings, truths) for lines, _ in frames)
    print(json.dumps({"videos": args.score, "single_frames_right": round(raw / (args.score * args.frames), 4)}))
    for name, voter in (("whole reading, 3 of 5 (before)", WholeReadingVote), ("per position", StableReading)):
        figures = score_stable(readings, truths, voter)
        print(json.dumps({"stable": name, **{k: round(v, 4) for k, v in figures.items()}}))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
