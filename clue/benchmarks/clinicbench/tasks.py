"""ClinicBench's 16 runnable datasets as tasks of the benchmark level (clue.tasks.kinds.AnswerTask).

One task per dataset of `datasets.DATASETS` (Referral QA is unavailable: listed, never a task). Each task holds
its dataset row's answer kind (`Dataset.answer`, a clue.answers object), which reads, scores and aggregates the
answers and writes the parameterless floor; `ClinicBenchTask` ties it to the rest: loading (`loaders.load` +
`pools.exemplar_pool`), prompts (`prompts/<dataset>/user.j2` for the item, `answer.j2` for an exemplar's
answer, fed by the kind's `answer_fields`; no system prompt) and the floors.

* Few-shot: every test item is scored in every setting. The core selection (`Task.split` → clue/tasks/fewshot.py)
  draws k exemplars per `--fewshot-seed` (default: the protocol's seed 0) from the train/dev split where the dataset
  has one, else leave-one-out from the other test items (pools.py); the pool, its size, the seeds and the exemplar
  ids go to run.json (`task_build`) and scores.json. Zero-shot is the default (k = 0).
* Unreadable answers: flagged per sample (`extraction_failure`, the kind's reason) and counted per task
  (`extraction_failures`); scored wrong (or as "no positive prediction" for F1 figures).
* Corpus-level figures (micro-F1, seqeval entity F1, token F1, BLUE's HoC F1) come from the means of per-sample
  counts (the kind's `corpus_keys` / `from_means`), so the report's bootstrap recomputes them per replicate.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from clue import prompts as core_prompts
from clue.benchmarks.clinicbench.datasets import DATASETS, Dataset, get
from clue.benchmarks.clinicbench.items import Item
from clue.protocol import RunProtocol
from clue.tasks.base import Task
from clue.tasks.fewshot import Split
from clue.tasks.kinds import AnswerTask
from clue.types import Sample

PROMPT_ROOT = Path(__file__).with_name("prompts")
# loaders and pools are imported where used: every `clue run` loads each installed
# benchmark's tasks to find which one owns the named tasks, and they cost ~25 ms of its 0.3 s start-up budget
BUNDLED_MARK = "BUNDLED.json"  # written by synthetic.materialize: which datasets are public samples / synthetic
BASELINE_FIELD = "_baseline"  # the parameterless floor's answer for this dataset, set at prepare()


class ClinicBenchTask(AnswerTask):
    """What every ClinicBench task shares; `dataset` is its row of datasets.DATASETS, `answer_kind` its answer."""

    dataset: ClassVar[Dataset]
    prompt_root: ClassVar[Path] = PROMPT_ROOT
    k: ClassVar[int] = 0  # zero-shot unless --shots K

    # --- data ---------------------------------------------------------------------------
    def _samples(self, items: Sequence[Item], start: int = 0) -> list[Sample]:
        kind = self.answer_kind
        return [Sample(it.id, {**it.fields, "index": i, **kind.answer_fields(it.reference, it.fields)}, kind.to_json(it.reference))
                for i, it in enumerate(items, start)]

    def _load(self, data_dir: Path) -> tuple[list[Sample], list[Sample], str]:
        """(every test item, the train/dev pool or [] for leave-one-out, where exemplars come from): pools.exemplar_pool."""
        from clue.benchmarks.clinicbench import loaders, pools

        loaded = loaders.load(self.name, data_dir)
        pool, origin = pools.exemplar_pool(self.name, loaded)
        scored_s = self._samples(loaded.items)
        taken = {s.id for s in scored_s}  # a pool id equal to a scored id (another split's numbering) is made distinct
        pool_s = [s if s.id not in taken else Sample(f"pool:{s.id}", s.fields, s.reference) for s in self._samples(pool)]
        return scored_s, pool_s, origin

    def load(self, data_dir: Path) -> list[Sample]:
        return self._load(data_dir)[0]

    def load_pool(self, data_dir: Path) -> list[Sample] | None:
        return self._load(data_dir)[1] or None

    def stratum(self, sample: Sample) -> Any:
        """Leave-one-out draws are stratified by the gold label where the dataset has a small label set (an option
        letter, yes/no/maybe, a DDI type); label sets (HoC), entity and drug lists and free text are drawn plainly."""
        return sample.reference if self.dataset.labels and isinstance(sample.reference, str) else None

    def prepare(self, data_dir: Path, profile: RunProtocol, shots: int | None = None,
                seeds: Sequence[int] | None = None) -> Split:
        """Load once; every test item is scored; the core draws the exemplars (one draw per few-shot seed); the floor,
        where the exemplars come from and the data's provenance are recorded (run.json task_build)."""
        scored, pool, origin = self._load(data_dir)
        floor = self._floor(scored)
        scored = [Sample(s.id, {**s.fields, BASELINE_FIELD: floor[s.id]}, s.reference) for s in scored]
        split = self.split(scored, profile, shots, pool, seeds)
        how: dict[str, Any] = {**split.how, "scored_items": len(scored)}
        if split.n_shots:
            how["pool_origin"] = origin
            if split.per_item is None:
                how["exemplar_ids"] = [s.id for s in split.shots]
            elif pool and split.draws:  # several seeds over one train/dev pool: one shared draw per seed
                first: dict[int | None, str] = {}
                for s in split.evaluated:
                    first.setdefault(split.draws[s.id], s.id)
                how["exemplar_ids"] = {str(seed): [x.id for x in split.per_item[sid]] for seed, sid in first.items()}
            else:
                how["exemplar_ids"] = "per item: samples.jsonl `exemplar_ids`"
        bundled = _bundled_kind(data_dir, self.name)
        if bundled:
            how["data"] = bundled
        return replace(split, how=how)

    def _floor(self, scored: Sequence[Sample]) -> dict[str, str]:
        """The parameterless floor of every scored item (the answer kind's `floor` over all scored items)."""
        texts = self.answer_kind.floor([self.gold(s) for s in scored], [s.fields for s in scored])
        return {s.id: text for s, text in zip(scored, texts)}

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """The answer kind's floor (clinicbench/baselines.py): the scored items' majority label / label set / drug,
        no entities, or the input copied for generation."""
        return str(sample.fields[BASELINE_FIELD])

    # --- prompts ------------------------------------------------------------------------
    def render(self, part: str, fields: Mapping[str, Any] | None = None) -> str:
        if part == "system":
            return ""  # ClinicBench prompts carry their instruction in the user turn
        return super().render(part, fields)

    def assistant_part(self, profile: RunProtocol) -> str:
        return "answer"

    def base_prompt(self, system: str, shots: Sequence[core_prompts.Turn], query: str, prefix: str, profile: RunProtocol) -> str:
        """Base models: exemplars and the item as plain text, blank-line separated (zero-shot = the item alone)."""
        parts = [p for shot in shots for p in (shot.user, shot.assistant or "")] + [query]
        return "\n\n".join(parts) + ("\n\n" + prefix if prefix else "\n\n")


def _bundled_kind(data_dir: Path, dataset: str) -> str | None:
    try:
        marks = json.loads((Path(data_dir) / BUNDLED_MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marks.get(dataset) if isinstance(marks, dict) else None


def _task_class(ds: Dataset) -> type[ClinicBenchTask]:
    assert ds.answer is not None  # runnable
    attrs: dict[str, Any] = {
        "dataset": ds, "answer_kind": ds.answer, "kind": ds.answer.name, "name": ds.name, "title": ds.title,
        "files": tuple(f.name for f in ds.files),
        "source": f"{', '.join(ds.sources)} (`clue data fetch --benchmark clinicbench {ds.name}`; {ds.licence})",
        "credentialed": ds.credentialed, "max_tokens": ds.answer.answer_tokens,
        "__doc__": f"{ds.title} ({ds.scenario}; {ds.metric}; {ds.access}).",
    }
    cls = type("".join(p.capitalize() for p in ds.name.split("-")) + "Task", (ClinicBenchTask,), attrs)
    cls.__module__ = __name__
    return cls


TASK_CLASSES: dict[str, type[ClinicBenchTask]] = {d.name: _task_class(d) for d in DATASETS if d.runnable}
TASKS: dict[str, Task] = {name: cls() for name, cls in TASK_CLASSES.items()}
UNAVAILABLE: tuple[Dataset, ...] = tuple(d for d in DATASETS if not d.runnable)

__all__ = ["TASKS", "TASK_CLASSES", "UNAVAILABLE", "ClinicBenchTask", "get"]
