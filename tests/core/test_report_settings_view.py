"""The grouped, zero- vs few-shot report view on ClinicBench-shaped fixture runs (clue.report.settings).

Run directories follow the ClinicBench contract (scores.json: `benchmark`, `shots`, per task
`extraction_failures`); a stand-in benchmark of that shape (3 scenario groups, no published numbers) is
registered under a test name, so these tests do not depend on which benchmarks are installed.
All text is invented (SYNTHETIC). No timings here: the ≈ 1 M-sample figures are in `make bench`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import pytest

from clue.benchmark import unregister_benchmark
from clue.perf.report_scale import FakeDataset, stand_in, write_runs
from clue.report import build_report
from clue.report.aggregate import ReportOptions, build_view
from clue.report.load import load_runs

NAME = "cbfixture"
DATASETS = [FakeDataset("medqa", "MedQA (USMLE, US)", "reasoning", 40, "accuracy", True),
            FakeDataset("pubmedqa", "PubMedQA (PQA-L test)", "reasoning", 30, "accuracy", True),
            FakeDataset("iu-xray", "IU-Xray (findings → impression)", "generation", 25, "rougeL", False),
            FakeDataset("gad", "GAD", "understanding", 30, "f1", False)]


@pytest.fixture()
def runs(tmp_path: Path) -> Iterator[list[Path]]:
    stand_in(DATASETS, name=NAME)
    try:
        dirs = write_runs(tmp_path / "runs", ["SYNTHETIC/model-a", "SYNTHETIC/model-b"], DATASETS, (0, 3), benchmark=NAME,
                          prompt_words=8, failed_rate=0.05, extraction_rate=0.1)
        dirs += write_runs(tmp_path / "more", ["SYNTHETIC/model-c"], DATASETS, (0,), benchmark=NAME, prompt_words=8, seed=5)
        yield dirs
    finally:
        unregister_benchmark(NAME)


def _scores(d: Path) -> dict:
    return json.loads((d / "scores.json").read_text(encoding="utf-8"))


def test_groups_pairs_and_extraction_counts(runs: list[Path]):
    view = build_view(load_runs(runs), ReportOptions(replicates=50))
    grouped = view["sections"][0]["grouped"]
    assert grouped is not None
    assert [g["id"] for g in grouped["groups"]] == ["reasoning", "generation", "understanding"]
    assert grouped["groups"][0]["datasets"] == ["MedQA (USMLE, US)", "PubMedQA (PQA-L test)"]
    assert grouped["settings"] == [(0, "zero-shot"), (3, "3-shot")]
    # runs of one model that differ only in shots share a row; the zero-shot-only model has an empty 3-shot cell
    rows = {r["model"]: r for r in grouped["groups"][0]["rows"]}
    assert list(rows) == ["SYNTHETIC/model-a", "SYNTHETIC/model-b", "SYNTHETIC/model-c"]
    assert grouped["paired"] == 2
    a = rows["SYNTHETIC/model-a"]["cells"]["MedQA (USMLE, US)"]
    assert a[0]["run"].endswith("__0shot") and a[3]["run"].endswith("__3shot")
    assert rows["SYNTHETIC/model-c"]["cells"]["MedQA (USMLE, US)"][3] is None
    # each cell carries the run's own score and extraction-failure count (from scores.json, not recomputed)
    by_name = {d.name: _scores(d) for d in runs}
    task = by_name[a[3]["run"]]["tasks"]["medqa"]
    assert a[3]["value"] == pytest.approx(task["metrics"]["accuracy"])
    assert a[3]["extraction_failures"] == task["extraction_failures"]
    total = sum(s["tasks"]["gad"]["extraction_failures"] for s in by_name.values())
    assert total > 0 and grouped["groups"][2]["failures"]["GAD"] == total
    # the group average per setting is the run's scenario average
    avg = rows["SYNTHETIC/model-a"]["avg"][0]
    assert avg is not None and avg.value == pytest.approx(
        sum(by_name[a[0]["run"]]["tasks"][t]["metrics"]["accuracy"] for t in ("medqa", "pubmedqa")) / 2)
    assert view["sections"][0]["no_published"] and "No published" in view["sections"][0]["no_published"]


def test_html_shows_failures_side_by_side_and_no_published(runs: list[Path], tmp_path: Path):
    html = build_report(runs, tmp_path / "out", replicates=50).read_text(encoding="utf-8")
    assert 'id="by-group"' in html and "zero-shot vs 3-shot" in html
    assert "No published numbers." in html and "nothing here is compared" in html
    section = html[html.index('id="by-group"'):html.index("</section>", html.index('id="by-group"'))]
    assert section.index(">Reasoning <") < section.index(">Generation <") < section.index(">Understanding <")
    # extraction failures: a column in every dataset's table, the exact count of every run visible
    for d in runs:
        for name, task in _scores(d)["tasks"].items():
            anchor = "task-" + "".join(ch for ch in task["title"].lower() if ch.isalnum())
            block = html[html.index(f'<section id="{anchor}">'):]
            block = block[:block.index("</section>")]
            assert "extraction failures</th>" in block
            row = block[block.index(f"<b>{d.name}</b>"):]
            row = row[:row.index("</tr>")]
            assert f'data-v="{task["extraction_failures"]}">{task["extraction_failures"]}</td>' in row, (d.name, name)
    # one chart per dataset (models × settings), not one per run
    sections = re.findall(r'<section id="task-[^"]*">.*?</section>', html, flags=re.S)
    assert len(sections) == len(DATASETS) and all(sec.count('<div class="chart"><svg') == 1 for sec in sections)
    assert all(sec.count("<svg") == 1 for sec in sections)


def test_worst_and_failed_samples_always_listed(runs: list[Path]):
    view = build_view(load_runs(runs), ReportOptions(replicates=20, max_samples=2))
    listed = {(s["run"], s["task"], s["id"]) for s in view["samples"]}
    assert len(listed) < sum(len((d / "samples.jsonl").read_text().splitlines()) for d in runs)  # sampled, not everything
    for d in runs:
        lines = [json.loads(x) for x in (d / "samples.jsonl").read_text().splitlines()]
        for ds in DATASETS:
            mine = [s for s in lines if s["task"] == ds.name]
            failed = [s for s in mine if s["status"] != "ok"]
            ok = sorted((s for s in mine if s["status"] == "ok"), key=lambda s: s["scores"][ds.metric])
            must = failed + ok[:1]  # every failed request (fewer than 25 here) and the lowest-scored item
            for s in must:
                assert (d.name, ds.name, s["sample_id"]) in listed, (d.name, ds.name, s["sample_id"])


def test_clue_runs_get_no_grouped_view(tmp_path: Path):
    from tests.core.test_report_fixtures import published_like_run

    view = build_view(load_runs([published_like_run(tmp_path / "r", "Meta-Llama-3-8B-Instruct", n=6)]), ReportOptions(replicates=20))
    assert view["sections"][0]["grouped"] is None and view["sections"][0]["no_published"] is None


def test_view_in_headless_chromium(runs: list[Path], tmp_path: Path):
    from tests.core import test_report_browser as browser

    if browser.CHROMIUM is None:
        pytest.skip("chromium not installed (CI installs Debian chromium in .ci/run)")
    html = build_report(runs, tmp_path / "out", replicates=50)
    url = html.resolve().as_uri()
    with browser.chromium(tmp_path) as cdp:
        session = browser.open_page(cdp, url)
        browser.wait_ready(cdp, session)
        # sorting under a two-row header sorts the column the clicked setting heads (data-col)
        col = ("(function(){var t=document.querySelector('#group-reasoning + .scroll table');"
               "var th=t.querySelectorAll('thead tr')[1].children[0];th.click();th.click();"  # zero-shot avg: lowest first
               "var c=+th.getAttribute('data-col');return Array.prototype.map.call(t.tBodies[0].rows,"
               "function(r){return parseFloat(r.cells[c].getAttribute('data-v'))});})()")
        values = browser.evaluate(cdp, session, col)
        assert len(values) == 3 and values == sorted(values)
        browser.settle(cdp, session)
        errors = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "warning", "assert"))
                  or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") in ("error", "warning"))]
        assert not errors, errors
        requests = [e["params"]["request"]["url"] for e in cdp.events if e.get("method") == "Network.requestWillBeSent"]
        assert requests and all(u == url for u in requests), requests


def test_no_verification_noise_without_published_numbers(runs: list[Path], tmp_path: Path):
    html = build_report(runs, tmp_path / "out", replicates=20).read_text(encoding="utf-8")
    assert "Published vs reproduced" not in html and "nothing to verify" not in html  # said once, in the banner


def test_the_scatter_of_many_runs_has_a_key_of_its_numbered_models(runs: list[Path], tmp_path: Path):
    """5 runs (model-a and model-b at 0 and 3 shots, model-c at 0): more than are named at their stars, so each star
    carries its model's number, coloured by its setting, and the key beneath the chart names the three models."""
    html = build_report(runs, tmp_path / "out", replicates=20).read_text(encoding="utf-8")
    section = html[html.index('<section id="scatter">'):]
    section = section[:section.index("</section>")]
    key = section[section.index('<div class="scatter-key">'):]
    assert re.findall(r'<li value="(\d+)">([^<]*)</li>', key) == [
        ("1", "SYNTHETIC/model-a"), ("2", "SYNTHETIC/model-b"), ("3", "SYNTHETIC/model-c")]
    assert "the colour its setting" in key
    svg = section[section.index("<svg"):section.index("</svg>")]
    labels = [t for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)]
    assert sorted(t for t in labels if t in {"1", "2", "3"}) == ["1", "1", "2", "2", "3"]  # one per star
    assert "zero-shot" in labels and "3-shot" in labels  # the colours' legend
