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


# --- the one announced change: every test item scored (issue 22), proven against the pin taken before it -------------
BEFORE = json.loads((make_pinned.HERE / "before_fewshot_redesign.json").read_text())  # the pin of commit 4d6af63
WITH_POOL = {"gad", "hoc", "ddi", "iu-xray"}  # the bundled data ships their train split; the other 12 had 5 held out


def _by_id(entries: list[str]) -> dict[str, str]:
    return dict(e.split(" ", 1) for e in entries)


def test_the_redesign_adds_exactly_the_held_out_items_and_keeps_every_zero_shot_key():
    before, now = BEFORE["request_keys"], PINNED["request_keys"]
    assert set(before) == set(now)
    added_per_dataset: dict[str, set[frozenset[str]]] = {}
    for label, old in before.items():
        name, shots, _, _ = label.split("|")
        if old[0].startswith("ConfigError"):
            assert now[label] == old
            continue
        old_ids, new_ids = [e.split()[0] for e in old], [e.split()[0] for e in now[label]]
        assert [i for i in new_ids if i in set(old_ids)] == old_ids  # nothing lost, file order kept
        added_per_dataset.setdefault(name, set()).add(frozenset(set(new_ids) - set(old_ids)))
        if shots == "0" and name != "bc5-disease":  # bc5: below
            new = _by_id(now[label])
            assert all(new[i] == k for i, k in _by_id(old).items()), label
        if name in WITH_POOL:
            assert now[label] == old, label  # train/dev exemplars: nothing changed, 3-shot included
    for name, added in added_per_dataset.items():
        assert len(added) == 1, name  # the same items in every setting
        assert len(next(iter(added))) == (0 if name in WITH_POOL else 5), name
    assert len(added_per_dataset) == 16


def test_bc5_zero_shot_keys_change_only_by_the_paragraph_number(tmp_path):
    """BC5's prompt numbers its paragraph (`Paragraph: <i>`): i was the item's position among the scored items and is
    now its position in the test file. Rebuilt with the old numbers, every old key comes back."""
    from clue.benchmarks.clinicbench.tasks import TASKS
    from clue.tasks import BuildContext, Split
    from clue.types import Endpoint, Sample

    task, protocol = TASKS["bc5-disease"], make_pinned._protocol()
    data_dir, template = make_pinned._materialize(tmp_path / "bundled"), make_pinned._template(tmp_path)
    split = task.prepare(data_dir, protocol, 0)
    for label, old in BEFORE["request_keys"].items():
        name, shots, mode, send = label.split("|")
        if name != "bc5-disease" or shots != "0" or old[0].startswith("ConfigError"):
            continue
        old_ids = [e.split()[0] for e in old]
        renumbered = [Sample(s.id, {**s.fields, "index": old_ids.index(s.id)}, s.reference) for s in split.evaluated if s.id in old_ids]
        ctx = BuildContext(endpoint=Endpoint("tgi" if send == "prompt" else "openai", make_pinned.MODEL, "0123abcd"),
                           profile=protocol, mode=mode, send=send, chat_template=template if send == "prompt" and mode != "base" else None)
        assert [f"{r.sample_id} {r.key}" for r in task.build(Split([], renumbered), ctx)] == old, label


def test_baseline_scores_change_only_where_items_were_added():
    for shots, old_run in BEFORE["baseline_scores"].items():
        new_run = PINNED["baseline_scores"][shots]
        assert {k: v for k, v in new_run.items() if k != "tasks"} == {k: v for k, v in old_run.items() if k != "tasks"}
        for name, old in old_run["tasks"].items():
            new = dict(new_run["tasks"][name])
            fewshot = new.pop("fewshot", None)
            assert (fewshot is not None) == (shots == "3"), name  # the draw is recorded where there is one
            if name in WITH_POOL:
                assert new == old, name
                continue
            for n in ("n", "n_scored", "n_available"):
                assert new.pop(n) == old.pop(n) + 5, name
            new.pop("metrics"), old.pop("metrics")
            assert new == old, name
