"""Today's CLUE behaviour, pinned: every request key of the synthetic data and the baseline's scores.

`tests/benchmarks/clue/pinned/clue_keys_scores.json` was written by `python -m tests.benchmarks.clue.pinned.make_pinned` from the code
before the benchmark-level refactor (issue 13). A key that changes means existing stores stop resuming
and a prompt or parameter drifted; a score that changes means scoring drifted. Fields added to
scores.json since are the only thing ignored: what the run was (`benchmark`, `synthetic`, `limit`, `shots`; per task
`limit`, `n_available`, `generation`, `credentialed`; issue 15's answer counts `n_empty`, `n_length`) —
records about the run, not scores. One user-error line was reworded since (issue 15: base-model prompts
also run on the openai completions route); REWORDED maps the pinned wording to today's, nothing else.
"""

from __future__ import annotations

import json

import pytest

from tests.benchmarks.clue.pinned import make_pinned

PINNED = json.loads(make_pinned.PINNED.read_text())
ADDED_RUN_FIELDS = ("benchmark", "synthetic", "limit", "shots")
ADDED_TASK_FIELDS = ("limit", "n_available", "generation", "credentialed", "n_empty", "n_length")
REWORDED = {"ConfigError: base-model prompts need the tgi engine — use --engine tgi or an instruct --mode":
            "ConfigError: base-model prompts need a route that takes the rendered prompt — use --engine tgi, or "
            "--route completions with openai, or an instruct --mode"}


def _pinned_key(label: str) -> list[str]:
    return [REWORDED.get(k, k) for k in PINNED["request_keys"][label]]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_pinned.request_keys(tmp_path_factory.mktemp("pinned-keys"))


def test_every_request_key_is_unchanged(keys):
    assert set(keys) == set(PINNED["request_keys"])
    changed = sorted(label for label, k in keys.items() if k != _pinned_key(label))
    assert not changed, f"{len(changed)} combinations changed their request keys, e.g. {changed[:3]}"


def test_the_pin_covers_every_task_profile_mode_and_route(keys):
    assert len(keys) == 6 * 3 * 3 * 2 * 2 * 2
    assert sum(len(v) for v in keys.values() if not v[0].startswith("ConfigError")) > 1000


def test_baseline_scores_are_unchanged(tmp_path):
    got = make_pinned.baseline_scores(tmp_path)
    for scores in got.values():
        for field in ADDED_RUN_FIELDS:
            scores.pop(field, None)
        for task in scores["tasks"].values():
            for field in ADDED_TASK_FIELDS:
                task.pop(field, None)
    assert got == PINNED["baseline_scores"]
