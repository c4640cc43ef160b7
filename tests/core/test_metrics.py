from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from clue.benchmarks.clue.tasks import TASKS
from clue.metrics.aggregate import task_mean, two_decimals
from clue.metrics.rouge import rouge


def test_rouge_equals_rouge_score_called_directly():
    pred, ref = "What causes nosebleeds at night in kids?", "What causes frequent nosebleeds at night in children?"
    direct = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False).score(ref, pred)
    ours = rouge(pred, ref)
    for key in ("rouge1", "rouge2", "rougeL"):
        assert ours[key] == pytest.approx(100 * direct[key].fmeasure, abs=1e-9)


def test_rouge_identity_and_empty():
    assert rouge("Who makes cetirizine?", "Who makes cetirizine?")["rougeL"] == pytest.approx(100.0)
    assert rouge("", "Who makes cetirizine?") == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    assert rouge("¿?", "¿?")["rouge1"] == 0.0  # no [a-z0-9] token on either side


def test_rouge_on_real_meqsum_matches_per_sample_mean(real_meqsum_dir):
    samples = TASKS["meqsum"].load(real_meqsum_dir)[:200]
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    preds = [s.fields["CHQ"][:80] for s in samples]
    expected = sum(scorer.score(s.reference, p)["rougeL"].fmeasure for s, p in zip(samples, preds)) / len(samples)
    ours = task_mean([rouge(p, s.reference)["rougeL"] for s, p in zip(samples, preds)])
    assert ours == pytest.approx(100 * expected, abs=1e-9)


def test_double_count_first_follows_the_spec_formula():
    values = [10.0, 20.0, 30.0, 40.0]
    assert task_mean(values) == pytest.approx(25.0)
    assert task_mean(values, double_count_first=True) == pytest.approx((10.0 + 100.0) / 5)
    assert task_mean([], double_count_first=True) is None


def test_two_decimals_quirk():
    assert two_decimals(31.4159) == pytest.approx(31.0)
    assert two_decimals(31.5) == pytest.approx(32.0)
