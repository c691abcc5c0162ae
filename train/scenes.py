"""Synthetic photos of numbers on paper, with ground truth, made from MNIST digits.

Used for quality tests, the bundled samples and benchmarks. `clean` scenes are dark digits
on white paper; `hard` scenes add what phone and Pi photos contain: a lighting gradient, a
soft shadow, blur, sensor noise, JPEG, a small rotation and perspective tilt, touching digits
and clutter (letters, ruled lines). Ground-truth boxes are measured on each digit's own transformed
mask, so they stay right under rotation and tilt. Only numpy and OpenCV: no TensorFlow.

    python -m digitedge.train.scenes --data ../shared/datasets/mnist.npz --out samples --count 4 --video
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from digitedge.edge.data import Box
from digitedge.edge.exits import EXIT_OK, EXIT_USAGE

Difficulty = Literal["clean", "hard"]
LETTERS = "ABCDEFGHKMNPRSTUVWXYZaceghkmnrsuvwxz#%&@+=?"


@dataclass
class Scene:
    """A rendered image and what is really in it."""

    image: np.ndarray  # BGR uint8
    boxes: list[Box] = field(default_factory=list)  # one per digit, reading order
    labels: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    conditions: dict[str, object] = field(default_factory=dict)  # what a photo-like scene shows


def _digit_patch(img: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """A tight MNIST digit scaled to `height` px, with a random stroke width (0..1 alpha)."""
    ys, xs = np.nonzero(img)
    crop = img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = height / crop.shape[0]
    w = max(2, round(crop.shape[1] * scale))
    patch: np.ndarray = cv2.resize(crop, (w, height), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    stroke = rng.uniform(-1, 1.5) * height / 40
    k = int(abs(stroke)) * 2 + 1
    if k > 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        patch = cv2.dilate(patch, kernel) if stroke > 0 else cv2.erode(patch, kernel)
    return np.clip(patch, 0, 1)


def make_scene(
    digits: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    size: tuple[int, int] = (640, 480),
    difficulty: Difficulty = "clean",
    n_lines: int | None = None,
) -> Scene:
    """Compose numbers from the given MNIST images (drawn at random) into one photo-like scene."""
    W, H = size
    hard = difficulty == "hard"
    n_lines = n_lines or int(rng.integers(1, 4))
    margin = 0.1 if hard else 0.03  # rotation must not push digits off the page
    top, band = margin * H, (1 - 2 * margin) * H / n_lines
    ink = np.zeros((H, W), np.float32)  # 0 = paper, 1 = full ink
    owner = np.zeros((H, W), np.int32)  # which digit (1-based) a pixel belongs to
    truth: list[tuple[int, int]] = []  # (line index, label)
    for li in range(n_lines):
        h = int(rng.uniform(0.3, 0.6) * band) if n_lines > 1 else int(rng.uniform(0.15, 0.4) * H)
        h = max(20, min(h, int(band * 0.7)))
        count = int(rng.integers(2, 7))
        x = int(rng.uniform(margin + 0.02, 0.25) * W)
        y0 = int(top + li * band + (band - h) / 2 + rng.uniform(-0.1, 0.1) * (band - h))
        for _ in range(count):
            i = int(rng.integers(len(digits)))
            patch = _digit_patch(digits[i], h, rng)
            ph, pw = patch.shape
            y = int(np.clip(y0 + rng.normal(0, h * 0.04), 0, H - ph))
            if x + pw >= (1 - margin) * W:
                break
            region = ink[y : y + ph, x : x + pw]
            np.maximum(region, patch, out=region)
            truth.append((li, int(labels[i])))
            owner[y : y + ph, x : x + pw][patch > 0.3] = len(truth)
            touching = hard and rng.random() < 0.25
            x += pw + (int(-pw * rng.uniform(0.02, 0.12)) if touching else int(h * rng.uniform(0.15, 0.5)))
    if hard:
        _clutter(ink, owner, rng)

    paper = np.full((H, W), rng.uniform(0.85, 1.0) if hard else 1.0, np.float32)
    darkness = rng.uniform(0.6, 0.9) if hard else 1.0
    gray: np.ndarray = paper * (1 - darkness * ink)
    if hard:
        gray *= _lighting(H, W, rng)
        m = _camera_pose(W, H, rng)
        gray = cv2.warpPerspective(gray, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        owner = cv2.warpPerspective(owner.astype(np.float32), m, (W, H), flags=cv2.INTER_NEAREST).astype(np.int32)
        gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.3, 1.2))
        gray += rng.normal(0, rng.uniform(0.005, 0.03), gray.shape).astype(np.float32)
    image = cv2.cvtColor(np.clip(gray * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if hard:
        ok, enc = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 90))])
        decoded = cv2.imdecode(enc, cv2.IMREAD_COLOR)
        assert decoded is not None, "OpenCV decodes the JPEG it just encoded"
        image = decoded

    return with_truth(Scene(image), truth, owner)


def with_truth(scene: Scene, truth: list[tuple[int, int]], owner: np.ndarray) -> Scene:
    """Fill a scene's boxes, labels and lines from `truth` ((line, label) of digit k+1) and
    `owner` (which digit, 1-based, each pixel of the final image shows). Digits hidden
    entirely (off the frame) are left out."""
    per_line: dict[int, str] = {}
    for k, (li, label) in enumerate(truth, start=1):
        ys, xs = np.nonzero(owner == k)
        if ys.size == 0:
            continue
        scene.boxes.append(
            Box(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        )
        scene.labels.append(label)
        per_line[li] = per_line.get(li, "") + str(label)
    scene.lines = [per_line[k] for k in sorted(per_line)]
    return scene


def _camera_pose(W: int, H: int, rng: np.random.Generator) -> np.ndarray:
    """A page seen by a hand-held camera: rotated by up to 8 degrees and tilted (each corner
    moved by up to 5% of the frame), as a 3x3 homography."""
    rot = np.vstack([cv2.getRotationMatrix2D((W / 2, H / 2), rng.uniform(-8, 8), 1.0), [0, 0, 1]])
    corners = np.array([[0, 0], [W, 0], [W, H], [0, H]], np.float32)
    moved = corners + rng.uniform(-0.05, 0.05, (4, 2)).astype(np.float32) * np.array([W, H], np.float32)
    return rot @ cv2.getPerspectiveTransform(corners, moved)


def _lighting(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    """A linear brightness gradient times a soft-edged shadow blob."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(a) * xx / W + np.sin(a) * yy / H
    light = 1 - rng.uniform(0.1, 0.4) * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    shadow: np.ndarray = np.zeros((H, W), np.float32)
    c = (int(rng.uniform(0, W)), int(rng.uniform(0, H)))
    cv2.ellipse(
        shadow,
        c,
        (int(W * rng.uniform(0.2, 0.5)), int(H * rng.uniform(0.2, 0.5))),
        rng.uniform(0, 180),
        0,
        360,
        1.0,
        -1,
    )
    shadow = cv2.GaussianBlur(shadow, (0, 0), min(H, W) * 0.05)
    return light * (1 - rng.uniform(0.2, 0.45) * shadow)


def _clutter(ink: np.ndarray, owner: np.ndarray, rng: np.random.Generator) -> None:
    """Letters and symbols in free space, plus faint ruled lines across the page."""
    H, W = ink.shape
    for _ in range(int(rng.integers(1, 4))):
        y = int(rng.uniform(0.1, 0.95) * H)
        cv2.line(ink, (0, y), (W - 1, y + int(rng.uniform(-5, 5))), float(rng.uniform(0.15, 0.35)), 1)
    for _ in range(int(rng.integers(1, 4))):
        text = "".join(rng.choice(list(LETTERS), int(rng.integers(1, 3))))
        scale = rng.uniform(0.8, 1.6)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        for _ in range(20):  # find a free spot, or skip this word
            x, y = int(rng.uniform(0, W - tw - 1)), int(rng.uniform(th + 1, H - 4))
            if not owner[max(0, y - th - 6) : y + 6, max(0, x - 6) : x + tw + 6].any():
                mark = np.zeros((H, W), np.uint8)  # anti-aliased text needs an 8-bit canvas
                cv2.putText(mark, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 2, cv2.LINE_AA)
                np.maximum(ink, mark.astype(np.float32) / 255, out=ink)
                break


def scene_stream(
    digits: np.ndarray,
    labels: np.ndarray,
    seed: int,
    difficulty: Difficulty = "clean",
    size: tuple[int, int] = (640, 480),
):
    """Endless reproducible scenes."""
    rng = np.random.default_rng(seed)
    while True:
        yield make_scene(digits, labels, rng, size, difficulty)


def _iou(a: Box, b: Box) -> float:
    iw = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    ih = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    inter = max(0, iw) * max(0, ih)
    return inter / float(a.area + b.area - inter) if inter else 0.0


def score(recognize, scenes: Iterable[Scene]) -> dict[str, float]:
    """Detection recall and precision (IoU >= 0.5), digit accuracy and whole-line exact match."""
    truth_n = found_n = matched = correct = lines_total = lines_ok = n = 0
    for scene in scenes:
        n += 1
        result = recognize(scene.image)
        taken: set[int] = set()
        for box, label in zip(scene.boxes, scene.labels):
            best, best_iou = None, 0.5
            for j, d in enumerate(result.digits):
                if j not in taken and (iou := _iou(box, d.box)) >= best_iou:
                    best, best_iou = j, iou
            if best is not None:
                taken.add(best)
                matched += 1
                correct += result.digits[best].label == label
        truth_n += len(scene.boxes)
        found_n += len(result.digits)
        remaining = list(result.lines)
        for line in scene.lines:
            lines_total += 1
            if line in remaining:
                remaining.remove(line)
                lines_ok += 1
    return {
        "scenes": n,
        "digits": truth_n,
        "recall": matched / max(truth_n, 1),
        "precision": matched / max(found_n, 1),
        "digit_accuracy": correct / max(matched, 1),
        "line_exact": lines_ok / max(lines_total, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Write sample scenes (JPEG + ground-truth JSON) and optionally a short video."""
    p = argparse.ArgumentParser(prog="python -m digitedge.train.scenes", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST .npz or IDX folder (test digits are used)")
    p.add_argument("--out", type=Path, default=Path("samples"))
    p.add_argument("--count", type=int, default=4, help="scenes of each difficulty")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--video", action="store_true", help="also write video.avi (MJPG) of a moving page")
    p.add_argument(
        "--score",
        type=int,
        metavar="N",
        help="instead of writing files, read N scenes of each tier with --model and print quality figures as JSON",
    )
    p.add_argument(
        "--tiers",
        default="clean,hard,photo",
        help="tiers to --score: clean, hard, photo (photo-like, 2-12 MP; train.photoscenes)",
    )
    p.add_argument("--model", help="int8 model for --score (default: the bundled one)")
    args = p.parse_args(argv)
    from digitedge.train.data import DataError, load_mnist

    try:
        mnist = load_mnist(args.data)
    except DataError as exc:
        print(f"scenes: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.score:
        from digitedge.edge.recognize import Recognizer
        from digitedge.train.photoscenes import photo_stream

        recognizer = Recognizer(args.model)
        for tier in args.tiers.split(","):
            if tier == "photo":
                stream = photo_stream(mnist.x_test, mnist.y_test, args.seed)
            elif tier in ("clean", "hard"):
                stream = scene_stream(mnist.x_test, mnist.y_test, args.seed, tier)  # type: ignore[arg-type]
            else:
                print(f"scenes: unknown tier {tier!r} (clean, hard, photo)", file=sys.stderr)
                return EXIT_USAGE
            figures = score(recognizer.recognize, (next(stream) for _ in range(args.score)))
            print(json.dumps({"difficulty": tier, **{k: round(v, 4) for k, v in figures.items()}}), flush=True)
        return EXIT_OK
    args.out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for difficulty in ("clean", "hard"):
        stream = scene_stream(mnist.x_test, mnist.y_test, args.seed, difficulty)
        for i in range(args.count):
            scene = next(stream)
            name = f"{difficulty}-{i + 1}.jpg"
            cv2.imwrite(str(args.out / name), scene.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            truth[name] = {"lines": scene.lines, "boxes": [b.as_list() for b in scene.boxes], "labels": scene.labels}
    if args.video:
        truth["video.avi"] = {"lines": write_video(mnist.x_test, mnist.y_test, args.out / "video.avi", args.seed)}
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    print(f"wrote {2 * args.count} scenes{' and video.avi' if args.video else ''} to {args.out}", file=sys.stderr)
    return EXIT_OK


def write_video(
    digits: np.ndarray, labels: np.ndarray, path: Path, seed: int, frames: int = 45, fps: int = 15
) -> list[str]:
    """A page drifting and shaking slowly in front of the camera; returns its true lines."""
    rng = np.random.default_rng(seed)
    page = make_scene(digits, labels, rng, (480, 360), "clean", n_lines=2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (480, 360))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: cannot open a video writer")
    for t in range(frames):
        dx, dy = 6 * np.sin(t / 7), 4 * np.cos(t / 5)
        m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        frame = cv2.warpAffine(page.image, m, (480, 360), borderMode=cv2.BORDER_REPLICATE)
        noise = rng.normal(0, 4, frame.shape)
        writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
    writer.release()
    return page.lines


if __name__ == "__main__":
    sys.exit(main())
