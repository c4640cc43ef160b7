"""Published numbers of a benchmark, keyed by (model, task, metric, setting): one reader and one model matcher.

A benchmark ships two CSV files and builds its `Published` with `Published.from_csv(values_csv, models_csv, …)`:

* values: columns `model, task, metric, value, source`, optional `setting` (`zero-shot`, `k-shot` for
  few-shot, or `protocol` = each task at the shots its benchmark's protocol fixes; when absent or empty, the
  benchmark's `default_setting`) and any others (ignored); `task` is the paper's task title or the kit's
  task name, group averages are task = group id, metric `avg`;
* models: columns `model, hf_id, hf_id_status, type, base_model, size, aliases` (aliases `;`-separated; a
  value row naming an alias is folded into its model).

Matching a run's model id to a published model is one rule for every benchmark (`match_model`): its HF id,
display name or an alias (case-insensitive), then — where the benchmark allows it (`match_tail`) — the last
path part of either; models of type `baseline` match only the kit's baseline engine's name with `-`/`_`
read as spaces, never an HF id. A verdict is only ever taken against a value of the run's own setting.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping

from clue.errors import ConfigError, DataError

ZERO_SHOT = "zero-shot"
PROTOCOL = "protocol"  # each task at the shots its reference protocol fixes (CLUE: k = 0, 1 or 3 per task, its Q26)
REQUIRED_COLUMNS = ("model", "task", "metric", "value", "source")
MODEL_COLUMNS = ("model", "hf_id", "hf_id_status", "type", "base_model", "size", "aliases")


def setting_name(shots: int) -> str:
    """`zero-shot` for 0 shots, else `k-shot` — the key published values are stored under."""
    return ZERO_SHOT if shots == 0 else f"{shots}-shot"


def task_settings(shots: int, protocol_k: int | None) -> tuple[str, ...]:
    """The published settings a task run with `shots` exemplars matches, most specific first: its `k-shot`
    name, and `protocol` when `shots` is the k its benchmark's protocol fixes for the task."""
    return (setting_name(shots),) + ((PROTOCOL,) if protocol_k is not None and shots == protocol_k else ())


def task_values(model_table: Mapping[str, Mapping[str, PublishedValue]], title: str, name: str) -> Mapping[str, PublishedValue]:
    """A published model's {metric: value} for one task, keyed in the CSV by its title or by the kit's task name."""
    return model_table.get(title) or model_table.get(name) or {}


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
    task: str  # task title (or name), or a group id with metric "avg"
    metric: str
    value: float
    source: str
    setting: str = ZERO_SHOT
    approximate: bool = False


def _norm(text: str) -> str:
    return text.strip().lower()


def _loose(text: str) -> str:
    return re.sub(r"[\s_-]+", " ", _norm(text))


def _rows(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                raise DataError(f"published file {path} lacks column(s) {', '.join(missing)}",
                                f"give it the columns {', '.join(required)}")
            return list(reader)
    except FileNotFoundError:
        raise DataError(f"published data file {path} is missing", "reinstall clue-kit (it is package data)") from None


@dataclass(frozen=True)
class Published:
    """A benchmark's published models and values; `notes` maps a source tag to what it means (report footer)."""

    models: Mapping[str, PublishedModel]
    values: tuple[PublishedValue, ...]
    notes: Mapping[str, str] = field(default_factory=dict)
    match_tail: bool = False  # also match the last path part of an HF id / name (CLUE: names without an org)

    @classmethod
    def from_csv(cls, values_csv: Path, models_csv: Path, *, notes: Mapping[str, str] | None = None,
                 sources: Iterable[str] | None = None, approximate_sources: Iterable[str] = (),
                 match_tail: bool = False, default_setting: str = ZERO_SHOT) -> Published:
        """Read both files; `sources` keeps only values with one of these source tags (None: all);
        values with a source in `approximate_sources` are marked approximate; a row without a setting
        gets `default_setting` (CLUE: `protocol`)."""
        models: dict[str, PublishedModel] = {}
        for r in _rows(models_csv, MODEL_COLUMNS):
            models[r["model"]] = PublishedModel(r["model"], r["hf_id"], r["hf_id_status"], r["type"], r["base_model"],
                                                r["size"], tuple(a for a in r["aliases"].split(";") if a))
        alias = {a: m.name for m in models.values() for a in m.aliases}
        keep = None if sources is None else frozenset(sources)
        approx = frozenset(approximate_sources)
        values = []
        for n, r in enumerate(_rows(values_csv, REQUIRED_COLUMNS), 2):
            if keep is not None and r["source"] not in keep:
                continue
            try:
                value = float(r["value"])
            except ValueError:
                raise DataError(f"published file {values_csv}, line {n}: value {r['value']!r} is not a number", "fix the row") from None
            setting = (r.get("setting") or "").strip() or default_setting
            if setting not in (ZERO_SHOT, PROTOCOL) and not re.fullmatch(r"[1-9]\d*-shot", setting):
                raise DataError(f"published file {values_csv}, line {n}: setting {setting!r}", "use zero-shot or k-shot (e.g. 3-shot)")
            values.append(PublishedValue(alias.get(r["model"], r["model"]), r["task"], r["metric"], value, r["source"],
                                         setting, r["source"] in approx))
        return cls(models, tuple(values), dict(notes or {}), match_tail)

    def select(self, sources: Iterable[str]) -> Published:
        """The same models with only the values of these source tags."""
        keep = frozenset(sources)
        return replace(self, values=tuple(v for v in self.values if v.source in keep))

    def settings(self) -> tuple[str, ...]:
        """The settings that have values, zero-shot first."""
        found = {v.setting for v in self.values}
        return tuple(sorted(found, key=lambda s: (s != PROTOCOL, s != ZERO_SHOT, int(s.split("-")[0]) if s[0].isdigit() else 0)))

    def table(self, setting: str = ZERO_SHOT) -> dict[str, dict[str, dict[str, PublishedValue]]]:
        """{model: {task: {metric: value}}} of one setting (group averages: task = group id, metric avg)."""
        out: dict[str, dict[str, dict[str, PublishedValue]]] = {}
        for v in self.values:
            if v.setting == setting:
                out.setdefault(v.model, {}).setdefault(v.task, {})[v.metric] = v
        return out

    def _named(self, key: str, *, baseline: bool) -> PublishedModel | None:
        for m in self.models.values():
            if (baseline or m.type != "baseline") and key in {_norm(m.hf_id), _norm(m.name), *map(_norm, m.aliases)} - {""}:
                return m
        return None

    def match_model(self, model_id: str) -> PublishedModel | None:
        """The published model a run's model id refers to (see the module docstring), or None."""
        key = _norm(model_id)
        if not key:
            return None
        found = self._named(key, baseline=False)
        if found is not None:
            return found
        tail = key.rsplit("/", 1)[-1]
        if self.match_tail:
            for m in self.models.values():
                if m.type != "baseline" and tail in {_norm(m.name).rsplit("/", 1)[-1], _norm(m.hf_id).rsplit("/", 1)[-1]} - {""}:
                    return m
        return next((m for m in self.models.values() if m.type == "baseline" and _loose(tail) == _loose(m.name)), None)

    def find_model(self, name: str) -> PublishedModel:
        """A published model the user names (display name, HF id or alias; baselines included)."""
        found = self._named(_norm(name), baseline=True)
        if found is None:
            raise ConfigError(f"no published model named {name!r}",
                              "use a display name or HF id from `clue verify --list-models` (with --benchmark NAME)")
        return found
