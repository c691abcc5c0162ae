"""`digitedge doctor`: check this device can run the recognizer, and say what to fix."""

from __future__ import annotations

import argparse
import glob
import importlib.metadata as md
import os
import platform
import sys
from collections.abc import Callable

from digitedge.edge.exits import EXIT_OK, EXIT_PARTIAL

Check = tuple[bool, str, str]  # passed, what was found, how to fix it


def check_python() -> Check:
    ok = sys.version_info >= (3, 11)
    return (
        ok,
        f"Python {platform.python_version()} on {platform.machine()} ({platform.system()})",
        "use Python 3.11 or newer",
    )


def check_backend() -> Check:
    from digitedge.edge.interpreter import BACKEND, BACKEND_MODULES

    if BACKEND is None:
        return False, "no TFLite interpreter", "pip install ai-edge-litert (or tflite-runtime)"
    try:
        version = md.version(BACKEND)  # the backend names are their distribution names
    except md.PackageNotFoundError:
        version = "?"
    return True, f"interpreter: {BACKEND} {version} ({BACKEND_MODULES[BACKEND]})", ""


def check_model(path: str | None) -> Check:
    from digitedge.edge.model import Classifier
    from digitedge.edge.preprocess import SIZE

    try:
        clf = Classifier(path)
    except (ValueError, RuntimeError) as exc:
        return False, f"model: {exc}", "use a model made by `digitedge convert`, with its .json beside it"
    import numpy as np

    clf.probabilities(np.zeros((1, SIZE, SIZE, 1), np.uint8))
    m = clf.metadata.about
    v = m.get("verification", {})
    if "parent" in m:  # made by `digitedge finetune`
        before, after = v.get("before", {}), v.get("after", {})
        said = (
            f"model: {clf.path} ({m.get('arch')}, fine-tuned from {m['parent'].get('model')} on "
            f"{m.get('crops', {}).get('trained_on')} crops: your held-out crops "
            f"{before.get('crops_held_out_accuracy', 0):.1%} -> {after.get('crops_held_out_accuracy', 0):.1%}, "
            f"MNIST test {after.get('test_accuracy', 0):.2%}, created {m.get('created')})"
        )
        if not v.get("passed"):
            return False, said + ": it FAILED its gates", "label more crops and fine-tune again, or use its parent"
        return True, said, ""
    digits = v.get("int8_digit_accuracy", v.get("int8_accuracy", 0))  # older sidecars lack the closed-set figure
    return (
        True,
        (
            f"model: {clf.path} ({m.get('arch')}, reads {digits:.2%} of MNIST test digits, "
            f"{len(clf.labels)} outputs, created {m.get('created')})"
        ),
        "",
    )


def check_camera(source: str) -> Check:
    if source == "picamera":
        try:
            import picamera2  # noqa: F401
        except ImportError:
            return (
                False,
                "picamera2: not importable",
                (
                    "sudo apt install python3-picamera2, and create the venv with "
                    "--system-site-packages so it can see it"
                ),
            )
        return True, "picamera2: importable", ""
    import cv2

    devices = sorted(glob.glob("/dev/video*"))
    if source.isdigit() and not devices and platform.system() == "Linux":
        return (
            False,
            "camera: no /dev/video* device",
            "plug in a USB webcam, or use --source picamera for the Pi camera",
        )
    unreadable = [d for d in devices if not os.access(d, os.R_OK | os.W_OK)]
    if unreadable:
        return (
            False,
            f"camera: no permission on {', '.join(unreadable)}",
            "sudo usermod -aG video $USER, then log in again",
        )
    cap = cv2.VideoCapture(int(source) if source.isdigit() else source)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
    finally:
        cap.release()
    if not ok or frame is None:
        return False, f"camera: {source!r} gives no frame", "check the cable or URL; try another index (--source 1)"
    return True, f"camera: {source!r} gives {frame.shape[1]}x{frame.shape[0]} frames", ""


def check_display() -> Check:
    import cv2

    gui = "GUI" in cv2.getBuildInformation() and "NO" not in cv2.getBuildInformation().split("GUI:")[1].split("\n")[0]
    if gui:
        return True, "display: OpenCV can open windows (--show works)", ""
    return True, "display: headless OpenCV (--show unavailable; use `digitedge serve` for a live view)", ""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digitedge doctor", description="Check the interpreter, the model and the camera; print what to fix."
    )
    p.add_argument("--model", help="model to check (default: the bundled one)")
    p.add_argument("--source", help="camera to check: 0, /dev/videoN, FILE, URL or picamera (default: none)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    checks: list[Callable[[], Check]] = [check_python, check_backend, lambda: check_model(args.model), check_display]
    if args.source:
        checks.append(lambda: check_camera(args.source))
    failed = 0
    for check in checks:
        ok, found, fix = check()
        print(f"{'ok  ' if ok else 'FAIL'} {found}")
        if not ok:
            failed += 1
            print(f"     fix: {fix}")
    print("all good" if not failed else f"{failed} problem(s)")
    return EXIT_OK if not failed else EXIT_PARTIAL
