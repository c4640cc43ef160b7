"""`rouge_many` (a task's ROUGE in bulk: distinct pairs once, worker processes when many) returns
exactly what rouge-score gives pair by pair, in order, in-process or in processes."""

from __future__ import annotations

import random

import pytest

from clue.metrics import rouge as rouge_mod
from clue.metrics.rouge import rouge, rouge_many


def _pairs(n: int, seed: int = 1) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    vocab = "what is the cause of pain in my left knee after running 5 km ? Is it safe".split()
    preds = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 30))) for _ in range(n)]
    refs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 30))) for _ in range(n)]
    preds[3], refs[3] = preds[2], refs[2]  # a repeated pair
    return preds, refs


@pytest.mark.parametrize("workers", [1, 2])
def test_bulk_scores_equal_pair_by_pair_scores(workers):
    preds, refs = _pairs(300)
    for lowercase in (False, True):
        bulk = rouge_many(preds, refs, lowercase=lowercase, workers=workers)
        assert bulk == [rouge(p, r, lowercase=lowercase) for p, r in zip(preds, refs)]


def test_rows_are_independent_copies():
    preds, refs = ["a b"] * 3, ["a b"] * 3
    rows = rouge_many(preds, refs, workers=1)
    rows[0]["rougeL"] = -1.0
    assert rows[1]["rougeL"] == 100.0


def test_worker_count_follows_size_and_override(monkeypatch):
    monkeypatch.delenv("CLUE_SCORE_WORKERS", raising=False)
    assert rouge_mod.default_workers(rouge_mod.PARALLEL_MIN - 1) == 1
    monkeypatch.setenv("CLUE_SCORE_WORKERS", "1")
    assert rouge_mod.default_workers(10**6) == 1
    monkeypatch.setenv("CLUE_SCORE_WORKERS", "3")
    assert rouge_mod.default_workers(5) == 3


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        rouge_many(["a", "b"], ["a"])
