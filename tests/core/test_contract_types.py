"""The core-owned benchmark contract: `ScoreRule`/`Group` (task and group scores, weights) and `Published` (one CSV
reader, values by setting, one model matcher). Expected values are worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clue.errors import ConfigError, DataError
from clue.published import PROTOCOL, ZERO_SHOT, Published, setting_name, task_settings, task_values
from clue.score_rule import Group, ScoreRule

RULE = ScoreRule(task_metrics={"QA": ("accuracy",), "Sum": ("rougeL", "rouge1"), "NER": ("f1",)},
                 groups=(Group("exam", "Exam", ("QA", "Sum", "NER"), weights=(3.0, 1.0, 1.0)),
                         Group("plain", "Plain", ("QA", "Sum"))),
                 binary_metrics=frozenset({"accuracy"}))


def test_task_score_is_the_mean_of_the_listed_metrics_or_none():
    assert RULE.task_score("Sum", {"rougeL": 30.0, "rouge1": 50.0, "rouge2": 99.0}) == 40.0  # (30 + 50) / 2; rouge2 not listed
    assert RULE.task_score("Sum", {"rougeL": 30.0}) is None
    assert RULE.partial_task_score("Sum", {"rougeL": 30.0}) == (30.0, ("rouge1",))
    assert RULE.partial_task_score("Unknown", {"rougeL": 30.0}) == (None, ())
    assert RULE.task_score("Unknown", {"accuracy": 1.0}) is None


def test_group_score_weighted_and_plain_by_hand():
    scores = {"QA": 10.0, "Sum": 20.0, "NER": 90.0}
    assert RULE.group_score("exam", scores) == pytest.approx(28.0)  # (3·10 + 1·20 + 1·90) / 5 = 140 / 5, not the plain 40
    assert RULE.group_score("plain", scores) == pytest.approx(15.0)  # (10 + 20) / 2
    assert RULE.group_score("exam", {"QA": 10.0, "Sum": 20.0}) is None  # NER missing: no group score
    reps = {"QA": np.array([10.0, 0.0]), "Sum": np.array([20.0, 100.0]), "NER": np.array([90.0, 0.0])}
    assert RULE.group_score("exam", reps) == pytest.approx([28.0, 20.0])  # the same rule on replicates: (0 + 100 + 0) / 5


def test_rule_defaults_and_declaration_errors():
    assert RULE.task_order == ("QA", "Sum", "NER") and RULE.group_titles == {"exam": "Exam", "plain": "Plain"}
    with pytest.raises(ValueError, match="one positive weight per member"):
        Group("g", "G", ("a", "b"), weights=(1.0,))
    with pytest.raises(ValueError, match="one positive weight per member"):
        Group("g", "G", ("a", "b"), weights=(1.0, 0.0))
    with pytest.raises(ValueError, match="repeat"):
        ScoreRule(groups=(Group("g", "G", ("a",)), Group("g", "H", ("b",))))


MODELS = """model,hf_id,hf_id_status,type,base_model,size,aliases
Exam-7B,acme/Exam-7B,inferred,general,Exam,7B,exam7b;exam-chat
Med Exam 7B,,ambiguous,biomedical,Exam,7B,
Parameterless baseline,,none,baseline,,,
"""
VALUES = """model,task,metric,value,source,setting
Exam-7B,QA,accuracy,50.0,paper_t2,zero-shot
exam7b,QA,accuracy,61.5,paper_t3,3-shot
Exam-7B,Sum,rougeL,20.0,paper_t2,
Med Exam 7B,QA,accuracy,44.0,paper_t2,zero-shot
"""


@pytest.fixture
def published(tmp_path: Path) -> Published:
    (tmp_path / "models.csv").write_text(MODELS)
    (tmp_path / "values.csv").write_text(VALUES)
    return Published.from_csv(tmp_path / "values.csv", tmp_path / "models.csv", notes={"paper_t2": "Table 2"})


def test_values_are_keyed_by_setting(published: Published):
    assert published.settings() == ("zero-shot", "3-shot")
    assert published.table("3-shot") == {"Exam-7B": {"QA": {"accuracy": published.values[1]}}}  # the alias folded in
    zero = published.table(ZERO_SHOT)["Exam-7B"]
    assert zero["QA"]["accuracy"].value == 50.0 and zero["Sum"]["rougeL"].value == 20.0  # empty setting: the default
    assert published.table("5-shot") == {}
    assert published.select(("paper_t3",)).settings() == ("3-shot",)
    assert task_values(zero, "Question answering", "QA")["accuracy"].value == 50.0  # keyed by the kit's task name


def test_a_run_setting_is_its_shots_and_the_protocol_k(tmp_path: Path):
    assert [setting_name(k) for k in (0, 1, 5)] == ["zero-shot", "1-shot", "5-shot"]
    assert task_settings(3, 3) == ("3-shot", PROTOCOL) and task_settings(3, 0) == ("3-shot",) and task_settings(0, None) == ("zero-shot",)
    (tmp_path / "v.csv").write_text("model,task,metric,value,source\nExam-7B,QA,accuracy,1,s\n")
    (tmp_path / "m.csv").write_text(MODELS)
    assert Published.from_csv(tmp_path / "v.csv", tmp_path / "m.csv", default_setting=PROTOCOL).settings() == (PROTOCOL,)


@pytest.mark.parametrize("row, message", [
    ("Exam-7B,QA,accuracy,fifty,s,zero-shot", "line 2: value 'fifty' is not a number"),
    ("Exam-7B,QA,accuracy,50,s,three-shot", "line 2: setting 'three-shot'"),
    ("Exam-7B,QA,accuracy,50,s,0-shot", "line 2: setting '0-shot'"),  # zero-shot has one spelling
])
def test_bad_rows_are_one_clear_error(tmp_path: Path, row: str, message: str):
    (tmp_path / "m.csv").write_text(MODELS)
    (tmp_path / "v.csv").write_text("model,task,metric,value,source,setting\n" + row + "\n")
    with pytest.raises(DataError, match=message):
        Published.from_csv(tmp_path / "v.csv", tmp_path / "m.csv")


def test_missing_column_or_file_is_one_clear_error(tmp_path: Path):
    (tmp_path / "m.csv").write_text(MODELS)
    (tmp_path / "v.csv").write_text("model,task,value,source\n")
    with pytest.raises(DataError, match="lacks column"):
        Published.from_csv(tmp_path / "v.csv", tmp_path / "m.csv")
    with pytest.raises(DataError, match="is missing"):
        Published.from_csv(tmp_path / "none.csv", tmp_path / "m.csv")


def test_one_model_matcher_with_the_benchmark_s_rules_as_data(published: Published):
    assert published.match_model("ACME/exam-7b").name == "Exam-7B"  # HF id, any case
    assert published.match_model("exam-chat").name == "Exam-7B"  # alias
    assert published.match_model("med exam 7b").name == "Med Exam 7B"  # display name
    assert published.match_model("someone-else/Exam-7B") is None  # no tail matching unless the benchmark allows it
    assert published.match_model("parameterless-baseline").type == "baseline"  # the kit's baseline engine
    assert published.match_model("acme/parameterless_baseline").type == "baseline"  # the engine's name under any org
    assert published.match_model("") is None and published.match_model("acme/other") is None
    tail = Published(published.models, published.values, match_tail=True)
    assert tail.match_model("someone-else/Exam-7B").name == "Exam-7B"
    assert published.find_model("Parameterless baseline").type == "baseline"
    with pytest.raises(ConfigError, match="no published model named 'nope'"):
        published.find_model("nope")
