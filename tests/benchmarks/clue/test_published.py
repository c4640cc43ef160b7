"""Published numbers as project data: file pinned, source tags kept, the aggregate rule recomputes
all 25 published Level-1 and 18 Level-2 averages from the per-task numbers to ±0.01."""

from __future__ import annotations

import csv
import hashlib

import pytest

from clue.benchmarks.clue import published
from clue.benchmarks.clue.published import PUBLISHED
from clue.benchmarks.clue.rule import RULE, TASK_METRICS
from clue.errors import ConfigError
from clue.published import PROTOCOL

task_score, partial_task_score, group_score = RULE.task_score, RULE.partial_task_score, RULE.group_score


def test_csv_is_the_pinned_copy_with_every_source_tag():
    data = published.CSV_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == published.CSV_SHA256
    with published.CSV_PATH.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["source"] for r in rows} == {published.V3_SITE, published.V3_FIGURE, published.V2_SITE}
    assert all(r["source"] for r in rows)
    assert set(published.SOURCE_NOTES) == {published.V3_SITE, published.V3_FIGURE, published.V2_SITE}


def test_default_values_are_v3_only_and_keep_their_source():
    vals = PUBLISHED.values
    assert vals and {v.source for v in vals} == {published.V3_SITE, published.V3_FIGURE}
    assert {v.setting for v in vals} == {PROTOCOL} and PUBLISHED.table() == {}  # each task at its own k, never "zero-shot"
    baseline = PUBLISHED.table(PROTOCOL)["Parameterless baseline"]
    assert baseline["Level1"]["avg"].approximate and baseline["Level1"]["avg"].value == pytest.approx(25.13)
    assert not PUBLISHED.table(PROTOCOL)["Meta-Llama-3-8B-Instruct"]["MedNLI"]["accuracy"].approximate
    v2 = published.ALL.select((published.V2_SITE,)).values
    assert v2 and all(v.source == published.V2_SITE for v in v2)
    assert "llama2-70b" not in published.ALL.select((published.V2_SITE,)).table(PROTOCOL)  # alias folded into Llama-2-70b


def test_26_models_plus_baseline_all_mapped():
    models = PUBLISHED.models
    in_csv = {v.model for v in PUBLISHED.values}
    assert in_csv == set(models)
    assert sum(1 for m in models.values() if m.type != "baseline") == 26
    assert sum(1 for m in models.values() if m.type == "biomedical") == 12
    for m in models.values():
        assert m.hf_id_status in {"name_is_id", "inferred", "ambiguous", "none"}
        assert bool(m.hf_id) == (m.hf_id_status in {"name_is_id", "inferred"})


def test_aggregate_rule_reproduces_all_43_published_averages():
    checked = {"Level1": 0, "Level2": 0}
    for model, tasks in PUBLISHED.select((published.V3_SITE,)).table(PROTOCOL).items():
        scores = {t: task_score(t, {m: v.value for m, v in tasks[t].items()}) for t in TASK_METRICS if t in tasks}
        for level in ("Level1", "Level2"):
            if level not in tasks:
                continue
            got = group_score(level, scores)
            assert got is not None, (model, level)
            assert got == pytest.approx(tasks[level]["avg"].value, abs=0.01), (model, level)
            checked[level] += 1
    assert checked == {"Level1": 25, "Level2": 18}


def test_rule_needs_every_listed_metric():
    assert task_score("MeQSum", {"rougeL": 30, "rouge1": 40, "rouge2": 10}) is None
    assert task_score("MeQSum", {"rougeL": 30, "rouge1": 40, "rouge2": 10, "bertscore_f1": 80}) == pytest.approx(40)
    assert partial_task_score("MeQSum", {"rougeL": 30, "rouge1": 40, "rouge2": 20}) == (pytest.approx(30), ("bertscore_f1",))
    assert group_score("Level1", {"MedNLI": 1, "MeQSum": 2}) is None
    assert group_score("Level1", {"MedNLI": 1, "MeQSum": 2, "ProblemSummary": 6}) == pytest.approx(3)


@pytest.mark.parametrize("model_id, name", [
    ("meta-llama/Meta-Llama-3-8B-Instruct", "Meta-Llama-3-8B-Instruct"),
    ("META-LLAMA/meta-llama-3-8b-instruct", "Meta-Llama-3-8B-Instruct"),
    ("internistai/base-7b-v0.2", "internistai/base-7b-v0.2"),
    ("meta-llama/Llama-2-70b-hf", "Llama-2-70b"),
    ("llama2-70b", "Llama-2-70b"),
    ("my-served-name/Mixtral-8x22B-Instruct-v0.1", "Mixtral-8x22B-Instruct-v0.1"),
])
def test_match_model(model_id, name):
    assert PUBLISHED.match_model(model_id).name == name


def test_unknown_does_not_match_and_the_baseline_engine_matches_the_published_baseline():
    # the kit's baseline engine reports model "parameterless-baseline": compared with the paper's baseline
    assert PUBLISHED.match_model("parameterless-baseline").name == "Parameterless baseline"
    assert PUBLISHED.match_model("meta-llama/parameterless_baseline").type == "baseline"
    assert PUBLISHED.match_model("someone/else") is None
    assert PUBLISHED.match_model("") is None
    assert PUBLISHED.find_model("Parameterless baseline").type == "baseline"
    with pytest.raises(ConfigError, match="no published model named"):
        PUBLISHED.find_model("nope")
