"""What `serve` exposes at `/metrics`, in Prometheus' text format (version 0.0.4): counters of
frames, digits, errors and reconnects, the live frame rate, and a histogram of recognition
latency. Thread-safe: the camera loop and request handlers update it at once."""

from __future__ import annotations

import bisect
import threading

# Recognition latency buckets, seconds: a 640x480 frame takes a few ms, a 12 MP photo ~0.1 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Counters, one gauge and one histogram, rendered on demand."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters = {"frames": 0, "images": 0, "digits": 0, "errors": 0, "reconnects": 0}
        self.fps = 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one: above every bound
        self.latency_sum = 0.0

    def recognized(self, seconds: float, digits: int, frame: bool) -> None:
        """One frame (live) or one image (upload) read in `seconds`, with `digits` digits."""
        with self.lock:
            self.counters["frames" if frame else "images"] += 1
            self.counters["digits"] += digits
            self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
            self.latency_sum += seconds

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counters[name] += n

    def render(self) -> str:
        """The exposition text."""
        help_ = {
            "frames": "Camera frames recognized.",
            "images": "Uploaded images recognized.",
            "digits": "Digits read, in frames and uploads.",
            "errors": "Failures: unreadable uploads and lost camera sources.",
            "reconnects": "Times the camera source was reopened.",
        }
        with self.lock:
            lines = []
            for name, value in self.counters.items():
                metric = f"digitedge_{name}_total"
                lines += [f"# HELP {metric} {help_[name]}", f"# TYPE {metric} counter", f"{metric} {value}"]
            lines += [
                "# HELP digitedge_fps Frames per second of the live view.",
                "# TYPE digitedge_fps gauge",
                f"digitedge_fps {self.fps:.2f}",
                "# HELP digitedge_recognition_seconds Time to read one frame or image.",
                "# TYPE digitedge_recognition_seconds histogram",
            ]
            total = 0
            for bound, n in zip((*map(str, BUCKETS), "+Inf"), self.buckets):
                total += n
                lines.append(f'digitedge_recognition_seconds_bucket{{le="{bound}"}} {total}')
            lines += [
                f"digitedge_recognition_seconds_sum {self.latency_sum:.6f}",
                f"digitedge_recognition_seconds_count {total}",
            ]
        return "\n".join(lines) + "\n"
