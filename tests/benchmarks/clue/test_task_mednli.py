"""MedNLI (spec §3.1): golden first requests from the spec's JSON literals, split order, the Q4
choice rule, Q1 averaging, loader errors and the baseline rule. Data: the bundled SYNTHETIC items.

The golden helpers here (`first_request`, `expected_messages`, `expected_base`, `llama3`) are
shared with tests/benchmarks/clue/test_task_medisum.py.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from clue.benchmarks.clue import synthetic
from clue.benchmarks.clue.protocol import CLUE_2025, CLUE_V3, CORRECTED, LLAMA3_STOP
from clue.benchmarks.clue.tasks import TASKS
from clue.benchmarks.clue.tasks.base import render as clue_render
from clue.chat_template import ChatTemplate
from clue.errors import DataError
from clue.metrics.choice import choice_accuracy, count_label, first_label
from clue.tasks import BuildContext
from clue.types import Endpoint
from tests.conftest import LLAMA3_TEMPLATE

# JSON string literals copied from the spec, §3.1 (authoritative for whitespace).
S = json.loads(r'''"You are a highly skilled assistant, specifically trained to assist medical professionals. You will recieve two sentences, '''
               r'''labeled 'SENTENCE_1' and 'SENTENCE_2', respectively. Your task is to determine the logical relation between the two '''
               r'''sentences. Valid answers are: ENTAILMENT, NEUTRAL or CONTRADICTION."''')
U = json.loads(r'''"\nSENTENCE_1: {sentence1}\nSENTENCE_2: {sentence2}\n"''')
A = json.loads('"{gold_label}"')
P = ""

PROFILES = [CLUE_V3, CLUE_2025, CORRECTED]
MODES = ["instruct-system", "instruct", "base"]
MEDNLI = TASKS["mednli"]


# --- golden helpers (shared) ----------------------------------------------------------------
def data_dir_for(tmp_path: Path, task) -> Path:
    """A data dir holding only `task`'s bundled synthetic items, in its original file format."""
    target = tmp_path / "data" / task.name / task.files[0]
    target.parent.mkdir(parents=True)
    task.write_synthetic(synthetic.records(task.name), target)
    return tmp_path / "data"


def llama3() -> ChatTemplate:
    return ChatTemplate(source="llama3", template=LLAMA3_TEMPLATE, special_tokens={"bos_token": "<|begin_of_text|>"})


def first_request(task, data_dir: Path, profile, mode: str, *, send: str | None = None, model: str = "org/some-model",
                  template: ChatTemplate | None = None, mpe: int = 4096):
    send = send or ("prompt" if mode == "base" else "messages")
    split = task.split(task.load(data_dir), profile)
    ctx = BuildContext(endpoint=Endpoint("tgi" if send == "prompt" else "openai", model), profile=profile, mode=mode,
                       send=send, chat_template=template, max_position_embeddings=mpe)
    return split, task.build(split, ctx)[0]


def expected_messages(system: str, user: str, assistant: str, split, mode: str) -> list[dict]:
    """Spec §2.2 cases 1/2 (and §2.3) from str.format-filled literals."""
    msgs = [{"role": "system", "content": system}] if mode == "instruct-system" else []
    for i, e in enumerate(split.shots):
        u = user.format(**e.fields)
        if mode == "instruct" and i == 0:
            u = system + "\n\n" + u
        msgs += [{"role": "user", "content": u}, {"role": "assistant", "content": assistant.format(**e.fields)}]
    return msgs + [{"role": "user", "content": user.format(**split.evaluated[0].fields)}]


def expected_base(system: str, user: str, assistant: str, prefix: str, split) -> str:
    """Spec §2.2 case 3 (b01cbcf layout)."""
    text = system
    for e in split.shots:
        text += "\n\n" + user.format(**e.fields) + "\n\n" + assistant.format(**e.fields)
    return text + "\n\n" + user.format(**split.evaluated[0].fields) + "\n\n" + prefix


def expected(system, user, assistant, prefix, split, mode):
    if mode == "base":
        return expected_base(system, user, assistant, prefix, split)
    return expected_messages(system, user, assistant, split, mode)


def actual(request, mode):
    return request.prompt if mode == "base" else list(request.messages)


def llama3_prompt(messages: list[dict], prefix: str) -> str:
    body = "".join(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content'].strip()}<|eot_id|>" for m in messages)
    return "<|begin_of_text|>" + body + "<|start_header_id|>assistant<|end_header_id|>\n\n" + prefix


@pytest.fixture
def mednli_dir(tmp_path: Path) -> Path:
    return data_dir_for(tmp_path, MEDNLI)


# --- prompts ----------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("mode", MODES)
def test_first_request_matches_spec(mednli_dir, profile, mode):
    split, request = first_request(MEDNLI, mednli_dir, profile, mode)
    assert actual(request, mode) == expected(S, U, A, P, split, mode)
    assert request.params.max_new_tokens == 20  # both eras


def test_base_prompt_has_three_newlines_around_user_blocks(mednli_dir):
    _, request = first_request(MEDNLI, mednli_dir, CLUE_V3, "base")
    assert request.prompt.startswith(S + "\n\n\nSENTENCE_1: ")
    assert request.prompt.endswith("\n\n\n")  # U(x) ends with "\n", then "\n\n", then the empty prefix


def test_v3_chat_prompt_truncate_and_llama3_stops(mednli_dir):
    split, request = first_request(MEDNLI, mednli_dir, CLUE_V3, "instruct-system", send="prompt",
                                   model="meta-llama/Meta-Llama-3-8B-Instruct", template=llama3(), mpe=8192)
    assert request.prompt == llama3_prompt(expected_messages(S, U, A, split, "instruct-system"), P)
    assert request.params.truncate == 8192 - 200
    assert request.params.stop == LLAMA3_STOP


def test_template_files_render_the_spec_strings():

    fields = {"sentence1": "s one", "sentence2": "s two", "gold_label": "neutral"}
    assert clue_render("mednli", "system") == S
    assert clue_render("mednli", "user", fields) == U.format(**fields)
    assert clue_render("mednli", "assistant", fields) == A.format(**fields) == "neutral"
    assert clue_render("mednli", "prefix") == P


def test_v3_file_order_and_2025_seed_1_shuffle(mednli_dir):
    samples = MEDNLI.load(mednli_dir)
    for profile in (CLUE_V3, CORRECTED):
        split = MEDNLI.split(samples, profile)
        assert [s.id for s in split.shots] == ["0", "1", "2"] and [s.id for s in split.evaluated] == ["3", "4", "5"]
    shuffled = list(samples)
    random.seed(1)
    random.shuffle(shuffled)
    split = MEDNLI.split(samples, CLUE_2025)
    assert [s.id for s in split.shots + split.evaluated] == [s.id for s in shuffled]


def test_postprocess_tgi_regex_and_phi_split():
    assert MEDNLI.postprocess("entailment\nYou are an AI assistant", CLUE_V3, "org/m") == "entailment\n"
    assert MEDNLI.postprocess("neutral <|end|>junk", CLUE_V3, "microsoft/Phi-3-mini-4k-instruct") == "neutral"


# --- metric (Q4) ------------------------------------------------------------------------------
@pytest.mark.parametrize("output, gold, exactly_one, first", [
    ("ENTAILMENT", "entailment", 100, 100),
    ("entailment", "entailment", 100, 100),  # oracle
    ("The relation is Neutral.", "neutral", 100, 100),
    ("NEUTRAL or CONTRADICTION", "neutral", 100, 100),  # hedge: correct for both under Q4
    ("NEUTRAL or CONTRADICTION", "contradiction", 100, 0),
    ("entailment. Final answer: entailment", "entailment", 0, 100),  # repeated gold label
    ("non-entailment", "entailment", 100, 100),  # inside a longer token (Q4 counts substrings)
    ("contradictions", "contradiction", 100, 0),  # not a whole word
    ("I cannot tell.", "neutral", 0, 0),
    ("", "neutral", 0, 0),
])
def test_choice_rules(output, gold, exactly_one, first):
    assert choice_accuracy(output, gold, rule="exactly_one") == exactly_one
    assert choice_accuracy(output, gold, rule="first_label") == first


def test_choice_helpers():
    assert count_label("Neutral, neutral, NEUTRAL", "neutral") == 3
    assert count_label("anything", "") == 0
    assert first_label("I think CONTRADICTION, not entailment") == "CONTRADICTION"
    assert first_label("nothing here") is None
    with pytest.raises(ValueError):
        choice_accuracy("x", "y", rule="nope")  # type: ignore[arg-type]


def test_q4_switch_changes_only_the_rule(mednli_dir):
    sample = MEDNLI.load(mednli_dir)[4]  # gold "contradiction"
    first = replace(CLUE_V3, q4_mednli_rule="first_label")
    assert MEDNLI.score("NEUTRAL or CONTRADICTION", sample, CLUE_V3) == {"accuracy": 100.0}
    assert MEDNLI.score("NEUTRAL or CONTRADICTION", sample, first) == {"accuracy": 0.0}
    for output in ("contradiction", "CONTRADICTION.", "entailment"):  # unambiguous answers: same under both
        assert MEDNLI.score(output, sample, CLUE_V3) == MEDNLI.score(output, sample, first)
    assert CORRECTED.q4_mednli_rule == "first_label" and CLUE_2025.q4_mednli_rule == "exactly_one"


def test_oracle_scores_100_in_every_profile(mednli_dir):
    samples = MEDNLI.load(mednli_dir)
    for profile in PROFILES:
        per = MEDNLI.score_all([s.reference for s in samples], samples, profile)
        assert MEDNLI.aggregate(per, profile) == {"accuracy": 100.0}


def test_first_sample_counted_twice_in_both_eras_not_rounded():
    per = [{"accuracy": 100.0}] + [{"accuracy": 0.0}] * 5
    assert MEDNLI.aggregate(per, CLUE_V3)["accuracy"] == pytest.approx(200 / 7)
    assert MEDNLI.aggregate(per, CLUE_2025)["accuracy"] == pytest.approx(200 / 7)  # Q1 in the vLLM era too; no Q23
    assert MEDNLI.aggregate(per, CORRECTED)["accuracy"] == pytest.approx(100 / 6)


# --- loader -----------------------------------------------------------------------------------
def test_loader_reads_the_original_jsonl(mednli_dir):
    samples = MEDNLI.load(mednli_dir)
    assert len(samples) == 6 and all(s.fields["pairID"].startswith("SYNTHETIC") for s in samples)
    assert samples[0].reference == "entailment" and samples[0].fields["sentence2"] == "The patient has an infection."
    assert MEDNLI.credentialed and MEDNLI.k == 3 and MEDNLI.truncate(4096) == 3896


def test_missing_file_names_file_and_source(tmp_path):
    with pytest.raises(DataError, match=r"mli_test_v1\.jsonl.*physionet\.org/content/mednli"):
        MEDNLI.load(tmp_path)


@pytest.mark.parametrize("lines, message", [
    (['{"sentence1": "a", "sentence2": "b"}'], r"record 1 lacks field\(s\) gold_label"),
    (['{"sentence1": "a", "sentence2": "b", "gold_label": "neutral"}', "{not json"], r"line 2 is not valid JSON"),
    (["[1, 2]"], r"item 1 is not a JSON object"),
    (["", "  "], r"holds no records"),
])
def test_malformed_file_is_a_clear_error(tmp_path, lines, message):
    path = tmp_path / "mednli" / "mli_test_v1.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines))
    with pytest.raises(DataError, match=message):
        MEDNLI.load(tmp_path)


def test_json_array_is_accepted_too(tmp_path):
    path = tmp_path / "mednli" / "mli_test_v1.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps(synthetic.records("mednli")))
    assert [s.reference for s in MEDNLI.load(tmp_path)] == [r["gold_label"] for r in synthetic.records("mednli")]


def test_baseline_is_the_majority_shot_label(mednli_dir):
    split = MEDNLI.split(MEDNLI.load(mednli_dir), CLUE_V3)  # shots: entailment, contradiction, entailment
    assert MEDNLI.baseline(split.evaluated[0], split.shots) == "entailment"
