"""Charts for the report: matplotlib (Agg) → inline SVG strings, deterministic and self-contained.

Text stays text (`svg.fonttype = none`, escaped by matplotlib's SVG writer), which keeps files
small; every chart gets its own hash salt so element ids never collide inside one HTML page.
Scores are percent (0–100): value axes say so on their ticks ("40%") and never leave 0–100.
Axis labels longer than their axis are wrapped to it, and the SVG is cut to what was drawn (the figure's
tight box, measured once in `_svg`), so no label is clipped; the axes sit at fixed margins (no tight_layout
pass: each lays out every text again, and the cut makes it needless). Each chart is drawn once per data it
shows: a re-report takes unchanged ones from those kept beside it (clue/report/chart_cache.py). A chart with
nothing to plot is no chart: the functions return an empty string and the report says why in a sentence.
Point labels of the scatter are placed by adjustText (no overlaps, leader lines where moved) in a fixed
number of steps, never a time limit, so the SVG is the same on a busy machine. Few runs are named at their
stars; many are numbered, with a key beneath the chart (`scatter_key`), and coloured by their setting where
they have one (a model's runs share a number): number and colour name each star. Error bars are clipped at
zero (a bootstrap bound can miss the point estimate by rounding).
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
import threading
from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup

from clue.report.chart_cache import kept

PALETTE = ("#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9333ea", "#ea580c")
MIN_SPAN = 10.0  # percent points: the least a scatter axis shows (one point alone is not zoomed to ±0.05)
SHORT_LABELS_UP_TO = 3  # runs named at their star; more are numbered, the names in a key beneath the chart
LABEL_STEPS_FEW, LABEL_STEPS_MANY = 500, 50  # adjustText steps for up to 30 labels / more (see _place_labels)
LEADER_MIN_PX = 5  # a label moved less than this off its point needs no leader line (adjustText's min_arrow_len)
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
    series: str = ""  # what a many-runs key names (a model's runs in several settings share it); "" = the label
    group: str = ""  # the run's setting ("zero-shot", "3-shot"): its colour among many runs; "" = none


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


_WARMING = threading.Lock()


def warm_up() -> None:
    """Import what drawing needs (matplotlib, adjustText and its scipy: ~0.7 s) in a background thread, once: a report
    that will draw calls this while it waits on other work (bootstrap draws let go of the GIL), and the first chart
    finds them imported. The same modules and settings as importing on first use."""
    if _WARMING.acquire(blocking=False):  # never released: once per process
        threading.Thread(target=_import_drawing, name="clue-charts-import").start()


def _import_drawing() -> None:
    _plt()
    import adjustText  # noqa: F401


@functools.cache
def _measurer(dpi: float):
    """One renderer to measure texts with, shared by every chart: matplotlib keeps text sizes per renderer, so the
    names, ticks and legend entries that every per-dataset chart repeats are laid out once, not once per chart."""
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(1, 1, dpi)


def _svg(fig, salt: str) -> Markup:
    """The figure as SVG, cut to its tight box (every text, the legend outside the axes included) plus a small pad.
    The box is measured here once and handed to savefig: `bbox_inches="tight"` would draw the whole figure once more
    only to measure it."""
    plt = _plt()
    plt.rcParams["svg.hashsalt"] = f"clue-kit-{salt}"
    box = fig.get_tightbbox(_measurer(fig.dpi)).padded(0.06)  # inches
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches=box)
    plt.close(fig)
    svg = buf.getvalue()
    return Markup(svg[svg.index("<svg"):])  # our own SVG: drop the XML prolog and DOCTYPE


def _place_labels(ax, texts: list, xs: list[float], ys: list[float]) -> None:
    """Move labels off each other and off the points (adjustText; text i belongs to point i), with a thin leader line
    where moved. A fixed number of steps (adjustText stops earlier once nothing overlaps): few labels get many, many
    labels fewer (each step costs the square of their number: 88 run numbers take ~0.3 s in 50 steps), never a time
    limit (the SVG must not depend on the machine's load)."""
    if not texts:
        return
    from adjustText import adjust_text

    adjust_text(texts, x=xs, y=ys, ax=ax, expand=(1.2, 1.6), force_text=(0.3, 0.6), force_static=(0.2, 0.4),
                ensure_inside_axes=True, iter_lim=LABEL_STEPS_FEW if len(texts) <= 30 else LABEL_STEPS_MANY,
                prevent_crossings=len(texts) <= 30, avoid_self=False)  # each text's own point is in x, y already
    _leaders(ax, texts, xs, ys)


def _leaders(ax, texts: list, xs: list[float], ys: list[float]) -> None:
    """One line collection from each label's box to its point, where the label was moved off it (not adjustText's
    arrows: a FancyArrowPatch each, clipped to its text by splitting curves at every measure and draw, 0.25 s at 88)."""
    from matplotlib.collections import LineCollection

    renderer, to_data = _measurer(ax.figure.dpi), ax.transData.inverted()
    segments = []
    for text, x, y in zip(texts, xs, ys):
        box = text.get_window_extent(renderer)
        px, py = ax.transData.transform((x, y))
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        dx, dy = px - cx, py - cy
        # the line from the box's centre towards the point leaves the box at this fraction of the way
        t = min(box.width / 2 / abs(dx) if dx else math.inf, box.height / 2 / abs(dy) if dy else math.inf)
        if t < 1 and math.hypot(dx, dy) * (1 - t) >= LEADER_MIN_PX:
            segments.append(to_data.transform([(cx + dx * t, cy + dy * t), (px, py)]))
    if segments:
        ax.add_collection(LineCollection(segments, colors="#94a3b8", linewidths=0.5, zorder=1), autolim=False)


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
    renderer = _measurer(fig.dpi)
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


def _layout(fig, ax, margins: tuple[float, float, float, float] = (0.6, 0.2, 0.5, 0.3)) -> None:
    """The axes at fixed margins (left, right, bottom, top, inches: about what the ticks, the legend and the title take;
    anything that sticks out further — slanted names, a wrapped label — is kept by the cut to the tight box in `_svg`,
    so no label is lost and no layout pass redraws the figure), axis labels wrapped to their axis."""
    w, h = fig.get_size_inches()
    left, right, bottom, top = margins
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h)
    _fit_labels(fig, ax)


def _mark_flat(ax, xs: Sequence[float], ys: Sequence[float]) -> None:
    """A bar too low to see (under 1 point) gets its value written on the axis: 0 is a result, not a gap."""
    for x, y in zip(xs, ys):
        if y < 1.0:
            ax.text(x, 1.0, f"{y:.1f}", ha="center", va="bottom", fontsize=7, color="#475467", zorder=4)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _numbers(points: Sequence[Point]) -> tuple[list[int], list[tuple[int, str]]]:
    """Many runs: the number of each run (in order) and the key, [(number, name)]. A run is numbered by its series
    (a model's runs in several settings share one number and differ by their setting's colour); a second run of one
    series in the same setting is numbered by its own name, so number and colour tell every star apart. Few runs
    (named at their stars): no numbers."""
    runs = [p for p in points if p.kind == "run"]
    if len(runs) <= SHORT_LABELS_UP_TO:
        return [], []
    numbers: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    out = []
    for p in runs:
        name = p.series or p.label
        if (name, p.group) in seen:
            name = p.label
        seen.add((name, p.group))
        out.append(numbers.setdefault(name, len(numbers) + 1))
    return out, [(n, name) for name, n in numbers.items()]


def _darker(c: str) -> str:
    """A number in its star's colour, darkened to be read on white (the zero-shot grey is too light for text)."""
    from matplotlib.colors import to_hex, to_rgb

    r, g, b = to_rgb(c)
    return to_hex((r * 0.75, g * 0.75, b * 0.75))


def scatter_key(points: Sequence[Point]) -> list[tuple[int, str]]:
    """The key the report prints beneath a many-runs scatter: (number at the stars, the model or run it stands for)."""
    return _numbers(points)[1]


def _bounds(values: Sequence[float], errs: Sequence[tuple[float, float] | None]) -> list[list[float]]:
    return [[max(0.0, v - e[0]) if e else 0.0 for v, e in zip(values, errs)],
            [max(0.0, e[1] - v) if e else 0.0 for v, e in zip(values, errs)]]


@kept
def scatter(points: Sequence[Point], run_colors: dict[str, str], x_label: str = "", y_label: str = "",
            groups: dict[str, str] | None = None) -> Markup:
    """Two group averages against each other (CLUE: the paper's Level 1 vs Level 2 figure); published models by
    type, runs as stars with their 95 % CIs. A run is coloured by its group (setting) where `groups` (label → colour,
    in order; shown in the legend) has it, else by `run_colors`. Up to SHORT_LABELS_UP_TO runs are named at their
    stars; more are numbered (`scatter_key`). Nothing to plot: an empty string (the report says so in a sentence)."""
    if not points:
        return Markup("")
    from matplotlib.lines import Line2D

    plt = _plt()
    groups = groups or {}
    fig, ax = plt.subplots(figsize=(10.0, 6.2))
    texts, xs, ys = [], [], []
    handles: list = []
    for kind in dict.fromkeys(p.kind for p in points if p.kind != "run"):  # published models: one collection per type
        c, marker = TYPE_STYLE.get(kind, TYPE_STYLE["general"])
        pub = [p for p in points if p.kind == kind]
        ax.scatter([p.x for p in pub], [p.y for p in pub], s=26, c=c, marker=marker, alpha=0.75, zorder=2)
        handles.append(Line2D([], [], ls="", marker=marker, color=c, alpha=0.75, label=f"published: {kind}"))
        for p in pub:
            texts.append(ax.text(p.x, p.y, p.label, fontsize=6, color="#475569"))
            xs.append(p.x)
            ys.append(p.y)
    runs = [p for p in points if p.kind == "run"]
    numbers, _ = _numbers(runs)
    colors = [groups.get(p.group) or run_colors.get(p.label, "#dc2626") for p in runs]
    few = len(runs) <= 6
    for c in dict.fromkeys(colors):  # error bars: one call per colour
        mine = [p for p, pc in zip(runs, colors) if pc == c]
        mx, my = [p.x for p in mine], [p.y for p in mine]
        ax.errorbar(mx, my, xerr=_bounds(mx, [p.x_err for p in mine]), yerr=_bounds(my, [p.y_err for p in mine]),
                    fmt="none", ecolor=c, elinewidth=1 if few else 0.6, capsize=2, alpha=1.0 if few else 0.45, zorder=3)
    if runs:
        ax.scatter([p.x for p in runs], [p.y for p in runs], s=140 if few else 90, marker="*", zorder=4, linewidths=1.2 if few else 0.8,
                   c=["white" if p.partial else c for p, c in zip(runs, colors)], edgecolors=colors)
    for i, (p, c) in enumerate(zip(runs, colors)):
        if numbers:
            texts.append(ax.text(p.x, p.y, str(numbers[i]), fontsize=7.5, color=_darker(c), fontweight="bold", zorder=5))
        else:
            texts.append(ax.text(p.x, p.y, p.label, fontsize=7.5, color=c, fontweight="bold", zorder=5))
            handles.append(Line2D([], [], ls="", marker="*", ms=10, color=c, mfc="white" if p.partial else c,
                                  label=p.label + (" (partial)" if p.partial else "")))
        xs.append(p.x)
        ys.append(p.y)
    used = {p.group for p in runs}
    handles += [Line2D([], [], ls="", marker="*", ms=10, color=c, label=g) for g, c in groups.items() if g in used]
    ax.set_xlim(*_percent_limits([v for p in points for v in (p.x, *(p.x_err or ()))]))
    ax.set_ylim(*_percent_limits([v for p in points for v in (p.y, *(p.y_err or ()))]))
    _percent(ax.xaxis)
    _percent(ax.yaxis)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(True, color="#e5e7eb", linewidth=0.6, zorder=0)
    if handles:
        ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _layout(fig, ax, (0.9, 1.6 if handles else 0.2, 0.6, 0.15))
    _place_labels(ax, texts, xs, ys)  # on the final axes: the labels are moved in display units
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
    _layout(fig, ax, (0.55, 1.6 if n <= 12 else 0.2, 0.9 if ax.get_xticklabels()[0].get_rotation() else 0.35, 0.3))
    return _svg(fig, f"bars-{title}")


def _names_below(fig, ax, names: Sequence[str]) -> None:
    """One name under each group (at x = 0, 1, …): many slanted, a few wrapped level (a slanted long name takes more
    room than the chart). Plain texts, not tick labels: a tick is five artists that every draw and measure lays out."""
    from matplotlib.transforms import ScaledTranslation

    ax.set_xticks([])
    ax.spines["bottom"].set_zorder(4)
    below = ax.get_xaxis_transform() + ScaledTranslation(0, -4 / 72, fig.dpi_scale_trans)  # 4 pt under the axis
    slanted = len(names) > 4
    group_chars = max(12, int(fig.get_figwidth() * 0.75 / max(1, len(names)) / 0.075))  # ~0.075 in per 9 pt character
    for j, name in enumerate(names):
        if slanted:
            ax.text(j, 0, name, transform=below, rotation=40, ha="right", va="top", fontsize=7)
        else:
            ax.text(j, 0, textwrap.fill(name, group_chars, break_on_hyphens=False), transform=below, ha="center", va="top")


SETTING_COLORS = ("#94a3b8", "#2563eb", "#d97706", "#059669")  # zero-shot grey, then the few-shot settings


@kept
def setting_bars(title: str, models: Sequence[str], series: dict[str, list[tuple[float | None, float | None, float | None]]]) -> Markup:
    """One dataset: a group of bars per model, one bar per setting (zero-shot, k-shot …) with its 95 % CI.
    Many runs make one chart per dataset (not one per run), its width growing with the models. No value: no chart."""
    if not any(v[0] is not None for values in series.values() for v in values):
        return Markup("")
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    plt = _plt()
    n = max(1, len(series))
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(min(16.0, max(5.0, 1.2 + len(models) * (0.25 + 0.16 * n))), 3.6))
    ex, ey, lo, hi, handles = [], [], [], [], []
    for i, (label, values) in enumerate(series.items()):  # one collection per setting (not a patch per bar)
        xs, ys = [], []
        for j, (value, low, high) in enumerate(values):
            if value is None:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            ys.append(value)
            lo.append(max(0.0, value - low) if low is not None else 0.0)
            hi.append(max(0.0, high - value) if high is not None else 0.0)
        c = SETTING_COLORS[i % len(SETTING_COLORS)]
        half = width * 0.46
        ax.add_collection(PolyCollection([[(x - half, 0.0), (x - half, y), (x + half, y), (x + half, 0.0)] for x, y in zip(xs, ys)],
                                         facecolors=c, edgecolors="none", zorder=2), autolim=False)
        handles.append(Patch(color=c, label=label))
        _mark_flat(ax, xs, ys)
        ex += xs
        ey += ys
    ax.errorbar(ex, ey, yerr=[lo, hi], fmt="none", ecolor="#111827", elinewidth=0.6, capsize=1.5, zorder=3)
    ax.set_xlim(-0.6, len(models) - 0.4)
    _names_below(fig, ax, models)
    ax.set_ylim(0, 105)
    ax.set_yticks(range(0, 101, 20))
    _percent(ax.yaxis)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(True, axis="y", color="#e5e7eb", linewidth=0.6, zorder=0)
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _layout(fig, ax, (0.55, 0.8, 1.0 if len(models) > 4 else 0.4, 0.3))
    return _svg(fig, f"settings-{title}")
