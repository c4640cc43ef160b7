"""Classification scores in percent: accuracy, micro-F1 over positive classes, BLUE's HoC example-based F1.

A failed extraction is passed as `None`: for accuracy it is wrong; for micro-F1 it is "no positive
prediction" (it costs recall, never precision); for HoC it is the empty label set. Callers count
failures separately (clue.metrics.extract).
"""

from __future__ import annotations

from typing import Collection, Hashable, Sequence


def accuracy(gold: Sequence[Hashable], pred: Sequence[Hashable | None]) -> float:
    """Share of items whose prediction equals the gold label (None = failed = wrong)."""
    _same_length(gold, pred)
    if not gold:
        return 0.0
    return 100.0 * sum(p is not None and p == g for g, p in zip(gold, pred)) / len(gold)


def micro_f1(gold: Sequence[Hashable], pred: Sequence[Hashable | None], negative: Collection[Hashable]) -> dict[str, float]:
    """Micro precision/recall/F1 over the positive classes (every label not in `negative`).

    A true positive is a positive prediction equal to the gold label; every other positive
    prediction is a false positive; every positive gold label not predicted exactly is a false
    negative (DDI-2013's and BLURB's definition for DDI; for a binary task such as GAD it is the
    F1 of the positive class)."""
    _same_length(gold, pred)
    tp = fp = fn = 0
    for g, p in zip(gold, pred):
        g_pos = g not in negative
        p_pos = p is not None and p not in negative
        if p_pos and p == g:
            tp += 1
        else:
            fp += p_pos
            fn += g_pos
    return _prf(tp, fp, fn)


def hoc_example_f1(gold: Sequence[Collection[str]], pred: Sequence[Collection[str] | None]) -> dict[str, float]:
    """BLUE's HoC score (ncbi-nlp/BLUE_Benchmark blue/eval_hoc.py): per document precision
    |G∩P|/|P| (0 when P is empty) and recall |G∩P|/|G|, each averaged over documents; F1 is the
    harmonic mean of the two averages (not the mean of per-document F1s).

    Kit choice for the cases where BLUE's script divides by zero: G and P both empty → precision
    and recall 1; G empty, P not → precision 0, recall 1."""
    _same_length(gold, pred)
    if not gold:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    ps, rs = [], []
    for g_raw, p_raw in zip(gold, pred):
        g, p = set(g_raw), set(p_raw or ())
        tt = len(g & p)
        if not g:
            ps.append(1.0 if not p else 0.0)
            rs.append(1.0)
            continue
        ps.append(tt / len(p) if p else 0.0)
        rs.append(tt / len(g))
    mp, mr = sum(ps) / len(ps), sum(rs) / len(rs)
    f = 2 * mp * mr / (mp + mr) if mp + mr else 0.0
    return {"precision": 100.0 * mp, "recall": 100.0 * mr, "f1": 100.0 * f}


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": 100.0 * p, "recall": 100.0 * r, "f1": 100.0 * f}


def _same_length(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} gold labels but {len(b)} predictions")
