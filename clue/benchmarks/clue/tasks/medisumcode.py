"""MeDiSumCode: list the ICD-10 codes of a discharge letter (spec §3.6).

Data: `MeDiSumCode.json`, generated from MIMIC-IV 2.2 + MIMIC-IV-Note 2.2 (credentialed; spec
§7.2). The evaluation read a JSON array while the generator wrote JSON Lines (Q19), so both are
accepted. Each object: `hadm_id`, `text` (the discharge note), `icd_codes` = list of
`{"code", "description"}` with dot-less codes (`E119`). The gold string `codes` is the codes in
list order joined with ", " (an empty list gives "").

k = 1 (TGI: file order; vLLM era: seed-1 shuffle), 200 / 512 new tokens, truncate = MPE − 200.
The generation prefix "ICD-10 Codes: " is appended in the TGI era only, but the few-shot
answer keeps it in both eras (§5). Metrics: `clue.metrics.icd` (Q17, Q18), first-sample quirk
in both eras (Q1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from clue.benchmarks.clue.protocol import ProtocolProfile
from clue.benchmarks.clue.tasks.base import ClueTask
from clue.benchmarks.clue.tasks.records import read_records, require
from clue.errors import DataError
from clue.metrics.icd import icd_scores
from clue.types import Sample

REQUIRED_FIELDS = ("text", "icd_codes")


def join_codes(icd_codes: Any, where: str, fix: str) -> str:
    """The gold string: the `code` of each entry (or the entry itself, if a string), joined with ", "."""
    if not isinstance(icd_codes, list):
        raise DataError(f"{where}: icd_codes is not a list", fix)
    codes = []
    for entry in icd_codes:
        if isinstance(entry, dict) and "code" in entry:
            codes.append(str(entry["code"]))
        elif isinstance(entry, str):
            codes.append(entry)
        else:
            raise DataError(f"{where}: an icd_codes entry lacks field code", fix)
    return ", ".join(codes)


class MeDiSumCode(ClueTask):
    name = "medisumcode"
    title = "MeDiSumCode"
    files = ("MeDiSumCode.json",)
    source = ("MIMIC-IV 2.2 hosp/diagnoses_icd + MIMIC-IV-Note 2.2 discharge notes (credentialed PhysioNet access), "
              "built with CLUE's data/MeDiSumCode/generate_code_dataset.py (spec §7.2)")
    credentialed = True
    metrics = ("icd_em_p", "icd_em_r", "icd_em_f1", "icd_ap_p", "icd_ap_r", "icd_ap_f1", "valid_codes")
    k = 1
    max_new_tokens = {"tgi": 200, "vllm": 512}
    double_count_first = {"tgi": True, "vllm": True}

    def load(self, data_dir: Path) -> list[Sample]:
        path = self.path(data_dir)
        fix = f"expected MeDiSumCode objects with hadm_id, text, icd_codes ({self.source})"
        records = read_records(path, fix)
        require(records, REQUIRED_FIELDS, path, fix)
        samples = []
        for i, r in enumerate(records):
            codes = join_codes(r["icd_codes"], f"{path} record {i + 1}", fix)
            fields = {"hadm_id": r.get("hadm_id"), "text": r["text"], "codes": codes}
            samples.append(Sample(id=str(i), fields=fields, reference=codes))
        return samples

    def assistant_part(self, profile: ProtocolProfile) -> str:
        return "assistant"  # "ICD-10 Codes: {codes}" in both eras

    def document_fields(self, profile: ProtocolProfile) -> tuple[str, ...]:
        return ("text",)

    def truncate(self, max_position_embeddings: int) -> int | None:
        return max_position_embeddings - 200

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """Baseline rule: repeat the gold codes of the few-shot example(s), ", "-joined, in order."""
        return ", ".join(s.reference for s in shots if s.reference)

    def write_synthetic(self, records: list[dict], path: Path) -> None:
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def score(self, output: str, sample: Sample, profile: ProtocolProfile) -> dict[str, float]:
        return icd_scores(output, sample.reference, multiset=profile.q17_icd_multiset, regex=profile.q18_icd_regex)
