"""Task kinds: the common shapes of a benchmark task, each with a default scoring rule.

A benchmark task subclasses one kind and declares its data (`load`, optionally `load_pool` for the
train/dev split shots come from), its prompt folder and, where the default rule is not the
benchmark's, its own `score`. Every score is in percent, per sample; `Task.aggregate` averages.

* `MultipleChoiceTask` — options labelled A, B, …; the reference is the correct letter.
* `LabelSetTask` — a closed set of labels (yes/no/maybe, entailment/…); the reference is one label.
* `ExtractionTask` — a list of items (entities, codes, relations); set-based precision/recall/F1.
* `GenerationTask` — free text; ROUGE-1/2/L F1 against the reference.
"""

from __future__ import annotations

import re
from typing import ClassVar, Sequence

from clue.metrics.choice import first_label
from clue.protocol import RunProtocol
from clue.tasks.base import Task
from clue.types import Sample


class MultipleChoiceTask(Task):
    kind: ClassVar[str] = "multiple_choice"
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    letters: ClassVar[str] = "ABCDE"

    def answer(self, output: str) -> str | None:
        """The first option letter the output gives as an answer ("B", "(B)", "B.", "Answer: B"), or None."""
        match = re.search(rf"(?<![A-Za-z])([{self.letters}])(?![A-Za-z])", output.strip())
        return match.group(1) if match else None

    def score(self, output: str, sample: Sample, profile: RunProtocol) -> dict[str, float]:
        return {"accuracy": 100.0 if self.answer(output) == sample.reference.strip().upper() else 0.0}


class LabelSetTask(Task):
    kind: ClassVar[str] = "label_set"
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    labels: ClassVar[tuple[str, ...]]

    def score(self, output: str, sample: Sample, profile: RunProtocol) -> dict[str, float]:
        """Correct iff the first of the task's labels mentioned (whole word, any case) is the reference."""
        return {"accuracy": 100.0 if first_label(output, self.labels) == sample.reference.strip().upper() else 0.0}


class ExtractionTask(Task):
    kind: ClassVar[str] = "extraction"
    metrics: ClassVar[tuple[str, ...]] = ("precision", "recall", "f1")
    separator: ClassVar[str] = r"[;\n]"  # between items, in outputs and references

    def items(self, text: str) -> set[str]:
        return {re.sub(r"\s+", " ", part).strip().lower() for part in re.split(self.separator, text) if part.strip()}

    def score(self, output: str, sample: Sample, profile: RunProtocol) -> dict[str, float]:
        got, gold = self.items(output), self.items(sample.reference)
        hit = len(got & gold)
        p = 100.0 * hit / len(got) if got else (100.0 if not gold else 0.0)
        r = 100.0 * hit / len(gold) if gold else (100.0 if not got else 0.0)
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


class GenerationTask(Task):
    kind: ClassVar[str] = "generation"
    metrics: ClassVar[tuple[str, ...]] = ("rougeL", "rouge1", "rouge2")

    def score(self, output: str, sample: Sample, profile: RunProtocol) -> dict[str, float]:
        from clue.metrics.rouge import rouge

        return rouge(output, sample.reference)

    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: RunProtocol) -> list[dict[str, float]]:
        from clue.metrics.rouge import rouge_many

        return rouge_many(list(outputs), [s.reference for s in samples])


__all__ = ["MultipleChoiceTask", "LabelSetTask", "ExtractionTask", "GenerationTask"]
