"""`clue run` and `clue report` as programs leave at once after writing their files (no interpreter teardown), with everything they
printed and the exit status returned; other commands, and calls from Python, end the usual way."""

from __future__ import annotations

import json

from clue import cli
from tests.conftest import run_clue
from tests.core.test_e2e import MODEL, invented_meqsum, tgi_args
from tests.fakeserver import FakeServer, constant_responder


def test_the_summary_is_printed_whole_and_the_status_kept_when_requests_failed(tmp_path):
    data = invented_meqsum(tmp_path, n=30)
    plan = [None] + ["500", None] * 20  # the first succeeds (fail-fast probe), then every other one fails once, for good
    with FakeServer(responder=constant_responder("What helps knee pain?"), fault_plan=plan, model_id=MODEL) as srv:
        proc = run_clue(*tgi_args(srv, tmp_path, data), "--max-attempts", "1", "--max-failures", "0", "--concurrency", "1")
    assert proc.returncode == cli.EXIT_FAILURES, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("MeQSum: rougeL") and out[-1] == f"run written to {tmp_path / 'run'}"
    assert "request(s) failed" in proc.stderr.splitlines()[-1]
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert sum(ln["status"] == "failed" for ln in lines) == 13 and json.loads((tmp_path / "run" / "run.json").read_text())["stats"]["failed"] == 13


def test_a_run_called_from_python_returns_to_its_caller(tmp_path):
    code = cli.main(["run", "--engine", "baseline", "--tasks", "meqsum", "--synthetic", "--no-progress", "--out", str(tmp_path / "r"),
                     "--store", str(tmp_path / "s.sqlite")])
    assert code == 0 and (tmp_path / "r" / "scores.json").is_file()


def test_a_report_program_leaves_at_once_with_its_files_whole(tmp_path):
    """`clue report` as a program also leaves without tearing down: its line printed, status 0, the report folder
    complete (index.html and results.csv, written as one unit before it returns)."""
    run = tmp_path / "r"
    assert cli.main(["run", "--engine", "baseline", "--tasks", "meqsum", "--synthetic", "--no-progress", "--out", str(run),
                     "--store", str(tmp_path / "s.sqlite")]) == 0
    proc = run_clue("report", str(run), "--out", str(tmp_path / "rep"), "--bootstrap", "50")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"report written to {tmp_path / 'rep' / 'index.html'} (and {tmp_path / 'rep' / 'results.csv'})"
    html = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>") and (tmp_path / "rep" / "results.csv").read_text(encoding="utf-8").startswith("run,")
