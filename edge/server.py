"""`digitedge serve`: a small web UI and JSON API on the device (standard library only).

    GET  /                  the page: draw digits, upload an image, watch the camera
    POST /api/recognize     an image file as the body -> the `classify` row, plus each digit's
                            28x28 model input as a base64 PNG under "inputs"
    GET  /api/state         {"camera": bool, "frame", "lines", "stable", "fps"} of the live view
    GET  /stream.mjpg       the annotated camera stream (multipart JPEG), when --source is given
    GET  /api/value         meter mode (--meter): {"value", "raw", "error"}
    POST /api/set_prevalue  meter mode: {"value": "12.345"} corrects the previous value

Binds to 127.0.0.1 by default; bodies over --max-bytes are refused with 413. The page loads
nothing from the internet. It trusts no page either: a request must name the server by an
IP address, `localhost` or an --allow-host name (a site that rebinds its own name to
127.0.0.1 is refused), a POST must not come from another origin and must carry an image,
every connection has a timeout, and connections beyond --max-connections get 503.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ipaddress
import json
import logging
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np

from digitedge.edge.batch import KEEP_PIXELS, result_row
from digitedge.edge.camera_cli import add_live_options, add_source_options, from_live_options, seconds
from digitedge.edge.exits import EXIT_OK, EXIT_USAGE
from digitedge.edge.images import decode_image
from digitedge.edge.meter import Meter
from digitedge.edge.metrics import Metrics
from digitedge.edge.recognize import Recognizer

log = logging.getLogger(__name__)
PAGE = Path(__file__).with_name("web") / "index.html"


class Live:
    """`serve --source`: the live loop (`edge.live`) feeding the page's state and stream
    (`web`), /metrics and any other `outputs` (MQTT), in a thread of its own with its own
    recognizer; with a `meter`, the loop reads its wheels and /api/value says its value."""

    def __init__(
        self,
        source: str,
        recognizer: Recognizer,
        read_timeout_s: float = 10.0,
        reconnect_tries: int = 5,
        loop: bool = False,
        metrics: Metrics | None = None,
        meter: Meter | None = None,
        outputs: list[Any] | None = None,
    ) -> None:
        from digitedge.edge.live import LiveLoop
        from digitedge.edge.outputs import MetricsOutput, WebOutput

        self.source, self.loop, self.meter = source, loop, meter
        self.metrics = metrics or Metrics()
        self.read_timeout_s, self.reconnect_tries = read_timeout_s, reconnect_tries
        self.web = WebOutput()
        self.stopped = threading.Event()
        everything = [self.web, MetricsOutput(self.metrics), *(outputs or [])]
        reader = meter.read if meter else None
        self.live = LiveLoop(recognizer, everything, meter, stop=self.stopped, reader=reader)

    def run(self) -> None:
        from digitedge.edge.camera import SourceError, open_source

        try:
            with open_source(
                self.source, self.loop, self.read_timeout_s, self.reconnect_tries, realtime=True
            ) as frames:
                self.live.run(frames)
        except SourceError as exc:  # it never opened
            self.live.error = str(exc)
            self.metrics.count("errors")
        finally:
            self.live.close()
        if self.live.error:
            log.error("camera: %s", self.live.error)


def host_allowed(value: str | None, names: frozenset[str]) -> bool:
    """Whether a Host header (or an Origin's host) names this server: an IP address (what a
    phone on the LAN types), `localhost`, or a name given with --allow-host. A DNS-rebinding
    page reaches 127.0.0.1 under its own name, which is none of these."""
    if not value:
        return False
    if value.startswith("["):  # [IPv6]:port
        host = value[1 : value.find("]")]
    elif value.count(":") == 1:  # name:port or IPv4:port
        host = value.rsplit(":", 1)[0]
    else:  # a name, an IPv4 address, or a bare IPv6 address
        host = value
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host.lower().rstrip(".") in names


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a sane listen backlog and a cap on connections: beyond it a
    client gets 503 at once instead of a hung socket and a server spinning at its fd limit."""

    request_queue_size = 64
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_connections: int) -> None:
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\nRetry-After: 1\r\n\r\n"
                )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class Guarded(BaseHTTPRequestHandler):
    """What every digitedge page shares (`serve`, `label`): answers only to its own host names
    (`allowed_hosts`) and, for POST, its own origin; drops idle connections after `timeout`;
    logs on stderr; a client leaving is one line, not a traceback."""

    server_version = "digitedge"
    sys_version = ""  # no Python version in the Server header
    allowed_hosts: frozenset[str] = frozenset({"localhost"})
    timeout = 10.0

    def handle(self) -> None:
        try:
            super().handle()
        except (
            BrokenPipeError,
            ConnectionResetError,
            TimeoutError,
        ) as exc:  # the client left: one line, no traceback
            log.info("%s %s", self.address_string(), type(exc).__name__)

    def _refused(self) -> bool:
        """Answer 403 to a request naming another host or (POST) from another origin."""
        allowed = self.allowed_hosts
        if not host_allowed(self.headers.get("Host"), allowed):
            self._json(HTTPStatus.FORBIDDEN, {"error": "unknown Host: use the address, localhost or --allow-host"})
            return True
        origin = self.headers.get("Origin")
        cross = self.headers.get("Sec-Fetch-Site") == "cross-site"
        if self.command == "POST" and (
            cross or (origin and origin != "null" and not host_allowed(urlsplit(origin).netloc, allowed))
        ):
            self._json(HTTPStatus.FORBIDDEN, {"error": "cross-origin requests are refused"})
            return True
        return False

    def log_message(self, fmt: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), fmt % args)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")


def listen(
    command: str, host: str, port: int, handler: type[BaseHTTPRequestHandler], max_connections: int
) -> Server | None:
    """A `Server` bound to host:port, its address announced on stderr; None (said why) if it
    cannot listen."""
    try:
        server = Server((host, port), handler, max_connections)
    except OSError as exc:
        print(f"digitedge {command}: cannot listen on {host}:{port} ({exc.strerror})", file=sys.stderr)
        return None
    print(f"serving on http://{host}:{server.server_port}/", file=sys.stderr, flush=True)
    return server


def make_handler(
    recognizer: Recognizer,
    live: Live | None,
    max_bytes: int,
    allowed: frozenset[str] = frozenset({"localhost"}),
    timeout_s: float = 10.0,
) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to one recognizer (requests are served one at a time by it)."""
    lock = threading.Lock()  # one interpreter: one inference at a time
    metrics = live.metrics if live else Metrics()

    class Handler(Guarded):
        allowed_hosts = allowed
        timeout = timeout_s  # an idle connection, or a body that never comes, is dropped

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self._refused():
                return
            if self.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
            elif self.path == "/api/state":
                self._json(HTTPStatus.OK, live.web.state if live else {"camera": False})
            elif self.path == "/stream.mjpg" and live:
                self._stream()
            elif self.path == "/api/value":
                if live is None or live.meter is None:
                    self._json(HTTPStatus.NOT_FOUND, {"error": "no meter: serve --source ... --meter CONFIG"})
                else:
                    self._json(HTTPStatus.OK, live.meter.state())
            elif self.path == "/metrics":
                self._send(HTTPStatus.OK, metrics.render().encode(), "text/plain; version=0.0.4; charset=utf-8")
            elif self.path == "/healthz":  # serving; and with a camera, the camera still delivers
                ok = live is None or bool(live.web.state["camera"])
                self._json(
                    HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, {"status": "ok" if ok else "camera lost"}
                )
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            if self._refused():
                return None
            if self.path == "/api/set_prevalue":
                return self._set_prevalue()
            if self.path != "/api/recognize":
                return self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {self.path}"})
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if not (ctype.startswith("image/") or ctype == "application/octet-stream"):
                self.close_connection = True
                return self._json(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    {"error": f"Content-Type {ctype or '(none)'}: POST an image (image/*)"},
                )
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.close_connection = True
                return self._json(
                    HTTPStatus.BAD_REQUEST,
                    {"error": f"Content-Length {self.headers['Content-Length']!r} is not a number"},
                )
            if length > max_bytes:
                self.close_connection = True
                remaining = length if length <= 16 * max_bytes else 0  # drop it, so the client reads our answer
                while remaining > 0 and (chunk := self.rfile.read(min(1 << 16, remaining))):
                    remaining -= len(chunk)
                return self._json(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    {"error": f"body is {self.headers['Content-Length']} bytes, limit {max_bytes}"},
                )
            if length <= 0:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": "empty body: POST an image file"})
            try:
                image = decode_image(
                    np.frombuffer(self.rfile.read(length), np.uint8), KEEP_PIXELS
                )  # big JPEGs decoded reduced
            except ValueError as exc:
                metrics.count("errors")
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            with lock:
                began = time.monotonic()
                result, inputs = recognizer.recognize_with_inputs(image)
                metrics.recognized(time.monotonic() - began, len(result.digits), frame=False)
            row = result_row(Path("upload"), result, None)
            row["inputs"] = [base64.b64encode(cv2.imencode(".png", x)[1].tobytes()).decode() for x in inputs]
            self._json(HTTPStatus.OK, row)

        def _set_prevalue(self) -> None:
            """A person's correction of the meter's previous value: {"value": "12.345"}."""
            if live is None or live.meter is None:
                return self._json(HTTPStatus.NOT_FOUND, {"error": "no meter: serve --source ... --meter CONFIG"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= 1024:
                    raise ValueError(f'body of {length} bytes: POST {{"value": "12.345"}}')
                body = json.loads(self.rfile.read(length))
                live.meter.set_prevalue(str(body["value"]))
            except (ValueError, KeyError, TypeError) as exc:  # MeterError is a ValueError
                self.close_connection = True
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            self._json(HTTPStatus.OK, live.meter.state())

        def _stream(self) -> None:
            assert live is not None  # routed here only when a camera runs
            feed, stopped = live.web, live.stopped
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            seen: bytes | None = None
            try:
                while not stopped.is_set():
                    with feed.cond:
                        feed.cond.wait_for(lambda: feed.jpeg is not seen or not feed.state["camera"], timeout=5)  # noqa: B023
                        jpeg = seen = feed.jpeg
                    if jpeg is None or not feed.state["camera"]:
                        return
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg))
                    self.wfile.write(jpeg + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digitedge serve", description="Web UI and JSON API: draw digits, upload images, watch the camera."
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 to reach it from a phone)"
    )
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--source", help="camera for the live view: 0, /dev/videoN, FILE, rtsp://... or picamera")
    p.add_argument(
        "--loop", action="store_true", help="replay a video file --source when it ends (it plays at its own frame rate)"
    )
    add_source_options(p)
    add_live_options(p)
    p.add_argument("--model", help="int8 .tflite with its .json metadata (default: the bundled model)")
    p.add_argument("--max-bytes", type=int, default=10_000_000, help="largest accepted upload (default 10 MB)")
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the server may be reached by besides IP addresses and localhost (repeatable), "
        "e.g. the Pi's raspberrypi.local",
    )
    p.add_argument(
        "--max-connections", type=int, default=32, help="connections served at once; more get 503 (default 32)"
    )
    p.add_argument(
        "--timeout",
        type=seconds,
        default=10.0,
        metavar="SECONDS",
        help="an idle connection, or a request whose body does not come, is dropped after this (default 10)",
    )
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.max_connections < 1:
        print(f"digitedge serve: --max-connections must be >= 1, got {args.max_connections}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if (args.meter or args.mqtt) and not args.source:
        print("digitedge serve: --meter and --mqtt need a camera: --source", file=sys.stderr)
        return EXIT_USAGE
    try:
        meter, outputs = from_live_options(args)
    except ValueError as exc:  # a bad meter config or MQTT URL, named
        print(f"digitedge serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    recognizer = Recognizer(args.model)
    live = (
        Live(
            args.source,
            Recognizer(args.model),  # its own interpreter
            args.read_timeout,
            args.reconnect_tries,
            args.loop,
            meter=meter,
            outputs=outputs,
        )
        if args.source
        else None
    )
    if live:
        threading.Thread(target=live.run, daemon=True).start()
    allowed = frozenset({"localhost", *(name.lower().rstrip(".") for name in args.allow_host)})
    handler = make_handler(recognizer, live, args.max_bytes, allowed, args.timeout)
    server = listen("serve", args.host, args.port, handler, args.max_connections)
    if server is None:
        if live:
            live.stopped.set()
        return EXIT_USAGE
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if live:
            live.stopped.set()
        server.server_close()
    return EXIT_OK
