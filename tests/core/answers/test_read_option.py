"""The option-letter reading rule (clue.answers.option) on realistic answers, each reading worked out by hand from
the rule in the module docstring. None = an extraction failure (counted, scored wrong) — never a guess."""

from __future__ import annotations

import pytest

from clue.answers import OptionLetter

OPTS = {"A": "Histiocytes", "B": "Monocytes", "C": "Lymphocytes", "D": "N K Cells"}
NONE_OPT = {"A": "Aspirin", "B": "Heparin", "C": "Warfarin", "D": "None of the above"}

TABLE = [
    # bare answers (the floors write these)
    ("C", "C"),
    ("C.", "C"),
    (" C. Collagen", "C"),
    ("(B)", "B"),
    ("(b)", "B"),
    ("b)", "B"),
    ("c", "C"),
    ("**A**", "A"),
    ("D: N K Cells", "D"),
    ("Option C", "C"),
    ("## Answer\nC", "C"),
    # explicit statements, any case after the key, markdown, parentheses
    ("Answer: B. Stability.", "B"),
    ("Answer: (d)", "D"),
    ("answer: d", "D"),
    ("My answer: c.", "C"),
    ("Answer:\n\nC", "C"),
    ("The correct answer is C: Lymphocytes.", "C"),
    ("**Answer:** C", "C"),
    ("**Answer: C**", "C"),
    ("Final answer: b)", "B"),
    ("**Final answer: (b)**", "B"),
    ("Final Answer: D.", "D"),
    ("Correct option: D", "D"),
    ("The best choice would be (D).", "D"),
    ("The most likely answer is C", "C"),
    ("The answer is D - N K Cells", "D"),
    ("The answer is Lymphocytes.", "C"),
    ("Answer: Monocytes", "B"),
    # a statement wins over other mentions, negated ones included
    ("Correct answer: C. Answer B is incorrect because monocytes circulate in blood.", "C"),
    ("The correct answer is (C) Lymphocytes; (A) Histiocytes is incorrect.", "C"),
    ("Therefore, the answer is C. Histiocytes (A) are tissue macrophages.", "C"),
    ("Sure! Let's think step by step. Option A is wrong because ... so the final answer is (C).", "C"),
    ("The answer is A. Lens.\n\nThe lens is derived from ectoderm ... Therefore, the answer is A. Lens.", "A"),
    ("Vitamin B12 deficiency is likely; the answer is D.", "D"),
    # statements that disagree or hedge
    ("The answer is B. Wait, on reflection the answer is C.", None),
    ("The answer is B or C.", None),
    ("The answer is not A.", None),
    ("The answer is a combination of factors.", None),
    ("The answer is E.", None),
    # no statement: marked letters and negations
    ("I would go with (C).", "C"),
    ("Option A is wrong. Option C is right.", "C"),
    ("A: wrong\nB: wrong\nC: right", "C"),
    ("(A) or (C), I cannot decide.", None),
    ("A. Histiocytes\nB. Monocytes\nC. Lymphocytes\nD. N K Cells", None),  # the options echoed
    ("Answer B is incorrect because monocytes are precursors.", None),  # only a rejection
    ("A 45-year-old man most likely has C", None),  # a capital in prose is not an option
    ("The most likely diagnosis is C", None),
    ("A patient like this needs more tests.", None),
    # option text without the letter
    ("I think the best choice is Lymphocytes, because they mediate adaptive immunity.", "C"),
    ("Lymphocytes", "C"),
    ("It is Lymphocytes, not Histiocytes.", "C"),
    ("Both Histiocytes and Monocytes are plausible.", None),
    # none of the above, empty, hedges
    ("None of the above.", None),
    ("The correct answer is none of the above.", None),
    ("", None),
    ("I am not sure.", None),
    ("It depends on the clinical context; more information is needed.", None),
]


@pytest.mark.parametrize("output, expected", TABLE)
def test_option_letter_table(output: str, expected: str | None) -> None:
    got = OptionLetter().read(output, {"options": OPTS})
    assert got.value == expected, got
    assert got.failed == (expected is None) and (got.reason != "") == got.failed


@pytest.mark.parametrize("output, expected", [
    ("None of the above", "D"),
    ("The answer is none of the above.", "D"),
    ("D. None of the above", "D"),
    ("Warfarin", "C"),
    ("Not warfarin; none of the above.", "D"),
])
def test_none_of_the_above_when_it_is_an_option(output: str, expected: str) -> None:
    assert OptionLetter().read(output, {"options": NONE_OPT}).value == expected


def test_the_table_is_large_enough_and_letters_come_from_the_item() -> None:
    assert len(TABLE) >= 40
    five = {**OPTS, "E": "Eosinophils"}
    assert OptionLetter().read("The answer is E.", {"options": five}).value == "E"
    assert OptionLetter("ABC").read("D", {}).failed  # without options the kind's own letters apply
    assert OptionLetter("ABC").read("(c)", {}).value == "C"


def test_accuracy_and_floor() -> None:
    kind = OptionLetter()
    assert kind.per_sample("B", "B") == {"accuracy": 100.0} and kind.per_sample(None, "B") == {"accuracy": 0.0}
    assert kind.floor(["B", "A", "B", "C"], [{}] * 4) == ["B"] * 4
    assert kind.floor(["C", "A"], [{}] * 2) == ["A", "A"]  # ties: alphabetical
    assert kind.from_json(" b ") == "B"
