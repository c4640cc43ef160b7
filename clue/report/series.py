"""The report's "changed since" view of `clue watch` series: every task score and group average run after run.

A series is a folder holding `series.json` (written by clue/watch.py) and its runs `run-NNN`; it is shown when the
report is given two or more of its runs. Values and 95 % CIs are the report's own (clue.stats.run_intervals, as in
the leaderboard); which run changed, and against what, is read from `series.json` (`clue compare`'s verdicts, made
when the run was watched) — nothing is re-judged here. The chart has one panel per task score and group average,
the runs in order along x, a red marker on a run judged `different` from the previous one: the step. Above it, one
sentence on the series' subset (run.json `subset`: clue/watch_subset.py's design and per-task sizes, flagged when the
runs shown were not all made on one subset); below it, per run, one line per comparison that found something.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from markupsafe import Markup

from clue.report.charts import _percent, _plt, _svg

if TYPE_CHECKING:
    from clue.stats import Interval

RUN_DIR = re.compile(r"^run-(\d{3,})$")  # a series' run folders (clue watch names them)
PANELS_PER_ROW = 3


def _series_of(info: dict[str, Any]) -> Path | None:
    folder = Path(str(info.get("dir", "")))
    return folder.parent if RUN_DIR.match(folder.name) and (folder.parent / "series.json").is_file() else None


def _history(series: Path) -> dict[str, dict[str, Any]]:
    try:
        entries = json.loads((series / "series.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(e.get("run")): e for e in entries if isinstance(e, dict)} if isinstance(entries, list) else {}


def subset_line(subset: Any) -> str | None:
    """One sentence on a run's watch subset (run.json `subset`, clue/watch_subset.py), or None for a run without one."""
    if not isinstance(subset, dict) or not isinstance(subset.get("design"), dict):
        return None
    d, parts = subset["design"], []
    for name, t in (subset.get("tasks") or {}).items():
        strata = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in (t.get("strata") or {}).items())
        short = f"; {t['n_needed']} needed: power {t['power']:.2f}" if t["n"] < t["n_needed"] else ""
        parts.append(f"{t.get('title', name)} {t['n']} of {t['n_available']} items" + (f" ({strata}{short})" if strata or short else ""))
    return (f"{'; '.join(parts)} — sized to detect {d['detect']:g} points with power {d['power']:g} at α {d['alpha']:g} "
            f"(paired proportions, Connor 1987; {d['discordance']:g} % of items assumed to change), stratified by gold label, "
            f"subset seed {d['seed']}; item ids sha256 {str(subset.get('ids_sha256'))[:12]}.")


def what_changed(entry: dict[str, Any]) -> list[str]:
    """One line per comparison that found something: `vs previous (run-002): MedNLI -10.32 points [-15.48, -5.81];
    system_fingerprint: 3.3.7-native → 3.4.0-native` (settings old → new; the endpoint, always different, left out)."""
    lines = []
    for c in entry.get("comparisons") or []:
        parts = list(c.get("changes") or []) + [f"{d['field']}: {d['b']} → {d['a']}" for d in c.get("differs") or [] if d.get("field") != "endpoint"]
        if parts:
            lines.append(f"vs {c.get('against')} ({c.get('run')}): {'; '.join(parts)}")
    return lines


def chart(names: Sequence[str], panels: dict[str, list[Interval | None]], changed: Sequence[bool], salt: str) -> Markup:
    """Small multiples: per panel, each run's value with its 95 % CI; runs judged changed are marked red."""
    panels = {t: v for t, v in panels.items() if any(iv is not None and iv.value is not None for iv in v)}
    if not panels or len(names) < 2:
        return Markup("")
    plt = _plt()
    cols = min(PANELS_PER_ROW, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.4 * rows), squeeze=False)
    xs = list(range(len(names)))
    short = [RUN_DIR.match(n).group(1) if RUN_DIR.match(n) else n for n in names]  # type: ignore[union-attr]
    for ax, (title, ivs) in zip(axes.flat, panels.items()):
        pts = [(x, iv) for x, iv in zip(xs, ivs) if iv is not None and iv.value is not None]
        px = [x for x, _ in pts]
        py = [float(iv.value) for _, iv in pts]  # type: ignore[arg-type]
        lo = [max(0.0, float(iv.value) - iv.low) if iv.low is not None else 0.0 for _, iv in pts]  # type: ignore[arg-type]
        hi = [max(0.0, iv.high - float(iv.value)) if iv.high is not None else 0.0 for _, iv in pts]  # type: ignore[arg-type]
        ax.plot(px, py, color="#94a3b8", lw=1.0, zorder=1, clip_on=False)  # a value at 100 % is drawn whole, not cut
        ax.errorbar(px, py, yerr=[lo, hi], fmt="o", color="#2563eb", ecolor="#2563eb", ms=4, capsize=2, zorder=2, clip_on=False)
        bad = [(x, y) for x, y in zip(px, py) if changed[x]]
        if bad:
            ax.scatter([x for x, _ in bad], [y for _, y in bad], s=60, facecolors="none", edgecolors="#dc2626", linewidths=1.6,
                       zorder=3, label="changed since the previous run", clip_on=False)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xticks(xs, short)
        ax.set_xlim(-0.5, len(xs) - 0.5)
        bounds = [v for iv in ivs if iv is not None for v in (iv.low, iv.high, iv.value) if v is not None]
        low, high = min(bounds), max(bounds)
        pad = max(2.0, (high - low) * 0.15)
        ax.set_ylim(max(0.0, low - pad), min(100.0, high + pad) if high + pad > max(0.0, low - pad) else 100.0)
        _percent(ax.yaxis)
        ax.grid(True, axis="y", color="#e5e7eb", linewidth=0.6, zorder=0)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles, labels = next(((h, lab) for h, lab in (a.get_legend_handles_labels() for a in axes.flat) if h), ([], []))
    if handles:
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
    fig.supxlabel("run of the series", fontsize=8)
    fig.tight_layout()
    return _svg(fig, f"series-{salt}")


def series_view(infos: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per watch series with ≥ 2 of its runs in the report: runs, their judged changes, the chart."""
    by_series: dict[Path, list[dict[str, Any]]] = {}
    for info in infos:
        series = _series_of(info)
        if series is not None:
            by_series.setdefault(series, []).append(info)
    out: list[dict[str, Any]] = []
    for series, runs in by_series.items():
        if len(runs) < 2:
            continue
        runs = sorted(runs, key=lambda i: int(RUN_DIR.match(Path(i["dir"]).name).group(1)))  # type: ignore[union-attr]
        history = _history(series)
        names = [Path(i["dir"]).name for i in runs]
        entries = [history.get(n, {}) for n in names]
        vs_previous = [next((c for c in e.get("comparisons", []) if c.get("against") == "previous"), None) for e in entries]
        changed = [bool(c and c.get("outcome") == "different") for c in vs_previous]
        rule = runs[0]["rule"]
        titles = [t for t in rule.task_order if any(t in i["intervals"].task_scores for i in runs)]
        titles += [t for i in runs for t in i["intervals"].task_scores if t not in titles]
        panels: dict[str, list[Interval | None]] = {t: [i["intervals"].task_scores.get(t) for i in runs] for t in titles}
        for g in rule.groups:
            panels[f"{g.title} (average)"] = [i["intervals"].levels.get(g.id) for i in runs]
        subsets = {json.dumps(i["record"].get("subset"), sort_keys=True) for i in runs}
        out.append({"folder": str(series), "subset": subset_line(runs[0]["record"].get("subset")), "subset_mixed": len(subsets) > 1,
                    "runs": [{"name": n, "entry": e, "changed": ch, "fingerprints": e.get("fingerprints"), "what": what_changed(e)}
                             for n, e, ch in zip(names, entries, changed)],
                    "chart": chart(names, panels, changed, f"{len(out)}")})
    return out
