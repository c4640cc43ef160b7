"""Reading CLUE's JSON data files, shared by the tasks that take one (MedNLI, MeDiSumQA, MeDiSumCode).

`read_records` takes a JSON array or a JSON Lines file (Q19: the releases and the code disagree on the format, so both
are read) and returns its objects; `require` checks that each has the fields a task reads. Every error is one
`DataError` naming the file and the item or line, with the caller's `fix` (where to get the file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from clue.errors import DataError


def read_records(path: Path, fix: str) -> list[dict[str, Any]]:
    """Objects of a JSON array or a JSON Lines file (Q19: the releases and the code disagree on
    the format, so both are read). Errors name the file and line; `fix` says where to get it."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text", fix) from None
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})", fix) from None
        where = [f"item {i + 1}" for i in range(len(records))]
    else:
        records, where = [], []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path} line {n} is not valid JSON ({exc.msg})", f"expected a JSON array or JSON Lines; {fix}") from None
            where.append(f"line {n}")
    if not records:
        raise DataError(f"{path} holds no records", fix)
    for record, loc in zip(records, where):
        if not isinstance(record, dict):
            raise DataError(f"{path} {loc} is not a JSON object", f"expected one object per item; {fix}")
    return records


def require(records: Sequence[dict[str, Any]], fields: Sequence[str], path: Path, fix: str) -> None:
    """DataError naming the first record that lacks one of `fields`."""
    for i, record in enumerate(records):
        missing = [f for f in fields if f not in record]
        if missing:
            raise DataError(f"{path} record {i + 1} lacks field(s) {', '.join(missing)}", fix)
