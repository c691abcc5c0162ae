"""`digitedge serve`: the JSON API over HTTP, and the drawing page in a real headless browser."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import CLI, REPO

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def server():
    proc, url = start_serve("--max-bytes", "2000000")
    assert url.startswith("http://127.0.0.1:"), url
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def post(url, body: bytes):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "image/jpeg"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_api_reads_an_image_like_classify(server):
    image = REPO / "samples" / "clean-1.jpg"
    status, body = post(server + "/api/recognize", image.read_bytes())
    assert status == 200
    cli = json.loads(subprocess.run([*CLI, "classify", str(image)], capture_output=True, text=True).stdout)
    assert body["lines"] == cli["lines"] and body["digits"] == cli["digits"]
    assert len(body["inputs"]) == len(body["digits"])  # one 28x28 model input per digit


def test_meter_endpoints_need_a_meter(server):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server + "/api/value", timeout=10)
    assert err.value.code == 404 and "--meter" in json.loads(err.value.read())["error"]
    status, body = post(server + "/api/set_prevalue", b'{"value": "1"}')
    assert status == 404 and "--meter" in body["error"]


def test_api_refuses_bad_requests(server, tmp_path):
    assert post(server + "/api/recognize", b"not an image")[0] == 400
    assert post(server + "/api/recognize", b"")[0] == 400
    status, body = post(server + "/api/recognize", b"x" * 2_000_001)
    assert status == 413 and "limit" in body["error"]
    assert post(server + "/api/nothing", b"x")[0] == 404
    from tests.edge.test_faults import _png_bomb

    bomb = tmp_path / "bomb.png"
    _png_bomb(bomb)  # ~400 KB, under the body limit, 400 MB decoded
    status, body = post(server + "/api/recognize", bomb.read_bytes())
    assert status == 400 and "over the limit" in body["error"]
    from tests.edge.test_bombs import _gif_bomb, _webp_bomb

    for data in (_webp_bomb(), _gif_bomb()):  # 10 KB that decoded to gigabytes
        status, body = post(server + "/api/recognize", data)
        assert status == 400 and "over the limit" in body["error"]
    with urllib.request.urlopen(server + "/api/state") as r:
        assert json.loads(r.read()) == {"camera": False}


def _stroke(page, box, points):
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    page.mouse.up()


def test_drawing_on_the_canvas_is_read(server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags)
        page = browser.new_page(viewport={"width": 800, "height": 900})
        page.goto(server + "/")
        box = page.locator("#pad").bounding_box()  # drawn in CSS pixels; the canvas is 720x300
        k = box["width"] / 720
        one = [(120 * k, 60 * k), (124 * k, 240 * k)]
        seven = [(200 * k, 70 * k), (300 * k, 66 * k), (250 * k, 240 * k)]
        zero = [
            (420 * k + 48 * k * math.sin(a / 20 * 2 * math.pi), 150 * k - 85 * k * math.cos(a / 20 * 2 * math.pi))
            for a in range(21)
        ]
        for stroke in (one, seven, zero):
            _stroke(page, box, stroke)
        page.wait_for_function("document.querySelector('#reading').textContent.length > 0", timeout=15000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "serve-drawing.png"), full_page=True)
        assert page.locator("#reading").text_content() == "170"
        assert page.locator("#digits img").count() == 3  # the 28x28 model inputs are shown
        page.click("#clear")
        assert page.locator("#reading").text_content() == ""
        page.set_input_files("#file", str(REPO / "samples" / "clean-1.jpg"))
        page.wait_for_function(
            "document.querySelector('#upload-reading').textContent.startsWith('Read:')", timeout=15000
        )
        assert page.locator("#upload-reading").text_content().split(": ")[1].split() == _cli_lines(
            REPO / "samples" / "clean-1.jpg"
        )
        browser.close()


def _cli_lines(image):
    return json.loads(subprocess.run([*CLI, "classify", str(image)], capture_output=True, text=True).stdout)["lines"]


def start_serve(*options: str) -> tuple[subprocess.Popen, str]:
    """`digitedge serve --port 0 OPTIONS` on loopback: the process and its base URL."""
    proc = subprocess.Popen([*CLI, "serve", "--port", "0", *options], stderr=subprocess.PIPE, text=True)
    for _ in range(10):  # skip the interpreter's own INFO lines
        line = proc.stderr.readline()
        if "serving on" in line:
            return proc, line.split()[-1].rstrip("/")
    proc.kill()
    raise AssertionError(f"serve did not start: {line}")


def test_live_view_streams_annotated_frames():
    proc, url = start_serve("--source", str(REPO / "samples" / "video.avi"))
    try:
        with urllib.request.urlopen(url + "/stream.mjpg", timeout=30) as r:
            assert r.headers["Content-Type"].startswith("multipart/x-mixed-replace")
            head = r.read(400)
        assert head.startswith(b"--frame\r\nContent-Type: image/jpeg") and b"\xff\xd8" in head
        with urllib.request.urlopen(url + "/api/state", timeout=10) as r:
            state = json.loads(r.read())
        assert state["frame"] >= 0 and set(state) == {"camera", "frame", "lines", "stable", "fps"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _metrics(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"}


def _health(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def test_a_looping_video_plays_at_its_own_rate_with_metrics_and_health():
    import cv2

    video = REPO / "samples" / "video.avi"
    rate = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS)
    proc, url = start_serve("--source", str(video), "--loop")
    try:
        time.sleep(1)
        first = _metrics(url)
        post(url + "/api/recognize", b"not an image")
        time.sleep(2)
        then = _metrics(url)
        assert _health(url) == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    played = then["digitedge_frames_total"] - first["digitedge_frames_total"]
    assert 0.6 * 2 * rate <= played <= 1.5 * 2 * rate + 2, played  # the file's own pace, not as fast as it reads
    assert then["digitedge_errors_total"] == first["digitedge_errors_total"] + 1
    assert then['digitedge_recognition_seconds_bucket{le="+Inf"}'] == then["digitedge_recognition_seconds_count"]
    assert then["digitedge_recognition_seconds_count"] == then["digitedge_frames_total"]
    assert then["digitedge_digits_total"] > 0 and then["digitedge_fps"] > 0


def test_health_says_when_the_camera_is_lost():
    proc, url = start_serve("--source", str(REPO / "samples" / "video.avi"))  # no --loop: the file ends
    try:
        deadline = time.monotonic() + 30
        while _health(url) == 200:
            assert time.monotonic() < deadline, "the camera never ended"
            time.sleep(0.5)
        assert _health(url) == 503
    finally:
        proc.terminate()
        proc.wait(timeout=10)
