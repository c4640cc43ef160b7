"""The ClinicBench report says what is true: which bundled datasets are invented and which are real public samples,
that no published ClinicBench numbers are bundled (no CLUE wording), no empty figure, and every table in a frame
of its own that scrolls. The CLUE report keeps its own wording. Expected lists are written out by hand."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clue.report import build_report
from tests.conftest import run_clue
from tests.core.test_report_charts import clipped_texts, tick_labels

# the datasets `clue demo` bundles as real public samples (7) and as invented items (9)
PUBLIC = ["MedQA (USMLE, US)", "MedMCQA (dev)", "MMLU professional medicine", "PubMedQA (PQA-L test)", "Treatment Recommendation",
          "BC5-Disease NER", "NCBI-Disease NER"]
SYNTHETIC = ["IU-Xray (findings → impression)", "MIMIC-CXR (findings → impression)", "Hospitalization Summarization",
             "Patient Education", "DDI-2013", "GAD", "Hallmarks of Cancer", "Pharmacology QA for Emerging Drugs",
             "Drug Interaction for Emerging Drugs"]
CLUE_ONLY = ("read from the paper's figure", "CLUE site", "inferred from their display names", "clue-v3", "LongHealth resamples")


@pytest.fixture(scope="module")
def cb_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cb") / "runs-clinicbench"
    proc = run_clue("run", "--benchmark", "clinicbench", "--engine", "baseline", "--synthetic", "--out", str(out),
                    "--store", str(out.parent / "store.sqlite"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return out


def _html(run: Path, out: Path, **options) -> str:
    return build_report([run], out, replicates=50, **options).read_text(encoding="utf-8")


def _items(html: str, cls: str) -> list[str]:
    li = re.search(rf'<li class="{cls}">(.*?)</li>', html, re.S)
    assert li, cls
    return re.findall(r'<span class="ds">([^<]*)</span>', li.group(1))


def _section(html: str, anchor: str) -> str:
    start = html.index(f'<section id="{anchor}"')
    return html[start:html.index("</section>", start)]


class _Tables(HTMLParser):
    """For every <table>: the class of the element it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.parents: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.parents.append(self.stack[-1][1] if self.stack else "")
        if tag not in ("br", "meta", "link", "input", "img", "hr"):
            self.stack.append((tag, dict(attrs).get("class") or ""))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def test_banner_names_the_synthetic_and_the_real_public_sample_datasets(cb_run: Path, tmp_path: Path) -> None:
    html = _html(cb_run, tmp_path / "r")
    banner = html[html.index('<div class="banner synthetic-banner">'):]
    banner = banner[:banner.index("</div>")]
    assert _items(banner, "data-public") == PUBLIC
    assert _items(banner, "data-synthetic") == SYNTHETIC
    assert "bundled invented items" not in banner  # not all of it is invented
    assert "real public samples" in banner and "runs-clinicbench" in banner


def test_no_figure_when_nothing_is_plottable_and_a_percent_figure_when_something_is(cb_run: Path, tmp_path: Path) -> None:
    scatter = _section(_html(cb_run, tmp_path / "r"), "scatter")
    assert "<svg" not in scatter
    assert "No figure: nothing to plot" in scatter and "runs-clinicbench: synthetic data" in scatter
    plotted = _section(_html(cb_run, tmp_path / "inc", include_synthetic=True), "scatter")
    svg = plotted[plotted.index("<svg"):plotted.index("</svg>") + 6]
    assert tick_labels(svg) and all(t.endswith("%") for t in tick_labels(svg))
    assert clipped_texts(svg) == []
    assert "No figure" not in plotted


def test_leaderboard_text_is_clinicbenchs_own(cb_run: Path, tmp_path: Path) -> None:
    html = _html(cb_run, tmp_path / "r")
    lead = _section(html, "leaderboard")
    lead = lead[lead.index('<p class="lead">'):lead.index("</p>")]
    assert "no published ClinicBench numbers are bundled" in lead
    assert not [w for w in CLUE_ONLY if w in html], [w for w in CLUE_ONLY if w in html]
    assert "next to the published models" not in lead and "Verdict rule" not in html  # nothing is verified here
    header = html[html.index("<header>"):html.index("</header>")]
    assert "1 run(s) · no published ClinicBench numbers are bundled" in header  # not "next to 22 models"


def test_every_table_sits_in_a_scrolling_frame_of_its_own(cb_run: Path, tmp_path: Path) -> None:
    html = _html(cb_run, tmp_path / "r")
    parser = _Tables()
    parser.feed(html)
    assert len(parser.parents) > 20
    assert all("scroll" in p.split() for p in parser.parents), parser.parents
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)  # type: ignore[union-attr]
    assert re.search(r"\.scroll\{[^}]*overflow-x:auto", css)


def test_the_clue_report_keeps_its_own_wording(tmp_path: Path) -> None:
    run = tmp_path / "clue-run"
    proc = run_clue("run", "--engine", "baseline", "--synthetic", "--tasks", "mednli,meqsum", "--out", str(run),
                    "--store", str(tmp_path / "store.sqlite"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    html = _html(run, tmp_path / "r")
    assert "next to the published CLUE v3 models" in html and "≈ read from the paper's figure" in html
    assert "clue-run ran on the bundled invented items" in html and 'class="data-public"' not in html
