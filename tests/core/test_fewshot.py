"""The core few-shot selection (clue/tasks/fewshot.py): every test item scored, leave-one-out exemplars that are never
the item itself, label-stratified draws whose mix cannot leak the item's label, several seeds in one split, --limit
per seed. Expected values are worked out by hand from the rule, not read back from the code."""

from __future__ import annotations

from collections import Counter

import pytest

from clue.errors import DataError
from clue.tasks import fewshot
from clue.types import Sample


def _items(labels: str | list[str]) -> list[Sample]:
    return [Sample(f"i{n:03d}", {"n": n}, lab) for n, lab in enumerate(labels)]


def _label(s: Sample) -> str:
    return s.reference


DRUG_INTERACTION = ["yes"] * 100 + ["no"] * 100  # the released file's layout: sorted by label


def test_zero_shot_scores_every_item_and_draws_nothing():
    items = _items("ABCD")
    split = fewshot.select(items, 0, [0])
    assert split.evaluated == items and split.shots == [] and split.n_shots == 0 and split.how == {"shots": 0}


def test_leave_one_out_scores_every_item_and_never_shows_an_item_its_own_answer():
    items = _items(DRUG_INTERACTION)
    split = fewshot.select(items, 3, [0], title="Drug Interaction")
    assert [s.id for s in split.evaluated] == [s.id for s in items]  # 200 of 200, in file order
    assert split.how == {"shots": 3, "pool": fewshot.LEAVE_ONE_OUT, "pool_size": 199, "seeds": [0]}
    for s in split.evaluated:
        own = [x.id for x in split.shots_for(s.id)]
        assert len(own) == len(set(own)) == 3 and s.id not in own


def test_two_labels_half_and_half_k2_gives_one_of_each_to_every_item():
    """floor(2 × 100/200) = 1 slot per label and nothing left to draw: exactly one yes and one no, whatever the item."""
    split = fewshot.select(_items(DRUG_INTERACTION), 2, [0], stratum=_label)
    assert split.how["stratified_by"]
    for s in split.evaluated:
        assert sorted(x.reference for x in split.shots_for(s.id)) == ["no", "yes"], s.id


def test_k3_mix_is_two_to_one_and_does_not_follow_the_items_own_label():
    """floor(3 × 1/2) = 1 each, the third slot to a label drawn 50:50. Computed from the shares of ALL items, the mix of
    a "yes" item's exemplars is drawn exactly as a "no" item's: it cannot leak the answer (leave-one-out shares would
    give every "yes" item 2 "no" exemplars)."""
    split = fewshot.select(_items(DRUG_INTERACTION), 3, [0], stratum=_label)
    extra = Counter()
    for s in split.evaluated:
        mix = Counter(x.reference for x in split.shots_for(s.id))
        assert sorted(mix.values()) == [1, 2], s.id
        extra[(s.reference, mix.most_common(1)[0][0])] += 1
    for own in ("yes", "no"):  # both mixes occur for items of either label
        assert extra[(own, "yes")] > 20 and extra[(own, "no")] > 20, extra


def test_a_skewed_label_set_gets_its_proportional_slots():
    """10 items, B ×6, A ×2, C, D; k = 5: quotas B 3.0, A 1.0, C 0.5, D 0.5 → 3 B, 1 A and one of C/D. The C item itself
    cannot have the only C: where C was drawn, its slot goes to a plain draw from the rest."""
    items = _items(list("BBBBBBAACD"))
    split = fewshot.select(items, 5, [0], stratum=_label)
    for s in split.evaluated:
        mix = Counter(x.reference for x in split.shots_for(s.id))
        if s.reference in "CD":
            assert mix["B"] >= 3 and mix["A"] >= 1 and mix[s.reference] == 0 and sum(mix.values()) == 5
        else:
            assert mix["B"] == 3 and mix["A"] == 1 and mix["C"] + mix["D"] == 1, (s.id, mix)


def test_a_draw_depends_on_the_seed_and_the_items_never_on_their_order():
    items = _items(DRUG_INTERACTION)
    a, again = fewshot.select(items, 3, [0], stratum=_label), fewshot.select(items, 3, [0], stratum=_label)
    reordered = fewshot.select(list(reversed(items)), 3, [0], stratum=_label)
    other = fewshot.select(items, 3, [1], stratum=_label)

    def sets(split):
        return {s.id: [x.id for x in split.shots_for(s.id)] for s in split.evaluated}

    assert sets(a) == sets(again)
    assert {i: sorted(v) for i, v in sets(reordered).items()} == {i: sorted(v) for i, v in sets(a).items()}
    changed = sum(1 for i, v in sets(other).items() if sorted(v) != sorted(sets(a)[i]))
    assert changed > 150  # 3 of 199: the same set twice by chance is rare


def test_train_dev_pool_gives_one_shared_draw_and_scores_every_test_item():
    test, pool = _items("ABCD"), [Sample(f"train{n}", {}, "A") for n in range(10)]
    split = fewshot.select(test, 3, [5], pool)
    assert split.evaluated == test and split.per_item is None and len(split.shots) == 3
    assert {s.id for s in split.shots} <= {s.id for s in pool}
    assert split.how == {"shots": 3, "pool": "train/dev", "pool_size": 10, "seeds": [5]}
    assert [s.id for s in fewshot.select(test, 3, [None], pool).shots] == ["train0", "train1", "train2"]  # unseeded: in order


def test_several_seeds_evaluate_every_item_once_per_seed_with_distinct_ids():
    items = _items(DRUG_INTERACTION[:6] + DRUG_INTERACTION[-6:])  # 12 items
    split = fewshot.select(items, 2, [0, 1, 2], stratum=_label)
    assert len(split.evaluated) == 36 and split.n_items == 12 and split.seeds() == [0, 1, 2]
    assert [s.id for s in split.evaluated[:2]] == ["i000@seed0", "i001@seed0"] and split.evaluated[12].id == "i000@seed1"
    assert len({s.id for s in split.evaluated}) == 36 and split.how["seeds"] == [0, 1, 2]
    single = {seed: fewshot.select(items, 2, [seed], stratum=_label) for seed in (0, 1, 2)}
    for s in split.evaluated:  # each seed's draw is exactly that seed's single-seed draw
        item, seed = s.id.split("@seed")
        assert split.draws[s.id] == int(seed)
        assert [x.id for x in split.shots_for(s.id)] == [x.id for x in single[int(seed)].shots_for(item)]
    limited = split.limited(2)
    assert [s.id for s in limited.evaluated] == [f"i00{n}@seed{seed}" for seed in (0, 1, 2) for n in (0, 1)]
    assert limited.n_items == 2


def test_several_seeds_over_a_train_pool_draw_one_shared_set_per_seed():
    test, pool = _items("AB"), [Sample(f"train{n}", {}, "A") for n in range(10)]
    split = fewshot.select(test, 3, [0, 1], pool)
    assert [s.id for s in split.evaluated] == ["i000@seed0", "i001@seed0", "i000@seed1", "i001@seed1"]
    assert split.shots_for("i000@seed0") == split.shots_for("i001@seed0") != split.shots_for("i000@seed1")
    assert split.shots_for("i000@seed0") == fewshot.select(test, 3, [0], pool).shots


def test_too_few_items_for_leave_one_out_is_one_clear_error():
    with pytest.raises(DataError, match=r"3 items, fewer than --shots 3 \+ 1"):
        fewshot.select(_items("ABC"), 3, [0], title="Tiny")
    with pytest.raises(DataError, match="negative"):
        fewshot.select(_items("ABC"), -1, [0])


def test_the_reports_fewshot_table_shows_pool_seeds_and_mean_sd():
    from clue.report.fewshot import fewshot_rows

    scores = {"tasks": {
        "zero": {"title": "Zero", "metrics": {"accuracy": 50.0}},
        "pq": {"title": "Pharmacology QA", "metrics": {"accuracy": 60.0},
               "fewshot": {"shots": 3, "pool": "leave-one-out", "pool_size": 212, "seeds": [0, 1, 2],
                           "pool_origin": "no train/dev split", "sd": {"accuracy": 10.0},
                           "per_seed": {"0": {"accuracy": 50.0}, "1": {"accuracy": 60.0}, "2": {"accuracy": 70.0}}}}}}
    assert fewshot_rows(scores) == [{"task": "Pharmacology QA", "shots": 3, "pool": "leave-one-out", "origin": "no train/dev split",
                                     "pool_size": 212, "seeds": "0, 1, 2",
                                     "spread": "accuracy 60.00 ± 10.00 (50.00, 60.00, 70.00)"}]


def test_an_evaluated_id_maps_back_to_its_item():
    assert fewshot.item_of(fewshot.seeded_id("test-12", 3)) == "test-12"
    assert fewshot.item_of("q@seedling") == "q@seedling" and fewshot.item_of("plain") == "plain"
