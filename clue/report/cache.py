"""Each run's samples.jsonl as the report reads it (clue/report/columns.py), kept beside it for the next report.

`<run>/report-columns.parquet` holds a run's columns (task, status ok, sample id, byte span and the metrics read, per
line), its token totals and, where computed, its lines' digests (clue.rundir.sample_digests), under the sha256 of the
samples.jsonl bytes they came from and the metrics read. A report over unchanged runs reads these instead of parsing
every line again; a run whose samples.jsonl changed (another sha256), or a file this kit cannot read back (another
layout, damaged), is read from samples.jsonl afresh and its file rewritten. The file is written whole
(clue.files.write_atomic), owner-only when the run holds credentialed tasks; where the run directory is not
writable the report goes on without it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from clue.errors import UserError
from clue.report.columns import Columns

NAME = "report-columns.parquet"
LAYOUT = 1  # bump when what is stored changes


def load(run_dir: Path, sha: str, metrics: Sequence[str]) -> Columns | None:
    """The columns kept for this samples.jsonl (sha256 `sha`) with these metrics; None when there are none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(run_dir / NAME)
        meta = json.loads((table.schema.metadata or {}).get(b"clue", b"{}"))
    except (OSError, ValueError, pa.ArrowException):
        return None
    if not isinstance(meta, dict) or meta.get("layout") != LAYOUT or meta.get("sha256") != sha or meta.get("metrics") != list(metrics):
        return None
    try:
        def col(name: str) -> np.ndarray:
            return table.column(name).to_numpy()

        return Columns(tasks=list(meta["tasks"]), task=col("task").astype(np.int32), ok=col("ok").astype(bool),
                       ids=table.column("sample_id").combine_chunks(),
                       metrics={m: col(f"m{j}").astype(np.float64) for j, m in enumerate(metrics)},
                       usage={k: int(v) for k, v in meta["usage"].items()}, offsets=col("offset").astype(np.int64),
                       ends=col("end").astype(np.int64), sample_digests=meta.get("sample_digests"))
    except (KeyError, TypeError, ValueError, pa.ArrowException):
        return None


def save(run_dir: Path, sha: str, metrics: Sequence[str], cols: Columns, *, private: bool) -> None:
    """Keep `cols` for the next report (nothing happens where the run directory cannot be written)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clue.files import write_atomic

    arrays = {"task": pa.array(cols.task), "ok": pa.array(cols.ok), "sample_id": cols.ids,
              "offset": pa.array(cols.offsets), "end": pa.array(cols.ends)}
    arrays.update({f"m{j}": pa.array(cols.metrics[m]) for j, m in enumerate(metrics)})  # metric names may be anything
    meta = {"layout": LAYOUT, "sha256": sha, "metrics": list(metrics), "tasks": cols.tasks, "usage": cols.usage,
            "sample_digests": cols.sample_digests}
    table = pa.table(arrays).replace_schema_metadata({"clue": json.dumps(meta)})
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    try:
        write_atomic(run_dir / NAME, out.getvalue(), private=private)
    except UserError:
        pass  # a read-only run directory: the next report reads samples.jsonl again
