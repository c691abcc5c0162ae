"""Frame sources and the stable reading of a live recognizer.

Sources are context managers that iterate frames: OpenCV VideoCapture (webcam index,
/dev/videoN, video file, network stream) or picamera2 (imported only when asked for). A
file that ends simply ends (or loops); a live source that drops or stalls is reopened with
backoff.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A frame source could not be opened (or reopened)."""


MIN_SECONDS, MAX_SECONDS = 0.1, 600.0  # bounds of a timeout: a stall is noticed, and not never


def check_seconds(value: float) -> float:
    """A timeout in seconds within MIN_SECONDS..MAX_SECONDS, or ValueError naming it."""
    if not MIN_SECONDS <= value <= MAX_SECONDS:
        raise ValueError(f"{value:g} s is outside {MIN_SECONDS:g}..{MAX_SECONDS:g} s")
    return value


def _capture(target: int | str, read_timeout_s: float) -> Any:
    """cv2.VideoCapture with FFmpeg's own open and read timeouts set, so a read blocked on a
    stalled network stream returns by itself (a reader abandoned on a stall then ends)."""
    ms = int(1000 * max(read_timeout_s, 1.0))
    return cv2.VideoCapture(
        target, cv2.CAP_ANY, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 3 * ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    )


class _Reader(threading.Thread):
    """Reads a live capture in the background and keeps only the newest frame, so a stalled
    stream shows up as a timeout instead of a hang, and a slow consumer never lags behind.

    The reader owns its capture and is the only thread that touches it: releasing a capture
    while another thread is blocked in its `read()` crashes FFmpeg (SIGSEGV in libavutil).
    A stalled reader is abandoned with `stop()`; it releases the capture itself once the
    blocked read returns (FFmpeg's own read timeout bounds that wait)."""

    def __init__(self, cap: Any) -> None:
        super().__init__(daemon=True, name="digitedge-reader")
        self.cap, self.stopped = cap, threading.Event()
        self.frames: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=1)

    def stop(self) -> None:
        """Ask the reader to end and release its capture; never blocks."""
        self.stopped.set()

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                ok, frame = self.cap.read()
                if not ok or frame is None or not frame.size:
                    break
                with contextlib.suppress(queue.Empty):
                    self.frames.get_nowait()  # drop the older frame
                self.frames.put(frame)
            while not self.stopped.is_set():  # a failed read ends this reader, after the last good frame
                with contextlib.suppress(queue.Full):
                    self.frames.put(None, timeout=0.5)
                    return
        finally:
            self.cap.release()


class VideoSource:
    """Frames from cv2.VideoCapture; `with VideoSource(spec) as src: for frame in src: ...`.

    A file is read frame by frame to its end (or again from the start with `loop`). A live
    source (webcam, stream) is read in the background: a read that fails, comes back empty or
    takes longer than `read_timeout_s` counts as a drop, and the source is reopened with
    doubling pauses; after `reconnect_tries` drops in a row it gives up with SourceError.
    """

    def __init__(
        self,
        spec: str,
        loop: bool = False,
        read_timeout_s: float = 10.0,
        reconnect_tries: int = 5,
        backoff_s: float = 0.5,
        opener: Callable[[int | str], Any] | None = None,
        realtime: bool = False,
    ) -> None:
        check_seconds(read_timeout_s)
        if reconnect_tries < 0:
            raise ValueError(f"reconnect tries must be >= 0, got {reconnect_tries}")
        self.spec, self.loop, self.realtime = spec, loop, realtime
        self.is_file = Path(spec).is_file()
        self.read_timeout_s, self.reconnect_tries, self.backoff_s = read_timeout_s, reconnect_tries, backoff_s
        self.opener = opener or functools.partial(_capture, read_timeout_s=read_timeout_s)
        self.cap: Any = None  # a file's capture; a live one belongs to `reader`
        self.reader: _Reader | None = None
        self.ended = False  # a file reached its end
        self.reconnects = 0

    def _open(self) -> None:
        cap = self.opener(int(self.spec) if self.spec.isdigit() else self.spec)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open video source {self.spec!r}")
        if self.is_file:
            self.cap = cap
        else:  # the reader thread owns a live capture: only it reads or releases it
            self.reader = _Reader(cap)
            self.reader.start()

    def _close(self) -> None:
        if self.reader is not None:  # abandoned, never waited on: it may be blocked in read()
            self.reader.stop()
            self.reader = None
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    def __enter__(self) -> VideoSource:
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._file() if self.is_file else self._live()

    def _file(self) -> Iterator[np.ndarray]:
        rewound = False
        period = 1 / (self.cap.get(cv2.CAP_PROP_FPS) or 25.0) if self.realtime else 0.0
        due = time.monotonic()
        while True:
            ok, frame = self.cap.read()
            if ok and frame is not None and frame.size:
                rewound = False
                if period:  # a file played as the camera that recorded it delivered it
                    due += period
                    time.sleep(max(0.0, due - time.monotonic()))
                yield frame
            elif self.loop and not rewound:
                self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                rewound = True
            else:
                self.ended = True
                return

    def _live(self) -> Iterator[np.ndarray]:
        drops = 0
        while True:
            frame = None
            if self.reader is not None:
                try:
                    frame = self.reader.frames.get(timeout=self.read_timeout_s)
                except queue.Empty:
                    log.warning("source %s stalled: no frame for %.1fs", self.spec, self.read_timeout_s)
            if frame is not None:
                drops = 0
                yield frame
                continue
            drops += 1
            if drops > self.reconnect_tries:
                raise SourceError(f"video source {self.spec!r} gave no frame after {self.reconnect_tries} reconnects")
            delay = self.backoff_s * 2 ** (drops - 1)
            log.warning(
                "source %s dropped; reconnecting in %.1fs (%d/%d)", self.spec, delay, drops, self.reconnect_tries
            )
            time.sleep(delay)
            self._close()
            self.reconnects += 1
            with contextlib.suppress(SourceError):
                self._open()


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


def open_source(
    spec: str, loop: bool = False, read_timeout_s: float = 10.0, reconnect_tries: int = 5, realtime: bool = False
) -> VideoSource | PiCameraSource:
    """The source named by `--source`: 'picamera', or anything VideoCapture opens. With
    `realtime`, a video file plays at its own frame rate, as a camera would deliver it."""
    if spec == "picamera":
        return PiCameraSource()
    return VideoSource(spec, loop, read_timeout_s, reconnect_tries, realtime=realtime)


class StableReading:
    """Lines confirmed across recent frames, voted digit by digit with the model's confidence.

    Of the last `window` frames, those with the most common layout (how many lines, how many
    digits in each) vote if there are at least `votes` of them and at least `agreement` of
    the window. At each digit position the
    digit with the most confidence wins if at least `votes` frames read it and it carries at
    least `agreement` of the confidence cast there. Where the layout is not settled (a finger
    over the page, a number split in one frame) the previous stable reading is held. Where a
    digit alternates, nothing new is taken from either side, and the previous reading is held
    only while the frames still lean its way at that position; once most of the confidence
    there goes to another digit it is withdrawn: holding it would be committing to one side
    of the alternation, the side that came first."""

    def __init__(self, window: int = 5, votes: int = 3, agreement: float = 0.75) -> None:
        if not 1 <= votes <= window:
            raise ValueError(f"need 1 <= votes <= window, got votes={votes}, window={window}")
        if not 0.5 < agreement <= 1:
            raise ValueError(f"need 0.5 < agreement <= 1, got {agreement}")
        self.history: deque[tuple[tuple[tuple[str, float], ...], ...]] = deque(maxlen=window)
        self.votes, self.agreement = votes, agreement
        self.lines: tuple[str, ...] = ()

    def update(self, lines: tuple[str, ...] | list[str], confidences: Sequence[float] | None = None) -> tuple[str, ...]:
        """Add one frame's lines (and each digit's confidence, in reading order; 1 each if not
        given); return the stable reading."""
        flat = list(confidences) if confidences is not None else [1.0] * sum(map(len, lines))
        frame, i = [], 0
        for line in lines:
            frame.append(tuple(zip(line, flat[i : i + len(line)])))
            i += len(line)
        self.history.append(tuple(frame))
        layout, count = Counter(tuple(map(len, f)) for f in self.history).most_common(1)[0]
        if count < self.votes or count < self.agreement * len(self.history):
            return self.lines  # the layout itself alternates (a digit split in two, then not): hold
        voters = [f for f in self.history if tuple(map(len, f)) == layout]
        held = self.lines if tuple(map(len, self.lines)) == layout else None
        reading = []
        for li, length in enumerate(layout):
            text = ""
            for pos in range(length):
                mass: dict[str, float] = {}
                seen: Counter[str] = Counter()
                for f in voters:
                    digit, confidence = f[li][pos]
                    mass[digit] = mass.get(digit, 0.0) + confidence
                    seen[digit] += 1
                best = max(mass, key=mass.__getitem__)
                if seen[best] < self.votes or mass[best] < self.agreement * sum(mass.values()):
                    if held is not None and held[li][pos] != best:
                        self.lines = ()  # the frames disagree here and lean away from the held digit
                    return self.lines  # the frames disagree here: hold
                text += best
            reading.append(text)
        self.lines = tuple(reading)
        return self.lines
