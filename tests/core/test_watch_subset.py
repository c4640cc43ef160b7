"""clue/watch_subset.py: the paired sample size against published and hand-worked values, its power by simulation,
the proportional allocation and the seeded stratified draw.

References. Connor (1987, Biometrics 43:207–211, p. 209) — the example reproduced by powerandsamplesize.com's
"Compare Paired Proportions: McNemar's Z-test, 2-Sided" (p01 = 0.45, p10 = 0.05, α 0.05, β 0.20 → n = 23), i.e.
a net change of 40 points with 50 % of items discordant. Worked by hand (z_{0.975} = 1.959964, z_{0.8} = 0.841621):
    detect 5, ψ 10 %: (1.959964·0.316228 + 0.841621·√0.0975)² / 0.05² = (0.619795 + 0.262796)² / 0.0025 = 311.59 → 312
    detect 5, ψ  5 %: (1.959964·0.223607 + 0.841621·√0.0475)² / 0.0025 = (0.438262 + 0.183427)² / 0.0025 = 154.60 → 155
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from clue.errors import ConfigError
from clue.tasks.fewshot import Split
from clue.types import Sample
from clue.watch_subset import Design, WatchSubset, allocate, choose, gold_labels, items_needed, power_at


def test_connors_published_example():
    assert items_needed(40, 0.8, 0.05, 50) == 23


@pytest.mark.parametrize("detect, psi, n", [(5, 10, 312), (5, 5, 155), (10, 20, 155)])
def test_sizes_worked_out_by_hand(detect, psi, n):
    assert items_needed(detect, 0.8, 0.05, psi) == n


def test_default_discordance_is_twice_the_change_and_more_power_or_a_smaller_alpha_costs_items():
    assert items_needed(5) == items_needed(5, discordance=10) == 312
    assert items_needed(5, power=0.9) > 312 and items_needed(5, alpha=0.01) > 312 and items_needed(3) > 312


def test_power_at_the_size_is_just_reached():
    n = items_needed(5, 0.8, 0.05, 10)
    assert power_at(n, 5, 0.05, 10) >= 0.8 > power_at(n - 1, 5, 0.05, 10)


def test_the_size_has_its_power_under_mcnemars_test_by_simulation():
    """Draw paired outcomes with p10 = 7.5 %, p01 = 2.5 % (net 5 points, ψ 10 %) on 312 items; McNemar's z test at
    two-sided 5 % (|b − c| / √(b + c) > 1.96) should reject in about 80 % of 20,000 series (SE 0.3 %); the normal
    approximation is a little conservative (this draw: 82.3 %)."""
    rng = np.random.default_rng(7)
    cells = rng.multinomial(312, [0.075, 0.025, 0.9], size=20_000)
    b, c = cells[:, 0], cells[:, 1]
    z = np.abs(b - c) / np.sqrt(np.maximum(b + c, 1))
    assert 0.78 <= float(np.mean(z > 1.959964)) <= 0.85


def test_largest_remainder_allocation():
    assert allocate({"a": 50, "b": 30, "c": 20}, 7) == {"a": 4, "b": 2, "c": 1}  # 3.5, 2.1, 1.4: the .5 gets the seventh
    assert allocate({"x": 10, "y": 10, "z": 10}, 4) == {"x": 2, "y": 1, "z": 1}  # a three-way tie: text order
    assert allocate({"big": 90, "small": 10}, 5) == {"big": 5, "small": 0}  # 4.5 / 0.5: tie broken to the larger stratum
    assert allocate({"a": 3, "b": 2}, 9) == {"a": 3, "b": 2}  # never more than a stratum holds
    for n in range(0, 101):
        out = allocate({"p": 61, "q": 27, "r": 12}, n)
        assert sum(out.values()) == n and all(abs(out[k] - n * v / 100) < 1 for k, v in {"p": 61, "q": 27, "r": 12}.items())


class FakeTask:
    name, title = "t", "T"

    def stratum(self, sample):
        return None


def samples(labels: list[str]) -> list[Sample]:
    return [Sample(id=str(i), fields={}, reference=lab) for i, lab in enumerate(labels)]


def test_stratified_draw_is_proportional_seeded_and_in_file_order():
    items = samples(["yes"] * 600 + ["no"] * 300 + ["maybe"] * 100)
    design = Design(5.0)  # 312 items: 187.2 / 93.6 / 31.2 → 187, 94, 31 (the .6 takes the last)
    got = choose(FakeTask(), items, design)
    ref = {s.id: s.reference for s in items}
    counts = {lab: sum(1 for i in got["ids"] if ref[i] == lab) for lab in ("yes", "no", "maybe")}
    assert got["n"] == 312 and counts == {"yes": 187, "no": 94, "maybe": 31}
    assert got["ids"] == sorted(got["ids"], key=int) and len(set(got["ids"])) == 312
    assert choose(FakeTask(), items, design)["ids"] == got["ids"]  # the same seed: the same items
    other = choose(FakeTask(), items, Design(5.0, seed=1))["ids"]
    assert other != got["ids"] and len(other) == 312


def test_a_small_task_takes_all_and_says_its_power():
    got = choose(FakeTask(), samples(["a", "b"] * 50), Design(5.0))
    assert (got["n"], got["n_needed"], got["n_available"]) == (100, 312, 100)
    assert got["power"] == pytest.approx(power_at(100, 5.0), abs=1e-4) and got["power"] < 0.5


def test_free_text_is_one_stratum_and_a_few_labels_are_strata():
    assert gold_labels(FakeTask(), samples([f"summary {i}" for i in range(50)])) is None
    assert gold_labels(FakeTask(), samples(["a", "b", "c"] * 10)) == ["a", "b", "c"] * 10
    told = SimpleNamespace(name="t", title="T", stratum=lambda s: "L" + s.reference[-1])
    assert gold_labels(told, samples(["x1", "y2"])) == ["L1", "L2"]  # the task's own stratum wins


def test_a_stored_subset_refuses_another_design_or_other_items():
    items = samples(["a", "b"] * 200)
    split = Split(shots=[], evaluated=items)
    first = WatchSubset(Design(10.0))
    kept = first(FakeTask(), split)
    assert len(kept.evaluated) == 155
    stored = first.record(with_ids=True)
    again = WatchSubset(Design(10.0), stored)
    assert [s.id for s in again(FakeTask(), split).evaluated] == [s.id for s in kept.evaluated]
    with pytest.raises(ConfigError, match="sized with other settings"):
        WatchSubset(Design(10.0, power=0.9), stored)
    changed = Split(shots=[], evaluated=items[1:])  # the data lost an item: another draw
    with pytest.raises(ConfigError, match="items differ from this series' subset"):
        WatchSubset(Design(10.0), stored)(FakeTask(), changed)


def test_several_seed_lines_are_one_item():
    lines = [Sample(id=f"{i}@seed{s}", fields={}, reference="ab"[i % 2]) for i in range(100) for s in (0, 1)]
    kept = WatchSubset(Design(10.0))(FakeTask(), Split(shots=[], evaluated=lines))
    items = {s.id.split("@")[0] for s in kept.evaluated}
    assert len(items) == 100 and len(kept.evaluated) == 200  # 155 needed, 100 items: all, with both seeds' lines
