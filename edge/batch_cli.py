"""`digitedge classify`: read the digits in image files and folders."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from digitedge.edge import batch
from digitedge.edge.collect import CollectConfig
from digitedge.edge.config import add_arguments, from_arguments
from digitedge.edge.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTPUT, EXIT_PARTIAL, EXIT_USAGE


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digitedge classify",
        description="Find and read handwritten digits in images. One result per file: JSONL "
        '{"path", "width", "height", "digits": [{"box": [x, y, w, h], "label", "confidence"}], '
        '"lines", "error"} or CSV (path, lines, digit count, error). Re-running with the same '
        "--out skips files already done.",
        epilog="exit codes: 0 all files read, 1 some files failed, 2 usage error or unusable model, "
        "3 no TFLite interpreter installed, 74 the output could "
        "not be written (full disk, closed pipe; rows before stay "
        "whole), 130 interrupted by Ctrl-C or SIGTERM (output stays valid; rerun to resume)",
    )
    p.add_argument("paths", nargs="+", help="image files and/or folders")
    p.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    p.add_argument(
        "--out",
        type=Path,
        help="write rows to FILE.jsonl, FILE.csv or a FOLDER.parquet of Parquet files (all resumable); default: stdout",
    )
    p.add_argument(
        "--format", choices=["jsonl", "csv", "text"], help="stdout format (default jsonl); --out uses its extension"
    )
    p.add_argument("--annotate", type=Path, metavar="DIR", help="write copies with boxes, labels and confidences")
    p.add_argument("--workers", type=int, default=1, help="processes, one interpreter each (default 1)")
    p.add_argument(
        "--collect",
        type=Path,
        metavar="DIR",
        help="save doubtful crops (model input, context, JSON record) to DIR for labelling; bounded in files and MB",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="read on a Ray cluster (needs digitedge[ray]): auto, HOST:PORT or ray://HOST:10001; alone, a local "
        "Ray instance on this machine's cores. Paths must be readable on every node (a shared filesystem)",
    )
    p.add_argument("--model", help="int8 .tflite with its .json metadata (default: the bundled model)")
    add_arguments(p, per_image=True)
    return p


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parser().parse_intermixed_args(argv)  # paths may come before and after options
    if isinstance(sys.stdout, io.TextIOWrapper):  # non-UTF-8 file names pass through as bytes
        sys.stdout.reconfigure(errors="surrogateescape")
    if args.workers < 1:
        print(f"digitedge classify: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return EXIT_USAGE
    fmt = args.format or "jsonl"
    if args.out is not None:
        fmt = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}.get(
            args.out.suffix.lower(), ""
        )
        if not fmt:
            print(
                f"digitedge classify: --out {args.out}: use a .jsonl or .csv file, or a .parquet folder",
                file=sys.stderr,
            )
            return EXIT_USAGE
    items = batch.collect(args.paths, args.recursive)
    if not items:
        print("digitedge classify: no images found in " + " ".join(args.paths), file=sys.stderr)
        return EXIT_USAGE
    config = dataclasses.replace(from_arguments(args), doubts=args.collect is not None)
    from digitedge.edge.recognize import Recognizer

    recognizer = Recognizer(args.model, config)  # fail fast on an unusable model; serial runs use it

    if args.ray is not None and (args.annotate is not None or args.workers > 1 or args.collect is not None):
        print(
            "digitedge classify: --ray sizes its own pool, and writes no --annotate or --collect files", file=sys.stderr
        )
        return EXIT_USAGE
    if args.annotate is not None:
        try:
            args.annotate.mkdir(parents=True, exist_ok=True)
            if not os.access(args.annotate, os.W_OK | os.X_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as exc:
            print(
                f"digitedge classify: cannot write annotated copies into {args.annotate}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return EXIT_USAGE
    parquet = None  # the folder of Parquet files, for --out *.parquet
    sink: TextIO = sys.stdout
    todo = items
    if args.out is not None:
        key: Callable[[str], str] = str  # a path as --out records it
        try:
            if fmt == "parquet":
                from digitedge.edge.parquet import ParquetSink, path_text

                parquet, key = ParquetSink(args.out), path_text
                done = parquet.done_paths()
            else:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                done = batch.done_paths(args.out, fmt)
                fresh = not args.out.exists() or args.out.stat().st_size == 0
                sink = open(args.out, "a", encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115
                if fmt == "csv" and fresh:
                    sink.write(",".join(batch.CSV_FIELDS) + "\n")
        except OSError as exc:
            print(f"digitedge classify: cannot write --out {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        todo = [it for it in items if key(str(it.path)) not in done]
        if done:
            print(f"resuming: {len(items) - len(todo)} of {len(items)} files already in {args.out}", file=sys.stderr)
    elif fmt == "csv":
        sink.write(",".join(batch.CSV_FIELDS) + "\n")

    from tqdm import tqdm

    started, n_digits, n_errors, n_done = time.time(), 0, 0, 0
    nodes: Counter[str] = Counter()  # rows per Ray node
    status = EXIT_OK
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop: as Ctrl-C, summary and 130
    try:
        if args.ray is not None:
            from digitedge.edge import cluster

            rows = cluster.run(todo, args.ray, args.model, config, nodes)
        else:
            # files are not frames of one scene: no pacing, only the bounds and deduplication
            collect = CollectConfig(args.collect, min_interval_s=0) if args.collect is not None else None
            rows = batch.run(todo, args.model, args.workers, args.annotate, recognizer, config, collect)
        for row in tqdm(rows, total=len(todo), unit="img", file=sys.stderr, disable=None):
            if parquet is not None:
                parquet.write(row)  # buffered: whole files only
            else:
                sink.write(batch.format_row(row, fmt))
                sink.flush()
            n_done += 1
            n_digits += len(row["digits"])
            n_errors += row["error"] is not None
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    except OSError as exc:  # the output cannot take more: a full disk, a closed pipe (| head)
        status = EXIT_OUTPUT
        if isinstance(exc, BrokenPipeError):  # nothing more can reach stdout, not even at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        where = "stdout" if args.out is None else str(args.out)
        print(
            f"digitedge classify: cannot write {where}: {exc.strerror or exc}; the rows before are whole "
            "(rerun with --out to resume)",
            file=sys.stderr,
        )
    finally:
        with contextlib.suppress(OSError):  # the flush of a full disk fails again
            if sink is not sys.stdout:
                sink.close()
            if parquet is not None:
                parquet.close()  # the rows read so far, as a last whole file
    elapsed = max(time.time() - started, 1e-9)
    print(
        f"{n_done} images, {n_digits} digits, {n_errors} errors, {n_done / elapsed:.1f} images/s"
        + (" (interrupted: rerun the same command to resume)" if status == EXIT_INTERRUPTED else ""),
        file=sys.stderr,
    )
    if nodes:
        print(f"ray: rows per node {json.dumps(dict(nodes))}", file=sys.stderr)
    if status != EXIT_OK:
        return status
    return EXIT_PARTIAL if n_errors else EXIT_OK
