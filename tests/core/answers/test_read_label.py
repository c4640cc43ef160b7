"""The closed-label reading rule (clue.answers.label) on realistic answers — PubMedQA-style yes/no/maybe and DDI
relation types — each reading worked out by hand from the module docstring; and its accuracy / positive-class
F1 scoring against hand counts. None = an extraction failure, never a guess."""

from __future__ import annotations

import pytest

from clue.answers import ClosedLabel

YNM = ClosedLabel(("yes", "no", "maybe"))
DDI = ClosedLabel(("mechanism", "effect", "advise", "int", "none"),
                  {"advice": "advise", "no interaction": "none", "negative": "none"}, negative={"none"})

TABLE = [
    # bare and leading labels
    ("yes", "yes"),
    ("Yes.", "yes"),
    ("No", "no"),
    ("MAYBE", "maybe"),
    ("YES!", "yes"),
    ("(yes)", "yes"),
    ("**Yes**", "yes"),
    (" Yes.\n\nThe study found that MPV values were lower in the patient group ...", "yes"),
    ("No, the evidence does not support a benefit.", "no"),
    ("Maybe\n\nThe context discusses both conditions.", "maybe"),
    ("Yes - the trial met its primary endpoint.", "yes"),
    ("Maybe. There is some evidence, but it is not definitive; no firm conclusion.", "maybe"),
    # explicit statements win over prose mentions
    ("Based on the evidence provided, the answer is yes.", "yes"),
    ("Answer: no", "no"),
    ("**Answer:** Maybe", "maybe"),
    ("Final answer: NO.", "no"),
    ('The answer is "yes".', "yes"),
    ("Sure! The answer is: **No**", "no"),
    ("In conclusion: yes", "yes"),
    ("Answer: Yes\nExplanation: the study found no difference.", "yes"),
    (' Maybe.\n\nThe study found ... Therefore, the answer is ""maybe.""', "maybe"),
    ("The answer is maybe.\n\nThe context ... does not support a definitive answer of yes or no, and the answer is maybe.",
     "maybe"),
    ('Based on the evidence provided in the context, the answer to the question "Double reading of barium enemas: is it '
     'necessary?" is yes.\n\nThe study showed ... Therefore, the answer is yes, double reading is necessary.', "yes"),
    ("The answer is yes. Although some results showed no effect, the answer is yes.", "yes"),
    # statements that disagree, hedge or are negated
    ("The answer is yes. On second thought, the answer is no.", None),
    ("Answer: yes or no", None),
    ("The answer is yes/no.", None),
    ("Answer: yes, no or maybe", None),
    ("The answer is not yes.", None),
    # several labels without a statement; echoes of the instruction
    ("Yes and no: the evidence is mixed.", None),
    ("Yes, no, maybe", None),
    ("No. Yes.", None),
    ("yes.\n\nno.", None),
    ("It could be yes, it could be no.", None),
    ("Please answer with yes, no or maybe.", None),
    ("Answer yes or no.", None),
    ("Valid answers are yes, no or maybe. Answer yes or no if the evidence supports a definitive answer.", None),
    # a label only in prose is not an answer; one standing alone or closing the answer is
    ("There is no significant difference between the groups.", None),
    ("The study found no association.\n\nMaybe", "maybe"),
    ("The results are conflicting, so maybe.", "maybe"),
    ("The evidence suggests a definitive yes.", "yes"),
    ("The answer to this question is unclear.", None),
    ("I cannot determine this from the context.", None),
    ("", None),
]

DDI_TABLE = [
    ("mechanism", "mechanism"),
    ("The interaction type is: advice.", "advise"),
    ("Answer: effect", "effect"),
    ("int", "int"),
    ("None", "none"),
    ("No interaction.", "none"),
    ("negative", "none"),
    ("The relation is advise.", "advise"),
    ("The effect of the mechanism is unclear", None),
    ("Answer: mechanism or effect", None),
    ("mechanism, effect, advise, int, none", None),
]


@pytest.mark.parametrize("output, expected", TABLE)
def test_yes_no_maybe_table(output: str, expected: str | None) -> None:
    got = YNM.read(output, {})
    assert got.value == expected, got
    assert got.failed == (expected is None) and bool(got.reason) == got.failed


@pytest.mark.parametrize("output, expected", DDI_TABLE)
def test_ddi_table(output: str, expected: str | None) -> None:
    assert DDI.read(output, {}).value == expected


def test_tables_are_large_enough() -> None:
    assert len(TABLE) >= 40


def test_accuracy_without_a_negative_class() -> None:
    assert YNM.metrics == ("accuracy",) and YNM.corpus_keys == ()
    scores = [YNM.score(o, g, {}) for o, g in (("Yes.", "yes"), ("maybe", "no"), ("Yes and no", "no"), ("No", "no"))]
    assert [s["accuracy"] for s in scores] == [100.0, 0.0, 0.0, 100.0]
    assert YNM.aggregate(scores) == {"accuracy": 50.0}


def test_micro_f1_over_the_positive_types_by_hand() -> None:
    gold = ["effect", "none", "advise", "mechanism", "none"]
    pred = ["effect", "effect", "mechanism", None, "none"]
    # tp 1 (effect); fp: effect on none, mechanism on advise → 2; fn: advise, mechanism → 2 → P = R = F1 = 1/3
    per = [DDI.per_sample(p, g) for p, g in zip(pred, gold)]
    assert sum(s["tp"] for s in per) == 1 and sum(s["fp"] for s in per) == 2 and sum(s["fn"] for s in per) == 2
    got = DDI.aggregate(per)
    assert list(got) == ["f1", "precision", "recall"]
    assert got["precision"] == pytest.approx(100 / 3) and got["recall"] == pytest.approx(100 / 3) and got["f1"] == pytest.approx(100 / 3)


def test_gad_is_the_f1_of_the_yes_class() -> None:
    gad = ClosedLabel(("yes", "no"), negative={"no"})
    gold, pred = ["yes", "yes", "yes", "no", "no"], ["yes", "no", None, "yes", "no"]
    # tp 1; fp 1 (yes on no); fn 2 → P 1/2, R 1/3, F1 = 2·(1/2)(1/3)/(5/6) = 0.4
    got = gad.aggregate([gad.per_sample(p, g) for p, g in zip(pred, gold)])
    assert got == {"f1": pytest.approx(40.0), "precision": pytest.approx(50.0), "recall": pytest.approx(100 / 3)}
    with pytest.raises(ValueError):
        ClosedLabel(("yes", "no"), negative={"none"})


def test_bootstrap_replicates_go_through_from_means() -> None:
    import numpy as np

    reps = DDI.from_means({"tp": np.array([0.2, 0.0]), "fp": np.array([0.2, 0.0]), "fn": np.array([0.0, 0.0])})
    assert reps["precision"].tolist() == [50.0, 0.0] and reps["recall"].tolist() == [100.0, 0.0]
    assert reps["f1"][0] == pytest.approx(200 / 3) and reps["f1"][1] == 0.0


def test_floor_is_the_majority_label() -> None:
    assert YNM.floor(["no", "yes", "no"], [{}] * 3) == ["no"] * 3
    assert YNM.floor(["yes", "no"], [{}] * 2) == ["no", "no"]  # ties: alphabetical
