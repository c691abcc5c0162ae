"""The readers a user would try first, measured beside digitedge in the same run.

- `classic`: the OpenCV recipe of countless tutorials: Otsu threshold, external contours,
  boxes of digit size, MNIST-style centring (our `prepare`), the same int8 model; numbers
  grouped into lines as digitedge groups them, so only finding and reading differ.
- `tesseract`: Tesseract 5 (Debian `tesseract-ocr`), sparse text (`--psm 11`), digits only.

Each is a callable image -> lines, like `Recognizer.recognize(...).lines`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from digitedge.edge.data import Box, Digit
from digitedge.edge.images import to_gray
from digitedge.edge.lines import group_lines, read_line
from digitedge.edge.model import Classifier
from digitedge.edge.preprocess import prepare


class Classic:
    """Otsu, contours, centring, the same model."""

    def __init__(self, model_path: str | None = None) -> None:
        self.classifier = Classifier(model_path)

    def __call__(self, image: np.ndarray) -> tuple[str, ...]:
        gray = cv2.GaussianBlur(to_gray(image), (5, 5), 0)
        ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
        contours = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
        H, W = gray.shape
        boxes = [Box(*cv2.boundingRect(c)) for c in contours]
        boxes = [b for b in boxes if 10 <= b.h <= 0.9 * H and b.w <= 1.5 * b.h]
        if not boxes:
            return ()
        batch = np.stack([prepare(ink[b.y : b.y + b.h, b.x : b.x + b.w]) for b in boxes])[..., None]
        digits = [
            Digit(b, p.label, p.confidence)
            for b, p in zip(boxes, self.classifier.classify(batch))
            if p.label is not None
        ]
        return tuple(read_line(line) for line in group_lines(digits))


class Tesseract:
    """Tesseract 5 on the image as it is: sparse text, digits only."""

    def __init__(self) -> None:
        self.binary = shutil.which("tesseract")
        if self.binary is None:
            raise FileNotFoundError("tesseract is not installed (Debian: apt-get install tesseract-ocr)")
        self.version = subprocess.run([self.binary, "--version"], capture_output=True, text=True).stdout.split("\n")[0]

    def __call__(self, image: np.ndarray) -> tuple[str, ...]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "in.png"
            cv2.imwrite(str(path), image)
            out = subprocess.run(
                [self.binary, str(path), "stdout", "--psm", "11", "-c", "tessedit_char_whitelist=0123456789"],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
        return tuple(text for text in ("".join(ch for ch in line if ch.isdigit()) for line in out.splitlines()) if text)
