"""Reading quality on real and photo-like images, digitedge beside its peers, one run.

    python bench/photos.py [--real ../shared/datasets/real-dev] [--data ../shared/datasets/mnist.npz]
                           [--usps ../shared/datasets/usps.npz] [--scenes 60]

Scores `digitedge classify`'s defaults (no per-set options; turned photos with --rotate
auto), the classic OpenCV recipe and Tesseract 5 (bench/peers.py) on: the real-photo dev set
(train/photos.py: digit recall, precision, F1, exact), the generated photo-like tier and
USPS test digits alone on paper. Times a 640x480 frame end to end against the classic
recipe, and a 12 MP phone JPEG, decoding included, on one core. Writes bench/photos.md.
real-dev is the dev set: its figures are a smoke test, not an unseen measure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "datasets"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.peers import Classic, Tesseract  # noqa: E402
from digitedge.edge.batch import KEEP_PIXELS  # noqa: E402
from digitedge.edge.images import decode_image, read_image  # noqa: E402
from digitedge.edge.recognize import Recognizer  # noqa: E402
from digitedge.train.data import load_mnist  # noqa: E402
from digitedge.train.photos import Photo, evaluate, load, score_photo, summarize  # noqa: E402
from digitedge.train.photoscenes import photo_stream  # noqa: E402
from digitedge.train.scenes import make_scene, score  # noqa: E402


def lines_score(read, scenes) -> dict[str, float]:
    """Scenes scored on their lines alone, like the real photos (any reader returns lines)."""
    return summarize(
        [score_photo(Photo(Path(str(i)), tuple(s.lines), str(i), False), read(s.image)) for i, s in enumerate(scenes)]
    )


def usps_alone(recognizer: Recognizer, usps: Path) -> float:
    """USPS test digits, each alone on paper (bright-on-dark 16x16 turned dark-on-white at
    64 px): the share read as exactly that one digit."""
    data = np.load(usps)
    test = data["split"] == "test"
    right = 0
    for img, label in zip(data["x"][test], data["y"][test]):
        page = np.full((160, 160), 255, np.uint8)
        page[48:112, 48:112] = 255 - cv2.resize(img, (64, 64), interpolation=cv2.INTER_LINEAR)
        digits = recognizer.recognize(page).digits
        right += len(digits) == 1 and digits[0].label == label
    return right / int(test.sum())


def median_ms(fn, items, repeats: int = 3) -> float:
    fn(items[0])
    times = []
    for _ in range(repeats):
        for item in items:
            t = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(prog="python bench/photos.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--real", type=Path, default=SHARED / "real-dev", help="folder with images/ and truth.jsonl")
    p.add_argument("--data", default=str(SHARED / "mnist.npz"), help="MNIST .npz (digits of the generated scenes)")
    p.add_argument("--usps", type=Path, default=SHARED / "usps.npz")
    p.add_argument("--scenes", type=int, default=60, help="photo-like scenes (2 MP)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "photos.md")
    args = p.parse_args()
    cv2.setNumThreads(1)
    mnist = load_mnist(args.data)
    ours, auto = Recognizer(num_threads=1), Recognizer(num_threads=1, rotate="auto")
    readers = {"digitedge": lambda im: ours.recognize(im).lines, "classic OpenCV": Classic()}
    try:
        readers["Tesseract"] = Tesseract()
    except FileNotFoundError as exc:
        print(f"photos: {exc}; left out", file=sys.stderr)
    figures: dict[str, dict] = {name: {} for name in readers}

    photos = [ph for ph in load(args.real) if ph.kind == "photo"]
    upright = [ph for ph in photos if not ph.rotated]
    for name, read in readers.items():
        print(f"real-dev: {name}...", file=sys.stderr)
        figures[name]["real-dev, upright photos"] = evaluate(lambda path, read=read: read(read_image(path)), upright)[0]
    figures["digitedge"]["real-dev, rotated photos (--rotate auto)"] = evaluate(
        lambda path: auto.recognize(read_image(path)).lines, [ph for ph in photos if ph.rotated]
    )[0]
    stream = photo_stream(mnist.x_test, mnist.y_test, seed=31, size=(1600, 1200))
    scenes = [next(stream) for _ in range(args.scenes)]
    for name, read in readers.items():
        print(f"photo tier: {name}...", file=sys.stderr)
        figures[name]["photo-like, 2 MP"] = lines_score(read, scenes)
    figures["digitedge"]["photo-like, boxes"] = score(ours.recognize, scenes)
    print("USPS...", file=sys.stderr)
    usps = {
        "default": usps_alone(ours, args.usps),
        "--expect one": usps_alone(Recognizer(num_threads=1, expect="one"), args.usps),
    }

    print("timing...", file=sys.stderr)
    rng = np.random.default_rng(5)
    frames = [make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "clean", n_lines=2).image for _ in range(20)]
    timing = {
        "640x480, digitedge (ms)": median_ms(ours.recognize, frames),
        "640x480, classic (ms)": median_ms(readers["classic OpenCV"], frames),
    }
    timing["640x480, digitedge / classic"] = timing["640x480, digitedge (ms)"] / timing["640x480, classic (ms)"]
    big = [
        cv2.imencode(".jpg", s.image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
        for s in (next(photo_stream(mnist.x_test, mnist.y_test, seed=40 + i, size=(4000, 3000))) for i in range(4))
    ]
    timing["12 MP JPEG full decode (ms)"] = median_ms(decode_image, big)
    timing["12 MP JPEG reduced decode, as classify does (ms)"] = median_ms(lambda b: decode_image(b, KEEP_PIXELS), big)
    timing["12 MP JPEG decode + read, as classify does (ms)"] = median_ms(
        lambda b: ours.recognize(decode_image(b, KEEP_PIXELS)), big, repeats=2
    )

    tesseract = readers.get("Tesseract")
    peers_note = "classic OpenCV = Otsu, contours, MNIST-style centring, the same int8 model (bench/peers.py); " + (
        f"Tesseract = {tesseract.version}, --psm 11, digits whitelist" if tesseract else "Tesseract not installed"
    )
    text = report(figures, usps, timing, args, peers_note)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(
        json.dumps({"quality": figures, "usps_alone": usps, "timing": timing}, indent=1) + "\n"
    )
    print(text)
    return 0


def report(figures: dict, usps: dict, timing: dict, args: argparse.Namespace, peers_note: str) -> str:
    sets = list(dict.fromkeys(k for f in figures.values() for k in f if k != "photo-like, boxes"))
    rows = ["| set | reader | digit recall | precision | F1 | read exactly |", "|---|---|---|---|---|---|"]
    for s in sets:
        for name, f in figures.items():
            if s in f:
                q = f[s]
                rows.append(
                    f"| {s} | {name} | {q['recall']:.3f} | {q['precision']:.3f} | {q['f1']:.3f} | {q['exact']:.0%} |"
                )
    boxes = figures["digitedge"]["photo-like, boxes"]
    return "\n".join(
        [
            "# Reading photos: digitedge and its peers",
            "",
            f"Made by `python bench/photos.py` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, one thread each). "
            "Images of one sheet count once. real-dev is the dev set the recognizer was developed on "
            "(16 photos): a smoke test, not an unseen measure. Photo-like scenes: train/photoscenes.py, "
            f"{args.scenes} scenes at 1600x1200, seed 31.",
            "",
            *rows,
            "",
            "Photo-like scenes, by box (IoU >= 0.5): recall "
            f"{boxes['recall']:.3f}, precision {boxes['precision']:.3f}, "
            f"digit accuracy {boxes['digit_accuracy']:.3f}, whole lines {boxes['line_exact']:.1%}.",
            "",
            f"USPS test (2,007 digits of other writers), each alone on paper, read as exactly that digit: "
            f"{usps['default']:.2%} by default, {usps['--expect one']:.2%} with `--expect one`.",
            "",
            "| timing, one core | value |",
            "|---|---|",
            *(f"| {k} | {v:.2f} |" for k, v in timing.items()),
            "",
            f"Peers: {peers_note}.",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
