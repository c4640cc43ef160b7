"""The run record's environment computed ahead (in a thread, while `clue run` starts up) is the one computed on demand."""

from __future__ import annotations

import json
import threading

from clue import provenance


def test_a_prefetched_environment_is_the_one_computed_on_demand():
    provenance.prefetch_environment()
    ahead = provenance.environment()
    assert ahead == provenance.environment()  # the second call computes it afresh
    assert ahead["packages"]["clue-kit"] and ahead["python"]


def test_a_prefetch_that_fails_is_made_again_and_fails_the_usual_way(monkeypatch):
    calls = []

    def flaky() -> dict:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("no git here")
        return {"kit_version": "x"}

    monkeypatch.setattr(provenance, "_environment", flaky)
    provenance.prefetch_environment()
    assert provenance.environment() == {"kit_version": "x"} and len(calls) == 2


def test_the_first_request_goes_out_before_the_environment_is_computed(tmp_path, synthetic_dir, monkeypatch):
    """The record's environment (git calls, package look-ups) is computed while the requests are out, and joins the
    record at the end: run.json still starts with it. Here computing it waits until a request was sent — had the run
    computed it before its first request (as it once did, holding that request back), it would wait in vain (a
    safety timeout, then the order below fails the test)."""
    from clue import cli
    from clue.engines.baseline import BaselineEngine

    sent = threading.Event()
    order: list[str] = []
    answer = BaselineEngine.generate

    async def generate(self, request):
        sent.set()
        return await answer(self, request)

    def environment() -> dict:
        order.append("after a request was sent" if sent.wait(timeout=60) else "before any request was sent")
        return {"kit_version": "env-of-the-test", "git_sha": None, "python": "3", "platform": "test", "packages": {}}

    monkeypatch.setattr(provenance, "_environment", environment)
    monkeypatch.setattr(BaselineEngine, "generate", generate)
    out = tmp_path / "run"
    code = cli.main(["run", "--engine", "baseline", "--tasks", "meqsum", "--data-dir", str(synthetic_dir), "--out", str(out),
                     "--store", str(tmp_path / "s.sqlite"), "--no-progress", "--limit", "4"])
    assert code == 0
    assert order == ["after a request was sent"]
    record = json.loads((out / "run.json").read_text())
    assert list(record)[:5] == ["kit_version", "git_sha", "python", "platform", "packages"]
    assert record["kit_version"] == "env-of-the-test" and record["engine"]["kind"] == "baseline"
