"""Drug list (treatment recommendation): the answer is a list of drug names after "Final Answer:".

Reading rule (strict):
1. The text after a "Final Answer:" marker (any case). One drug per line when it spans several lines (commas then
   belong to names such as "Insulin, Aspart, Human"; a line of five or more words ending in a full stop is prose
   and skipped), else split on commas, semicolons, "and" and inline numbering ("1. A 2. B"); bullets, numbering,
   markdown, quotes and a final full stop removed; duplicates dropped; doses and brands kept as written (the
   score normalises names). "None" / "N/A" alone is an explicit empty list.
2. Several "Final Answer:" sections must give the same list (after `clue.metrics.druglist.normalise_drug`);
   lists that differ → failure.
3. No marker, nothing after it, or the instruction's own words after it ("Provide the final answer, which should
   be a list of medications …") → failure (scored P = R = F1 = 0).

Score per item: precision/recall/F1 of the normalised name sets (clue.metrics.druglist); the dataset figure is
their mean over items.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from clue.answers.base import AnswerKind, Extraction, majority

_NONE = {"none", "n/a", "no medication", "no medications"}
_ECHO = re.compile(r"^\s*provide the final answer|^\s*<[^>]*>\s*$|^\s*\[[^\]]*medications?[^\]]*\]\s*$", re.I)


def _drugs(body: str) -> list[str]:
    lines = [ln for ln in body.splitlines() if ln.strip()]
    if len(lines) >= 2:  # one drug per line; a sentence (five or more words ending in a full stop) is prose
        parts = [p for ln in lines if not re.match(r"^\s*(?:\S+\s+){4,}\S*\.\s*$", ln) for p in ln.split(";")]
    else:
        parts = re.split(r",|;|\band\b|\s+(?=\d+[.)]\s)", body)
    drugs = []
    for part in parts:
        item = re.sub(r"^\s*(?:[*•\-]|\d+[.)])\s*", "", part).strip().strip("*\"'`").strip().rstrip(".").strip()
        if item:
            drugs.append(item)
    return list(dict.fromkeys(drugs))


class DrugList(AnswerKind):
    __doc__ = __doc__
    name = "drug_list"
    metrics = ("f1", "precision", "recall")
    answer_tokens = 512

    def __init__(self, marker: str = "Final Answer:"):
        self.marker = marker

    def __repr__(self) -> str:
        return f"DrugList({self.marker!r})"

    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        from clue.metrics.druglist import normalise_drug

        text = str(output or "")
        bodies = re.split(re.escape(self.marker), text, flags=re.I)[1:]
        if not bodies:
            return Extraction.fail(f"no {self.marker!r} in the output")
        if any(_ECHO.search(b.strip().splitlines()[0] if b.strip() else "") for b in bodies):
            return Extraction.fail(f"the answer format echoed after {self.marker!r}")
        lists = [_drugs(b) for b in bodies]
        if len({frozenset(normalise_drug(d) for d in ds) for ds in lists}) > 1:
            return Extraction.fail(f"several {self.marker!r} sections with different lists")
        if not lists[-1]:
            return Extraction.fail(f"nothing after {self.marker!r}")
        drugs = tuple(d for d in lists[-1] if d.lower() not in _NONE)
        return Extraction(drugs)  # "none" / "n/a" alone: an explicit empty list (an answer, scored 0)

    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        from clue.metrics.druglist import drug_prf

        return dict(drug_prf(gold, value))

    def to_json(self, gold: Any) -> Any:
        return list(gold)

    def from_json(self, value: Any) -> Any:
        return tuple(value)

    def floor(self, golds: Sequence[Any], fields: Sequence[Mapping[str, Any]]) -> list[str]:
        """The single most frequent gold drug of the scored items (ties: alphabetical)."""
        return [f"{self.marker} {majority(d for g in golds for d in g)}"] * len(golds)
