"""A network camera that stalls: `camera` and `serve` must reopen it, never crash.

A fake MJPEG server on loopback sends a few frames on each connection, then goes silent
while keeping the connection open, as a hung IP camera does. Releasing the capture while
the reader thread is blocked in `read()` used to kill the process with SIGSEGV in FFmpeg.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest

from tests.conftest import CLI
from tests.edge.test_web import start_serve

pytestmark = pytest.mark.faults

FRAMES_PER_CONNECTION = 12


class StallingMjpegServer:
    """Serves multipart JPEG on 127.0.0.1, FRAMES_PER_CONNECTION frames per connection, then
    holds the connection silent until closed. Counts connections."""

    def __init__(self) -> None:
        image = np.full((120, 160, 3), 255, np.uint8)
        cv2.putText(image, "42", (30, 90), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 5)
        self.jpeg = cv2.imencode(".jpg", image)[1].tobytes()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n")
                for _ in range(FRAMES_PER_CONNECTION):
                    part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(self.jpeg)
                    conn.sendall(part + self.jpeg + b"\r\n")
                    time.sleep(0.03)
            except OSError:
                return
            self.closed.wait(120)  # the stall: connected, silent

    def close(self) -> None:
        self.closed.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def stalling_camera():
    server = StallingMjpegServer()
    yield server
    server.close()


def test_camera_survives_a_stalled_stream(stalling_camera, tmp_path):
    out = tmp_path / "frames.jsonl"
    frames = 3 * FRAMES_PER_CONNECTION  # needs at least three connections: two stalls survived
    res = subprocess.run(
        [
            *CLI,
            "camera",
            "--source",
            f"http://127.0.0.1:{stalling_camera.port}/",
            "--read-timeout",
            "0.5",
            "--reconnect-tries",
            "3",
            "--max-frames",
            str(frames),
            "--jsonl",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert sum(1 for _ in out.open()) == frames + 1  # the run record, then the frames
    assert "stalled" in res.stderr and stalling_camera.connections >= 3
    assert json.loads(out.read_text().splitlines()[-1])["stable"] == ["42"]


def test_serve_survives_a_stalled_stream(stalling_camera):
    proc, url = start_serve("--read-timeout", "0.5", "--source", f"http://127.0.0.1:{stalling_camera.port}/")
    try:
        deadline, state = time.monotonic() + 90, {}
        while time.monotonic() < deadline and stalling_camera.connections < 3:
            with urllib.request.urlopen(url + "/api/state", timeout=10) as r:
                state = json.loads(r.read())
            time.sleep(0.2)
        assert proc.poll() is None, "serve died on a stalled stream"
        assert stalling_camera.connections >= 3
        with urllib.request.urlopen(url + "/api/state", timeout=10) as r:
            state = json.loads(r.read())
        assert state["camera"] and state["frame"] >= 2 * FRAMES_PER_CONNECTION - 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_read_timeout_is_bounded():
    for bad in ("-1", "0", "1e9", "soon"):
        res = subprocess.run(
            [*CLI, "camera", "--read-timeout", bad],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 2 and "--read-timeout" in res.stderr and "Traceback" not in res.stderr
