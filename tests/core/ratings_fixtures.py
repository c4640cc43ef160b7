"""Helpers (no tests): two fake runs of a generation task for the ratings tests. All text is invented."""

from __future__ import annotations

import json
from pathlib import Path

from tests.core.test_report_fixtures import sample, write_run

MODELS = {"SecretAlpha__clue-v3": "acme-labs/SecretAlpha-7B-Instruct", "HiddenBeta__clue-v3": "zeta-corp/HiddenBeta-13B"}
N_ITEMS = 30


def rouge_of(run_index: int, i: int) -> float:
    """A per-item ROUGE-L that differs by item and run (run 0 is better on average)."""
    return round(10.0 + (i * 37 % 60) + (8.0 if run_index == 0 else 0.0), 2)


def fake_runs(root: Path, *, task: str = "meqsum", credentialed: bool = False, recorded: bool = True,
              messages: bool = True) -> list[Path]:
    runs = []
    for r, (name, model) in enumerate(MODELS.items()):
        lines = []
        for i in range(N_ITEMS):
            prompt = ([{"role": "system", "content": "Summarise the question."},
                       {"role": "user", "content": f"SYNTHETIC consumer question number {i}: is drug X safe with Y?"}]
                      if messages else f"<|model-{r}|> SYNTHETIC question {i}")
            lines.append(sample(task, f"SYNTHETIC-q{i:03d}", {"rougeL": rouge_of(r, i), "rouge1": rouge_of(r, i) + 3},
                                output=f"SYNTHETIC summary {i} variant {'xyz'[r]}: <b>is X safe with Y?</b>",
                                prompt=prompt, reference=f"SYNTHETIC reference summary {i}"))
        lines.append(sample("mednli", "SYNTHETIC-nli-1", {"accuracy": 1.0}, output="entailment"))
        path = write_run(root / name, model, lines)
        scores = json.loads((path / "scores.json").read_text())
        if recorded:
            for t, entry in scores["tasks"].items():
                entry["generation"] = t != "mednli"
                entry["credentialed"] = credentialed if t == task else True
        (path / "scores.json").write_text(json.dumps(scores))
        runs.append(path)
    return runs
