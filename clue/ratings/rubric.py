"""A rating rubric as data: the axes raters score and the ordinal scale they score on.

Bundled rubrics live in clue/ratings/rubrics/<name>.yaml (`generic`, the default, and `clinicbench`);
`--rubric` takes a bundled name or a YAML file of the same shape:

    name: my-rubric            # a short id
    title: ...                 # shown on the sheets and in the report
    source: ...                # optional: where the axes/scale come from
    scale: {min: 1, max: 4, labels: {1: poor, 4: excellent}}   # integer scale; labels optional
    axes: [{key: faithfulness, label: Faithfulness, help: ...}, ...]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from clue.errors import ConfigError

RUBRICS = Path(__file__).parent / "rubrics"
DEFAULT = "generic"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Axis:
    key: str
    label: str
    help: str = ""


@dataclass(frozen=True)
class Rubric:
    name: str
    title: str
    axes: tuple[Axis, ...]
    low: int
    high: int
    labels: Mapping[int, str]
    source: str = ""

    @property
    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1))

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.axes]

    def label_of(self, value: int) -> str:
        return self.labels.get(value, "")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "source": self.source,
                "scale": {"min": self.low, "max": self.high, "labels": {int(k): v for k, v in self.labels.items()}},
                "axes": [{"key": a.key, "label": a.label, "help": a.help} for a in self.axes]}


def from_dict(data: Any, where: str = "rubric") -> Rubric:
    """Validate a rubric mapping (as read from YAML or a key file); one clear error on the first problem."""
    fix = "see clue/ratings/rubrics/generic.yaml for the shape (name, title, scale {min, max, labels}, axes [{key, label, help}])"
    if not isinstance(data, dict):
        raise ConfigError(f"{where} is not a mapping", fix)
    scale = data.get("scale")
    if not isinstance(scale, dict) or not all(isinstance(scale.get(k), int) and not isinstance(scale.get(k), bool)
                                              for k in ("min", "max")):
        raise ConfigError(f"{where}: scale needs integer min and max", fix)
    low, high = int(scale["min"]), int(scale["max"])
    if high <= low or high - low > 20:
        raise ConfigError(f"{where}: scale {low}..{high} must have 2 to 21 points", fix)
    raw_labels = scale.get("labels") or {}
    if not isinstance(raw_labels, dict):
        raise ConfigError(f"{where}: scale.labels must map scores to words", fix)
    labels: dict[int, str] = {}
    for k, v in raw_labels.items():
        try:
            score = int(k)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: scale label key {k!r} is not a score", fix) from None
        if not low <= score <= high:
            raise ConfigError(f"{where}: scale label {score} lies outside {low}..{high}", fix)
        labels[score] = str(v)
    axes_raw = data.get("axes")
    if not isinstance(axes_raw, list) or not axes_raw:
        raise ConfigError(f"{where}: axes must be a non-empty list", fix)
    axes: list[Axis] = []
    for i, a in enumerate(axes_raw):
        if not isinstance(a, dict) or not isinstance(a.get("key"), str) or not _KEY.match(a["key"]):
            raise ConfigError(f"{where}: axis {i + 1} needs a key of lower-case letters, digits and _ (e.g. faithfulness)", fix)
        if a["key"] in {x.key for x in axes}:
            raise ConfigError(f"{where}: axis key {a['key']!r} appears twice", fix)
        axes.append(Axis(a["key"], str(a.get("label") or a["key"]), str(a.get("help") or "")))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: name is missing", fix)
    return Rubric(name=name.strip(), title=str(data.get("title") or name), axes=tuple(axes), low=low, high=high,
                  labels=labels, source=str(data.get("source") or ""))


def bundled() -> list[str]:
    return sorted(p.stem for p in RUBRICS.glob("*.yaml"))


def load_rubric(spec: str | Path | None = None) -> Rubric:
    """A bundled rubric by name (default `generic`) or a rubric YAML file."""
    spec = str(spec) if spec is not None else DEFAULT
    path = RUBRICS / f"{spec}.yaml" if spec in bundled() else Path(spec)
    if not path.is_file():
        raise ConfigError(f"rubric {spec!r} is neither a bundled rubric nor a file",
                          f"use one of {', '.join(bundled())} or a YAML file path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"rubric file {path} is not valid YAML ({str(exc).splitlines()[0]})", "fix the file") from None
    return from_dict(data, where=f"rubric {path}")
