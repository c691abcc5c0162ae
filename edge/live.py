"""The one live loop: source -> recognizer -> stable reading -> outputs.

`digitedge camera` and `digitedge serve --source` are wiring of this loop: they open a
source, pick outputs, and run it. Each frame becomes a `Tick` (the frame, its reading, the
stable reading, the frame rate) handed to every output in turn. An output is a small class
with one job (`edge.outputs`: JSONL, the annotated recording, the window, the web page's
state and stream, metrics, MQTT, --collect); its `update` returns False to stop the loop
(the window's `q`), `lost` hears why a live source gave up, and `close` runs once at the end.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from digitedge.edge.camera import SourceError, StableReading
from digitedge.edge.data import Recognition
from digitedge.edge.recognize import Recognizer


@dataclass(frozen=True)
class Tick:
    """One frame through the loop: `n` counts from 0, `time` is the wall clock, `latency` the
    seconds recognition took, `fps` the smoothed frame rate, `reconnects` the source's so far."""

    n: int
    time: float
    frame: np.ndarray
    result: Recognition
    stable: tuple[str, ...]
    fps: float
    latency: float
    reconnects: int = 0
    raw: str = ""  # what was read, as published beside the stable value
    error: str | None = None  # why the stable reading did not take this frame's (meter mode)

    @functools.cached_property
    def annotated(self) -> np.ndarray:
        """The frame with boxes, labels, the stable reading and the rate: drawn once, for every
        output that shows it."""
        from digitedge.edge.draw import draw_recognition

        return draw_recognition(self.frame, self.result, f"{' '.join(self.stable) or '-'}  {self.fps:.0f} fps")


class Output(Protocol):
    """What the loop feeds."""

    def update(self, tick: Tick) -> bool | None:
        """Take one frame's tick; False stops the loop."""

    def lost(self, error: str) -> None:
        """The live source gave up, for `error`."""

    def close(self) -> None:
        """The loop is over."""


class LiveLoop:
    """Runs frames through the recognizer and the stable reading into the outputs, at most
    `max_fps` a second (0: as they come), for at most `max_frames` (0: no limit), until the
    source ends, an output or `stop` says so. `error` holds why a live source gave up.
    `stable` is anything with `update(lines, confidences) -> lines` (a `StableReading`, or a
    `Meter`, which also says `raw` and `error`)."""

    def __init__(
        self,
        recognizer: Recognizer,
        outputs: list[Any],
        stable: Any = None,
        max_fps: float = 0.0,
        max_frames: int = 0,
        stop: threading.Event | None = None,
        reader: Callable[[np.ndarray], Recognition] | None = None,
    ) -> None:
        self.outputs = outputs
        self.read = reader or recognizer.recognize  # meter mode reads its wheels instead
        self.stable = stable if stable is not None else StableReading()
        self.max_fps, self.max_frames = max_fps, max_frames
        self.stop = stop or threading.Event()
        self.frames = 0
        self.error: str | None = None

    def run(self, source: Iterable[np.ndarray]) -> int:
        """Run until done; returns the frames read. A `SourceError` is told to the outputs and
        kept in `error`; outputs are closed whatever happens."""
        last, fps = time.monotonic(), 0.0
        try:
            for frame in source:
                if self.stop.is_set():
                    break
                if self.max_fps > 0 and (wait := 1 / self.max_fps - (time.monotonic() - last)) > 0:
                    time.sleep(wait)
                began = time.monotonic()
                result = self.read(frame)
                now = time.monotonic()
                rate = 1 / max(now - last, 1e-6)
                fps = 0.9 * fps + 0.1 * rate if self.frames else rate
                last = now
                tick = Tick(
                    self.frames,
                    round(time.time(), 3),
                    frame,
                    result,
                    self.stable.update(result.lines, [d.confidence for d in result.digits]),
                    round(fps, 1),
                    now - began,
                    int(getattr(source, "reconnects", 0)),
                    getattr(self.stable, "raw", " ".join(result.lines)),
                    getattr(self.stable, "error", None),
                )
                self.frames += 1
                wanted = [output.update(tick) for output in self.outputs]
                if False in wanted or (self.max_frames and self.frames >= self.max_frames):
                    break
        except SourceError as exc:
            self.error = str(exc)
            for output in self.outputs:
                output.lost(self.error)
        finally:
            self.close()
        return self.frames

    def close(self) -> None:
        """Close every output, once (also when the loop never ran: a source that would not open)."""
        outputs, self.outputs = self.outputs, []
        for output in outputs:
            output.close()
