"""`digitedge label DIR`: a local web page to label collected crops, keyboard first.

The crops of `--collect DIR` are shown in a grid, biggest doubt first. Keys: `0`-`9` a digit,
`n` not a digit, `s` skip, arrow keys move; a click selects, and the buttons label. Every
label is appended to `DIR/labels.jsonl` and on disk before the page hears back
(`edge.labels`), so closing the page loses nothing. Served by `serve`'s server (loopback by
default, its host and origin checks, a cap on connections).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from http import HTTPStatus
from pathlib import Path

from digitedge.edge.exits import EXIT_OK, EXIT_USAGE
from digitedge.edge.labels import CHOICES, IDENT, LabelError, items, write_label
from digitedge.edge.server import Guarded, listen

log = logging.getLogger(__name__)

PAGE = Path(__file__).parent / "web" / "label.html"
MAX_BODY = 4096  # a label is a few dozen bytes


def make_handler(folder: Path, allowed: frozenset[str]) -> type[Guarded]:
    """A request handler for one crops folder."""

    class Handler(Guarded):
        allowed_hosts = allowed

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self._refused():
                return
            if self.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
            elif self.path == "/api/items":
                rows = [{"id": i.id, "doubt": i.doubt, "label": i.label, **_shown(i.record)} for i in items(folder)]
                self._json(HTTPStatus.OK, {"folder": str(folder), "items": rows})
            elif self.path.startswith("/crops/") and self.path.endswith(".png"):
                name = self.path[len("/crops/") : -len(".png")]
                path = folder / f"{name}.png"
                if IDENT.match(name) and path.is_file():  # ids only: no path leaves the folder
                    self._send(HTTPStatus.OK, path.read_bytes(), "image/png")
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": f"no crop {name!r}"})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            if self._refused():
                return None
            if self.path != "/api/label":
                return self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {self.path}"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    raise ValueError(f"body of {length} bytes: POST {{'id': ..., 'label': ...}}")
                body = json.loads(self.rfile.read(length))
                write_label(folder, str(body["id"]), str(body["label"]))
            except (ValueError, KeyError, TypeError, LabelError) as exc:
                self.close_connection = True
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            except OSError as exc:
                log.error("%s: %s", folder, exc)
                return self._json(HTTPStatus.INSUFFICIENT_STORAGE, {"error": f"label not saved: {exc}"})
            self._json(HTTPStatus.OK, {"saved": True})

    return Handler


def _shown(record: dict[str, object]) -> dict[str, object]:
    """The record's fields the page shows beside a crop."""
    keys = ("why", "digit", "p_digit_if_digit", "p_not_a_digit", "source", "frame")
    return {k: record.get(k) for k in keys}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digitedge label",
        description="Label the crops that `--collect DIR` saved, in a local web page: 0-9 a digit, n not a "
        "digit, s skip, arrow keys move. Labels are appended to DIR/labels.jsonl at each keystroke; "
        "`digitedge finetune --crops DIR` learns from them.",
    )
    p.add_argument("folder", type=Path, help="a folder filled by --collect")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8001, help="port (default %(default)s; 0 picks a free one)")
    p.add_argument(
        "--max-connections", type=int, default=8, help="connections served at once; more get 503 (default 8)"
    )
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    folder: Path = args.folder
    if not folder.is_dir():
        print(f"digitedge label: {folder}: not a folder (fill one with --collect {folder})", file=sys.stderr)
        return EXIT_USAGE
    sorted_ = [name for name in CHOICES[:-1] if (folder / name).is_dir()]
    if sorted_ and not any(folder.glob("*.json")):
        print(
            f"digitedge label: {folder} holds folders {', '.join(sorted_)}: labelled already; "
            f"`digitedge finetune --crops {folder}` reads it as it is",
            file=sys.stderr,
        )
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    found = items(folder)
    log.info("%s: %d crops, %d labelled", folder, len(found), sum(1 for i in found if i.label))
    server = listen("label", args.host, args.port, make_handler(folder, frozenset({"localhost"})), args.max_connections)
    if server is None:
        return EXIT_USAGE
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK
