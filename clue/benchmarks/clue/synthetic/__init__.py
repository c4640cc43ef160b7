"""Bundled synthetic samples (invented, clearly labelled) written out in each task's real file format.

`materialize(data_dir)` creates `<data_dir>/<task>/<original file name>` for every task that has
a `<task>.jsonl` here, using the task's own `write_synthetic`, so `clue run --data-dir <dir>`
exercises the same loaders as real data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from clue.data.lock import mark_bundled

HERE = Path(__file__).parent


def records(task: str) -> list[dict]:
    path = HERE / f"{task}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def materialize(data_dir: str | Path) -> Path:
    """Write every task's synthetic items into `data_dir` in the original format; returns data_dir."""
    from clue.benchmarks.clue.tasks import TASKS

    data_dir = Path(data_dir)
    for task in TASKS.values():
        if not (HERE / f"{task.name}.jsonl").is_file():
            continue
        target = data_dir / task.name / task.files[0]
        target.parent.mkdir(parents=True, exist_ok=True)
        # written aside, then renamed: a run already reading this directory never sees a half-written file
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            task.write_synthetic(records(task.name), tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    mark_bundled(data_dir, "CLUE synthetic items")  # runs record these files' hashes, never compare them with the releases
    return data_dir
