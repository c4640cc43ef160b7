"""v3 LongHealth cuts a document by decoding its first n token ids with transformers (2024), whose
`decode` also ran `clean_up_tokenization_spaces` when the model's tokenizer_config asked for it (or,
in transformers ≤ 4.44, did not say). The kit reproduces that decode byte for byte."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from clue.benchmarks.clue.protocol import CLUE_2025, CLUE_V3, CORRECTED
from clue.benchmarks.clue.tasks.longhealth import LongHealth
from clue.benchmarks.clue.tasks.longhealth_prompt import make_counter
from clue.tasks import BuildContext
from clue.tokenizer import decode_cleanup_flag
from clue.types import Endpoint
from tests.conftest import byte_bpe

TEXT = ("Pt is 67 y/o , admitted for CHF . She doesn't smoke ; he 's fine ? Yes ! "
        "We 've seen it , they 're stable . Dose : 5 mg ' daily ' .")


def bpe():
    return byte_bpe([TEXT] * 20, vocab_size=400)


@pytest.mark.parametrize("cleanup", [True, False])
def test_cut_equals_transformers_decode(cleanup):
    transformers = pytest.importorskip("transformers")
    tok = bpe()
    # transformers 5 skips the clean-up for BPE unless forced; the 4.x of 2024 applied it to every tokenizer
    reference = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", clean_up_tokenization_spaces=cleanup,
        clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output=cleanup)
    counter = make_counter(tok, "original", cleanup)
    ids = tok.encode(TEXT).ids
    for n in range(1, len(ids) + 1):
        assert counter.cut(TEXT, n) == reference.decode(ids[:n], skip_special_tokens=False), n
    assert (" ." in counter.cut(TEXT, len(ids))) is not cleanup


def test_exact_rule_never_cleans():
    tok = bpe()
    counter = make_counter(tok, "exact", cleanup=True)
    assert counter.cut(TEXT, 10**6) == TEXT


def ctx(profile, flag):
    return BuildContext(endpoint=Endpoint("tgi", "m"), profile=profile, mode="instruct-system", send="prompt",
                        tokenizer=object(), decode_cleanup=flag)


def test_the_config_decides_and_unset_follows_the_era():
    decide = LongHealth._decode_cleanup
    assert decide(ctx(CLUE_V3, True))[0] is True and decide(ctx(CLUE_V3, False))[0] is False
    assert decide(ctx(CLUE_V3, None))[:2] == (True, "tokenizer_config.json did not say; transformers' 2024 default")
    assert "clean-up on" in decide(ctx(CLUE_V3, None))[2] and decide(ctx(CLUE_V3, True))[2] is None  # a note only when assumed
    assert decide(ctx(CLUE_2025, None))[0] is False  # transformers ≥ 4.45: False when unset
    assert decide(ctx(CORRECTED, True)) == (False, "not applicable", None)  # exact rule: reversible cuts
    assert decide(replace(ctx(CLUE_V3, True), tokenizer=None))[0] is False  # word counter: nothing decoded


def test_flag_read_from_the_chat_template_file_or_next_to_the_tokenizer(tmp_path, monkeypatch):
    import huggingface_hub

    def no_hub(*args, **kwargs):
        raise AssertionError("a local tokenizer file must not send the kit to the Hub")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_hub)
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"chat_template": "x", "clean_up_tokenization_spaces": False}))
    assert decode_cleanup_flag("m", None, tokenizer_path=tmp_path / "tokenizer.json", config_path=config) is False
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"clean_up_tokenization_spaces": True}))
    assert decode_cleanup_flag("m", None, tokenizer_path=tmp_path / "tokenizer.json") is True
    assert decode_cleanup_flag("m", None, tokenizer_path=tmp_path / "sub" / "tokenizer.json") is None


def test_a_loaded_chat_template_carries_the_flag_of_its_config():
    from clue.chat_template import ChatTemplate

    assert ChatTemplate.from_config({"chat_template": "x", "clean_up_tokenization_spaces": True}, "c").clean_up_tokenization_spaces is True
    assert ChatTemplate.from_config({"chat_template": "x"}, "c").clean_up_tokenization_spaces is None
    assert ChatTemplate.from_config({"chat_template": "x", "clean_up_tokenization_spaces": "yes"}, "c").clean_up_tokenization_spaces is None


# transformers 4.39.3 (the v3 pin), read from its source: PreTrainedTokenizerBase defaults the flag to True;
# LlamaTokenizer(Fast) declare False; AutoTokenizer loads <class>Fast where it exists. The roster's families:
# Llama-2 / Mistral / Mixtral / Phi-3 configs name LlamaTokenizer, Llama-3 configs PreTrainedTokenizerFast.
FAMILIES_4_39_3 = [
    ("Llama-2", "LlamaTokenizer", False),
    ("Mistral", "LlamaTokenizer", False),
    ("Phi-3", "LlamaTokenizer", False),
    ("Llama-3", "PreTrainedTokenizerFast", True),
    ("a fast Llama config", "LlamaTokenizerFast", False),
]


@pytest.mark.parametrize("family,tokenizer_class,cleanup_in_4_39_3", FAMILIES_4_39_3)
def test_unset_flag_follows_the_class_default_of_transformers_4_39_3(family, tokenizer_class, cleanup_in_4_39_3):
    """A tokenizer_config without `clean_up_tokenization_spaces`: v3 LongHealth cuts decode exactly as
    transformers 4.39.3's decode did for that class ("sir ." stays for Llama-class tokenizers)."""
    transformers = pytest.importorskip("transformers")
    from clue.chat_template import ChatTemplate

    template = ChatTemplate.from_config({"chat_template": "{{ messages }}", "tokenizer_class": tokenizer_class}, family)
    assert template.clean_up_tokenization_spaces is None
    context = replace(ctx(CLUE_V3, template.clean_up_tokenization_spaces), tokenizer_class=template.tokenizer_class)
    cleanup, source, note = LongHealth._decode_cleanup(context)
    assert cleanup is cleanup_in_4_39_3 and "4.39.3" in source and note is None
    tok = bpe()
    reference = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", clean_up_tokenization_spaces=cleanup_in_4_39_3,
        clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output=cleanup_in_4_39_3)
    counter = make_counter(tok, "original", cleanup)
    ids = tok.encode(TEXT).ids
    for n in range(1, len(ids) + 1):
        assert counter.cut(TEXT, n) == reference.decode(ids[:n], skip_special_tokens=False), (family, n)
    assert ("CHF ." in counter.cut(TEXT, len(ids))) is not cleanup_in_4_39_3


def test_class_defaults_table():
    from clue.tokenizer_defaults import cleanup_default_4_39_3, loaded_class

    assert loaded_class("LlamaTokenizer") == "LlamaTokenizerFast" and loaded_class("PreTrainedTokenizerFast") == "PreTrainedTokenizerFast"
    assert cleanup_default_4_39_3("GemmaTokenizer") is False and cleanup_default_4_39_3("GPT2Tokenizer") is True
    assert cleanup_default_4_39_3("Qwen2Tokenizer") is True  # AutoTokenizer loads Qwen2TokenizerFast (inherits True)
    assert cleanup_default_4_39_3(None) is None
    # no class in the config: the era's assumption, with a note saying so
    assert LongHealth._decode_cleanup(ctx(CLUE_V3, None))[2] is not None
    # the vLLM era (transformers >= 4.45) defaulted to False whatever the class
    assert LongHealth._decode_cleanup(replace(ctx(CLUE_2025, None), tokenizer_class="PreTrainedTokenizerFast"))[0] is False
