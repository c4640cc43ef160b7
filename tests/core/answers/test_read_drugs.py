"""The drug-list reading rule (clue.answers.drugs) on realistic Treatment Recommendation answers, each reading worked
out by hand from the module docstring; scoring against hand counts. None = an extraction failure."""

from __future__ import annotations

import pytest

from clue.answers import DrugList

TABLE = [
    ("Final Answer: Lorazepam", ("Lorazepam",)),
    ("Final Answer: Lorazepam.", ("Lorazepam",)),
    ("final answer: sertraline", ("sertraline",)),
    ("final answer:lorazepam", ("lorazepam",)),
    ("FINAL ANSWER: Sertraline; Fluoxetine", ("Sertraline", "Fluoxetine")),
    ("**Final Answer:** Sertraline", ("Sertraline",)),
    ("Final Answer: `Lorazepam`", ("Lorazepam",)),
    ('Final Answer: "Lorazepam"', ("Lorazepam",)),
    ("Final Answer: Lorazepam, Clonazepam and Buspirone.", ("Lorazepam", "Clonazepam", "Buspirone")),
    ("Final Answer: Lorazepam, Clonazepam, and Buspirone", ("Lorazepam", "Clonazepam", "Buspirone")),
    ("Final Answer: Lorazepam and Clonazepam", ("Lorazepam", "Clonazepam")),
    ("Final Answer: Sertraline; Paroxetine; Venlafaxine", ("Sertraline", "Paroxetine", "Venlafaxine")),
    ("Final Answer: 1. Metformin 2. Insulin", ("Metformin", "Insulin")),
    ("Final Answer: Alprazolam (Xanax)", ("Alprazolam (Xanax)",)),
    ("Final Answer: Levothyroxine (Synthroid), Liothyronine", ("Levothyroxine (Synthroid)", "Liothyronine")),
    ("Final Answer: Insulin, Aspart, Human (Novolog)", ("Insulin", "Aspart", "Human (Novolog)")),  # one line: commas split
    ("Final Answer:\nInsulin, Aspart, Human (Novolog)\nMetformin", ("Insulin, Aspart, Human (Novolog)", "Metformin")),
    ("Analysis: Panic disorder is treated with benzodiazepines and SSRIs.\n\nFinal Answer:\n1. Alprazolam (Xanax)\n"
     "2. Paroxetine\n3. Insulin, Aspart, Human (Novolog)", ("Alprazolam (Xanax)", "Paroxetine", "Insulin, Aspart, Human (Novolog)")),
    ("Analysis: ...\n\nFinal Answer:\n- Alprazolam\n- Sertraline", ("Alprazolam", "Sertraline")),
    ("Final Answer: * Lorazepam\n* Clonazepam", ("Lorazepam", "Clonazepam")),
    ("Final Answer:\n1) Sertraline\n2) Paroxetine", ("Sertraline", "Paroxetine")),
    ("Final Answer:\n\n1. Sertraline\n\n2. Paroxetine\n", ("Sertraline", "Paroxetine")),
    ("Final Answer:\n- Levothyroxine\n\nThese medications are used to treat hypothyroidism.", ("Levothyroxine",)),
    ("Final Answer: Sertraline / Paroxetine", ("Sertraline / Paroxetine",)),
    ("Final Answer: Amoxicillin/clavulanate", ("Amoxicillin/clavulanate",)),
    ("Final Answer: Hydrochlorothiazide 25 mg daily", ("Hydrochlorothiazide 25 mg daily",)),
    ("Final Answer: Lorazepam\n\nFinal Answer: Lorazepam", ("Lorazepam",)),
    ("Final Answer: Aspirin\nFinal answer: aspirin", ("aspirin",)),  # the same list after normalisation
    ("Final Answer: None", ()),
    ("Final Answer: N/A", ()),
    # failures
    ("Final Answer: Lorazepam\nFinal Answer: Sertraline", None),  # two different lists
    ("Sure! Here are some medications: Lorazepam.", None),
    ("Analysis: Panic disorder is treated with benzodiazepines.", None),
    ("The final answer is Lorazepam.", None),
    ("Final answer - Lorazepam", None),
    ("Answer: Lorazepam", None),
    ("Final Answer:", None),
    ("Final Answer:   \n  ", None),
    ("Final Answer: Provide the final answer, which should be a list of medications related to the symptom or disease.", None),
    ("Final Answer: <list of medications>", None),
    ("Final Answer: [list of medications]", None),
    ("", None),
    ("I'm sorry, I cannot give medical advice.", None),
]


@pytest.mark.parametrize("output, expected", TABLE)
def test_drug_list_table(output: str, expected: tuple[str, ...] | None) -> None:
    got = DrugList().read(output, {})
    assert got.value == expected, got
    assert got.failed == (expected is None)


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 40


def test_per_item_f1_by_hand_and_the_mean_over_items() -> None:
    kind = DrugList()
    # gold {lorazepam, alprazolam, clonazepam}; predicted {alprazolam, lorazepam, aspirin, ibuprofen}: tp 2 → P 1/2, R 2/3
    got = kind.score("Final Answer: alprazolam, LORAZEPAM, aspirin, ibuprofen", ("Lorazepam", "Alprazolam (Xanax)", "Clonazepam"), {})
    assert got == {"precision": pytest.approx(50.0), "recall": pytest.approx(200 / 3), "f1": pytest.approx(400 / 7)}
    failed = kind.score("no marker", ("Lorazepam",), {})
    assert failed == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert kind.aggregate([got, failed]) == {"f1": pytest.approx(200 / 7), "precision": 25.0, "recall": pytest.approx(100 / 3)}
    assert kind.corpus_keys == ()


def test_floor_is_the_most_frequent_gold_drug() -> None:
    golds = [("Sertraline", "Paroxetine"), ("Sertraline",), ("Lorazepam",)]
    assert DrugList().floor(golds, [{}] * 3) == ["Final Answer: Sertraline"] * 3
    assert DrugList().from_json(["a", "b"]) == ("a", "b") and DrugList().to_json(("a",)) == ["a"]
