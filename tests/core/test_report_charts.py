"""The report's charts (clue/report/charts.py) as a reader sees them: nothing drawn when nothing is plottable,
percent ticks on 0–100 axes, and no text cut off at the SVG's edges.

"Cut off" is measured independently of the code under test: each <text> element of the SVG is laid out again
from its own attributes (origin, rotation, anchor, font size) with the width matplotlib's DejaVu Sans metrics
give its string, and both ends must lie inside the SVG's viewBox. Also: the per-task data marks that the report's
banner reads (clue.rundir.scope → "data").
"""

from __future__ import annotations

import math
import re
from html import unescape

import pytest

from clue.report import charts
from clue.rundir import scope

# what the report's ClinicBench scatter is labelled with (long: the dataset lists of two scenarios)
REASONING = "Reasoning (MedQA (USMLE, US), MedMCQA (dev), MMLU professional medicine, PubMedQA (PQA-L test), Treatment Recommendation)"
GENERATION = ("Generation (IU-Xray (findings → impression), MIMIC-CXR (findings → impression), Hospitalization Summarization, "
              "Patient Education)")
TEXT = re.compile(r"<text\b([^>]*)>([^<]*)</text>")
TICK = re.compile(r"^−?\d+(\.\d+)?%?$")


def text_spans(svg: str) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    """(string, start point, end point) of every <text> element, in the SVG's user units."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    measure = TextToPath()
    out = []
    for attrs, raw in TEXT.findall(svg):
        s = unescape(raw)
        size = float(re.search(r"font-size:\s*([\d.]+)px", attrs).group(1))  # type: ignore[union-attr]
        anchor = (re.search(r"text-anchor:\s*(\w+)", attrs) or [None, "start"])[1]
        if 'x="' in attrs:  # x="…" y="…" transform="rotate(-θ x y)"
            x, y = (float(re.search(rf'\b{k}="([-\d.]+)"', attrs).group(1)) for k in ("x", "y"))  # type: ignore[union-attr]
        else:  # transform="translate(x y) rotate(-θ)"
            x, y = (float(v) for v in re.search(r"translate\(([-\d.]+)[ ,]+([-\d.]+)\)", attrs).groups())  # type: ignore[union-attr]
        rot = re.search(r"rotate\((-?[\d.]+)", attrs)
        theta = -float(rot.group(1)) if rot else 0.0  # SVG rotate(-θ) turns the text θ degrees anticlockwise on screen
        width = measure.get_text_width_height_descent(s, FontProperties(family="DejaVu Sans", size=size), ismath=False)[0]
        dx, dy = math.cos(math.radians(theta)), -math.sin(math.radians(theta))
        back = {"start": 0.0, "middle": width / 2, "end": width}[anchor]
        start = (x - back * dx, y - back * dy)
        out.append((s, start, (start[0] + width * dx, start[1] + width * dy)))
    return out


def clipped_texts(svg: str, tolerance: float = 1.0) -> list[str]:
    """Texts with an end outside the SVG's viewBox (what a browser cuts off)."""
    w, h = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())  # type: ignore[union-attr]
    return [s for s, a, b in text_spans(svg)
            if not all(-tolerance <= px <= w + tolerance and -tolerance <= py <= h + tolerance for px, py in (a, b))]


def tick_labels(svg: str) -> list[str]:
    return [unescape(t).strip() for _, t in TEXT.findall(svg) if TICK.match(unescape(t).strip())]


def test_the_oracle_sees_a_clipped_label():
    """The measuring helper itself: a 900-unit-wide string in a 300-unit-wide SVG is cut; a short one is not."""
    style = "font-size: 9px; font-family: 'DejaVu Sans'"
    svg = (f'<svg viewBox="0 0 300 200"><text style="{style}; text-anchor: middle" x="150" y="100" '
           f'transform="rotate(-0 150 100)">{"x" * 160}</text>'
           f'<text style="{style}" transform="translate(10 190) rotate(-90)">{"y" * 60}</text>'
           f'<text style="{style}" transform="translate(20 150) rotate(-90)">short</text></svg>')
    assert clipped_texts(svg) == ["x" * 160, "y" * 60]


def test_nothing_plottable_draws_no_figure():
    assert str(charts.scatter([], {}, REASONING, GENERATION)) == ""
    assert str(charts.setting_bars("MedQA", ["m1", "m2"], {"zero-shot": [(None, None, None), (None, None, None)]})) == ""
    assert str(charts.task_bars("MedQA", ["accuracy"], [], {})) == ""


def test_scatter_axes_are_percent_and_its_long_labels_are_not_cut():
    one_run = [charts.Point("runs-clinicbench", 41.45, 32.91, "run", (24.73, 58.91), (28.76, 37.16))]
    svg = str(charts.scatter(one_run, {}, REASONING, GENERATION))
    assert "<svg" in svg
    assert clipped_texts(svg) == []
    ticks = tick_labels(svg)
    assert len(ticks) >= 8 and all(t.endswith("%") for t in ticks), ticks  # "40%", never 0.4 or a bare 40
    assert all(0 <= float(t.rstrip("%").replace("−", "-")) <= 100 for t in ticks)
    # both labels are there in full, wrapped onto lines (words in order, none lost)
    drawn = re.sub(r"\s+", " ", " ".join(unescape(t) for _, t in TEXT.findall(svg)))
    assert REASONING in drawn and GENERATION in drawn


@pytest.mark.parametrize("values, expected", [
    ([41.45, 24.73, 58.91], (24.73 - 34.18 * 0.06, 58.91 + 34.18 * 0.06)),  # 6 % of the span each side
    ([50.0], (45.0, 55.0)),  # one value alone: 10 points wide, not zoomed to a hair
    ([98.0, 99.0], (90.0, 100.0)),  # never past 100: the 10-point window ends at 100
    ([0.0, 100.0], (0.0, 100.0)),  # never below 0 nor above 100
])
def test_percent_limits_worked_by_hand(values, expected):
    assert charts._percent_limits(values) == pytest.approx(expected)


def test_bar_charts_have_percent_ticks_and_uncut_labels():
    bars = [charts.Bar(f"a-long-run-name-{i}", {"rougeL": (40.0, 30.0, 50.0), "rouge1": (45.0, 35.0, 60.0)}, {"rougeL": 42.0})
            for i in range(3)]
    svg = str(charts.task_bars("IU-Xray (findings → impression)", ["rougeL", "rouge1"], bars, {}))
    assert tick_labels(svg) and all(t.endswith("%") for t in tick_labels(svg))
    assert clipped_texts(svg) == []
    model = "parameterless-baseline (SYNTHETIC DATA)"
    svg = str(charts.setting_bars("MedQA (USMLE, US)", [model], {"zero-shot": [(60.0, 20.0, 100.0)]}))
    assert clipped_texts(svg) == []
    assert set(tick_labels(svg)) == {"0%", "20%", "40%", "60%", "80%", "100%"}
    assert 'rotate(-40' not in svg  # one model: its name wrapped level under the bar, not slanted across the chart
    zero = str(charts.setting_bars("GAD", ["m"], {"zero-shot": [(0.0, 0.0, 0.0)], "3-shot": [(12.5, 5.0, 20.0)]}))
    drawn = [unescape(t) for _, t in TEXT.findall(zero)]
    assert "0.0" in drawn and "12.5" not in drawn  # a bar of height 0 says 0; a visible bar needs no number
    many = [f"model-number-{i}" for i in range(8)]
    svg = str(charts.setting_bars("MedQA", many, {"zero-shot": [(50.0, 40.0, 60.0)] * 8, "3-shot": [(55.0, 45.0, 65.0)] * 8}))
    assert 'rotate(-40' in svg and clipped_texts(svg) == []


def test_scope_records_each_tasks_data_mark():
    scores = {"tasks": {"medqa": {"title": "MedQA (USMLE, US)", "n": 5}, "gad": {"title": "GAD", "n": 8},
                        "mednli": {"title": "MedNLI", "n": 3}, "odd": {"title": "Odd", "n": 1}}, "synthetic": True}
    record = {"task_build": {"medqa": {"data": "public sample", "pool": "x"}, "gad": {"data": "synthetic"},
                             "odd": "not a mapping"}}
    assert scope(scores, record)["data"] == {"MedQA (USMLE, US)": "public sample", "GAD": "synthetic", "MedNLI": None, "Odd": None}
    assert scope({"tasks": {}}, {})["data"] == {}
