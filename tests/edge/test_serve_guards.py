"""`digitedge serve` trusts no page: DNS rebinding, cross-origin posts, form posts, idle and
half-sent connections, too many connections, and what the server says about itself."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from tests.conftest import REPO
from tests.edge.test_web import start_serve

pytestmark = pytest.mark.faults

IMAGE = (REPO / "samples" / "clean-1.jpg").read_bytes()


@pytest.fixture(scope="module")
def served():
    proc, url = start_serve("--timeout", "1.5", "--max-connections", "4", "--allow-host", "pi.local")
    yield int(url.rsplit(":", 1)[1])
    proc.terminate()
    proc.wait(timeout=20)


def request(port, method="GET", path="/", host=None, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host or f"127.0.0.1:{port}")
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    if body is not None and "Content-Length" not in (headers or {}):
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    return response.status, response.getheader("Server"), response.read()


def test_a_rebound_name_is_refused_an_address_or_a_known_name_is_not(served):
    assert request(served, host=f"attacker.example:{served}")[0] == 403
    assert request(served, path="/api/state", host="attacker.example")[0] == 403
    for host in (f"127.0.0.1:{served}", f"localhost:{served}", "pi.local", f"[::1]:{served}", "192.168.1.20:8000"):
        assert request(served, host=host)[0] == 200, host


def test_cross_origin_and_form_posts_are_refused(served):
    image = {"Content-Type": "image/jpeg"}
    assert (
        request(served, "POST", "/api/recognize", headers={**image, "Origin": "http://attacker.example"}, body=IMAGE)[0]
        == 403
    )
    assert (
        request(served, "POST", "/api/recognize", headers={**image, "Sec-Fetch-Site": "cross-site"}, body=IMAGE)[0]
        == 403
    )
    assert request(served, "POST", "/api/recognize", headers={"Content-Type": "text/plain"}, body=IMAGE)[0] == 415
    assert (
        request(
            served, "POST", "/api/recognize", headers={**image, "Origin": f"http://127.0.0.1:{served}"}, body=IMAGE
        )[0]
        == 200
    )


def test_a_bad_content_length_gets_400_not_a_dropped_connection(served):
    assert (
        request(
            served, "POST", "/api/recognize", headers={"Content-Type": "image/png", "Content-Length": "lots"}, body=b""
        )[0]
        == 400
    )


def test_the_server_does_not_advertise_python(served):
    status, server, _ = request(served)
    assert status == 200 and "Python" not in server and server.startswith("digitedge")


def test_idle_and_half_sent_connections_are_dropped(served):
    idle = socket.create_connection(("127.0.0.1", served))
    half = socket.create_connection(("127.0.0.1", served))
    half.sendall(
        b"POST /api/recognize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n"
    )
    for sock in (idle, half):
        sock.settimeout(10)
        started = time.monotonic()
        while sock.recv(1024):  # until the server closes it (recv raises TimeoutError if it never does)
            pass
        assert time.monotonic() - started < 8
        sock.close()
    assert request(served)[0] == 200  # and it still serves


def test_connections_beyond_the_cap_get_503(served):
    held = [socket.create_connection(("127.0.0.1", served)) for _ in range(4)]
    try:
        time.sleep(0.3)
        status = request(served)[0]
    finally:
        for sock in held:
            sock.close()
    assert status == 503
    time.sleep(2)  # the held slots time out or close
    assert request(served)[0] == 200


def test_a_client_that_leaves_costs_one_log_line_not_a_traceback():
    import struct

    proc, url = start_serve()
    port = int(url.rsplit(":", 1)[1])
    try:
        for _ in range(5):  # post an image, then reset the connection before the answer
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(
                b"POST /api/recognize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                b"Content-Length: %d\r\n\r\n" % len(IMAGE) + IMAGE
            )
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
            sock.close()
        time.sleep(1.5)
        assert request(port)[0] == 200  # still serving
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err, err[-2000:]
