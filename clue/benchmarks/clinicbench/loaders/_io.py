"""Small shared readers: every failure becomes one ConfigError line naming the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Literal, overload

from clue.errors import ConfigError


def need(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"data file {path} not found",
                          "fetch it (`clue data status` says how), or put the release file there (--data-dir sets the data folder)")
    return path


def bad(path: str | Path, what: str) -> ConfigError:
    return ConfigError(f"data file {path}: {what}", "check that it is the original, unmodified release file")


def read_json(path: str | Path) -> Any:
    path = need(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad(path, f"not valid JSON ({exc})") from None


def read_jsonl(path: str | Path) -> list[dict]:
    path = need(path)
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise bad(path, f"line {n} is not valid JSON ({exc.msg})") from None
    return rows


@overload
def read_csv(path: str | Path, *, header: Literal[True] = ..., delimiter: str = ...) -> list[dict[str, str]]: ...
@overload
def read_csv(path: str | Path, *, header: Literal[False], delimiter: str = ...) -> list[list[str]]: ...
def read_csv(path: str | Path, *, header: bool = True, delimiter: str = ",") -> list[dict[str, str]] | list[list[str]]:
    path = need(path)
    with path.open(encoding="utf-8", newline="") as fh:
        if header:
            return list(csv.DictReader(fh, delimiter=delimiter))
        return [row for row in csv.reader(fh, delimiter=delimiter) if row]


def require(row: dict, keys: tuple[str, ...], path: str | Path, where: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise bad(path, f"{where} lacks field(s) {', '.join(missing)}")
