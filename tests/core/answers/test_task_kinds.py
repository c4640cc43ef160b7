"""The core's task kinds (clue.tasks.kinds) read and score through the same answer-kind objects ClinicBench uses."""

from __future__ import annotations

from typing import ClassVar

import pytest

from clue.answers import AnswerKind, ClosedLabel, FreeText, ItemList, OptionLetter
from clue.protocol import GenericProtocol
from clue.tasks.kinds import AnswerTask, ExtractionTask, GenerationTask, LabelSetTask, MultipleChoiceTask
from clue.types import Sample

P = GenericProtocol(name="p", description="test")


class ThreeOptions(MultipleChoiceTask):
    name, title, letters = "three", "Three options", "ABC"


class Nli(LabelSetTask):
    name, title, labels = "nli", "NLI", ("entailment", "neutral", "contradiction")


class Relations(AnswerTask):
    name, title = "rel", "Relations"
    answer_kind: ClassVar[AnswerKind] = ClosedLabel(("yes", "no"), negative={"no"})


def _s(ref: str, **fields: object) -> Sample:
    return Sample("1", dict(fields), ref)


def test_multiple_choice_no_longer_reads_the_article_as_option_a() -> None:
    task = ThreeOptions()
    assert isinstance(task.answer_kind, OptionLetter) and task.answer_kind.letters == "ABC"
    prose = "A 45-year-old man most likely has C"
    assert task.score(prose, _s("A"), P) == {"accuracy": 0.0}  # the old reader picked "A" here
    assert task.extraction_failure(prose, _s("C"), P) == "no option letter found"
    assert task.score("Answer: (c)", _s("C"), P) == {"accuracy": 100.0}
    assert task.score("D", _s("D"), P) == {"accuracy": 0.0} and task.extraction_failure("D", _s("D"), P)  # not an option
    assert MultipleChoiceTask.answer_kind.letters == "ABCDE"  # the subclass's letters did not leak upwards


def test_label_task_reads_strictly_and_matches_the_reference_in_any_case() -> None:
    task = Nli()
    assert task.answer_kind.labels == ("entailment", "neutral", "contradiction")
    assert task.score("NEUTRAL", _s("neutral"), P) == {"accuracy": 100.0}
    assert task.score("Answer: Contradiction", _s("CONTRADICTION"), P) == {"accuracy": 100.0}
    assert task.score("neutral or contradiction", _s("neutral"), P) == {"accuracy": 0.0}  # a hedge is no answer


def test_a_corpus_kind_sets_metrics_keys_and_the_bootstrap_hook() -> None:
    task = Relations()
    assert task.metrics == ("f1", "precision", "recall") and task.corpus_keys == ("tp", "fp", "fn")
    per = task.score_all(["yes", "no", "Answer: yes", "maybe"], [_s("yes"), _s("yes"), _s("no"), _s("yes")], P)
    # tp 1, fp 1 (yes on no), fn 2 → P 1/2, R 1/3, F1 0.4
    assert task.aggregate(per, P) == {"f1": pytest.approx(40.0), "precision": pytest.approx(50.0), "recall": pytest.approx(100 / 3)}
    assert task.from_means({"tp": 0.25, "fp": 0.25, "fn": 0.5})["f1"] == pytest.approx(40.0)


def test_extraction_and_generation_kinds() -> None:
    ext, gen = ExtractionTask(), GenerationTask()
    assert isinstance(ext.answer_kind, ItemList) and isinstance(gen.answer_kind, FreeText) and gen.generation
    got = ext.score("aspirin; Heparin\nwarfarin", _s("aspirin;heparin;statin;insulin"), P)
    assert got == {"precision": pytest.approx(200 / 3), "recall": 50.0, "f1": pytest.approx(400 / 7)}
    assert ext.score("", _s(""), P) == {"precision": 100.0, "recall": 100.0, "f1": 100.0}
    assert gen.extraction_failure("   ", _s("x"), P) == "empty output"
    assert gen.score("the dose is low", _s("the dose is low"), P)["rougeL"] == pytest.approx(100.0)
