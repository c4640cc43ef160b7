"""Chat-template parity: our client-side rendering (clue.chat_template) equals transformers'
`apply_chat_template(tokenize=False)` for every real template in ../shared/data/chat-templates
(plus the built-in mid-2024 Llama-3 one), over conversations with and without a system turn,
few-shot turns, whitespace at the content edges, and add_generation_prompt on and off.

transformers is a test-only dependency (the `dev` extra): no torch, no weights — the tokenizer is
a one-word `tokenizers` WordLevel model carrying the template and the special tokens. A template
that refuses a conversation must be refused by both renderers (ours says so in one line).
"""

from __future__ import annotations

import json
import warnings

import pytest

from clue.chat_template import ChatTemplate
from clue.errors import ConfigError
from tests.conftest import CHAT_TEMPLATES, LLAMA3_TEMPLATE

transformers = pytest.importorskip("transformers")

BUILTIN = {"model_id": "builtin-llama3", "chat_template": LLAMA3_TEMPLATE, "bos_token": "<|begin_of_text|>",
           "eos_token": "<|eot_id|>"}
CONFIGS = {p.stem: json.loads(p.read_text()) for p in sorted(CHAT_TEMPLATES.glob("*.json"))} if CHAT_TEMPLATES.is_dir() else {}
CONFIGS["builtin-llama3"] = BUILTIN

S = "You are a highly skilled assistant. Valid answers are: ENTAILMENT, NEUTRAL or CONTRADICTION."
SHOT_U = "\nSENTENCE_1: The patient's “fever” resolved.\nSENTENCE_2: She has <no> fever.\n"
SHOT_A = "entailment"
QUERY = "--------------PATIENT INQUIRY--------------\n  Is ibuprofen safe?  \n--------------END PATIENT INQUIRY--------------"
CONVERSATIONS = {
    "system-user": [{"role": "system", "content": S}, {"role": "user", "content": QUERY}],
    "user": [{"role": "user", "content": QUERY}],
    "system-fewshot": [{"role": "system", "content": S}, {"role": "user", "content": SHOT_U},
                       {"role": "assistant", "content": SHOT_A}, {"role": "user", "content": SHOT_U + "2"},
                       {"role": "assistant", "content": " contradiction "}, {"role": "user", "content": QUERY}],
    "merged-fewshot": [{"role": "user", "content": S + "\n\n" + SHOT_U}, {"role": "assistant", "content": SHOT_A},
                       {"role": "user", "content": QUERY}],
    "ends-with-assistant": [{"role": "user", "content": QUERY}, {"role": "assistant", "content": "Question: "}],
    "two-users": [{"role": "user", "content": S}, {"role": "user", "content": QUERY}],  # §2.2 case 2 with k = 0
}


def hf_tokenizer(config: dict):
    from tokenizers import Tokenizer, models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok = transformers.PreTrainedTokenizerFast(
            tokenizer_object=Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")),
            bos_token=config.get("bos_token"), eos_token=config.get("eos_token"), unk_token="[UNK]")
    tok.chat_template = config["chat_template"]
    return tok


def theirs(tok, conversation, add_generation_prompt: bool):
    try:
        return "ok", tok.apply_chat_template(conversation, tokenize=False, add_generation_prompt=add_generation_prompt)
    except Exception:  # jinja2 TemplateError from raise_exception, or a template bug
        return "refused", "TemplateError"


def ours(template: ChatTemplate, conversation, add_generation_prompt: bool):
    try:
        return "ok", template.render(conversation, add_generation_prompt=add_generation_prompt)
    except ConfigError as exc:
        assert ("refused these messages" in str(exc) or "cannot be rendered" in str(exc)) and "\n" not in str(exc).strip()
        return "refused", "TemplateError"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_rendering_equals_transformers(name):
    config = CONFIGS[name]
    tok = hf_tokenizer(config)
    template = ChatTemplate.from_config(config, source=name)
    rendered = 0
    for conv_name, conversation in CONVERSATIONS.items():
        for gen in (True, False):
            expected = theirs(tok, conversation, gen)
            assert ours(template, conversation, gen) == expected, (conv_name, gen)
            rendered += expected[0] == "ok"
    assert rendered >= 4  # every template renders at least the no-system conversations both ways


def test_parity_covers_every_shared_template():
    """The list above is the shared folder (8 real templates when ../shared is present)."""
    if not CHAT_TEMPLATES.is_dir():
        pytest.skip("shared chat templates absent")
    assert {p.stem for p in CHAT_TEMPLATES.glob("*.json")} <= set(CONFIGS) and len(CONFIGS) >= 9


def test_parity_can_fail():
    """A renderer configured differently (no trim_blocks) no longer matches on Zephyr's template."""
    config = CONFIGS.get("HuggingFaceH4--zephyr-7b-beta")
    if config is None:
        pytest.skip("shared chat templates absent")
    import jinja2

    plain = jinja2.Environment().from_string(config["chat_template"])
    conv = CONVERSATIONS["system-user"]
    mine = plain.render(messages=conv, add_generation_prompt=True, bos_token=config["bos_token"], eos_token=config["eos_token"])
    assert theirs(hf_tokenizer(config), conv, True) != ("ok", mine)
