"""Published CLUE numbers as project data (the core's `Published`, read from the two CSV files here).

The CSV is package data (see README.md here for the source tags). Verdicts use the v3 website
numbers (`v3_site_354cc30`); the baseline's figure readings (`v3_figure_read_approx`) are shown
but marked approximate; the v2-era snapshot is kept for diffing (`ALL.select((V2_SITE,))`) and never used by default.
CLUE's model names often lack an organisation, so a run's HF id also matches by its last part (`match_tail`).
"""

from __future__ import annotations

from pathlib import Path

from clue.published import PROTOCOL, Published

HERE = Path(__file__).parent
CSV_PATH = HERE / "clue_published.csv"
MODELS_PATH = HERE / "models.csv"
CSV_SHA256 = "d4fce297ef7abbeffa74a10970bc324594fa5a518e217a5b15d9edda862f6ec8"
V3_SITE = "v3_site_354cc30"
V3_FIGURE = "v3_figure_read_approx"
V2_SITE = "v2era_site_e639a1e_has_copy_errors"
DEFAULT_SOURCES: tuple[str, ...] = (V3_SITE, V3_FIGURE)
SOURCE_NOTES = {
    V3_SITE: "CLUE v3 website data (matches the paper's v3 figure)",
    V3_FIGURE: "read from the v3 figure by pixel measurement (±0.02), approximate",
    V2_SITE: "May-2024 website snapshot (v2 era, known copy errors), for diffing only",
}
ALL = Published.from_csv(CSV_PATH, MODELS_PATH, notes=SOURCE_NOTES, approximate_sources=(V3_FIGURE,), match_tail=True,
                         default_setting=PROTOCOL)  # the paper's numbers: each task at its own k (Q26)
PUBLISHED = ALL.select(DEFAULT_SOURCES)  # what verify and the report compare with
