"""Free text (summaries, reports, explanations): the answer is the whole output; ROUGE-L/1/2 F1 against the
reference through rouge-score (clue.metrics.rouge), mean over items.

Reading rule: the output with surrounding whitespace removed; an empty output is a failure (counted; scored
against "" — 0). `source` names the item field a parameterless floor copies (the report's findings, the record).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from clue.answers.base import AnswerKind, Extraction


class FreeText(AnswerKind):
    __doc__ = __doc__
    name = "free_text"
    metrics = ("rougeL", "rouge1", "rouge2")
    answer_tokens = 512
    free_text = True

    def __init__(self, source: str | None = None):
        self.source = source

    def __repr__(self) -> str:
        return f"FreeText(source={self.source!r})"

    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        text = str(output or "").strip()
        return Extraction(text) if text else Extraction.fail("empty output")

    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        return self.per_sample_all([value], [gold])[0]

    def per_sample_all(self, values: Sequence[Any], golds: Sequence[Any]) -> list[dict[str, float]]:
        from clue.metrics.rouge import rouge_many

        return rouge_many([v or "" for v in values], [str(g) for g in golds])

    def floor(self, golds: Sequence[Any], fields: Sequence[Mapping[str, Any]]) -> list[str]:
        """The input copied (the item's `source` field)."""
        if self.source is None:
            raise NotImplementedError("free text without a source field has no parameterless floor")
        return [str(f[self.source]) for f in fields]
