"""Client-side chat templates on the real templates in ../shared/data/chat-templates."""

from __future__ import annotations

import json

import pytest

from clue.chat_template import ChatTemplate
from clue.errors import ConfigError
from tests.conftest import CHAT_TEMPLATES

FIXTURES = sorted(CHAT_TEMPLATES.glob("*.json")) if CHAT_TEMPLATES.is_dir() else []
CONVERSATION = [
    {"role": "user", "content": "--PATIENT INQUIRY--\nshot one\n--END--"},
    {"role": "assistant", "content": "Question: one?"},
    {"role": "user", "content": "--PATIENT INQUIRY--\nthe query\n--END--"},
]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_shared_template_renders_a_fewshot_conversation(path):
    template = ChatTemplate.from_config(json.loads(path.read_text()), source=path.name)
    text = template.render(CONVERSATION, add_generation_prompt=True)
    assert "shot one" in text and "Question: one?" in text and text.rfind("the query") > text.rfind("shot one")


def test_llama3_renders_headers_bos_and_generation_prompt():
    path = CHAT_TEMPLATES / "meta-llama--Meta-Llama-3-8B-Instruct.json"
    if not path.is_file():
        pytest.skip("shared chat templates absent")
    template = ChatTemplate.from_config(json.loads(path.read_text()), source=path.name)
    out = template.render([{"role": "system", "content": " S "}, {"role": "user", "content": "U\n"}])
    assert out == ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
                   "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")


def test_mistral_rejects_a_system_turn_with_a_clear_error():
    path = CHAT_TEMPLATES / "mistralai--Mistral-7B-Instruct-v0.1.json"
    if not path.is_file():
        pytest.skip("shared chat templates absent")
    template = ChatTemplate.from_config(json.loads(path.read_text()), source=path.name)
    with pytest.raises(ConfigError, match="refused"):
        template.render([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    out = template.render([{"role": "user", "content": "U"}])
    assert out.startswith("<s>[INST] U [/INST]")


def test_config_without_template_and_added_token_dicts(tmp_path):
    with pytest.raises(ConfigError, match="no chat_template"):
        ChatTemplate.from_config({"bos_token": "<s>"}, source="x")
    t = ChatTemplate.from_config({"chat_template": "{{ bos_token }}{{ messages[0]['content'] }}",
                                  "bos_token": {"content": "<s>", "lstrip": False}}, source="x")
    assert t.render([{"role": "user", "content": "hi"}], add_generation_prompt=False) == "<s>hi"


def test_tojson_does_not_escape_html_and_raise_exception_works():
    t = ChatTemplate.from_config(
        {"chat_template": "{{ messages | tojson }}{% if messages|length > 1 %}{{ raise_exception('too many') }}{% endif %}"}, "x")
    assert t.render([{"role": "user", "content": "<b>é</b>"}], add_generation_prompt=False) == '[{"role": "user", "content": "<b>é</b>"}]'
    with pytest.raises(ConfigError, match="too many"):
        t.render(CONVERSATION)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        ChatTemplate.from_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        ChatTemplate.from_file(bad)
