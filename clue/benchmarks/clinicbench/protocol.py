"""ClinicBench's run protocol: one GenericProtocol (the paper gives no decoding settings; kit choices below)."""

from __future__ import annotations

from clue.benchmarks.clinicbench.datasets import DATASETS
from clue.protocol import GenericProtocol

PROTOCOLS = {
    "clinicbench": GenericProtocol(
        name="clinicbench",
        description="ClinicBench: greedy, no truncation, zero-shot by default (--shots 1/3/5 draws seeded exemplars)",
        seed=0,  # the few-shot draw's seed (and the request seed)
        temperature=None,  # greedy
        truncation="off",
        prefill=False,
    ),
}

_SWITCH_DOCS = {
    "name": "protocol name (part of every request's cache key)",
    "description": "what the protocol is",
    "seed": "kit choice: seed 0 for the few-shot draw (clue/tasks/fewshot.py; --fewshot-seed overrides it) and sent with each request",
    "temperature": "kit choice: greedy decoding (None); the paper states no sampling settings",
    "truncation": "kit choice: prompts are sent whole; a prompt longer than the model's context fails and is reported",
    "double_bos": "one BOS: the chat template's leading BOS text is removed where the server adds that same token "
                  "(llama.cpp and vLLM are asked; TGI is taken to add it)",
    "prefill": "no answer prefix is prefilled (ClinicBench prompts end with the instruction)",
    "stop": "no stop strings",
}


def protocol_docs() -> dict[str, str]:
    """Each switch's documentation, then every dataset's prompt provenance (paper / earlier-release / kit)."""
    docs = dict(_SWITCH_DOCS)
    lines = [f"{d.name}: {d.prompt} ({d.prompt_source})" for d in DATASETS if d.runnable]
    docs["name"] += "\n    prompts — " + "\n    ".join(lines)
    return docs
