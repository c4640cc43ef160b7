"""The end-of-task console line names unreadable answers apart from failed requests (issue: "accuracy 0.00 (10 scored,
0 failed)" when all 10 answers were unreadable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clue import cli
from clue.benchmarks.clinicbench import synthetic
from tests.fakeserver import FakeServer, constant_responder

MODEL = "some-org/some-instruct-model"


def _run(tmp_path: Path, srv: FakeServer, tasks: str) -> list[str]:
    data = synthetic.materialize(tmp_path / "data", ["pubmedqa", "gad"])
    code = cli.main(["run", "--benchmark", "clinicbench", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", MODEL,
                     "--tasks", tasks, "--data-dir", str(data), "--out", str(tmp_path / "run"),
                     "--store", str(tmp_path / "s.sqlite"), "--no-progress"])
    assert code == 0
    return [json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"][t] for t in tasks.split(",")]


def test_all_answers_unreadable_is_said_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(responder=constant_responder("Please answer with yes, no or maybe."), model_id=MODEL) as srv:
        (t,) = _run(tmp_path, srv, "pubmedqa")
    out = capsys.readouterr().out
    n = t["n"]
    assert n > 0 and t["extraction_failures"] == n and t["metrics"]["accuracy"] == 0.0
    assert f"{t['title']}: accuracy 0.00  ({n} scored, 0 requests failed, {n} answers unreadable)" in out


def test_readable_answers_count_zero_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(responder=constant_responder("Answer: yes"), model_id=MODEL) as srv:
        pubmedqa, gad = _run(tmp_path, srv, "pubmedqa,gad")
    out = capsys.readouterr().out
    for t in (pubmedqa, gad):
        assert t["extraction_failures"] == 0
        assert f"({t['n']} scored, 0 requests failed, 0 answers unreadable)" in out
