"""ClinicBench's 16 runnable datasets as tasks of the benchmark level (clue.tasks.kinds).

One task per dataset of `datasets.DATASETS` (Referral QA is unavailable: listed, never a task). Each
task is a kind (multiple choice / label set / extraction / generation) plus `ClinicBenchTask`, which
ties it to the phase-A pieces: loading (`loaders.load` + `pools.exemplar_pool`), prompts
(`prompts/<dataset>/user.j2` for the item, `answer.j2` for an exemplar's answer; no system prompt),
answer extraction and scoring (`scoring.extract_answer`, `clue.metrics.*`), and the floors of
`baselines`.

* Few-shot: every test item is scored in every setting. The core selection (`Task.split` → clue/tasks/fewshot.py)
  draws k exemplars per `--fewshot-seed` (default: the protocol's seed 0) from the train/dev split where the dataset
  has one, else leave-one-out from the other test items (pools.py); the pool, its size, the seeds and the exemplar
  ids go to run.json (`task_build`) and scores.json. Zero-shot is the default (k = 0).
* Extraction failures: flagged per sample (`extraction_failure`) and counted per task
  (`extraction_failures`); a failure is scored wrong (or as "no positive prediction" for F1 figures).
* Corpus-level figures (micro-F1, seqeval entity F1, token F1, BLUE's HoC F1) are summed from per-sample
  counts in `aggregate`, so a task score equals `scoring.score` over the same items and outputs.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from clue import prompts as core_prompts
from clue.benchmarks.clinicbench.datasets import DATASETS, Dataset, get
from clue.benchmarks.clinicbench.items import Item
from clue.metrics.druglist import drug_prf
from clue.metrics.ner import entity_counts, token_counts
from clue.protocol import RunProtocol
from clue.tasks.base import Task
from clue.tasks.fewshot import Split
from clue.tasks.kinds import ExtractionTask, GenerationTask, LabelSetTask, MultipleChoiceTask
from clue.types import Sample

PROMPT_ROOT = Path(__file__).with_name("prompts")
# loaders, pools, labels, scoring and baselines are imported where used: every `clue run` loads each installed
# benchmark's tasks to find which one owns the named tasks, and they cost ~25 ms of its 0.3 s start-up budget
BUNDLED_MARK = "BUNDLED.json"  # written by bundled.materialize: which datasets are public samples / synthetic
BASELINE_FIELD = "_baseline"  # the parameterless floor's answer for this dataset, set at prepare()


def _jsonable(reference: Any) -> Any:
    """Gold answers as JSON values (samples.jsonl): sets → sorted lists, tuples → lists."""
    if isinstance(reference, frozenset):
        return sorted(reference)
    if isinstance(reference, tuple):
        return list(reference)
    return reference


def _gold(ds: Dataset, reference: Any) -> Any:
    """Back from the JSON form to what scoring.extract_answer / the metrics expect."""
    if ds.kind == "label_set":
        return frozenset(reference)
    if ds.kind in ("entities", "iob", "drug_list"):
        return tuple(reference)
    return reference


def _answer_fields(ds: Dataset, item: Item) -> dict[str, Any]:
    """The fields answer.j2 reads (as prompts.render_answer builds them), so shots render through the core."""
    from clue.benchmarks.clinicbench.labels import HOC_PROMPT_NAMES, tags_to_entities

    if ds.kind == "entities":
        return {"answer": item.reference, "entities": tags_to_entities(item.fields["tokens"], item.reference)}
    if ds.kind == "iob":
        return {"answer": item.reference, "pairs": list(zip(item.fields["tokens"], item.reference))}
    if ds.kind == "label_set":
        names = [HOC_PROMPT_NAMES[lab] for lab in sorted(item.reference, key=list(HOC_PROMPT_NAMES).index)]
        return {"answer": names or ["none"]}
    return {"answer": item.reference}


class ClinicBenchTask(Task):
    """What every ClinicBench task shares; `dataset` names its row of datasets.DATASETS."""

    dataset: ClassVar[Dataset]
    prompt_root: ClassVar[Path] = PROMPT_ROOT
    reports_extraction: ClassVar[bool] = True
    k: ClassVar[int] = 0  # zero-shot unless --shots K

    # --- data ---------------------------------------------------------------------------
    def _samples(self, items: Sequence[Item], start: int = 0) -> list[Sample]:
        ds = self.dataset
        return [Sample(it.id, {**it.fields, "index": i, **_answer_fields(ds, it)}, _jsonable(it.reference))
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
        """The parameterless floor of every scored item (baselines.baseline_outputs over all scored items)."""
        items = [Item(s.id, {k: v for k, v in s.fields.items()}, _gold(self.dataset, s.reference), "test") for s in scored]
        from clue.benchmarks.clinicbench import baselines

        return {s.id: text for s, text in zip(scored, baselines.baseline_outputs(self.name, items))}

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """Phase-A floors (clinicbench/baselines.py): the scored items' majority label / label set / drug, no
        entities, or the input copied for generation."""
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

    # --- scoring ------------------------------------------------------------------------
    def _item(self, sample: Sample) -> Item:
        return Item(sample.id, dict(sample.fields), _gold(self.dataset, sample.reference), "test")

    def extraction_failure(self, output: str, sample: Sample, profile: RunProtocol) -> str | None:
        from clue.benchmarks.clinicbench import scoring

        got = scoring.extract_answer(self.name, self._item(sample), output, int(sample.fields.get("index", 0)))
        return got.reason or "no answer extracted" if got.failed else None

    def score(self, output: str, sample: Sample, profile: RunProtocol) -> dict[str, float]:
        return self.score_all([output], [sample], profile)[0]

    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: RunProtocol) -> list[dict[str, float]]:
        ds = self.dataset
        items = [self._item(s) for s in samples]
        from clue.benchmarks.clinicbench import scoring

        got = [scoring.extract_answer(self.name, it, o, int(it.fields.get("index", 0))) for it, o in zip(items, outputs)]
        return [self._per_sample(ds, it, g.value) for it, g in zip(items, got)]

    def _per_sample(self, ds: Dataset, item: Item, value: Any) -> dict[str, float]:
        gold = item.reference
        if ds.metric == "accuracy":
            return {"accuracy": 100.0 if value is not None and value == gold else 0.0}
        if ds.kind == "label":  # micro-F1 over the positive classes (classify.micro_f1, summed in aggregate)
            negative = {"none"} if ds.name == "ddi" else {"no"}
            g_pos, p_pos = gold not in negative, value is not None and value not in negative
            tp = float(p_pos and value == gold)
            return {"tp": tp, "fp": float(p_pos) - tp, "fn": float(g_pos) - tp}
        if ds.kind == "label_set":  # BLUE per-document precision/recall (classify.hoc_example_f1)
            g, p = set(gold), set(value or ())
            if not g:
                return {"doc_precision": 1.0 if not p else 0.0, "doc_recall": 1.0}
            return {"doc_precision": len(g & p) / len(p) if p else 0.0, "doc_recall": len(g & p) / len(g)}
        if ds.kind in ("entities", "iob"):
            pred = value if value is not None else ("O",) * len(gold)
            etp, efp, efn = entity_counts(gold, pred)
            ttp, tfp, tfn = token_counts(gold, pred)
            return {"tp": etp, "fp": efp, "fn": efn, "token_tp": ttp, "token_fp": tfp, "token_fn": tfn}
        if ds.kind == "drug_list":
            return dict(drug_prf(gold, value))
        raise ValueError(f"{ds.name}: no per-sample rule for {ds.kind}")

    def aggregate(self, per_sample: Sequence[Mapping[str, float]], profile: RunProtocol) -> dict[str, float | None]:
        if not self.corpus_keys:
            return super().aggregate(per_sample, profile)
        if not per_sample:
            return {m: None for m in self.metrics}
        means = {k: sum(s[k] for s in per_sample) / len(per_sample) for k in self.corpus_keys}
        return {m: float(v) for m, v in self.from_means(means).items()}

    def from_means(self, means: Mapping[str, Any]) -> dict[str, Any]:
        """Micro P/R/F1 from mean counts (ratios of sums = ratios of means); BLUE's HoC F1 from the mean
        per-document precision and recall. Floats or numpy replicate arrays (the report's bootstrap)."""
        import numpy as np  # only when scoring (start-up stays free of numpy: tests/core/test_startup.py)

        if self.dataset.kind == "label_set":
            mp, mr = np.asarray(means["doc_precision"], float), np.asarray(means["doc_recall"], float)
            return {"f1": 100.0 * _div(2 * mp * mr, mp + mr), "precision": 100.0 * mp, "recall": 100.0 * mr}
        out = _prf(means["tp"], means["fp"], means["fn"])
        if "token_tp" in means:
            out["token_f1"] = _prf(means["token_tp"], means["token_fp"], means["token_fn"])["f1"]
        return out

    def cluster(self, sample_id: str) -> str:
        return sample_id


def _div(a: Any, b: Any) -> Any:
    """a / b, 0 where b is 0 (floats or numpy arrays)."""
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _prf(tp: Any, fp: Any, fn: Any) -> dict[str, Any]:
    import numpy as np

    p, r = _div(tp, np.add(tp, fp)), _div(tp, np.add(tp, fn))
    return {"f1": 100.0 * _div(2 * p * r, p + r), "precision": 100.0 * p, "recall": 100.0 * r}


def _bundled_kind(data_dir: Path, dataset: str) -> str | None:
    try:
        marks = json.loads((Path(data_dir) / BUNDLED_MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marks.get(dataset) if isinstance(marks, dict) else None


class GenerationCB(ClinicBenchTask, GenerationTask):
    generation: ClassVar[bool] = True

    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: RunProtocol) -> list[dict[str, float]]:
        return GenerationTask.score_all(self, [str(o or "").strip() for o in outputs], samples, profile)


_KIND_BASE: dict[str, type] = {"multiple_choice": MultipleChoiceTask, "label": LabelSetTask, "label_set": LabelSetTask,
                               "entities": ExtractionTask, "iob": ExtractionTask, "drug_list": ExtractionTask}


def _metrics(ds: Dataset) -> tuple[str, ...]:
    if ds.metric == "accuracy":
        return ("accuracy",)
    if ds.kind == "generation":
        return ("rougeL", "rouge1", "rouge2")
    if ds.kind in ("entities", "iob"):
        return ("f1", "precision", "recall", "token_f1")
    return ("f1", "precision", "recall")


def _corpus_keys(ds: Dataset) -> tuple[str, ...]:
    if ds.metric == "accuracy" or ds.kind in ("drug_list", "generation"):
        return ()  # means of per-sample scores
    if ds.kind == "label_set":
        return ("doc_precision", "doc_recall")
    if ds.kind in ("entities", "iob"):
        return ("tp", "fp", "fn", "token_tp", "token_fp", "token_fn")
    return ("tp", "fp", "fn")


def _task_class(ds: Dataset) -> type[ClinicBenchTask]:
    base = GenerationCB if ds.kind == "generation" else ClinicBenchTask
    bases = (base,) if ds.kind == "generation" else (base, _KIND_BASE[ds.kind])
    attrs: dict[str, Any] = {
        "dataset": ds, "name": ds.name, "title": ds.title, "files": tuple(f.name for f in ds.files),
        "source": f"{', '.join(ds.sources)} (`clue data fetch --benchmark clinicbench {ds.name}`; {ds.licence})",
        "credentialed": ds.credentialed, "metrics": _metrics(ds), "corpus_keys": _corpus_keys(ds),
        "max_tokens": 512 if ds.kind in ("generation", "iob", "entities", "drug_list") else 256,
        "__doc__": f"{ds.title} ({ds.scenario}; {ds.metric}; {ds.access}).",
    }
    if ds.kind in ("label", "label_set"):
        attrs["labels"] = ds.labels
    if ds.kind == "multiple_choice":
        attrs["letters"] = "".join(ds.labels) or "ABCD"
    cls = type("".join(p.capitalize() for p in ds.name.split("-")) + "Task", bases, attrs)
    cls.__module__ = __name__
    return cls


TASK_CLASSES: dict[str, type[ClinicBenchTask]] = {d.name: _task_class(d) for d in DATASETS if d.runnable}
TASKS: dict[str, Task] = {name: cls() for name, cls in TASK_CLASSES.items()}
UNAVAILABLE: tuple[Dataset, ...] = tuple(d for d in DATASETS if not d.runnable)

__all__ = ["TASKS", "TASK_CLASSES", "UNAVAILABLE", "ClinicBenchTask", "get"]
