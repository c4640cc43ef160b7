"""What an answer kind is: one object that reads a model's answer, scores it and aggregates the scores.

A benchmark task holds one `AnswerKind` (a dataset row of ClinicBench, a `clue.tasks.kinds` task). The object
owns, for its kind of answer, everything that used to be re-derived from a kind string at each stop:

* `read(output, fields)` — the strict reading rule (documented in each kind's docstring): an `Extraction`
  holding the value, or a failure with its reason. A failure is never turned into a guess: it is scored as
  wrong (or as "no positive prediction" for F1 figures) and counted per task.
* `per_sample(value, gold)` — the per-sample scores (`value` None = failed read); `per_sample_all` for a batch.
* `metrics` (primary first) and `corpus_keys`: per-sample counts whose means give the corpus figures through
  `from_means` — floats for the task score, numpy replicate arrays for the report's bootstrap (clue/stats.py).
  Without corpus keys a task figure is the mean of the per-sample figures.
* `answer_fields(gold, fields)` — what a few-shot exemplar's answer template reads; `to_json`/`from_json` —
  the gold answer as stored in samples.jsonl and back; `floor(golds, fields)` — the parameterless
  baseline's answers (written as text, then read and scored like a model's).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar, Hashable, Iterable, Mapping, Sequence, TypeVar

from clue.metrics.aggregate import task_mean

H = TypeVar("H", bound=Hashable)


@dataclass(frozen=True)
class Extraction:
    """The value read from one output, or `failed=True` with the reason (value is None)."""

    value: Any
    failed: bool = False
    reason: str = ""

    @staticmethod
    def fail(reason: str) -> Extraction:
        return Extraction(None, True, reason)


class AnswerKind(ABC):
    """One kind of answer (see the module docstring). Subclasses set `name`, `metrics` and, for corpus
    figures, `corpus_keys`; instances carry their configuration (labels, negative class, …)."""

    name: ClassVar[str]
    metrics: tuple[str, ...]
    corpus_keys: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # the vocabulary answers are read in (option letters, labels, entity type), if any
    answer_tokens: int = 256  # new tokens a complete answer of this kind needs (a benchmark may use it)
    free_text: bool = False  # outputs are free text clinicians can rate (scores.json `generation`)

    @abstractmethod
    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        """The strict reading rule of this kind; `fields` are the item's fields (options, tokens, …)."""

    @abstractmethod
    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        """Scores of one read value (None = failed read) against the gold answer."""

    def per_sample_all(self, values: Sequence[Any], golds: Sequence[Any]) -> list[dict[str, float]]:
        return [self.per_sample(v, g) for v, g in zip(values, golds)]

    def score(self, output: str, gold: Any, fields: Mapping[str, Any]) -> dict[str, float]:
        """read + per_sample of one output."""
        return self.per_sample(self.read(output, fields).value, gold)

    def from_means(self, means: Mapping[str, Any]) -> dict[str, Any]:
        """Corpus figures from the means of `corpus_keys` (floats or numpy replicate arrays)."""
        raise NotImplementedError(f"{self.name} has no corpus figures")

    def aggregate(self, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float | None]:
        """Task figures: `from_means` of the corpus keys' means, else each metric's mean."""
        if not per_sample:
            return {m: None for m in self.metrics}
        if self.corpus_keys:
            means = {k: sum(s[k] for s in per_sample) / len(per_sample) for k in self.corpus_keys}
            return {m: float(v) for m, v in self.from_means(means).items()}
        return {m: task_mean([s[m] for s in per_sample if m in s]) for m in self.metrics}

    def answer_fields(self, gold: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The fields an exemplar's answer template reads (default: `answer` = the gold answer)."""
        return {"answer": gold}

    def to_json(self, gold: Any) -> Any:
        """The gold answer as a JSON value (samples.jsonl)."""
        return gold

    def from_json(self, value: Any) -> Any:
        """Back from `to_json`'s form to what `per_sample` compares with."""
        return value

    def floor(self, golds: Sequence[Any], fields: Sequence[Mapping[str, Any]]) -> list[str]:
        """The parameterless baseline's answer text for each item (each kind documents its rule)."""
        raise NotImplementedError(f"{self.name} has no parameterless floor")


def majority(values: Iterable[H]) -> H:
    """The most frequent value; ties go to the first in sorted order of its text (a set: of its sorted members)."""
    counts = Counter(values)
    if not counts:
        raise ValueError("no gold answers to take a majority of")
    top = max(counts.values())
    return sorted((v for v, c in counts.items() if c == top),
                  key=lambda v: str(sorted(v)) if isinstance(v, frozenset) else str(v))[0]
