"""camera --mqtt against a real broker (Debian's mosquitto on a free loopback port): Home
Assistant discovery, retained states, the last will on kill -9, a broker restart mid-run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import CLI, REPO, REQUIRE_DATA, free_port

mqtt = pytest.importorskip("paho.mqtt.client", reason="camera --mqtt needs digitedge[mqtt]")
VIDEO = REPO / "samples" / "video.avi"
TRUTH = " ".join(json.loads((REPO / "samples" / "truth.json").read_text())["video.avi"]["lines"])


class Broker:
    """mosquitto on 127.0.0.1:`port`, anonymous, no persistence, logging to a file; stopped by
    its process id."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.log = folder / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start and wait until it listens. Another process may have taken the free port in
        the meantime: mosquitto then exits, while a connection to the port still succeeds,
        so its being alive is checked too."""
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    time.sleep(0.2)  # a mosquitto that could not bind exits at once
                    if self.proc.poll() is None:
                        return
                    break
            time.sleep(0.05)
        raise TimeoutError(f"mosquitto does not listen on {self.port}: {self.log.read_text()[-2000:]!r}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def broker(tmp_path):
    if not shutil.which("mosquitto"):
        if os.environ.get(REQUIRE_DATA):
            pytest.fail("mosquitto is not installed and CI requires it")
        pytest.skip("mosquitto is not installed (Debian: apt-get install mosquitto)")
    for attempt in range(3):  # a port taken between choosing it and binding it: another one
        b = Broker(tmp_path)
        try:
            b.start()
            break
        except TimeoutError:
            b.stop()
            if attempt == 2:
                raise
    yield b
    b.stop()


class Listener:
    """A subscriber to everything: the last payload of each topic and how often each came."""

    def __init__(self, port: int) -> None:
        from paho.mqtt.enums import CallbackAPIVersion

        self.last: dict[str, str] = {}
        self.count: dict[str, int] = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"listener-{os.getpid()}-{time.time()}")
        self.client.on_connect = lambda c, *a: c.subscribe("#", qos=1)
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _message(self, client, userdata, message) -> None:
        with self.lock:
            self.last[message.topic] = message.payload.decode()
            self.count[message.topic] = self.count.get(message.topic, 0) + 1

    def wait_for(self, topic: str, payload: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.last.get(topic) != payload:
            assert time.monotonic() < deadline, f"{topic} = {self.last.get(topic)!r}, waited for {payload!r}"
            time.sleep(0.05)

    def wait_for_topics(self, topics: set[str], timeout: float = 30) -> None:
        """Until every one of `topics` has come: a broker sends retained messages in no
        promised order, so one topic's arrival says nothing of another's."""
        deadline = time.monotonic() + timeout
        while not topics <= self.last.keys():
            assert time.monotonic() < deadline, f"never came: {sorted(topics - self.last.keys())}"
            time.sleep(0.05)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _camera(port: int, *extra: str, **popen) -> list[str]:
    return [
        *CLI,
        "camera",
        "--source",
        str(VIDEO),
        "--jsonl",
        os.devnull,
        "--mqtt",
        f"mqtt://127.0.0.1:{port}/test",
        "--mqtt-name",
        "meter",
        *extra,
    ]


def test_discovery_retained_states_and_rate(broker):
    live = Listener(broker.port)
    try:
        res = subprocess.run(_camera(broker.port, "--max-frames", "45"), capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        live.wait_for("test/status", "offline")  # a clean stop says so
    finally:
        live.close()
    # What a subscriber arriving later finds: every state retained.
    late = Listener(broker.port)
    expected = {f"homeassistant/sensor/test_meter/{f}/config" for f in ("value", "raw", "error")}
    try:
        late.wait_for("test/meter/value", TRUTH)
        late.wait_for_topics({*expected, "test/meter/error", "test/meter/timestamp", "test/meter/json"})
        assert late.last["test/meter/error"] == "no error"
        stamp = late.last["test/meter/timestamp"]
        assert stamp.endswith("+00:00") and "T" in stamp
        assert json.loads(late.last["test/meter/json"])["value"] == TRUTH
        configs = {t: json.loads(p) for t, p in late.last.items() if t.startswith("homeassistant/")}
    finally:
        late.close()
    assert set(configs) == expected  # and nothing more
    for field, c in ((t.split("/")[-2], c) for t, c in configs.items()):
        assert c["state_topic"] == f"test/meter/{field}" and c["availability_topic"] == "test/status"
        assert c["unique_id"] == f"test_meter_{field}" and "object_id" not in c  # deprecated by HA
        assert c["device"]["identifiers"] == ["digitedge_test_meter"] and c["device"]["sw_version"]
        assert c["origin"]["name"] == "digitedge"
        assert (c.get("entity_category") == "diagnostic") == (field != "value")
    # published when the stable reading changes (plus once when it first settles), never per frame
    assert live.count.get("test/meter/value", 0) <= 5, live.count


def test_last_will_on_kill_and_recovery_after_a_broker_restart(broker, tmp_path):
    live = Listener(broker.port)
    logged = (tmp_path / "camera.log").open("w")  # a file, not a pipe nobody reads while it runs
    proc = subprocess.Popen(_camera(broker.port, "--loop"), stdout=subprocess.DEVNULL, stderr=logged)
    try:
        live.wait_for("test/status", "online")
        live.wait_for("test/meter/value", TRUTH)
        broker.stop()  # the broker goes away mid-run; its retained messages with it (no persistence)
        live.close()
        broker.start()
        live = Listener(broker.port)
        live.wait_for("test/status", "online", timeout=60)  # reconnected, with backoff
        live.wait_for("test/meter/value", TRUTH)  # and the state republished
        live.wait_for_topics({"homeassistant/sensor/test_meter/value/config"})  # announced again
        proc.send_signal(signal.SIGKILL)  # no goodbye: the broker says it, from the last will
        proc.wait(10)
        live.wait_for("test/status", "offline", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        live.close()
        logged.close()
        print((tmp_path / "camera.log").read_text()[-3000:])  # shown when the test fails


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://127.0.0.1/x", "expected mqtt://"),
        ("mqtt://user:secret@127.0.0.1", "no password in the URL"),
        ("mqtt://127.0.0.1:99999", "port must be a number"),
    ],
)
def test_bad_mqtt_urls_are_one_line_errors(url, message):
    res = subprocess.run(
        [*CLI, "camera", "--source", str(VIDEO), "--mqtt", url], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert "secret" not in res.stderr  # a password never reaches the logs


def test_the_password_comes_from_the_environment_or_a_file(tmp_path, monkeypatch):
    from digitedge.edge.mqtt import PASSWORD_ENV, MqttConfig

    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    cfg = MqttConfig.from_url("mqtts://ha@broker.lan/house/water")
    assert (cfg.username, cfg.password, cfg.tls, cfg.port, cfg.base) == ("ha", "from-env", True, 8883, "house/water")
    (tmp_path / "pw").write_text("from-file\n")
    assert MqttConfig.from_url("mqtt://ha@broker.lan", tmp_path / "pw").password == "from-file"
    assert "from-file" not in repr(MqttConfig.from_url("mqtt://ha@broker.lan", tmp_path / "pw"))


def test_a_meter_takes_its_previous_value_from_mqtt(broker, tmp_path):
    from tests.edge.test_meter import meter_files

    _, video, cfg = meter_files(tmp_path)
    live = Listener(broker.port)
    command = [*_camera(broker.port, "--loop", "--meter", str(cfg))]
    command[command.index(str(VIDEO))] = str(video)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        live.wait_for("test/status", "online")
        deadline = time.monotonic() + 60
        while not live.last.get("test/meter/value"):
            assert time.monotonic() < deadline and proc.poll() is None, live.last
            time.sleep(0.1)
        live.client.publish("test/ctrl/set_prevalue", "twelve", qos=1)  # said in the log, not fatal
        live.client.publish("test/ctrl/set_prevalue", "500", qos=1)
        live.wait_for("test/meter/value", "500.000")  # kept: what the wheels say now is a fall
        deadline = time.monotonic() + 30  # (said once the wheels settle: some frames roll)
        while "fell" not in live.last.get("test/meter/error", ""):
            assert time.monotonic() < deadline and live.last["test/meter/value"] == "500.000", live.last
            time.sleep(0.1)
        assert json.loads((tmp_path / "state.json").read_text())["value"] == "500.000"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        live.close()
        print(err[-3000:])  # pytest shows it when the test fails: what the meter said
    assert "'twelve' is not a number" in err
