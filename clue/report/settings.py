"""Runs by the benchmark's groups, settings side by side: the view a many-dataset, zero/few-shot benchmark needs.

A run's *setting* is its `shots` (scores.json, else run.json; 0 = zero-shot). Built per benchmark (the report
has one section per benchmark). Runs of one model that
differ only in their setting (same model, protocol and scope) form one row; per group of the benchmark's
scoring rule (ClinicBench: its scenarios) a table shows each dataset's score per setting next to each
other, with the extraction failures of every cell (answers the extraction could not read: scored wrong,
never hidden). Charts are drawn per dataset (models × settings), not per run, so they stay few and
readable when runs are many. Shown when any run records `shots` or any task `extraction_failures`;
other reports (CLUE's) are unchanged.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from clue.report import charts
from clue.score_rule import ScoreRule


def shots_of(info: Mapping[str, Any]) -> int | None:
    for source in (info["scores"], info.get("record") or {}):
        v = source.get("shots")
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


def setting_label(shots: int | None) -> str:
    return "—" if shots is None else ("zero-shot" if shots == 0 else f"{shots}-shot")


def model_label(info: Mapping[str, Any]) -> str:
    """How a model's row is named in the charts: its model, with the run's scope (synthetic, subset) where it has one."""
    scope = info.get("scope_label") or ""
    return str(info["model"]) + (f" ({scope})" if scope else "")


def setting_colors(view: Mapping[str, Any]) -> dict[str, str]:
    """Each setting's colour (label → colour, in the settings' order), the same in every chart of the report."""
    return {label: charts.SETTING_COLORS[i % len(charts.SETTING_COLORS)] for i, (_, label) in enumerate(view["settings"])}


def applies(infos: Sequence[Mapping[str, Any]]) -> bool:
    return any(shots_of(i) is not None for i in infos) or any(
        "extraction_failures" in t for i in infos for t in i["scores"]["tasks"].values())


def _task_by_title(info: Mapping[str, Any], title: str) -> tuple[str, dict[str, Any]] | None:
    return next(((n, t) for n, t in info["scores"]["tasks"].items() if t.get("title", n) == title), None)


def _cell(info: Mapping[str, Any], title: str, task_metrics: Mapping[str, Sequence[str]]) -> dict[str, Any] | None:
    """The dataset's score for one run (task score, else its first listed/reported metric) and its counts."""
    entry = _task_by_title(info, title)
    if entry is None:
        return None
    _, task = entry
    ivs = info["intervals"]
    iv = ivs.task_scores.get(title)
    metric = "score"
    if iv is None:
        metrics = ivs.metrics.get(title, {})
        metric = next((m for m in task_metrics.get(title, ()) if m in metrics), next(iter(metrics), ""))
        iv = metrics.get(metric)
    return {"value": None if iv is None else iv.value, "low": None if iv is None else iv.low,
            "high": None if iv is None else iv.high, "metric": metric, "run": info["name"],
            "n": task.get("n"), "n_failed": task.get("n_failed") or 0, "extraction_failures": task.get("extraction_failures")}


def _rows(infos: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, protocol, scope): its runs keyed by setting (the first run wins a repeated setting)."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for info in infos:
        key = (str(info["model"]), str(info["protocol"]), str(info.get("scope_label") or ""))
        row = rows.setdefault(key, {"model": key[0], "protocol": key[1], "scope": key[2], "color": info["color"], "runs": {},
                                    "extra": []})
        shots = shots_of(info)
        if shots in row["runs"]:
            row["extra"].append(info["name"])  # a second run of the same setting: listed, not merged
        else:
            row["runs"][shots] = info
    return list(rows.values())


def build(infos: Sequence[dict[str, Any]], rule: ScoreRule, titles: Sequence[str], bench_text: Mapping[str, str],
          prefix: str = "") -> dict[str, Any] | None:
    """The grouped view of one benchmark's runs as plain data (None when it does not apply); `prefix` keeps its
    anchors apart from another benchmark's in the same report."""
    if not infos or not applies(infos):
        return None
    settings = sorted({shots_of(i) for i in infos}, key=lambda s: (s is None, s or 0))
    rows = _rows(infos)
    groups = [(g.id, g.title, [t for t in g.members if t in titles]) for g in rule.groups]
    grouped = {t for _, _, members in groups for t in members}
    rest = [t for t in titles if t not in grouped]
    if rest:
        groups.append(("other", "Other datasets" if groups else "Datasets", rest))
    out_groups = []
    for gid, gtitle, members in groups:
        if not members:
            continue
        table = []
        for row in rows:
            cells = {t: {s: (_cell(row["runs"][s], t, rule.task_metrics) if s in row["runs"] else None) for s in settings}
                     for t in members}
            avg = {s: (row["runs"][s]["intervals"].levels.get(gid) if s in row["runs"] else None) for s in settings}
            table.append({**{k: row[k] for k in ("model", "protocol", "scope", "color", "extra")}, "cells": cells, "avg": avg})
        failures = {t: sum((c or {}).get("extraction_failures") or 0 for r in table for c in r["cells"][t].values()) for t in members}
        out_groups.append({"id": gid, "title": gtitle, "anchor": prefix + "group-" + "".join(ch for ch in gid.lower() if ch.isalnum()),
                           "datasets": members, "rows": table,
                           "anchors": {t: prefix + "task-" + "".join(ch for ch in t.lower() if ch.isalnum()) for t in members},
                           "has_avg": gid in rule.group_titles, "failures": failures})
    return {"settings": [(s, setting_label(s)) for s in settings], "groups": out_groups, "rows": rows,
            "paired": sum(1 for r in rows if len(r["runs"]) > 1),
            "title": bench_text.get("groups_title") or "Groups",
            "has_extraction": any("extraction_failures" in t for i in infos for t in i["scores"]["tasks"].values())}


def chart(view: Mapping[str, Any], title: str, task_metrics: Mapping[str, Sequence[str]]) -> Any:
    """One chart per dataset: a bar per model and setting (95 % CI)."""
    series: dict[str, list[tuple[float | None, float | None, float | None]]] = {}
    models = []
    for row in view["rows"]:
        models.append(model_label({"model": row["model"], "scope_label": row["scope"]}))
        for s, label in view["settings"]:
            info = row["runs"].get(s)
            c = _cell(info, title, task_metrics) if info is not None else None
            series.setdefault(label, []).append((c["value"], c["low"], c["high"]) if c else (None, None, None))
    if not any(v[0] is not None for vals in series.values() for v in vals):
        return None
    return charts.setting_bars(title, models, series)
