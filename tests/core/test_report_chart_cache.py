"""Charts kept beside the report (clue/report/chart_cache.py): a re-report over unchanged runs draws no chart and
writes the same bytes; after one run changed, only the charts whose data changed are drawn again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clue.report import build_report, chart_cache, charts
from tests.core.test_report_fixtures import sample, write_run


def _write(d: Path, model: str, lines: list[dict], shots: int) -> Path:
    write_run(d, model, lines, protocol="clinicbench", shots=shots, benchmark="clinicbench")
    scores = json.loads((d / "scores.json").read_text(encoding="utf-8"))
    (d / "scores.json").write_text(json.dumps({**scores, "shots": shots}), encoding="utf-8")  # as `clue run --shots` records
    return d


def _runs(root: Path) -> list[Path]:
    """Two models × 0/3-shot on two ClinicBench datasets: a per-dataset chart for each (its bars: every run)."""
    dirs = []
    for m, model in enumerate(("SYNTHETIC/a", "SYNTHETIC/b")):
        for shots in (0, 3):
            lines = [sample(task, f"SYNTHETIC-{task}-{i}", {"accuracy": 100.0 if (i + m + shots) % 3 else 0.0})
                     for task in ("mednli", "medqa") for i in range(12)]
            dirs.append(_write(root / f"{model.split('/')[1]}__{shots}shot", model, lines, shots))
    return dirs


@pytest.fixture()
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the charts matplotlib draws (every chart function starts by calling charts._plt)."""
    seen: list[str] = []
    real = charts._plt

    def counting():  # type: ignore[no-untyped-def]
        import inspect

        caller = inspect.stack()[1].function
        if caller != "_svg":  # _svg writes what its caller drew
            seen.append(caller)
        return real()

    monkeypatch.setattr(charts, "_plt", counting)
    import clue.report.forest as forest

    monkeypatch.setattr(forest, "_plt", counting)
    return seen


def test_a_re_report_draws_no_chart_and_writes_the_same_bytes(tmp_path: Path, drawn: list[str]) -> None:
    dirs = _runs(tmp_path / "runs")
    out = tmp_path / "report"
    first = build_report(dirs, out).read_bytes()  # nothing kept: every chart drawn
    assert drawn.count("setting_bars") == 2, drawn  # one per dataset
    kept = json.loads((out / chart_cache.NAME).read_text(encoding="utf-8"))["charts"]
    # each chart drawn is kept, but the forest plots: they are kept with their comparison beside the run (kept_pairs)
    assert sum('<svg' in svg for svg in kept.values()) == len([d for d in drawn if d != "forest"]) and "forest" in drawn
    drawn.clear()
    assert build_report(dirs, out).read_bytes() == first
    assert drawn == []
    assert build_report(dirs, tmp_path / "fresh").read_bytes() == first and drawn  # drawn afresh: the same bytes


def test_after_one_run_changed_only_its_charts_are_drawn_again(tmp_path: Path, drawn: list[str]) -> None:
    dirs = _runs(tmp_path / "runs")
    out = tmp_path / "report"
    build_report(dirs, out)
    drawn.clear()
    # a_3shot re-run: only medqa changed (every item right now); mednli's lines are as before
    changed = dirs[1]
    lines = [json.loads(ln) for ln in (changed / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    shutil.rmtree(changed)
    for ln in lines:
        if ln["task"] == "medqa":
            ln["scores"] = {"accuracy": 100.0}
    _write(changed, "SYNTHETIC/a", lines, 3)
    page = build_report(dirs, out).read_bytes()
    assert "setting_bars" in drawn and drawn.count("setting_bars") == 1  # medqa's chart; mednli's was kept
    assert page == build_report(dirs, tmp_path / "fresh").read_bytes()  # the same page as one drawn afresh


def test_a_damaged_kept_file_is_passed_over(tmp_path: Path, drawn: list[str]) -> None:
    dirs = _runs(tmp_path / "runs")
    out = tmp_path / "report"
    fresh = build_report(dirs, out).read_bytes()
    (out / chart_cache.NAME).write_text('{"layout": 1, "charts": [', encoding="utf-8")
    drawn.clear()
    assert build_report(dirs, out).read_bytes() == fresh and drawn
