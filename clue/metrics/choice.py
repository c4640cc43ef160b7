"""Choice accuracy for label-answer tasks (MedNLI), per spec §3.1 and quirk Q4, in percent.

CLUE's MedNLI rule (`exactly_one`): upper-case the output and the gold label, find all
non-overlapping occurrences of the label in the output, and count the answer correct iff there
is exactly one. Other labels in the answer are ignored (a hedge "NEUTRAL or CONTRADICTION" is
correct for both), a repeated gold label scores 0, and occurrences inside longer words count.
The spec says the label is "used as a regular expression"; MedNLI labels are plain letters, so
escaping it (as done here) matches the same strings and cannot crash on an unusual label.

The corrected rule (`first_label`): the answer is the first valid label mentioned as a whole
word (case-insensitive); correct iff it is the gold label. No label at all scores 0.
"""

from __future__ import annotations

import re
from typing import Literal, Sequence

Rule = Literal["exactly_one", "first_label"]
NLI_LABELS = ("entailment", "neutral", "contradiction")


def count_label(output: str, label: str) -> int:
    """Non-overlapping occurrences of `label` in `output`, both upper-cased (substrings count)."""
    label = str(label).upper()
    if not label:
        return 0
    return len(re.findall(re.escape(label), str(output).upper()))


def first_label(output: str, labels: Sequence[str] = NLI_LABELS) -> str | None:
    """The valid label mentioned first in `output` as a whole word (case-insensitive), upper-cased;
    None when no label occurs. Labels that start at the same place prefer the longest."""
    if not labels:
        return None
    alternatives = "|".join(re.escape(lab.upper()) for lab in sorted(labels, key=len, reverse=True))
    match = re.search(rf"\b(?:{alternatives})\b", str(output).upper())
    return match.group(0) if match else None


def choice_accuracy(output: str, gold: str, *, rule: Rule = "exactly_one",
                    labels: Sequence[str] = NLI_LABELS) -> float:
    """100.0 if `output` answers `gold` under `rule` (Q4), else 0.0."""
    if rule == "exactly_one":
        correct = count_label(output, gold) == 1
    elif rule == "first_label":
        correct = first_label(output, labels) == str(gold).upper()
    else:
        raise ValueError(f"unknown choice rule {rule!r}")
    return 100.0 if correct else 0.0
