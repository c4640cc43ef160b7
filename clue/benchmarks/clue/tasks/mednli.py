"""MedNLI: natural-language inference on clinical sentence pairs (spec §3.1).

Data: the MedNLI 1.0.0 test split from PhysioNet (credentialed, MIMIC-III derived),
`mli_test_v1.jsonl`, one JSON object per line with `sentence1`, `sentence2` and `gold_label`
(lower-case `entailment` / `neutral` / `contradiction`). k = 3 shots from the top (TGI: file
order; vLLM era: seed-1 shuffle first), 20 new tokens in both eras, truncate = MPE − 200, no
generation prefix; the few-shot answer is the raw gold label. Metric `accuracy` (Q4 rule, see
`clue.metrics.choice`), averaged with the first-sample quirk in both eras' code (Q1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from clue.benchmarks.clue.baselines import majority_label
from clue.benchmarks.clue.protocol import ProtocolProfile
from clue.benchmarks.clue.tasks.base import ClueTask
from clue.benchmarks.clue.tasks.records import read_records, require
from clue.metrics.choice import NLI_LABELS, choice_accuracy
from clue.types import Sample

REQUIRED_FIELDS = ("sentence1", "sentence2", "gold_label")


class MedNLI(ClueTask):
    name = "mednli"
    title = "MedNLI"
    files = ("mli_test_v1.jsonl",)
    source = "https://physionet.org/content/mednli/1.0.0/ (credentialed PhysioNet access; file mli_test_v1.jsonl)"
    credentialed = True
    metrics = ("accuracy",)
    k = 3
    max_new_tokens = {"tgi": 20, "vllm": 20}
    double_count_first = {"tgi": True, "vllm": True}

    def load(self, data_dir: Path) -> list[Sample]:
        path = self.path(data_dir)
        fix = f"expected the MedNLI test split from {self.source}"
        records = read_records(path, fix)
        require(records, REQUIRED_FIELDS, path, fix)
        return [Sample(id=str(i), fields=r, reference=str(r["gold_label"])) for i, r in enumerate(records)]

    def assistant_part(self, profile: ProtocolProfile) -> str:
        return "assistant"  # the raw gold label in both eras

    def document_fields(self, profile: ProtocolProfile) -> tuple[str, ...]:
        return ("sentence1",)

    def truncate(self, max_position_embeddings: int) -> int | None:
        return max_position_embeddings - 200

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """Baseline rule: the majority gold label of the few-shot examples (ties: alphabetical)."""
        return majority_label(shots)

    def write_synthetic(self, records: list[dict], path: Path) -> None:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")

    def score(self, output: str, sample: Sample, profile: ProtocolProfile) -> dict[str, float]:
        return {"accuracy": choice_accuracy(output, sample.reference, rule=profile.q4_mednli_rule, labels=NLI_LABELS)}
