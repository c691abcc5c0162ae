"""A person's labels for crops: what `digitedge label` writes and `digitedge finetune` reads.

A crops folder is what `--collect DIR` fills: per crop `<id>.png` (the 28x28 model input),
`<id>-context.png` (the crop with a margin) and `<id>.json` (its record). Labels go to
`DIR/labels.jsonl`, one line per keystroke: `{"id", "label", "time"}` with `label` a digit
"0".."9", "none" (not a digit) or "skip". Lines are only ever appended, each flushed to disk
at once, and the last line for an id wins: a correction is one more line, and closing the
page loses nothing.

A folder of folders named `0`..`9` and `none` holding images is read as labelled too: an
image of 28x28 is a model input as it is (white ink on black, as `--collect` saves them; a
light one is inverted); any other image is read as one digit, the way `--expect one` reads
a form cell, and its model input is taken.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from digitedge.edge.images import read_image
from digitedge.edge.preprocess import SIZE

log = logging.getLogger(__name__)

LABELS = "labels.jsonl"
NOT_A_DIGIT, SKIP = "none", "skip"
CHOICES = (*(str(d) for d in range(10)), NOT_A_DIGIT, SKIP)
IDENT = re.compile(r"^[0-9A-Za-z_.-]{1,80}$")  # collect's ids are `<ns>-<pid>`
IMAGES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm")


class LabelError(ValueError):
    """A crops folder or label that cannot be used, named."""


@dataclass(frozen=True)
class Item:
    """A collected crop as the label page shows it: its record, how much the model doubted
    it (0..1, biggest first), and the label given so far ("" when none)."""

    id: str
    doubt: float
    record: dict[str, Any]
    label: str


@dataclass(frozen=True)
class Crop:
    """A labelled model input: `label` a digit, or None for not a digit."""

    id: str
    input: np.ndarray  # 28x28 uint8, white ink on black
    label: int | None


def doubt(record: dict[str, Any]) -> float:
    """1 - P(the model's digit is right) = 1 - P(digit | a digit) x P(a digit)."""
    return 1.0 - float(record.get("p_digit_if_digit", 0.0)) * (1.0 - float(record.get("p_not_a_digit", 1.0)))


def items(folder: Path) -> list[Item]:
    """The collected crops of `folder`, biggest doubt first, with their labels so far."""
    given = read_labels(folder)
    found = []
    for path in folder.glob("*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("%s: skipped (%s)", path, exc)
            continue
        if isinstance(record, dict) and record.get("id") == path.stem and (folder / f"{path.stem}.png").is_file():
            found.append(Item(path.stem, round(doubt(record), 4), record, given.get(path.stem, "")))
    return sorted(found, key=lambda i: (-i.doubt, i.id))


def read_labels(folder: Path) -> dict[str, str]:
    """id -> label, the last line for an id winning. A torn last line (the power went during a
    write) is skipped with a warning; nothing else is."""
    path = folder / LABELS
    labels: dict[str, str] = {}
    if not path.exists():
        return labels
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
            ident, label = row["id"], row["label"]
        except (ValueError, KeyError, TypeError):
            log.warning("%s:%d: not a label line, skipped", path, n)
            continue
        if label in CHOICES and isinstance(ident, str):
            labels[ident] = label
    return labels


def write_label(folder: Path, ident: str, label: str) -> None:
    """Append one label line and put it on disk before returning; LabelError for an unknown
    crop or label."""
    if label not in CHOICES:
        raise LabelError(f"label {label!r}: expected one of {', '.join(CHOICES)}")
    if not IDENT.match(ident) or not (folder / f"{ident}.json").is_file():
        raise LabelError(f"{folder}: no crop {ident!r}")
    line = json.dumps({"id": ident, "label": label, "time": round(time.time(), 3)}) + "\n"
    with open(folder / LABELS, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def labelled(folder: Path) -> list[Crop]:
    """Every labelled crop under `folder`, from either layout (skips and unlabelled crops are
    left out); LabelError when it holds neither."""
    if not folder.is_dir():
        raise LabelError(f"{folder}: not a folder")
    classes = [folder / name for name in CHOICES[:-1] if (folder / name).is_dir()]
    if classes:
        return list(_from_folders(classes))
    if not (folder / LABELS).exists():
        raise LabelError(
            f"{folder}: no {LABELS} (label the crops with `digitedge label {folder}`) and no folders 0..9 or none"
        )
    crops = []
    for ident, label in sorted(read_labels(folder).items()):
        if label != SKIP:
            crops.append(Crop(ident, _model_input(folder / f"{ident}.png"), _value(label)))
    return crops


def _value(label: str) -> int | None:
    return None if label == NOT_A_DIGIT else int(label)


def _from_folders(classes: list[Path]) -> Iterator[Crop]:
    reader = None
    for sub in classes:
        for path in sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGES):
            image = read_image(path)
            gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            if gray.shape == (SIZE, SIZE):
                x = gray if gray.mean() < 128 else 255 - gray
            else:
                if reader is None:
                    from digitedge.edge.recognize import Recognizer

                    reader = Recognizer(expect="one")
                result, inputs = reader.recognize_with_inputs(image)
                if not inputs:
                    raise LabelError(f"{path}: no ink found to read as one digit")
                x = inputs[0]
            yield Crop(f"{sub.name}/{path.name}", np.ascontiguousarray(x, np.uint8), _value(sub.name))


def _model_input(path: Path) -> np.ndarray:
    x = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if x is None or x.shape != (SIZE, SIZE):
        raise LabelError(f"{path}: not a {SIZE}x{SIZE} model input")
    return x
