"""A run's samples.jsonl column-wise, and the file that keeps those columns beside it (`report-columns.parquet`).

`Columns` is what the report, stats and paired comparisons need of every line — per line its task, sample id,
status ok or not, byte span in the file and the value of each metric (`Scores`: the lines that have one) — plus the
run's token totals, without a Python object per line. clue/report/columns.py reads them from samples.jsonl
(pyarrow's JSON reader; `from_lines` is the exact fallback, and builds them from lines already parsed).

`<run>/report-columns.parquet` keeps a run's columns under the sha256 of the samples.jsonl bytes they came from and
the metrics stored. Two writers, one layout:

- the report (`save`, from clue/report/load.py) keeps the metrics it read, so the next report over an unchanged run
  reads these instead of parsing every line again;
- `clue run` (`keep_run`, from clue/rundir.py `write`) keeps every metric its lines hold (`complete`), so even the first
  report of a large run reads no line: a report asks for any metrics, and one the run's lines never hold is all
  NaN. Only runs of `RUN_KEEPS_FROM` bytes or more: below that a report parses the file in a few tens of ms, less
  than the ~70 ms the run would spend loading the Parquet writer.

A run whose samples.jsonl changed (another sha256), or a file this kit cannot read back (another layout, damaged),
is read from samples.jsonl afresh and its file rewritten.

The file also records samples.jsonl's identity when it was hashed (`stamp`: device, inode, size, mtime and ctime in
ns, taken before the bytes were read, or after the run wrote them). Where the file still has that identity,
`known_sha256` gives the recorded sha256 and the report does not read 2.7 GB again to hash a grid: an edit of the
file's bytes changes its ctime (no user tool sets it back) and a copy has another inode, so either is hashed afresh —
as git's index trusts its stat data. The digests themselves are unsigned in run.json, so this weakens no check: who
can change the clock can rewrite run.json too. The file is written whole (clue.files.write_atomic), owner-only when
the run holds credentialed tasks (always, when `clue run` writes it, as its samples.jsonl); where the run directory
is not writable the report goes on without it.

numpy and pyarrow are imported on use: clue/rundir.py imports this module for every run, and a run that keeps no
columns needs neither (numpy alone is ~0.13 s of a small run's start-up).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:
    import numpy as np

from clue.errors import UserError

USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")  # a line "with usage" reports one of them
NAME = "report-columns.parquet"
LAYOUT = 1  # bump when what is stored changes
RUN_KEEPS_FROM = 8 << 20  # bytes of samples.jsonl from which `clue run` keeps its columns


class Scores:
    """One metric's score per line, kept as the lines that have one and their values: a run's lines each hold their
    own task's few metrics, so a dense line × metric table is mostly NaN (11 metrics × 5.3 M lines of a grid with
    few-shot seeds: 460 MB of it). `scores[positions]` reads like the dense array (NaN: absent or null)."""

    __slots__ = ("n", "rows", "values")

    def __init__(self, n: int, rows: np.ndarray, values: np.ndarray):
        self.n, self.rows, self.values = n, rows, values

    @classmethod
    def of(cls, dense: np.ndarray) -> Scores:
        import numpy as np

        dense = np.asarray(dense, dtype=np.float64)
        rows = np.flatnonzero(~np.isnan(dense))
        return cls(int(dense.size), rows.astype(np.int32 if dense.size < 2**31 else np.int64), dense[rows])

    def dense(self) -> np.ndarray:
        import numpy as np

        out = np.full(self.n, np.nan)
        out[self.rows] = self.values
        return out

    def __getitem__(self, positions: np.ndarray) -> np.ndarray:
        """The values at integer `positions` (NaN where a line has none)."""
        import numpy as np

        positions = np.asarray(positions, dtype=np.int64)
        out = np.full(positions.shape, np.nan)
        if self.rows.size and positions.size:
            at = np.searchsorted(self.rows, positions)
            found = at < self.rows.size
            found[found] = self.rows[at[found]] == positions[found]
            out[found] = self.values[at[found]]
        return out


@dataclass
class Columns:
    """One run's lines, column-wise (line order). `tasks[task[i]]` is line i's task; `ok[i]` its status is "ok";
    `metrics[m][i]` its score for metric m (NaN: absent or null; a `Scores`, indexed by position arrays);
    `offsets[i]:ends[i]` its bytes in the file."""

    tasks: list[str]
    task: np.ndarray
    ok: np.ndarray
    ids: Any  # pyarrow string array: str(sample_id) per line
    metrics: dict[str, Scores]
    usage: dict[str, int]
    offsets: np.ndarray | None = None
    ends: np.ndarray | None = None
    sample_digests: dict[str, str] | None = field(default=None)  # clue.rundir.sample_digests, where computed

    def __len__(self) -> int:
        return int(self.task.size)


def line_spans(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) byte offsets of the non-empty lines of `data` ("\\n"-separated; end excludes the newline)."""
    import numpy as np

    buf = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], breaks + 1)).astype(np.int64)
    ends = np.concatenate((breaks, [buf.size])).astype(np.int64)
    keep = ends > starts
    return starts[keep], ends[keep]


def usage_totals(n: int, has: np.ndarray, prompt: np.ndarray, completion: np.ndarray, cached: np.ndarray) -> dict[str, int]:
    sent = has & ~cached
    return {"prompt_tokens": int(prompt[has].sum()), "completion_tokens": int(completion[has].sum()),
            "sent_prompt_tokens": int(prompt[sent].sum()), "sent_completion_tokens": int(completion[sent].sum()),
            "with_usage": int(has.sum()), "samples": n}


def from_lines(lines: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> Columns:
    """The columns of lines already parsed (runs built in memory; the fallback reader)."""
    import numpy as np
    import pyarrow as pa

    codes: dict[str, int] = {}
    task = np.fromiter((codes.setdefault(str(s.get("task")), len(codes)) for s in lines), dtype=np.int32, count=len(lines))
    ok = np.fromiter((s.get("status") == "ok" for s in lines), dtype=bool, count=len(lines))
    ids = pa.array([str(s.get("sample_id")) for s in lines], type=pa.string())
    values = {m: np.full(len(lines), np.nan) for m in metrics}
    for i, s in enumerate(lines):
        scores = s.get("scores") or {}
        for m in metrics:
            v = scores.get(m)
            if v is not None:
                values[m][i] = float(v)
    usage = [u if isinstance(u := s.get("usage"), dict) else {} for s in lines]  # not an object: no tokens reported
    has = np.fromiter((any(u.get(k) is not None for k in USAGE_KEYS) for u in usage), dtype=bool, count=len(lines))

    def tokens(key: str) -> np.ndarray:
        counts = [int(u.get(key) or 0) for u in usage]
        try:
            return np.fromiter(counts, dtype=np.int64, count=len(counts))
        except OverflowError:  # a count past 64 bits (a server's): summed exactly as Python ints
            return np.array(counts, dtype=object)

    prompt, completion = tokens("prompt_tokens"), tokens("completion_tokens")
    cached = np.fromiter((bool(s.get("cached")) for s in lines), dtype=bool, count=len(lines))
    return Columns(list(codes), task, ok, ids, {m: Scores.of(v) for m, v in values.items()},
                   usage_totals(len(lines), has, prompt, completion, cached))


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
    """The columns kept for this samples.jsonl (sha256 `sha`) with these metrics; None when there are none (a file
    that keeps other metrics only serves where it is `complete`: a metric it lacks is then in no line)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(run_dir / NAME).read()  # not read_table: its dataset layer imports pandas (~0.2 s)
        meta = json.loads((table.schema.metadata or {}).get(b"clue", b"{}"))
    except (OSError, ValueError, pa.ArrowException):
        return None
    if not isinstance(meta, dict) or meta.get("layout") != LAYOUT or meta.get("sha256") != sha or not isinstance(meta.get("metrics"), list):
        return None
    stored = {m: j for j, m in enumerate(meta["metrics"])}
    if meta["metrics"] != list(metrics) and not (meta.get("complete") is True and len(stored) == len(meta["metrics"])):
        return None
    try:
        def col(name: str) -> np.ndarray:
            return _numpy(table.column(name).combine_chunks())

        n = table.num_rows
        none = Scores(n, np.zeros(0, np.int32 if n < 2**31 else np.int64), np.zeros(0))
        return Columns(tasks=list(meta["tasks"]), task=col("task").astype(np.int32), ok=col("ok").astype(bool),
                       ids=table.column("sample_id").combine_chunks(),
                       metrics={m: Scores.of(col(f"m{stored[m]}").astype(np.float64)) if m in stored else none for m in metrics},
                       usage={k: int(v) for k, v in meta["usage"].items()}, offsets=col("offset").astype(np.int64),
                       ends=col("end").astype(np.int64), sample_digests=meta.get("sample_digests"))
    except (KeyError, TypeError, ValueError, pa.ArrowException):
        return None


def _numpy(arr: Any) -> np.ndarray:
    """A kept column (no nulls: saved from numpy) as numpy, read from its Arrow buffer. Not `Array.to_numpy`: its
    conversion (Arrow's to-pandas code) imports pandas, ~0.2 s of every report that reads only kept columns."""
    import numpy as np
    import pyarrow as pa

    if arr.null_count or not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type)):
        return arr.to_numpy(zero_copy_only=False)
    data = arr.buffers()[1]
    if pa.types.is_boolean(arr.type):  # one bit per value, least significant first
        return np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[arr.offset:arr.offset + len(arr)].astype(bool)
    kind = "f" if pa.types.is_floating(arr.type) else "i" if pa.types.is_signed_integer(arr.type) else "u"
    dtype = np.dtype(f"{kind}{arr.type.bit_width // 8}")
    return np.frombuffer(data, dtype, count=len(arr), offset=arr.offset * dtype.itemsize)


def save(run_dir: Path, sha: str, metrics: Sequence[str], cols: Columns, *, private: bool, stamped: list[int] | None = None,
         complete: bool = False) -> None:
    """Keep `cols` for the next report (nothing happens where the run directory cannot be written); `stamped`: the
    samples file's `stamp` taken before the bytes that gave `sha` were read; `complete`: `metrics` are every metric
    the lines hold."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clue.files import write_atomic

    arrays = {"task": pa.array(cols.task), "ok": pa.array(cols.ok), "sample_id": cols.ids,
              "offset": pa.array(cols.offsets), "end": pa.array(cols.ends)}
    arrays.update({f"m{j}": pa.array(cols.metrics[m].dense()) for j, m in enumerate(metrics)})  # metric names may be anything
    meta = {"layout": LAYOUT, "sha256": sha, "metrics": list(metrics), "tasks": cols.tasks, "usage": cols.usage,
            "sample_digests": cols.sample_digests, "stamp": stamped, "complete": complete}
    table = pa.table(arrays).replace_schema_metadata({"clue": json.dumps(meta)})
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    try:
        write_atomic(run_dir / NAME, out.getvalue(), private=private)
    except UserError:
        pass  # a read-only run directory: the next report reads samples.jsonl again


def keep_run(run_dir: Path, lines: Sequence[Mapping[str, Any]], data: bytes, sha: str) -> None:
    """`clue run`'s side, once its files are written: keep the columns of its samples.jsonl (`data`, sha256 `sha`;
    `lines`: its lines, as written or read back), every metric they hold. Never fails a run: this only saves a
    report work, so a line it cannot take as the report's reader would (an id that is not a string, a score that is
    not a number, a count beyond 64 bits, ...) leaves the reading to the report, which says what is wrong."""
    def columns() -> tuple[Columns, list[str]]:
        if not all(isinstance(line.get("scores") or {}, dict) and isinstance(line.get("usage") or {}, dict)
                   and isinstance(line.get("sample_id"), str) and isinstance(line.get("task"), str) for line in lines):
            raise ValueError("a line the report reads its own way")  # an int id: str() of what JSON gives back
        metrics = list(dict.fromkeys(m for line in lines for m in (line.get("scores") or {})))
        return from_lines(lines, metrics), metrics

    try:
        keep_complete(run_dir, columns, data, sha)
    except Exception:  # see above: nothing here may stop a run whose files are written
        return


def keep_complete(run_dir: Path, columns: Callable[[], tuple[Columns, list[str]]], data: bytes, sha: str) -> None:
    """The one rule for columns kept by what writes a run (`clue run`, and the grid bench that stands in for it):
    where samples.jsonl (`data`) is RUN_KEEPS_FROM bytes or more, `columns()` — every metric the lines hold — with
    the lines' byte spans in `data`, `complete`, stamped with the file's identity now (just written: nothing else
    writes a run directory under its run lock)."""
    if len(data) < RUN_KEEPS_FROM:
        return
    cols, metrics = columns()
    starts, ends = line_spans(data)
    if starts.size != len(cols):
        return
    cols.offsets, cols.ends = starts, ends
    save(run_dir, sha, metrics, cols, private=True, stamped=stamp(run_dir / "samples.jsonl"), complete=True)
