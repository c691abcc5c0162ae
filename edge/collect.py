"""`--collect DIR` on `camera` and `classify`: keep the crops worth a person's label.

A recognition's doubts (`Recognition.doubts`: digits read with low confidence, marks turned
away close to the not-a-digit threshold, marks doubted inside a number) are saved twice —
the 28x28 model input (`<id>.png`) and the original crop with a margin of context
(`<id>-context.png`) — with a JSON record (`<id>.json`): source, frame or file, time, box,
why, the predicted digit and probabilities, and the model's hash.

Bounded: at most `max_files` records and `max_mb` of files, the oldest going first; from a
camera, one frame's doubts per `min_interval_s`; a crop nearly identical to one of the last
`recent` saved is skipped, so a camera aimed at one page does not save one mark a thousand
times. Ids start with the time in nanoseconds, so names sort oldest first, across processes.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitedge.edge.data import Doubt, Recognition


@dataclass(frozen=True)
class CollectConfig:
    """Where doubts go, and the bounds that keep the folder small."""

    folder: Path
    max_files: int = 2000  # records kept (each with its two images)
    max_mb: float = 200.0  # all files together
    min_interval_s: float = 0.5  # between two frames saved from one source (a camera); 0 for files
    same: float = 6.0  # mean absolute difference (levels) under which two model inputs are the same mark
    recent: int = 256  # saved inputs remembered for that comparison
    margin: float = 0.5  # context round the box, as a share of its larger side


class Collector:
    """Saves the doubts of recognitions into a bounded folder."""

    def __init__(self, cfg: CollectConfig, model_sha256: str) -> None:
        self.cfg, self.model = cfg, model_sha256
        cfg.folder.mkdir(parents=True, exist_ok=True)
        self.last_save: dict[str, float] = {}
        self.recent: deque[np.ndarray] = deque(maxlen=cfg.recent)

    def add(self, source: str, frame: int | str, image: np.ndarray, result: Recognition) -> int:
        """Save what is new among `result`'s doubts; returns how many were saved."""
        now = time.monotonic()
        if not result.doubts or now - self.last_save.get(source, -1e9) < self.cfg.min_interval_s:
            return 0
        saved = 0
        for doubt in result.doubts:
            x = doubt.input.astype(np.int16)
            if any(np.abs(x - r).mean() < self.cfg.same for r in self.recent):
                continue
            self._save(source, frame, image, doubt)
            self.recent.append(x)
            self.last_save[source] = now
            saved += 1
        if saved:
            self._trim()
        return saved

    def _save(self, source: str, frame: int | str, image: np.ndarray, doubt: Doubt) -> None:
        ident = f"{time.time_ns()}-{os.getpid()}"
        b = doubt.box
        pad = round(self.cfg.margin * max(b.w, b.h))
        h, w = image.shape[:2]
        context = image[max(0, b.y - pad) : min(h, b.y + b.h + pad), max(0, b.x - pad) : min(w, b.x + b.w + pad)]
        folder = self.cfg.folder
        cv2.imwrite(str(folder / f"{ident}.png"), doubt.input)
        cv2.imwrite(str(folder / f"{ident}-context.png"), context)
        record = {
            "id": ident,
            "source": source,
            "frame": frame,
            "time": time.time(),
            "box": b.as_list(),
            "why": doubt.why,
            "digit": doubt.digit,
            "p_digit_if_digit": round(doubt.conditional_probability, 4),
            "label": doubt.label,
            "p_not_a_digit": round(doubt.none_probability, 4),
            "model_sha256": self.model,
        }
        tmp = folder / f".{ident}.json.tmp"
        tmp.write_text(json.dumps(record) + "\n")
        tmp.replace(folder / f"{ident}.json")  # a record appears whole, after its images

    def _trim(self) -> None:
        """Delete the oldest records (and their images) beyond the file and size bounds."""
        records = sorted(self.cfg.folder.glob("*.json"))
        sizes = {r: sum(f.stat().st_size for f in _files(r) if f.exists()) for r in records}
        total, limit = sum(sizes.values()), self.cfg.max_mb * 1e6
        while records and (len(records) > self.cfg.max_files or total > limit):
            oldest = records.pop(0)
            total -= sizes[oldest]
            for f in _files(oldest):
                f.unlink(missing_ok=True)


def _files(record: Path) -> tuple[Path, Path, Path]:
    stem = record.with_suffix("")
    return record, stem.with_suffix(".png"), stem.with_name(stem.name + "-context.png")
