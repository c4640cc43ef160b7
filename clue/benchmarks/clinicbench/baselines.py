"""Parameterless baselines: the floor each dataset's metric gives without a model.

`baseline_outputs(dataset, items)` writes the raw text such a "model" would answer — the dataset's answer kind's
`floor` (clue.answers) — so the floor is read and scored through the same code as a real model:
  option letter / closed label    the majority gold label of the scored items (ties: alphabetical)
                                  — e.g. Pharmacology QA → always "B" = 135/213 = 63.4 %
  label set (HoC)                 the most frequent gold label set
  entity list / IOB tags          no entities (all "O")
  drug list                       the single most frequent gold drug
  free text                       the input copied (findings / record / document)
The majority is taken from the scored items themselves, as "constant B = 63.4 %" is.
"""

from __future__ import annotations

from typing import Sequence

from clue.benchmarks.clinicbench.datasets import get
from clue.benchmarks.clinicbench.items import Item


def baseline_outputs(dataset: str, items: Sequence[Item]) -> list[str]:
    ds = get(dataset)
    if ds.answer is None:
        raise ValueError(f"dataset {dataset!r} has no baseline ({ds.access})")
    return ds.answer.floor([it.reference for it in items], [it.fields for it in items])
