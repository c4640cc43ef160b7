"""Per-dataset answer extraction and scoring: the thin layer between a dataset's kind and the shared
core pieces (clue.metrics.extract / classify / ner / druglist / rouge).

`extract(dataset, item, output)` → Extraction; `score(dataset, items, outputs)` → Score with the
dataset's primary figure, its secondary figures, and the number of outputs whose extraction failed
(failures are scored as wrong — see clue.metrics.extract — and always reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean
from typing import Sequence

from clue.benchmarks.clinicbench.datasets import get
from clue.benchmarks.clinicbench.items import Item
from clue.benchmarks.clinicbench.labels import DDI_ALIASES, HOC_CODES, HOC_NAMES
from clue.metrics import classify, extract, ner
from clue.metrics.druglist import drug_prf
from clue.metrics.rouge import rouge_many


@dataclass(frozen=True)
class Score:
    dataset: str
    metric: str
    value: float  # the primary figure, percent
    n: int
    failed: int  # outputs whose answer could not be extracted
    figures: dict[str, float] = field(default_factory=dict)  # secondary figures (precision, recall, token F1 …)

    def __post_init__(self) -> None:  # plain floats (seqeval returns numpy scalars)
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "figures", {k: float(v) for k, v in self.figures.items()})


def extract_answer(dataset: str, item: Item, output: str, index: int = 0) -> extract.Extraction:
    ds = get(dataset)
    kind = ds.kind
    if kind == "multiple_choice":
        letters = "".join(item.fields["options"])
        return extract.option_letter(output, letters, item.fields["options"])
    if kind == "label":
        return extract.label(output, ds.labels, DDI_ALIASES if dataset == "ddi" else None)
    if kind == "label_set":
        return extract.label_set(output, HOC_NAMES, HOC_CODES)
    if kind == "entities":
        got = extract.entity_list(output)
        if got.failed:
            return got
        return extract.Extraction(tuple(extract.tag_entities(item.fields["tokens"], got.value, ds.labels[0])))
    if kind == "iob":
        return extract.iob_tags(output, item.fields["tokens"], ds.labels[0])
    if kind == "drug_list":
        return extract.drug_list(output)
    if kind == "generation":
        text = str(output or "").strip()
        return extract.Extraction(text) if text else extract.Extraction.fail("empty output")
    raise ValueError(f"dataset {dataset!r} ({kind}) has no answers to extract")


def score(dataset: str, items: Sequence[Item], outputs: Sequence[str]) -> Score:
    if len(items) != len(outputs):
        raise ValueError(f"{len(items)} items but {len(outputs)} outputs")
    ds = get(dataset)
    got = [extract_answer(dataset, it, out, i) for i, (it, out) in enumerate(zip(items, outputs))]
    failed = sum(g.failed for g in got)
    values = [g.value for g in got]
    gold = [it.reference for it in items]
    n = len(items)
    if ds.kind == "multiple_choice" or (ds.kind == "label" and ds.metric == "accuracy"):
        return Score(dataset, "accuracy", classify.accuracy(gold, values), n, failed)
    if ds.kind == "label":
        negative = {"none"} if dataset == "ddi" else {"no"}
        prf = classify.micro_f1(gold, values, negative)
        return Score(dataset, "micro-F1", prf["f1"], n, failed, {"precision": prf["precision"], "recall": prf["recall"]})
    if ds.kind == "label_set":
        prf = classify.hoc_example_f1(gold, values)
        return Score(dataset, "example-based F1", prf["f1"], n, failed,
                     {"precision": prf["precision"], "recall": prf["recall"]})
    if ds.kind in ("entities", "iob"):
        pred = [v if v is not None else ("O",) * len(g) for v, g in zip(values, gold)]
        ent, tok = ner.entity_prf(gold, pred), ner.token_prf(gold, pred)
        return Score(dataset, "entity F1", ent["f1"], n, failed,
                     {"precision": ent["precision"], "recall": ent["recall"], "token_f1": tok["f1"]})
    if ds.kind == "drug_list":
        per = [drug_prf(g, v) for g, v in zip(gold, values)]
        return Score(dataset, "F1", mean(p["f1"] for p in per) if per else 0.0, n, failed,
                     {"precision": mean(p["precision"] for p in per) if per else 0.0,
                      "recall": mean(p["recall"] for p in per) if per else 0.0})
    if ds.kind == "generation":
        rows = rouge_many([v or "" for v in values], [str(g) for g in gold])
        return Score(dataset, "ROUGE-L", mean(r["rougeL"] for r in rows) if rows else 0.0, n, failed,
                     {"rouge1": mean(r["rouge1"] for r in rows) if rows else 0.0,
                      "rouge2": mean(r["rouge2"] for r in rows) if rows else 0.0})
    raise ValueError(f"dataset {dataset!r} cannot be scored")
