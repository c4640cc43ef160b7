"""samples.jsonl read column-wise: what the report needs of every line, without a Python object per line.

`read(path, metrics)` parses a run's samples.jsonl with pyarrow's JSON reader into a few arrays (clue/sample_columns.py's
`Columns`) — per line its task, sample id, status ok or not, byte offset, and the value of each metric named in
`metrics` (NaN: none) — plus the run's token totals (clue/report/cost.py's `usage`). A file pyarrow cannot type (an int sample id, a boolean
score, a damaged line) is read line by line with the json module instead: same arrays, same one-line errors.

`SampleLines` wraps those arrays (or, for runs built in memory, a list of lines) and still behaves as the list of
lines it replaces: iterating or indexing parses the file's lines (exact, streamed), so code that wants whole lines
(ratings) keeps working; the report, stats and the paired comparisons (clue/items.py) read the arrays (`task_items`,
`usage_totals`, `lines_at`: only the lines shown are parsed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from clue.errors import DataError
from clue.sample_columns import USAGE_KEYS, Columns, Scores, from_lines, line_spans, usage_totals


def _damaged(path: Path, line_no: int, msg: str) -> DataError:
    return DataError(f"{path} is damaged (line {line_no}: {msg})", "re-run `clue run` with the same options to rewrite it")


def _parse_all(path: Path, data: bytes, starts: np.ndarray, ends: np.ndarray) -> list[dict[str, Any]]:
    """Every line through the json module (the exact reader, with load_run's one-line errors)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path} is damaged (not UTF-8)", "re-run `clue run` with the same options to rewrite it") from None
    out = []
    for i, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _damaged(path, i, exc.msg) from None
        if not isinstance(row, dict):
            raise DataError(f"{path.parent} holds run.json/samples.jsonl of an unexpected shape",
                            "re-run `clue run` with the same options to rewrite it")
        out.append(row)
    return out


def _arrow(data: bytes, metrics: Sequence[str]) -> Columns:
    """The columns through pyarrow (raises pyarrow.ArrowInvalid where a value is not of the expected type)."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    schema = pa.schema([("task", pa.string()), ("sample_id", pa.string()), ("status", pa.string()), ("cached", pa.bool_()),
                        ("scores", pa.struct([(m, pa.float64()) for m in metrics] or [("_", pa.float64())])),
                        ("usage", pa.struct([(k, pa.int64()) for k in USAGE_KEYS]))])
    table = pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(block_size=1 << 24, use_threads=True),
                         parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"))
    n = table.num_rows
    task = pc.fill_null(table.column("task"), "None").combine_chunks().dictionary_encode()
    if table.column("sample_id").null_count:  # str(None), as the json reader says it
        raise pa.ArrowInvalid("a sample id is null")
    scores = table.column("scores").combine_chunks()
    values = {}
    for m in metrics:
        col = pc.struct_field(scores, m) if scores.null_count == 0 else pc.if_else(pc.is_null(scores), None, pc.struct_field(scores, m))
        values[m] = Scores.of(col.to_numpy(zero_copy_only=False).astype(np.float64))  # nulls → NaN
    usage = table.column("usage").combine_chunks()

    def tokens(k: str) -> np.ndarray:
        return pc.fill_null(pc.struct_field(usage, k), 0).to_numpy(zero_copy_only=False) if n else np.zeros(0, np.int64)

    present = [pc.is_valid(pc.struct_field(usage, k)).to_numpy(zero_copy_only=False) for k in USAGE_KEYS] if n else []
    has = np.logical_or.reduce(present) if present else np.zeros(0, bool)
    cached = pc.fill_null(table.column("cached"), False).to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    ok = pc.fill_null(pc.equal(table.column("status"), "ok"), False).to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    return Columns([str(x) for x in task.dictionary.to_pylist()], task.indices.to_numpy(zero_copy_only=False).astype(np.int32),
                   np.asarray(ok, dtype=bool), table.column("sample_id").combine_chunks(), values,
                   usage_totals(n, np.asarray(has, dtype=bool), tokens("prompt_tokens"), tokens("completion_tokens"),
                                 np.asarray(cached, dtype=bool)))


def read(path: Path, metrics: Sequence[str], data: bytes | None = None) -> Columns:
    """The columns of the samples.jsonl at `path` (its bytes `data`, when already read)."""
    import pyarrow as pa

    if data is None:
        data = path.read_bytes()
    starts, ends = line_spans(data)
    cols: Columns | None = None
    try:
        cols = _arrow(data, metrics)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        cols = None
    if cols is None or len(cols) != starts.size:  # a type pyarrow will not take, whitespace-only lines: read exactly
        cols = from_lines(_parse_all(path, data, starts, ends), metrics)
        blank = np.array([not data[a:b].decode("utf-8").strip() for a, b in zip(starts.tolist(), ends.tolist())], dtype=bool)
        starts, ends = starts[~blank], ends[~blank]
    cols.offsets, cols.ends = starts, ends
    pa.default_memory_pool().release_unused()  # the parse's buffers: back to the system before the next run is read
    return cols


class SampleLines(Sequence[dict[str, Any]]):
    """A run's samples.jsonl lines: the columns for the report, the lines themselves parsed on demand."""

    def __init__(self, cols: Columns, path: Path | None = None, lines: Sequence[Mapping[str, Any]] | None = None):
        self.cols, self.path, self._lines = cols, path, lines

    @classmethod
    def of(cls, lines: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> SampleLines:
        return cls(from_lines(lines, metrics), lines=lines)

    def __len__(self) -> int:
        return len(self.cols)

    def lines_at(self, positions: Sequence[int]) -> list[dict[str, Any]]:
        """The whole lines at these positions (line numbers among the non-empty lines), in that order."""
        if self._lines is not None:
            return [dict(self._lines[i]) for i in positions]
        assert self.path is not None and self.cols.offsets is not None and self.cols.ends is not None
        out = []
        with open(self.path, "rb") as fh:
            for i in positions:
                start = int(self.cols.offsets[i])
                fh.seek(start)
                out.append(json.loads(fh.read(int(self.cols.ends[i]) - start).decode("utf-8")))
        return out

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self.lines_at(range(len(self))[i])
        return self.lines_at([range(len(self))[i]])[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._lines is not None:
            yield from (dict(s) for s in self._lines)
            return
        assert self.path is not None
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def task_names(self) -> set[str]:
        return set(self.cols.tasks)

    def positions(self, task: str) -> np.ndarray:
        """Line numbers of one task's lines, in file order."""
        if task not in self.cols.tasks:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.cols.task == self.cols.tasks.index(task))

    def task_items(self, task: str, metrics: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(sample ids, values: items × metrics, NaN where none) of one task's status-ok lines, in file order."""
        at = self.positions(task)
        at = at[self.cols.ok[at]]
        ids = self.cols.ids.take(at).to_pylist() if at.size else []
        values = np.empty((at.size, len(metrics)))
        for j, m in enumerate(metrics):
            col = self.cols.metrics.get(m)
            values[:, j] = col[at] if col is not None else np.nan
        return ids, values

    def usage_totals(self) -> dict[str, int]:
        return dict(self.cols.usage)
