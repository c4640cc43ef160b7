"""The sample browser's row budget is a ceiling (clue/report/samples.py): where the items chosen per run × task add
up to more, each keeps its worst, the same number each; the report says how many rows it lists of how many and how
to list more (`clue report --samples-budget N`)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from clue.cli import main
from clue.report import build_report
from clue.report.samples import budget_caps
from tests.core.test_report_fixtures import sample, write_run


@pytest.mark.parametrize(("sizes", "budget", "want"), [
    ([5, 1, 3, 3], 12, [5, 1, 3, 3]),  # they fit: all of them
    ([5, 1, 3, 3], 8, [3, 1, 2, 2]),  # 2 each (7 rows; the one with 1 keeps 1), one more for the first with more
    ([5, 1, 3, 3], 3, [1, 1, 1, 0]),  # fewer rows than run × tasks: one each, in order
    ([4, 4, 4], 9, [3, 3, 3]),
    ([4, 4, 4], 0, [0, 0, 0]),
])
def test_budget_caps_keep_an_equal_share_of_the_worst(sizes: list[int], budget: int, want: list[int]) -> None:
    assert budget_caps(sizes, budget) == want


def _runs(root: Path) -> list[Path]:
    """Two runs × two tasks × 10 items; item i scores i × 10 (the worst: item 0), except item 7 failed."""
    dirs = []
    for r in range(2):
        lines = [sample(task, f"SYNTHETIC-{task}-{i}", {"accuracy": float(i * 10)}, status="failed" if i == 7 else "ok")
                 for task in ("mednli", "medqa") for i in range(10)]
        dirs.append(write_run(root / f"run{r}", f"SYNTHETIC/model-{r}", lines, protocol="clinicbench", shots=0))
    return dirs


def _listed(page: str) -> list[str]:
    return re.findall(r"SYNTHETIC-med\w+-\d+", page.split('id="samples"', 1)[1])


def test_the_report_lists_the_worst_of_each_within_the_budget_and_says_so(tmp_path: Path) -> None:
    dirs = _runs(tmp_path)
    whole = (build_report(dirs, tmp_path / "all")).read_text(encoding="utf-8")
    assert 'id="samples-budget"' not in whole  # 2 × 2 × (2 first + 1 failed + 2 lowest) = 20 rows ≤ 1,500
    page = html.unescape(build_report(dirs, tmp_path / "cut", samples_budget=6).read_text(encoding="utf-8"))
    listed = _listed(page)
    # limit 2 per run × task (the floor): items 0, 1, failed 7, lowest 2, 3 → worst first 7, 0, 1, 2, 3 (5 each, 20).
    # Budget 6 over 4 run × tasks: 1 each (its worst, the failed 7), one more (item 0) for the first two in order
    assert listed == ["SYNTHETIC-mednli-7", "SYNTHETIC-mednli-0", "SYNTHETIC-medqa-7", "SYNTHETIC-medqa-0",
                      "SYNTHETIC-mednli-7", "SYNTHETIC-medqa-7"]
    assert "6 rows listed of the 20 chosen" in page and "clue report --samples-budget 20" in page


def test_samples_budget_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirs = [str(d) for d in _runs(tmp_path)]
    assert main(["report", *dirs, "--out", str(tmp_path / "r"), "--samples-budget", "4"]) == 0
    page = html.unescape((tmp_path / "r" / "index.html").read_text(encoding="utf-8"))
    assert len(_listed(page)) == 4 and "4 rows listed of the 20 chosen" in page
    assert main(["report", *dirs, "--out", str(tmp_path / "r"), "--samples-budget", "0"]) != 0
    err = capsys.readouterr().err
    assert "--samples-budget" in err and "Traceback" not in err
