"""The outputs of the live loop (`edge.live`), one job each. MQTT's is `edge.mqtt.MqttOutput`."""

from __future__ import annotations

import datetime
import json
import threading
from pathlib import Path
from typing import IO, Any

import cv2

from digitedge.edge.collect import Collector
from digitedge.edge.live import Tick
from digitedge.edge.metrics import Metrics


class Quiet:
    """An output that has nothing to say when the source is lost or the loop ends."""

    def lost(self, error: str) -> None:
        pass

    def close(self) -> None:
        pass


class JsonlOutput(Quiet):
    """One JSON object per frame (frame, time, lines, stable, digits, fps), after one run record
    per start: a file appended to across restarts says where frame 0 begins again."""

    def __init__(self, stream: IO[str], source: str, model: str, model_sha256: str, meter: bool = False) -> None:
        self.stream, self.meter = stream, meter  # a meter's rows also say `raw` and `error`
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        run = {"started": started, "source": source, "model": model, "model_sha256": model_sha256}
        self._write({"run": run})

    def _write(self, record: dict[str, Any]) -> None:
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()

    def update(self, tick: Tick) -> None:
        row = {
            "frame": tick.n,
            "time": tick.time,
            "lines": list(tick.result.lines),
            "stable": list(tick.stable),
            "digits": [d.to_dict() for d in tick.result.digits],
            "fps": tick.fps,
        }
        if self.meter:
            row |= {"raw": tick.raw, "error": tick.error or "no error"}
        self._write(row)


class RecordOutput(Quiet):
    """The annotated video, MJPG in an .avi, at 15 frames a second."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: cv2.VideoWriter | None = None

    def update(self, tick: Tick) -> None:
        shown = tick.annotated
        if self.writer is None:
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"MJPG"), 15, shown.shape[1::-1])
        self.writer.write(shown)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


class WindowOutput(Quiet):
    """The overlay window (needs a display and GUI OpenCV); `q` or Esc stops the loop."""

    def update(self, tick: Tick) -> bool:
        cv2.imshow("digitedge", tick.annotated)
        return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)


class CollectOutput(Quiet):
    """--collect: the doubts of each frame into a bounded folder (`edge.collect`)."""

    def __init__(self, collector: Collector, source: str) -> None:
        self.collector, self.source = collector, source

    def update(self, tick: Tick) -> None:
        self.collector.add(self.source, tick.n, tick.frame, tick.result)


class MetricsOutput(Quiet):
    """Frames, digits, latency, frame rate and reconnects into `serve`'s /metrics; a lost
    source is an error."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics, self.reconnects = metrics, 0

    def update(self, tick: Tick) -> None:
        self.metrics.recognized(tick.latency, len(tick.result.digits), frame=True)
        self.metrics.fps = tick.fps
        if tick.reconnects > self.reconnects:
            self.metrics.count("reconnects", tick.reconnects - self.reconnects)
            self.reconnects = tick.reconnects

    def lost(self, error: str) -> None:
        self.metrics.count("errors")


class WebOutput(Quiet):
    """What `serve`'s page shows: the latest annotated JPEG (for /stream.mjpg) and state (for
    /api/state), under a condition that stream handlers wait on."""

    def __init__(self) -> None:
        self.jpeg: bytes | None = None
        self.state: dict[str, Any] = {"camera": True, "frame": -1, "lines": [], "stable": [], "fps": 0.0}
        self.cond = threading.Condition()

    def update(self, tick: Tick) -> None:
        ok, jpg = cv2.imencode(".jpg", tick.annotated, [cv2.IMWRITE_JPEG_QUALITY, 80])
        with self.cond:
            self.jpeg = jpg.tobytes() if ok else self.jpeg
            self.state = {
                "camera": True,
                "frame": tick.n,
                "lines": list(tick.result.lines),
                "stable": list(tick.stable),
                "fps": tick.fps,
            }
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.state = {**self.state, "camera": False}
            self.cond.notify_all()
