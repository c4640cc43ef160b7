"""NER scores: entity-level strict micro-F1 (seqeval, IOB2) and token-level F1 as a second figure.

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


def entity_prf(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Strict entity-level micro precision/recall/F1 in percent (seqeval)."""
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    _check(gold, pred)
    gold_l, pred_l = [list(g) for g in gold], [list(p) for p in pred]
    kw = dict(mode="strict", scheme=IOB2, average="micro", zero_division=0)
    return {"precision": 100.0 * precision_score(gold_l, pred_l, **kw),
            "recall": 100.0 * recall_score(gold_l, pred_l, **kw),
            "f1": 100.0 * f1_score(gold_l, pred_l, **kw)}


def token_prf(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Token-level micro precision/recall/F1 in percent (a token is positive iff its tag is not "O")."""
    _check(gold, pred)
    tp = fp = fn = 0
    for g_seq, p_seq in zip(gold, pred):
        for g, p in zip(g_seq, p_seq):
            g_pos, p_pos = g != "O", p != "O"
            tp += g_pos and p_pos
            fp += p_pos and not g_pos
            fn += g_pos and not p_pos
    return _prf(tp, fp, fn)


def entity_counts(gold: Sequence[str], pred: Sequence[str]) -> tuple[int, int, int]:
    """(tp, fp, fn) of one sentence under the same strict IOB2 rule (seqeval's entity parser), so that
    summing them over sentences gives `entity_prf`'s micro figures (tested against it)."""
    from seqeval.scheme import IOB2, Entities

    _check([gold], [pred])
    g = set(Entities([list(gold)], IOB2).entities[0])
    p = set(Entities([list(pred)], IOB2).entities[0])
    g_key, p_key = {e.to_tuple()[1:] for e in g}, {e.to_tuple()[1:] for e in p}
    tp = len(g_key & p_key)
    return tp, len(p_key) - tp, len(g_key) - tp


def token_counts(gold: Sequence[str], pred: Sequence[str]) -> tuple[int, int, int]:
    """(tp, fp, fn) of one sentence for `token_prf` (a token is positive iff its tag is not "O")."""
    _check([gold], [pred])
    tp = sum(g != "O" and p != "O" for g, p in zip(gold, pred))
    return tp, sum(p != "O" for p in pred) - tp, sum(g != "O" for g in gold) - tp


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": 100.0 * p, "recall": 100.0 * r, "f1": 100.0 * f}


def _check(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
