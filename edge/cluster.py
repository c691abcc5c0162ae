"""`digitedge classify --ray`: the same rows, read by Ray Data's actor pool on a cluster.

The driver lists the files (`batch.collect`) into a manifest of paths; Ray Data spreads the
manifest over a pool of actors, one CPU each, each building one interpreter in `__init__`
(an interpreter cannot be pickled, so none ever travels from the driver); every actor reads
its files itself, from a path every node sees (a local disk on one machine, a shared
filesystem on a cluster), and returns the row `classify` writes, made by the very same
`batch.classify_file`, so an unreadable or hostile file is an error row, never a failed
task. Rows stream back to the driver in manifest order (sorted by path), where the usual
writer appends them to JSONL or CSV, resumable, with the usual progress and summary.

Ray is an extra (`pip install 'digitedge[ray]'`) and is imported only here, only when asked.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from digitedge.edge.batch import Item, classify_file
from digitedge.edge.config import RecognizerConfig

log = logging.getLogger(__name__)
BATCH = 16  # files per actor call: large enough to amortize a task's overhead, small for smooth progress
POOL_START_S = 300  # how long the actors may take to start before the run fails with Ray's timeout


class Reader:
    """One Ray actor: one Recognizer (one interpreter, one thread) for its whole life."""

    def __init__(self, model: str | None, config: RecognizerConfig | None) -> None:
        import ray

        from digitedge.edge.recognize import Recognizer

        self.recognizer = Recognizer(model, config, num_threads=1)
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        rows = []
        for path, rel, error in zip(batch["path"], batch["rel"], batch["error"]):
            item = Item(Path(os.fsdecode(path)), Path(os.fsdecode(rel)), str(error) or None)
            rows.append(json.dumps(classify_file(self.recognizer, item)))
        return {"row": rows, "node": [self.node] * len(rows)}


def connect(address: str) -> None:
    """Join the cluster at `address` ("auto", "host:port", "ray://host:10001"), or start a
    local Ray instance on this machine's cores for "local"."""
    import ray

    if ray.is_initialized():
        return
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address == "local":
        ray.init(include_dashboard=False, **quiet)
    else:
        ray.init(address=address, **quiet)


def run(
    items: list[Item], address: str, model: str | None, config: RecognizerConfig | None, nodes: Counter[str]
) -> Iterator[dict[str, Any]]:
    """Rows for `items`, in their order, read on the Ray cluster at `address`; `nodes` counts
    the rows each node read (the summary says where the work went)."""
    if not items:
        return
    import ray
    import ray.data

    connect(address)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in manifest order, as local classify writes them
    context.enable_progress_bars = False  # classify draws its own
    # Start the whole pool before the first batch: else the first actor up takes every
    # batch while the others still load their interpreters, and a small run uses one node.
    context.wait_for_min_actors_s = POOL_START_S
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    manifest = ray.data.from_items(
        # paths as bytes: a file name need not be UTF-8, and Arrow's strings must be
        [{"path": os.fsencode(it.path), "rel": os.fsencode(it.rel), "error": it.error or ""} for it in items],
        override_num_blocks=min(-(-len(items) // BATCH), 64 * cpus),  # a block a batch, for small runs too
    )
    read = manifest.map_batches(
        Reader,
        fn_constructor_args=(model, config),
        batch_size=BATCH,
        num_cpus=1,
        concurrency=cpus,  # one actor per CPU of the cluster
        max_restarts=-1,  # a killed actor is replaced...
        max_task_retries=-1,  # ...and its batch read again, so every file gets exactly one row
    )
    log.info("ray: %d files on %d CPUs (%s)", len(items), cpus, address)
    for out in read.iter_rows():
        nodes[out["node"]] += 1
        yield json.loads(out["row"])
