"""Task kinds: the common shapes of a benchmark task, each scored by one answer kind (clue.answers).

`AnswerTask` reads, scores and aggregates through its `answer_kind` object — the strict reading rule, the
per-sample scores, the corpus figures (`corpus_keys` / `from_means`, which the report's bootstrap calls) — and
counts unreadable answers (`reports_extraction`). A benchmark task subclasses one kind and declares its data
(`load`, optionally `load_pool` for the train/dev split shots come from) and its prompt folder; a benchmark with
its own answer kinds (ClinicBench) sets `answer_kind` to a configured object.

* `MultipleChoiceTask` — options labelled A, B, … (`letters`); the reference is the correct letter
  (clue.answers.option: explicit statement, else a marked letter, else exactly one option's text quoted).
* `LabelSetTask` — one label of a closed set (`labels`: yes/no/maybe, entailment/…); accuracy (clue.answers.label).
* `ExtractionTask` — a list of items (entities, codes, relations); set-based precision/recall/F1 (clue.answers.items).
* `GenerationTask` — free text; ROUGE-1/2/L F1 against the reference (clue.answers.text).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Sequence

from clue.answers import AnswerKind, ClosedLabel, FreeText, ItemList, OptionLetter
from clue.protocol import RunProtocol
from clue.tasks.base import Task
from clue.types import Sample


class AnswerTask(Task):
    """A task whose answers one `answer_kind` reads and scores (its `metrics`/`corpus_keys` are the kind's)."""

    answer_kind: ClassVar[AnswerKind]
    reports_extraction: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls._configured_kind()
        if kind is not None:
            cls.answer_kind = kind
        if "answer_kind" in cls.__dict__ or kind is not None:  # the kind decides what is reported
            cls.metrics = cls.answer_kind.metrics
            cls.corpus_keys = cls.answer_kind.corpus_keys
            cls.generation = cls.answer_kind.free_text

    @classmethod
    def _configured_kind(cls) -> AnswerKind | None:
        """A kind built from the class's own settings (`letters`, `labels`), or None to keep the inherited one."""
        return None

    def gold(self, sample: Sample) -> Any:
        return self.answer_kind.from_json(sample.reference)

    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: RunProtocol) -> list[dict[str, float]]:
        kind = self.answer_kind
        values = [kind.read(o, s.fields).value for o, s in zip(outputs, samples)]
        return kind.per_sample_all(values, [self.gold(s) for s in samples])

    def score(self, output: str, sample: Sample, profile: RunProtocol) -> dict[str, float]:
        return self.score_all([output], [sample], profile)[0]

    def extraction_failure(self, output: str, sample: Sample, profile: RunProtocol) -> str | None:
        got = self.answer_kind.read(output, sample.fields)
        return (got.reason or "no answer read") if got.failed else None

    def aggregate(self, per_sample: Sequence[Mapping[str, float]], profile: RunProtocol) -> dict[str, float | None]:
        if not self.corpus_keys:
            return super().aggregate(per_sample, profile)
        return self.answer_kind.aggregate(per_sample)

    def from_means(self, means: Mapping[str, Any]) -> dict[str, Any]:
        return self.answer_kind.from_means(means)


class MultipleChoiceTask(AnswerTask):
    kind: ClassVar[str] = "multiple_choice"
    letters: ClassVar[str] = "ABCDE"
    answer_kind: ClassVar[AnswerKind] = OptionLetter("ABCDE")
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)

    @classmethod
    def _configured_kind(cls) -> AnswerKind | None:
        return OptionLetter(cls.letters) if "letters" in cls.__dict__ and "answer_kind" not in cls.__dict__ else None


class LabelSetTask(AnswerTask):
    kind: ClassVar[str] = "label_set"
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    labels: ClassVar[tuple[str, ...]]

    @classmethod
    def _configured_kind(cls) -> AnswerKind | None:
        return ClosedLabel(cls.labels) if "labels" in cls.__dict__ and "answer_kind" not in cls.__dict__ else None


class ExtractionTask(AnswerTask):
    kind: ClassVar[str] = "extraction"
    answer_kind: ClassVar[AnswerKind] = ItemList()
    metrics: ClassVar[tuple[str, ...]] = ("precision", "recall", "f1")
    reports_extraction: ClassVar[bool] = False  # every output is a (possibly empty) list


class GenerationTask(AnswerTask):
    kind: ClassVar[str] = "generation"
    answer_kind: ClassVar[AnswerKind] = FreeText()
    metrics: ClassVar[tuple[str, ...]] = ("rougeL", "rouge1", "rouge2")
    generation: ClassVar[bool] = True


__all__ = ["AnswerTask", "MultipleChoiceTask", "LabelSetTask", "ExtractionTask", "GenerationTask"]
