"""Issue 23 item 6: a hand-edited scores.json or samples.jsonl is never reported as a result.

run.json records a digest of each task's scores.json entry and samples.jsonl lines; `clue report` and
`clue verify` check them and refuse with one line unless --accept-edited, which marks what was edited.
Runs written before the digest existed still report, saying "no digest recorded".
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.conftest import run_clue


def _run(tmp_path: Path, out: str = "r", tasks: str = "mednli,meqsum") -> Path:
    proc = run_clue("run", "--engine", "baseline", "--synthetic", "--out", str(tmp_path / out), "--store",
                    str(tmp_path / "s.sqlite"), "--no-progress", "--tasks", tasks)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / out


def _edit_rouge(run: Path, value: float = 97.531) -> None:
    doc = json.loads((run / "scores.json").read_text())
    doc["tasks"]["meqsum"]["metrics"]["rougeL"] = value
    (run / "scores.json").write_text(json.dumps(doc, indent=2) + "\n")


def _report(run: Path, out: Path, *extra: str):
    return run_clue("report", str(run), "--out", str(out), "--bootstrap", "50", *extra)


def _one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_hand_edited_score_is_refused_by_report_and_verify(tmp_path):
    run = _run(tmp_path)
    _edit_rouge(run)
    line = _one_line_error(_report(run, tmp_path / "rep"))
    assert "MeQSum" in line and "scores.json" in line and "--accept-edited" in line
    assert not (tmp_path / "rep" / "index.html").exists()
    line = _one_line_error(run_clue("verify", str(run), "--bootstrap", "50"))
    assert "MeQSum" in line and "--accept-edited" in line


def test_a_scores_json_edited_out_of_shape_is_refused_in_one_line(tmp_path):
    """An edit that breaks scores.json's shape (a task's metrics as a list) is the same one-line refusal, not a
    traceback from the CIs the report starts while it loads the runs."""
    run = _run(tmp_path)
    doc = json.loads((run / "scores.json").read_text())
    doc["tasks"]["meqsum"]["metrics"] = [1.0]
    (run / "scores.json").write_text(json.dumps(doc, indent=2) + "\n")
    line = _one_line_error(_report(run, tmp_path / "rep"))
    assert "MeQSum" in line and "scores.json" in line and "--accept-edited" in line


def test_accept_edited_goes_on_and_marks_the_edited_cells(tmp_path):
    run = _run(tmp_path)
    _edit_rouge(run)
    proc = _report(run, tmp_path / "rep", "--accept-edited")
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "97.53" in html and "✎ edited" in html and "EDITED after the run: MeQSum (scores.json)" in html
    rows = list(csv.DictReader((tmp_path / "rep" / "results.csv").open()))
    meq = [r for r in rows if r["task"] == "MeQSum"]
    other = [r for r in rows if r["task"] == "MedNLI"]
    assert meq and all(r["edited"] == "True" for r in meq)  # the edited task's cells, and only they
    assert other and all(r["edited"] == "False" for r in other)
    rouge = next(r for r in meq if r["metric"] == "rougeL")
    assert float(rouge["value"]) == 97.531
    proc = run_clue("verify", str(run), "--bootstrap", "50", "--accept-edited", "--all")
    assert proc.returncode in (0, 1, 4), proc.stderr
    meq_lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("MeQSum")]
    assert meq_lines and all("EDITED" in ln for ln in meq_lines), proc.stdout
    assert not any("EDITED" in ln for ln in proc.stdout.splitlines() if ln.strip().startswith("MedNLI"))


def test_an_edited_sample_line_is_caught_too(tmp_path):
    run = _run(tmp_path)
    lines = (run / "samples.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row["scores"] = {k: 100.0 for k in row["scores"]} or {"accuracy": 100.0}
    lines[0] = json.dumps(row)
    (run / "samples.jsonl").write_text("\n".join(lines) + "\n")
    line = _one_line_error(_report(run, tmp_path / "rep"))
    assert "MedNLI" in line and "samples.jsonl" in line


def test_reformatting_is_not_an_edit_and_accumulated_tasks_keep_their_digests(tmp_path):
    run = _run(tmp_path, tasks="mednli")
    _run(tmp_path, tasks="meqsum")  # a second task into the same directory
    doc = json.loads((run / "scores.json").read_text())
    (run / "scores.json").write_text(json.dumps(doc, sort_keys=True))  # same values, other layout
    proc = _report(run, tmp_path / "rep")
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "no digest" not in html.lower() and "✎ edited" not in html
    # an edit to the earlier task is still caught after the later task's run rewrote run.json
    doc["tasks"]["mednli"]["metrics"]["accuracy"] = 99.0
    (run / "scores.json").write_text(json.dumps(doc))
    assert "MedNLI" in _one_line_error(_report(run, tmp_path / "rep2"))


def test_a_run_from_before_digests_still_reports_and_says_so(tmp_path):
    run = _run(tmp_path)
    record = json.loads((run / "run.json").read_text())
    record.pop("digests", None)
    (run / "run.json").write_text(json.dumps(record))
    proc = _report(run, tmp_path / "rep")
    assert proc.returncode == 0, proc.stderr
    assert "no digest recorded" in (tmp_path / "rep" / "index.html").read_text()
    proc = run_clue("verify", str(run), "--bootstrap", "50")
    assert proc.returncode == 4, proc.stderr
    assert "no digest recorded" in proc.stdout + proc.stderr
