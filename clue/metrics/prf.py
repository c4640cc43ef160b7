"""Precision, recall and F1 — the one implementation every metric uses (in percent).

`from_counts(tp, fp, fn)`: P = tp / (tp + fp), R = tp / (tp + fn); `from_ratios(p, r)`: P and R given as
fractions. F1 = 2PR / (P + R). Every ratio whose denominator is 0 is 0 (no prediction: P = 0; nothing to
find: R = 0). Works on plain numbers and, element-wise, on numpy arrays (the report's bootstrap passes
each count's replicate means); numpy is imported only when an array is passed, and both paths do the same
operations in the same order, so a float and a one-element array give the same value.
"""

from __future__ import annotations

from typing import Any


def _is_scalar(*values: Any) -> bool:
    return all(isinstance(v, (int, float)) for v in values)


def ratio(a: Any, b: Any) -> Any:
    """a / b, and 0 where b is 0."""
    if _is_scalar(a, b):
        return a / b if b else 0.0
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def f1(p: Any, r: Any) -> Any:
    """The harmonic mean of two fractions (0 where both are 0)."""
    return ratio(2 * p * r, p + r)


def from_ratios(p: Any, r: Any) -> dict[str, Any]:
    """{"precision", "recall", "f1"} in percent from precision and recall as fractions."""
    return {"precision": 100.0 * p, "recall": 100.0 * r, "f1": 100.0 * f1(p, r)}


def from_counts(tp: Any, fp: Any, fn: Any) -> dict[str, Any]:
    """{"precision", "recall", "f1"} in percent from true positives, false positives and false negatives."""
    if _is_scalar(tp, fp, fn):
        return from_ratios(ratio(tp, tp + fp), ratio(tp, tp + fn))
    import numpy as np

    return from_ratios(ratio(tp, np.add(tp, fp)), ratio(tp, np.add(tp, fn)))
