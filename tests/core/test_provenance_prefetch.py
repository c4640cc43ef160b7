"""The run record's environment computed ahead (in a thread, while `clue run` starts up) is the one computed on demand."""

from __future__ import annotations

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
