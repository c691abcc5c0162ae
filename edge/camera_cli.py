"""`digitedge camera`: the live loop (`edge.live`) wired to its outputs: JSONL, window, recording, MQTT, --collect."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import cv2

from digitedge.edge.camera import (
    MAX_SECONDS,
    MIN_SECONDS,
    StableReading,
    check_seconds,
    open_source,
)
from digitedge.edge.config import add_arguments, from_arguments
from digitedge.edge.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE


def seconds(text: str) -> float:
    """argparse type of a timeout: seconds within the bounds `check_seconds` sets."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    try:
        return check_seconds(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def tries(text: str) -> int:
    """argparse type of --reconnect-tries: a count >= 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def add_source_options(p: argparse.ArgumentParser) -> None:
    """The options of a live source, shared by `camera` and `serve`."""
    p.add_argument(
        "--read-timeout",
        type=seconds,
        default=10.0,
        metavar="SECONDS",
        help=f"seconds without a frame before a live source counts as stalled and is reopened "
        f"({MIN_SECONDS:g}..{MAX_SECONDS:g}, default 10)",
    )
    p.add_argument(
        "--reconnect-tries",
        type=tries,
        default=5,
        metavar="N",
        help="drops in a row before giving up (default 5; pauses double from 0.5 s)",
    )


def add_live_options(p: argparse.ArgumentParser) -> None:
    """Meter mode and MQTT: options of the live loop shared by `camera` and `serve`."""
    p.add_argument(
        "--meter",
        type=Path,
        metavar="CONFIG",
        help="meter mode: read the digit wheels at the boxes of a JSON CONFIG, settle half-rolled ones and "
        "publish only plausible values (docs/home-assistant.md)",
    )
    m = p.add_argument_group("MQTT (needs digitedge[mqtt]; docs/home-assistant.md)")
    m.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish stable readings to mqtt://[user@]host[:port][/base] (mqtts:// for TLS), with Home "
        "Assistant discovery; the password comes from $DIGITEDGE_MQTT_PASSWORD or --mqtt-password-file",
    )
    m.add_argument(
        "--mqtt-name", default="reader", help="this reader's name in topics and entities (default %(default)s)"
    )
    m.add_argument("--mqtt-password-file", type=Path, help="file holding the broker password")
    m.add_argument(
        "--mqtt-heartbeat",
        type=seconds,
        default=60.0,
        help="republish an unchanged reading every N s (default %(default)s)",
    )
    m.add_argument("--mqtt-device-class", help="Home Assistant device_class of the value: water, gas, energy...")
    m.add_argument("--mqtt-state-class", help="Home Assistant state_class of the value, e.g. total_increasing")
    m.add_argument("--mqtt-unit", help="unit_of_measurement of the value, e.g. m³ or kWh")


def from_live_options(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The meter (or None) and the MQTT output (if asked for) of `add_live_options`;
    ValueError naming what is wrong."""
    meter = None
    if args.meter:
        from digitedge.edge.meter import Meter, MeterConfig

        meter = Meter(MeterConfig.from_file(args.meter), args.model)
    if not args.mqtt:
        return meter, []
    from digitedge.edge.mqtt import MqttConfig, MqttOutput

    mqtt_cfg = MqttConfig.from_url(
        args.mqtt,
        args.mqtt_password_file,
        name=args.mqtt_name,
        heartbeat_s=args.mqtt_heartbeat,
        device_class=args.mqtt_device_class,
        state_class=args.mqtt_state_class,
        unit=args.mqtt_unit,
    )
    return meter, [MqttOutput(mqtt_cfg, {"set_prevalue": meter.set_prevalue} if meter else None)]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digitedge camera",
        description="Read digits live from a camera, video file or stream. Writes one JSON object "
        'per frame (frame, time, lines, stable, digits, fps), after one {"run": {started, source, model, '
        "model_sha256}} record per start; `stable` holds lines confirmed over the last --window frames, "
        "so flicker never reaches consumers.",
        epilog="Ctrl-C or SIGTERM stop cleanly and flush outputs. exit codes: 0 done (file ended or "
        "stopped), 1 live source lost, 2 bad source or model, 3 missing package",
    )
    p.add_argument("--source", default="0", help="0 (webcam index), /dev/videoN, video FILE, rtsp://... or picamera")
    p.add_argument("--jsonl", default="-", help="per-frame JSONL output file, or - for stdout (default)")
    p.add_argument("--show", action="store_true", help="show an overlay window (needs a display and GUI OpenCV)")
    p.add_argument("--record", type=Path, help="write the annotated video to FILE (.avi, MJPG)")
    p.add_argument(
        "--max-fps", type=float, default=0, help="process at most N frames per second (0 = as fast as possible)"
    )
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0 = no limit)")
    p.add_argument("--loop", action="store_true", help="replay a video file from the start when it ends")
    add_source_options(p)
    p.add_argument("--window", type=int, default=5, help="frames in the stable-reading vote (default 5)")
    p.add_argument("--votes", type=int, default=3, help="frames that must agree on each digit (default 3)")
    p.add_argument(
        "--agreement",
        type=float,
        default=0.75,
        help="share of the votes (weighed by confidence) a digit needs, else the previous reading is held "
        "(default %(default)s)",
    )
    p.add_argument("--model", help="int8 .tflite with its .json metadata (default: the bundled model)")
    add_arguments(p)
    p.add_argument(
        "--collect",
        type=Path,
        metavar="DIR",
        help="save doubtful crops (model input, context, JSON record) to DIR for labelling; bounded and deduplicated",
    )
    add_live_options(p)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from digitedge.edge.live import LiveLoop
    from digitedge.edge.outputs import CollectOutput, JsonlOutput, RecordOutput, WindowOutput
    from digitedge.edge.recognize import Recognizer

    try:
        stable = StableReading(args.window, args.votes, args.agreement)
    except ValueError as exc:
        print(f"digitedge camera: {exc}", file=sys.stderr)
        return EXIT_USAGE
    recognizer = Recognizer(args.model, from_arguments(args), doubts=args.collect is not None)
    outputs: list[Any] = []
    try:
        meter, live_outputs = from_live_options(args)
    except ValueError as exc:  # a bad meter config or MQTT URL, named
        print(f"digitedge camera: {exc}", file=sys.stderr)
        return EXIT_USAGE
    outputs += live_outputs
    if args.collect is not None:
        from digitedge.edge.collect import CollectConfig, Collector

        collector = Collector(CollectConfig(args.collect), recognizer.classifier.metadata.model_sha256)
        outputs.append(CollectOutput(collector, args.source))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    loop = LiveLoop(
        recognizer, outputs, meter or stable, args.max_fps, args.max_frames, stop, meter.read if meter else None
    )
    status, started = EXIT_OK, time.monotonic()
    with ExitStack() as stack:
        stack.callback(loop.close)
        source = open_source(args.source, args.loop, args.read_timeout, args.reconnect_tries)
        stack.enter_context(source)
        out: IO[str] = sys.stdout if args.jsonl == "-" else stack.enter_context(open(args.jsonl, "a", encoding="utf-8"))
        clf = recognizer.classifier
        outputs.append(JsonlOutput(out, args.source, str(clf.path), clf.metadata.model_sha256, meter is not None))
        if args.record:
            outputs.append(RecordOutput(args.record))
        if args.show:
            outputs.append(WindowOutput())
        try:
            loop.run(source)
        except KeyboardInterrupt:
            status = EXIT_INTERRUPTED
        except cv2.error as exc:
            if args.show:
                print(
                    f"digitedge camera: cannot show a window ({exc.err}); run without --show on a headless device",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            raise
    if loop.error is not None:
        print(f"digitedge camera: {loop.error}", file=sys.stderr)
        status = EXIT_PARTIAL
    ended = " (end of file)" if getattr(source, "ended", False) else ""
    print(
        f"{loop.frames} frames in {time.monotonic() - started:.1f}s{ended}, "
        f"stable reading: {' '.join((meter or stable).lines) or '-'}",
        file=sys.stderr,
    )
    return status
