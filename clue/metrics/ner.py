"""NER counts per sentence: entity-level strict (seqeval, IOB2) and token-level true/false positives and negatives,
summed over sentences into micro P/R/F1 by the answer kinds (clue.answers.entities, clue.metrics.prf).

Entity level: seqeval's `mode="strict"` with the IOB2 scheme — an entity counts only when its type
and both boundaries match exactly; an "I-" tag without a preceding "B-" starts no entity. Micro
average over all sentences. Token level: every token is positive when its tag is not "O"
(type ignored), micro P/R/F1 over all tokens — the lenient figure for outputs whose boundaries
drift. A sentence whose extraction failed is scored with all-"O" predictions (it can only lose
recall) and counted by the caller.
"""

from __future__ import annotations

from typing import Sequence

# seqeval is imported where it is used: its metrics pull in scikit-learn (~1 s), which `clue run` must not pay
# at start-up (tests/core/test_startup.py)


def entity_counts(gold: Sequence[str], pred: Sequence[str]) -> tuple[int, int, int]:
    """(tp, fp, fn) of one sentence under the same strict IOB2 rule (seqeval's entity parser), so that
    summing them over sentences gives seqeval's strict micro figures (tested against seqeval)."""
    from seqeval.scheme import IOB2, Entities

    _check([gold], [pred])
    g = set(Entities([list(gold)], IOB2).entities[0])
    p = set(Entities([list(pred)], IOB2).entities[0])
    g_key, p_key = {e.to_tuple()[1:] for e in g}, {e.to_tuple()[1:] for e in p}
    tp = len(g_key & p_key)
    return tp, len(p_key) - tp, len(g_key) - tp


def token_counts(gold: Sequence[str], pred: Sequence[str]) -> tuple[int, int, int]:
    """(tp, fp, fn) of one sentence at token level (a token is positive iff its tag is not "O")."""
    _check([gold], [pred])
    tp = sum(g != "O" and p != "O" for g, p in zip(gold, pred))
    return tp, sum(p != "O" for p in pred) - tp, sum(g != "O" for g in gold) - tp


def _check(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
