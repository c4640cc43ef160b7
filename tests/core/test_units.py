"""Small units: baseline rules, protocol profiles, secrets, failure limits, post-processing."""

from __future__ import annotations

import pytest

from clue.benchmarks.clue import BENCHMARK
from clue.benchmarks.clue.baselines import first_question, majority_label
from clue.benchmarks.clue.protocol import CLUE_V3, CORRECTED, PROFILES, field_docs, get_profile
from clue.benchmarks.clue.tasks import TASKS
from clue.benchmarks.clue.tasks.postprocess import phi_split, strip_self_prompting
from clue.errors import ConfigError
from clue.run_options import failure_limit
from clue.secrets import redact
from clue.types import Sample


def test_first_question_rule():
    assert first_question("SUBJECT: cetirizine\nMESSAGE: I need to know. Who makes it? Thanks") == "Who makes it?"
    assert first_question("My back hurts. It is bad") == "My back hurts."
    assert first_question("no punctuation at all") == "no punctuation at all"


def test_majority_label_ties_break_alphabetically():
    shots = [Sample("1", {}, "neutral"), Sample("2", {}, "entailment"), Sample("3", {}, "neutral")]
    assert majority_label(shots) == "neutral"
    assert majority_label(shots[:2]) == "entailment"


def test_profiles_document_every_switch():
    docs = field_docs()
    for profile in PROFILES.values():
        for name in profile.switches():
            assert docs.get(name), f"{name} lacks a docstring"
    with pytest.raises(ConfigError, match="unknown protocol"):
        get_profile("clue-v9")


def test_unknown_task_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown task"):
        BENCHMARK.get_tasks("meqsum,nosuch")
    assert [t.name for t in BENCHMARK.get_tasks("all")] == list(TASKS)


def test_failure_limit_parsing():
    assert failure_limit("0", 100) == 0
    assert failure_limit("5", 100) == 5
    assert failure_limit("0.05", 200) == 10
    assert failure_limit("2%", 500) == 10
    with pytest.raises(ConfigError):
        failure_limit("lots", 10)


def test_redact_replaces_secret_env_values(monkeypatch):
    monkeypatch.setenv("MY_API_KEY", "sk-verysecret123")
    assert redact({"cmd": ["--x", "sk-verysecret123"], "s": "key=sk-verysecret123"}) == {"cmd": ["--x", "***"], "s": "key=***"}


def test_v3_postprocessing_quirks():
    assert CLUE_V3.stop_for("meta-llama/Meta-Llama-3-8B-Instruct")[2] == "<|eot_id|>"
    assert CLUE_V3.stop_for("aaditya/Llama3-OpenBioLLM-8B") != ()
    assert CLUE_V3.stop_for("mistralai/Mistral-7B-Instruct-v0.2") == ()
    assert CORRECTED.stop_for("mistralai/Mistral-7B-Instruct-v0.2") != ()
    assert phi_split("What? <|end|> more", CLUE_V3, "microsoft/Phi-3-mini") == "What?"
    assert phi_split("What?<|end|> more", CLUE_V3, "microsoft/Phi-3-mini") == "What?<|end|> more"  # Q7: needs the space
    assert phi_split("What? <|end|>", CLUE_V3, "mistral") == "What? <|end|>"
    text = "Q?\n[INST] next turn\nkept line"
    assert strip_self_prompting(text, CLUE_V3) == "Q?\n\nkept line"  # Q5: per line, no DOTALL
    assert strip_self_prompting(text, CORRECTED) == "Q?\n"
