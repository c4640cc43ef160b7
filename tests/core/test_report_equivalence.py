"""Today's read side against the one the report had before it read samples column-wise (issue 25).

tests/core/report_equivalence/ holds frozen run directories (the `clue demo` runs, a small ClinicBench grid, odd
shapes, CLUE runs at / below / near published numbers) and what the report showed of them at main f8c0400, when
every sample was a Python dict (freeze.py made both). The same runs reported now must give the same scores, CIs
(1e-12; the same seed draws the same resamples), verdicts, comparisons, sample browser rows and results.csv.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.core.report_equivalence.freeze import REPORTS, outputs, unpack

HERE = Path(__file__).parent / "report_equivalence"


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads(gzip.decompress((HERE / "expected.json.gz").read_bytes()))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(tmp_path_factory.mktemp("equivalence"))


def same(got: Any, want: Any, where: str = "") -> None:
    """Equal, floats to 1e-12 (absolute or relative); a difference names its place."""
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), f"{where}: {got!r} != {want!r}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f"{where}: {len(got)} items != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, f"{where}[{i}]")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def csv_rows(text: str) -> list[dict[str, Any]]:
    def value(v: str) -> Any:
        try:
            return float(v)
        except ValueError:
            return v

    return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text, newline=""))]


@pytest.mark.parametrize("which", [*REPORTS, "demo-redacted"])
def test_the_report_shows_what_it_showed_before(which: str, inputs: Path, expected: dict[str, Any]) -> None:
    options = {"redact": True, "replicates": 200, "seed": 7} if which == "demo-redacted" else {}
    got = json.loads(json.dumps(outputs(inputs, which.removesuffix("-redacted"), **options), default=str))
    want = expected[which]
    same(csv_rows(got.pop("results_csv")), csv_rows(want["results_csv"]), f"{which}:results.csv")
    if which == "grid":  # its 2,560 chosen rows exceed the browser's 1,500-row budget, which is now a ceiling
        want = over_budget(got, want, budget=1500)
    same(got, {k: v for k, v in want.items() if k != "results_csv"}, which)


def over_budget(got: dict[str, Any], want: dict[str, Any], budget: int) -> dict[str, Any]:
    """The frozen grid's rows cut to the row budget (clue/report/samples.py budget_caps), checked from what was frozen
    then: each run × task lists a prefix of its frozen rows (worst first, so its worst), `budget` rows in all, and the
    ones cut keep the same number each, one more for the first in order. Returns `want` with those rows and counts."""
    def groups(rows: list[Any]) -> dict[tuple[str, str], list[Any]]:
        out: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            out.setdefault((row[0], row[1]), []).append(row)
        return out

    frozen, kept = groups(want["samples"]), groups(got["samples"])
    assert len(want["samples"]) > budget and set(kept) <= set(frozen) and list(kept) == [k for k in frozen if k in kept]
    counts = {k: len(kept.get(k, [])) for k in frozen}
    for k, rows in kept.items():
        assert rows == frozen[k][: len(rows)], f"{k}: not the frozen rows' first {len(rows)}"
    assert sum(counts.values()) == budget
    cut = [counts[k] for k in frozen if counts[k] < len(frozen[k])]
    assert cut and max(cut) - min(cut) <= 1 and cut == sorted(cut, reverse=True), cut
    assert all(len(frozen[k]) <= max(cut) for k in frozen if counts[k] == len(frozen[k]))
    runs = {}
    for run, entry in want["runs"].items():  # `shown` is keyed by task title; the report lists its tasks in row order
        title_of = dict(zip([k for k in frozen if k[0] == run], got["runs"][run]["shown"]))
        assert set(title_of.values()) == set(entry["shown"]), run
        runs[run] = {**entry, "shown": {t: [counts[k], entry["shown"][t][1]] for k, t in title_of.items()}}
        assert all(entry["shown"][t][0] == len(frozen[k]) for k, t in title_of.items()), run
    return {**want, "runs": runs, "samples": got["samples"]}  # the rows, checked above


def test_build_report_writes_the_same_results_csv(inputs: Path, expected: dict[str, Any], tmp_path: Path) -> None:
    from clue.report import build_report
    from tests.core.report_equivalence.freeze import run_dirs

    html = build_report(run_dirs(inputs, "grid"), tmp_path / "report")
    got = (html.parent / "results.csv").read_text(encoding="utf-8")
    same(csv_rows(got), csv_rows(expected["grid"]["results_csv"]), "grid results.csv")
    verdicts = {r["verdict"] for r in csv_rows(expected["demo"]["results_csv"])}
    assert {"reproduced", "deviates", "inconclusive"} <= verdicts  # the frozen runs exercise every verdict


def test_a_report_over_unchanged_runs_reads_what_it_kept_and_shows_the_same(inputs: Path, expected: dict[str, Any]) -> None:
    """The second report over the same runs reads the columns and CIs kept beside them (clue/sample_columns.py,
    summary.py) instead of computing them: the same figures as the first, and as before."""
    from clue.report.summary import NAME as INTERVALS
    from clue.sample_columns import NAME as COLUMNS
    from tests.core.report_equivalence.freeze import run_dirs

    outputs(inputs, "grid")
    for d in run_dirs(inputs, "grid"):
        assert (d / COLUMNS).is_file() and (d / INTERVALS).is_file()
    got = json.loads(json.dumps(outputs(inputs, "grid"), default=str))
    same(csv_rows(got.pop("results_csv")), csv_rows(expected["grid"]["results_csv"]), "grid:results.csv (kept)")
    same(got, {k: v for k, v in over_budget(got, expected["grid"], budget=1500).items() if k != "results_csv"}, "grid (kept)")


def test_a_report_from_kept_files_is_byte_for_byte_the_one_computed(inputs: Path, tmp_path: Path) -> None:
    """index.html and results.csv built from the kept columns, CIs and comparisons (forest plots included) are the
    files built without them."""
    import shutil

    from clue.report import build_report
    from tests.core.report_equivalence.freeze import run_dirs

    fresh = tmp_path / "runs"
    shutil.copytree(inputs / "grid", fresh, ignore=shutil.ignore_patterns("report-*"))  # the run files only
    dirs = sorted(fresh.iterdir())
    cold = build_report(dirs, tmp_path / "cold").parent
    assert sum((d / "report-comparisons.json").is_file() for d in dirs) == 4  # one per pair (same model, 0 vs 3-shot)
    warm = build_report(dirs, tmp_path / "warm").parent
    for name in ("index.html", "results.csv"):
        assert (warm / name).read_bytes() == (cold / name).read_bytes(), name
    assert len(run_dirs(inputs, "grid")) == len(dirs)
