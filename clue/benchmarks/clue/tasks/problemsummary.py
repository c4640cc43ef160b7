"""ProblemSummary (BioNLP 2023 Task 1A): list a patient's diagnoses and problems from a progress
note's Subjective and Assessment sections (spec §3.3).

Data: `BioNLP2023-1A-Test.csv` from PhysioNet (credentialed, MIMIC-derived), read with Python's
csv module (header row; every later row a dict of strings). Used fields: `Subjectives`,
`Assessment` (prompt) and `Summary` (reference; `File ID` and `Objectives` are unused).
Cleaning (Q2) happens in `split`, because it depends on the profile: every ';' of `Summary`
becomes ', ' (the original's trailing-';' removal was a no-op; 'strip_trailing' really drops it).
k = 3 shots from the top (vLLM era: after the seed-1 shuffle); 100 new tokens with
truncate = MPE − 100 (TGI era), 512 (vLLM era); TGI prefix "Diagnoses/Patient problems: ".
Metrics: ROUGE-1/2/L; BERTScore (TGI era Bio_ClinicalBERT layer 9 on lower-cased text when Q25
is on; vLLM era SciBERT layer 8, original case) and UMLS concept F1 (original case), each only
when its optional stack is installed (`skipped_metrics` names the missing ones).
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from clue.benchmarks.clue.protocol import ProtocolProfile
from clue.benchmarks.clue.tasks.base import ClueTask
from clue.errors import DataError
from clue.metrics import summary
from clue.metrics.rouge import rouge
from clue.tasks.base import Split
from clue.types import Sample

REQUIRED_COLUMNS = ("Subjectives", "Assessment", "Summary")
# Header order of the synthetic file we write; the real file's column order was not checked
# (the loader reads columns by name, so order does not matter).
HEADER = ("File ID", "Subjectives", "Objectives", "Assessment", "Summary")
BERTSCORE_MODEL = {"tgi": "clinicalbert", "vllm": "scibert"}  # keys of bertscore.DEFAULT_MODELS
_FIRST_SENTENCE = re.compile(r".+?[.!?](?=\s|$)")


def clean_summary(summary: str, profile: ProtocolProfile) -> str:
    """Q2: every ';' → ', '. 'keep' (both eras) leaves a trailing ';' to become a trailing ', ';
    'strip_trailing' (corrected) first drops a trailing ';' (after trailing whitespace)."""
    if profile.q2_problemsummary_semicolons == "strip_trailing":
        summary = summary.rstrip()
        if summary.endswith(";"):
            summary = summary[:-1]
    return summary.replace(";", ", ")


class ProblemSummary(ClueTask):
    name = "problemsummary"
    title = "ProblemSummary"
    files = ("BioNLP2023-1A-Test.csv",)
    source = ("https://physionet.org/content/bionlp-workshop-2023-task-1a/2.0.0/ "
              "(PhysioNet credentialed access; file BioNLP2023-1A-Test.csv)")
    credentialed = True
    generation = True
    metrics = ("rougeL", "rouge1", "rouge2", "bertscore_p", "bertscore_r", "bertscore_f1", "umls_p", "umls_r", "umls_f1")
    k = 3
    max_new_tokens = {"tgi": 100, "vllm": 512}
    double_count_first = {"tgi": True, "vllm": False}
    q23_applies = True

    def load(self, data_dir: Path) -> list[Sample]:
        """The csv as is (uncleaned `Summary`); `split` applies the profile's cleaning."""
        path = self.path(data_dir)
        try:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                header = reader.fieldnames or []
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise DataError(f"{path} lacks column(s) {', '.join(missing)}",
                                    f"expected the BioNLP 2023 Task 1A test csv from {self.source}")
                rows = list(reader)
        except UnicodeDecodeError:
            raise DataError(f"{path} is not UTF-8 text", f"re-download it from {self.source}") from None
        except csv.Error as exc:
            raise DataError(f"{path} is not a readable csv file ({exc})", f"re-download it from {self.source}") from None
        samples = []
        for i, row in enumerate(rows):
            if not row.get("Summary"):  # the original code crashed on an empty Summary
                raise DataError(f"{path} row {i + 2} (File ID {row.get('File ID')!r}) has an empty Summary",
                                "fix or remove that row; every item needs a reference summary")
            samples.append(Sample(id=str(i), fields=row, reference=row["Summary"]))
        return samples

    def clean(self, samples: Sequence[Sample], profile: ProtocolProfile) -> list[Sample]:
        """Q2 cleaning of `Summary` (field and reference), applied to every row, shots included."""
        out = []
        for s in samples:
            summary = clean_summary(str(s.fields["Summary"]), profile)
            out.append(replace(s, fields={**s.fields, "Summary": summary}, reference=summary))
        return out

    def split(self, samples: Sequence[Sample], profile: ProtocolProfile, shots: int | None = None,
              pool: Sequence[Sample] | None = None, seeds: Sequence[int] | None = None) -> Split:
        """Clean first (the original cleaned while loading, before any shuffle), then split."""
        return super().split(self.clean(samples, profile), profile, shots)

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """Baseline rule: the first sentence of the Assessment section (up to the first '.', '!' or
        '?' followed by whitespace or the end, whitespace collapsed), or the whole section."""
        text = " ".join(str(sample.fields.get("Assessment") or "").split())
        match = _FIRST_SENTENCE.match(text)
        return match.group(0) if match else text

    def write_synthetic(self, records: list[dict], path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(HEADER))
            writer.writeheader()
            for record in records:
                writer.writerow({c: record.get(c, "") for c in HEADER})

    def document_fields(self, profile: ProtocolProfile) -> tuple[str, ...]:
        return ("Subjectives", "Assessment")  # the assessment, where the problems are, goes last

    def truncate(self, max_position_embeddings: int) -> int | None:
        return max_position_embeddings - 100

    def score(self, output: str, sample: Sample, profile: ProtocolProfile) -> dict[str, float]:
        # The TGI-era code lower-cased both sides before ROUGE too (a no-op: ROUGE lower-cases).
        return rouge(output, sample.reference, lowercase=profile.era == "tgi")


    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: ProtocolProfile) -> list[dict[str, float]]:
        return summary.score_summaries(outputs, [s.reference for s in samples], bertscore_model=BERTSCORE_MODEL[profile.era],
                                       rouge_lowercase=profile.era == "tgi",  # = score() per pair, in bulk
                                       bertscore_lowercase=profile.q25_problemsummary_bertscore_lowercase,
                                       truncate_512=profile.q24_bertscore_truncate_512)

    def skipped_metrics(self, profile: ProtocolProfile) -> dict[str, str]:
        return summary.skipped()

    def scores_item_by_item(self, profile: ProtocolProfile) -> bool:
        return summary.rouge_only()  # ROUGE alone: each row is score() of its own pair
