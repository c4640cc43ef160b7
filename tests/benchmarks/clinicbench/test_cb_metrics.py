"""ClinicBench's metrics against hand counts and reference implementations: BLUE's HoC definition re-derived by hand,
drug-list F1 and normalisation, ROUGE-L through rouge-score; and the one P/R/F1 implementation (clue.metrics.prf)."""

from __future__ import annotations

import pytest

from clue.benchmarks.clinicbench.datasets import HOC, get
from clue.metrics import prf
from clue.metrics.druglist import drug_prf, normalise_drug


def _hoc(gold: list[set[str]], pred: list[set[str] | None]) -> dict:
    return HOC.aggregate([HOC.per_sample(None if p is None else frozenset(p), frozenset(g)) for g, p in zip(gold, pred)])


def test_hoc_example_f1_by_hand() -> None:
    gold = [{"a", "b"}, {"c"}, {"a"}]
    pred = [{"a"}, {"c", "d"}, set()]
    # BLUE: P per doc = 1, 1/2, 0 → 0.5; R = 1/2, 1, 0 → 0.5; F = 2·.5·.5/(1) = 0.5
    got = _hoc(gold, pred)
    assert got == {"f1": pytest.approx(50.0), "precision": pytest.approx(50.0), "recall": pytest.approx(50.0)}
    # F1 of the averages, not the average of per-document F1s
    got = _hoc([{"a"}, {"a", "b", "c", "d"}], [{"a", "x", "y", "z"}, {"a"}])
    assert got["precision"] == pytest.approx(62.5) and got["recall"] == pytest.approx(62.5)
    assert got["f1"] == pytest.approx(62.5)  # mean of per-doc F1 would be 40.0
    assert _hoc([set()], [set()])["f1"] == 100.0  # kit choice where BLUE divides by zero
    assert _hoc([set(), {"a"}], [{"a"}, {"a"}]) == {"f1": pytest.approx(200 / 3), "precision": 50.0, "recall": 100.0}
    assert _hoc([set()], [None]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}  # a failed read is never "none"


def test_hoc_answer_fields_and_floor_use_the_prompts_names() -> None:
    gold = frozenset({"resisting cell death", "sustaining proliferative signaling"})
    assert HOC.answer_fields(gold, {}) == {"answer": ["1. Sustaining proliferative signaling (PS)", "3. Resisting cell death (CD)"]}
    assert HOC.answer_fields(frozenset(), {}) == {"answer": ["none"]}
    assert HOC.floor([gold, gold, frozenset()], [{}] * 3) == ["3. Resisting cell death (CD), 1. Sustaining proliferative signaling (PS)"] * 3
    assert HOC.read(HOC.floor([gold], [{}])[0], {}).value == gold


def test_drug_normalisation_and_f1() -> None:
    assert normalise_drug("Alprazolam (Xanax)") == "alprazolam"
    assert normalise_drug(r"Tenecteplase \xe2\x80\x93 x") == "tenecteplase – x"
    got = drug_prf(["Lorazepam", "Alprazolam (Xanax)", "Clonazepam"], ["alprazolam", "LORAZEPAM", "aspirin", "ibuprofen"])
    assert got["precision"] == pytest.approx(50.0) and got["recall"] == pytest.approx(200 / 3)
    assert drug_prf(["a"], None)["f1"] == 0.0


def test_rouge_l_through_rouge_score() -> None:
    from rouge_score import rouge_scorer

    ref, out = "No acute cardiopulmonary abnormality.", "No acute abnormality is seen."
    want = 100 * rouge_scorer.RougeScorer(["rougeL"]).score(ref, out)["rougeL"].fmeasure
    kind = get("iu-xray").answer
    assert kind.score(f"  {out}\n", ref, {})["rougeL"] == pytest.approx(want)
    assert kind.read("   ", {}).failed and kind.score("", ref, {})["rougeL"] == 0.0
    assert kind.floor([ref], [{"findings": "Lungs clear."}]) == ["Lungs clear."]


def test_prf_by_hand_on_floats_and_arrays() -> None:
    import numpy as np

    assert prf.from_counts(1, 2, 2) == {"precision": pytest.approx(100 / 3), "recall": pytest.approx(100 / 3), "f1": pytest.approx(100 / 3)}
    assert prf.from_counts(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert prf.from_counts(2, 0, 6) == {"precision": 100.0, "recall": 25.0, "f1": 40.0}
    assert prf.from_ratios(0.5, 0.25) == {"precision": 50.0, "recall": 25.0, "f1": pytest.approx(100 / 3)}
    arr = prf.from_counts(np.array([1.0, 0.0, 2.0]), np.array([2.0, 0.0, 0.0]), np.array([2.0, 0.0, 6.0]))
    assert arr["f1"].tolist() == pytest.approx([100 / 3, 0.0, 40.0])
    assert arr["f1"][0] == prf.from_counts(1, 2, 2)["f1"]  # the same operations: bit-identical
