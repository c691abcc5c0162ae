"""`classify --out RESULTS.parquet`: a folder of Parquet files, for runs of millions of rows.

Rows are buffered and written a file at a time (`part-<start ns>-<pid>-<n>.parquet`, written under a
temporary name and renamed), so a folder only ever holds whole files: an interrupted run
keeps what it wrote, and a rerun skips the paths already there. Columns: path, width,
height, digits (box, label, confidence), lines, error — the JSONL row's fields. A file name
that is not UTF-8 is written with backslash escapes (Parquet strings must be UTF-8).
Needs pyarrow (it comes with `digitedge[ray]`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

ROWS_PER_FILE = 10_000


def path_text(path: str) -> str:
    """A path as the Parquet column holds it: UTF-8, with any other byte escaped."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _schema() -> Any:
    import pyarrow as pa

    digit = pa.struct([("box", pa.list_(pa.int32())), ("label", pa.int8()), ("confidence", pa.float64())])
    return pa.schema(
        [
            ("path", pa.string()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("digits", pa.list_(digit)),
            ("lines", pa.list_(pa.string())),
            ("error", pa.string()),
        ]
    )


class ParquetSink:
    """Appends classify rows to a folder of Parquet files."""

    def __init__(self, folder: Path, rows_per_file: int = ROWS_PER_FILE) -> None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError("--out *.parquet needs pyarrow: pip install 'digitedge[ray]'") from None
        self.folder, self.rows_per_file = folder, rows_per_file
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".part-*.tmp"):  # a file cut off by a killed run: its rows are read again
            stale.unlink()
        self.run, self.count = f"{time.time_ns()}-{os.getpid()}", 0  # never one of an earlier run's names
        self.rows: list[dict[str, Any]] = []

    def done_paths(self) -> set[str]:
        """Paths (as `path_text` writes them) already in the folder's files."""
        import pyarrow.parquet as pq

        done: set[str] = set()
        for part in sorted(self.folder.glob("part-*.parquet")):
            done.update(pq.read_table(part, columns=["path"]).column("path").to_pylist())
        return done

    def write(self, row: dict[str, Any]) -> None:
        self.rows.append({**row, "path": path_text(row["path"])})
        if len(self.rows) >= self.rows_per_file:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one whole file."""
        if not self.rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = f"part-{self.run}-{self.count:05d}.parquet"
        tmp = self.folder / f".{name}.tmp"
        pq.write_table(pa.Table.from_pylist(self.rows, schema=_schema()), tmp)
        tmp.replace(self.folder / name)
        self.rows, self.count = [], self.count + 1

    def close(self) -> None:
        self.flush()
