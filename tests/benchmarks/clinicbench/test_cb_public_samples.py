"""`--data-dir shared/data/clinicbench/public-samples` works as it is: the loaders find each 50-item sample under
its own folder and file name (the datasets' declared other places), and a run scores them.

Expected counts are the ones each sample's SOURCE.md states (gold letters / labels), not computed by the kit.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from clue import cli
from clue.benchmarks.clinicbench import loaders

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = next((p / "shared/data/clinicbench/public-samples" for p in ROOT.parents
                if (p / "shared/data/clinicbench/public-samples").is_dir()), None)
pytestmark = pytest.mark.skipif(SAMPLES is None, reason="shared/data/clinicbench/public-samples not present")

# dataset -> (file the loader must find, gold counts from its SOURCE.md)
EXPECTED = {
    "medqa": ("medqa/medqa_us_4options_test_first50.jsonl", {"D": 18, "A": 11, "C": 11, "B": 10}),
    "medmcqa": ("medmcqa/medmcqa_dev_first50.jsonl", {"A": 21, "B": 13, "C": 9, "D": 7}),
    "mmlu-medicine": ("mmlu-professional-medicine/professional_medicine_test_first50.csv", {"D": 18, "B": 12, "C": 12, "A": 8}),
    "pubmedqa": ("pubmedqa/pqal_test_sample50.json", {"yes": 28, "no": 17, "maybe": 5}),
    "bc5-disease": ("bc5cdr-disease/BC5CDR-disease-IOB_test_first50_sentences.tsv", None),
    "ncbi-disease": ("ncbi-disease/NCBI-disease-IOB_test_first50_sentences.tsv", None),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_loaders_find_each_sample_as_it_is(name: str) -> None:
    assert SAMPLES is not None
    rel, gold = EXPECTED[name]
    assert loaders.files_for(name, SAMPLES)[0] == SAMPLES / rel
    loaded = loaders.load(name, SAMPLES)
    assert len(loaded.items) == 50
    if gold is not None:
        assert Counter(it.reference for it in loaded.items) == gold


def test_a_run_over_the_public_samples_scores_every_dataset(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert SAMPLES is not None
    out = tmp_path / "run"
    assert cli.main(["run", "--benchmark", "clinicbench", "--engine", "baseline", "--tasks", ",".join(EXPECTED), "--data-dir",
                     str(SAMPLES), "--out", str(out), "--store", str(tmp_path / "s.sqlite"), "--no-progress"]) == 0
    capsys.readouterr()
    scores = json.loads((out / "scores.json").read_text())["tasks"]
    run = json.loads((out / "run.json").read_text())
    for name, (rel, _) in EXPECTED.items():
        build = run["task_build"][name]
        assert build["scored_items"] == 50, name
        assert scores[name]["n_scored"] == 50, name  # every test item is scored (no pool is drawn from the test items)
        entry = run["data_files"]["files"][f"{name}/{_own_name(name)}"]
        assert entry["path"] == str(SAMPLES / rel)
        assert entry["sha256"] == hashlib.sha256((SAMPLES / rel).read_bytes()).hexdigest()
        assert entry["check"] == "another copy (not the release): not compared"


def _own_name(name: str) -> str:
    from clue.benchmarks.clinicbench.datasets import get

    return next(f.name for f in get(name).files if f.role == "test")
