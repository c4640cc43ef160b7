"""Charts for the report: matplotlib (Agg) → inline SVG strings, deterministic and self-contained.

Text stays text (`svg.fonttype = none`, escaped by matplotlib's SVG writer), which keeps files
small; every chart gets its own hash salt so element ids never collide inside one HTML page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup

PALETTE = ("#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9333ea", "#ea580c")
TYPE_STYLE = {"general": ("#64748b", "o"), "biomedical": ("#0d9488", "s"), "baseline": ("#111827", "X")}


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float
    kind: str  # general | biomedical | baseline | run
    x_err: tuple[float, float] | None = None  # (low, high) absolute
    y_err: tuple[float, float] | None = None
    partial: bool = False


@dataclass(frozen=True)
class Bar:
    run: str
    values: dict[str, tuple[float | None, float | None, float | None]]  # metric -> (value, low, high)
    published: dict[str, float]  # metric -> published value of the matched model


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _svg(fig, salt: str) -> Markup:
    plt = _plt()
    plt.rcParams["svg.hashsalt"] = f"clue-kit-{salt}"
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    return Markup(svg[svg.index("<svg"):])  # our own SVG: drop the XML prolog and DOCTYPE


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def scatter(points: Sequence[Point], run_colors: dict[str, str], x_label: str = "", y_label: str = "") -> Markup:
    """Two group averages against each other (CLUE: the paper's Level 1 vs Level 2 figure); published
    models by type, runs highlighted."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10.0, 6.2))
    seen: set[str] = set()
    for p in points:
        if p.kind == "run":
            continue
        c, marker = TYPE_STYLE.get(p.kind, ("#64748b", "o"))
        label = f"published: {p.kind}" if p.kind not in seen else None
        seen.add(p.kind)
        ax.scatter([p.x], [p.y], s=26, c=c, marker=marker, alpha=0.75, label=label, zorder=2)
        ax.annotate(p.label, (p.x, p.y), xytext=(3, 2), textcoords="offset points", fontsize=6, color="#475569")
    n_runs = sum(1 for p in points if p.kind == "run")
    for p in points:
        if p.kind != "run":
            continue
        c = run_colors.get(p.label, "#dc2626")
        xerr = [[p.x - p.x_err[0]], [p.x_err[1] - p.x]] if p.x_err else None
        yerr = [[p.y - p.y_err[0]], [p.y_err[1] - p.y]] if p.y_err else None
        ax.errorbar([p.x], [p.y], xerr=xerr, yerr=yerr, fmt="none", ecolor=c, elinewidth=1 if n_runs <= 6 else 0.6,
                    capsize=2, alpha=1.0 if n_runs <= 6 else 0.45, zorder=3)
        ax.scatter([p.x], [p.y], s=140, marker="*", c="white" if p.partial else c, edgecolors=c, linewidths=1.2, zorder=4,
                   label=f"{p.label}{' (partial)' if p.partial else ''}")
        ax.annotate(p.label, (p.x, p.y), xytext=(5, -9), textcoords="offset points", fontsize=7.5, color=c, fontweight="bold")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(True, color="#e5e7eb", linewidth=0.6, zorder=0)
    handles, labels = ax.get_legend_handles_labels()
    if len(labels) > 12:  # many runs: keep the legend to the published types
        keep = [i for i, lbl in enumerate(labels) if lbl.startswith("published")]
        handles, labels = [handles[i] for i in keep], [labels[i] for i in keep]
    ax.legend(handles, labels, fontsize=7, frameon=False, loc="best")
    fig.tight_layout()
    return _svg(fig, "scatter")


def task_bars(title: str, metrics: Sequence[str], bars: Sequence[Bar], run_colors: dict[str, str]) -> Markup:
    """Grouped bars: one group per metric, one bar per run with its 95 % CI; ◆ = published value."""
    if not bars or not metrics:
        return Markup("")
    plt = _plt()
    n = len(bars)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(min(13.0, max(5.0, 0.9 + len(metrics) * (0.5 + 0.22 * n))), 3.4))
    for i, bar in enumerate(bars):
        xs, ys, lo, hi, pub_x, pub_y = [], [], [], [], [], []
        for j, m in enumerate(metrics):
            value, low, high = bar.values.get(m, (None, None, None))
            x = j - 0.4 + width * (i + 0.5)
            if value is not None:
                xs.append(x)
                ys.append(value)
                lo.append(value - low if low is not None else 0.0)
                hi.append(high - value if high is not None else 0.0)
            if m in bar.published:
                pub_x.append(x)
                pub_y.append(bar.published[m])
        c = run_colors.get(bar.run, color(i))
        ax.bar(xs, ys, width * 0.92, color=c, alpha=0.85, label=bar.run, zorder=2)
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="#111827", elinewidth=0.8, capsize=2, zorder=3)
        if pub_x:
            ax.scatter(pub_x, pub_y, marker="D", s=22, c="white", edgecolors="#111827", linewidths=1.0, zorder=4,
                       label="published (matched model)" if i == 0 or "published (matched model)" not in ax.get_legend_handles_labels()[1] else None)
    ax.set_xticks(range(len(metrics)), list(metrics))
    ax.set_ylabel("percent")
    ax.set_ylim(0, 105)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(True, axis="y", color="#e5e7eb", linewidth=0.6, zorder=0)
    if n <= 12:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return _svg(fig, f"bars-{title}")
