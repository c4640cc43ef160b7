"""The published-numbers interface the core reads (`Benchmark.published`: models, values, table,
match_model, find_model) over the header-only `published/clinicbench_published.csv` and
`published/models.csv`. With no rows, every `clue verify` check says "no reference"; rows a human adds
later (published/README.md) are used as they are. Never invent or back-fill a number."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from clue.benchmarks.clinicbench.published_values import PublishedValue as _Row
from clue.benchmarks.clinicbench.published_values import values as _rows
from clue.errors import ConfigError, DataError

MODELS_CSV = Path(__file__).with_name("published") / "models.csv"
# source tag → what it means, shown in the report footer; empty while no published number is bundled
SOURCE_NOTES: dict[str, str] = {}


@dataclass(frozen=True)
class PublishedModel:
    name: str
    hf_id: str
    hf_id_status: str
    type: str
    base_model: str
    size: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class PublishedValue:
    model: str
    task: str
    metric: str
    value: float
    source: str
    setting: str = "zero-shot"
    approximate: bool = False


@lru_cache(maxsize=1)
def models() -> dict[str, PublishedModel]:
    try:
        with MODELS_CSV.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise DataError(f"{MODELS_CSV} is missing", "reinstall clue-kit (it is package data)") from None
    return {r["model"]: PublishedModel(r["model"], r["hf_id"], r["hf_id_status"], r["type"], r["base_model"], r["size"],
                                       tuple(a for a in r["aliases"].split(";") if a)) for r in rows}


def values() -> tuple[PublishedValue, ...]:
    """Zero-shot published values (none are bundled: the file is header-only)."""
    rows: tuple[_Row, ...] = _rows()
    return tuple(PublishedValue(r.model, r.task, r.metric, r.value, r.source, r.setting) for r in rows if r.setting == "zero-shot")


def table() -> dict[str, dict[str, dict[str, PublishedValue]]]:
    """{model: {task: {metric: value}}} — empty while no numbers are bundled."""
    out: dict[str, dict[str, dict[str, PublishedValue]]] = {}
    for v in values():
        out.setdefault(v.model, {}).setdefault(v.task, {})[v.metric] = v
    return out


def _norm(text: str) -> str:
    return text.strip().lower()


def match_model(model_id: str) -> PublishedModel | None:
    key = _norm(model_id)
    if not key:
        return None
    for m in models().values():
        if key in {_norm(m.hf_id), _norm(m.name), *map(_norm, m.aliases)} - {""}:
            return m
    return None


def find_model(name: str) -> PublishedModel:
    found = match_model(name)
    if found is None:
        raise ConfigError(f"no ClinicBench model named {name!r}", "use a name or HF id from `clue verify --list-models --benchmark clinicbench`")
    return found
