"""The report's "Clinician ratings" section, from the ratings `clue ratings import` stored beside each run.

Per export (one task, one rubric, the runs rated together):
* per run and axis, the mean rating with a 95 % bootstrap CI (clue.stats: items resampled; an item's value is
  the mean over its raters, so raters of one item are not counted as independent);
* paired comparisons of every two runs on the items both have (paired bootstrap of the mean difference);
* inter-rater agreement per axis over all rated outputs: Krippendorff's α (ordinal), Cohen's κ (unweighted and
  quadratic) when there are exactly two raters, and the share of exactly equal scores;
* Spearman's ρ of each automatic metric (per-sample scores in samples.jsonl) with the mean rating, over the rated
  outputs (Pearson's r of pandas' average ranks; no CI: outputs of one item are not independent, ρ is descriptive).
Raters' notes are never shown (they may quote the record).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from markupsafe import Markup

from clue.errors import ConfigError
from clue.ratings.agreement import cohen_kappa, exact_agreement, krippendorff_alpha
from clue.ratings.importer import STORE_FORMAT
from clue.ratings.rubric import from_dict

TEMPLATES = Path(__file__).parent / "templates"
MEAN_OF_AXES = "mean of axes"


def stored(run_dir: str | Path) -> list[dict[str, Any]]:
    """The ratings documents stored in one run directory (unreadable or foreign files are left out)."""
    out = []
    for path in sorted((Path(run_dir) / "ratings").glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not (isinstance(doc, dict) and doc.get("format") == STORE_FORMAT and isinstance(doc.get("ratings"), list)):
            continue
        try:
            from_dict(doc.get("rubric"), where=str(path))
        except ConfigError:
            continue  # a hand-edited file with a broken rubric: left out rather than failing the whole report
        out.append(doc)
    return out


def _item_means(doc: dict[str, Any], axes: Sequence[str]) -> dict[str, dict[str, float]]:
    """{axis: {sample_id: mean over raters}} (axes plus MEAN_OF_AXES = mean of a rater's axis scores, then over raters)."""
    acc: dict[str, dict[str, list[float]]] = {a: {} for a in [*axes, MEAN_OF_AXES]}
    for r in doc["ratings"]:
        scores = [float(r["scores"][a]) for a in axes if r["scores"].get(a) is not None]
        for a in axes:
            if r["scores"].get(a) is not None:
                acc[a].setdefault(r["sample_id"], []).append(float(r["scores"][a]))
        if len(scores) == len(axes):
            acc[MEAN_OF_AXES].setdefault(r["sample_id"], []).append(float(np.mean(scores)))
    return {a: {i: float(np.mean(v)) for i, v in d.items()} for a, d in acc.items()}


def _spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's ρ: Pearson's r of the average ranks (pandas ranks; Series.corr("spearman") would need scipy)."""
    import pandas as pd

    if len(x) < 3:
        return None
    rx, ry = pd.Series(list(x)).rank().to_numpy(), pd.Series(list(y)).rank().to_numpy()
    if np.std(rx) == 0 or np.std(ry) == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def _group_view(export: str, members: list[tuple[dict[str, Any], dict[str, Any]]], replicates: int, seed: int) -> dict[str, Any]:
    from clue.stats import mean_ci, paired_bootstrap

    doc0 = members[0][1]
    rubric = from_dict(doc0["rubric"], where=f"ratings {export}")
    axes = rubric.keys
    columns = [*axes, MEAN_OF_AXES]
    means = {run["name"]: _item_means(doc, axes) for run, doc in members}
    rows = []
    for run, doc in members:
        cells = {}
        for a in columns:
            ids = sorted(means[run["name"]][a])
            cells[a] = mean_ci([means[run["name"]][a][i] for i in ids], ids, replicates=replicates, seed=seed,
                               key=f"ratings:{export}:{run['name']}:{a}")
        rows.append({"run": run["name"], "cells": cells, "n_ratings": len(doc["ratings"])})
    pairs = []
    for (ra, _), (rb, _) in itertools.combinations(members, 2):
        results = []
        for a in columns:
            ma, mb = means[ra["name"]][a], means[rb["name"]][a]
            items = sorted(set(ma) & set(mb))
            if not items:
                continue
            diff, low, high, p = paired_bootstrap([ma[i] for i in items], [mb[i] for i in items], items, replicates=replicates,
                                                  seed=seed, key=f"ratings:{export}:{ra['name']}:{rb['name']}:{a}")
            results.append({"axis": a, "n": len(items), "mean_a": float(np.mean([ma[i] for i in items])),
                            "mean_b": float(np.mean([mb[i] for i in items])), "diff": diff, "low": low, "high": high, "p": p})
        pairs.append({"a": ra["name"], "b": rb["name"], "results": results})
    raters = sorted({r["rater"] for _, doc in members for r in doc["ratings"]})
    units = sorted({(run["name"], r["sample_id"]) for run, doc in members for r in doc["ratings"]})
    unit_at = {u: j for j, u in enumerate(units)}
    agreement = []
    for a in axes:
        matrix = np.full((len(raters), len(units)), np.nan)
        for run, doc in members:
            for r in doc["ratings"]:
                if r["scores"].get(a) is not None:
                    matrix[raters.index(r["rater"]), unit_at[(run["name"], r["sample_id"])]] = float(r["scores"][a])
        row: dict[str, Any] = {"axis": a, "alpha": krippendorff_alpha(matrix, rubric.values), "exact": exact_agreement(matrix),
                               "units": int(np.sum(np.sum(~np.isnan(matrix), axis=0) >= 2)), "kappa": None, "kappa_q": None}
        if len(raters) == 2:
            both = ~np.isnan(matrix).any(axis=0)
            x, y = [int(v) for v in matrix[0, both]], [int(v) for v in matrix[1, both]]
            row["kappa"] = cohen_kappa(x, y, rubric.values)
            row["kappa_q"] = cohen_kappa(x, y, rubric.values, weights="quadratic")
        agreement.append(row)
    metric_values: dict[str, dict[tuple[str, str], float]] = {}
    for run, doc in members:
        for s in run["samples"]:
            if s.get("task") == doc["task"] and s.get("status") == "ok":
                for m, v in (s.get("scores") or {}).items():
                    if isinstance(v, (int, float)):
                        metric_values.setdefault(m, {})[(run["name"], str(s.get("sample_id")))] = float(v)
    correlations = []
    for m, values in metric_values.items():
        rho_cells = {}
        for a in columns:
            pairs_xy = [(values[(rn, i)], v) for rn, per in means.items() for i, v in per[a].items() if (rn, i) in values]
            rho_cells[a] = {"rho": _spearman([p[0] for p in pairs_xy], [p[1] for p in pairs_xy]), "n": len(pairs_xy)}
        correlations.append({"metric": m, "cells": rho_cells})
    return {"export": export, "title": doc0.get("title"), "task": doc0.get("task"), "rubric": rubric, "columns": columns,
            "raters": raters, "items": len(doc0.get("items") or []), "credentialed": doc0.get("credentialed"),
            "rows": rows, "pairs": pairs, "agreement": agreement, "correlations": correlations,
            "missing_runs": [n for n in doc0.get("runs", []) if n not in {d.get("run") for _, d in members}],
            "mixed_imports": mixed_imports(members)}


def mixed_imports(members: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, str]:
    """{run name: its import} when the runs of one export hold ratings from different imports (an import cut short,
    or runs imported apart); {} when they agree. Files written before import ids fall back to their time stamp."""
    ids = {run["name"]: str(doc.get("import") or doc.get("imported") or "?") for run, doc in members}
    return ids if len(set(ids.values())) > 1 else {}


def ratings_view(runs: Sequence[dict[str, Any]], *, replicates: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    groups: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for run in runs:
        for doc in stored(run["dir"]):
            groups.setdefault(str(doc.get("export")), []).append((run, doc))
    return [_group_view(export, members, replicates, seed) for export, members in groups.items()]


def ratings_section(runs: Sequence[dict[str, Any]], *, replicates: int = 1000, seed: int = 0) -> Markup:
    """The rendered section (empty when no run has stored ratings)."""
    groups = ratings_view(runs, replicates=replicates, seed=seed)
    if not groups:
        return Markup("")
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(num=lambda v, d=2: "—" if v is None else f"{float(v):.{d}f}",
                       signed=lambda v: "—" if v is None else f"{float(v):+.2f}",
                       pvalue=lambda p: "<0.001" if p < 0.001 else f"{p:.3f}")
    return Markup(env.get_template("report_section.html.j2").render(groups=groups, replicates=replicates, seed=seed))
