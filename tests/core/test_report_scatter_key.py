"""A scatter of many runs (clue/report/charts.py `scatter`, `scatter_key`) names every star: the number at a star is its
model (a model's runs in several settings share it; the key beneath the chart names it), its colour its setting (the
legend names it); a second run of one model in one setting gets a number of its own. Expected numbers, names and
colours below are worked out by hand from the inputs, and read back from the SVG's own <text> elements.
"""

from __future__ import annotations

import re
from html import unescape

from clue.report import charts
from tests.core.test_report_charts import clipped_texts

ZERO, THREE = "#94a3b8", "#d97706"  # the settings' colours passed in
# the numbers' text colour: each channel × 0.75, by hand: 0x94=148→111=0x6f, 0xa3=163→122.25→0x7a, 0xb8=184→138=0x8a;
# 0xd9=217→162.75→0xa3, 0x77=119→89.25→0x59, 0x06=6→4.5→4 (round half to even)=0x04
ZERO_TEXT, THREE_TEXT = "#6f7a8a", "#a35904"
GROUPS = {"zero-shot": ZERO, "3-shot": THREE}
POINTS = [
    charts.Point("alpha__0shot", 40.0, 30.0, "run", (38.0, 42.0), (29.0, 31.0), series="alpha", group="zero-shot"),
    charts.Point("alpha__3shot", 42.0, 31.0, "run", (40.0, 44.0), (30.0, 32.0), series="alpha", group="3-shot"),
    charts.Point("beta__0shot", 50.0, 40.0, "run", series="beta", group="zero-shot"),
    charts.Point("beta__3shot", 52.0, 41.0, "run", series="beta", group="3-shot"),
    charts.Point("beta__3shot-again", 53.0, 42.0, "run", series="beta", group="3-shot"),  # beta's second 3-shot run
    charts.Point("a published model", 45.0, 35.0, "general"),
]
TEXT = re.compile(r"<text\b([^>]*)>([^<]*)</text>")


def texts(svg: str) -> list[tuple[str, str]]:
    """(string, fill colour) of every <text> element."""
    out = []
    for attrs, raw in TEXT.findall(svg):
        fill = re.search(r"fill:\s*(#[0-9a-f]{6})", attrs)
        out.append((unescape(raw), fill.group(1) if fill else "#000000"))
    return out


def test_the_key_numbers_models_and_a_repeated_setting_apart():
    assert charts.scatter_key(POINTS) == [(1, "alpha"), (2, "beta"), (3, "beta__3shot-again")]


def test_every_star_is_one_number_and_colour_and_the_legend_names_the_colours():
    svg = str(charts.scatter(POINTS, {}, "Level 1", "Level 2", groups=GROUPS))
    numbers = sorted((s, c) for s, c in texts(svg) if s.isdigit() and c in (ZERO_TEXT, THREE_TEXT))
    # one label per star; (number, colour) is unique, so each names exactly one run
    assert numbers == sorted([("1", ZERO_TEXT), ("1", THREE_TEXT), ("2", ZERO_TEXT), ("2", THREE_TEXT), ("3", THREE_TEXT)])
    drawn = [s for s, _ in texts(svg)]
    assert "zero-shot" in drawn and "3-shot" in drawn and "published: general" in drawn  # the legend
    assert not any("alpha" in s or "beta" in s for s in drawn)  # run names are in the key beneath, not in the figure
    assert "a published model" in drawn
    assert clipped_texts(svg) == []


def test_runs_without_settings_are_numbered_one_by_one_in_their_own_colours():
    runs = [charts.Point(f"run-{i}", 40.0 + 3 * i, 30.0 + 2 * i, "run") for i in range(4)]
    colors = {"run-0": "#2563eb", "run-1": "#d97706", "run-2": "#059669", "run-3": "#dc2626"}
    assert charts.scatter_key(runs) == [(1, "run-0"), (2, "run-1"), (3, "run-2"), (4, "run-3")]
    svg = str(charts.scatter(runs, colors))
    # #2563eb × 0.75: 0x25=37→27.75→0x1c, 0x63=99→74.25→0x4a, 0xeb=235→176.25→0xb0
    assert ("1", "#1c4ab0") in texts(svg)
    assert sorted(s for s, _ in texts(svg) if s in {"1", "2", "3", "4"}) == ["1", "2", "3", "4"]


def test_few_runs_are_named_at_their_stars_and_have_no_key():
    few = POINTS[:3]
    assert charts.scatter_key(few) == []
    drawn = [s for s, _ in texts(str(charts.scatter(few, {}, groups=GROUPS)))]
    assert {"alpha__0shot", "alpha__3shot", "beta__0shot"} <= set(drawn)


def test_the_same_inputs_draw_the_same_svg():
    """Label placement runs a fixed number of steps (no time limit): the kept charts are compared byte for byte."""
    assert str(charts.scatter(POINTS, {}, groups=GROUPS)) == str(charts.scatter(POINTS, {}, groups=GROUPS))
