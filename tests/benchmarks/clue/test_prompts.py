"""Golden tests: the first rendered MeQSum request equals the spec's verbatim strings (clue-protocol.md §3.2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clue.benchmarks.clue.protocol import CLUE_2025, CLUE_V3, CORRECTED
from clue.benchmarks.clue.tasks import TASKS
from clue.benchmarks.clue.tasks.base import render as clue_render
from clue.chat_template import ChatTemplate
from clue.tasks import BuildContext
from clue.types import Endpoint
from tests.conftest import LLAMA3_TEMPLATE

# JSON string literals copied from the spec (authoritative for whitespace).
S = json.loads('"You are a highly skilled assistant, specifically trained to assist patients. Your primary responsibility will be to summarize '
               'patient inquiries as concise question. You will be given such a patient inquiry. You will be expected to summarize and rewrite the '
               'inquiry as a concise question. Only write out the question. Do not add any other text."')
U = json.loads('"--------------PATIENT INQUIRY--------------\\n{CHQ}\\n--------------END PATIENT INQUIRY--------------"')
A_TGI = json.loads('"Question: {Summary}"')
A_VLLM = json.loads('"{Summary}"')
P = json.loads('"Question: "')

MEQSUM = TASKS["meqsum"]


def first_request(data_dir: Path, profile, mode: str, send: str, template: ChatTemplate | None = None):
    split = MEQSUM.split(MEQSUM.load(data_dir), profile)
    ctx = BuildContext(endpoint=Endpoint("tgi" if send == "prompt" else "openai", "org/some-model"), profile=profile,
                       mode=mode, send=send, chat_template=template, max_position_embeddings=4096)
    return split, MEQSUM.build(split, ctx)[0]


def expected_messages(split, mode: str, assistant: str) -> list[dict]:
    shots, x = split.shots, split.evaluated[0]
    msgs = [{"role": "system", "content": S}] if mode == "instruct-system" else []
    for i, e in enumerate(shots):
        user = U.format(**e.fields)
        if mode == "instruct" and i == 0:
            user = S + "\n\n" + user
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant.format(**e.fields)}]
    return msgs + [{"role": "user", "content": U.format(**x.fields)}]


@pytest.mark.parametrize("profile", [CLUE_V3, CORRECTED, CLUE_2025], ids=lambda p: p.name)
@pytest.mark.parametrize("mode", ["instruct-system", "instruct"])
def test_meqsum_messages_match_spec(real_meqsum_dir, profile, mode):
    split, request = first_request(real_meqsum_dir, profile, mode, "messages")
    assistant = A_TGI if profile.era == "tgi" else A_VLLM
    assert list(request.messages) == expected_messages(split, mode, assistant)
    assert request.params.max_new_tokens == (200 if profile.era == "tgi" else 512)


def test_meqsum_v3_uses_file_order_and_2025_shuffles_with_seed_1(real_meqsum_dir):
    import random

    samples = MEQSUM.load(real_meqsum_dir)
    v3 = MEQSUM.split(samples, CLUE_V3)
    assert [s.id for s in v3.shots] == ["0", "1", "2"] and v3.evaluated[0].id == "3" and len(v3.evaluated) == 997
    shuffled = list(samples)
    random.seed(1)
    random.shuffle(shuffled)
    assert [s.id for s in MEQSUM.split(samples, CLUE_2025).shots] == [s.id for s in shuffled[:3]]


@pytest.mark.parametrize("profile", [CLUE_V3, CORRECTED], ids=lambda p: p.name)
def test_meqsum_base_prompt_matches_spec(real_meqsum_dir, profile):
    split, request = first_request(real_meqsum_dir, profile, "base", "prompt")
    e, x = split.shots, split.evaluated[0]
    expected = S + "\n\n" + U.format(**e[0].fields) + "\n\n" + A_TGI.format(**e[0].fields)
    for shot in e[1:]:
        expected += "\n\n" + U.format(**shot.fields) + "\n\n" + A_TGI.format(**shot.fields)
    expected += "\n\n" + U.format(**x.fields) + "\n\n" + P
    assert request.prompt == expected


def test_meqsum_v3_prompt_appends_prefix_after_generation_prompt(real_meqsum_dir):
    template = ChatTemplate(source="llama3", template=LLAMA3_TEMPLATE, special_tokens={"bos_token": "<|begin_of_text|>"})
    split, request = first_request(real_meqsum_dir, CLUE_V3, "instruct-system", "prompt", template)
    msgs = expected_messages(split, "instruct-system", A_TGI)
    body = "".join(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content'].strip()}<|eot_id|>" for m in msgs)
    assert request.prompt == "<|begin_of_text|>" + body + "<|start_header_id|>assistant<|end_header_id|>\n\n" + "Question: "
    assert request.params.truncate == min(4096 - 200, 24576)
    assert request.params.stop == ()  # "org/some-model" is not a Llama-3 name (Q6)


def test_template_files_render_the_spec_strings():
    fields = {"CHQ": "an inquiry", "Summary": "a summary"}
    assert clue_render("meqsum", "system") == S
    assert clue_render("meqsum", "user", fields) == U.format(**fields)
    assert clue_render("meqsum", "assistant", fields) == A_TGI.format(**fields)
    assert clue_render("meqsum", "assistant_vllm", fields) == A_VLLM.format(**fields)
    assert clue_render("meqsum", "prefix") == P


def test_missing_field_is_a_clear_error():
    from clue.errors import ConfigError

    with pytest.raises(ConfigError, match="CHQ"):
        clue_render("meqsum", "user", {"Summary": "x"})


def test_nan_field_renders_like_str_format():
    assert clue_render("meqsum", "assistant", {"Summary": float("nan")}) == "Question: nan"
