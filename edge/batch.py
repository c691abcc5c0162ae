"""Classify image files and folders: one result row per file, resumable, in parallel.

Rows are written in sorted-path order whatever the number of workers, flushed one by one,
so an interrupted run leaves whole rows only (a torn last line is cut off on resume) and
the same command again skips what is done.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2

from digitedge.edge.collect import CollectConfig, Collector
from digitedge.edge.config import RecognizerConfig
from digitedge.edge.data import Recognition
from digitedge.edge.images import IMAGE_SUFFIXES, decode, read_bytes
from digitedge.edge.recognize import Recognizer

CSV_FIELDS = ["path", "lines", "digits", "error"]
KEEP_PIXELS = 2_600_000  # JPEGs are decoded reduced while this many pixels remain (twice the recognizer's working size)


@dataclass(frozen=True)
class Item:
    """One input file and where it sits below the argument it was found under; or a folder
    that could not be listed, with why (it gets an error row, never silence)."""

    path: Path
    rel: Path
    error: str | None = None


def collect(paths: Iterable[str | Path], recursive: bool = False) -> list[Item]:
    """Files named directly, plus images inside named folders; sorted, without duplicates.
    Symbolic links to folders are not followed (no loops)."""
    items: dict[str, Item] = {}
    for arg in map(Path, paths):
        if not arg.is_dir():  # a file, or something missing: either way it gets a row
            items.setdefault(str(arg), Item(arg, Path(arg.name)))
            continue

        def unlisted(exc: OSError, arg: Path = arg) -> None:
            where = Path(exc.filename or arg)
            items.setdefault(
                str(where),
                Item(
                    where,
                    where.relative_to(arg) if where != arg else Path(arg.name),
                    f"cannot list this folder: {exc.strerror or exc}",
                ),
            )

        for folder, dirs, files in os.walk(arg, onerror=unlisted):
            if not recursive:
                dirs.clear()
            for name in files:
                p = Path(folder) / name
                if p.suffix.lower() in IMAGE_SUFFIXES:
                    items.setdefault(str(p), Item(p, p.relative_to(arg)))
    return [items[k] for k in sorted(items)]


def result_row(path: Path, result: Recognition | None, error: str | None) -> dict[str, Any]:
    """The JSONL schema: path, width, height, digits, lines, error."""
    empty = {"width": 0, "height": 0, "digits": [], "lines": []}
    return {"path": str(path), **(result.to_dict() if result is not None else empty), "error": error}


def classify_file(
    recognizer: Recognizer, item: Item, annotate: Path | None = None, collector: Collector | None = None
) -> dict[str, Any]:
    """One file -> one row; any failure becomes the row's error, never an exception."""
    if item.error:
        return result_row(item.path, None, item.error)
    try:
        image, header = decode(read_bytes(item.path), keep_pixels=KEEP_PIXELS)  # a big JPEG: decoded smaller
        result = recognizer.recognize(image)
        size = header.upright_size  # the row speaks in the file's own pixels
        full = result if size == image.shape[1::-1] else result.scaled(size[0] / image.shape[1], *size)
    except (ValueError, OSError, cv2.error) as exc:
        return result_row(
            item.path, None, f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)
        )
    if collector is not None:
        collector.add("classify", str(item.path), image, result)  # boxes in the decoded image's pixels
    if annotate is not None:
        from digitedge.edge.draw import draw_recognition

        out = (annotate / item.rel).with_suffix(".png")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            written = cv2.imwrite(str(out), draw_recognition(image, result))
        except (OSError, cv2.error) as exc:
            written, why = False, str(exc)
        else:
            why = "the encoder wrote nothing"
        if not written:  # the digits were read: the row keeps them and says what was not written
            return result_row(item.path, full, f"cannot write the annotated copy {out}: {why}")
    return result_row(item.path, full, None)


# --- worker processes: one Recognizer (one interpreter) each -------------------------------
_worker: dict[str, Any] = {}
CRASH_ENV = "DIGITEDGE_FAULT_CRASH_ON"  # fault injection for tests: a worker dies on matching paths


def _init_worker(
    model: str | None,
    config: RecognizerConfig | None,
    annotate: Path | None,
    parent: int,
    collect: CollectConfig | None,
) -> None:
    _worker["recognizer"] = Recognizer(model, config)
    _worker["annotate"] = annotate
    _worker["collector"] = _collector(_worker["recognizer"], collect)
    threading.Thread(target=_die_with, args=(parent,), daemon=True, name="digitedge-parent-watch").start()


def _die_with(parent: int, every_s: float = 0.5) -> None:
    """End this worker when the classify process is gone (kill -9 included): workers are
    the forkserver's children, so no signal of the parent's death would reach them."""
    while True:
        time.sleep(every_s)
        try:
            os.kill(parent, 0)
        except (ProcessLookupError, PermissionError):  # gone (or its pid reused by another user's process)
            os._exit(1)


def _work(item: Item) -> dict[str, Any]:
    poison = os.environ.get(CRASH_ENV)
    if poison and poison in str(item.path):
        os.abort()  # as a segfaulting decoder would
    return classify_file(_worker["recognizer"], item, _worker["annotate"], _worker["collector"])


def _collector(recognizer: Recognizer, collect: CollectConfig | None) -> Collector | None:
    return Collector(collect, recognizer.classifier.metadata.model_sha256) if collect else None


def run(
    items: list[Item],
    model: str | None = None,
    workers: int = 1,
    annotate: Path | None = None,
    recognizer: Recognizer | None = None,
    config: RecognizerConfig | None = None,
    collect: CollectConfig | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows for `items`, in their order, computed by `workers` processes (one interpreter
    each), or in this process with `recognizer` when there is one worker.

    A worker that dies (a crashing decoder, a poisoned file) breaks the pool: the files in
    flight are retried one at a time in a fresh pool, so only the culprit gets an error row.
    """
    if workers <= 1:
        recognizer = recognizer or Recognizer(model, config)
        _worker.update(recognizer=recognizer, annotate=annotate, collector=_collector(recognizer, collect))
        yield from map(_work, items)
        return
    ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
    init = (model, config, annotate, os.getpid(), collect)
    todo, suspects = deque(items), deque[Item]()
    while todo or suspects:
        with ProcessPoolExecutor(workers, ctx, initializer=_init_worker, initargs=init) as pool:
            if suspects:  # alone in the pool: if it dies now, it is the culprit
                item = suspects.popleft()
                try:
                    yield pool.submit(_work, item).result()
                except BrokenProcessPool:
                    yield result_row(item.path, None, "worker process crashed while reading this file")
                continue
            window: deque[tuple[Item, Any]] = deque()  # (item, future), in output order
            try:
                while todo or window:
                    while todo and len(window) < 2 * workers:
                        window.append((todo[0], pool.submit(_work, todo[0])))
                        todo.popleft()
                    row = window[0][1].result()
                    window.popleft()
                    yield row
            except BrokenProcessPool:  # raised by result() or by a submit() after the break
                suspects.extend(item for item, _ in window)


# --- output files: JSONL or CSV, appended row by row, resumable ----------------------------
def format_row(row: dict[str, Any], fmt: str) -> str:
    """One row as a line of JSONL, CSV or human-readable text."""
    if fmt == "jsonl":
        return json.dumps(row) + "\n"  # ASCII-escaped: any file name, even non-UTF-8, stays valid JSON
    if fmt == "csv":
        buf = io.StringIO()
        fields = [row["path"], " ".join(row["lines"]), len(row["digits"]), row["error"] or ""]
        # QUOTE_MINIMAL quotes a lone \r only when the line ends in one; a path holding one must be quoted
        quoting: Literal[0, 1, 2, 3] = csv.QUOTE_NONNUMERIC if "\r" in row["path"] else csv.QUOTE_MINIMAL
        csv.writer(buf, lineterminator="\n", quoting=quoting).writerow(fields)
        return buf.getvalue()
    text = " | ".join(row["lines"]) if row["lines"] else "(no digits)"
    return f"{row['path']}: {'ERROR ' + row['error'] if row['error'] else text}\n"


def done_paths(out: Path, fmt: str) -> set[str]:
    """Paths already in `out`. A torn or corrupt row (an interrupted run) and everything after
    it is cut off, so those files are done again and no row is duplicated or half-written."""
    if not out.exists():
        return set()
    done: set[str] = set()
    good = 0
    record = b""
    with open(out, "rb") as f:
        for line in f:
            record += line
            if fmt == "csv" and record.count(b'"') % 2:  # inside a quoted field: a path holding a newline
                continue
            text = record.decode("utf-8", errors="surrogateescape")
            try:
                if not record.endswith(b"\n"):
                    raise ValueError("torn row")
                path = next(csv.reader(io.StringIO(text, newline="")))[0] if fmt == "csv" else json.loads(text)["path"]
            except (ValueError, KeyError, IndexError, TypeError, StopIteration, csv.Error):
                break
            if not (fmt == "csv" and path == "path"):  # the CSV header
                done.add(path)
            good += len(record)
            record = b""
    if good != out.stat().st_size:
        with open(out, "r+b") as f:
            f.truncate(good)
    return done
