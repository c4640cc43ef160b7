"""ROUGE-1/2/L F-measures per sample, as CLUE computes them (spec §2.7.1).

CLUE called HF `evaluate`'s rouge (a wrapper of Google's rouge-score 0.1.2) once per sample;
on one pair its bootstrap "mid" is that pair's F-measure, so calling rouge-score directly
per pair gives the same numbers without the Hub download `evaluate` needs. Settings: no
stemmer, rouge-score's default tokenizer (lower-case, non [a-z0-9] → space), rougeL =
sentence-level LCS (no newline splitting), F-measure with β = 1; an empty side scores 0.

Speed (`make bench`): every score comes from `RougeScorer.score` itself. `rouge_many` scores
a task's pairs once per distinct pair and, from `PARALLEL_MIN` distinct pairs on a machine with
more than one core, in worker processes (rouge-score is pure Python: threads would not help).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from rouge_score import rouge_scorer

ROUGE_KEYS = {"rouge1": "rouge1", "rouge2": "rouge2", "rougeL": "rougeL"}
PARALLEL_MIN = 2000  # below this, starting workers costs more than it saves (measured by `make bench`)
CHUNKS_PER_WORKER = 4  # small enough to balance long and short pairs, large enough to amortise pickling


# nltk's package init (rouge-score imports it for the Porter stemmer) pulls in SciPy (scipy.stats, scipy.sparse)
# and scikit-learn for features ROUGE never touches (collocation statistics, a transition parser, a classifier
# wrapper), each behind `try: … except ImportError` (nltk does not require either). With scipy.stats and sklearn
# hidden, loading rouge-score took ~0.6 s instead of ~1.3 s (`python -X importtime`); hiding all of SciPy (its
# sparse matrices come in through nltk's transition parser) cuts the process's CPU for that import from 0.46 s to
# 0.34 s, a tenth of a 1,000-item MeQSum `clue run`'s CPU. Hidden only while rouge-score loads and only if nothing
# imported them before; they import normally afterwards.
_NOT_FOR_ROUGE = ("scipy", "sklearn")


def _import_rouge_scorer():  # noqa: ANN202 - the module
    import importlib

    if "rouge_score.rouge_scorer" in sys.modules or "nltk" in sys.modules:
        return importlib.import_module("rouge_score.rouge_scorer")
    hidden = [name for name in _NOT_FOR_ROUGE if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError while set
    try:
        return importlib.import_module("rouge_score.rouge_scorer")
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def warm() -> None:
    """Import rouge-score now (a run calls this in a thread while its requests are in flight)."""
    _import_rouge_scorer()


@lru_cache(maxsize=4)
def _scorer(use_stemmer: bool) -> rouge_scorer.RougeScorer:
    # imports nltk: only when something is scored (or warmed), not at `clue run` start-up
    return _import_rouge_scorer().RougeScorer(list(ROUGE_KEYS.values()), use_stemmer=use_stemmer)


def rouge(prediction: str, reference: str, *, lowercase: bool = False, use_stemmer: bool = False) -> dict[str, float]:
    """ROUGE-1, ROUGE-2, ROUGE-L F-measures of one pair, in percent.

    `lowercase` lower-cases both sides first (a no-op with the default tokenizer, kept for
    profiles that pass custom text). rouge-score's argument order is (target, prediction).
    """
    if lowercase:
        prediction, reference = prediction.lower(), reference.lower()
    scores = _scorer(use_stemmer).score(reference, prediction)
    return {name: 100.0 * scores[key].fmeasure for name, key in ROUGE_KEYS.items()}


def _score_chunk(pairs: list[tuple[str, str]], lowercase: bool, use_stemmer: bool) -> list[dict[str, float]]:
    return [rouge(p, r, lowercase=lowercase, use_stemmer=use_stemmer) for p, r in pairs]


def default_workers(n_pairs: int) -> int:
    """Worker processes for `n_pairs` distinct pairs: 1 (in-process) below PARALLEL_MIN or on one core.
    `CLUE_SCORE_WORKERS` overrides (1 turns processes off)."""
    env = os.environ.get("CLUE_SCORE_WORKERS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if n_pairs < PARALLEL_MIN else max(1, min(cores, 8))


def _context() -> multiprocessing.context.BaseContext:
    # fork shares the imported rouge-score at no cost; it is only safe while this process runs one
    # thread (BERTScore's torch or a progress-bar thread may be alive): then forkserver.
    import threading

    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")


def rouge_many(predictions: Sequence[str], references: Sequence[str], *, lowercase: bool = False,
               use_stemmer: bool = False, workers: int | None = None) -> list[dict[str, float]]:
    """`rouge(p, r)` for every pair, in order: each distinct pair scored once, in processes when many."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    pairs = list(zip(predictions, references))
    distinct = list(dict.fromkeys(pairs))
    workers = default_workers(len(distinct)) if workers is None else workers
    if workers <= 1 or len(distinct) < 2:
        scored = _score_chunk(distinct, lowercase, use_stemmer)
    else:
        size = -(-len(distinct) // (workers * CHUNKS_PER_WORKER))
        chunks = [distinct[i:i + size] for i in range(0, len(distinct), size)]
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
            parts = pool.map(_score_chunk, chunks, [lowercase] * len(chunks), [use_stemmer] * len(chunks))
            scored = [row for part in parts for row in part]
    by_pair = dict(zip(distinct, scored))
    return [dict(by_pair[pair]) for pair in pairs]
