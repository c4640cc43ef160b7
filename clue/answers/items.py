"""Item list (generic extraction: entities, codes, relations written one per line or separated by ";"): the answer
is the set of items; per-item precision/recall/F1 (mean over items).

Reading rule: the output split on the separator (default: newlines and semicolons), each part's whitespace
collapsed and lower-cased; empty parts dropped. An answer with no item is the empty set (an answer, not a
failure). Score: set precision/recall/F1 (clue.metrics.prf); both sets empty → 100 on each (nothing to find,
nothing claimed).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from clue.answers.base import AnswerKind, Extraction
from clue.metrics import prf


class ItemList(AnswerKind):
    __doc__ = __doc__
    name = "item_list"
    metrics = ("precision", "recall", "f1")

    def __init__(self, separator: str = r"[;\n]"):
        self.separator = separator

    def items(self, text: str) -> frozenset[str]:
        return frozenset(re.sub(r"\s+", " ", part).strip().lower() for part in re.split(self.separator, str(text or ""))
                         if part.strip())

    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        return Extraction(self.items(output))

    def from_json(self, value: Any) -> Any:
        return self.items(value) if isinstance(value, str) else frozenset(value)

    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        got, want = set(value or ()), set(gold)
        if not got and not want:
            return {"precision": 100.0, "recall": 100.0, "f1": 100.0}
        hit = len(got & want)
        out = prf.from_counts(hit, len(got) - hit, len(want) - hit)
        return {m: out[m] for m in self.metrics}
