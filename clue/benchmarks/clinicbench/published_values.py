"""Published ClinicBench values (none bundled: published/README.md). Reads the CSV so that rows a human
adds later are used; with the header-only file it returns nothing, and callers say "no reference"."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from clue.errors import DataError

CSV_PATH = Path(__file__).with_name("published") / "clinicbench_published.csv"
COLUMNS = ("model", "hf_id", "type", "base_model", "task", "metric", "setting", "value", "source")


@dataclass(frozen=True)
class PublishedValue:
    model: str
    task: str
    metric: str
    setting: str
    value: float
    source: str


def values(path: Path = CSV_PATH) -> tuple[PublishedValue, ...]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise DataError(f"published file {path} has columns {reader.fieldnames}", f"expected {', '.join(COLUMNS)}")
            rows = list(reader)
    except FileNotFoundError:
        raise DataError(f"published data file {path} is missing", "reinstall clue-kit (it is package data)") from None
    out = []
    for n, r in enumerate(rows, 2):
        try:
            value = float(r["value"])
        except ValueError:
            raise DataError(f"published file {path}, line {n}: value {r['value']!r} is not a number", "fix the row") from None
        out.append(PublishedValue(r["model"], r["task"], r["metric"], r["setting"], value, r["source"]))
    return tuple(out)
