"""Metrics against reference implementations: seqeval (entity F1), BLUE's HoC definition re-derived by hand,
micro-F1 over positive classes, drug-list F1, and ROUGE-L through rouge-score."""

from __future__ import annotations

import pytest

from clue.metrics import classify, ner
from clue.metrics.druglist import drug_prf, normalise_drug


def test_entity_f1_matches_seqeval_and_hand_count() -> None:
    from seqeval.metrics import classification_report  # the reference

    gold = [["B-Disease", "I-Disease", "O", "B-Disease"], ["O", "B-Disease", "I-Disease"]]
    pred = [["B-Disease", "I-Disease", "O", "O"], ["O", "B-Disease", "O"]]
    # hand: gold entities 3, predicted 2, exact matches 1 → P 1/2, R 1/3, F1 0.4
    got = ner.entity_prf(gold, pred)
    assert got["precision"] == pytest.approx(50.0) and got["recall"] == pytest.approx(100 / 3)
    assert got["f1"] == pytest.approx(40.0)
    assert "Disease" in classification_report(gold, pred, mode="strict", scheme=__import__("seqeval.scheme").scheme.IOB2)


def test_entity_f1_is_strict() -> None:
    gold = [["B-Disease", "I-Disease"]]
    assert ner.entity_prf(gold, [["I-Disease", "I-Disease"]])["f1"] == 0.0  # I without B starts no entity (strict IOB2)
    # token level counts both tokens as found
    assert ner.token_prf(gold, [["I-Disease", "I-Disease"]])["f1"] == pytest.approx(100.0)


def test_ner_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        ner.entity_prf([["O"]], [["O", "O"]])


def test_hoc_example_f1_by_hand() -> None:
    gold = [{"a", "b"}, {"c"}, {"a"}]
    pred = [{"a"}, {"c", "d"}, set()]
    # BLUE: P per doc = 1, 1/2, 0 → 0.5; R = 1/2, 1, 0 → 0.5; F = 2·.5·.5/(1) = 0.5
    got = classify.hoc_example_f1(gold, pred)
    assert got["precision"] == pytest.approx(50.0) and got["recall"] == pytest.approx(50.0) and got["f1"] == pytest.approx(50.0)
    # F1 of the averages, not the average of per-document F1s
    gold, pred = [{"a"}, {"a", "b", "c", "d"}], [{"a", "x", "y", "z"}, {"a"}]
    got = classify.hoc_example_f1(gold, pred)
    assert got["precision"] == pytest.approx(62.5) and got["recall"] == pytest.approx(62.5)
    assert got["f1"] == pytest.approx(62.5)  # mean of per-doc F1 would be 40.0
    assert classify.hoc_example_f1([set()], [set()])["f1"] == 100.0  # kit choice where BLUE divides by zero


def test_micro_f1_positive_classes() -> None:
    gold = ["effect", "none", "advise", "mechanism", "none"]
    pred = ["effect", "effect", "mechanism", None, "none"]
    # tp 1 (effect); fp: effect on none, mechanism on advise → 2; fn: advise, mechanism → 2
    got = classify.micro_f1(gold, pred, negative={"none"})
    assert got["precision"] == pytest.approx(100 / 3) and got["recall"] == pytest.approx(100 / 3)
    assert classify.micro_f1(["yes", "no"], ["yes", "no"], negative={"no"})["f1"] == 100.0


def test_accuracy_counts_failures_wrong() -> None:
    assert classify.accuracy(["A", "B", "C", "D"], ["A", None, "C", "A"]) == 50.0


def test_drug_normalisation_and_f1() -> None:
    assert normalise_drug("Alprazolam (Xanax)") == "alprazolam"
    assert normalise_drug(r"Tenecteplase \xe2\x80\x93 x") == "tenecteplase – x"
    got = drug_prf(["Lorazepam", "Alprazolam (Xanax)", "Clonazepam"], ["alprazolam", "LORAZEPAM", "aspirin", "ibuprofen"])
    assert got["precision"] == pytest.approx(50.0) and got["recall"] == pytest.approx(200 / 3)
    assert drug_prf(["a"], None)["f1"] == 0.0


def test_rouge_l_through_rouge_score() -> None:
    from rouge_score import rouge_scorer

    from clue.benchmarks.clinicbench.items import Item
    from clue.benchmarks.clinicbench.scoring import score

    ref, out = "No acute cardiopulmonary abnormality.", "No acute abnormality is seen."
    want = 100 * rouge_scorer.RougeScorer(["rougeL"]).score(ref, out)["rougeL"].fmeasure
    got = score("iu-xray", [Item("1", {"findings": "x"}, ref, "test")], [out])
    assert got.value == pytest.approx(want) and got.metric == "ROUGE-L"
