"""Frame sources and the stable reading of a live recognizer.

Sources are context managers that iterate frames: OpenCV VideoCapture (webcam index,
/dev/videoN, video file, network stream) or picamera2 (imported only when asked for). A
file that ends simply ends; a live source that drops is reopened with backoff.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A frame source could not be opened (or reopened)."""


class VideoSource:
    """Frames from cv2.VideoCapture; `with VideoSource(spec) as src: for frame in src: ...`."""

    def __init__(self, spec: str, reconnect_tries: int = 5, backoff_s: float = 0.5) -> None:
        self.spec = spec
        self.is_file = Path(spec).is_file()
        self.reconnect_tries = reconnect_tries
        self.backoff_s = backoff_s
        self.cap: Any = None
        self.ended = False  # a file reached its end

    def _open(self) -> None:
        target: int | str = int(self.spec) if self.spec.isdigit() else self.spec
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open video source {self.spec!r}")
        self.cap = cap

    def __enter__(self) -> VideoSource:
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    def __iter__(self) -> Iterator[np.ndarray]:
        empty = 0
        while True:
            ok, frame = self.cap.read()
            if ok and frame is not None and frame.size:
                empty = 0
                yield frame
                continue
            if self.is_file:
                self.ended = True
                return
            empty += 1  # a live source dropped: reopen with growing pauses
            if empty > self.reconnect_tries:
                raise SourceError(f"video source {self.spec!r} gave no frame after {self.reconnect_tries} reconnects")
            delay = self.backoff_s * 2 ** (empty - 1)
            log.warning("source %s dropped; reconnecting in %.1fs (%d/%d)", self.spec, delay, empty, self.reconnect_tries)
            time.sleep(delay)
            self.cap.release()
            try:
                self._open()
            except SourceError:
                continue


class PiCameraSource:
    """Frames from the Raspberry Pi camera through picamera2 (BGR, 640x480)."""

    def __init__(self, size: tuple[int, int] = (640, 480)) -> None:
        try:
            from picamera2 import Picamera2  # noqa: PLC0415 - optional hardware
        except ImportError:
            raise SourceError(
                "picamera2 is not installed: on Raspberry Pi OS run `sudo apt install python3-picamera2` "
                "and create the venv with --system-site-packages"
            ) from None
        self._cam = Picamera2()
        self._cam.configure(self._cam.create_video_configuration(main={"size": size, "format": "BGR888"}))
        self.ended = False

    def __enter__(self) -> PiCameraSource:
        self._cam.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._cam.stop()
        self._cam.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            yield self._cam.capture_array()


def open_source(spec: str) -> VideoSource | PiCameraSource:
    """The source named by `--source`: 'picamera', or anything VideoCapture opens."""
    return PiCameraSource() if spec == "picamera" else VideoSource(spec)


class StableReading:
    """Lines confirmed across recent frames: the reading seen in at least `votes` of the last
    `window` frames. Until one is, the previous stable reading holds, so flicker never shows."""

    def __init__(self, window: int = 5, votes: int = 3) -> None:
        if not 1 <= votes <= window:
            raise ValueError(f"need 1 <= votes <= window, got votes={votes}, window={window}")
        self.history: deque[tuple[str, ...]] = deque(maxlen=window)
        self.votes = votes
        self.lines: tuple[str, ...] = ()

    def update(self, lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        self.history.append(tuple(lines))
        reading, count = Counter(self.history).most_common(1)[0]
        if count >= self.votes:
            self.lines = reading
        return self.lines
