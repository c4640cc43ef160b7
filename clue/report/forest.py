"""The report's equivalence view of two runs of one benchmark: `clue compare`'s verdicts and a forest plot.

`equivalence_view` judges a pair with clue/compare.py (nothing is re-judged here) and draws one row per
task score and group average: the paired difference A − B with its 95 % CI (coloured by verdict), the
equivalence band ± M shaded, 0 marked. The axis is in percentage points ("+5 pp"), symmetric around 0 and
always wide enough to show the band; labels are the task titles and group names, never clipped (the SVG
is cut to what was drawn, like clue/report/charts.py).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from markupsafe import Markup

from clue.benchmark import Benchmark
from clue.compare import Row, compare, rule_text
from clue.report.charts import _layout, _plt, _svg

OUTCOME_COLORS = {"equivalent": "#059669", "different": "#dc2626", "inconclusive": "#64748b"}


def forest(rows: Sequence[Row], margin: float, labels: Sequence[str], salt: str = "") -> Markup:
    """Horizontal forest plot of `rows` (A − B, 95 % CI; `labels` one per row) with the band ± `margin`; empty
    when nothing has a CI."""
    kept = [(r, name) for r, name in zip(rows, labels) if r.low is not None and r.high is not None]
    if not kept:
        return Markup("")
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    plt = _plt()
    rows, names = [r for r, _ in kept], [name for _, name in kept]
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.34 * len(rows)))
    ys = list(range(len(rows)))[::-1]  # first row on top
    ax.axvspan(-margin, margin, color="#d1fae5", alpha=0.7, zorder=0, lw=0)
    ax.axvline(0, color="#111827", lw=0.8, zorder=1)
    for y, r in zip(ys, rows):
        c = OUTCOME_COLORS.get(r.outcome, "#64748b")
        ax.errorbar([r.diff], [y], xerr=[[max(0.0, r.diff - r.low)], [max(0.0, r.high - r.diff)]],  # type: ignore[operator]
                    fmt="D" if r.level == "group" else "o", color=c, ecolor=c, elinewidth=1.6, capsize=3, ms=5, zorder=3)
    reach = max([margin * 1.25, 1.0] + [abs(v) * 1.08 for r in rows for v in (r.low, r.high) if v is not None])
    ax.set_xlim(-reach, reach)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:+g} pp".replace("-", "−") if round(v, 6) else "0"))
    ax.set_yticks(ys, names)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"A − B, percentage points (95 % CI); band = equivalence margin ± {margin:g}")
    ax.grid(True, axis="x", color="#e5e7eb", linewidth=0.6, zorder=0)
    handles = [Patch(color=col, label=o) for o, col in OUTCOME_COLORS.items() if any(r.outcome == o for r in rows)]
    handles.append(Patch(color="#d1fae5", label=f"± {margin:g} pp"))
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _layout(fig, ax, (2.2, 1.3, 0.55, 0.1))  # fixed margins, cut to what was drawn (no tight_layout pass)
    return _svg(fig, f"forest-{salt}")


def equivalence_view(bench: Benchmark | None, run_a: Mapping[str, Any], run_b: Mapping[str, Any], *, margin: float,
                     replicates: int, seed: int, salt: str = "") -> dict[str, Any]:
    """{"outcome", "margin", "rows" (task scores and groups), "chart", "rule", "differs"} of one pair of runs."""
    result = compare(bench, run_a, run_b, margin=margin, replicates=replicates, seed=seed)
    rows = [r for r in result.rows if r.decides] or list(result.rows)
    groups = bench.score_rule.group_titles if bench is not None else {}
    one_metric = {r.task for r in rows if r.level == "task" and sum(1 for x in rows if x.task == r.task) == 1}

    def label(r: Row) -> str:
        if r.level == "group":
            return f"{groups.get(r.task, r.task)} (average)"
        return r.task if r.metric == "score" or r.task in one_metric else f"{r.task} · {r.metric}"

    labels = [label(r) for r in rows]
    return {"outcome": result.outcome if result.rows else None, "margin": margin, "rows": list(zip(rows, labels)),
            "differs": result.differs, "chart": forest(rows, margin, labels, salt), "rule": rule_text(margin, replicates)}
