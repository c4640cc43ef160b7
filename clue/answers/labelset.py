"""Label set (multi-label document classification, e.g. Hallmarks of Cancer): the answer is a set of labels.

Configuration: `names` (canonical label → the spellings that name it; the canonical label always counts),
`codes` (label → short code, e.g. HoC "PS"), `display` (label → how the prompt writes it, in the prompt's
order: exemplar answers and the floor are written with it), `none_words` (the answer "no label").

Reading rule (strict; a failure is scored 0, never as a guess):
1. Every label named by one of its spellings (whole words, any case) or by its code in parentheses ("(PS)"),
   unless negated in its sentence ("not about inducing angiogenesis", "… (A) is not relevant").
2. Nothing named that way: the whole answer, or what follows "Answer:" / "Categories:" / "Labels:", is a list
   of bare codes, case as in the prompt ("PS, CD", "PS and CD") → those labels; codes inside a sentence ("The
   categories are PS and CD") are not read.
3. An answer naming every label is the prompt's list echoed → failure.
4. No label but a none word ("none", "no category", "none of the categories") → the empty set.
5. Otherwise → failure.

Score: BLUE's HoC definition (ncbi-nlp/BLUE_Benchmark blue/eval_hoc.py): per document precision |G∩P|/|P|
(0 when P is empty) and recall |G∩P|/|G|, each averaged over documents (`doc_precision`, `doc_recall` are the
corpus keys); F1 is the harmonic mean of the two averages (not the mean of per-document F1s). Kit choices where
BLUE divides by zero: G and P both empty → precision and recall 1; G empty, P not → precision 0, recall 1.
A failed read scores precision 0 and recall 0.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from clue.answers._text import negated
from clue.answers.base import AnswerKind, Extraction, majority
from clue.metrics import prf


class LabelSet(AnswerKind):
    __doc__ = __doc__
    name = "label_set"
    metrics = ("f1", "precision", "recall")
    corpus_keys = ("doc_precision", "doc_recall")

    def __init__(self, names: Mapping[str, Sequence[str]], codes: Mapping[str, str] | None = None,
                 display: Mapping[str, str] | None = None,
                 none_words: Sequence[str] = ("none", "no category", "no categories", "no label")):
        self.names = {canon: tuple(dict.fromkeys((canon, *spellings))) for canon, spellings in names.items()}
        self.codes = dict(codes or {})
        self.display = dict(display or {c: c for c in self.names})
        self.none_words = tuple(none_words)
        self._order = list(self.display)
        self.labels = tuple(self.display)

    def __repr__(self) -> str:
        return f"LabelSet({len(self.names)} labels)"

    # --- reading ------------------------------------------------------------------------
    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        text = str(output or "").strip()
        if not text:
            return Extraction.fail("empty output")
        low = text.lower()
        found: set[str] = set()
        for canon, spellings in self.names.items():
            spans = [m.span() for f in spellings if f for m in re.finditer(rf"(?<!\w){re.escape(f.lower())}(?!\w)", low)]
            code = self.codes.get(canon)
            if code:
                spans += [m.span() for m in re.finditer(rf"\(\s*{re.escape(code)}\s*\)", text)]
            if any(not negated(text, a, b) for a, b in spans):
                found.add(canon)
        if not found and self.codes:
            found = self._code_list(text)
        if found and len(found) == len(self.names) > 1:
            return Extraction.fail("every label named (the prompt's list echoed)")
        if found:
            return Extraction(frozenset(found))
        if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", low) for w in self.none_words):
            return Extraction(frozenset())
        return Extraction.fail("no label found")

    def _code_list(self, text: str) -> set[str]:
        by_code = {code: canon for canon, code in self.codes.items() if code}
        tail = re.split(r"(?i)\b(?:answer|categories|category|labels?)\s*:", text)[-1]
        for part in (text, tail):
            tokens = [t for t in re.split(r"[\s,;/]+|\band\b", part.strip(" .\n*")) if t]
            if tokens and all(t in by_code for t in tokens):
                return {by_code[t] for t in tokens}
        return set()

    # --- scoring ------------------------------------------------------------------------
    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        if value is None:
            return {"doc_precision": 0.0, "doc_recall": 0.0}
        g, p = set(gold), set(value)
        if not g:
            return {"doc_precision": 1.0 if not p else 0.0, "doc_recall": 1.0}
        return {"doc_precision": len(g & p) / len(p) if p else 0.0, "doc_recall": len(g & p) / len(g)}

    def from_means(self, means: Mapping[str, Any]) -> dict[str, Any]:
        out = prf.from_ratios(means["doc_precision"], means["doc_recall"])
        return {m: out[m] for m in self.metrics}

    def _shown(self, labels: Any) -> list[str]:
        return [self.display[lab] for lab in sorted(labels, key=self._order.index)]

    def answer_fields(self, gold: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        """`answer`: the labels as the prompt writes them, in its order, or ["none"]."""
        return {"answer": self._shown(gold) or ["none"]}

    def to_json(self, gold: Any) -> Any:
        return sorted(gold)

    def from_json(self, value: Any) -> Any:
        return frozenset(value)

    def floor(self, golds: Sequence[Any], fields: Sequence[Mapping[str, Any]]) -> list[str]:
        """The most frequent gold label set of the scored items (ties: by its sorted labels), written as the prompt
        names the labels (in alphabetical order of the labels), or "none"."""
        top = majority(frozenset(g) for g in golds)
        return [", ".join(self.display[lab] for lab in sorted(top)) or "none"] * len(golds)
