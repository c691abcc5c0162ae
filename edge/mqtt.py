"""`digitedge camera --mqtt mqtt://[user@]host[:port][/base]`: stable readings to an MQTT
broker, with Home Assistant discovery, so the entities appear by themselves.

Topics (all retained, QoS 1): `<base>/status` (`online`; the broker's last will says
`offline`), and per reader `<base>/<name>/value`, `raw`, `error` (`no error` when fine),
`timestamp` (ISO 8601) and `json`. Discovery configs go to
`homeassistant/sensor/<base>_<name>/<field>/config` on every connect and whenever Home
Assistant announces `homeassistant/status` `online`. A value is published when the stable
reading changes, and again every heartbeat; never once per frame. While the broker is away,
paho reconnects with backoff and the latest state is published again on reconnecting.

The password comes from `$DIGITEDGE_MQTT_PASSWORD` or a file, never the command line, and
is never logged. Needs paho-mqtt (`pip install 'digitedge[mqtt]'`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from digitedge.edge import __version__

if TYPE_CHECKING:
    from digitedge.edge.live import Tick

log = logging.getLogger(__name__)
PASSWORD_ENV = "DIGITEDGE_MQTT_PASSWORD"
DISCOVERY = "homeassistant"
FIELDS = ("value", "raw", "error", "timestamp", "json")


@dataclass(frozen=True)
class MqttConfig:
    """Where and how to publish; `device_class`, `state_class` and `unit` describe a meter."""

    host: str
    port: int = 1883
    base: str = "digitedge"
    name: str = "reader"
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)  # never in a log line
    tls: bool = False
    heartbeat_s: float = 60.0
    device_class: str | None = None  # water, gas, energy...
    state_class: str | None = None  # total_increasing for a meter
    unit: str | None = None  # m³, kWh...

    @classmethod
    def from_url(cls, url: str, password_file: Path | None = None, **options: Any) -> MqttConfig:
        """Parse `mqtt://[user@]host[:port][/base]` (`mqtts://` for TLS, port 8883); the password
        from `password_file`, else `$DIGITEDGE_MQTT_PASSWORD`. ValueError names what is wrong."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"--mqtt {url!r}: expected mqtt://[user@]host[:port][/base] (or mqtts:// for TLS)")
        if parts.password is not None:
            raise ValueError(f"--mqtt: no password in the URL; use ${PASSWORD_ENV} or --mqtt-password-file")
        base = parts.path.strip("/") or "digitedge"
        if not re.fullmatch(r"[A-Za-z0-9_\-/]+", base):
            raise ValueError(f"--mqtt: base topic {base!r} may hold letters, digits, _, - and /")
        password = os.environ.get(PASSWORD_ENV)
        if password_file is not None:
            try:
                password = password_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"--mqtt-password-file {password_file}: {exc.strerror or exc}") from None
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"--mqtt {url!r}: the port must be a number 1..65535") from None
        return cls(parts.hostname, port, base, username=parts.username, password=password, tls=tls, **options)

    def topic(self, field: str) -> str:
        return f"{self.base}/{self.name}/{field}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"


def discovery(cfg: MqttConfig) -> dict[str, dict[str, Any]]:
    """Home Assistant discovery configs by topic: the value sensor, and raw and error as
    diagnostic sensors, one device, following HA's current schema (`default_entity_id`,
    not the deprecated `object_id`)."""
    node = re.sub(r"[^A-Za-z0-9_]", "_", f"{cfg.base}_{cfg.name}")
    device = {
        "identifiers": [f"digitedge_{node}"],
        "name": f"digitedge {cfg.name}",
        "model": "digitedge camera reader",
        "manufacturer": "digitedge",
        "sw_version": __version__,
    }
    origin = {"name": "digitedge", "sw_version": __version__}
    configs = {}
    for field, label in (("value", "Reading"), ("raw", "Raw reading"), ("error", "Error")):
        entity: dict[str, Any] = {
            "name": label,
            "unique_id": f"{node}_{field}",
            "default_entity_id": f"sensor.{node}_{field}",
            "state_topic": cfg.topic(field),
            "availability_topic": cfg.status,
            "payload_available": "online",
            "payload_not_available": "offline",
            "json_attributes_topic": cfg.topic("json"),
            "device": device,
            "origin": origin,
        }
        if field == "value":
            entity.update(
                {
                    k: v
                    for k, v in (
                        ("device_class", cfg.device_class),
                        ("state_class", cfg.state_class),
                        ("unit_of_measurement", cfg.unit),
                    )
                    if v
                }
            )
        else:
            entity["entity_category"] = "diagnostic"
        configs[f"{DISCOVERY}/sensor/{node}/{field}/config"] = entity
    return configs


class MqttOutput:
    """Publishes stable readings; one paho client, its network loop in a thread of its own."""

    def __init__(self, cfg: MqttConfig, commands: dict[str, Callable[[str], object]] | None = None) -> None:
        """`commands`: name -> what to do with a payload sent to `<base>/ctrl/<name>` (meter
        mode's `set_prevalue`)."""
        self.commands = commands or {}
        try:
            import paho.mqtt.client as mqtt
            from paho.mqtt.enums import CallbackAPIVersion
        except ImportError:
            raise ImportError("--mqtt needs paho-mqtt: pip install 'digitedge[mqtt]'") from None
        self.cfg = cfg
        self.state: dict[str, str] = {}
        self.state_lines: tuple[str, ...] = ()
        self.last_sent = -1e9
        self.connects = 0
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"digitedge-{cfg.base}-{cfg.name}"[:64])
        client.will_set(cfg.status, "offline", qos=1, retain=True)
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.on_connect = self._connected
        client.on_message = self._message
        client.on_disconnect = lambda *a: log.warning("mqtt: disconnected from %s:%d", cfg.host, cfg.port)
        client.connect_async(cfg.host, cfg.port, keepalive=30)
        client.loop_start()
        self.client = client

    def _connected(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if reason.is_failure:
            log.warning("mqtt: %s:%d refused the connection: %s", self.cfg.host, self.cfg.port, reason)
            return
        self.connects += 1
        log.info("mqtt: connected to %s:%d", self.cfg.host, self.cfg.port)
        client.subscribe(f"{DISCOVERY}/status", qos=1)
        for name in self.commands:
            client.subscribe(f"{self.cfg.base}/ctrl/{name}", qos=1)
        self._announce()
        for field, payload in self.state.items():  # what changed while the broker was away
            client.publish(self.cfg.topic(field), payload, qos=1, retain=True)

    def _message(self, client: Any, userdata: Any, message: Any) -> None:
        if message.topic == f"{DISCOVERY}/status" and message.payload == b"online":
            self._announce()  # Home Assistant restarted: it has forgotten unretained configs
            return
        name = message.topic.removeprefix(f"{self.cfg.base}/ctrl/")
        if name in self.commands:
            try:
                self.commands[name](message.payload.decode("utf-8", "replace"))
            except ValueError as exc:  # a bad value from a person: said, not fatal
                log.warning("mqtt: %s: %s", message.topic, exc)

    def _announce(self) -> None:
        for topic, config in discovery(self.cfg).items():
            self.client.publish(topic, json.dumps(config), qos=1, retain=True)
        self.client.publish(self.cfg.status, "online", qos=1, retain=True)

    def update(self, tick: Tick) -> None:
        """The live loop's output: a frame's stable and raw reading, and why it was withheld."""
        self.publish(tick.stable, (tick.raw,), tick.error, time.monotonic())

    def lost(self, error: str) -> None:
        """The source gave up: say why (retained) before going offline."""
        self.publish(self.state_lines, (), error, now=float("inf"))

    def publish(self, stable: tuple[str, ...], raw: tuple[str, ...], error: str | None, now: float) -> bool:
        """Publish when the stable reading changed or a heartbeat is due; says whether it did."""
        self.state_lines = stable
        value = " ".join(stable)
        same = value == self.state.get("value") and (error or "no error") == self.state.get("error")
        if same and now - self.last_sent < self.cfg.heartbeat_s:
            return False
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        fields = {"value": value, "raw": " ".join(raw), "error": error or "no error", "timestamp": stamp}
        self.state = {**fields, "json": json.dumps({**fields, "lines": list(stable)})}
        for field in FIELDS:
            self.client.publish(self.cfg.topic(field), self.state[field], qos=1, retain=True)
        self.last_sent = now
        return True

    def close(self) -> None:
        """Say `offline` (a clean stop is no crash, but the reader is gone all the same), then stop."""
        with contextlib.suppress(RuntimeError, ValueError):  # not connected: the last will says it
            self.client.publish(self.cfg.status, "offline", qos=1, retain=True).wait_for_publish(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()
