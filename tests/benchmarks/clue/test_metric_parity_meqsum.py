"""Metric parity on the real MeQSum text (../shared/data/meqsum; skipped when absent).

* Our ROUGE-1/2/L (own n-gram and bit-parallel LCS arithmetic over rouge-score's tokenizer) equals
  Google's rouge-score 0.1.2 `RougeScorer.score` called directly, pair by pair, to 1e-9, on all
  1,000 references against three kinds of prediction (the whole inquiry, its first question, the
  reference's words reversed).
* The task figure equals HF `evaluate`'s rouge averaging: per pair `use_aggregator=True` (what the
  TGI era did; on one pair the bootstrap "mid" is that pair's F-measure), or `use_aggregator=False`
  over all pairs (the vLLM era), then the per-sample F-measure mean — to 1e-9.
* The Q1 quirk (first evaluated sample counted twice) changes the mean exactly as spec §2.7.4 says:
  reported = (s₁ + Σ sᵢ) / (N + 1), i.e. plain mean + (s₁ − mean) / (N + 1).
"""

from __future__ import annotations

import dataclasses

import pytest
from rouge_score import rouge_scorer, scoring

from clue.benchmarks.clue.baselines import first_question
from clue.benchmarks.clue.protocol import CLUE_V3, CORRECTED
from clue.benchmarks.clue.tasks import TASKS
from clue.metrics.rouge import rouge

KEYS = ("rouge1", "rouge2", "rougeL")
MEQSUM = TASKS["meqsum"]


@pytest.fixture
def meqsum_pairs(real_meqsum_dir):
    samples = MEQSUM.load(real_meqsum_dir)
    assert len(samples) == 1000
    return samples


def predictions(samples, kind: str) -> list[str]:
    if kind == "inquiry":
        return [str(s.fields["CHQ"]) for s in samples]
    if kind == "first_question":
        return [first_question(str(s.fields["CHQ"])) for s in samples]
    return [" ".join(reversed(s.reference.split())) for s in samples]


@pytest.mark.parametrize("kind", ["inquiry", "first_question", "reversed_reference"])
def test_rouge_equals_rouge_score_on_every_real_pair(meqsum_pairs, kind):
    scorer = rouge_scorer.RougeScorer(list(KEYS), use_stemmer=False)
    worst = 0.0
    for sample, pred in zip(meqsum_pairs, predictions(meqsum_pairs, kind)):
        direct = scorer.score(sample.reference, pred)
        ours = rouge(pred, sample.reference)
        for key in KEYS:
            worst = max(worst, abs(ours[key] / 100 - direct[key].fmeasure))
    assert worst <= 1e-9


def test_task_mean_equals_evaluate_style_averaging(meqsum_pairs):
    """evaluate's rouge: use_aggregator=False → per-pair F-measures, averaged; the TGI era's per-pair
    use_aggregator=True call gives the same per-pair value (bootstrap of one score)."""
    split = MEQSUM.split(meqsum_pairs, CORRECTED)  # plain mean (Q1 off)
    preds = [first_question(str(s.fields["CHQ"])) for s in split.evaluated]
    scorer = rouge_scorer.RougeScorer(list(KEYS), use_stemmer=False)
    per_pair = [scorer.score(s.reference, p) for s, p in zip(split.evaluated, preds)]  # evaluate, use_aggregator=False
    ours = MEQSUM.aggregate(MEQSUM.score_all(preds, split.evaluated, CORRECTED), CORRECTED)
    for key in KEYS:
        expected = sum(score[key].fmeasure for score in per_pair) / len(per_pair)
        assert ours[key] / 100 == pytest.approx(expected, abs=1e-9)
    for score in per_pair[:25]:  # evaluate, use_aggregator=True on one pair: the "mid" is the pair's score
        aggregator = scoring.BootstrapAggregator()
        aggregator.add_scores(score)
        mid = aggregator.aggregate()
        for key in KEYS:
            assert mid[key].mid.fmeasure == pytest.approx(score[key].fmeasure, abs=1e-12)


def test_double_count_quirk_changes_the_mean_exactly_as_the_spec_formula(meqsum_pairs):
    v3 = CLUE_V3
    plain = dataclasses.replace(CLUE_V3, q1_double_count_first="off")
    split = MEQSUM.split(meqsum_pairs, v3)
    preds = [first_question(str(s.fields["CHQ"])) for s in split.evaluated]
    per_sample = MEQSUM.score_all(preds, split.evaluated, v3)
    with_quirk, without = MEQSUM.aggregate(per_sample, v3), MEQSUM.aggregate(per_sample, plain)
    n = len(per_sample)
    assert n == 997
    for key in KEYS:
        values = [row[key] for row in per_sample]
        s1, total = values[0], sum(values)
        assert with_quirk[key] == pytest.approx((s1 + total) / (n + 1), abs=1e-9)
        assert without[key] == pytest.approx(total / n, abs=1e-9)
        assert with_quirk[key] - without[key] == pytest.approx((s1 - total / n) / (n + 1), abs=1e-9)
        assert with_quirk[key] != without[key]  # the first real item is not exactly average: the quirk shows
