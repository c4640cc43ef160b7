"""Closed label (yes/no/maybe, relation types, …): the answer is one label of a fixed set.

Configuration: `labels` (canonical spellings), `aliases` (other spelling → label, e.g. DDI "advice" → "advise"),
and `negative`: None scores accuracy; a set of labels scores micro precision/recall/F1 over the positive
labels (every label not in `negative`: DDI-2013's four types with "none" negative, GAD's "yes" with "no"
negative) — a true positive is a positive prediction equal to the gold label, every other positive prediction
a false positive, every positive gold label not predicted exactly a false negative. A failed read is "no
positive prediction" (it costs recall, never precision) and is wrong for accuracy.

Reading rule (strict; whole words, any case), in this order:
1. Explicit statements — "the answer is X", "Answer: X", "**Answer:** X", "Final answer: X", "The interaction
   type is: X", "Label: X", "Classification: X". All name the same label → it; statements that disagree, or one
   naming two ("Answer: yes or no", "the answer is yes, no or maybe"), → failure. "the answer is not yes" is
   no statement.
2. A leading label — the answer opens with a label that ends its own clause: "Yes.", "No,", "**Maybe**",
   "no\n…", "Yes - the trial …". Not when the next word is another label ("Yes, no, maybe") and not "Yes and no: the evidence is
   mixed" (→ failure through 4).
3. A label standing alone on its own line ("…\n\n**Yes**"), or closing the answer ("…, so yes." /
   "… Therefore, maybe.") when no other label is named anywhere and it neither closes a list of labels ("… answer
   yes, no or maybe.") nor is negated ("… not yes."). Exactly one label
   this way → it; several → failure.
4. Otherwise → failure: a label only mentioned in prose ("there is no evidence …") is not read as an answer, and
   an answer naming several labels (an echo of the instruction) is a failure.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Collection, Mapping, Sequence

from clue.answers._text import negated, statement, words
from clue.answers.base import AnswerKind, Extraction, majority
from clue.metrics import prf

_KEYS = (r"final\s+answer|correct\s+answer|answer|label|classification|category|class|relation(?:ship)?(?:\s+type)?|"
         r"interaction(?:\s+type)?|type|verdict|conclusion")
_END = r"(?![\w-])"


class _Patterns:
    """ClosedLabel's compiled patterns for one set of label spellings (`alts`: their regex alternation)."""

    def __init__(self, alts: str):
        self.statement = re.compile(statement(_KEYS) + rf"[\(\[]?({alts}){_END}", re.I)
        self.more = re.compile(rf"[\s\"'”*)\]]*(?:,|/|\bor\b|\band\b|and/or)\s*[\"'“*(\[]*({alts}){_END}"
                               rf"(?=\s*(?:[.,;:!?\"'”*)\]]|\bor\b|$))", re.I)
        self.lead = re.compile(rf"^[\s*_#>\"'“(\[]*({alts}){_END}[\s*\"'”)\]]*(?:[.!,:;\n]|\s[-–]\s|$)", re.I)
        self.next = re.compile(rf"^[.!,:;\s*\"'“”]*({alts}){_END}", re.I)
        self.alone = re.compile(rf"^[\s*_#>\"'“(\[•-]*({alts})[\s*\"'”)\].!]*$", re.I | re.M)
        self.close = re.compile(rf"(?<![\w-])({alts})[\s*\"'”)\].!]*$", re.I)
        self.listed = re.compile(rf"(?:,|/|\bor|\band|({alts}))\s*[\"'“*]*$", re.I)
        self.mention = re.compile(rf"(?<![\w-])({alts}){_END}", re.I)


class ClosedLabel(AnswerKind):
    __doc__ = __doc__
    name = "closed_label"

    def __init__(self, labels: Sequence[str], aliases: Mapping[str, str] | None = None,
                 negative: Collection[str] | None = None):
        self.labels = tuple(labels)
        self.aliases = dict(aliases or {})
        self.negative = frozenset(negative) if negative is not None else None
        if self.negative is not None and not self.negative <= set(self.labels):
            raise ValueError(f"negative labels {sorted(self.negative)} are not all among {self.labels}")
        self._canon = {lab.lower(): lab for lab in self.labels}
        self._canon.update({a.lower(): t for a, t in self.aliases.items()})
        self.metrics = ("accuracy",) if self.negative is None else ("f1", "precision", "recall")
        self.corpus_keys = () if self.negative is None else ("tp", "fp", "fn")

    @cached_property
    def _patterns(self) -> _Patterns:
        """The reading rule's patterns, compiled on the first read: a benchmark defines a few dozen label sets when it
        is imported, and most runs read none of them (~6 ms of every command's start-up otherwise)."""
        return _Patterns(words(list(self._canon)))

    def __repr__(self) -> str:
        return f"ClosedLabel({self.labels}, negative={sorted(self.negative) if self.negative is not None else None})"

    # --- reading ------------------------------------------------------------------------
    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        text = str(output or "").strip()
        if not text:
            return Extraction.fail("empty output")
        canon, p = self._canon, self._patterns
        stated: set[str] = set()
        for m in p.statement.finditer(text):
            stated.add(canon[m.group(1).lower()])
            more = p.more.match(text, m.end())
            if more:
                stated.add(canon[more.group(1).lower()])
        if len(stated) == 1:
            return Extraction(stated.pop())
        if stated:
            return Extraction.fail(f"the answer statements name several labels ({', '.join(sorted(stated))})")
        lead = p.lead.match(text)
        if lead:
            first = canon[lead.group(1).lower()]
            nxt = p.next.match(text[lead.end(1):])
            if nxt and canon[nxt.group(1).lower()] != first:
                return Extraction.fail(f"several labels named ({first}, {canon[nxt.group(1).lower()]})")
            return Extraction(first)
        alone = {canon[m.group(1).lower()] for m in p.alone.finditer(text)}
        close = p.close.search(text)
        if close and not p.listed.search(text[:close.start()]) and not negated(text, close.start(), close.end(1)):
            label = canon[close.group(1).lower()]
            if {canon[m.group(1).lower()] for m in p.mention.finditer(text)} == {label}:
                alone.add(label)  # a closing label counts only where no other label is named
        if len(alone) == 1:
            return Extraction(alone.pop())
        if alone:
            return Extraction.fail(f"several labels stated ({', '.join(sorted(alone))})")
        mentioned = sorted({canon[m.group(1).lower()] for m in p.mention.finditer(text)})
        if len(mentioned) > 1:
            return Extraction.fail(f"several labels mentioned, none stated as the answer ({', '.join(mentioned)})")
        if mentioned:
            return Extraction.fail(f"'{mentioned[0]}' only mentioned in prose, not stated as the answer")
        return Extraction.fail("no label found")

    # --- scoring ------------------------------------------------------------------------
    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        if self.negative is None:
            return {"accuracy": 100.0 if value is not None and value == gold else 0.0}
        g_pos, p_pos = gold not in self.negative, value is not None and value not in self.negative
        tp = float(p_pos and value == gold)
        return {"tp": tp, "fp": float(p_pos) - tp, "fn": float(g_pos) - tp}

    def from_means(self, means: Mapping[str, Any]) -> dict[str, Any]:
        out = prf.from_counts(means["tp"], means["fp"], means["fn"])
        return {m: out[m] for m in self.metrics}

    def from_json(self, value: Any) -> Any:
        return self._canon.get(str(value).strip().lower(), value)

    def floor(self, golds: Sequence[Any], fields: Sequence[Mapping[str, Any]]) -> list[str]:
        """The majority gold label of the scored items (ties: alphabetical)."""
        return [str(majority(golds))] * len(golds)


__all__ = ["ClosedLabel"]
