"""Each run's samples.jsonl as the report reads it (clue/report/columns.py), kept beside it for the next report.

`<run>/report-columns.parquet` holds a run's columns (task, status ok, sample id, byte span and the metrics read, per
line), its token totals and, where computed, its lines' digests (clue.rundir.sample_digests), under the sha256 of the
samples.jsonl bytes they came from and the metrics read. A report over unchanged runs reads these instead of parsing
every line again; a run whose samples.jsonl changed (another sha256), or a file this kit cannot read back (another
layout, damaged), is read from samples.jsonl afresh and its file rewritten.

The file also records samples.jsonl's identity when it was hashed (`stamp`: device, inode, size, mtime and ctime in
ns, taken before the bytes were read). Where the file still has that identity, `known_sha256` gives the recorded
sha256 and the report does not read 2.7 GB again to hash a grid: an edit of the file's bytes changes its ctime (no
user tool sets it back) and a copy has another inode, so either is hashed afresh — as git's index trusts its stat
data. The digests themselves are unsigned in run.json, so this weakens no check: who can change the clock can
rewrite run.json too. The file is written whole
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
from clue.report.columns import Columns, Scores

NAME = "report-columns.parquet"
LAYOUT = 1  # bump when what is stored changes


def stamp(path: Path) -> list[int]:
    """The identity of the file at `path` now: device, inode, size, mtime and ctime (ns); OSError when it is gone."""
    st = path.stat()
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def known_sha256(run_dir: Path, path: Path) -> str | None:
    """The sha256 the kept columns recorded for `path`, where the file has the identity it had when hashed; else None."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = json.loads((pq.read_schema(run_dir / NAME).metadata or {}).get(b"clue", b"{}"))
        now = stamp(path)
    except (OSError, ValueError, pa.ArrowException):
        return None
    if not isinstance(meta, dict) or meta.get("layout") != LAYOUT or meta.get("stamp") != now:
        return None
    sha = meta.get("sha256")
    return sha if isinstance(sha, str) else None


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
                       metrics={m: Scores.of(col(f"m{j}").astype(np.float64)) for j, m in enumerate(metrics)},
                       usage={k: int(v) for k, v in meta["usage"].items()}, offsets=col("offset").astype(np.int64),
                       ends=col("end").astype(np.int64), sample_digests=meta.get("sample_digests"))
    except (KeyError, TypeError, ValueError, pa.ArrowException):
        return None


def save(run_dir: Path, sha: str, metrics: Sequence[str], cols: Columns, *, private: bool, stamped: list[int] | None = None) -> None:
    """Keep `cols` for the next report (nothing happens where the run directory cannot be written); `stamped`: the
    samples file's `stamp` taken before the bytes that gave `sha` were read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clue.files import write_atomic

    arrays = {"task": pa.array(cols.task), "ok": pa.array(cols.ok), "sample_id": cols.ids,
              "offset": pa.array(cols.offsets), "end": pa.array(cols.ends)}
    arrays.update({f"m{j}": pa.array(cols.metrics[m].dense()) for j, m in enumerate(metrics)})  # metric names may be anything
    meta = {"layout": LAYOUT, "sha256": sha, "metrics": list(metrics), "tasks": cols.tasks, "usage": cols.usage,
            "sample_digests": cols.sample_digests, "stamp": stamped}
    table = pa.table(arrays).replace_schema_metadata({"clue": json.dumps(meta)})
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    try:
        write_atomic(run_dir / NAME, out.getvalue(), private=private)
    except UserError:
        pass  # a read-only run directory: the next report reads samples.jsonl again
