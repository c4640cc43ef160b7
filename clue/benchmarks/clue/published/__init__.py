"""Published CLUE numbers as project data: loader, model name ↔ HF id mapping, source tags.

The CSV is package data (see README.md here for the source tags). Verdicts use the v3 website
numbers (`v3_site_354cc30`); the baseline's figure readings (`v3_figure_read_approx`) are shown
but marked approximate; the v2-era snapshot is kept for diffing and never used by default.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from clue.benchmarks.clue.published.rule import LEVELS, TASK_METRICS, level_score, partial_task_score, task_score
from clue.errors import ConfigError, DataError

HERE = Path(__file__).parent
CSV_PATH = HERE / "clue_published.csv"
MODELS_PATH = HERE / "models.csv"
CSV_SHA256 = "d4fce297ef7abbeffa74a10970bc324594fa5a518e217a5b15d9edda862f6ec8"
V3_SITE = "v3_site_354cc30"
V3_FIGURE = "v3_figure_read_approx"
V2_SITE = "v2era_site_e639a1e_has_copy_errors"
DEFAULT_SOURCES: tuple[str, ...] = (V3_SITE, V3_FIGURE)
APPROXIMATE_SOURCES = frozenset({V3_FIGURE})
SOURCE_NOTES = {
    V3_SITE: "CLUE v3 website data (matches the paper's v3 figure)",
    V3_FIGURE: "read from the v3 figure by pixel measurement (±0.02), approximate",
    V2_SITE: "May-2024 website snapshot (v2 era, known copy errors), for diffing only",
}


@dataclass(frozen=True)
class PublishedModel:
    name: str  # display name as published
    hf_id: str  # "" when unknown / ambiguous
    hf_id_status: str  # name_is_id | inferred | ambiguous | none
    type: str  # general | biomedical | baseline
    base_model: str
    size: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishedValue:
    model: str
    task: str  # paper title, or Level1 / Level2
    metric: str  # metric key, or "avg" for the Level averages
    value: float
    source: str

    @property
    def approximate(self) -> bool:
        return self.source in APPROXIMATE_SOURCES


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        raise DataError(f"published data file {path} is missing", "reinstall clue-kit (it is package data)") from None


@cache
def models() -> dict[str, PublishedModel]:
    """Every published model by display name, in the published order."""
    out = {}
    for r in _read_csv(MODELS_PATH):
        aliases = tuple(a for a in r["aliases"].split(";") if a)
        out[r["model"]] = PublishedModel(r["model"], r["hf_id"], r["hf_id_status"], r["type"], r["base_model"], r["size"], aliases)
    return out


@cache
def values(sources: tuple[str, ...] = DEFAULT_SOURCES) -> tuple[PublishedValue, ...]:
    """Published numbers with one of `sources`, in file order."""
    known = models()
    alias = {a: m.name for m in known.values() for a in m.aliases}
    out = []
    for r in _read_csv(CSV_PATH):
        if r["source"] not in sources:
            continue
        out.append(PublishedValue(alias.get(r["model"], r["model"]), r["task"], r["metric"], float(r["value"]), r["source"]))
    return tuple(out)


def table(sources: tuple[str, ...] = DEFAULT_SOURCES) -> dict[str, dict[str, dict[str, PublishedValue]]]:
    """{model: {task: {metric: PublishedValue}}} — Level averages under task Level1/Level2, metric avg."""
    out: dict[str, dict[str, dict[str, PublishedValue]]] = {}
    for v in values(sources):
        out.setdefault(v.model, {}).setdefault(v.task, {})[v.metric] = v
    return out


def _norm(text: str) -> str:
    return text.strip().lower()


def match_model(model_id: str) -> PublishedModel | None:
    """The published model a run's model id refers to (HF id, display name, alias, or the id's last part)."""
    key = _norm(model_id)
    if not key:
        return None
    ms = models().values()
    for m in ms:
        if key in {_norm(m.hf_id), _norm(m.name), *map(_norm, m.aliases)} - {""} and m.type != "baseline":
            return m
    tail = key.rsplit("/", 1)[-1]
    for m in ms:
        if m.type != "baseline" and tail in {_norm(m.name).rsplit("/", 1)[-1], _norm(m.hf_id).rsplit("/", 1)[-1]} - {""}:
            return m
    loose = re.sub(r"[\s_-]+", " ", tail)  # the kit's baseline engine reports "parameterless-baseline"
    for m in ms:
        if m.type == "baseline" and loose == re.sub(r"[\s_-]+", " ", _norm(m.name)):
            return m
    return None


def find_model(name: str) -> PublishedModel:
    """A published model named explicitly by the user (display name, HF id or alias; baseline included)."""
    key = _norm(name)
    for m in models().values():
        if key in {_norm(m.hf_id), _norm(m.name), *map(_norm, m.aliases)} - {""}:
            return m
    raise ConfigError(f"no published model named {name!r}", "use a display name or HF id from `clue verify --list-models`")


__all__ = ["ConfigError", "PublishedModel", "PublishedValue", "models", "values", "table", "match_model", "find_model",
           "TASK_METRICS", "LEVELS", "task_score", "partial_task_score", "level_score", "DEFAULT_SOURCES",
           "SOURCE_NOTES", "V3_SITE", "V3_FIGURE", "V2_SITE", "CSV_SHA256"]
