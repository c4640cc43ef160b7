"""Where a ClinicBench dataset's few-shot exemplars come from; the draw itself is the core's (clue/tasks/fewshot.py).

Every test item is scored in every setting, zero-shot included (the Table 1 sizes: Pharmacology QA 213, Drug
Interaction 200, Treatment Recommendation 796). Exemplars come from the dataset's train/dev split where the datasets
table names one and its file is present: k items drawn with the run's few-shot seed, shared by every item. Otherwise —
the released datasets have no train/dev split, and a train/dev file may be absent — each item's k exemplars are drawn
from the OTHER test items (leave-one-out, seeded per item, stratified by label where the label set is small:
`tasks.ClinicBenchTask.stratum`), so no scored item is ever its own exemplar. Order never matters: Drug Interaction's
file is 100 "yes" then 100 "no", and every draw is seeded over the whole file, never its head.
"""

from __future__ import annotations

from clue.benchmarks.clinicbench.datasets import get
from clue.benchmarks.clinicbench.items import Item, Loaded

SPLITS = ("train", "dev")  # datasets-table `exemplars` values naming a train/dev split


def exemplar_pool(dataset: str, loaded: Loaded) -> tuple[tuple[Item, ...], str]:
    """(train/dev pool, where it comes from); an empty pool means leave-one-out over the test items, and says why."""
    split = get(dataset).exemplars
    if split in SPLITS and loaded.pool:
        return loaded.pool, f"{split} split"
    if split in SPLITS:
        return (), f"no {split} items in the data (file absent or empty): leave-one-out over the test items"
    return (), "the dataset has no train/dev split: leave-one-out over the test items"
