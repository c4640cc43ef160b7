"""Output post-processing and stop strings of the TGI era (spec §2.4, §2.6), driven by profile switches."""

from __future__ import annotations

import re

from clue.benchmarks.clue.profile import LLAMA3_STOP, ProtocolProfile

SELF_PROMPT = re.compile(r"(You are an AI.*)|(\[INST\].*)|((<\|user\|>).*)")  # no DOTALL: up to end of line
# Corrected profile: stop at the usual end-of-turn / next-turn markers for every model (TGI allows 4).
GENERIC_STOP = ("<|eot_id|>", "<|im_end|>", "<|end|>", "[INST]")
GENERIC_END_TOKENS = ("<|end|>", "<|eot_id|>", "<|im_end|>", "</s>")


def is_llama3(model: str) -> bool:
    name = model.lower()
    return "llama-3" in name or "llama3" in name


def stop_strings(profile: ProtocolProfile, model: str) -> tuple[str, ...]:
    """Q6: which stop strings a request carries."""
    if profile.q6_stop == "llama3_names":
        return LLAMA3_STOP if is_llama3(model) else ()
    if profile.q6_stop == "all_models":
        return GENERIC_STOP
    return ()


def phi_split(text: str, profile: ProtocolProfile, model: str) -> str:
    """Q7: v3 keeps the part before the first ' <|end|>' when the model id contains 'phi'."""
    if profile.q7_phi_split == "phi_names":
        if "phi" in model.lower() and " <|end|>" in text:
            return text.split(" <|end|>")[0]
    elif profile.q7_phi_split == "generic":
        for token in GENERIC_END_TOKENS:
            text = text.split(token)[0]
    return text


def strip_self_prompting(text: str, profile: ProtocolProfile) -> str:
    """Q5: v3 deletes each marker match up to the end of its line; corrected cuts from the first marker."""
    if profile.q5_self_prompt_regex == "line":
        return SELF_PROMPT.sub("", text)
    if profile.q5_self_prompt_regex == "cut_all":
        match = re.search(r"You are an AI|\[INST\]|<\|user\|>", text)
        return text[: match.start()] if match else text
    return text
