"""MeDiSumQA: answer a patient's question about their discharge letter (spec §3.5).

Data: the PhysioNet "MeDiSumQA" 1.0.0 release (credentialed, MIMIC-IV-Note derived), saved as
`MeDiSumQA.json`. Q19: the TGI-era code read `without_discharge_summary`, `Question`, `Answer`
(JSON Lines, later a JSON array); the vLLM-era code reads `discharge_summary` instead. The
loader accepts a JSON array or JSON Lines and either letter field, and gives every sample both
spellings so each era's template finds its field (`question`/`answer` in lower case are also
accepted).

Order: seed-1 shuffle in BOTH eras (§3.0, §3.5), k = 1. 200 / 512 new tokens, truncate =
MPE − 200. TGI era: user template ends with "Question: {Question}", few-shot answer
"Answer: {Answer}", generation prefix "Answer: " (Q3: the committed code crashed here; the
profile switch q3_medisumqa_prefix keeps the pre-fdb4ec7 prefix, False sends none);
post-processing = strip, then Phi split, no self-prompting regex (§2.6). vLLM era: "{Question}"
and "{Answer}", no prefix. Metrics: ROUGE-1/2/L, BERTScore (TGI era: Bio_ClinicalBERT layer 9;
vLLM era: SciBERT layer 8) and UMLS F1, all on original-case text; BERTScore and UMLS come
from optional extras and are named as skipped when missing. Means: first-sample quirk in the
TGI era only (Q1); two-decimal rounding in the vLLM era (Q23).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from clue.benchmarks.clue.protocol import ProtocolProfile
from clue.benchmarks.clue.tasks.base import ClueTask
from clue.benchmarks.clue.tasks.postprocess import phi_split
from clue.benchmarks.clue.tasks.records import read_records
from clue.errors import DataError
from clue.metrics import summary
from clue.metrics.rouge import rouge
from clue.tasks.base import Split
from clue.types import Sample

DOCUMENT_FIELDS = ("without_discharge_summary", "discharge_summary")  # TGI-era, vLLM-era spelling
SHUFFLE_SEED = 1  # both eras
BERTSCORE_MODEL = {"tgi": "clinicalbert", "vllm": "scibert"}  # keys of bertscore.DEFAULT_MODELS (L9 / L8)

_SENTENCE = re.compile(r"[^.?!\n]+[.?!]*")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have he her his how i in is it of on or she "
    "that the their they this to was were what when where which who why will with you your".split()
)


def _normalise(record: dict, where: str, fix: str) -> dict:
    """Both letter spellings and the `Question`/`Answer` fields, or a DataError naming what is missing."""
    fields = dict(record)
    for canonical in ("Question", "Answer"):
        if canonical not in fields and canonical.lower() in fields:
            fields[canonical] = fields[canonical.lower()]
    document = next((fields[f] for f in DOCUMENT_FIELDS if f in fields), None)
    missing = [f for f in ("Question", "Answer") if f not in fields]
    if document is None:
        missing.insert(0, " or ".join(DOCUMENT_FIELDS))
    if missing:
        raise DataError(f"{where} lacks field(s) {', '.join(missing)}", fix)
    for f in DOCUMENT_FIELDS:
        fields.setdefault(f, document)
    return fields


def best_overlap_sentence(document: str, question: str) -> str:
    """The sentence of `document` sharing the most distinct non-stop words with `question`
    (lower-cased [a-z0-9] words; ties: the earliest; no overlap: the first sentence)."""
    words = set(_WORD.findall(str(question).lower())) - _STOPWORDS
    sentences = [s.strip() for s in _SENTENCE.findall(str(document)) if s.strip()]
    if not sentences:
        return ""
    overlaps = [len(words & set(_WORD.findall(s.lower()))) for s in sentences]
    return sentences[overlaps.index(max(overlaps))]


class MeDiSumQA(ClueTask):
    name = "medisumqa"
    title = "MeDiSumQA"
    files = ("MeDiSumQA.json",)
    source = ("https://physionet.org/content/medisumqa/1.0.0/ (credentialed PhysioNet access); save the QA file "
              "as MeDiSumQA.json (JSON array or JSON Lines)")
    credentialed = True
    generation = True
    metrics = ("rougeL", "rouge1", "rouge2", "bertscore_p", "bertscore_r", "bertscore_f1", "umls_p", "umls_r", "umls_f1")
    k = 1
    max_new_tokens = {"tgi": 200, "vllm": 512}
    double_count_first = {"tgi": True, "vllm": False}
    q23_applies = True

    def load(self, data_dir: Path) -> list[Sample]:
        path = self.path(data_dir)
        fix = f"expected MeDiSumQA items with a letter, Question and Answer from {self.source}"
        records = read_records(path, fix)
        samples = []
        for i, record in enumerate(records):
            fields = _normalise(record, f"{path} record {i + 1}", fix)
            samples.append(Sample(id=str(i), fields=fields, reference=str(fields["Answer"])))
        return samples

    def split(self, samples: Sequence[Sample], profile: ProtocolProfile, shots: int | None = None,
              pool: Sequence[Sample] | None = None, seeds: Sequence[int] | None = None) -> Split:
        """Both eras shuffle with CPython's random.seed(1) before taking the shot (§3.5)."""
        return super().split(samples, replace(profile, fewshot_shuffle_seed=SHUFFLE_SEED), shots)

    def document_fields(self, profile: ProtocolProfile) -> tuple[str, ...]:
        """The letter the user template shows (corrected Q8 cuts its end when a prompt is too long)."""
        return ("without_discharge_summary",) if self.user_part(profile) == "user" else ("discharge_summary",)

    def user_part(self, profile: ProtocolProfile) -> str:
        """The vLLM era's user template dropped the "Question: " label (`Task.build` uses this hook)."""
        return "user" if profile.era == "tgi" else "user_vllm"

    def prefix(self, profile: ProtocolProfile) -> str:
        """Generation prefix: "Answer: " in the TGI era while q3_medisumqa_prefix holds (Q3)."""
        return self.render("prefix") if profile.generation_prefix and profile.q3_medisumqa_prefix else ""

    def truncate(self, max_position_embeddings: int) -> int | None:
        return max_position_embeddings - 200

    def postprocess(self, text: str, profile: ProtocolProfile, model: str) -> str:
        """TGI era (§2.6): strip, then the Phi split; no self-prompting regex."""
        return phi_split(text.strip(), profile, model)

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """Baseline rule: the sentence of the discharge letter sharing the most distinct non-stop
        words with the question (ties: the earliest sentence; no overlap: the first sentence)."""
        return best_overlap_sentence(sample.fields[DOCUMENT_FIELDS[0]], sample.fields["Question"])

    def write_synthetic(self, records: list[dict], path: Path) -> None:
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def skipped_metrics(self, profile: ProtocolProfile) -> dict[str, str]:
        return summary.skipped()

    def scores_item_by_item(self, profile: ProtocolProfile) -> bool:
        return summary.rouge_only()  # ROUGE alone: each row is score() of its own pair

    def score(self, output: str, sample: Sample, profile: ProtocolProfile) -> dict[str, float]:
        return rouge(output, sample.reference)


    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: ProtocolProfile) -> list[dict[str, float]]:
        """ROUGE per pair; BERTScore and UMLS in one batch each when their stack is installed."""
        return summary.score_summaries(outputs, [s.reference for s in samples], bertscore_model=BERTSCORE_MODEL[profile.era],
                                       truncate_512=profile.q24_bertscore_truncate_512)
