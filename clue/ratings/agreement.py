"""Inter-rater agreement on an ordinal rating scale.

* Krippendorff's α (any number of raters, missing ratings allowed) from the `krippendorff` package, at the
  ordinal level with the rubric's scale as value domain.
* Cohen's κ for exactly two raters, unweighted and quadratic-weighted, over the units both rated. Written here
  rather than taken from scikit-learn's `cohen_kappa_score`: that would pull scikit-learn + scipy (~100 MB
  installed) into the core environment for a 10-line closed formula; tests check it against hand-computed values
  and against the identities κ = 1 for identical ratings and quadratic κ ≈ α(interval) for large n.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np


def cohen_kappa(a: Sequence[int], b: Sequence[int], categories: Sequence[int], weights: str | None = None) -> float | None:
    """Cohen's κ of two raters' paired ratings; `weights` None (unweighted), "linear" or "quadratic".
    None when undefined (no pairs, or chance agreement is already perfect)."""
    if len(a) != len(b):
        raise ValueError("the two raters need the same number of paired ratings")
    if not a:
        return None
    index = {c: i for i, c in enumerate(categories)}
    k = len(categories)
    observed = np.zeros((k, k))
    for x, y in zip(a, b):
        observed[index[x], index[y]] += 1.0
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i, j = np.indices((k, k))
    if weights is None:
        w = (i != j).astype(float)
    elif weights == "linear":
        w = np.abs(i - j) / (k - 1)
    elif weights == "quadratic":
        w = ((i - j) / (k - 1)) ** 2
    else:
        raise ValueError(f"unknown weights {weights!r}")
    disagreement_expected = float((w * expected).sum())
    if disagreement_expected == 0.0:
        return None
    return 1.0 - float((w * observed).sum()) / disagreement_expected


def krippendorff_alpha(matrix: np.ndarray, categories: Sequence[int],
                       level: Literal["nominal", "ordinal", "interval", "ratio"] = "ordinal") -> float | None:
    """α for a (raters × units) matrix with NaN for missing ratings; None when undefined (fewer than two
    pairable ratings, or a single value used throughout)."""
    import krippendorff

    pairable = np.sum(np.sum(~np.isnan(matrix), axis=0) >= 2)
    if matrix.shape[0] < 2 or pairable == 0:
        return None
    values = matrix[~np.isnan(matrix)]
    if np.unique(values).size < 2:
        return None
    try:
        alpha = float(krippendorff.alpha(reliability_data=matrix, value_domain=list(categories), level_of_measurement=level))
    except (ValueError, ZeroDivisionError):
        return None
    return alpha if np.isfinite(alpha) else None


def exact_agreement(matrix: np.ndarray) -> float | None:
    """Share of rater pairs, over units, that gave the same score (pairs of raters who both rated the unit)."""
    agree = total = 0
    for unit in matrix.T:
        vals = unit[~np.isnan(unit)]
        for x in range(len(vals)):
            for y in range(x + 1, len(vals)):
                total += 1
                agree += int(vals[x] == vals[y])
    return agree / total if total else None
