"""Charts for the report: matplotlib (Agg) → inline SVG strings, deterministic and self-contained.

Text stays text (`svg.fonttype = none`, escaped by matplotlib's SVG writer), which keeps files
small; every chart gets its own hash salt so element ids never collide inside one HTML page.
Scores are percent (0–100): value axes say so on their ticks ("40%") and never leave 0–100.
Axis labels longer than their axis are wrapped to it, and the SVG is cut to what was drawn
(`bbox_inches="tight"`), so no label is clipped. Each chart is drawn once per data it shows: a re-report takes
unchanged ones from those kept beside it (clue/report/chart_cache.py). A chart with nothing to plot is no chart: the
functions return an empty string and the report says why in a sentence instead.
Point labels of the scatter are placed by adjustText (no overlaps, leader lines where moved);
error bars are clipped at zero (a bootstrap bound can miss the point estimate by rounding).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup

from clue.report.chart_cache import kept

PALETTE = ("#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9333ea", "#ea580c")
MIN_SPAN = 10.0  # percent points: the least a scatter axis shows (one point alone is not zoomed to ±0.05)
SHORT_LABELS_UP_TO = 3  # runs labelled by name at their star; more are numbered (names in the legend)
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
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight", pad_inches=0.06)
    plt.close(fig)
    svg = buf.getvalue()
    return Markup(svg[svg.index("<svg"):])  # our own SVG: drop the XML prolog and DOCTYPE


def _err(value: float, bounds: tuple[float, float] | None) -> list[list[float]] | None:
    if bounds is None:
        return None
    return [[max(0.0, value - bounds[0])], [max(0.0, bounds[1] - value)]]


def _place_labels(ax, texts: list, xs: list[float], ys: list[float]) -> None:
    """Move labels off each other and off the points (adjustText), with a thin leader line where moved."""
    if not texts:
        return
    from adjustText import adjust_text

    adjust_text(texts, x=xs, y=ys, ax=ax, expand=(1.2, 1.6), force_text=(0.3, 0.6), force_static=(0.2, 0.4),
                ensure_inside_axes=True, iter_lim=500, arrowprops={"arrowstyle": "-", "color": "#94a3b8", "lw": 0.5})


def _percent(axis) -> None:
    """Tick labels in percent ("40%", "27.5%"): the scores are percent (0–100), not fractions."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{round(v, 6):g}%"))


def _percent_limits(values: Sequence[float]) -> tuple[float, float]:
    """An axis range around `values` (points and their CI bounds) inside 0–100, at least MIN_SPAN wide."""
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.06, (MIN_SPAN - (hi - lo)) / 2, 0.0)
    lo, hi = lo - pad, hi + pad
    if lo < 0:
        lo, hi = 0.0, min(100.0, hi - lo)
    if hi > 100:
        lo, hi = max(0.0, lo - (hi - 100)), 100.0
    return lo, hi


def _fit_labels(fig, ax) -> bool:
    """Wrap each axis label onto lines no longer than its axis (a label longer than its axis is cut at both ends
    once the SVG is scaled into the page); measured with the renderer, not guessed from character counts. Whether
    a label was wrapped."""
    renderer = fig.canvas.get_renderer()
    wrapped = False
    for label, along in ((ax.xaxis.label, "width"), (ax.yaxis.label, "height")):
        text = label.get_text().replace("\n", " ")
        if not text:
            continue
        room = getattr(ax.get_window_extent(renderer), along) * 0.98
        width = len(text)
        label.set_text(text)
        while getattr(label.get_window_extent(renderer), along) > room and width > 12:
            width = min(width - 1, int(width * room / getattr(label.get_window_extent(renderer), along)))
            label.set_text(textwrap.fill(text, max(12, width), break_on_hyphens=False))
            wrapped = True
    return wrapped


def _layout(fig, ax) -> None:
    fig.tight_layout()
    if _fit_labels(fig, ax):  # laid out again only where a label changed (each pass draws the whole figure)
        fig.tight_layout()


def _mark_flat(ax, xs: Sequence[float], ys: Sequence[float]) -> None:
    """A bar too low to see (under 1 point) gets its value written on the axis: 0 is a result, not a gap."""
    for x, y in zip(xs, ys):
        if y < 1.0:
            ax.text(x, 1.0, f"{y:.1f}", ha="center", va="bottom", fontsize=7, color="#475467", zorder=4)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


@kept
def scatter(points: Sequence[Point], run_colors: dict[str, str], x_label: str = "", y_label: str = "") -> Markup:
    """Two group averages against each other (CLUE: the paper's Level 1 vs Level 2 figure); published
    models by type, runs highlighted. Nothing to plot: an empty string (the report says so in a sentence)."""
    if not points:
        return Markup("")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10.0, 6.2))
    seen: set[str] = set()
    texts, xs, ys = [], [], []
    for p in points:
        if p.kind == "run":
            continue
        c, marker = TYPE_STYLE.get(p.kind, ("#64748b", "o"))
        label = f"published: {p.kind}" if p.kind not in seen else None
        seen.add(p.kind)
        ax.scatter([p.x], [p.y], s=26, c=c, marker=marker, alpha=0.75, label=label, zorder=2)
        texts.append(ax.text(p.x, p.y, p.label, fontsize=6, color="#475569"))
        xs.append(p.x)
        ys.append(p.y)
    n_runs = sum(1 for p in points if p.kind == "run")
    numbered = n_runs > SHORT_LABELS_UP_TO  # many runs: a number at the star, the name in the legend
    k = 0
    for p in points:
        if p.kind != "run":
            continue
        k += 1
        c = run_colors.get(p.label, "#dc2626")
        ax.errorbar([p.x], [p.y], xerr=_err(p.x, p.x_err), yerr=_err(p.y, p.y_err), fmt="none", ecolor=c,
                    elinewidth=1 if n_runs <= 6 else 0.6, capsize=2, alpha=1.0 if n_runs <= 6 else 0.45, zorder=3)
        ax.scatter([p.x], [p.y], s=140, marker="*", c="white" if p.partial else c, edgecolors=c, linewidths=1.2,
                   zorder=4, label=f"{f'{k} ' if numbered else ''}{p.label}{' (partial)' if p.partial else ''}")
        texts.append(ax.text(p.x, p.y, str(k) if numbered else p.label, fontsize=8 if numbered else 7.5, color=c, fontweight="bold"))
        xs.append(p.x)
        ys.append(p.y)
    ax.set_xlim(*_percent_limits([v for p in points for v in (p.x, *(p.x_err or ()))]))
    ax.set_ylim(*_percent_limits([v for p in points for v in (p.y, *(p.y_err or ()))]))
    _percent(ax.xaxis)
    _percent(ax.yaxis)
    _place_labels(ax, texts, xs, ys)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(True, color="#e5e7eb", linewidth=0.6, zorder=0)
    handles, labels = ax.get_legend_handles_labels()
    if len(labels) > 30:  # very many runs: keep the legend to the published types
        keep = [i for i, lbl in enumerate(labels) if lbl.startswith("published")]
        handles, labels = [handles[i] for i in keep], [labels[i] for i in keep]
    ax.legend(handles, labels, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _layout(fig, ax)
    return _svg(fig, "scatter")


@kept
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
                lo.append(max(0.0, value - low) if low is not None else 0.0)
                hi.append(max(0.0, high - value) if high is not None else 0.0)
            if m in bar.published:
                pub_x.append(x)
                pub_y.append(bar.published[m])
        c = run_colors.get(bar.run, color(i))
        ax.bar(xs, ys, width * 0.92, color=c, alpha=0.85, label=bar.run, zorder=2)
        _mark_flat(ax, xs, ys)
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="#111827", elinewidth=0.8, capsize=2, zorder=3)
        if pub_x:
            ax.scatter(pub_x, pub_y, marker="D", s=22, c="white", edgecolors="#111827", linewidths=1.0, zorder=4,
                       label="published (matched model)" if i == 0 or "published (matched model)" not in ax.get_legend_handles_labels()[1] else None)
    ax.set_xticks(range(len(metrics)), list(metrics))
    group_in = fig.get_figwidth() * 0.75 / max(1, len(metrics))  # inches per metric group (legend aside)
    if max(len(m) for m in metrics) * 0.075 > group_in:  # ~0.075 in per 9 pt character: the names would collide
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set_ylim(0, 105)
    ax.set_yticks(range(0, 101, 20))
    _percent(ax.yaxis)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(True, axis="y", color="#e5e7eb", linewidth=0.6, zorder=0)
    if n <= 12:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _layout(fig, ax)
    return _svg(fig, f"bars-{title}")


SETTING_COLORS = ("#94a3b8", "#2563eb", "#d97706", "#059669")  # zero-shot grey, then the few-shot settings


@kept
def setting_bars(title: str, models: Sequence[str], series: dict[str, list[tuple[float | None, float | None, float | None]]]) -> Markup:
    """One dataset: a group of bars per model, one bar per setting (zero-shot, k-shot …) with its 95 % CI.
    Many runs make one chart per dataset (not one per run), its width growing with the models. No value: no chart."""
    if not any(v[0] is not None for values in series.values() for v in values):
        return Markup("")
    plt = _plt()
    n = max(1, len(series))
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(min(16.0, max(5.0, 1.2 + len(models) * (0.25 + 0.16 * n))), 3.6))
    for i, (label, values) in enumerate(series.items()):
        xs, ys, lo, hi = [], [], [], []
        for j, (value, low, high) in enumerate(values):
            if value is None:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            ys.append(value)
            lo.append(max(0.0, value - low) if low is not None else 0.0)
            hi.append(max(0.0, high - value) if high is not None else 0.0)
        c = SETTING_COLORS[i % len(SETTING_COLORS)]
        ax.bar(xs, ys, width * 0.92, color=c, label=label, zorder=2)
        _mark_flat(ax, xs, ys)
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="#111827", elinewidth=0.6, capsize=1.5, zorder=3)
    group_chars = max(12, int(fig.get_figwidth() * 0.75 / max(1, len(models)) / 0.075))  # ~0.075 in per 9 pt character
    if len(models) > 4:  # many models: slanted names
        ax.set_xticks(range(len(models)), list(models))
        ax.tick_params(axis="x", labelrotation=40, labelsize=7)
        for lbl in ax.get_xticklabels():
            lbl.set_horizontalalignment("right")
    else:  # a few: each name wrapped under its group, level (a slanted long name takes more room than the chart)
        ax.set_xticks(range(len(models)), [textwrap.fill(m, group_chars, break_on_hyphens=False) for m in models])
    ax.set_ylim(0, 105)
    ax.set_yticks(range(0, 101, 20))
    _percent(ax.yaxis)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(True, axis="y", color="#e5e7eb", linewidth=0.6, zorder=0)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _layout(fig, ax)
    return _svg(fig, f"settings-{title}")
