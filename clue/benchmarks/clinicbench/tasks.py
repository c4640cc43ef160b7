"""ClinicBench's 16 runnable datasets as tasks of the benchmark level (clue.tasks.kinds.AnswerTask).

One task per dataset of `datasets.DATASETS` (Referral QA is unavailable: listed, never a task). Each task holds
its dataset row's answer kind (`Dataset.answer`, a clue.answers object), which reads, scores and aggregates the
answers and writes the parameterless floor; `ClinicBenchTask` ties it to the rest: loading (`loaders.load` +
`pools.scored_and_pool`), prompts (`prompts/<dataset>/user.j2` for the item, `answer.j2` for an exemplar's
answer, fed by the kind's `answer_fields`; no system prompt) and the floors.

* Few-shot: the core selection (`Task.split` → clue/tasks/fewshot.py) draws k exemplars, seeded by the
  protocol, from the dataset's pool (train/dev, or the held-out draw of pools.py); the exemplar ids, the
  pool and its size go to run.json (`task_build`). Zero-shot is the default (k = 0).
* Unreadable answers: flagged per sample (`extraction_failure`, the kind's reason) and counted per task
  (`extraction_failures`); scored wrong (or as "no positive prediction" for F1 figures).
* Corpus-level figures (micro-F1, seqeval entity F1, token F1, BLUE's HoC F1) come from the means of per-sample
  counts (the kind's `corpus_keys` / `from_means`), so the report's bootstrap recomputes them per replicate.
"""

from __future__ import annotations

import json
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
BUNDLED_MARK = "BUNDLED.json"  # written by bundled.materialize: which datasets are public samples / synthetic
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
        """(scored items, exemplar pool, where the pool comes from) — pools.scored_and_pool's rule."""
        from clue.benchmarks.clinicbench import loaders, pools

        loaded = loaders.load(self.name, data_dir)
        scored, pool = pools.scored_and_pool(self.name, loaded)
        held = self.dataset.exemplars == "held-out draw" or not loaded.pool
        origin = (f"held-out draw: {len(pool)} items (seed {pools.HELD_OUT_SEED}) removed from the scored items in every setting"
                  if held else f"{self.dataset.exemplars} split")
        scored_s = self._samples(scored)
        taken = {s.id for s in scored_s}  # a pool id equal to a scored id (another split's numbering) is made distinct
        pool_s = [s if s.id not in taken else Sample(f"pool:{s.id}", s.fields, s.reference) for s in self._samples(pool)]
        return scored_s, pool_s, origin

    def load(self, data_dir: Path) -> list[Sample]:
        return self._load(data_dir)[0]

    def load_pool(self, data_dir: Path) -> list[Sample] | None:
        return self._load(data_dir)[1] or None

    def prepare(self, data_dir: Path, profile: RunProtocol, shots: int | None = None) -> Split:
        """Load once; the core draws the shots from the pool; the floor and the data's provenance are recorded."""
        scored, pool, origin = self._load(data_dir)
        split = self.split(scored, profile, shots, pool)
        floor = self._floor(scored)
        evaluated = [Sample(s.id, {**s.fields, BASELINE_FIELD: floor[s.id]}, s.reference) for s in split.evaluated]
        how: dict[str, Any] = {**split.how, "exemplar_ids": [s.id for s in split.shots], "pool": origin,
                               "pool_size": len(pool), "scored_items": len(scored)}
        bundled = _bundled_kind(data_dir, self.name)
        if bundled:
            how["data"] = bundled
        return Split(split.shots, evaluated, how)

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

    def cluster(self, sample_id: str) -> str:
        return sample_id


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
