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


def test_rouge_score_loads_without_scipy_and_sklearn_which_import_normally_afterwards():
    """rouge-score's nltk import skips its optional SciPy / scikit-learn bridges (~0.8 s of every scoring run);
    both still import afterwards, and scoring is unchanged."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from clue.metrics.rouge import rouge\n"
            "r = rouge('a cat sat on the mat', 'the cat sat')\n"
            "assert 'nltk' in sys.modules and 'scipy' not in sys.modules and 'sklearn' not in sys.modules, sorted(sys.modules)\n"
            "import scipy.sparse, scipy.stats, sklearn\n"
            "assert scipy.sparse.csr_matrix([[0, 2]]).nnz == 1\n"
            "from seqeval.metrics import f1_score\n"
            "assert sys.modules['scipy.stats'] is not None and f1_score([['B-X', 'O']], [['B-X', 'O']]) == 1.0\n"
            "print(round(r['rouge1'], 4), round(r['rougeL'], 4))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["66.6667", "44.4444"]  # 3 of 3 reference words; LCS "cat sat"


def test_warming_scorers_in_a_thread_never_fails_a_run():
    from clue.evaluate import _warm

    calls = []

    class Boom:
        def warm(self):
            calls.append("boom")
            raise RuntimeError("no such module")

    class Fine:
        def warm(self):
            calls.append("fine")

    thread = _warm([Boom(), Fine()])
    thread.join(10)
    assert not thread.is_alive() and calls == ["boom", "fine"]


def test_a_task_warms_rouge_score_exactly_when_it_reports_rouge():
    import subprocess
    import sys

    code = ("import sys\n"
            "from clue.benchmark import get_benchmark\n"
            "get_benchmark('clue').tasks['mednli'].warm()\n"
            "assert 'rouge_score.rouge_scorer' not in sys.modules\n"
            "get_benchmark('clue').tasks['meqsum'].warm()\n"
            "assert 'rouge_score.rouge_scorer' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
