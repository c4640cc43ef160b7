"""ROUGE as the kit computes it (bit-parallel LCS, Counter n-gram overlap on rouge-score's own tokens)
gives exactly — not approximately — rouge-score 0.1.2's floats, on random and adversarial pairs."""

from __future__ import annotations

import random

from rouge_score import rouge_scorer

from clue.metrics.rouge import lcs_length, rouge


def _dp_lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def test_bit_parallel_lcs_equals_the_dynamic_programme():
    rng = random.Random(0)
    for _ in range(2000):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]  # > 64 tokens crosses a machine word
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 70))]
        assert lcs_length(a, b) == _dp_lcs(a, b)


def test_scores_are_identical_to_rouge_score():
    rng = random.Random(1)
    vocab = "what is the cause of pain in my left knee after running 5 km ? Is it safe".split()
    pairs = [("", "x"), ("x", ""), ("¿?", "¿?"), ("a a a a b", "a b a a"), ("The THE the", "the"),
             ("e-mail co-pay", "email copay"), ("what's 10mg?", "What is 10 mg")]
    pairs += [(" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))),
               " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40)))) for _ in range(3000)]
    for stem in (False, True):
        direct = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=stem)
        for pred, ref in pairs:
            ours, theirs = rouge(pred, ref, use_stemmer=stem), direct.score(ref, pred)
            assert ours == {k: 100.0 * theirs[k].fmeasure for k in ("rouge1", "rouge2", "rougeL")}, (pred, ref)
