"""MeQSum: summarise a consumer health question into one concise question (spec §3.2).

Data: the public MeQSum xlsx (Ben Abacha & Demner-Fushman, ACL 2019, CC BY 4.0), first sheet,
columns `CHQ` (the inquiry) and `Summary` (the reference question); `File` is unused.
TGI era: file order, k = 3 shots from the top of the file, 200 new tokens, generation prefix
"Question: ", truncate = min(MPE − 200, 24576). Metrics: ROUGE-1/2/L on the raw post-processed
output against `Summary`; BERTScore (`lang="en-sci"` = SciBERT uncased, layer 8, original case, in
both eras) when the optional `bertscore` extra is installed, else named by `skipped_metrics`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from clue import parsed_cache
from clue.benchmarks.clue.baselines import first_question
from clue.benchmarks.clue.protocol import ProtocolProfile
from clue.benchmarks.clue.tasks.base import ClueTask
from clue.errors import DataError
from clue.metrics import summary
from clue.metrics.rouge import rouge
from clue.types import Sample

REQUIRED_COLUMNS = ("CHQ", "Summary")


class MeQSum(ClueTask):
    name = "meqsum"
    title = "MeQSum"
    files = ("MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx",)
    source = "https://raw.githubusercontent.com/abachaa/MeQSum/master/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx (public, CC BY 4.0)"
    generation = True
    metrics = ("rougeL", "rouge1", "rouge2", "bertscore_p", "bertscore_r", "bertscore_f1")
    k = 3
    max_new_tokens = {"tgi": 200, "vllm": 512}
    q23_applies = True

    def load(self, data_dir: Path) -> list[Sample]:
        rows = parsed_cache.records(self.path(data_dir), self._read_xlsx, version="meqsum-1")  # re-runs skip pandas
        return [Sample(id=str(i), fields=row, reference=str(row["Summary"])) for i, row in enumerate(rows)]

    def _read_xlsx(self, path: Path) -> list[dict]:
        import pandas as pd

        try:
            frame = pd.read_excel(path, engine="openpyxl")  # first sheet, like the original code
        except Exception as exc:  # openpyxl raises a zoo of types for a damaged workbook
            raise DataError(f"{path} is not a readable xlsx workbook ({type(exc).__name__})", f"re-download it from {self.source}") from None
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise DataError(f"{path} lacks column(s) {', '.join(missing)}", f"expected the MeQSum release from {self.source}")
        return frame.to_dict(orient="records")

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """Baseline rule: the first question of the inquiry (see `first_question`)."""
        return first_question(sample.fields["CHQ"])

    def write_synthetic(self, records: list[dict], path: Path) -> None:
        import pandas as pd

        pd.DataFrame(records).to_excel(path, index=False, engine="openpyxl")

    def document_fields(self, profile: ProtocolProfile) -> tuple[str, ...]:
        return ("CHQ",)

    def truncate(self, max_position_embeddings: int) -> int | None:
        return min(max_position_embeddings - 200, 24576)

    def score(self, output: str, sample: Sample, profile: ProtocolProfile) -> dict[str, float]:
        return rouge(output, sample.reference)


    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: ProtocolProfile) -> list[dict[str, float]]:
        return summary.score_summaries(outputs, [s.reference for s in samples], bertscore_model="scibert",  # ROUGE = score() per pair
                                       truncate_512=profile.q24_bertscore_truncate_512, with_umls=False)

    def skipped_metrics(self, profile: ProtocolProfile) -> dict[str, str]:
        return summary.skipped(with_umls=False)

    def scores_item_by_item(self, profile: ProtocolProfile) -> bool:
        return summary.rouge_only(with_umls=False)  # ROUGE alone: each row is score() of its own pair
