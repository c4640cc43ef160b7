"""The verdict rule: does one reproduced number (with its 95 % CI) reproduce one published number?

Generic — it takes numbers and flags, knows nothing of any benchmark. Three outcomes:

* `reproduced` — an equivalence test: the whole 95 % CI lies within published ± margin. This is
  two one-sided tests (TOST), each at the 2.5 % level, so "reproduced" is a positive claim at 95 %
  confidence that the run is no further than the margin from the published value.
* `deviates` — not reproduced, and the published value lies outside the 95 % CI, beyond the
  published rounding. (Equivalence wins: a real but smaller-than-margin difference is reproduced.)
* `inconclusive` — neither: the CI is too wide to tell. The verdict carries the smallest deviation
  this run could have detected (80 % power) and roughly how many items a run would need.

A run on a subset (`--limit`) or on synthetic data is never `reproduced`: a subset is not the
published test set and synthetic items are not the benchmark at all (a synthetic run is never
`deviates` either — its number is not comparable). Fewer than `MIN_ITEMS` resampling units make
a percentile bootstrap CI meaningless: inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

DEFAULT_MARGIN = 3.0  # percent points
ROUNDING = 0.005  # published numbers carry two decimals
MIN_ITEMS = 20
CONFIDENCE = 0.95
POWER = 0.80
OUTCOMES = ("reproduced", "deviates", "inconclusive")
# exit statuses of a verification command (2 is every command's user error)
EXIT_REPRODUCED = 0
EXIT_DEVIATES = 1
EXIT_INCONCLUSIVE = 4

_Z = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2)
_Z_POWER = NormalDist().inv_cdf(POWER)


def rule_text(margin: float) -> str:
    """One paragraph that states the rule, for terminal output and reports."""
    return (f"Verdict rule: reproduced only when the whole 95 % bootstrap CI of the run lies within the published value "
            f"± {margin:g} percent points (an equivalence test: two one-sided tests at 2.5 % each; a real difference smaller "
            f"than the margin still counts as reproduced); deviates when it is not and the published value lies outside the 95 % CI "
            f"(beyond its two-decimal rounding), with the run's direction; "
            f"otherwise inconclusive — the CI is too wide to tell, and the smallest deviation this run could detect "
            f"(80 % power) and about how many items a decisive run needs are given. A run on a subset (--limit) or on "
            f"synthetic data is never reproduced (synthetic: never deviates either), and fewer than {MIN_ITEMS} "
            f"items (or clusters) are always inconclusive. Exit status: {EXIT_REPRODUCED} all reproduced, "
            f"{EXIT_DEVIATES} something deviates, {EXIT_INCONCLUSIVE} nothing deviates but not all is reproduced.")


@dataclass(frozen=True)
class Verdict:
    outcome: str  # one of OUTCOMES
    direction: str | None = None  # "higher" / "lower" (run vs published) when deviating
    delta: float | None = None  # value − published
    mdd: float | None = None  # smallest deviation detectable at 80 % power (percent points)
    items_needed: int | None = None  # ~ items for a decisive verdict (None: not estimable)
    reason: str = ""


def _half_width(low: float, high: float) -> float:
    return max(0.0, (high - low) / 2.0)


def minimal_detectable(low: float, high: float) -> float:
    """Smallest |deviation| a run with this 95 % CI detects with 80 % power (two-sided, normal approximation)."""
    se = _half_width(low, high) / _Z
    return (_Z + _Z_POWER) * se


def items_for(n: int, low: float, high: float, delta: float, margin: float) -> int | None:
    """~ items for a decisive verdict, scaling the CI's half-width with 1/√n at this point estimate:
    enough for the CI to fit inside ± margin when |delta| < margin, else to exclude the published value."""
    h = _half_width(low, high)
    if n <= 0 or h <= 0:
        return None
    target = margin - abs(delta) if abs(delta) < margin else abs(delta)
    if target <= 0:
        return None
    return max(n + 1, math.ceil(n * (h / target) ** 2))


def judge(value: float | None, low: float | None, high: float | None, published: float, *, margin: float = DEFAULT_MARGIN,
          n: int = 0, subset: bool = False, synthetic: bool = False, rounding: float = ROUNDING) -> Verdict:
    """The verdict of one reproduced value (with its 95 % CI over `n` resampling units) against `published`."""
    if value is None:
        raise ValueError("judge needs a value")
    delta = value - published
    if low is None or high is None:
        return Verdict("inconclusive", None, delta, None, None, "no confidence interval")
    mdd = minimal_detectable(low, high)
    needed = items_for(n, low, high, delta, margin)
    if synthetic:
        return Verdict("inconclusive", None, delta, mdd, None, "synthetic data: not the benchmark's items, not comparable")
    if n < MIN_ITEMS:
        return Verdict("inconclusive", None, delta, mdd, max(MIN_ITEMS, needed or 0),
                       f"{n} item(s): too few for a bootstrap CI")
    if not subset and published - margin <= low and high <= published + margin:
        return Verdict("reproduced", None, delta, mdd, None, "")  # equivalent, even where the CI excludes published
    if published < low - rounding or published > high + rounding:
        return Verdict("deviates", "higher" if published < low else "lower", delta, mdd, None,
                       "subset of the items" if subset else "")
    if subset:
        return Verdict("inconclusive", None, delta, mdd, needed, "subset of the items (--limit): run them all")
    return Verdict("inconclusive", None, delta, mdd, needed, f"95 % CI wider than ± {margin:g} around the published value")
