"""ClinicBench's behaviour, pinned: every request key of the bundled data and the baseline's scores.

`tests/benchmarks/clinicbench/pinned/clinicbench_keys_scores.json` is written by
`python -m tests.benchmarks.clinicbench.pinned.make_pinned` from the code. A key that changes means existing stores stop
resuming and a prompt or parameter drifted; a score that changes means loading or scoring drifted.
"""

from __future__ import annotations

import json

import pytest

from tests.benchmarks.clinicbench.pinned import make_pinned

PINNED = json.loads(make_pinned.PINNED.read_text())


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_pinned.request_keys(tmp_path_factory.mktemp("cb-pinned-keys"))


def test_every_request_key_is_unchanged(keys):
    assert set(keys) == set(PINNED["request_keys"])
    changed = sorted(label for label, k in keys.items() if k != PINNED["request_keys"][label])
    assert not changed, f"{len(changed)} combinations changed their request keys, e.g. {changed[:3]}"


def test_the_pin_covers_every_dataset_shots_mode_and_route(keys):
    assert len(keys) == 16 * 2 * 3 * 2
    assert sum(1 for v in keys.values() if v[0].startswith("ConfigError")) == 16 * 2  # base mode × messages route
    assert sum(len(v) for v in keys.values() if not v[0].startswith("ConfigError")) > 500


def test_baseline_scores_are_unchanged(tmp_path):
    assert make_pinned.baseline_scores(tmp_path) == PINNED["baseline_scores"]
