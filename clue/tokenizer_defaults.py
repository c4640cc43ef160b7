"""What transformers 4.39.3 (the v3 protocol's pin) did when a tokenizer_config.json leaves
`clean_up_tokenization_spaces` unset: the default of the tokenizer class `AutoTokenizer` loads.

Facts read from transformers 4.39.3's source (not copied): `PreTrainedTokenizerBase.__init__`
pops `clean_up_tokenization_spaces` with default True (tokenization_utils_base.py); the classes
below override that default with False in their own `__init__` signature. `AutoTokenizer` (with its
default `use_fast=True`) loads `<tokenizer_class>Fast` where that class exists, else the class
named; a config without `tokenizer_class` falls back to the model type's mapping, which this kit
cannot see from a tokenizer_config alone (then: unknown).
"""

from __future__ import annotations

# class → its own default in transformers 4.39.3 (every other class inherits True)
DEFAULT_FALSE_4_39_3 = frozenset({
    "LlamaTokenizer", "LlamaTokenizerFast",  # models/llama/tokenization_llama(_fast).py
    "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",  # models/code_llama
    "GemmaTokenizer", "GemmaTokenizerFast",  # models/gemma
    "CohereTokenizerFast",  # models/cohere
    "BloomTokenizerFast",  # models/bloom
    "NougatTokenizerFast",  # models/nougat
    "Qwen2Tokenizer",  # models/qwen2 (slow only: Qwen2TokenizerFast inherits True)
})
# slow classes whose Fast sibling exists in 4.39.3 among the families above (AutoTokenizer prefers it)
_HAS_FAST = frozenset({"LlamaTokenizer", "CodeLlamaTokenizer", "GemmaTokenizer", "Qwen2Tokenizer", "BloomTokenizer",
                       "CohereTokenizer", "NougatTokenizer"})


def loaded_class(tokenizer_class: str) -> str:
    """The class AutoTokenizer.from_pretrained(use_fast=True) instantiates for a config's `tokenizer_class`."""
    if not tokenizer_class.endswith("Fast") and tokenizer_class in _HAS_FAST:
        return tokenizer_class + "Fast"
    return tokenizer_class


def cleanup_default_4_39_3(tokenizer_class: str | None) -> bool | None:
    """`clean_up_tokenization_spaces` in effect under transformers 4.39.3 when the config leaves it unset
    (None: the config names no tokenizer class)."""
    if not tokenizer_class:
        return None
    return loaded_class(tokenizer_class) not in DEFAULT_FALSE_4_39_3
