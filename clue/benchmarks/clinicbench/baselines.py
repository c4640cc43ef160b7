"""Parameterless baselines: the floor each dataset's metric gives without a model.

`baseline_outputs(dataset, items)` writes the raw text such a "model" would answer, so the floor is
scored through the same extraction and metric code as a real model:
  multiple choice / single label  the majority gold label of the scored items (ties: alphabetical)
                                  — e.g. Pharmacology QA → always "B" = 135/213 = 63.4 %
  label set (HoC)                 the most frequent gold label set
  NER                             no entities (all "O")
  drug list                       the single most frequent gold drug
  generation                      the input copied (findings / record / document)
The majority is taken from the scored items themselves, as "constant B = 63.4 %" is.
"""

from __future__ import annotations

from collections import Counter
from typing import Hashable, Iterable, Sequence, TypeVar

from clue.benchmarks.clinicbench.datasets import get
from clue.benchmarks.clinicbench.items import Item
from clue.benchmarks.clinicbench.labels import HOC_PROMPT_NAMES

_INPUT_FIELD = {"iu-xray": "findings", "mimic-cxr": "findings", "hospitalization-summarization": "record",
                "patient-education": "document"}
H = TypeVar("H", bound=Hashable)


def majority(values: Iterable[H]) -> H:
    counts = Counter(values)
    if not counts:
        raise ValueError("no labels to take a majority of")
    top = max(counts.values())
    return sorted((v for v, c in counts.items() if c == top), key=lambda v: str(sorted(v)) if isinstance(v, frozenset) else str(v))[0]


def baseline_outputs(dataset: str, items: Sequence[Item]) -> list[str]:
    ds = get(dataset)
    if ds.kind in ("multiple_choice", "label"):
        return [str(majority(it.reference for it in items))] * len(items)
    if ds.kind == "label_set":
        top = majority(it.reference for it in items)
        text = ", ".join(HOC_PROMPT_NAMES[lab] for lab in sorted(top)) or "none"
        return [text] * len(items)
    if ds.kind == "entities":
        return [f"{i} | none" for i in range(len(items))]
    if ds.kind == "iob":
        return ["\n".join(f"{tok}\tO" for tok in it.fields["tokens"]) for it in items]
    if ds.kind == "drug_list":
        top = majority(d for it in items for d in it.reference)
        return [f"Final Answer: {top}"] * len(items)
    if ds.kind == "generation":
        return [str(it.fields[_INPUT_FIELD[dataset]]) for it in items]
    raise ValueError(f"dataset {dataset!r} has no baseline ({ds.access})")
