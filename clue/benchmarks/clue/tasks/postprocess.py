"""Output post-processing of the TGI era (spec §2.4, §2.6), driven by profile switches (the stop strings, Q6, are the
profile's own `stop_for`)."""

from __future__ import annotations

import re

from clue.benchmarks.clue.protocol import ProtocolProfile

SELF_PROMPT = re.compile(r"(You are an AI.*)|(\[INST\].*)|((<\|user\|>).*)")  # no DOTALL: up to end of line
GENERIC_END_TOKENS = ("<|end|>", "<|eot_id|>", "<|im_end|>", "</s>")


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
